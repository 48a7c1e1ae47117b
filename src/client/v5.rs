//! MQTT 5.0 in the client (feature `mqtt5`): choosing protocol level 5,
//! publishing with properties, subscribing with subscription options, and
//! reading what an MQTT 5 server sends. A malformed or protocol-violating
//! packet from the server is answered with a DISCONNECT carrying the
//! standard's reason code before the connection is closed.

use super::log::{LogCode, LogLevel};
use super::subscriptions::{Subscriptions, TableMemory, V5Subscription};
use super::supervisor::Supervisor;
use super::supervisor::RESUBSCRIBE_CHUNK;
use super::{span_in, Client, ClientEvent, Packet, Span};
use crate::codec::v5::{self, Properties, Property, PropertyId, ReasonCode};
use crate::codec::QoS;
use crate::codec::SubscribeTopic;
use crate::session::{disconnect_reason, ConnectV5, Event, Memory};
use crate::transport::{Clock, Transport};
use crate::Error;

/// Topic aliases (section 3.3.2.3.4) in the tail of the receive buffer:
/// `incoming` slots for the server's aliases, then `outgoing` for the
/// client's, each a two-byte length and `length` bytes of topic. Spans of
/// an aliased message's topic point into its slot, so the application
/// reads it like any topic. Both tables start empty on every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Aliases {
    /// Aliases the server may set: the Topic Alias Maximum announced.
    pub(super) incoming: u16,
    /// Aliases the client may set.
    outgoing: u16,
    /// Bytes of topic a slot holds.
    pub(super) length: u16,
    /// Outgoing aliases set on this connection (1..=assigned).
    assigned: u16,
}

impl Aliases {
    /// No aliases either way.
    pub(super) const NONE: Aliases = Aliases {
        incoming: 0,
        outgoing: 0,
        length: 0,
        assigned: 0,
    };

    fn slot_len(&self) -> usize {
        2 + usize::from(self.length)
    }

    /// Bytes the tables take from the end of the receive buffer.
    pub(super) fn reserved(&self) -> usize {
        (usize::from(self.incoming) + usize::from(self.outgoing)) * self.slot_len()
    }

    /// Where slot `index` (incoming ones first) starts in `rx`.
    fn slot(&self, rx_len: usize, index: usize) -> usize {
        rx_len - self.reserved() + index * self.slot_len()
    }

    /// Empties both tables (a new connection).
    pub(super) fn forget(&mut self, rx: &mut [u8]) {
        self.assigned = 0;
        let slots = usize::from(self.incoming) + usize::from(self.outgoing);
        for index in 0..slots {
            let at = self.slot(rx.len(), index);
            rx[at..at + 2].fill(0);
        }
    }

    /// The topic in slot `index`, if one was kept there.
    fn topic_in<'r>(&self, rx: &'r [u8], index: usize) -> Option<&'r str> {
        let at = self.slot(rx.len(), index);
        let len = usize::from(u16::from_be_bytes([rx[at], rx[at + 1]]));
        let topic = rx.get(at + 2..at + 2 + len)?;
        // Checked when it was kept.
        (len > 0).then(|| core::str::from_utf8(topic).ok())?
    }

    /// The topic the server set for `alias` (checked to be 1..=incoming).
    fn incoming_topic<'r>(&self, rx: &'r [u8], alias: u16) -> Option<&'r str> {
        self.topic_in(rx, usize::from(alias) - 1)
    }

    /// Copies `topic` (a span of `rx`, at most `length` bytes) into
    /// `slot`.
    fn store(&self, rx: &mut [u8], index: usize, topic: &[u8]) {
        let at = self.slot(rx.len(), index);
        rx[at..at + 2].copy_from_slice(&(topic.len() as u16).to_be_bytes());
        rx[at + 2..at + 2 + topic.len()].copy_from_slice(topic);
    }

    /// Keeps the topic the server just set `alias` to (`topic`: its span
    /// in `rx`, at most `length` bytes).
    fn keep(&self, rx: &mut [u8], alias: u16, topic: Span) {
        let at = self.slot(rx.len(), usize::from(alias) - 1);
        rx.copy_within(topic.start..topic.start + topic.len, at + 2);
        rx[at..at + 2].copy_from_slice(&(topic.len as u16).to_be_bytes());
    }

    /// The alias for publishing `topic`: `(alias, true)` when this
    /// connection set it already (send the alias alone), `(alias, false)`
    /// for a new one (send both, then [`Aliases::assign`]), `None` when
    /// every alias the server allows is taken or the topic is too long.
    fn outgoing_for(&self, rx: &[u8], topic: &str, server_maximum: u16) -> Option<(u16, bool)> {
        let known = (0..self.assigned).find(|&n| {
            self.topic_in(rx, usize::from(self.incoming) + usize::from(n)) == Some(topic)
        });
        match known {
            Some(n) => Some((n + 1, true)),
            None if self.assigned < self.outgoing.min(server_maximum)
                && !topic.is_empty()
                && topic.len() <= usize::from(self.length) =>
            {
                Some((self.assigned + 1, false))
            }
            None => None,
        }
    }

    /// Records that `alias` (the next one) now stands for `topic`.
    fn assign(&mut self, rx: &mut [u8], alias: u16, topic: &str) {
        self.store(
            rx,
            usize::from(self.incoming) + usize::from(alias) - 1,
            topic.as_bytes(),
        );
        self.assigned = alias;
    }
}

