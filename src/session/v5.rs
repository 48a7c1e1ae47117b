//! MQTT 5.0 in the session (feature `mqtt5`): CONNECT and CONNACK with
//! their limits, PUBLISH, SUBSCRIBE and UNSUBSCRIBE in their v5 forms, and
//! every packet a server sends mapped onto the 3.1.1 state machine.
//!
//! The acknowledgements a client sends (PUBACK, PUBREC, PUBREL, PUBCOMP
//! with Success and no properties), PINGREQ and a normal DISCONNECT have
//! the same bytes in both versions, so the 3.1.1 paths write them.

use super::store::{LIVE, RELEASED};
use super::{Event, Memory, Session, Slot, SlotKind, State};
use crate::codec::v5::{self, Encode as _, Properties, Property, PropertyId, ReasonCode};
use crate::codec::{ConnAck, ConnectReturnCode, Packet, Publish, QoS, SubAck};
use crate::time::Millis;
use crate::Error;

/// Bytes of an assigned client identifier the session keeps (mosquitto's
/// are 41); a longer one is not kept.
pub const ASSIGNED_ID_CAPACITY: usize = 64;

/// The limits a client announces in an MQTT 5 CONNECT, kept for every
/// connection (the rest of the CONNECT is [`super::ConnectOptions`], whose
/// `clean_session` is Clean Start and whose `protocol` is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectV5 {
    /// Seconds the server keeps the session after the connection closes
    /// (0: it ends with the connection; 0xFFFF_FFFF: never).
    pub session_expiry_interval: u32,
    /// Most QoS 1/2 publishes the client accepts at once; 0 announces none
    /// (the standard's 65,535).
    pub receive_maximum: u16,
    /// The largest packet the client accepts; 0 announces none. The
    /// [`crate::client::Client`] announces its receive buffer when 0.
    pub maximum_packet_size: u32,
    /// Topic aliases the server may set (announced as Topic Alias
    /// Maximum; 0: none). The [`crate::client::Client`] maps them back to
    /// topics in the tail of its receive buffer.
    pub topic_alias_maximum: u16,
    /// Topic aliases the client sets itself on QoS 0 publishes, within the
    /// server's Topic Alias Maximum (0: none; client only).
    pub topic_alias_outgoing: u16,
    /// Bytes of topic one alias holds, both ways (client only): a longer
    /// topic is never aliased by the client, and one the server aliases
    /// closes the connection with [`Error::TopicAliasTooLong`].
    pub topic_alias_length: u16,
}

impl ConnectV5 {
    /// Nothing announced: the standard's defaults.
    pub const DEFAULT: ConnectV5 = ConnectV5 {
        session_expiry_interval: 0,
        receive_maximum: 0,
        maximum_packet_size: 0,
        topic_alias_maximum: 0,
        topic_alias_outgoing: 0,
        topic_alias_length: 0,
    };
}

impl Default for ConnectV5 {
    fn default() -> Self {
        ConnectV5::DEFAULT
    }
}

/// The MQTT 5 state of the current (or last) connection.
#[derive(Debug, Clone, Copy)]
pub(super) struct Link {
    /// The connection speaks MQTT 5.
    pub active: bool,
    /// The server's Receive Maximum: caps the in-flight window.
    pub receive_maximum: u16,
    /// The server's Maximum Packet Size.
    pub maximum_packet_size: Option<u32>,
    pub maximum_qos: QoS,
    pub retain_available: bool,
    /// The server's Topic Alias Maximum: the highest alias a PUBLISH may use.
    pub topic_alias_maximum: u16,
    /// CONNECT named an Authentication Method: AUTH may flow (section 4.12).
    pub auth_method: bool,
    /// A re-authentication (AUTH 0x19) waits for the server's 0x00.
    pub reauthenticating: bool,
    /// What CONNECT announces (kept for the next connection).
    pub connect: ConnectV5,
    /// Length of the assigned client id in `assigned_id`; 0 for none.
    pub assigned_len: u8,
    pub assigned_id: [u8; ASSIGNED_ID_CAPACITY],
}

