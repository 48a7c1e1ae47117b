//! MQTT 5.0 in the client (feature `mqtt5`): choosing protocol level 5,
//! publishing with properties, subscribing with subscription options, and
//! reading what an MQTT 5 server sends. A malformed or protocol-violating
//! packet from the server is answered with a DISCONNECT carrying the
//! standard's reason code before the connection is closed.

use super::log::{LogCode, LogLevel};
use super::subscriptions::TableMemory;
use super::supervisor::Supervisor;
use super::{span_in, Client, ClientEvent, Packet, Span};
use crate::codec::v5::{self, Properties, Property, PropertyId, ReasonCode};
use crate::codec::QoS;
use crate::session::{disconnect_reason, ConnectV5, Event, Memory, Session};
use crate::time::Millis;
use crate::transport::{Clock, Transport};
use crate::Error;

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
    pub fn select_v5(&mut self, v5: Option<ConnectV5>) -> Result<(), Error> {
        let v5 = v5.map(|mut v5| {
            if v5.maximum_packet_size == 0 {
                v5.maximum_packet_size = u32::try_from(self.rx.as_ref().len()).unwrap_or(u32::MAX);
            }
            v5
        });
        self.session.select_v5(v5)
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
        let id = self.with_room(|session| {
            session.publish_v5(topic, payload, qos, retain, properties, now)
        })?;
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
        self.request_v5(|session, now| session.subscribe_v5(topics, properties, now))
    }

    /// Unsubscribes with MQTT 5 and `properties` (User Properties); the
    /// UNSUBACK's reason codes arrive as [`ClientEvent::UnsubscribedCodes`].
    pub fn unsubscribe_v5(
        &mut self,
        filters: &[&str],
        properties: Properties<'_>,
    ) -> Result<u16, Error> {
        self.request_v5(|session, now| session.unsubscribe_v5(filters, properties, now))
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
        self.with_room(|session| session.disconnect_v5(reason, properties, now))?;
        let result = self.flush_output();
        self.drop_connection();
        result
    }

    /// Queues a request with `op` and writes it; returns its packet id.
    fn request_v5(
        &mut self,
        mut op: impl FnMut(&mut Session<M>, Millis) -> Result<u16, Error>,
    ) -> Result<u16, Error> {
        let now = self.clock.now_ms();
        let id = self.with_room(|session| op(session, now))?;
        self.flush_or_drop()?;
        Ok(id)
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
            let base = self.rx.as_ref();
            let buffered = &base[self.rx_start..self.rx_end];
            let (packet, len) = match v5::decode_from_server(buffered, base.len()) {
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
            // The client announces no Topic Alias Maximum: any alias is 0x94.
            let alias = match &packet {
                v5::ServerPacket::Publish(publish) => publish.check_topic_alias(0),
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
    /// [`Client::subscribe_v5`], remembering the filters (with their QoS;
    /// a resubscription after a reconnect asks for the QoS only) for
    /// resubscribing. Only while connected.
    pub fn subscribe_v5(
        &mut self,
        topics: &[v5::SubscribeTopic<'_>],
        properties: Properties<'_>,
    ) -> Result<u16, Error> {
        let id = self.client_mut().subscribe_v5(topics, properties)?;
        self.remember_subscribed(topics.iter().map(|t| (t.filter, t.options.qos)), id);
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
        #[cfg(feature = "ack-events")]
        Event::Received { packet_id } => ClientEvent::Received { packet_id },
        #[cfg(feature = "ack-events")]
        Event::Pong => ClientEvent::Pong,
        Event::ConnectionLost(err) => ClientEvent::ConnectionLost(err),
    })
}