/// A DISCONNECT from an MQTT 5 server (reported as
/// [`Error::ServerDisconnected`]): its reason code, and its Reason String
/// and Server Reference (empty when absent) in the receive buffer, valid
/// until the next connection reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerDisconnect {
    pub reason: ReasonCode,
    pub reason_string: Span,
    pub server_reference: Span,
}

impl<M: Memory, T: Transport, C: Clock, R: AsRef<[u8]> + AsMut<[u8]>> Client<M, T, C, R> {
    /// The DISCONNECT with which the server ended the last connection, if
    /// it sent one (cleared by the next CONNACK); read its strings with
    /// [`Client::bytes`].
    pub fn server_disconnect(&self) -> Option<ServerDisconnect> {
        self.server_disconnect
    }

    /// Chooses MQTT 5 (`Some`, with what its CONNECT announces) or 3.1.x
    /// (`None`) for the next connections (see
    /// [`crate::session::Session::select_v5`]); [`Client::connect`] and
    /// [`Client::start_connect`] then speak it. A Maximum Packet Size of 0
    /// announces the receive buffer's size. Over MQTT 5 a refusal is
    /// [`Error::ConnectionRefused`] with the CONNACK's reason code (0x86
    /// bad user name or password, 0x87 not authorized, ...), and the
    /// server's limits (Receive Maximum, Maximum Packet Size, Maximum QoS,
    /// Retain Available, Server Keep Alive) apply once it accepts.
    ///
    /// Topic aliases ([`ConnectV5::topic_alias_maximum`] from the server,
    /// [`ConnectV5::topic_alias_outgoing`] of the client's own, each
    /// holding [`ConnectV5::topic_alias_length`] bytes of topic) take
    /// `(maximum + outgoing) * (2 + length)` bytes from the end of the
    /// receive buffer; what remains must hold at least 64 bytes
    /// ([`Error::InvalidArgument`]).
    pub fn select_v5(&mut self, v5: Option<ConnectV5>) -> Result<(), Error> {
        let aliases = v5.map_or(Aliases::NONE, |v5| Aliases {
            incoming: v5.topic_alias_maximum,
            outgoing: v5.topic_alias_outgoing,
            length: v5.topic_alias_length,
            assigned: 0,
        });
        let whole = self.rx.as_ref().len();
        let capacity = whole
            .checked_sub(aliases.reserved())
            .filter(|&left| left >= 64)
            .ok_or(Error::InvalidArgument)?;
        if aliases.reserved() > 0 && aliases.length == 0 {
            return Err(Error::InvalidArgument);
        }
        let v5 = v5.map(|mut v5| {
            if v5.maximum_packet_size == 0 {
                v5.maximum_packet_size = u32::try_from(capacity).unwrap_or(u32::MAX);
            }
            v5
        });
        self.session.select_v5(v5)?;
        self.aliases = aliases;
        self.aliases.forget(self.rx.as_mut());
        Ok(())
    }

    /// Publishes with MQTT 5 properties (see
    /// [`crate::session::Session::publish_v5`]) and writes it at once.
    pub fn publish_v5(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: Properties<'_>,
    ) -> Result<u16, Error> {
        let now = self.clock.now_ms();
        // QoS 0 only: a stored QoS 1/2 message may be resent on another
        // connection, where this one's aliases mean nothing.
        let alias = match qos {
            QoS::AtMostOnce if self.session.state() == crate::session::State::Connected => {
                self.aliases.outgoing_for(
                    self.rx.as_ref(),
                    topic,
                    self.session.server_topic_alias_maximum(),
                )
            }
            _ => None,
        };
        let id = match alias {
            None => self.with_room(now, &mut |session, now| {
                session.publish_v5(topic, payload, qos, retain, properties, now)
            })?,
            Some((alias, known)) => {
                let own = [Property::TopicAlias(alias)];
                let joined = v5::Joined(properties, Properties::List(&own));
                let sent_topic = if known { "" } else { topic };
                let id = self.with_room(now, &mut |session, now| {
                    let properties = Properties::Source(&joined);
                    session.publish_v5(sent_topic, payload, qos, retain, properties, now)
                })?;
                if !known {
                    self.aliases.assign(self.rx.as_mut(), alias, topic);
                }
                id
            }
        };
        if self.transport.is_some() {
            // A stored QoS 1/2 message is resent after a reconnect; the
            // lost link is reported by the next poll.
            self.flush_or_drop().or_else(|err| {
                if qos == QoS::AtMostOnce {
                    Err(err)
                } else {
                    Ok(())
                }
            })?;
        }
        Ok(id)
    }

