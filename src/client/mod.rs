//! Drives a [`Session`] over a [`Transport`]: blocking connect until CONNACK,
//! publish/subscribe that return once written, and `poll_event` for a
//! caller-driven loop (read, dispatch, keepalive), like Paho's `MQTTYield`.
//!
//! Reads are buffered: one read may carry many packets, and packets are
//! decoded in place in the receive buffer. Events are returned as owned
//! values whose topic and payload are [`Span`]s into that buffer, valid until
//! the next call that reads; so no borrow of the client outlives the call and
//! a C callback may call back into the same client.

pub mod backoff;
pub mod log;
pub mod reconnect;
pub mod subscriptions;
pub mod supervisor;
#[cfg(feature = "mqtt5")]
mod v5;
#[cfg(feature = "mqtt5")]
pub use v5::ServerDisconnect;

use crate::codec::{
    decode_from_server, frame, publish_head, ConnectReturnCode, Decoded, Packet as Wire, Publish,
    PublishHead, QoS, SubscribeTopic, TopicList,
};
use crate::session::{ConfigSource, ConnectOptions, Event, Memory, Session, State};
use crate::time::{self, Millis};
use crate::transport::{Clock, Transport};
use crate::Error;

/// `Client::with_room`'s retry written in place: runs `$attempt` (a
/// session call) and, when the send buffer was full, writes it out and
/// runs it once more; its value is the attempt's, its error returned
/// with `?`. For publish and SUBSCRIBE/UNSUBSCRIBE,
/// where `with_room`'s `dyn` closure and `u16` result cost more than this
/// loop (and the session's call is then inlined into its caller).
/// DISCONNECT has a loop of its own (see `send_disconnect`).
macro_rules! retry_when_full {
    ($client:expr, $attempt:expr) => {{
        let mut retried = false;
        loop {
            match $attempt {
                Err(Error::SendBufferFull) if !retried => {
                    $client.flush_or_drop()?;
                    retried = true;
                }
                other => break other?,
            }
        }
    }};
}

/// Queues a request in the session at a time; returns its packet id (0
/// when it has none).
type SessionOp<'a, M> = dyn FnMut(&mut Session<M>, Millis) -> Result<u16, Error> + 'a;

/// A range of bytes in the client's receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub len: usize,
}

/// What [`Client::poll_event`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientEvent {
    /// CONNACK accepted a connection started with
    /// [`Client::start_connect`]; resent messages have been written.
    Connected { session_present: bool },
    /// A connection started with [`Client::start_connect`] failed: refused
    /// ([`Error::ConnectionRefused`]), lost, or no CONNACK in time. The
    /// transport has been closed.
    ConnectFailed(Error),
    /// A message arrived. Topic and payload lie in the receive buffer.
    Message {
        topic: Span,
        payload: Span,
        qos: QoS,
        retain: bool,
        dup: bool,
        packet_id: u16,
        /// MQTT 5: the PUBLISH's properties, validated, in the receive
        /// buffer (read them with [`Client::properties`]); empty over 3.1.1.
        #[cfg(feature = "mqtt5")]
        properties: Span,
    },
    /// A message larger than the receive buffer. It was read through
    /// without being buffered and acknowledged like any other (a QoS 2
    /// message is reported once); the connection stays up. `topic` (empty
    /// when it did not fit either) and `payload`, the start of the payload
    /// that fit, lie in the receive buffer; the whole payload's length is
    /// [`Client::overflow_len`]. (Not a field: it made this the largest
    /// variant, and the event 4 B larger in every receive loop's frame.)
    Overflow {
        topic: Span,
        payload: Span,
        qos: QoS,
        retain: bool,
        packet_id: u16,
    },
    /// A QoS 1 message was acknowledged (PUBACK) or a QoS 2 one completed (PUBCOMP).
    Published { packet_id: u16 },
    /// SUBACK: granted QoS per filter (0x80 refused), in the receive buffer.
    Subscribed { packet_id: u16, return_codes: Span },
    /// UNSUBACK.
    Unsubscribed { packet_id: u16 },
    /// The broker has a QoS 2 message (its first PUBREC); `Published`
    /// follows at PUBCOMP.
    #[cfg(feature = "ack-events")]
    Received { packet_id: u16 },
    /// PINGRESP: the broker answered a keepalive ping.
    #[cfg(feature = "ack-events")]
    Pong,
    /// MQTT 5: a QoS 1/2 message got a PUBACK or PUBREC with a failure
    /// reason code (0x80 and above); it is done, not delivered.
    #[cfg(feature = "mqtt5")]
    PublishFailed { packet_id: u16, reason: u8 },
    /// MQTT 5 UNSUBACK: a reason code per filter, in the receive buffer.
    #[cfg(feature = "mqtt5")]
    UnsubscribedCodes { packet_id: u16, reason_codes: Span },
    /// MQTT 5 AUTH from the server: 0x18 Continue authentication (answer
    /// with [`Client::auth`]; while connecting this comes before
    /// `Connected`, so drive such a connect with [`Client::start_connect`]
    /// and [`Client::poll_event`]) or 0x00 Success of a re-authentication.
    /// Its properties (method, data) are [`Client::received_properties`].
    #[cfg(feature = "mqtt5")]
    Auth { reason: u8 },
    /// The connection is gone (keepalive timeout, I/O error, protocol
    /// violation, peer closed); the transport has been closed.
    ConnectionLost(Error),
}

