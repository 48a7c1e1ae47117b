//! The client's protocol state machine, sans-IO.
//!
//! A [`Session`] takes requests from the user (connect, publish, subscribe,
//! ...), packets decoded from the broker and the current time in
//! milliseconds, and produces bytes to send ([`Session::pending_output`]) and
//! [`Event`]s. It never reads a clock, never touches a socket and never
//! allocates: its memory is a [`Memory`] chosen by the caller.
//!
//! Driving it: after any call, write `pending_output()` to the network and
//! report how much went out with [`Session::consume_output`]; feed every
//! packet that arrives to [`Session::handle_packet`]; call
//! [`Session::handle_timers`] by [`Session::next_deadline`]; when the
//! connection closes, call [`Session::connection_closed`].

mod memory;
#[cfg(feature = "std")]
pub(crate) use memory::Zeroed;
mod store;

#[cfg(feature = "std")]
pub use memory::HeapMemory;
mod inbound;
#[cfg(feature = "mqtt5")]
mod v5;

#[cfg(feature = "mqtt5")]
pub use v5::{disconnect_reason, ConnectV5, ASSIGNED_ID_CAPACITY};

pub use inbound::BITMAP_WORDS as INBOUND_QOS2_BITMAP_WORDS;
pub use memory::{ArrayMemory, ConfigSource, Memory, Parts, SliceMemory, Slot, SlotKind};

use crate::codec::{self, Encode};
use crate::codec::{
    ConnAck, Connect, ConnectReturnCode, LastWill, Packet, ProtocolLevel, Publish, QoS,
    SubscribeRequest, SubscribeTopic, TopicList, UnsubscribeRequest,
};
use crate::time::{self, Millis};
use crate::{topic, Error};
use store::{Ring, LIVE, RELEASED, SENT, WIRE};

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// No connection.
    Disconnected,
    /// CONNECT sent, CONNACK not yet received.
    AwaitingConnAck,
    /// CONNACK accepted: the session is live.
    Connected,
    /// DISCONNECT queued; the driver closes the connection once it is written.
    Disconnecting,
}

/// What the user asks for when connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectOptions<'a> {
    pub client_id: &'a str,
    pub username: Option<&'a str>,
    pub password: Option<&'a [u8]>,
    /// Keepalive in seconds; 0 turns pings off.
    pub keep_alive_secs: u16,
    pub clean_session: bool,
    pub protocol: ProtocolLevel,
    pub will: Option<LastWill<'a>>,
    /// MQTT 5: CONNECT properties beyond what [`ConnectV5`] announces (User
    /// Properties, Request Response Information, Request Problem
    /// Information, Authentication Method and Data); ignored by 3.1.x.
    #[cfg(feature = "mqtt5")]
    pub properties: crate::codec::v5::Properties<'a>,
    /// MQTT 5: the Will Properties (delay interval, message expiry, content
    /// type, response topic, correlation data, payload format, user
    /// properties), sent with `will`.
    #[cfg(feature = "mqtt5")]
    pub will_properties: crate::codec::v5::Properties<'a>,
}

impl Default for ConnectOptions<'_> {
    fn default() -> Self {
        ConnectOptions {
            client_id: "",
            username: None,
            password: None,
            keep_alive_secs: 60,
            clean_session: true,
            protocol: ProtocolLevel::V3_1_1,
            will: None,
            #[cfg(feature = "mqtt5")]
            properties: crate::codec::v5::Properties::NONE,
            #[cfg(feature = "mqtt5")]
            will_properties: crate::codec::v5::Properties::NONE,
        }
    }
}

/// Tunables of a session that do not change per connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Most outbound QoS 1/2 publishes unacknowledged at once (1..=65,535).
    /// The packet-id table must have at least this many slots.
    pub inflight_window: u16,
    /// How long to wait for PINGRESP before declaring the link dead. `None`
    /// means half the keepalive (at least one second), so a dead link is
    /// noticed within 1.5 keepalive intervals.
    pub ping_timeout_ms: Option<core::num::NonZeroU32>,
    /// Most messages the outbox holds (sent and unacknowledged, or waiting
    /// for the window or a connection). Also bounded by the store's bytes
    /// and by the packet-id slots.
    pub outbox_limit: u16,
    /// Accept QoS 1/2 publishes while disconnected (they wait in the outbox
    /// and go out after the next CONNACK) instead of [`Error::NotConnected`].
    pub queue_offline: bool,
    /// Also keep QoS 0 publishes made while disconnected, to send once
    /// after the next CONNACK. Off: they are [`Error::NotConnected`].
    pub queue_qos0_offline: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            inflight_window: 20,
            ping_timeout_ms: None,
            outbox_limit: u16::MAX,
            queue_offline: false,
            queue_qos0_offline: false,
        }
    }
}

/// Something the application should hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// CONNACK arrived. With a code other than `Accepted` the broker refused
    /// and the session is disconnected again.
    Connected {
        session_present: bool,
        return_code: ConnectReturnCode,
    },
    /// An application message arrived (delivered once, even for a QoS 2
    /// message the broker sends again with DUP).
    Message(Publish<'a>),
    /// An outbound QoS 1 message got its PUBACK, or a QoS 2 message its PUBCOMP.
    Published { packet_id: u16 },
    /// SUBACK: the granted QoS per filter, 0x80 for a refused one.
    Subscribed {
        packet_id: u16,
        return_codes: &'a [u8],
    },
    /// UNSUBACK.
    Unsubscribed { packet_id: u16 },
    /// The first PUBREC of an outbound QoS 2 message: the broker has it
    /// (PUBREL is queued; [`Event::Published`] follows at PUBCOMP).
    #[cfg(feature = "ack-events")]
    Received { packet_id: u16 },
    /// PINGRESP.
    #[cfg(feature = "ack-events")]
    Pong,
    /// MQTT 5: an outbound QoS 1/2 message got a PUBACK or PUBREC with a
    /// failure reason code (0x80 and above); it is done, not delivered.
    #[cfg(feature = "mqtt5")]
    PublishFailed { packet_id: u16, reason: u8 },
    /// MQTT 5 UNSUBACK: a reason code per filter (0x00 Success, 0x11 No
    /// subscription existed, 0x80 and above refused).
    #[cfg(feature = "mqtt5")]
    UnsubscribedCodes {
        packet_id: u16,
        reason_codes: &'a [u8],
    },
    /// MQTT 5 AUTH from the server (section 4.12): 0x18 Continue
    /// authentication (a challenge to answer with
    /// [`Session::auth_v5`]) or 0x00 Success (a re-authentication done).
    #[cfg(feature = "mqtt5")]
    Auth { reason: u8 },
    /// The link is dead; the driver must close it and call
    /// [`Session::connection_closed`].
    ConnectionLost(Error),
}