    /// Subscribes with MQTT 5 subscription options (QoS, No Local, Retain
    /// As Published, Retain Handling) and `properties` (Subscription
    /// Identifier, User Properties); returns the packet id. The SUBACK's
    /// reason codes arrive as [`ClientEvent::Subscribed`].
    pub fn subscribe_v5(
        &mut self,
        topics: &[v5::SubscribeTopic<'_>],
        properties: Properties<'_>,
    ) -> Result<u16, Error> {
        self.request(&mut |session, now| session.subscribe_v5(topics, properties, now))
    }

    /// Unsubscribes with MQTT 5 and `properties` (User Properties); the
    /// UNSUBACK's reason codes arrive as [`ClientEvent::UnsubscribedCodes`].
    pub fn unsubscribe_v5(
        &mut self,
        filters: &[&str],
        properties: Properties<'_>,
    ) -> Result<u16, Error> {
        self.request(&mut |session, now| session.unsubscribe_v5(filters, properties, now))
    }

    /// Sends an MQTT 5 AUTH (see [`crate::session::Session::auth_v5`]):
    /// 0x18 to answer the server's challenge ([`ClientEvent::Auth`]), 0x19
    /// to re-authenticate once connected; `properties` name the
    /// Authentication Method and carry the data.
    pub fn auth(&mut self, reason: ReasonCode, properties: Properties<'_>) -> Result<(), Error> {
        let now = self.clock.now_ms();
        self.with_room(now, &mut |session, now| {
            session.auth_v5(reason, properties, now).map(|()| 0)
        })?;
        self.flush_or_drop()
    }

    /// Sends an MQTT 5 DISCONNECT with `reason` and `properties` (see
    /// [`crate::session::Session::disconnect_v5`]; 0x04 asks the server to
    /// publish the will) and closes the transport.
    pub fn disconnect_v5(
        &mut self,
        reason: ReasonCode,
        properties: Properties<'_>,
    ) -> Result<(), Error> {
        if self.transport.is_none() {
            return Err(Error::NotConnected);
        }
        let now = self.clock.now_ms();
        // Checked before anything changes: a refused DISCONNECT leaves the
        // connection as it was.
        self.with_room(now, &mut |session, now| {
            session.disconnect_v5(reason, properties, now).map(|()| 0)
        })?;
        let result = self.flush_output();
        self.drop_connection();
        result
    }

    /// The properties of a message event ([`ClientEvent::Message`]'s
    /// `properties`), typed.
    pub fn properties(&self, span: Span) -> Properties<'_> {
        Properties::Wire(self.bytes(span))
    }

    /// The properties of the packet behind the latest event (CONNACK,
    /// SUBACK, UNSUBACK, a failing PUBACK or PUBREC, the server's
    /// DISCONNECT, a message), valid until the next poll reads.
    pub fn received_properties(&self) -> Span {
        self.received_properties
    }

    /// Sends a DISCONNECT with `reason`, if it can, before the caller
    /// closes the connection for `err`; returns `err`.
    fn violation(&mut self, reason: Option<ReasonCode>, err: Error) -> Error {
        if let Some(reason) = reason {
            let now = self.clock.now_ms();
            if self.session.disconnect_with_reason(reason, now).is_ok() {
                // Best effort: the connection closes either way.
                let _ = self.flush_output();
            }
        }
        err
    }