/// The outcome of a successful connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connected {
    pub session_present: bool,
}

/// An MQTT client over any transport, in memory chosen by the caller.
pub struct Client<M: Memory, T: Transport, C: Clock, R: AsRef<[u8]> + AsMut<[u8]>> {
    session: Session<M>,
    transport: Option<T>,
    clock: C,
    rx: R,
    rx_start: usize,
    rx_end: usize,
    /// The command timeout, or nothing when the session's settings have it
    /// (firmware reads it from the caller's options).
    command_timeout: <M::Config as ConfigSource>::Timeout,
    /// Why a write closed the connection inside publish/subscribe, not yet
    /// reported as [`ClientEvent::ConnectionLost`].
    unreported_loss: Option<Error>,
    /// Bytes of an oversized message still to be read through (with
    /// `long_topic`: up to its packet id).
    skip: usize,
    /// An oversized message whose topic did not fit either, being read
    /// through to its packet id.
    long_topic: Option<LongTopic>,
    /// Counts closed connections, so input read for one that is gone is
    /// dropped (see [`Client::input_arrived`]).
    connection: u16,
    /// MQTT 5: the server's DISCONNECT that ended the last connection.
    #[cfg(feature = "mqtt5")]
    server_disconnect: Option<v5::ServerDisconnect>,
    /// MQTT 5: the properties of the packet behind the latest event, in
    /// the receive buffer.
    #[cfg(feature = "mqtt5")]
    received_properties: Span,
    /// MQTT 5: the topic alias tables, in the receive buffer's tail.
    #[cfg(feature = "mqtt5")]
    aliases: v5::Aliases,
}

/// Where a driver may read received bytes while not holding the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputWindow {
    /// Offset in the receive buffer.
    pub start: usize,
    /// Bytes free from there.
    pub len: usize,
    /// The connection it belongs to.
    connection: u16,
}

/// A PUBLISH larger than the receive buffer whose topic does not fit in it:
/// its flags (the first byte's low 4 bits) in the top 4 bits, and 1 + its
/// payload bytes after the packet id (under 2^28 - 1: the remaining length
/// is at most 2^28 - 1 and holds the topic's length field too) in the low
/// 28 bits, never 0. One word: `Option<LongTopic>` takes 4 bytes, not 8.
#[derive(Debug, Clone, Copy)]
struct LongTopic(core::num::NonZeroU32);

impl LongTopic {
    const LEN_MASK: u32 = 0x0FFF_FFFF;

    fn new(first_byte: u8, payload_len: usize) -> Option<LongTopic> {
        let len = (payload_len as u32).wrapping_add(1) & Self::LEN_MASK;
        core::num::NonZeroU32::new(u32::from(first_byte & 0x0F) << 28 | len).map(LongTopic)
    }

    /// The first byte's flags (DUP, QoS, RETAIN).
    fn flags(self) -> u8 {
        (self.0.get() >> 28) as u8
    }

    /// Payload bytes after the packet id.
    fn payload_len(self) -> usize {
        ((self.0.get() & Self::LEN_MASK) as usize).wrapping_sub(1)
    }
}

/// Writes all pending output, continuing resends as room frees up.
fn flush<M: Memory, T: Transport, C: Clock>(
    session: &mut Session<M>,
    transport: &mut T,
    clock: &mut C,
    timeout_ms: u32,
) -> Result<(), Error> {
    // First without waiting and without the clock; the deadline runs from
    // the end of that write. One loop: the transport's write (inlined)
    // once in the code.
    let mut deadline = None;
    loop {
        // Found once a turn: for the test and the write.
        let pending = session.pending_output();
        if pending.is_empty() {
            return Ok(());
        }
        let wait = match deadline {
            None => 0,
            Some(deadline) => match time::until(clock.now_ms(), deadline) {
                0 => return Err(Error::Timeout),
                wait => wait,
            },
        };
        let written = transport.write(pending, wait)?;
        session.consume_output(written);
        deadline.get_or_insert_with(|| time::after(clock.now_ms(), timeout_ms));
    }
}

fn span_in(base: &[u8], part: &[u8]) -> Span {
    Span {
        start: part.as_ptr() as usize - base.as_ptr() as usize,
        len: part.len(),
    }
}