/// The MQTT 3.1.1 client state machine.
pub struct Session<M: Memory> {
    memory: M,
    /// The settings, or where they are read from.
    config: M::Config,
    state: State,
    /// Keepalive in seconds, as CONNECT gave it (0: none); 2 bytes, not a
    /// `u32` of milliseconds.
    keep_alive_secs: u16,
    /// Output waiting in the send buffer: `tx[out_start..out_end]`.
    out_start: usize,
    out_end: usize,
    /// Time the last byte was queued for sending, for keepalive.
    last_sent_ms: Millis,
    /// Time the last packet arrived: a client that keeps sending still
    /// pings when the broker has gone quiet, so a half-open link is found.
    /// While a PINGREQ is outstanding, when it went out instead: nothing
    /// reads the arrival time then, and any packet that arrives ends the
    /// wait and sets it again (one time kept, not two).
    last_received_ms: Millis,
    /// A PINGREQ went out at `last_received_ms` and awaits its PINGRESP (a
    /// flag beside the time, not an `Option`: it fits the struct's padding).
    ping_outstanding: bool,
    /// CONNECT went out and the layer above has not finished with its
    /// CONNACK (see [`Session::connack_handled`]): while set, its deadline
    /// runs from `last_received_ms` (a flag in the struct's padding, so the
    /// client keeps no deadline of its own).
    connack_pending: bool,
    /// Next packet id to try; never 0.
    next_packet_id: u16,
    /// Messages in the outbox (QoS 1/2 unacknowledged, queued QoS 0).
    queued: u16,
    /// Outbox messages written on this connection and not yet acknowledged:
    /// what the in-flight window limits.
    on_wire: u16,
    ring: Ring,
    /// The next outbox entry to write on this connection; entries before it
    /// have been written (flag WIRE). `None`: all written.
    send_cursor: Option<usize>,
    /// Whether the broker kept the session (resent messages carry DUP).
    session_resumed: bool,
    /// PUBACK, PUBREC and PUBCOMP received for packet ids not in flight
    /// (wrapping), for the layers above to log (kept only with
    /// `log-events`, the feature that logs them).
    #[cfg(feature = "log-events")]
    unknown_acks: u16,
    /// MQTT 5: the protocol of this session and the server's limits.
    #[cfg(feature = "mqtt5")]
    v5: v5::Link,
    /// MQTT 5: stored messages the server's limits refused at its CONNACK,
    /// not yet reported ([`Session::take_refused`]).
    #[cfg(feature = "mqtt5")]
    refused: u16,
}

impl<M: Memory> Session<M> {
    /// A disconnected session in `memory`.
    // Inlined so firmware can construct it in place, without a second
    // copy of the whole session on a small stack.
    #[inline(always)]
    pub fn new(memory: M, config: M::Config) -> Self {
        let mut session = Self::new_cleared(memory, config);
        let parts = session.memory.parts();
        parts.slots.fill(Slot::FREE);
        parts.inbound_qos2.fill(0);
        session
    }

    /// [`Session::new`] for `memory` whose packet-id slots are already
    /// free and inbound QoS 2 ids 0 (firmware clears them as it lays out
    /// its tables): without the clearing, which takes the session's
    /// address, firmware builds the session straight into its storage.
    #[inline(always)]
    pub(crate) fn new_cleared(memory: M, config: M::Config) -> Self {
        Session {
            memory,
            config,
            state: State::Disconnected,
            keep_alive_secs: 0,
            out_start: 0,
            out_end: 0,
            last_sent_ms: 0,
            last_received_ms: 0,
            ping_outstanding: false,
            connack_pending: false,
            next_packet_id: 1,
            queued: 0,
            on_wire: 0,
            ring: Ring::default(),
            send_cursor: None,
            session_resumed: false,
            #[cfg(feature = "log-events")]
            unknown_acks: 0,
            #[cfg(feature = "mqtt5")]
            v5: v5::Link::new(false, v5::ConnectV5::DEFAULT),
            #[cfg(feature = "mqtt5")]
            refused: 0,
        }
    }

    /// Where the connection stands.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration given at creation.
    #[inline(always)]
    pub fn config(&self) -> SessionConfig {
        self.config.config()
    }

    /// What the session keeps of its settings (as given to `new`).
    pub(crate) fn kept_config(&self) -> &M::Config {
        &self.config
    }

    /// Replaces what the session keeps of its settings (firmware: the
    /// options a reconfigure gave, the old ones no longer valid).
    #[cfg(not(feature = "std"))]
    pub(crate) fn set_config(&mut self, config: M::Config) {
        self.config = config;
    }

    /// Outbound QoS 1/2 messages written on this connection and not yet
    /// fully acknowledged (at most the in-flight window).
    pub fn inflight(&self) -> u16 {
        self.on_wire
    }

    /// Messages in the outbox: unacknowledged QoS 1/2 messages, sent or
    /// waiting, and queued offline QoS 0 messages.
    pub fn queued(&self) -> u16 {
        self.queued
    }

    /// How many PUBACK, PUBREC and PUBCOMP have named a packet id not in
    /// flight (wrapping at 2^16). MQTT 3.1.1 makes no rule for them, and a
    /// late duplicate after a reconnect is harmless, so they are not a
    /// protocol violation: they are ignored (a PUBREC still gets its PUBREL,
    /// as MQTT 5 answers one with "packet identifier not found", so the
    /// broker can let its id go) and counted here.
    /// Always 0 without the `log-events` feature.
    pub fn unknown_acks(&self) -> u16 {
        #[cfg(feature = "log-events")]
        return self.unknown_acks;
        #[cfg(not(feature = "log-events"))]
        0
    }

    /// While a CONNECT awaits its CONNACK (and the layer above has not
    /// finished with it): since when, on the caller's clock. Any packet
    /// received meanwhile (an MQTT 5 AUTH step) moves it on.
    pub fn connack_wait_since(&self) -> Option<Millis> {
        self.connack_pending.then_some(self.last_received_ms)
    }