impl Link {
    /// A 3.1.1 connection, or an MQTT 5 one before its CONNACK: the
    /// standard's defaults.
    pub const fn new(active: bool, connect: ConnectV5) -> Link {
        Link {
            active,
            connect,
            receive_maximum: u16::MAX,
            maximum_packet_size: None,
            maximum_qos: QoS::ExactlyOnce,
            retain_available: true,
            topic_alias_maximum: 0,
            auth_method: false,
            reauthenticating: false,
            assigned_len: 0,
            assigned_id: [0; ASSIGNED_ID_CAPACITY],
        }
    }
}

/// The reason code of the DISCONNECT a client sends before closing a
/// connection for `err` (section 4.13); `None` when it sends none (the
/// server refused or disconnected).
pub fn disconnect_reason(err: Error) -> Option<ReasonCode> {
    Some(match err {
        Error::ConnectionRefused(_) | Error::ServerDisconnected(_) => return None,
        Error::MalformedPacket
        | Error::MalformedRemainingLength
        | Error::InvalidFlags
        | Error::InvalidQos
        | Error::InvalidUtf8
        | Error::NullCharacter
        | Error::InvalidPacketType(_) => ReasonCode::MALFORMED_PACKET,
        Error::PacketTooLarge => ReasonCode::PACKET_TOO_LARGE,
        Error::InboundQos2Full => ReasonCode::RECEIVE_MAXIMUM_EXCEEDED,
        Error::TopicAliasTooLong => ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR,
        _ => ReasonCode::PROTOCOL_ERROR,
    })
}

impl<M: Memory> Session<M> {
    /// True when the current connection speaks MQTT 5.
    pub fn is_v5(&self) -> bool {
        self.v5.active
    }

    /// The client identifier the server assigned in its CONNACK (MQTT 5,
    /// CONNECT with an empty client id), while it fits
    /// [`ASSIGNED_ID_CAPACITY`] bytes.
    pub fn assigned_client_id(&self) -> Option<&str> {
        let id = &self.v5.assigned_id[..usize::from(self.v5.assigned_len)];
        (!id.is_empty()).then(|| core::str::from_utf8(id).ok())?
    }

    /// The server's Topic Alias Maximum (0 before its CONNACK or without one).
    pub fn server_topic_alias_maximum(&self) -> u16 {
        self.v5.topic_alias_maximum
    }

    /// The keepalive in force, in seconds: the client's, or the Server
    /// Keep Alive of an MQTT 5 CONNACK.
    pub fn keep_alive_secs(&self) -> u16 {
        self.keep_alive_secs
    }

    /// Chooses the protocol: MQTT 5 with what its CONNECT announces
    /// (`Some`), or the [`super::ConnectOptions::protocol`] (`None`, the
    /// default). [`Session::connect`] then sends that CONNECT, and publishes
    /// queued offline are encoded for it. Only while disconnected; the
    /// outbox holds packets of one protocol, so changing it while messages
    /// wait there is [`Error::InvalidArgument`].
    pub fn select_v5(&mut self, v5: Option<ConnectV5>) -> Result<(), Error> {
        if self.state != State::Disconnected {
            return Err(Error::AlreadyConnected);
        }
        if self.v5.active != v5.is_some() && !self.ring.is_empty() {
            return Err(Error::InvalidArgument);
        }
        self.v5 = Link::new(v5.is_some(), v5.unwrap_or(ConnectV5::DEFAULT));
        Ok(())
    }

    /// [`Session::connect`] after [`Session::select_v5`]: CONNECT v5 with
    /// the chosen announcements.
    pub(super) fn connect_selected(
        &mut self,
        options: &super::ConnectOptions<'_>,
        now_ms: Millis,
    ) -> Result<(), Error> {
        let connect = self.v5.connect;
        self.send_connect_v5(options, &connect, now_ms)
    }

    /// The in-flight window of this connection: the configured one, capped
    /// by the server's Receive Maximum.
    pub(super) fn window(&self) -> u16 {
        self.config().inflight_window.min(self.v5.receive_maximum)
    }

    /// Starts an MQTT 5 connection: queues CONNECT v5 announcing
    /// `v5_options`, with the properties and Will Properties of `options`.
    /// The transport must already be open. Later connections of
    /// [`Session::connect`] speak MQTT 5 too.
    pub fn connect_v5(
        &mut self,
        options: &super::ConnectOptions<'_>,
        v5_options: &ConnectV5,
        now_ms: Millis,
    ) -> Result<(), Error> {
        self.select_v5(Some(*v5_options))?;
        self.send_connect_v5(options, v5_options, now_ms)
    }