impl<M: Memory, T: Transport, C: Clock, R: AsRef<[u8]> + AsMut<[u8]>> Client<M, T, C, R> {
    /// A disconnected client. `rx` bounds the largest packet it can receive;
    /// `command_timeout_ms` bounds connect and every write.
    // Inlined so firmware can construct it in place (see Session::new).
    #[inline(always)]
    pub fn new(session: Session<M>, clock: C, rx: R, command_timeout_ms: u32) -> Self {
        Client {
            session,
            transport: None,
            clock,
            rx,
            rx_start: 0,
            rx_end: 0,
            command_timeout: M::Config::keep_timeout(command_timeout_ms),
            unreported_loss: None,
            skip: 0,
            long_topic: None,
            connection: 0,
            #[cfg(feature = "mqtt5")]
            server_disconnect: None,
            #[cfg(feature = "mqtt5")]
            received_properties: Span::default(),
            #[cfg(feature = "mqtt5")]
            aliases: v5::Aliases::NONE,
        }
    }

    /// True while `packet_id` still awaits its acknowledgement.
    pub fn is_pending(&mut self, packet_id: u16) -> bool {
        self.session.is_pending(packet_id)
    }

    /// The protocol state machine.
    pub fn session(&self) -> &Session<M> {
        &self.session
    }

    /// Drops a sent, unacknowledged QoS 1/2 message while disconnected
    /// (see [`Session::drop_next_sent`]).
    pub fn drop_next_sent(&mut self) -> Option<u16> {
        self.session.drop_next_sent()
    }

    /// Where the connection stands.
    pub fn state(&self) -> State {
        self.session.state()
    }

    /// True when CONNACK accepted the connection and it is still up.
    pub fn is_connected(&self) -> bool {
        self.session.state() == State::Connected
    }

    /// The open transport, if any.
    pub fn transport(&self) -> Option<&T> {
        self.transport.as_ref()
    }

    /// True when received bytes wait in the receive buffer (a partial
    /// packet, or whole packets not yet handled).
    pub fn has_buffered_input(&self) -> bool {
        self.rx_end > self.rx_start
    }

    /// When the session next needs a turn (a ping to send, a PINGRESP
    /// overdue), on the client's clock.
    pub fn next_deadline(&self) -> Option<Millis> {
        match (self.session.next_deadline(), self.connack_deadline()) {
            (Some(a), Some(b)) => Some(time::earlier(a, b)),
            (a, b) => a.or(b),
        }
    }

    /// The current time of the client's clock.
    pub fn now_ms(&mut self) -> Millis {
        self.clock.now_ms()
    }

    /// Bytes of the receive buffer that hold packets: all of it, less the
    /// topic alias tables of MQTT 5.
    fn rx_capacity(&self) -> usize {
        #[cfg(feature = "mqtt5")]
        return self.rx.as_ref().len() - self.aliases.reserved();
        #[cfg(not(feature = "mqtt5"))]
        self.rx.as_ref().len()
    }

    /// The bytes of a span from the last event.
    pub fn bytes(&self, span: Span) -> &[u8] {
        self.rx
            .as_ref()
            .get(span.start..span.start + span.len)
            .unwrap_or(&[])
    }

    /// The whole payload length of the message the last event, an
    /// [`ClientEvent::Overflow`] with this `payload`, reported: what fit
    /// plus what is read through next (valid, like the event's spans,
    /// until the next read of input).
    pub fn overflow_len(&self, payload: Span) -> usize {
        payload.len + self.skip
    }

    /// Puts a saved outbox entry back (see [`Session::restore`]).
    pub fn restore(&mut self, packet: &[u8]) -> Result<u16, Error> {
        self.session.restore(packet)
    }

    /// The stored PUBLISH of an unacknowledged message (see
    /// [`Session::stored_packet`]).
    pub fn stored_packet(&mut self, packet_id: u16) -> Option<&[u8]> {
        self.session.stored_packet(packet_id)
    }

    /// Bound on connect and on every write, in milliseconds.
    #[inline(always)]
    pub fn command_timeout_ms(&self) -> u32 {
        self.session.kept_config().timeout_ms(self.command_timeout)
    }

    /// Replaces what the session keeps of its settings (see
    /// [`Session::set_config`]).
    #[cfg(not(feature = "std"))]
    pub(crate) fn set_session_config(&mut self, config: M::Config) {
        self.session.set_config(config);
    }

    /// The protocol state machine, mutably (for what the C layer keeps in
    /// it; see [`Session::keep_while_disconnected`]).
    pub(crate) fn session_mut(&mut self) -> &mut Session<M> {
        &mut self.session
    }

    /// Sets the bound on connect and every write.
    pub fn set_command_timeout(&mut self, timeout_ms: u32) {
        self.command_timeout = M::Config::keep_timeout(timeout_ms);
    }

    /// Sends CONNECT over an open `transport` and waits (at most the command
    /// timeout) for CONNACK. A refusal is [`Error::ConnectionRefused`] with the
    /// broker's return code; the transport is closed on any failure.
    pub fn connect(
        &mut self,
        transport: T,
        options: &ConnectOptions<'_>,
    ) -> Result<Connected, Error> {
        self.start_connect(transport, options)?;
        // Bounded: the CONNACK deadline ends the wait with ConnectFailed.
        loop {
            match self.poll_event(self.command_timeout_ms())? {
                Some(ClientEvent::Connected { session_present }) => {
                    return Ok(Connected { session_present })
                }
                Some(ClientEvent::ConnectFailed(err)) => return Err(err),
                // Nothing else comes before CONNACK: the session refuses it.
                _ => {}
            }
        }
    }