    /// `next_buffered` for an MQTT 5 connection. The client announces its
    /// receive buffer as its Maximum Packet Size, so a larger packet is a
    /// protocol error (0x95), not a message to read through.
    pub(super) fn next_buffered_v5(&mut self) -> Result<Option<Packet>, Error> {
        loop {
            if self.rx_end == self.rx_start {
                return Ok(None);
            }
            let capacity = self.rx_capacity();
            let base = self.rx.as_ref();
            let buffered = &base[self.rx_start..self.rx_end];
            let (mut packet, len) = match v5::decode_from_server(buffered, capacity) {
                Ok(v5::Decoded::Packet { packet, len }) => (packet, len),
                Ok(v5::Decoded::Incomplete { .. }) => return Ok(None),
                Err(err) => return Err(self.violation(err.reason_code(), err.into())),
            };
            // Wire bytes, as decoded (every property of a received packet).
            // Absent properties may be a static empty list, not in `base`.
            let properties = match packet.properties() {
                Properties::Wire(bytes) if !bytes.is_empty() => span_in(base, bytes),
                _ => Span::default(),
            };
            self.received_properties = properties;
            // An alias above the announced maximum (or 0) is 0x94.
            let alias = match &packet {
                v5::ServerPacket::Publish(publish) => {
                    publish.check_topic_alias(self.aliases.incoming)
                }
                v5::ServerPacket::ConnAck(_) => {
                    self.server_disconnect = None;
                    Ok(())
                }
                v5::ServerPacket::Disconnect(d) => {
                    let text = |id| match d.properties.get(id) {
                        Some(Property::ReasonString(s) | Property::ServerReference(s)) => {
                            span_in(base, s.as_bytes())
                        }
                        _ => Span::default(),
                    };
                    self.server_disconnect = Some(ServerDisconnect {
                        reason: d.reason,
                        reason_string: text(PropertyId::ReasonString),
                        server_reference: text(PropertyId::ServerReference),
                    });
                    Ok(())
                }
                _ => Ok(()),
            };
            if let Err(err) = alias {
                return Err(self.violation(err.reason_code(), err.into()));
            }
            // A topic the server aliases is kept once the packet is handled;
            // an alias alone stands for the topic kept for it.
            let mut keep_alias = None;
            if let v5::ServerPacket::Publish(publish) = &mut packet {
                if let Some(alias) = publish.topic_alias() {
                    if publish.topic.is_empty() {
                        match self.aliases.incoming_topic(base, alias) {
                            Some(topic) => publish.topic = topic,
                            // An alias this connection never set is a
                            // Protocol Error (section 3.3.2.3.4).
                            None => {
                                let err = Error::ProtocolViolation;
                                return Err(self.violation(disconnect_reason(err), err));
                            }
                        }
                    } else if publish.topic.len() > usize::from(self.aliases.length) {
                        let err = Error::TopicAliasTooLong;
                        return Err(self.violation(disconnect_reason(err), err));
                    } else {
                        keep_alias = Some((alias, span_in(base, publish.topic.as_bytes())));
                    }
                }
            }
            let now = self.clock.now_ms();
            let event = match self.session.handle_packet_v5(&packet, now) {
                Err(Error::SendBufferFull) => {
                    // Answers did not fit: write them, hand the packet in again.
                    self.flush_output()?;
                    continue;
                }
                Err(err) => return Err(self.violation(disconnect_reason(err), err)),
                Ok(event) => event,
            };
            let packet = event.map(|event| client_event(base, event, properties));
            self.rx_start += len;
            if let Some((alias, topic)) = keep_alias {
                self.aliases.keep(self.rx.as_mut(), alias, topic);
            }
            if packet.is_some() {
                return Ok(packet);
            }
        }
    }
}