    /// Queues CONNECT v5 announcing `v5_options`; the server's limits are
    /// the standard's defaults until its CONNACK.
    fn send_connect_v5(
        &mut self,
        options: &super::ConnectOptions<'_>,
        v5_options: &ConnectV5,
        now_ms: Millis,
    ) -> Result<(), Error> {
        if self.state != State::Disconnected {
            return Err(Error::AlreadyConnected);
        }
        self.v5 = Link::new(true, self.v5.connect);
        self.v5.auth_method = options
            .properties
            .get(PropertyId::AuthenticationMethod)
            .is_some();
        // Session Expiry, Receive Maximum, Maximum Packet Size, Topic Alias
        // Maximum: 16 bytes.
        let mut buf = [0u8; 16];
        let mut props = v5::PropertyWriter::new(&mut buf);
        if v5_options.session_expiry_interval != 0 {
            props.push(&Property::SessionExpiryInterval(
                v5_options.session_expiry_interval,
            ))?;
        }
        if v5_options.receive_maximum != 0 {
            props.push(&Property::ReceiveMaximum(v5_options.receive_maximum))?;
        }
        if v5_options.maximum_packet_size != 0 {
            props.push(&Property::MaximumPacketSize(v5_options.maximum_packet_size))?;
        }
        if v5_options.topic_alias_maximum != 0 {
            props.push(&Property::TopicAliasMaximum(v5_options.topic_alias_maximum))?;
        }
        let announced = props.finish();
        // Aliases are announced from ConnectV5 (the client maps them), so
        // not as a raw property.
        let unsupported = [PropertyId::TopicAliasMaximum];
        if options
            .properties
            .iter()
            .any(|p| unsupported.contains(&p.id()))
        {
            return Err(Error::Unsupported);
        }
        let joined = v5::Joined(announced, options.properties);
        let connect = v5::Connect {
            clean_start: options.clean_session,
            keep_alive: options.keep_alive_secs,
            properties: Properties::Source(&joined),
            client_id: options.client_id,
            will: options.will.map(|will| v5::Will {
                properties: options.will_properties,
                topic: will.topic,
                payload: will.payload,
                qos: will.qos,
                retain: will.retain,
            }),
            username: options.username,
            password: options.password,
        };
        self.out_start = 0;
        self.out_end = 0;
        self.queue_v5(&connect, now_ms)?;
        self.keep_alive_secs = options.keep_alive_secs;
        self.ping_outstanding = false;
        self.last_received_ms = now_ms;
        self.state = State::AwaitingConnAck;
        self.connack_pending = true;
        Ok(())
    }