    /// Starts a connection over an open `transport` without waiting:
    /// writes CONNECT and returns. [`poll_event`](Self::poll_event) then
    /// reports [`ClientEvent::Connected`], or [`ClientEvent::ConnectFailed`]
    /// (a refusal, a failure, or no CONNACK within the command timeout);
    /// the transport is closed on any failure.
    pub fn start_connect(
        &mut self,
        transport: T,
        options: &ConnectOptions<'_>,
    ) -> Result<(), Error> {
        self.queue_connect(transport, options)?;
        self.write_connect()
    }

    /// The first half of [`start_connect`](Self::start_connect): takes
    /// `transport` and puts CONNECT in the send buffer, nothing written
    /// yet; [`write_connect`](Self::write_connect) writes it. Apart so a
    /// caller that builds `options` in a frame of its own has dropped that
    /// frame before the transport's write runs.
    pub fn queue_connect(
        &mut self,
        transport: T,
        options: &ConnectOptions<'_>,
    ) -> Result<(), Error> {
        self.queue_connect_with(transport, |session, now| session.connect(options, now))
    }

    /// [`queue_connect`](Self::queue_connect) at MQTT 3.1.x from the packet
    /// itself (see [`Session::connect_packet`]).
    #[cfg(not(any(feature = "std", feature = "mqtt5")))]
    pub(crate) fn queue_connect_packet(
        &mut self,
        transport: T,
        connect: &crate::codec::Connect<'_>,
    ) -> Result<(), Error> {
        self.queue_connect_with(transport, |session, now| {
            session.connect_packet(connect, now)
        })
    }

    /// Takes `transport` and has `queue` put CONNECT in the send buffer.
    #[inline(always)]
    fn queue_connect_with(
        &mut self,
        transport: T,
        queue: impl FnOnce(&mut Session<M>, Millis) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if self.transport.is_some() || self.session.state() != State::Disconnected {
            let mut transport = transport;
            transport.close();
            return Err(Error::AlreadyConnected);
        }
        self.transport = Some(transport);
        self.rx_start = 0;
        self.rx_end = 0;
        #[cfg(feature = "mqtt5")]
        {
            self.received_properties = Span::default();
            self.aliases.forget(self.rx.as_mut());
        }
        let now = self.clock.now_ms();
        if let Err(err) = queue(&mut self.session, now) {
            self.drop_connection();
            return Err(err);
        }
        Ok(())
    }

    /// The second half of [`start_connect`](Self::start_connect): writes
    /// the CONNECT [`queue_connect`](Self::queue_connect) queued.
    // Inlined (into the C API's one connect path; its second, the polled
    // open of `emq_client_connect_start`, goes with that call), and no
    // `inspect_err`, which would be an out-of-line instance of its own.
    #[inline(always)]
    pub fn write_connect(&mut self) -> Result<(), Error> {
        let written = self.flush_output();
        if written.is_err() {
            self.drop_connection();
        }
        written
    }

    /// True while a connection waits for its CONNACK.
    pub fn is_connecting(&self) -> bool {
        self.session.connack_wait_since().is_some()
    }

    /// While a connection waits for CONNACK: when it gives up (a command
    /// timeout after CONNECT, or after the latest MQTT 5 AUTH step).
    fn connack_deadline(&self) -> Option<Millis> {
        // Read first: the two loads then need no branch between them.
        let timeout_ms = self.command_timeout_ms();
        let since = self.session.connack_wait_since()?;
        Some(time::after(since, timeout_ms))
    }

    /// Queues and writes a PUBLISH; returns its packet id (0 for QoS 0).
    /// Acknowledgements arrive later as [`ClientEvent::Published`].
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<u16, Error> {
        self.publish_with(topic, payload, qos, retain, Write::Now)
            .map(|(id, _)| id)
    }

    /// Queues a PUBLISH and writes it as `write` says; returns its packet
    /// id and whether it was left in the send buffer, for a driver that
    /// then owes a [`flush`](Self::flush): its network thread, or the end
    /// of the callback that published. A full send buffer is written out
    /// either way.
    pub fn publish_with(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        write: Write,
    ) -> Result<(u16, bool), Error> {
        let now = self.clock.now_ms();
        let busy = time::elapsed(now, self.session.last_sent_ms()) == 0;
        let id = retry_when_full!(self, self.session.publish(topic, payload, qos, retain, now));
        if self.transport.is_none() {
            // Accepted offline into the outbox: it goes out after CONNACK.
            return Ok((id, false));
        }
        if write == Write::Later || (write == Write::WhenBusy && busy) {
            return Ok((id, true));
        }
        match self.flush_or_drop() {
            // A stored QoS 1/2 message is the client's from here on: it is
            // resent after a reconnect, so the caller must not send it again.
            // The lost link is reported by the next poll.
            Err(_) if qos != QoS::AtMostOnce => Ok((id, false)),
            Err(err) => Err(err),
            Ok(()) => Ok((id, false)),
        }
    }