    /// Keeps `ms` for the layer above while disconnected (the C layer: when
    /// opening a transport gives up), in `last_received_ms`: nothing reads
    /// that until CONNECT sets it again, so no field of its own.
    pub(crate) fn keep_while_disconnected(&mut self, ms: Millis) {
        debug_assert!(self.state == State::Disconnected);
        self.last_received_ms = ms;
    }

    /// What [`keep_while_disconnected`](Self::keep_while_disconnected) kept.
    pub(crate) fn kept_while_disconnected(&self) -> Millis {
        self.last_received_ms
    }

    /// The layer above has finished with the CONNACK (see
    /// [`connack_wait_since`](Self::connack_wait_since)).
    pub fn connack_handled(&mut self) {
        self.connack_pending = false;
    }

    /// When a packet was last queued for sending.
    pub fn last_sent_ms(&self) -> Millis {
        self.last_sent_ms
    }

    /// Bytes waiting to be written to the network, oldest first.
    pub fn pending_output(&self) -> &[u8] {
        // Always in the send buffer: no panic path.
        self.memory
            .tx()
            .get(self.out_start..self.out_end)
            .unwrap_or_default()
    }

    /// Reports that the first `written` bytes of [`pending_output`](Self::pending_output)
    /// reached the network. Frees the room for more output and sends more
    /// of the outbox.
    pub fn consume_output(&mut self, written: usize) {
        self.out_start = (self.out_start + written).min(self.out_end);
        if self.out_start == self.out_end {
            self.out_start = 0;
            self.out_end = 0;
        }
        self.pump();
    }

    /// True while `packet_id` belongs to a request still awaiting its
    /// acknowledgement (PUBACK, PUBCOMP, SUBACK or UNSUBACK).
    pub fn is_pending(&mut self, packet_id: u16) -> bool {
        find_slot(self.memory.parts().slots, packet_id).is_some()
    }

    /// True while unacknowledged QoS 1/2 messages are held in the store.
    pub fn has_stored_messages(&self) -> bool {
        !self.ring.is_empty()
    }

    /// True while outbox messages wait to be written on this connection
    /// (for room in the send buffer or the in-flight window).
    pub fn resend_pending(&self) -> bool {
        self.send_cursor.is_some()
    }

    /// The stored PUBLISH packet of an unacknowledged outbound message, as
    /// it was first encoded (DUP clear): what a persistence hook saves.
    pub fn stored_packet(&mut self, packet_id: u16) -> Option<&[u8]> {
        let parts = self.memory.parts();
        let index = find_slot(parts.slots, packet_id)?;
        if !matches!(
            parts.slots[index].kind,
            SlotKind::AwaitPubAck | SlotKind::AwaitPubRec | SlotKind::AwaitPubComp
        ) {
            return None;
        }
        let entry = self.ring.entry(
            parts.store,
            parts.slots[index].store_offset_or_filters as usize,
        );
        Some(&parts.store[entry.data..entry.data + entry.len])
    }

    /// Puts back a QoS 1/2 PUBLISH saved before a restart (see
    /// [`stored_packet`](Self::stored_packet)), keeping its packet id, at the
    /// end of the outbox. Only while disconnected; it goes out after the next
    /// CONNACK with DUP if the broker kept the session. Returns the id.
    pub fn restore(&mut self, packet: &[u8]) -> Result<u16, Error> {
        if self.state != State::Disconnected {
            return Err(Error::AlreadyConnected);
        }
        // An MQTT 5 session restores MQTT 5 packets: they are sent as
        // they are.
        #[cfg(feature = "mqtt5")]
        let publish = match self.v5.active {
            true => self.restored_v5(packet)?,
            false => restored(packet)?,
        };
        #[cfg(not(feature = "mqtt5"))]
        let publish = restored(packet)?;
        let kind = match publish.qos {
            QoS::AtMostOnce => return Err(Error::InvalidQos),
            QoS::AtLeastOnce => SlotKind::AwaitPubAck,
            QoS::ExactlyOnce => SlotKind::AwaitPubRec,
        };
        if self.queued >= self.config().outbox_limit {
            return Err(Error::StoreFull);
        }
        let id = publish.packet_id;
        let parts = self.memory.parts();
        if parts.slots.is_empty() {
            return Err(Error::StoreFull);
        }
        let index = usize::from(id) % parts.slots.len();
        if parts.slots[index].kind != SlotKind::Free {
            // Taken by another restored message (same id, or one that
            // shares its slot): keeping both is impossible.
            return Err(Error::InvalidArgument);
        }
        if packet.len() > parts.tx.len() {
            return Err(Error::PacketTooLarge);
        }
        // Marked sent: it may have reached the broker before the restart.
        let offset = self
            .ring
            .push(parts.store, id, LIVE | SENT, packet.len(), |out| {
                out.copy_from_slice(packet);
                out[0] &= !0x08;
                Ok(packet.len())
            })?;
        parts.slots[index] = Slot {
            packet_id: id,
            kind,
            store_offset_or_filters: offset as u32,
        };
        self.queued += 1;
        Ok(id)
    }

    /// Starts a connection: queues CONNECT. The transport must already be open.
    pub fn connect(&mut self, options: &ConnectOptions<'_>, now_ms: Millis) -> Result<(), Error> {
        #[cfg(feature = "mqtt5")]
        if self.v5.active {
            if self.state != State::Disconnected {
                return Err(Error::AlreadyConnected);
            }
            return self.connect_selected(options, now_ms);
        }
        let connect = Connect {
            protocol: options.protocol,
            clean_session: options.clean_session,
            keep_alive: options.keep_alive_secs,
            client_id: options.client_id,
            will: options.will,
            username: options.username,
            password: options.password,
        };
        self.connect_packet(&connect, now_ms)
    }