impl<M, T, C, R, S, H> Supervisor<M, T, C, R, S, H>
where
    M: Memory,
    T: Transport,
    C: Clock,
    R: AsRef<[u8]> + AsMut<[u8]>,
    S: TableMemory<H>,
    H: Copy,
{
    /// [`Client::subscribe_v5`], remembering the filters for resubscribing
    /// with their options and Subscription Identifier. Only while connected.
    pub fn subscribe_v5(
        &mut self,
        topics: &[v5::SubscribeTopic<'_>],
        properties: Properties<'_>,
    ) -> Result<u16, Error> {
        let id = self.client_mut().subscribe_v5(topics, properties)?;
        self.remember_subscribed(topics.iter().map(|t| (t.filter, t.options.qos)), id);
        let identifier = match properties.get(PropertyId::SubscriptionIdentifier) {
            Some(Property::SubscriptionIdentifier(n)) => n,
            _ => 0,
        };
        for topic in topics {
            let v5 = V5Subscription {
                options: topic.options,
                identifier,
            };
            self.subscriptions.set_v5(topic.filter, v5);
        }
        Ok(id)
    }

    /// [`Client::unsubscribe_v5`], forgetting the filters and their handlers.
    pub fn unsubscribe_v5(
        &mut self,
        filters: &[&str],
        properties: Properties<'_>,
    ) -> Result<u16, Error> {
        let id = self.client_mut().unsubscribe_v5(filters, properties)?;
        self.forget_unsubscribed(filters);
        Ok(id)
    }

    /// [`Client::disconnect_v5`], and no more reconnecting.
    pub fn disconnect_v5(
        &mut self,
        reason: ReasonCode,
        properties: Properties<'_>,
    ) -> Result<(), Error> {
        self.stop_reconnecting();
        let result = self.client_mut().disconnect_v5(reason, properties);
        if result.is_ok() {
            self.record(LogLevel::Info, LogCode::Disconnected, 0, 0, 0, None);
        }
        result
    }
}

/// Makes `topics` (from the table) again over MQTT 5 with what each
/// asked for: one SUBSCRIBE per run of equal Subscription Identifiers
/// (a SUBSCRIBE carries one). Returns the last packet id.
pub(super) fn resubscribe<M, T, C, R, S, H>(
    client: &mut Client<M, T, C, R>,
    table: &Subscriptions<S, H>,
    topics: &[SubscribeTopic<'_>],
) -> Result<u16, Error>
where
    M: Memory,
    T: Transport,
    C: Clock,
    R: AsRef<[u8]> + AsMut<[u8]>,
    S: TableMemory<H>,
    H: Copy,
{
    const NONE: v5::SubscribeTopic<'static> = v5::SubscribeTopic {
        filter: "",
        options: v5::SubscriptionOptions {
            qos: QoS::AtMostOnce,
            no_local: false,
            retain_as_published: false,
            retain_handling: v5::RetainHandling::SendAtSubscribe,
        },
    };
    let mut chunk = [NONE; RESUBSCRIBE_CHUNK];
    let mut identifiers = [0u32; RESUBSCRIBE_CHUNK];
    for ((slot, identifier), topic) in chunk.iter_mut().zip(&mut identifiers).zip(topics) {
        let v5 = table.v5_of(topic.filter);
        *slot = v5::SubscribeTopic {
            filter: topic.filter,
            options: v5::SubscriptionOptions {
                qos: topic.qos,
                ..v5.options
            },
        };
        *identifier = v5.identifier;
    }
    let count = topics.len().min(RESUBSCRIBE_CHUNK);
    let (mut start, mut last) = (0, 0);
    // Bounded by `count`: each turn sends at least one filter.
    while start < count {
        let identifier = identifiers[start];
        let run = identifiers[start..count]
            .iter()
            .take_while(|&&n| n == identifier)
            .count();
        let own = [Property::SubscriptionIdentifier(identifier)];
        let properties = match identifier {
            0 => Properties::NONE,
            _ => Properties::List(&own),
        };
        last = client.subscribe_v5(&chunk[start..start + run], properties)?;
        start += run;
    }
    Ok(last)
}

/// The client's form of an event of an MQTT 5 connection (spans into the
/// receive buffer `base`; `properties`: a message's). Apart from the 3.1.1 mapping in `next_buffered`,
/// which a 3.1.1 firmware keeps byte for byte (scripts/footprint.sh).
fn client_event(base: &[u8], event: Event<'_>, properties: Span) -> Packet {
    Packet::Event(match event {
        Event::Connected {
            session_present,
            return_code,
        } => {
            return Packet::ConnAck {
                session_present,
                code: return_code,
            }
        }
        Event::Message(m) => ClientEvent::Message {
            topic: span_in(base, m.topic.as_bytes()),
            payload: span_in(base, m.payload),
            qos: m.qos,
            retain: m.retain,
            dup: m.dup,
            packet_id: m.packet_id,
            properties,
        },
        Event::Published { packet_id } => ClientEvent::Published { packet_id },
        Event::PublishFailed { packet_id, reason } => {
            ClientEvent::PublishFailed { packet_id, reason }
        }
        Event::Subscribed {
            packet_id,
            return_codes,
        } => ClientEvent::Subscribed {
            packet_id,
            return_codes: span_in(base, return_codes),
        },
        Event::Unsubscribed { packet_id } => ClientEvent::Unsubscribed { packet_id },
        Event::UnsubscribedCodes {
            packet_id,
            reason_codes,
        } => ClientEvent::UnsubscribedCodes {
            packet_id,
            reason_codes: span_in(base, reason_codes),
        },
        Event::Auth { reason } => ClientEvent::Auth { reason },
        #[cfg(feature = "ack-events")]
        Event::Received { packet_id } => ClientEvent::Received { packet_id },
        #[cfg(feature = "ack-events")]
        Event::Pong => ClientEvent::Pong,
        Event::ConnectionLost(err) => ClientEvent::ConnectionLost(err),
    })
}