    /// Subscribes to one or more filters; returns the packet id. The
    /// granted QoS arrive as [`ClientEvent::Subscribed`].
    pub fn subscribe(&mut self, topics: &[SubscribeTopic<'_>]) -> Result<u16, Error> {
        self.request_filters(&topics, false)
    }

    /// Unsubscribes from one or more filters; returns the packet id.
    pub fn unsubscribe(&mut self, filters: &[&str]) -> Result<u16, Error> {
        self.request(&mut |session, now| session.unsubscribe(filters, now))
    }

    /// Subscribes to `topics`, or with `unsubscribe` unsubscribes from
    /// their filters (their QoS unused); returns the packet id. One path
    /// and the C API's list type for both requests (MQTT 5 builds
    /// unsubscribe through [`unsubscribe`](Self::unsubscribe)).
    pub(crate) fn request_filters(
        &mut self,
        topics: &dyn TopicList,
        unsubscribe: bool,
    ) -> Result<u16, Error> {
        let now = self.clock.now_ms();
        let id = retry_when_full!(self, self.session.request_filters(topics, unsubscribe, now));
        self.flush_or_drop()?;
        Ok(id)
    }

    /// Writes whatever output is pending (acknowledgements queued while
    /// handling the last events). A failed write closes the connection.
    pub fn flush(&mut self) -> Result<(), Error> {
        if self.transport.is_none() {
            return Ok(());
        }
        self.flush_or_drop()
    }

    /// Takes the reason a write inside publish, subscribe, unsubscribe or
    /// flush closed the connection, if it has not been reported yet.
    pub fn take_unreported_loss(&mut self) -> Option<Error> {
        self.unreported_loss.take()
    }

    /// Sends DISCONNECT (so the broker discards the will) and closes the
    /// transport. Unacknowledged QoS 1/2 messages stay in the store.
    pub fn disconnect(&mut self) -> Result<(), Error> {
        if self.transport.is_none() {
            return Err(Error::NotConnected);
        }
        let now = self.clock.now_ms();
        let result = self.send_disconnect(now);
        self.drop_connection();
        result
    }

    /// Queues DISCONNECT (retried as `retry_when_full!` does) and writes
    /// it. The loop spelled out: with the write in its `Ok` arm it is
    /// 26 B smaller than the macro followed by the write.
    #[inline(always)]
    fn send_disconnect(&mut self, now: Millis) -> Result<(), Error> {
        let mut retried = false;
        loop {
            match self.session.disconnect(now) {
                Err(Error::SendBufferFull) if !retried => {
                    self.flush_or_drop()?;
                    retried = true;
                }
                Err(err) => return Err(err),
                Ok(()) => return self.flush_output(),
            }
        }
    }

    /// Closes the transport without DISCONNECT, as a lost link would: the
    /// broker publishes the will.
    pub fn abort(&mut self) {
        self.drop_connection();
    }

    /// One turn of the loop: writes pending output, sends keepalive pings,
    /// reads and returns the next event, waiting at most `timeout_ms` for one.
    /// `Ok(None)`: nothing happened in time. The spans of a returned event
    /// stay valid until the next call that reads.
    // Out of line: inlined into a driver's loop, its frame (the decoder's)
    // would stay under every callback that loop makes.
    #[inline(never)]
    pub fn poll_event(&mut self, timeout_ms: u32) -> Result<Option<ClientEvent>, Error> {
        self.poll_event_inlined(timeout_ms)
    }

    /// [`poll_event`](Self::poll_event) for a caller that is itself one
    /// out-of-line turn (the supervisor's): one frame, not two.
    #[inline(always)]
    pub(crate) fn poll_event_inlined(
        &mut self,
        timeout_ms: u32,
    ) -> Result<Option<ClientEvent>, Error> {
        if !self.is_connecting() {
            if let Some(reason) = self.unreported_loss.take() {
                return Ok(Some(ClientEvent::ConnectionLost(reason)));
            }
        }
        // Stored messages the server's CONNACK limits refused, one per turn.
        #[cfg(feature = "mqtt5")]
        if let Some((packet_id, reason)) = self.session.take_refused() {
            return Ok(Some(ClientEvent::PublishFailed { packet_id, reason }));
        }
        if self.transport.is_none() {
            return Err(Error::NotConnected);
        }
        // Every failure below closes the connection: one path reports it.
        self.poll_connected(timeout_ms)
            .or_else(|err| Ok(Some(self.lose_connection(err))))
    }

    /// [`poll_event`](Self::poll_event) on an open transport; an error is
    /// why the connection is lost.
    fn poll_connected(&mut self, timeout_ms: u32) -> Result<Option<ClientEvent>, Error> {
        let deadline = time::after(self.clock.now_ms(), timeout_ms);
        let mut read_once = false;
        loop {
            // Buffered packets first: their answers collect in the send
            // buffer and go out together before the next read.
            match self.next_buffered()? {
                Some(Packet::Event(event)) => return Ok(Some(event)),
                Some(Packet::ConnAck {
                    session_present,
                    code,
                }) => return self.connack(session_present, code).map(Some),
                None => {}
            }
            let now = self.clock.now_ms();
            if self
                .connack_deadline()
                .is_some_and(|at| time::reached(now, at))
            {
                return Err(Error::Timeout);
            }
            // Past the deadline nothing more is read, so a stream of
            // packets that make no event cannot hold poll beyond it.
            if read_once && time::reached(now, deadline) {
                self.flush_output()?;
                return Ok(None);
            }
            // A lost link is an error here (KeepaliveTimeout), like any other.
            let timer = self.session.keepalive(now)?;
            self.flush_output()?;
            // The session's next turn (none while connecting) or the
            // CONNACK deadline (only while connecting), if before `deadline`.
            let until = match timer.or(self.connack_deadline()) {
                Some(timer) => time::earlier(timer, deadline),
                None => deadline,
            };
            self.fill_rx(time::until(now, until))?;
            read_once = true;
        }
    }

    /// Queues a request with `op` and writes it; returns its packet id.
    // Inlined: a frame of its own lies under the encoder's, and that path
    // is the deepest of the firmwares (16 B more stack).
    #[inline(always)]
    fn request(&mut self, op: &mut SessionOp<'_, M>) -> Result<u16, Error> {
        let now = self.clock.now_ms();
        let id = self.with_room(now, op)?;
        self.flush_or_drop()?;
        Ok(id)
    }

    /// Runs `op` at `now`; when the send buffer is full, writes it out and
    /// tries once more. `dyn` and one result type: one copy serves every
    /// request.
    fn with_room(&mut self, now: Millis, op: &mut SessionOp<'_, M>) -> Result<u16, Error> {
        // The first result handed back as it came, and the retry as a
        // tail call: a `match` with `other => other` rebuilt the result
        // byte by byte.
        let first = op(&mut self.session, now);
        if first != Err(Error::SendBufferFull) {
            return first;
        }
        self.flush_or_drop()?;
        op(&mut self.session, now)
    }

    fn flush_output(&mut self) -> Result<(), Error> {
        let timeout_ms = self.command_timeout_ms();
        let transport = self.transport.as_mut().ok_or(Error::NotConnected)?;
        flush(&mut self.session, transport, &mut self.clock, timeout_ms)
    }

    /// Flushes; a failed write leaves a half-written stream, so the
    /// connection is closed.
    fn flush_or_drop(&mut self) -> Result<(), Error> {
        self.flush_output().inspect_err(|&err| {
            self.drop_connection();
            self.unreported_loss = Some(err);
        })
    }

    fn drop_connection(&mut self) {
        self.connection = self.connection.wrapping_add(1);
        if let Some(mut transport) = self.transport.take() {
            transport.close();
        }
        self.session.connection_closed();
        self.rx_start = 0;
        self.rx_end = 0;
        self.skip = 0;
        self.long_topic = None;
    }

    /// The event for a lost connection: a failed connect while CONNACK
    /// was awaited.
    fn lose_connection(&mut self, reason: Error) -> ClientEvent {
        let connecting = self.is_connecting();
        self.drop_connection();
        if connecting {
            ClientEvent::ConnectFailed(reason)
        } else {
            ClientEvent::ConnectionLost(reason)
        }
    }

    /// A CONNACK arrived for the connection awaiting it: its outcome (an
    /// error fails it). The session refused any other CONNACK (a protocol
    /// violation, or not connected) before it came here.
    fn connack(
        &mut self,
        session_present: bool,
        code: ConnectReturnCode,
    ) -> Result<ClientEvent, Error> {
        debug_assert!(self.is_connecting());
        if code != ConnectReturnCode::Accepted {
            return Err(Error::ConnectionRefused(code as u8));
        }
        // Resent messages from an earlier connection go out now; still
        // connecting, so a failure is ConnectFailed.
        self.flush_output()?;
        self.session.connack_handled();
        Ok(ClientEvent::Connected { session_present })
    }

    /// Reads once into the free end of the receive buffer, waiting at most
    /// `wait_ms`; returns the bytes read.
    fn fill_rx(&mut self, wait_ms: u32) -> Result<usize, Error> {
        let window = self.free_input()?;
        let transport = self.transport.as_mut().ok_or(Error::NotConnected)?;
        // Always in the buffer (its free end): no panic path.
        let Some(room) = self
            .rx
            .as_mut()
            .get_mut(window.start..window.start + window.len)
        else {
            return Err(Error::PacketTooLarge);
        };
        // A transport claiming more than it was given must not move the
        // end past the buffer.
        let read = transport.read(room, wait_ms)?.min(window.len);
        self.rx_end += read;
        Ok(read)
    }

    /// Moves unread bytes to the front and returns the free end of the
    /// receive buffer.
    fn free_input(&mut self) -> Result<InputWindow, Error> {
        if self.rx_start > 0 {
            // Always in the buffer and `rx_start <= rx_end`: no panic path.
            if let Some(unread) = self.rx.as_mut().get_mut(..self.rx_end) {
                if self.rx_start <= unread.len() {
                    unread.copy_within(self.rx_start.., 0);
                }
            }
            self.rx_end -= self.rx_start;
            self.rx_start = 0;
        }
        let capacity = self.rx_capacity();
        if self.transport.is_none() {
            return Err(Error::NotConnected);
        }
        if self.rx_end == capacity {
            // A buffer full of the start of a packet too large for it was
            // handled before this read: refused, or read through (PUBLISH).
            return Err(Error::PacketTooLarge);
        }
        Ok(InputWindow {
            start: self.rx_end,
            len: capacity - self.rx_end,
            connection: self.connection,
        })
    }

    /// For a driver that waits for input without holding the client (so
    /// other tasks may publish meanwhile): the free end of the receive
    /// buffer to read into, `rx[start..start + len]`. Nothing else writes
    /// there until [`input_arrived`](Self::input_arrived). `None` when not
    /// connected or when [`poll_event`](Self::poll_event) must run first.
    pub fn input_window(&mut self) -> Option<InputWindow> {
        self.free_input().ok()
    }

    /// Hands in what a read into `window` gave. Bytes for a connection that
    /// has been closed meanwhile are dropped; a failed read closes the
    /// connection, reported as the returned event.
    pub fn input_arrived(
        &mut self,
        window: InputWindow,
        read: Result<usize, Error>,
    ) -> Option<ClientEvent> {
        if window.connection != self.connection || self.transport.is_none() {
            return None;
        }
        match read {
            Ok(read) => {
                self.rx_end = (window.start + read.min(window.len)).min(self.rx_capacity());
                None
            }
            Err(err) => Some(self.lose_connection(err)),
        }
    }

    fn next_buffered(&mut self) -> Result<Option<Packet>, Error> {
        #[cfg(feature = "mqtt5")]
        if self.session.is_v5() {
            return self.next_buffered_v5();
        }
        loop {
            if self.rx_end == self.rx_start {
                return Ok(None);
            }
            if self.skip > 0 {
                // The rest of an oversized message: dropped as it arrives.
                let n = self.skip.min(self.rx_end - self.rx_start);
                self.skip -= n;
                self.rx_start += n;
                continue;
            }
            let base = self.rx.as_ref();
            // Always in the buffer: no panic path.
            let Some(buffered) = base.get(self.rx_start..self.rx_end) else {
                return Ok(None);
            };
            // What the bytes hold: a packet (and how many bytes it took),
            // or, for a message too large for the buffer, its head and
            // what remains of it to read through. No
            // decoding while the topic of one is being read through.
            let decoded = self
                .long_topic
                .is_none()
                .then(|| decode_from_server(buffered, base.len()));
            let (packet, len, overflow) = match decoded {
                Some(Ok(Decoded::Packet { packet, len })) => (packet, len, None),
                Some(Ok(Decoded::Incomplete { .. })) => return Ok(None),
                Some(Err(err))
                    if !(matches!(err, Error::PacketTooLarge) && buffered[0] >> 4 == 3) =>
                {
                    return Err(err)
                }
                _ => match oversized(buffered, base.len(), self.long_topic)? {
                    Oversized::Wait => return Ok(None),
                    Oversized::ToId { skip, long } => {
                        self.long_topic = Some(long);
                        self.skip = skip;
                        continue;
                    }
                    Oversized::Head { publish, len, rest } => {
                        (Wire::Publish(publish), len, Some(rest))
                    }
                },
            };
            let now = self.clock.now_ms();
            let event = match self.session.handle_packet(&packet, now) {
                Err(Error::SendBufferFull) => {
                    // Answers (PUBACK, ...) did not fit: write them and
                    // hand in the same packet again.
                    self.flush_output()?;
                    continue;
                }
                other => other?,
            };
            self.rx_start += len;
            if let Some(rest) = overflow {
                self.skip = rest;
                self.long_topic = None;
            }
            // The packet is done with before its event is made: fewer
            // values live across the mapping.
            let Some(event) = event else {
                continue;
            };
            return Ok(Some(match event {
                Event::Connected {
                    session_present,
                    return_code,
                } => Packet::ConnAck {
                    session_present,
                    code: return_code,
                },
                Event::Message(m) => {
                    let topic = span_in(base, m.topic.as_bytes());
                    let payload = span_in(base, m.payload);
                    Packet::Event(if overflow.is_some() {
                        ClientEvent::Overflow {
                            topic,
                            payload,
                            qos: m.qos,
                            retain: m.retain,
                            packet_id: m.packet_id,
                        }
                    } else {
                        ClientEvent::Message {
                            topic,
                            payload,
                            qos: m.qos,
                            retain: m.retain,
                            dup: m.dup,
                            packet_id: m.packet_id,
                            #[cfg(feature = "mqtt5")]
                            properties: Span::default(),
                        }
                    })
                }
                Event::Published { packet_id } => {
                    Packet::Event(ClientEvent::Published { packet_id })
                }
                Event::Subscribed {
                    packet_id,
                    return_codes,
                } => Packet::Event(ClientEvent::Subscribed {
                    packet_id,
                    return_codes: span_in(base, return_codes),
                }),
                Event::Unsubscribed { packet_id } => {
                    Packet::Event(ClientEvent::Unsubscribed { packet_id })
                }
                #[cfg(feature = "ack-events")]
                Event::Received { packet_id } => Packet::Event(ClientEvent::Received { packet_id }),
                #[cfg(feature = "ack-events")]
                Event::Pong => Packet::Event(ClientEvent::Pong),
                Event::ConnectionLost(err) => Packet::Event(ClientEvent::ConnectionLost(err)),
                #[cfg(feature = "mqtt5")]
                Event::PublishFailed { packet_id, reason } => {
                    Packet::Event(ClientEvent::PublishFailed { packet_id, reason })
                }
                #[cfg(feature = "mqtt5")]
                Event::UnsubscribedCodes {
                    packet_id,
                    reason_codes,
                } => Packet::Event(ClientEvent::UnsubscribedCodes {
                    packet_id,
                    reason_codes: span_in(base, reason_codes),
                }),
                #[cfg(feature = "mqtt5")]
                Event::Auth { reason } => Packet::Event(ClientEvent::Auth { reason }),
            }));
        }
    }
}

/// When [`Client::publish_with`] writes what it queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// At once.
    Now,
    /// Not now: the caller flushes soon (after the callback it is in).
    Later,
    /// At once on an idle connection; left for the caller's flush when
    /// something else was queued within the same millisecond (a burst).
    WhenBusy,
}