    /// [`connect`](Self::connect) at MQTT 3.1.x from the packet itself, for
    /// a caller that builds it without a [`ConnectOptions`] (one copy of
    /// the fields on the stack instead of two).
    #[inline(always)]
    pub(crate) fn connect_packet(
        &mut self,
        connect: &Connect<'_>,
        now_ms: Millis,
    ) -> Result<(), Error> {
        if self.state != State::Disconnected {
            return Err(Error::AlreadyConnected);
        }
        if connect.client_id.is_empty() && !connect.clean_session {
            // The broker would refuse it with code 2 [MQTT-3.1.3-7].
            return Err(Error::InvalidArgument);
        }
        self.out_start = 0;
        self.out_end = 0;
        self.queue(connect, now_ms)?;
        self.keep_alive_secs = connect.keep_alive;
        self.ping_outstanding = false;
        self.last_received_ms = now_ms;
        self.state = State::AwaitingConnAck;
        self.connack_pending = true;
        Ok(())
    }

    /// Publishes a message. Returns its packet id (0 for QoS 0).
    ///
    /// QoS 1/2 messages go into the outbox and are written as soon as the
    /// in-flight window and the send buffer allow, in order; they stay there
    /// until acknowledged and are resent after a reconnect. While
    /// disconnected or waiting for CONNACK they are accepted only with
    /// [`SessionConfig::queue_offline`]. A full outbox (count or bytes) is
    /// [`Error::StoreFull`]; a message too large for the store or send
    /// buffer is [`Error::PacketTooLarge`]. QoS 0 messages are written
    /// directly: a full send buffer is [`Error::SendBufferFull`] (write the
    /// pending output and retry). Nothing is kept when an error is returned.
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        now_ms: Millis,
    ) -> Result<u16, Error> {
        #[cfg(feature = "mqtt5")]
        if self.v5.active {
            let none = crate::codec::v5::Properties::NONE;
            return self.publish_v5(topic, payload, qos, retain, none, now_ms);
        }
        let connected = self.state == State::Connected;
        let offline_ok = match qos {
            QoS::AtMostOnce => self.config().queue_qos0_offline,
            _ => self.config().queue_offline,
        };
        // Waiting for CONNACK counts as offline: the outbox goes out after it.
        let offline = matches!(self.state, State::Disconnected | State::AwaitingConnAck);
        let accepted = connected || (offline_ok && offline);
        if !accepted {
            return Err(Error::NotConnected);
        }
        let mut publish = Publish {
            dup: false,
            qos,
            retain,
            topic,
            packet_id: 0,
            payload,
        };
        // QoS 0 while connected goes straight to the send buffer; anything
        // else into the outbox. One `encode_out` call for both.
        let direct = qos == QoS::AtMostOnce && connected;
        let mut slot = None;
        if !direct {
            // Before anything is taken for it, so a bad topic leaves no
            // trace (sizing validates it too, too late for that).
            topic::validate_topic_name(topic)?;
            if self.queued >= self.config().outbox_limit {
                return Err(Error::StoreFull);
            }
            if qos != QoS::AtMostOnce {
                // Every slot taken by outbox messages and requests: the
                // outbox is full by count.
                slot = Some(self.free_slot().map_err(|_| Error::StoreFull)?);
            }
        }
        let packet_id = slot.map_or(0, |(_, id)| id);
        publish.packet_id = packet_id;
        let mut offset = 0;
        self.encode_out(&publish, (!direct).then_some((packet_id, &mut offset)))?;
        self.last_sent_ms = now_ms;
        if direct {
            return Ok(0);
        }
        let parts = self.memory.parts();
        // Always in range (free_slot's index): no panic path.
        if let Some(slot) = slot.and_then(|(index, _)| parts.slots.get_mut(index)) {
            *slot = Slot {
                packet_id,
                kind: if qos == QoS::AtLeastOnce {
                    SlotKind::AwaitPubAck
                } else {
                    SlotKind::AwaitPubRec
                },
                store_offset_or_filters: offset as u32,
            };
        }
        self.queued += 1;
        if connected && self.send_cursor.is_none() {
            self.send_cursor = Some(offset);
        }
        self.pump();
        Ok(packet_id)
    }

    /// Queues a SUBSCRIBE for one or more filters and returns its packet id.
    pub fn subscribe(
        &mut self,
        topics: &[SubscribeTopic<'_>],
        now_ms: Millis,
    ) -> Result<u16, Error> {
        self.request_filters(&topics, false, now_ms)
    }

    /// Queues a SUBSCRIBE of `topics`, or with `unsubscribe` an UNSUBSCRIBE
    /// of their filters (their QoS unused), and returns its packet id: one
    /// list type and one encoder for both requests (the C API's), at
    /// either protocol level.
    pub(crate) fn request_filters(
        &mut self,
        topics: &dyn TopicList,
        unsubscribe: bool,
        now_ms: Millis,
    ) -> Result<u16, Error> {
        let kind = if unsubscribe {
            SlotKind::AwaitUnsubAck
        } else {
            SlotKind::AwaitSubAck
        };
        #[cfg(feature = "mqtt5")]
        if self.v5.active {
            let request = |packet_id| crate::codec::v5::FilterRequest {
                packet_id,
                unsubscribe,
                topics,
            };
            return self.request_v5(kind, topics.len(), request, now_ms);
        }
        // More filters than a SUBACK can answer count as none.
        let filters = match topics.len() {
            n if n > u16::MAX as usize => 0,
            n => n,
        };
        let mut packet = SubscribeRequest {
            packet_id: 0,
            unsubscribe,
            topics,
        };
        self.queue_request(&mut packet, kind, filters, now_ms)
    }

    /// Queues an UNSUBSCRIBE for one or more filters and returns its packet id.
    pub fn unsubscribe(&mut self, filters: &[&str], now_ms: Millis) -> Result<u16, Error> {
        #[cfg(feature = "mqtt5")]
        if self.v5.active {
            return self.unsubscribe_v5(filters, crate::codec::v5::Properties::NONE, now_ms);
        }
        let mut packet = UnsubscribeRequest {
            packet_id: 0,
            filters,
        };
        self.queue_request(&mut packet, SlotKind::AwaitUnsubAck, filters.len(), now_ms)
    }

    /// Queues a SUBSCRIBE or UNSUBSCRIBE of `filters` filters (0:
    /// [`Error::NoTopicFilters`]) under a new packet id, its slot awaiting
    /// `kind`; returns the id. One copy for both requests.
    fn queue_request(
        &mut self,
        packet: &mut dyn Request,
        kind: SlotKind,
        filters: usize,
        now_ms: Millis,
    ) -> Result<u16, Error> {
        self.require_connected()?;
        if filters == 0 {
            return Err(Error::NoTopicFilters);
        }
        let (slot_index, packet_id) = self.free_slot()?;
        self.queue(packet.with_packet_id(packet_id), now_ms)?;
        // Always in range (free_slot's index): no panic path.
        if let Some(slot) = self.memory.parts().slots.get_mut(slot_index) {
            *slot = Slot {
                packet_id,
                kind,
                // The SUBACK's count (an UNSUBACK has none to check).
                store_offset_or_filters: filters as u32,
            };
        }
        Ok(packet_id)
    }

    /// Queues DISCONNECT. The driver writes it, closes the transport and
    /// calls [`connection_closed`](Self::connection_closed). Unacknowledged
    /// QoS 1/2 messages stay in the store for the next connection.
    pub fn disconnect(&mut self, now_ms: Millis) -> Result<(), Error> {
        match self.state {
            State::Disconnected => return Err(Error::NotConnected),
            State::Disconnecting => return Ok(()),
            State::AwaitingConnAck | State::Connected => {}
        }
        self.send_cursor = None;
        self.queue_fixed(DISCONNECT, 0, now_ms)?;
        self.state = State::Disconnecting;
        Ok(())
    }

    /// The transport closed (or was closed by the driver). Output not yet
    /// written is dropped; pending SUBSCRIBE/UNSUBSCRIBE requests are
    /// forgotten; the outbox is kept for the next connection.
    pub fn connection_closed(&mut self) {
        self.state = State::Disconnected;
        self.connack_pending = false;
        self.out_start = 0;
        self.out_end = 0;
        self.ping_outstanding = false;
        self.send_cursor = None;
        self.on_wire = 0;
        let parts = self.memory.parts();
        let mut cursor = self.ring.first();
        while let Some(at) = cursor {
            self.ring.clear_flag(parts.store, at, WIRE);
            cursor = self.ring.next(parts.store, at);
        }
        for slot in self.memory.parts().slots.iter_mut() {
            if matches!(slot.kind, SlotKind::AwaitSubAck | SlotKind::AwaitUnsubAck) {
                *slot = Slot::FREE;
            }
        }
    }

    /// Drops one QoS 1/2 message that was written to a connection and not
    /// acknowledged, for applications that choose not to resend after a
    /// lost connection; returns its packet id, `None` when none is left.
    /// Messages never written stay (they go out after the next CONNACK).
    /// Only while disconnected.
    pub fn drop_next_sent(&mut self) -> Option<u16> {
        if self.state != State::Disconnected {
            return None;
        }
        let parts = self.memory.parts();
        let mut cursor = self.ring.first();
        // Bounded by the ring's entries.
        while let Some(at) = cursor {
            let entry = self.ring.entry(parts.store, at);
            if entry.flags & LIVE != 0 && entry.flags & SENT != 0 && entry.packet_id != 0 {
                if let Some(index) = find_slot(parts.slots, entry.packet_id) {
                    parts.slots[index] = Slot::FREE;
                }
                self.ring.free(parts.store, at);
                self.queued -= 1;
                return Some(entry.packet_id);
            }
            cursor = self.ring.next(parts.store, at);
        }
        None
    }

    /// Handles one packet decoded from the broker. May queue an answer
    /// (PUBACK, PUBREC, PUBREL, PUBCOMP) and returns at most one event.
    ///
    /// [`Error::SendBufferFull`] means the answer did not fit: nothing
    /// changed; write the pending output and hand in the same packet again.
    /// Any other error is a protocol violation: close the connection.
    pub fn handle_packet<'p>(
        &mut self,
        packet: &Packet<'p>,
        now_ms: Millis,
    ) -> Result<Option<Event<'p>>, Error> {
        // Any packet shows the link is alive.
        self.ping_outstanding = false;
        self.last_received_ms = now_ms;
        if self.state == State::AwaitingConnAck {
            let Packet::ConnAck(ack) = packet else {
                return Err(Error::ProtocolViolation);
            };
            return Ok(Some(self.handle_connack(ack)));
        }
        if self.state == State::Disconnected {
            return Err(Error::NotConnected);
        }
        match *packet {
            Packet::Publish(publish) => self.handle_publish(publish, now_ms),
            Packet::PubAck(id) | Packet::PubRec(id) | Packet::PubComp(id) => {
                let (expected, release) = match *packet {
                    Packet::PubAck(_) => (SlotKind::AwaitPubAck, None),
                    Packet::PubRec(_) => (SlotKind::AwaitPubRec, Some(now_ms)),
                    _ => (SlotKind::AwaitPubComp, None),
                };
                let was = self.acknowledged(id, expected, release)?;
                if release.is_none() {
                    return Ok(was.map(|_| Event::Published { packet_id: id }));
                }
                // A repeated PUBREC (or one after a resent PUBREL) is not news.
                #[cfg(feature = "ack-events")]
                return Ok((was == Some(SlotKind::AwaitPubRec))
                    .then_some(Event::Received { packet_id: id }));
                #[cfg(not(feature = "ack-events"))]
                Ok(None)
            }
            Packet::PubRel(id) => {
                self.queue_fixed(PUBCOMP, id, now_ms)?;
                inbound::remove(self.memory.parts().inbound_qos2, id);
                Ok(None)
            }
            Packet::SubAck(ack) => {
                let slot = pending_slot(self.memory.parts().slots, ack.packet_id)
                    .filter(|slot| slot.kind == SlotKind::AwaitSubAck)
                    .ok_or(Error::ProtocolViolation)?;
                if ack.return_codes.len() != slot.store_offset_or_filters as usize {
                    return Err(Error::SubackCountMismatch);
                }
                *slot = Slot::FREE;
                Ok(Some(Event::Subscribed {
                    packet_id: ack.packet_id,
                    return_codes: ack.return_codes,
                }))
            }
            Packet::UnsubAck(id) => {
                let slot = pending_slot(self.memory.parts().slots, id)
                    .filter(|slot| slot.kind == SlotKind::AwaitUnsubAck)
                    .ok_or(Error::ProtocolViolation)?;
                *slot = Slot::FREE;
                Ok(Some(Event::Unsubscribed { packet_id: id }))
            }
            #[cfg(feature = "ack-events")]
            Packet::PingResp => Ok(Some(Event::Pong)),
            #[cfg(not(feature = "ack-events"))]
            Packet::PingResp => Ok(None),
            Packet::ConnAck(_) => Err(Error::ProtocolViolation),
            Packet::Connect(_)
            | Packet::Subscribe(_)
            | Packet::Unsubscribe(_)
            | Packet::PingReq
            | Packet::Disconnect => Err(Error::UnexpectedPacket(packet.packet_type() as u8)),
        }
    }

    /// Keepalive: queues PINGREQ when nothing was sent, or nothing was
    /// received, for the keepalive interval, and reports the link lost when
    /// PINGRESP (or any packet) is overdue.
    pub fn handle_timers(&mut self, now_ms: Millis) -> Result<Option<Event<'static>>, Error> {
        match self.keepalive(now_ms) {
            Err(Error::KeepaliveTimeout) => {
                self.connection_closed();
                Ok(Some(Event::ConnectionLost(Error::KeepaliveTimeout)))
            }
            other => other.map(|_| None),
        }
    }

    /// [`handle_timers`](Self::handle_timers) for a driver that closes the
    /// connection on any error: a lost link is [`Error::KeepaliveTimeout`],
    /// and the session is left for the driver's
    /// [`connection_closed`](Self::connection_closed) (the client's
    /// `drop_connection` calls it; no second call here).
    /// A plain result, not an `Event` built in memory on the receive path.
    /// Returns [`next_deadline`](Self::next_deadline), worked out here
    /// rather than again by the caller.
    pub(crate) fn keepalive(&mut self, now_ms: Millis) -> Result<Option<Millis>, Error> {
        if self.state != State::Connected || self.keep_alive_secs == 0 {
            return Ok(None);
        }
        let timeout = self.ping_timeout_ms();
        if let Some(sent) = self.ping_sent() {
            if time::elapsed(now_ms, sent) >= timeout {
                return Err(Error::KeepaliveTimeout);
            }
            return Ok(Some(time::after(sent, timeout)));
        }
        let idle_since = self.last_activity_ms();
        let keep_alive_ms = self.keep_alive_ms();
        if time::elapsed(now_ms, idle_since) < keep_alive_ms {
            return Ok(Some(time::after(idle_since, keep_alive_ms)));
        }
        self.queue_fixed(PINGREQ, 0, now_ms)?;
        self.last_received_ms = now_ms;
        self.ping_outstanding = true;
        Ok(Some(time::after(now_ms, timeout)))
    }

    /// The next time [`handle_timers`](Self::handle_timers) has work to do,
    /// so a driver knows how long it may sleep. `None`: no timer is running.
    pub fn next_deadline(&self) -> Option<Millis> {
        if self.state != State::Connected || self.keep_alive_secs == 0 {
            return None;
        }
        Some(match self.ping_sent() {
            Some(sent) => time::after(sent, self.ping_timeout_ms()),
            None => time::after(self.last_activity_ms(), self.keep_alive_ms()),
        })
    }

    /// When the outstanding PINGREQ went out, if one is outstanding.
    fn ping_sent(&self) -> Option<Millis> {
        self.ping_outstanding.then_some(self.last_received_ms)
    }

    /// The older of the last send and the last receive: a PINGREQ is due a
    /// keepalive after it.
    fn last_activity_ms(&self) -> Millis {
        time::earlier(self.last_sent_ms, self.last_received_ms)
    }

    fn keep_alive_ms(&self) -> u32 {
        u32::from(self.keep_alive_secs) * 1000
    }

    fn ping_timeout_ms(&self) -> u32 {
        match self.config().ping_timeout_ms {
            Some(ms) => ms.get(),
            None => (self.keep_alive_ms() / 2).max(1000),
        }
    }

    fn require_connected(&self) -> Result<(), Error> {
        match self.state {
            State::Connected => Ok(()),
            _ => Err(Error::NotConnected),
        }
    }

    fn handle_connack(&mut self, ack: &ConnAck) -> Event<'static> {
        if ack.code != ConnectReturnCode::Accepted {
            self.state = State::Disconnected;
            self.out_start = 0;
            self.out_end = 0;
        } else {
            self.state = State::Connected;
            if !ack.session_present {
                // The broker has no record of inbound QoS 2 messages either.
                self.memory.parts().inbound_qos2.fill(0);
            }
            // Stored messages go out again in their original order: with DUP
            // when the broker kept the session, as new messages otherwise.
            // Released QoS 2 messages get PUBREL again; a broker that lost
            // the session still answers it with PUBCOMP.
            self.session_resumed = ack.session_present;
            self.send_cursor = self.ring.first();
            self.pump();
        }
        Event::Connected {
            session_present: ack.session_present,
            return_code: ack.code,
        }
    }

    /// Writes outbox entries into the send buffer, in order, while the
    /// in-flight window and the send buffer have room.
    fn pump(&mut self) {
        if self.state != State::Connected {
            return;
        }
        #[cfg(feature = "mqtt5")]
        let window = self.window();
        while let Some(at) = self.send_cursor {
            // Taken each turn: fixed addresses in `self`, not four words
            // kept in the frame across the loop. Where no call in the loop
            // writes `self` (no QoS 0 free), LLVM would keep nine of its
            // fields in the frame instead: `black_box` makes it opaque
            // each turn, so they are read in place.
            core::hint::black_box(&mut *self);
            let parts = self.memory.parts();
            // Always there: no zeroed entry built for a missing one.
            let Some(entry) = self.ring.get(parts.store, at) else {
                return;
            };
            // Live entries only: dead ones may be reclaimed under the cursor.
            let skip =
                entry.flags & LIVE == 0 || entry.flags & WIRE != 0 || store::refused(entry.flags);
            // Never a QoS 0 entry where none is stored: its free folds away.
            let qos0 = M::Config::QOS0_STORED && entry.packet_id == 0;
            debug_assert!(qos0 || entry.packet_id != 0);
            if !skip {
                // Through the field: `parts` borrows the memory meanwhile.
                if !qos0 && self.on_wire >= self.config.config().inflight_window {
                    return;
                }
                // The server's Receive Maximum (MQTT 5) caps the window too.
                #[cfg(feature = "mqtt5")]
                if !qos0 && self.on_wire >= window {
                    return;
                }
                // A released QoS 2 message sends its PUBREL; any other its
                // stored PUBLISH. publish() checked that every stored message
                // fits an empty send buffer, so no room only waits for a flush.
                let released = entry.flags & RELEASED != 0;
                let len = if released { 4 } else { entry.len }; // PUBREL: 4 bytes
                let Some(out) = parts.tx.get_mut(self.out_end..self.out_end + len) else {
                    return;
                };
                // The PUBREL written in place: no copy of it in the frame.
                match released {
                    true => out.copy_from_slice(&ack(PUBREL, entry.packet_id)),
                    // Always in the store: no panic path.
                    false => {
                        // The rest from the entry's data, then its bytes:
                        // no overflow test of `data + len`.
                        if let Some(stored) = parts
                            .store
                            .get(entry.data..)
                            .and_then(|rest| rest.get(..entry.len))
                        {
                            codec::copy_bytes(out, stored);
                        }
                    }
                }
                if !released && self.session_resumed && entry.flags & SENT != 0 {
                    // Never `None` (a stored PUBLISH is never empty): no panic path.
                    if let Some(first) = out.first_mut() {
                        *first |= 0x08;
                    }
                }
                self.out_end += len;
                if !qos0 {
                    // Before the next entry is found: it reads only the
                    // entries after this one.
                    self.ring
                        .set_flags(parts.store, at, entry.flags | SENT | WIRE);
                    self.on_wire += 1;
                }
            }
            // The next entry found once for a skipped and a written entry
            // (not kept across the copy), and before a QoS 0 entry is freed.
            self.send_cursor = self.ring.next_live(parts.store, at);
            if !skip && qos0 {
                // Queued offline QoS 0: once written it is the network's.
                self.ring.free(parts.store, at);
                self.queued -= 1;
            }
        }
    }

    fn handle_publish<'p>(
        &mut self,
        publish: Publish<'p>,
        now_ms: Millis,
    ) -> Result<Option<Event<'p>>, Error> {
        match publish.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => self.queue_fixed(PUBACK, publish.packet_id, now_ms)?,
            QoS::ExactlyOnce => {
                let id = publish.packet_id;
                let free = match inbound::lookup(self.memory.parts().inbound_qos2, id) {
                    inbound::Lookup::Full => return Err(Error::InboundQos2Full),
                    inbound::Lookup::Free(at) => Some(at),
                    // Delivered already: the broker did not see our PUBREC,
                    // which goes out again.
                    inbound::Lookup::Held => None,
                };
                self.queue_fixed(PUBREC, id, now_ms)?;
                let Some(at) = free else {
                    return Ok(None);
                };
                inbound::insert_at(self.memory.parts().inbound_qos2, at, id);
            }
        }
        Ok(Some(Event::Message(publish)))
    }

    /// Frees the slot of an acknowledged publish. `Ok(false)`: an ack for a
    /// packet id not in flight (a late duplicate), which is ignored.
    #[cfg(feature = "mqtt5")]
    fn complete(&mut self, packet_id: u16, expected: SlotKind) -> Result<bool, Error> {
        Ok(self.acknowledged(packet_id, expected, None)?.is_some())
    }

    /// An acknowledgement of outbound message `packet_id`, whose slot must
    /// await it as `expected`: done and freed, or with `release` (a PUBREC,
    /// at that time) released: PUBREL queued, PUBCOMP awaited. Returns what
    /// the slot awaited; `None` for a packet id not in flight (a late
    /// duplicate), which is ignored (a PUBREC still gets its PUBREL, as
    /// MQTT 5 answers one with "packet identifier not found").
    fn acknowledged(
        &mut self,
        packet_id: u16,
        expected: SlotKind,
        release: Option<Millis>,
    ) -> Result<Option<SlotKind>, Error> {
        let parts = self.memory.parts();
        // Found once: its index stays valid, as nothing below frees a slot
        // before this one's is changed.
        let index = find_slot(parts.slots, packet_id);
        let found = index.and_then(|index| parts.slots.get(index).copied());
        if let Some(slot) = found {
            // A repeated PUBREC gets PUBREL again [MQTT-4.3.3].
            let repeated = release.is_some() && slot.kind == SlotKind::AwaitPubComp;
            if slot.kind != expected && !repeated {
                return Err(Error::ProtocolViolation);
            }
        }
        if let Some(now_ms) = release {
            self.queue_fixed(PUBREL, packet_id, now_ms)?;
        }
        let (Some(slot), Some(index)) = (found, index) else {
            #[cfg(feature = "log-events")]
            {
                self.unknown_acks = self.unknown_acks.wrapping_add(1);
            }
            return Ok(None);
        };
        let parts = self.memory.parts();
        let offset = slot.store_offset_or_filters as usize;
        if self.send_cursor == Some(offset) {
            // Keep the cursor on a live entry: reclaiming never passes one
            // (and a released entry needs no writing).
            self.send_cursor = self.ring.next_live(parts.store, offset);
        }
        let flags = self.ring.flags(parts.store, offset);
        if release.is_some() {
            if flags & WIRE == 0 {
                // Acknowledged before this connection resent it: the
                // PUBREL just queued stands for that resend.
                self.on_wire += 1;
            }
            self.ring
                .set_flags(parts.store, offset, flags | RELEASED | SENT | WIRE);
            if let Some(held) = parts.slots.get_mut(index) {
                held.kind = SlotKind::AwaitPubComp;
            }
            return Ok(Some(slot.kind));
        }
        if flags & WIRE != 0 {
            self.on_wire -= 1;
        }
        self.ring.free(parts.store, offset);
        if let Some(held) = parts.slots.get_mut(index) {
            *held = Slot::FREE;
        }
        self.queued -= 1;
        // The window has room again.
        self.pump();
        Ok(Some(slot.kind))
    }

    /// Finds a packet id no packet of any kind is using, and its slot.
    fn free_slot(&mut self) -> Result<(usize, u16), Error> {
        let slots = self.memory.parts().slots;
        if slots.is_empty() {
            return Err(Error::InflightFull);
        }
        for _ in 0..slots.len() {
            let id = self.next_packet_id;
            self.next_packet_id = if id == u16::MAX { 1 } else { id + 1 };
            let index = usize::from(id) % slots.len();
            if slots[index].kind == SlotKind::Free {
                return Ok((index, id));
            }
        }
        Err(Error::InflightFull)
    }

    /// The `len` bytes after the pending output, to write a packet into:
    /// [`Error::PacketTooLarge`] when it would not fit an empty send
    /// buffer, [`Error::SendBufferFull`] when it does not fit now. One
    /// check for both the room and the slice: no panic path after it.
    #[inline(always)]
    fn output_room(&mut self, len: usize) -> Result<&mut [u8], Error> {
        let tx = self.memory.parts().tx;
        if len > tx.len() {
            return Err(Error::PacketTooLarge);
        }
        tx.get_mut(self.out_end..self.out_end + len)
            .ok_or(Error::SendBufferFull)
    }

    /// Queues a fixed-size packet (see [`fixed_packet`]). Out of line: the
    /// acks of the receive path, PINGREQ and DISCONNECT share one copy of
    /// building and queueing their bytes.
    #[inline(never)]
    fn queue_fixed(&mut self, first_byte: u8, packet_id: u16, now_ms: Millis) -> Result<(), Error> {
        let (bytes, len) = fixed_packet(first_byte, packet_id);
        // Written a byte at a time from a register: no copy of the packet
        // in the frame and no `memcpy` call for 2 or 4 bytes.
        let mut word = u32::from_le_bytes(bytes);
        for to in self.output_room(len)? {
            *to = word as u8;
            word >>= 8;
        }
        self.out_end += len;
        self.last_sent_ms = now_ms;
        Ok(())
    }

    /// Encodes `packet` at the end of the pending output. `dyn`: one copy
    /// of the sizing and writing serves every packet type a client sends.
    // The send time set here, outside `encode_out`: that frame, under every
    // packet's encoder, then holds one value fewer.
    #[inline(always)]
    fn queue(&mut self, packet: &dyn Encode, now_ms: Millis) -> Result<(), Error> {
        self.encode_out(packet, None)?;
        self.last_sent_ms = now_ms;
        Ok(())
    }

    /// With `stored` (a PUBLISH's packet id, 0 for QoS 0, and where to
    /// put the entry's offset) into a new outbox entry instead, which
    /// must fit an empty send buffer too. One sizing and one write for
    /// both: the outbox path had a copy of its own.
    #[inline(never)]
    fn encode_out(
        &mut self,
        packet: &dyn Encode,
        stored: Option<(u16, &mut usize)>,
    ) -> Result<(), Error> {
        let size = codec::sized(packet)?;
        let len = size.1;
        let parts = self.memory.parts();
        if len > parts.tx.len() {
            return Err(Error::PacketTooLarge);
        }
        let (out, entry) = match stored {
            None => (
                parts
                    .tx
                    .get_mut(self.out_end..self.out_end + len)
                    .ok_or(Error::SendBufferFull)?,
                None,
            ),
            Some((packet_id, offset)) => {
                let (at, data) = self.ring.reserve(parts.store, packet_id, LIVE, len)?;
                (data, Some((at, offset)))
            }
        };
        // Nothing is kept of a failed write: the entry is added after it.
        codec::encode_sized(packet, size, out)?;
        match entry {
            None => self.out_end += len,
            Some((at, offset)) => *offset = self.ring.commit(at, len),
        }
        Ok(())
    }
}