    /// Publishes with MQTT 5 properties (Payload Format Indicator, Message
    /// Expiry Interval, Content Type, Response Topic, Correlation Data,
    /// User Properties), on an MQTT 5 connection (or offline after one).
    /// As [`Session::publish`] otherwise; a QoS above the server's Maximum
    /// QoS is [`Error::QosNotSupported`], RETAIN on a server without it
    /// [`Error::RetainNotSupported`], a packet above the server's Maximum
    /// Packet Size [`Error::PacketTooLargeForServer`]; nothing is sent.
    pub fn publish_v5(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: Properties<'_>,
        now_ms: Millis,
    ) -> Result<u16, Error> {
        if !self.v5.active {
            return Err(Error::InvalidArgument);
        }
        if qos > self.v5.maximum_qos {
            return Err(Error::QosNotSupported);
        }
        if retain && !self.v5.retain_available {
            return Err(Error::RetainNotSupported);
        }
        // [MQTT-3.3.2-9]: no alias above the server's Topic Alias Maximum.
        if let Some(Property::TopicAlias(alias)) = properties.get(PropertyId::TopicAlias) {
            if alias > self.v5.topic_alias_maximum {
                return Err(Error::InvalidProperty);
            }
        }
        // As Session::publish, which a 3.1.1 firmware keeps as it is (its
        // code byte for byte: scripts/footprint.sh), so not shared.
        let connected = self.state == State::Connected;
        let offline_ok = match qos {
            QoS::AtMostOnce => self.config().queue_qos0_offline,
            _ => self.config().queue_offline,
        };
        let offline = matches!(self.state, State::Disconnected | State::AwaitingConnAck);
        if !(connected || (offline_ok && offline)) {
            return Err(Error::NotConnected);
        }
        let mut publish = v5::Publish {
            dup: false,
            qos,
            retain,
            topic,
            packet_id: 0,
            properties,
            payload,
        };
        if qos == QoS::AtMostOnce && connected {
            self.queue_v5(&publish, now_ms)?;
            return Ok(0);
        }
        crate::topic::validate_topic_name(topic)?;
        if self.queued >= self.config().outbox_limit {
            return Err(Error::StoreFull);
        }
        let slot = match qos {
            QoS::AtMostOnce => None,
            _ => Some(self.free_slot().map_err(|_| Error::StoreFull)?),
        };
        publish.packet_id = slot.map_or(0, |(_, id)| id);
        let size = self.size_v5(&publish)?;
        if size.total() > self.memory.tx().len() {
            return Err(Error::PacketTooLarge);
        }
        let parts = self.memory.parts();
        let offset = self
            .ring
            .push(parts.store, publish.packet_id, LIVE, size.total(), |out| {
                Ok(publish.encode_sized(&size, out)?)
            })?;
        if let Some((index, packet_id)) = slot {
            let kind = match qos {
                QoS::AtLeastOnce => SlotKind::AwaitPubAck,
                _ => SlotKind::AwaitPubRec,
            };
            parts.slots[index] = Slot {
                packet_id,
                kind,
                store_offset_or_filters: offset as u32,
            };
        }
        self.queued += 1;
        if connected && self.send_cursor.is_none() {
            self.send_cursor = Some(offset);
        }
        self.last_sent_ms = now_ms;
        self.pump();
        Ok(publish.packet_id)
    }