/// What the start of the receive buffer holds of a message too large for it.
enum Oversized<'a> {
    /// More bytes are needed first.
    Wait,
    /// Read `skip` bytes (up to the end of a topic that does not fit)
    /// through, then the packet id.
    ToId { skip: usize, long: LongTopic },
    /// The message's head, to hand to the session: it takes `len` bytes of
    /// the buffer, `rest` more bytes of the packet are to be read through.
    Head {
        publish: Publish<'a>,
        len: usize,
        rest: usize,
    },
}

/// Decodes what `buffered` (the start of the receive buffer, `capacity`
/// bytes) holds of an oversized PUBLISH; `long`: its topic was read through.
// Inlined: out of line, its 36-byte result was a slot of the receive
// loop's frame of its own; inlined, the loop's frame is 24 B smaller.
#[inline(always)]
fn oversized(
    buffered: &[u8],
    capacity: usize,
    long: Option<LongTopic>,
) -> Result<Oversized<'_>, Error> {
    if let Some(long) = long {
        // The topic has been read through: the packet id is next.
        let first_byte = long.flags();
        let qos = QoS::from_u8((first_byte >> 1) & 3)?;
        let id_len = if qos == QoS::AtMostOnce { 0 } else { 2 };
        let Some(id) = buffered.get(..id_len) else {
            return Ok(Oversized::Wait);
        };
        let packet_id = match id {
            [high, low] => match u16::from_be_bytes([*high, *low]) {
                0 => return Err(Error::ZeroPacketId),
                id => id,
            },
            _ => 0,
        };
        // Empty, in the buffer (its spans are offsets there). `core`'s
        // check of an empty slice folds away: no call, and no validator
        // linked (the codec's, out of line, kept this path's values in the
        // frame across the call: 60 B more code).
        let nothing = &buffered[id_len..id_len];
        return Ok(Oversized::Head {
            publish: Publish {
                dup: first_byte & 0x08 != 0,
                qos,
                retain: first_byte & 0x01 != 0,
                topic: core::str::from_utf8(nothing).unwrap_or_default(),
                packet_id,
                payload: nothing,
            },
            len: id_len,
            rest: long.payload_len(),
        });
    }
    // The largest start of the payload is reported, and the head is decoded
    // once: wait until the buffer is full of the message.
    if buffered.len() < capacity {
        return Ok(Oversized::Wait);
    }
    let Some(header) = frame(buffered, usize::MAX)? else {
        return Ok(Oversized::Wait);
    };
    match publish_head(buffered, header, capacity)? {
        // Even a full buffer does not hold the topic's length (a buffer of
        // a few bytes): the framing check refuses the packet at the next read.
        PublishHead::Incomplete => Ok(Oversized::Wait),
        PublishHead::TopicTooLong { id_at } => {
            // QoS 1 and 2 carry a packet id.
            let id_len = if header.first_byte & 0x06 != 0 { 2 } else { 0 };
            // Never `None` (the length part is never 0).
            let long = LongTopic::new(header.first_byte, header.total_len() - id_at - id_len)
                .ok_or(Error::InvalidFlags)?;
            Ok(Oversized::ToId { skip: id_at, long })
        }
        // What fit of the payload runs to the buffer's end, so what fit
        // plus `rest` is its whole length (see `Client::overflow_len`).
        PublishHead::Decoded { publish, .. } => Ok(Oversized::Head {
            publish,
            len: buffered.len(),
            rest: header.total_len() - buffered.len(),
        }),
    }
}

/// What handling one buffered packet produced.
enum Packet {
    ConnAck {
        session_present: bool,
        code: ConnectReturnCode,
    },
    Event(ClientEvent),
}

#[cfg(all(test, feature = "std"))]
mod tests;