// The fixed-size packets a client sends, written directly rather than
// through `Packet::encode`: on firmware the generic encoder's frame and a
// `Packet` value were the deepest part of the receive path's stack.
// `tests::raw_packets_match_the_codec` checks them against the codec.
const PUBACK: u8 = 0x40;
const PUBREC: u8 = 0x50;
const PUBREL: u8 = 0x62;
const PUBCOMP: u8 = 0x70;
const PINGREQ: u8 = 0xC0;
const DISCONNECT: u8 = 0xE0;

/// A fixed-size packet by its first byte, and its length: a PUBACK,
/// PUBREC, PUBREL or PUBCOMP for `packet_id` (4 bytes), or a PINGREQ or
/// DISCONNECT (0xC0 and up: a header alone, 2 bytes; `packet_id` unused).
// Built at run time, not a `const` array: LLVM would place `[0xC0, 0]`
// among the C strings, and that merged section (holding every
// `emq_err_str` message) cannot be dropped by the linker once anything in
// it is used.
fn fixed_packet(first_byte: u8, packet_id: u16) -> ([u8; 4], usize) {
    if first_byte >= PINGREQ {
        ([first_byte, 0, 0, 0], 2)
    } else {
        (ack(first_byte, packet_id), 4)
    }
}

/// A PUBACK, PUBREC, PUBREL or PUBCOMP (by first byte) for `packet_id`.
fn ack(first_byte: u8, packet_id: u16) -> [u8; 4] {
    let [high, low] = packet_id.to_be_bytes();
    [first_byte, 2, high, low]
}