    /// Queues an MQTT 5 SUBSCRIBE with its subscription options and
    /// `properties` (Subscription Identifier, User Properties); returns
    /// its packet id. The SUBACK's reason codes (0x00 to 0x02 granted,
    /// 0x80 and above refused) come as [`Event::Subscribed`].
    pub fn subscribe_v5(
        &mut self,
        topics: &[v5::SubscribeTopic<'_>],
        properties: Properties<'_>,
        now_ms: Millis,
    ) -> Result<u16, Error> {
        let subscribe = |packet_id| v5::Subscribe {
            packet_id,
            properties,
            topics,
        };
        self.request_v5(SlotKind::AwaitSubAck, topics.len(), subscribe, now_ms)
    }

    /// Queues an MQTT 5 UNSUBSCRIBE with `properties` (User Properties);
    /// returns its packet id. The UNSUBACK's reason codes come as
    /// [`Event::UnsubscribedCodes`].
    pub fn unsubscribe_v5(
        &mut self,
        filters: &[&str],
        properties: Properties<'_>,
        now_ms: Millis,
    ) -> Result<u16, Error> {
        let unsubscribe = |packet_id| v5::Unsubscribe {
            packet_id,
            properties,
            filters,
        };
        self.request_v5(SlotKind::AwaitUnsubAck, filters.len(), unsubscribe, now_ms)
    }

    /// Queues the SUBSCRIBE or UNSUBSCRIBE `packet` makes for a free packet
    /// id, of `filters` filters, and marks its slot as awaiting `kind`.
    /// Also [`Session::request_filters`]'s on an MQTT 5 connection.
    pub(super) fn request_v5<P: v5::Encode>(
        &mut self,
        kind: SlotKind,
        filters: usize,
        packet: impl FnOnce(u16) -> P,
        now_ms: Millis,
    ) -> Result<u16, Error> {
        self.require_v5_connected()?;
        if filters == 0 || filters > u16::MAX as usize {
            return Err(Error::NoTopicFilters);
        }
        let (slot_index, packet_id) = self.free_slot()?;
        self.queue_v5(&packet(packet_id), now_ms)?;
        self.memory.parts().slots[slot_index] = Slot {
            packet_id,
            kind,
            store_offset_or_filters: filters as u32,
        };
        Ok(packet_id)
    }

    /// Queues a DISCONNECT with `reason` (MQTT 5) as the last packet of
    /// the connection, dropping output not yet written: for a protocol
    /// violation by the server, before the driver closes the connection.
    pub fn disconnect_with_reason(
        &mut self,
        reason: ReasonCode,
        now_ms: Millis,
    ) -> Result<(), Error> {
        if !self.v5.active || self.state == State::Disconnected {
            return Err(Error::NotConnected);
        }
        self.out_start = 0;
        self.out_end = 0;
        self.disconnect_v5(reason, Properties::NONE, now_ms)
    }

    /// Queues an MQTT 5 DISCONNECT with `reason` (0x00 normal, 0x04 with
    /// will message, or another the standard lets a client send) and
    /// `properties` (Session Expiry Interval, Reason String, User
    /// Properties) after the output already queued; the driver closes the
    /// connection once it is written. A reason a client may not send is
    /// [`Error::InvalidArgument`]; nothing is sent.
    pub fn disconnect_v5(
        &mut self,
        reason: ReasonCode,
        properties: Properties<'_>,
        now_ms: Millis,
    ) -> Result<(), Error> {
        match self.state {
            _ if !self.v5.active => return Err(Error::InvalidArgument),
            State::Disconnected => return Err(Error::NotConnected),
            State::Disconnecting => return Ok(()),
            State::AwaitingConnAck | State::Connected => {}
        }
        // [MQTT-3.14.2-2]: no Session Expiry after a CONNECT that set 0.
        if self.v5.connect.session_expiry_interval == 0
            && matches!(
                properties.get(PropertyId::SessionExpiryInterval),
                Some(Property::SessionExpiryInterval(1..))
            )
        {
            return Err(Error::InvalidProperty);
        }
        let packet = v5::Disconnect { reason, properties };
        // A refused DISCONNECT leaves the connection as it was.
        self.queue_v5(&packet, now_ms)?;
        self.send_cursor = None;
        self.state = State::Disconnecting;
        Ok(())
    }

    /// Handles one MQTT 5 packet decoded from the server, as
    /// [`Session::handle_packet`] does a 3.1.1 one. A refusing CONNACK is
    /// [`Error::ConnectionRefused`] with its reason code, a DISCONNECT
    /// [`Error::ServerDisconnected`] with its; a failure reason on PUBACK
    /// or PUBREC completes the message as [`Event::PublishFailed`]. The
    /// Topic Alias of a PUBLISH must have been checked by the caller (the
    /// client announces a Topic Alias Maximum of 0).
    pub fn handle_packet_v5<'p>(
        &mut self,
        packet: &v5::ServerPacket<'p>,
        now_ms: Millis,
    ) -> Result<Option<Event<'p>>, Error> {
        use v5::ServerPacket as S;
        let plain = match *packet {
            S::ConnAck(ack) if self.state == State::AwaitingConnAck => {
                self.ping_outstanding = false;
                self.last_received_ms = now_ms;
                if ack.reason.is_error() {
                    self.state = State::Disconnected;
                    self.out_start = 0;
                    self.out_end = 0;
                    return Err(Error::ConnectionRefused(ack.reason.0));
                }
                self.apply_limits(&ack);
                self.refuse_over_limits();
                let ack = ConnAck {
                    session_present: ack.session_present,
                    code: ConnectReturnCode::Accepted,
                };
                return Ok(Some(self.handle_connack(&ack)));
            }
            S::ConnAck(_) => return Err(Error::ProtocolViolation),
            S::Auth(auth) => return self.auth_received(&auth, now_ms),
            S::Disconnect(d) => return Err(Error::ServerDisconnected(d.reason.0)),
            _ if self.state == State::AwaitingConnAck => return Err(Error::ProtocolViolation),
            S::Publish(p) => Packet::Publish(p.plain()),
            S::PubAck(r) if r.reason.is_error() => {
                return self.fail(r.packet_id, SlotKind::AwaitPubAck, r.reason, now_ms)
            }
            S::PubRec(r) if r.reason.is_error() => {
                return self.fail(r.packet_id, SlotKind::AwaitPubRec, r.reason, now_ms)
            }
            S::PubAck(r) => Packet::PubAck(r.packet_id),
            // [MQTT-4.3.3], section 3.6.2.1: an id this client is not
            // waiting on gets PUBREL 0x92 Packet Identifier not found.
            S::PubRec(r) if super::find_slot(self.memory.parts().slots, r.packet_id).is_none() => {
                #[cfg(feature = "log-events")]
                {
                    self.unknown_acks = self.unknown_acks.wrapping_add(1);
                }
                return self.not_found(v5::AckKind::PubRel, r.packet_id, now_ms);
            }
            // Section 3.7.2.1: a PUBREL for an id with no QoS 2 message
            // pending gets PUBCOMP 0x92.
            S::PubRel(r)
                if !super::inbound::contains(self.memory.parts().inbound_qos2, r.packet_id) =>
            {
                return self.not_found(v5::AckKind::PubComp, r.packet_id, now_ms);
            }
            S::PubRec(r) => Packet::PubRec(r.packet_id),
            // 0x92 (the id was not found) ends the exchange all the same.
            S::PubRel(r) => Packet::PubRel(r.packet_id),
            S::PubComp(r) => Packet::PubComp(r.packet_id),
            S::SubAck(acks) => Packet::SubAck(SubAck {
                packet_id: acks.packet_id,
                return_codes: acks.reason_codes,
            }),
            S::UnsubAck(acks) => {
                self.ping_outstanding = false;
                self.last_received_ms = now_ms;
                return self.unsubscribed(acks).map(Some);
            }
            S::PingResp => Packet::PingResp,
        };
        self.handle_packet(&plain, now_ms)
    }

    /// An AUTH from the server: a challenge while connecting, or an answer
    /// to the client's re-authentication (section 4.12). Anything else
    /// (no Authentication Method in CONNECT, an AUTH nobody asked for) is
    /// a Protocol Error.
    fn auth_received<'p>(
        &mut self,
        auth: &v5::Auth<'_>,
        now_ms: Millis,
    ) -> Result<Option<Event<'p>>, Error> {
        let expected = match (self.state, auth.reason) {
            (State::AwaitingConnAck, ReasonCode::CONTINUE_AUTHENTICATION) => true,
            (State::Connected, ReasonCode::CONTINUE_AUTHENTICATION | ReasonCode::SUCCESS) => {
                self.v5.reauthenticating
            }
            _ => false,
        };
        if !self.v5.auth_method || !expected {
            return Err(Error::ProtocolViolation);
        }
        if auth.reason == ReasonCode::SUCCESS {
            self.v5.reauthenticating = false;
        }
        self.ping_outstanding = false;
        self.last_received_ms = now_ms;
        Ok(Some(Event::Auth {
            reason: auth.reason.0,
        }))
    }

    /// Queues an AUTH (section 4.12) with `properties`, which must name
    /// the Authentication Method of CONNECT and may carry Authentication
    /// Data: 0x18 Continue authentication answers the server's challenge
    /// (while connecting, or during a re-authentication), 0x19
    /// Re-authenticate starts one once connected. Anything else, or a
    /// CONNECT without an Authentication Method, is
    /// [`Error::InvalidArgument`]; nothing is sent.
    pub fn auth_v5(
        &mut self,
        reason: ReasonCode,
        properties: Properties<'_>,
        now_ms: Millis,
    ) -> Result<(), Error> {
        let allowed = match (self.state, reason) {
            (State::AwaitingConnAck, ReasonCode::CONTINUE_AUTHENTICATION) => true,
            (State::Connected, ReasonCode::CONTINUE_AUTHENTICATION) => self.v5.reauthenticating,
            (State::Connected, ReasonCode::RE_AUTHENTICATE) => !self.v5.reauthenticating,
            (State::Disconnected | State::Disconnecting, _) => return Err(Error::NotConnected),
            _ => false,
        };
        if !self.v5.active || !self.v5.auth_method || !allowed {
            return Err(Error::InvalidArgument);
        }
        self.queue_v5(&v5::Auth { reason, properties }, now_ms)?;
        if reason == ReasonCode::RE_AUTHENTICATE {
            self.v5.reauthenticating = true;
        }
        Ok(())
    }

    /// The server's limits from an accepting CONNACK.
    fn apply_limits(&mut self, ack: &v5::ConnAck<'_>) {
        let limits = ack.limits();
        let mut link = Link::new(true, self.v5.connect);
        link.auth_method = self.v5.auth_method;
        link.receive_maximum = limits.receive_maximum;
        link.maximum_packet_size = limits.maximum_packet_size;
        link.maximum_qos = limits.maximum_qos;
        link.retain_available = limits.retain_available;
        link.topic_alias_maximum = limits.topic_alias_maximum;
        if let Some(id) = limits.assigned_client_identifier {
            if id.len() <= ASSIGNED_ID_CAPACITY {
                link.assigned_id[..id.len()].copy_from_slice(id.as_bytes());
                link.assigned_len = id.len() as u8;
            }
        }
        self.v5 = link;
        if let Some(secs) = limits.server_keep_alive {
            self.keep_alive_secs = secs;
        }
    }

    /// The MQTT 5 PUBLISH a restore hands back, whole and nothing more, in
    /// its 3.1.1 form for the outbox's bookkeeping. (Which protocol a saved
    /// packet was encoded for is not in its bytes: a client restores what a
    /// client of its own protocol level saved.)
    pub(super) fn restored_v5<'p>(&self, packet: &'p [u8]) -> Result<Publish<'p>, Error> {
        match v5::decode_from_server(packet, crate::codec::MAX_PACKET_SIZE) {
            Ok(v5::Decoded::Packet {
                packet: v5::ServerPacket::Publish(p),
                len,
            }) if len == packet.len() && !p.topic.is_empty() => Ok(p.plain()),
            _ => Err(Error::MalformedPacket),
        }
    }

    /// Marks the stored messages this server's limits refuse (QoS above
    /// its Maximum QoS, RETAIN without Retain Available, larger than its
    /// Maximum Packet Size, a Topic Alias above its maximum): queued
    /// offline or stored for a previous server, they must not be sent
    /// [MQTT-3.2.2-11], [MQTT-3.2.2-14], [MQTT-3.2.2-15]. Each is reported
    /// by [`Session::take_refused`].
    fn refuse_over_limits(&mut self) {
        let link = self.v5;
        let parts = self.memory.parts();
        let mut cursor = self.ring.first();
        // Bounded by the ring's entries.
        while let Some(at) = cursor {
            let entry = self.ring.entry(parts.store, at);
            cursor = self.ring.next(parts.store, at);
            // A released QoS 2 message only gets its PUBREL again.
            if entry.flags & LIVE == 0
                || entry.flags & RELEASED != 0
                || super::store::refused(entry.flags)
            {
                continue;
            }
            let bytes = &parts.store[entry.data..entry.data + entry.len];
            // Stored by this session: always a PUBLISH it encoded.
            let Ok(v5::Decoded::Packet {
                packet: v5::ServerPacket::Publish(publish),
                ..
            }) = v5::decode_from_server(bytes, usize::MAX)
            else {
                continue;
            };
            let reason = if publish.qos > link.maximum_qos {
                ReasonCode::QOS_NOT_SUPPORTED
            } else if publish.retain && !link.retain_available {
                ReasonCode::RETAIN_NOT_SUPPORTED
            } else if link
                .maximum_packet_size
                .is_some_and(|max| entry.len > max as usize)
            {
                ReasonCode::PACKET_TOO_LARGE
            } else if publish
                .topic_alias()
                .is_some_and(|alias| alias > link.topic_alias_maximum)
            {
                ReasonCode::TOPIC_ALIAS_INVALID
            } else {
                continue;
            };
            self.ring.refuse(parts.store, at, reason.0);
            self.refused += 1;
        }
    }

    /// The next stored message the server's limits refused at its CONNACK
    /// (see [`Session::connect`]): its packet id (0 for QoS 0) and the
    /// reason code (0x9B QoS not supported, 0x9A Retain not supported,
    /// 0x95 Packet too large, 0x94 Topic Alias invalid). It leaves the
    /// outbox, unsent; `None` when none is left.
    pub fn take_refused(&mut self) -> Option<(u16, u8)> {
        if self.refused == 0 {
            return None;
        }
        let parts = self.memory.parts();
        let mut cursor = self.ring.first();
        // Bounded by the ring's entries.
        while let Some(at) = cursor {
            let entry = self.ring.entry(parts.store, at);
            if entry.flags & LIVE != 0 && super::store::refused(entry.flags) {
                let reason = self.ring.refusal(parts.store, at);
                let slot = super::find_slot(parts.slots, entry.packet_id);
                if let Some(index) = slot.filter(|_| entry.packet_id != 0) {
                    parts.slots[index] = Slot::FREE;
                }
                if self.send_cursor == Some(at) {
                    self.send_cursor = self.ring.next_live(parts.store, at);
                }
                self.ring.free(parts.store, at);
                self.queued -= 1;
                self.refused -= 1;
                return Some((entry.packet_id, reason));
            }
            cursor = self.ring.next(parts.store, at);
        }
        self.refused = 0;
        None
    }

    /// Answers a PUBREC or PUBREL for an unknown packet id with the
    /// acknowledgement `kind` and 0x92 Packet Identifier not found.
    fn not_found<'p>(
        &mut self,
        kind: v5::AckKind,
        packet_id: u16,
        now_ms: Millis,
    ) -> Result<Option<Event<'p>>, Error> {
        self.ping_outstanding = false;
        self.last_received_ms = now_ms;
        let response = v5::PubResponse {
            packet_id,
            reason: ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
            properties: Properties::NONE,
        };
        // Typed by `kind` alone: a `ClientPacket` here linked every packet
        // type's encoder.
        let answer = v5::TypedResponse {
            kind,
            response: &response,
        };
        self.queue_v5(&answer, now_ms)?;
        Ok(None)
    }

    /// A PUBACK or PUBREC with a failure reason: the message is done.
    fn fail<'p>(
        &mut self,
        packet_id: u16,
        expected: SlotKind,
        reason: ReasonCode,
        now_ms: Millis,
    ) -> Result<Option<Event<'p>>, Error> {
        self.ping_outstanding = false;
        self.last_received_ms = now_ms;
        Ok(self
            .complete(packet_id, expected)?
            .then_some(Event::PublishFailed {
                packet_id,
                reason: reason.0,
            }))
    }

    fn unsubscribed<'p>(&mut self, acks: v5::FilterAcks<'p>) -> Result<Event<'p>, Error> {
        let parts = self.memory.parts();
        let index = super::find_slot(parts.slots, acks.packet_id)
            .filter(|&index| parts.slots[index].kind == SlotKind::AwaitUnsubAck)
            .ok_or(Error::ProtocolViolation)?;
        if acks.reason_codes.len() != parts.slots[index].store_offset_or_filters as usize {
            return Err(Error::SubackCountMismatch);
        }
        parts.slots[index] = Slot::FREE;
        Ok(Event::UnsubscribedCodes {
            packet_id: acks.packet_id,
            reason_codes: acks.reason_codes,
        })
    }

    fn require_v5_connected(&self) -> Result<(), Error> {
        self.require_connected()?;
        if self.v5.active {
            Ok(())
        } else {
            Err(Error::InvalidArgument)
        }
    }

    /// Validates and sizes `packet`, refusing one larger than the server's
    /// Maximum Packet Size.
    fn size_v5(&self, packet: &dyn v5::Encode) -> Result<v5::PacketSize, Error> {
        use v5::V5Error as E;
        let size = packet.size().map_err(|err| match err {
            E::UnknownProperty(_)
            | E::PropertyNotAllowed(_)
            | E::DuplicateProperty(_)
            | E::InvalidPropertyValue(_)
            | E::AuthDataWithoutMethod
            | E::MissingAuthMethod
            | E::VarIntTooLarge
            | E::SubscriptionIdentifierFromClient
            | E::TopicAliasInvalid
            | E::PayloadFormatInvalid => Error::InvalidProperty,
            other => Error::from(other),
        })?;
        size.check_max(self.v5.maximum_packet_size)
            .map_err(|_| Error::PacketTooLargeForServer)?;
        Ok(size)
    }

    /// Encodes an MQTT 5 `packet` at the end of the pending output.
    fn queue_v5(&mut self, packet: &dyn v5::Encode, now_ms: Millis) -> Result<(), Error> {
        let size = self.size_v5(packet)?;
        let out = self.output_room(size.total())?;
        let written = packet.encode_sized(&size, out)?;
        self.out_end += written;
        self.last_sent_ms = now_ms;
        Ok(())
    }
}