/// A SUBSCRIBE or UNSUBSCRIBE, given its packet id once one is free.
trait Request {
    fn with_packet_id(&mut self, packet_id: u16) -> &dyn Encode;
}

impl Request for SubscribeRequest<'_> {
    fn with_packet_id(&mut self, packet_id: u16) -> &dyn Encode {
        self.packet_id = packet_id;
        self
    }
}

impl Request for UnsubscribeRequest<'_> {
    fn with_packet_id(&mut self, packet_id: u16) -> &dyn Encode {
        self.packet_id = packet_id;
        self
    }
}

/// The MQTT 3.1.1 PUBLISH a restore hands back, whole and nothing more.
fn restored(packet: &[u8]) -> Result<Publish<'_>, Error> {
    let decoded = crate::codec::decode(packet, crate::codec::MAX_PACKET_SIZE)
        .map_err(|_| Error::MalformedPacket)?;
    match decoded {
        crate::codec::Decoded::Packet {
            packet: Packet::Publish(publish),
            len,
        } if len == packet.len() => Ok(publish),
        _ => Err(Error::MalformedPacket),
    }
}

/// The busy slot holding `packet_id`, if any, to change: through
/// [`find_slot`]'s index without a panic path.
fn pending_slot(slots: &mut [Slot], packet_id: u16) -> Option<&mut Slot> {
    find_slot(slots, packet_id).and_then(|index| slots.get_mut(index))
}

fn find_slot(slots: &[Slot], packet_id: u16) -> Option<usize> {
    let index = usize::from(packet_id) % slots.len().max(1);
    let slot = slots.get(index)?;
    (slot.kind != SlotKind::Free && slot.packet_id == packet_id).then_some(index)
}

#[cfg(test)]
mod tests;
