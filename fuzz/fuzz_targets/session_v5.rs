//! The session on MQTT 5 (`Session::select_v5`), driven as the client
//! drives it (src/client/v5.rs, src/client/mod.rs): the server's bytes go
//! through `v5::decode_from_server` and `handle_packet_v5`, a malformed or
//! protocol-violating packet is answered with `disconnect_with_reason` and
//! the connection closed, a full send buffer is flushed and the packet
//! handed in again; Topic Aliases the server sets are mapped back as the
//! client does; `take_refused` is drained after each server packet and at
//! each step (as `poll_event` does before anything else), each refusal
//! being a PublishFailed. The input is two bytes of connection settings
//! (what CONNECT announces, an Authentication Method among them), then
//! operations: raw server bytes, server packets built for what is pending
//! (acks with reason codes, CONNACKs with limits, PUBLISHes, AUTH...),
//! publish_v5 at QoS 0-2 with properties, subscribe_v5, unsubscribe_v5,
//! the 3.1.1 calls, auth_v5, time passing, disconnect_v5, a dropped
//! connection and a slow network (partial writes). A server's AUTH 0x18
//! is answered with `auth_v5(0x18)`, as an application does.
//!
//! A model of the application's side is kept: every message the session
//! stored (QoS 1/2 until completed, QoS 0 queued offline until written, in
//! the order stored, with what the server's limits judge: QoS, RETAIN,
//! size, Topic Alias), the SUBSCRIBE/UNSUBSCRIBE requests of the
//! connection, the acknowledgements it owes the server, the AUTH exchange.
//! Checked on the way:
//! - no panic; every call refused leaves nothing behind (outbox count,
//!   in-flight count, output, send cursor), a refused `disconnect_v5`
//!   included;
//! - every event answers the packet handed in and the model: each message
//!   completes once, as Published or PublishFailed, from the right ack;
//!   SUBACK/UNSUBACK codes per filter requested; an ack for a message in
//!   flight is never dropped as unknown; AUTH is taken exactly when an
//!   Authentication Method was announced and the exchange expects it;
//! - at an accepting CONNACK, exactly the stored messages that break its
//!   limits (QoS above Maximum QoS, RETAIN without Retain Available, larger
//!   than Maximum Packet Size, Topic Alias above Topic Alias Maximum; a
//!   released QoS 2 message only owes its PUBREL) come out of
//!   `take_refused`, in the order stored, each with a reason code (0x9B,
//!   0x9A, 0x95, 0x94) for a limit it breaks, and they leave the outbox
//!   unsent; nothing else is refused;
//! - the outbox: in flight <= queued, queued is the model's count exactly
//!   (QoS 1/2 messages plus QoS 0 ones queued offline), every message in
//!   the model is pending and its stored copy is its PUBLISH; with the
//!   network keeping up, output drains and nothing waits except for the
//!   window;
//! - everything written is well-formed MQTT 5 a client may send: one
//!   CONNECT first announcing what was chosen, then PUBLISHes that are the
//!   stored copies (DUP only on a resumed session, and always then for a
//!   message written before), acks only where owed, SUBSCRIBE/UNSUBSCRIBE
//!   for the requests made, AUTH for the auth_v5 calls taken (with the
//!   Authentication Method of CONNECT), PINGREQ only with a keepalive,
//!   DISCONNECT last with a reason a client may send;
//! - the server's limits from its CONNACK, with no exception: at most
//!   Receive Maximum (and the window) QoS 1/2 PUBLISHes unacknowledged on
//!   the connection, no QoS above Maximum QoS, no RETAIN without Retain
//!   Available, no packet above Maximum Packet Size, no Topic Alias above
//!   Topic Alias Maximum, and no stored message sent as an alias alone.
//!
//! `EMQ_FUZZ_TRACE=1` prints each step (to triage a crash).
#![no_main]

use embermq::codec::v5::{
    decode_from_server, decode_varint, frame, Decoded, Encode, Properties, Property,
    PropertyContext, PropertyId, PropertyWriter, Publish, ReasonCode, ReasonPacket, RetainHandling,
    Sender, ServerPacket, SubscribeTopic, SubscriptionOptions, VARINT_MAX,
};
use embermq::codec::{ConnectReturnCode, QoS};
use embermq::session::{
    disconnect_reason, ArrayMemory, ConnectOptions, ConnectV5, Event, Session, SessionConfig,
    State, ASSIGNED_ID_CAPACITY,
};
use embermq::Error;
use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

type FuzzSession = Session<ArrayMemory<12, 2048, 8, 1024>>;

/// The configured in-flight window.
const WINDOW: u16 = 8;
/// Operations per run, so every run ends quickly.
const MAX_OPS: usize = 400;

/// `EMQ_FUZZ_TRACE=1` prints what each run does.
fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("EMQ_FUZZ_TRACE").is_some())
}

macro_rules! trace {
    ($($arg:tt)*) => {
        if tracing() {
            eprintln!($($arg)*);
        }
    };
}

/// The fuzz input, read a byte at a time (0 once it is used up).
struct Input<'a> {
    data: &'a [u8],
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn take(&mut self, len: usize) -> &[u8] {
        let (taken, rest) = self.data.split_at(len.min(self.data.len()));
        self.data = rest;
        taken
    }
}

/// What the model knows of an outbound QoS 1/2 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    /// QoS 1, awaiting PUBACK.
    Qos1,
    /// QoS 2, awaiting PUBREC.
    Qos2,
    /// QoS 2 after PUBREC, awaiting PUBCOMP.
    Released,
}

impl Out {
    fn qos(self) -> QoS {
        match self {
            Out::Qos1 => QoS::AtLeastOnce,
            Out::Qos2 | Out::Released => QoS::ExactlyOnce,
        }
    }
}

/// What the server's limits judge of a stored message.
#[derive(Debug, Clone, Copy)]
struct Stored {
    /// Its place in the outbox: stored messages keep their order.
    seq: u64,
    qos: QoS,
    retain: bool,
    /// Its Topic Alias property, if any.
    alias: Option<u16>,
    /// The encoded PUBLISH, in bytes.
    len: usize,
}

impl Stored {
    /// The reason codes of the limits of a CONNACK this message breaks
    /// (empty: it may be sent).
    fn broken(&self, limits: &Limits) -> Vec<u8> {
        let mut reasons = Vec::new();
        if self.qos > limits.maximum_qos {
            reasons.push(ReasonCode::QOS_NOT_SUPPORTED.0);
        }
        if self.retain && !limits.retain_available {
            reasons.push(ReasonCode::RETAIN_NOT_SUPPORTED.0);
        }
        if limits
            .maximum_packet_size
            .is_some_and(|max| self.len > max as usize)
        {
            reasons.push(ReasonCode::PACKET_TOO_LARGE.0);
        }
        if self.alias.is_some_and(|a| a > limits.topic_alias_maximum) {
            reasons.push(ReasonCode::TOPIC_ALIAS_INVALID.0);
        }
        reasons
    }
}

/// A stored message a CONNACK's limits refuse: it must come out of
/// `take_refused` with its packet id (0 for QoS 0) and one of `reasons`.
#[derive(Debug, Clone)]
struct Refusal {
    seq: u64,
    id: u16,
    reasons: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    Subscribe,
    Unsubscribe,
}

/// The server's limits from the CONNACK of this connection.
#[derive(Debug, Clone, Copy)]
struct Limits {
    receive_maximum: u16,
    maximum_packet_size: Option<u32>,
    maximum_qos: QoS,
    retain_available: bool,
    topic_alias_maximum: u16,
}

/// What one connection has seen.
#[derive(Debug, Default)]
struct Conn {
    /// Set by an accepting CONNACK.
    limits: Option<Limits>,
    /// The CONNACK said Session Present.
    resumed: bool,
    connect_seen: bool,
    disconnect_seen: bool,
    /// Requests written or to write on this connection, with their filter
    /// counts.
    requests: BTreeMap<u16, (Request, usize)>,
    /// QoS 1/2 PUBLISHes on the wire of this connection, not completed.
    unacked: BTreeSet<u16>,
    /// Packet ids of the PUBLISHes written on this connection.
    published: BTreeSet<u16>,
    /// Acknowledgements (PUBACK, PUBREC, PUBREL, PUBCOMP) the session owes
    /// the server, as their bytes (4, or 5 with a reason code).
    acks_due: Vec<Vec<u8>>,
    /// Topic Aliases the server set on this connection, and their topics.
    incoming_aliases: BTreeMap<u16, String>,
    /// Released messages whose PUBREL was written on this connection.
    released: BTreeSet<u16>,
    /// Requests answered on this connection.
    answered: BTreeMap<u16, (Request, usize)>,
    /// Packets (type, packet id) still unwritten when the server answered
    /// them (a slow network): PUBLISHes acknowledged or PUBREC'd, PUBRELs
    /// completed, requests answered. Each may still reach the wire once.
    answered_early: BTreeMap<(u8, u16), usize>,
    /// Stored messages this connection's CONNACK refused, not yet taken
    /// (`take_refused`), in the order stored.
    refusals: VecDeque<Refusal>,
    /// A re-authentication (AUTH 0x19) waits for the server's 0x00.
    reauthenticating: bool,
    /// AUTH packets auth_v5 queued that are not written yet.
    auths_due: usize,
    /// Bytes of output queued before the CONNACK and not written then.
    before_connack: usize,
}

struct Harness {
    session: FuzzSession,
    options: ConnectOptions<'static>,
    v5: ConnectV5,
    now: u32,
    /// Bytes from the server not decoded yet.
    rx: Vec<u8>,
    /// The Maximum Packet Size the client receives.
    rx_limit: usize,
    /// Bytes the session wrote that do not make a whole packet yet.
    wire: Vec<u8>,
    /// The most bytes each write takes (a slow network), `usize::MAX`: all.
    write_limit: usize,
    /// QoS 1/2 messages the session accepted and has not completed.
    outbox: BTreeMap<u16, Out>,
    /// What the limits judge of each message in `outbox`.
    stored: BTreeMap<u16, Stored>,
    /// QoS 0 messages queued offline, oldest first (written ones leave the
    /// outbox in order).
    offline_qos0: VecDeque<Stored>,
    /// The next message's `Stored::seq`.
    seq: u64,
    /// Inbound QoS 2 messages delivered and awaiting PUBREL (kept across
    /// connections while the server keeps the session).
    inbound_qos2: BTreeSet<u16>,
    /// CONNECT names an Authentication Method (`AUTH_METHOD`).
    auth: bool,
    /// Packet ids whose PUBLISH was written on an earlier connection.
    written_before: BTreeSet<u16>,
    conn: Conn,
    /// PUBRECs handled this step: each may put a message in flight beyond
    /// the window (its PUBREL stands for a PUBLISH not resent yet).
    pubrecs: u16,
}

/// CONNECT properties beyond what ConnectV5 announces.
static CONNECT_PROPERTIES: [Property<'static>; 2] = [
    Property::UserProperty("fuzz", "session_v5"),
    Property::RequestProblemInformation(true),
];

/// The Authentication Method CONNECT may name, and AUTH repeats.
const AUTH_METHOD: &str = "fuzz";

/// CONNECT properties naming an Authentication Method, with data.
static CONNECT_AUTH_PROPERTIES: [Property<'static>; 2] = [
    Property::AuthenticationMethod(AUTH_METHOD),
    Property::AuthenticationData(b"client-first"),
];

/// The same after the other properties.
static CONNECT_ALL_PROPERTIES: [Property<'static>; 4] = [
    Property::UserProperty("fuzz", "session_v5"),
    Property::RequestProblemInformation(true),
    Property::AuthenticationMethod(AUTH_METHOD),
    Property::AuthenticationData(b"client-first"),
];

fuzz_target!(|data: &[u8]| {
    let mut input = Input { data };
    let settings = [input.byte(), input.byte()];
    let mut h = Harness::new(settings);
    for _ in 0..MAX_OPS {
        if input.data.is_empty() {
            break;
        }
        let op = input.byte();
        h.step(op, &mut input);
    }
    // The end: everything pending goes out, the connection closes.
    h.write_limit = usize::MAX;
    h.flush();
    h.check();
    h.close();
});

impl Harness {
    /// A session that selected MQTT 5 and sent its CONNECT; `settings`
    /// chooses what it announces.
    fn new([settings, more]: [u8; 2]) -> Harness {
        let config = SessionConfig {
            inflight_window: WINDOW,
            ping_timeout_ms: None,
            outbox_limit: 12,
            queue_offline: true,
            queue_qos0_offline: true,
        };
        let v5 = ConnectV5 {
            session_expiry_interval: if settings & 0x04 != 0 { 60 } else { 0 },
            receive_maximum: if settings & 0x08 != 0 { 4 } else { 0 },
            maximum_packet_size: [0, 64, 256, 1024][usize::from(settings >> 4 & 3)],
            topic_alias_maximum: u16::from(more & 3),
            ..ConnectV5::DEFAULT
        };
        let auth = more & 0x04 != 0;
        let options = ConnectOptions {
            client_id: if settings & 0x02 != 0 { "" } else { "fuzz" },
            clean_session: settings & 0x01 != 0,
            keep_alive_secs: if settings & 0x40 != 0 { 0 } else { 5 },
            properties: match (settings & 0x80 != 0, auth) {
                (false, false) => Properties::NONE,
                (true, false) => Properties::List(&CONNECT_PROPERTIES),
                (false, true) => Properties::List(&CONNECT_AUTH_PROPERTIES),
                (true, true) => Properties::List(&CONNECT_ALL_PROPERTIES),
            },
            ..ConnectOptions::default()
        };
        trace!("settings {v5:?} {options:?}");
        let mut session: FuzzSession = Session::new(ArrayMemory::new(), config);
        assert_eq!(session.select_v5(Some(v5)), Ok(()));
        assert!(session.is_v5());
        let mut h = Harness {
            session,
            options,
            v5,
            now: 0,
            rx: Vec::new(),
            rx_limit: match v5.maximum_packet_size {
                0 => 1024,
                max => max as usize,
            },
            wire: Vec::new(),
            write_limit: usize::MAX,
            outbox: BTreeMap::new(),
            stored: BTreeMap::new(),
            offline_qos0: VecDeque::new(),
            seq: 0,
            inbound_qos2: BTreeSet::new(),
            auth,
            written_before: BTreeSet::new(),
            conn: Conn::default(),
            pubrecs: 0,
        };
        assert_eq!(h.session.connect(&h.options, h.now), Ok(()));
        h.flush();
        h
    }

    fn step(&mut self, op: u8, input: &mut Input<'_>) {
        // What poll_event does first.
        self.take_refused();
        let before = self.session.inflight();
        self.pubrecs = 0;
        let arg = op / 12;
        match op % 12 {
            // Server bytes: as many as the next byte says, or a few.
            0 => {
                let len = usize::from(input.byte());
                let bytes = input.take(len).to_vec();
                self.server_bytes(&bytes);
            }
            1 => {
                let bytes = input.take(usize::from(arg) + 1).to_vec();
                self.server_bytes(&bytes);
            }
            2 => {
                let bytes = self.server_packet(arg, input);
                trace!("server sends {bytes:02x?}");
                self.server_bytes(&bytes);
            }
            3 => self.publish(input),
            4 => self.subscribe(input),
            5 => self.unsubscribe(input),
            6 => self.plain_calls(arg, input),
            7 => {
                self.now = self.now.wrapping_add(u32::from(arg) * 500 + 1);
                let result = self.session.handle_timers(self.now);
                trace!("timers at {}: {result:?}", self.now);
                match result {
                    Ok(Some(Event::ConnectionLost(_))) => self.reconnect(),
                    Ok(None) | Err(Error::SendBufferFull) => {}
                    other => panic!("handle_timers gave {other:?}"),
                }
            }
            8 => self.disconnect(input),
            9 => {
                trace!("connection dropped");
                self.reconnect();
            }
            10 => {
                self.write_limit = match arg {
                    0 => usize::MAX,
                    n => usize::from(n),
                };
            }
            _ if arg % 2 == 1 => self.auth_call(input),
            _ => {
                let limit = core::mem::replace(&mut self.write_limit, usize::MAX);
                self.flush();
                self.write_limit = limit;
            }
        }
        if self.write_limit == usize::MAX {
            self.flush();
        } else {
            self.write();
        }
        self.check();
        // In flight beyond the window only by PUBRECs for messages not
        // resent yet (their PUBREL goes instead).
        let inflight = self.session.inflight();
        assert!(
            inflight <= before.max(self.window()) + self.pubrecs,
            "{inflight} in flight (before {before}, window {}, {} PUBRECs)",
            self.window(),
            self.pubrecs
        );
    }

    // ---- the server's side ----

    /// Appends server bytes to the receive buffer and hands every whole
    /// packet to the session, as `Client::next_buffered_v5` does.
    fn server_bytes(&mut self, bytes: &[u8]) {
        self.rx.extend_from_slice(bytes);
        loop {
            let rx = core::mem::take(&mut self.rx);
            let (len, outcome) = match decode_from_server(&rx, self.rx_limit) {
                Ok(Decoded::Packet { packet, len }) => (len, self.deliver(&packet)),
                Ok(Decoded::Incomplete { .. }) => {
                    self.rx = rx;
                    return;
                }
                Err(err) => {
                    trace!("decode: {err:?}");
                    (rx.len(), Err(err.reason_code()))
                }
            };
            match outcome {
                Ok(()) => {
                    self.rx = rx[len..].to_vec();
                    // The client's next poll_event, before the next packet.
                    self.take_refused();
                }
                Err(reason) => {
                    self.violation(reason);
                    return;
                }
            }
        }
    }

    /// One decoded packet into the session; `Err`: the connection must
    /// close, after a DISCONNECT with that reason if any.
    fn deliver(&mut self, packet: &ServerPacket<'_>) -> Result<(), Option<ReasonCode>> {
        trace!("deliver {packet:?}");
        // The model's QoS 0 messages as they are before a CONNACK judges them.
        self.reconcile_qos0();
        // Topic Aliases are the client's to map (src/client/v5.rs): above
        // the maximum announced is 0x94, one never set 0x82; an alias alone
        // reaches the session with its topic.
        let mut packet = *packet;
        let mut keep_alias = None;
        let mapped;
        if let ServerPacket::Publish(p) = &mut packet {
            if let Err(err) = p.check_topic_alias(self.v5.topic_alias_maximum) {
                return Err(err.reason_code());
            }
            if let Some(alias) = p.topic_alias() {
                if p.topic.is_empty() {
                    match self.conn.incoming_aliases.get(&alias) {
                        Some(topic) => {
                            mapped = topic.clone();
                            p.topic = &mapped;
                        }
                        None => return Err(Some(ReasonCode::PROTOCOL_ERROR)),
                    }
                } else {
                    keep_alias = Some((alias, p.topic.to_string()));
                }
            }
        }
        let packet = &packet;
        // AUTH only after CONNECT named a method: a challenge while
        // connecting, or within a re-authentication (section 4.12).
        let auth_expected = match packet {
            ServerPacket::Auth(a) => Some(
                self.auth
                    && match (self.session.state(), a.reason.0) {
                        (State::AwaitingConnAck, 0x18) => true,
                        (State::Connected, 0x18 | 0x00) => self.conn.reauthenticating,
                        _ => false,
                    },
            ),
            _ => None,
        };
        if let ServerPacket::ConnAck(_) = packet {
            // (Whole packets: CONNECT and AUTH answers.)
            self.conn.before_connack = self.wire.len() + self.session.pending_output().len();
        }
        let mut result = self.session.handle_packet_v5(packet, self.now);
        if result == Err(Error::SendBufferFull) {
            // The answer did not fit: write what is pending, hand it in again.
            let limit = core::mem::replace(&mut self.write_limit, usize::MAX);
            self.flush();
            self.write_limit = limit;
            result = self.session.handle_packet_v5(packet, self.now);
            assert_ne!(result, Err(Error::SendBufferFull), "after a flush");
        }
        trace!("  -> {result:?}");
        if let Some(expected) = auth_expected {
            match &result {
                Ok(Some(Event::Auth { .. })) => assert!(
                    expected,
                    "AUTH taken (method {}, re-authenticating {})",
                    self.auth, self.conn.reauthenticating
                ),
                Err(Error::ProtocolViolation) => assert!(!expected, "AUTH refused"),
                other => panic!("AUTH gave {other:?}"),
            }
        }
        match result {
            Ok(event) => {
                let challenge = matches!(event, Some(Event::Auth { reason: 0x18 }));
                self.check_event(packet, event);
                if let Some((alias, topic)) = keep_alias {
                    self.conn.incoming_aliases.insert(alias, topic);
                }
                if challenge {
                    self.answer_challenge();
                }
                Ok(())
            }
            Err(err) => Err(disconnect_reason(err)),
        }
    }

    /// An event must answer the packet handed in, as the model expects.
    fn check_event(&mut self, packet: &ServerPacket<'_>, event: Option<Event<'_>>) {
        use ServerPacket as S;
        let due = |first: u8, id: u16| {
            let [high, low] = id.to_be_bytes();
            vec![first, 2, high, low]
        };
        // Sections 3.6.2.1 and 3.7.2.1: 0x92 Packet Identifier not found.
        let not_found = |first: u8, id: u16| {
            let [high, low] = id.to_be_bytes();
            vec![
                first,
                3,
                high,
                low,
                ReasonCode::PACKET_IDENTIFIER_NOT_FOUND.0,
            ]
        };
        match (*packet, event) {
            (
                S::ConnAck(ack),
                Some(Event::Connected {
                    session_present,
                    return_code,
                }),
            ) => {
                assert!(!ack.reason.is_error());
                assert_eq!(return_code, ConnectReturnCode::Accepted);
                assert_eq!(session_present, ack.session_present);
                assert_eq!(self.session.state(), State::Connected);
                let limits = ack.limits();
                let model = Limits {
                    receive_maximum: limits.receive_maximum,
                    maximum_packet_size: limits.maximum_packet_size,
                    maximum_qos: limits.maximum_qos,
                    retain_available: limits.retain_available,
                    topic_alias_maximum: limits.topic_alias_maximum,
                };
                self.conn.limits = Some(model);
                self.conn.resumed = session_present;
                self.conn.reauthenticating = false;
                if !session_present {
                    // The server kept no inbound QoS 2 exchange either.
                    self.inbound_qos2.clear();
                }
                // The stored messages these limits refuse [MQTT-3.2.2-11],
                // [MQTT-3.2.2-14], [MQTT-3.2.2-15], [MQTT-3.3.2-9], in the
                // order stored; a released QoS 2 message owes only its
                // PUBREL, which breaks none.
                let qos12 = self
                    .stored
                    .iter()
                    .filter(|(id, _)| self.outbox.get(id) != Some(&Out::Released))
                    .map(|(&id, m)| (id, m));
                let qos0 = self.offline_qos0.iter().map(|m| (0, m));
                let mut refusals: Vec<Refusal> = qos12
                    .chain(qos0)
                    .filter_map(|(id, m)| {
                        let reasons = m.broken(&model);
                        (!reasons.is_empty()).then_some(Refusal {
                            seq: m.seq,
                            id,
                            reasons,
                        })
                    })
                    .collect();
                refusals.sort_by_key(|r| r.seq);
                trace!("  refusals due: {refusals:?}");
                self.conn.refusals = refusals.into();
                let keep_alive = limits
                    .server_keep_alive
                    .unwrap_or(self.options.keep_alive_secs);
                assert_eq!(self.session.keep_alive_secs(), keep_alive);
                match limits.assigned_client_identifier {
                    Some(id) if id.len() <= ASSIGNED_ID_CAPACITY && !id.is_empty() => {
                        assert_eq!(self.session.assigned_client_id(), Some(id))
                    }
                    _ => assert_eq!(self.session.assigned_client_id(), None),
                }
            }
            (S::Publish(p), Some(Event::Message(m))) => {
                assert_eq!(
                    (m.topic, m.payload, m.qos, m.packet_id, m.retain, m.dup),
                    (p.topic, p.payload, p.qos, p.packet_id, p.retain, p.dup)
                );
                match p.qos {
                    QoS::AtMostOnce => {}
                    QoS::AtLeastOnce => self.conn.acks_due.push(due(0x40, p.packet_id)),
                    QoS::ExactlyOnce => {
                        let new = self.inbound_qos2.insert(p.packet_id);
                        assert!(new, "QoS 2 message {} delivered twice", p.packet_id);
                        self.conn.acks_due.push(due(0x50, p.packet_id));
                    }
                }
            }
            // A QoS 2 message delivered already: PUBREC again, no event.
            (S::Publish(p), None) => {
                assert_eq!(p.qos, QoS::ExactlyOnce, "{p:?} not delivered");
                assert!(self.inbound_qos2.contains(&p.packet_id), "{p:?} dropped");
                self.conn.acks_due.push(due(0x50, p.packet_id));
            }
            (S::PubAck(r), Some(Event::Published { packet_id })) => {
                assert!(packet_id == r.packet_id && !r.reason.is_error());
                self.complete(packet_id, Out::Qos1);
            }
            (S::PubAck(r) | S::PubRec(r), Some(Event::PublishFailed { packet_id, reason })) => {
                assert!(packet_id == r.packet_id && r.reason.is_error());
                assert_eq!(reason, r.reason.0);
                let expected = match packet {
                    S::PubAck(_) => Out::Qos1,
                    _ => Out::Qos2,
                };
                self.complete(packet_id, expected);
            }
            (S::PubAck(r) | S::PubComp(r), None) => {
                // Ignored as unknown: it must be.
                assert!(
                    !self.outbox.contains_key(&r.packet_id),
                    "ack for {} in flight ({:?}) ignored",
                    r.packet_id,
                    self.outbox.get(&r.packet_id)
                );
            }
            (S::PubRec(r), Some(Event::Received { packet_id })) => {
                assert!(packet_id == r.packet_id && !r.reason.is_error());
                assert_eq!(self.outbox.get(&packet_id), Some(&Out::Qos2));
                self.outbox.insert(packet_id, Out::Released);
                self.answered_early(&[3], packet_id);
                self.conn.acks_due.push(due(0x62, packet_id));
                self.pubrecs += 1;
            }
            (S::PubRec(r), None) => {
                let state = self.outbox.get(&r.packet_id).copied();
                if r.reason.is_error() {
                    assert_eq!(state, None, "failing PUBREC for {} ignored", r.packet_id);
                } else if state == Some(Out::Released) {
                    // Repeated: PUBREL again [MQTT-4.3.3].
                    self.conn.acks_due.push(due(0x62, r.packet_id));
                    self.pubrecs += 1;
                } else {
                    // Unknown: PUBREL 0x92.
                    assert_eq!(state, None, "PUBREC for {} ignored", r.packet_id);
                    self.conn.acks_due.push(not_found(0x62, r.packet_id));
                }
            }
            (S::PubComp(r), Some(Event::Published { packet_id })) => {
                assert!(packet_id == r.packet_id);
                self.complete(packet_id, Out::Released);
            }
            (S::PubRel(r), None) => {
                // The exchange ends: PUBCOMP, 0x92 for one not pending.
                let answer = match self.inbound_qos2.remove(&r.packet_id) {
                    true => due(0x70, r.packet_id),
                    false => not_found(0x70, r.packet_id),
                };
                self.conn.acks_due.push(answer);
            }
            (
                S::SubAck(a),
                Some(Event::Subscribed {
                    packet_id,
                    return_codes,
                }),
            ) => {
                assert_eq!((packet_id, return_codes), (a.packet_id, a.reason_codes));
                self.answered(packet_id, (Request::Subscribe, return_codes.len()));
            }
            (
                S::UnsubAck(a),
                Some(Event::UnsubscribedCodes {
                    packet_id,
                    reason_codes,
                }),
            ) => {
                assert_eq!((packet_id, reason_codes), (a.packet_id, a.reason_codes));
                self.answered(packet_id, (Request::Unsubscribe, reason_codes.len()));
            }
            (S::PingResp, Some(Event::Pong)) => {}
            (S::Auth(a), Some(Event::Auth { reason })) => {
                assert_eq!(reason, a.reason.0);
                if reason == ReasonCode::SUCCESS.0 {
                    // The re-authentication is done.
                    self.conn.reauthenticating = false;
                }
            }
            (packet, event) => panic!("{packet:?} gave {event:?}"),
        }
    }

    /// Request `id` answered: it was this request, with this many filters.
    fn answered(&mut self, id: u16, request: (Request, usize)) {
        assert_eq!(
            self.conn.requests.remove(&id),
            Some(request),
            "answered {id}"
        );
        self.conn.answered.insert(id, request);
        self.answered_early(&[8, 10], id);
    }

    /// Message `id` completed from state `expected`.
    fn complete(&mut self, id: u16, expected: Out) {
        assert_eq!(self.outbox.remove(&id), Some(expected), "completed {id}");
        self.stored.remove(&id);
        self.conn.unacked.remove(&id);
        self.written_before.remove(&id);
        self.answered_early(&[3, 6], id);
    }

    /// Takes the stored messages the CONNACK's limits refused, as
    /// `Client::poll_event` does (each a PublishFailed): exactly the ones
    /// the model expects, in the order stored, each with the reason code of
    /// a limit it breaks; each leaves the outbox unsent.
    fn take_refused(&mut self) {
        while let Some((id, reason)) = self.session.take_refused() {
            trace!("take_refused: {id} {reason:#04x}");
            let Some(due) = self.conn.refusals.pop_front() else {
                panic!("message {id} refused ({reason:#04x}) without cause");
            };
            assert_eq!(id, due.id, "refused out of order, expected {due:?}");
            assert!(
                due.reasons.contains(&reason),
                "message {id} refused with {reason:#04x}, it breaks {:02x?}",
                due.reasons
            );
            if id == 0 {
                let at = self
                    .offline_qos0
                    .iter()
                    .position(|m| m.seq == due.seq)
                    .expect("a refused QoS 0 message is queued");
                self.offline_qos0.remove(at);
            } else {
                // Failed: never written on this connection, and never again.
                let out = self.outbox.remove(&id);
                assert!(matches!(out, Some(Out::Qos1 | Out::Qos2)), "{out:?}");
                assert!(!self.conn.published.contains(&id), "{id} written");
                self.stored.remove(&id);
                self.written_before.remove(&id);
            }
        }
        assert!(
            self.conn.refusals.is_empty(),
            "stored messages breaking the server's limits not refused: {:?}",
            self.conn.refusals
        );
    }

    /// QoS 0 messages queued offline leave the outbox once written, oldest
    /// first: the model keeps as many as the session does.
    fn reconcile_qos0(&mut self) {
        let queued = usize::from(self.session.queued());
        assert!(
            queued >= self.outbox.len(),
            "queued {queued}, model {} QoS 1/2",
            self.outbox.len()
        );
        let qos0 = queued - self.outbox.len();
        assert!(
            qos0 <= self.offline_qos0.len(),
            "queued {queued}, model {} QoS 1/2 + {} QoS 0",
            self.outbox.len(),
            self.offline_qos0.len()
        );
        while self.offline_qos0.len() > qos0 {
            // Only an accepting CONNACK lets them out.
            assert!(self.conn.limits.is_some(), "QoS 0 message lost offline");
            let gone = self.offline_qos0.pop_front();
            trace!("  QoS 0 {gone:?} written");
        }
    }

    /// Notes the packets of `kinds` with packet id `id` that are not
    /// written yet (whole packets of what is partly written and pending).
    fn answered_early(&mut self, kinds: &[u8], id: u16) {
        let mut stream = self.wire.clone();
        stream.extend_from_slice(self.session.pending_output());
        let mut rest = &stream[..];
        while let Ok(Some(f)) = frame(rest, usize::MAX) {
            let Some(bytes) = rest.get(..f.total_len()) else {
                break;
            };
            rest = &rest[f.total_len()..];
            let kind = bytes[0] >> 4;
            let body = &bytes[f.header_len..];
            let at = match (kind, body) {
                // The packet id after the topic, at QoS 1 and 2.
                (3, [high, low, ..]) if bytes[0] & 0x06 != 0 => {
                    2 + usize::from(u16::from_be_bytes([*high, *low]))
                }
                (6 | 8 | 10, _) => 0,
                _ => continue,
            };
            // (A packet too short is refused when it is written.)
            if kinds.contains(&kind) && body.get(at..at + 2) == Some(&id.to_be_bytes()[..]) {
                *self.conn.answered_early.entry((kind, id)).or_default() += 1;
            }
        }
    }

    /// A packet the server answered before it was written: once each.
    fn take_early(&mut self, kind: u8, id: u16) -> bool {
        match self.conn.answered_early.get_mut(&(kind, id)) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    /// The client's answer to a packet it refuses: DISCONNECT with the
    /// reason (when there is one to send), then the connection closes.
    fn violation(&mut self, reason: Option<ReasonCode>) {
        trace!("violation, DISCONNECT {reason:?}");
        if !self.wire.is_empty() {
            // A packet is partly written: disconnect_with_reason drops the
            // rest of it, so the DISCONNECT would land in its middle. The
            // client never gets here (its flush writes all or closes the
            // connection); a slow network just closes.
            trace!("  a packet is cut: no DISCONNECT");
            return self.reconnect();
        }
        if let Some(reason) = reason {
            let state = self.session.state();
            let result = self.session.disconnect_with_reason(reason, self.now);
            let maximum = self.conn.limits.and_then(|l| l.maximum_packet_size);
            if state == State::Disconnected {
                assert_eq!(result, Err(Error::NotConnected));
            } else if result == Err(Error::PacketTooLargeForServer) {
                // A server that takes no 3-byte packet gets no DISCONNECT
                // (the client's is best effort).
                assert!(maximum.is_some_and(|max| max < 3), "{maximum:?}");
            } else {
                assert_eq!(result, Ok(()), "DISCONNECT {reason}");
                // Output not written yet is dropped for the DISCONNECT.
                self.conn.answered_early.clear();
                self.flush();
                assert!(self.conn.disconnect_seen);
            }
        }
        self.reconnect();
    }

    /// A server packet for what is pending (so acks find their message),
    /// chosen by `choice` and the input.
    fn server_packet(&mut self, choice: u8, input: &mut Input<'_>) -> Vec<u8> {
        let b = input.byte();
        let pick = |ids: Vec<u16>, b: u8| -> u16 {
            if ids.is_empty() {
                u16::from(b % 16) + 1
            } else {
                let mut ids = ids;
                ids.sort_unstable();
                ids[usize::from(b) % ids.len()]
            }
        };
        let with = |state: Out| -> Vec<u16> {
            self.outbox
                .iter()
                .filter(|(_, &s)| s == state)
                .map(|(&id, _)| id)
                .collect()
        };
        match choice % 8 {
            0 => {
                // An accepting CONNACK with limits from the next byte.
                let mask = input.byte();
                let mut list = Vec::new();
                if mask & 0x01 != 0 {
                    list.push(Property::ReceiveMaximum(u16::from(b % 4) + 1));
                }
                if mask & 0x02 != 0 {
                    list.push(Property::MaximumQos(if b & 0x10 != 0 {
                        QoS::AtLeastOnce
                    } else {
                        QoS::AtMostOnce
                    }));
                }
                if mask & 0x04 != 0 {
                    list.push(Property::RetainAvailable(false));
                }
                if mask & 0x08 != 0 {
                    list.push(Property::MaximumPacketSize(u32::from(b) + 24));
                }
                if mask & 0x10 != 0 {
                    list.push(Property::TopicAliasMaximum(u16::from(b & 3)));
                }
                if mask & 0x20 != 0 {
                    list.push(Property::ServerKeepAlive(u16::from(b >> 6)));
                }
                if mask & 0x40 != 0 {
                    list.push(Property::AssignedClientIdentifier("fuzz-assigned"));
                }
                if mask & 0x80 != 0 {
                    list.push(Property::UserProperty("server", "fuzz"));
                }
                let mut body = vec![b >> 7, 0];
                push_properties(&mut body, &list);
                packet(0x20, &body)
            }
            1 => {
                // A refusing CONNACK, or one with Session Present.
                let code = [0x80, 0x86, 0x87, 0x97, 0x9c, 0x00][usize::from(b) % 6];
                let mut body = vec![u8::from(code == 0), code];
                push_properties(&mut body, &[Property::ReasonString("fuzz")]);
                packet(0x20, &body)
            }
            2 => {
                let id = pick(with(Out::Qos1), b);
                ack(
                    0x40,
                    id,
                    [0x00, 0x10, 0x80, 0x97][usize::from(b >> 4) % 4],
                    b & 8 != 0,
                )
            }
            3 => {
                let mut ids = with(Out::Qos2);
                ids.extend(with(Out::Released));
                let id = pick(ids, b);
                ack(
                    0x50,
                    id,
                    [0x00, 0x10, 0x80, 0x99][usize::from(b >> 4) % 4],
                    b & 8 != 0,
                )
            }
            4 => {
                let id = pick(with(Out::Released), b);
                ack(0x70, id, [0x00, 0x92][usize::from(b >> 4) % 2], b & 8 != 0)
            }
            5 => {
                // SUBACK or UNSUBACK for a pending request, one code per
                // filter (or one more).
                let requests: Vec<_> = self.conn.requests.iter().map(|(&id, &r)| (id, r)).collect();
                let (id, (kind, count)) = match requests.get(usize::from(b) % requests.len().max(1))
                {
                    Some(&request) => request,
                    None => (u16::from(b % 16) + 1, (Request::Subscribe, 1)),
                };
                let count = count + usize::from(b & 0x80 != 0);
                let mut body = id.to_be_bytes().to_vec();
                push_properties(&mut body, &[]);
                let (first, codes): (u8, &[u8]) = match kind {
                    Request::Subscribe => (0x90, &[0x00, 0x01, 0x02, 0x80, 0x97, 0xa2]),
                    Request::Unsubscribe => (0xb0, &[0x00, 0x11, 0x80, 0x87]),
                };
                for i in 0..count {
                    body.push(codes[(usize::from(b >> 2) + i) % codes.len()]);
                }
                packet(first, &body)
            }
            6 => {
                // A message, with properties.
                let qos = b % 3;
                let dup = qos != 0 && b & 0x04 != 0;
                let mut body = Vec::new();
                // An alias alone (0x40 with 0x20) needs the alias set before.
                let topic: &[u8] = if b & 0x60 == 0x60 { b"" } else { b"s/t" };
                push_binary(&mut body, topic);
                if qos != 0 {
                    body.extend_from_slice(&(u16::from(input.byte() % 8) + 1).to_be_bytes());
                }
                let mut list = vec![Property::MessageExpiryInterval(30)];
                if b & 0x08 != 0 {
                    list.push(Property::SubscriptionIdentifier(u32::from(b >> 4) + 1));
                }
                if b & 0x10 != 0 {
                    list.push(Property::PayloadFormatIndicator(true));
                }
                if b & 0x20 != 0 {
                    list.push(Property::TopicAlias(1));
                }
                push_properties(&mut body, &list);
                body.extend_from_slice(b"payload");
                packet(0x30 | u8::from(dup) << 3 | qos << 1 | (b >> 7), &body)
            }
            _ => match b % 4 {
                0 => ack(0x62, u16::from(input.byte() % 8) + 1, 0, false),
                1 => vec![0xd0, 0],
                2 => {
                    let mut body = vec![[0x00, 0x8b, 0x9c, 0x8d][usize::from(b >> 2) % 4]];
                    push_properties(
                        &mut body,
                        &[
                            Property::ReasonString("bye"),
                            Property::ServerReference("other"),
                        ],
                    );
                    packet(0xe0, &body)
                }
                _ => {
                    // AUTH: 0x18 Continue authentication (a challenge),
                    // or 0x00 Success (of a re-authentication).
                    let reason = if b & 0x20 != 0 { 0x00 } else { 0x18 };
                    let mut list = vec![Property::AuthenticationMethod(AUTH_METHOD)];
                    if b & 0x10 != 0 {
                        list.push(Property::AuthenticationData(b"server-challenge"));
                    }
                    let mut body = vec![reason];
                    push_properties(&mut body, &list);
                    packet(0xf0, &body)
                }
            },
        }
    }

    // ---- the application's side ----

    fn publish(&mut self, input: &mut Input<'_>) {
        let p = input.byte();
        let mask = input.byte();
        let len = usize::from(input.byte());
        let qos = QoS::from_u8(p % 3).unwrap();
        let retain = p & 0x04 != 0;
        let topic = ["f/t", "a/b/c", "", "bad/+"][usize::from(p >> 3 & 3)];
        let payload = vec![if p & 0x20 != 0 { 0xff } else { b'x' }; len];
        let mut list = Vec::new();
        if mask & 0x01 != 0 {
            list.push(Property::PayloadFormatIndicator(true));
        }
        if mask & 0x02 != 0 {
            list.push(Property::MessageExpiryInterval(60));
        }
        if mask & 0x04 != 0 {
            list.push(Property::ContentType("text/plain"));
        }
        if mask & 0x08 != 0 {
            list.push(Property::ResponseTopic("r/t"));
        }
        if mask & 0x10 != 0 {
            list.push(Property::CorrelationData(&[0, 1, 2]));
        }
        if mask & 0x20 != 0 {
            list.push(Property::UserProperty("k", "v"));
        }
        if mask & 0x40 != 0 {
            list.push(Property::TopicAlias(u16::from(len as u8 & 3) + 1));
        }
        if mask & 0x80 != 0 {
            // The server's only [MQTT-3.3.4-6].
            list.push(Property::SubscriptionIdentifier(5));
        }
        let mut buf = [0u8; 128];
        let properties = properties(&list, p & 0x40 != 0, &mut buf);
        let before = self.snapshot();
        let state = self.session.state();
        let result = self
            .session
            .publish_v5(topic, &payload, qos, retain, properties, self.now);
        trace!("publish_v5 {topic:?} {qos:?} retain {retain} {list:?} len {len}: {result:?}");
        let alias = list.iter().find_map(|p| match p {
            Property::TopicAlias(a) => Some(*a),
            _ => None,
        });
        if let Some(limits) = self.conn.limits.filter(|_| state == State::Connected) {
            // The server's limits, checked before anything else.
            if qos > limits.maximum_qos {
                assert_eq!(result, Err(Error::QosNotSupported));
            } else if retain && !limits.retain_available {
                assert_eq!(result, Err(Error::RetainNotSupported));
            } else if alias.is_some_and(|a| a > limits.topic_alias_maximum) {
                assert_eq!(result, Err(Error::InvalidProperty));
            }
        }
        match result {
            Ok(id) => {
                let named = embermq::topic::validate_topic_name(topic).is_ok();
                assert!(named || (topic.is_empty() && alias.is_some()), "{topic:?}");
                assert!(mask & 0x80 == 0, "Subscription Identifier sent");
                assert!(mask & 0x01 == 0 || core::str::from_utf8(&payload).is_ok());
                let len = Publish {
                    dup: false,
                    qos,
                    retain,
                    topic,
                    packet_id: id,
                    properties,
                    payload: &payload,
                }
                .encoded_len()
                .expect("an accepted PUBLISH encodes");
                self.published(id, state, message(qos, retain, alias, len));
            }
            Err(_) => self.unchanged(before),
        }
    }

    /// A publish of `message` in `state` was accepted with packet id `id`.
    fn published(&mut self, id: u16, state: State, message: Stored) {
        let message = Stored {
            seq: self.seq,
            ..message
        };
        self.seq += 1;
        let out = match message.qos {
            QoS::AtMostOnce => {
                assert_eq!(id, 0);
                if state != State::Connected {
                    // Stored until a CONNACK lets it out (or refuses it).
                    self.offline_qos0.push_back(message);
                }
                return;
            }
            QoS::AtLeastOnce => Out::Qos1,
            QoS::ExactlyOnce => Out::Qos2,
        };
        assert_ne!(id, 0);
        assert!(!self.conn.requests.contains_key(&id), "id {id} shared");
        assert_eq!(self.outbox.insert(id, out), None, "id {id} reused");
        let stored = self.session.stored_packet(id).map(<[u8]>::len);
        assert_eq!(stored, Some(message.len), "stored copy of {id}");
        self.stored.insert(id, message);
    }

    fn subscribe(&mut self, input: &mut Input<'_>) {
        const FILTERS: [&str; 6] = ["f/#", "+/x", "$share/g/f/t", "a/b", "bad/#/x", "$share/g"];
        let b = input.byte();
        let o = input.byte();
        let count = usize::from(b & 3) + 1;
        let topics: Vec<SubscribeTopic<'_>> = (0..count)
            .map(|i| SubscribeTopic {
                filter: FILTERS[(usize::from(b >> 2) + i * 5) % FILTERS.len()],
                options: SubscriptionOptions {
                    qos: QoS::from_u8((o >> i) % 3).unwrap(),
                    no_local: o & 0x10 != 0 && i == 0,
                    retain_as_published: o & 0x20 != 0,
                    retain_handling: [
                        RetainHandling::SendAtSubscribe,
                        RetainHandling::SendIfNew,
                        RetainHandling::DoNotSend,
                    ][usize::from(o >> 6) % 3],
                },
            })
            .collect();
        let mut list = Vec::new();
        if b & 0x40 != 0 {
            // 0 is refused (3.8.2.1.2).
            list.push(Property::SubscriptionIdentifier(u32::from(o & 0x0f)));
        }
        if b & 0x80 != 0 {
            list.push(Property::UserProperty("sub", "v"));
        }
        let mut buf = [0u8; 64];
        let properties = properties(&list, o & 1 != 0, &mut buf);
        let before = self.snapshot();
        let result = self.session.subscribe_v5(&topics, properties, self.now);
        trace!("subscribe_v5 {topics:?} {list:?}: {result:?}");
        self.requested(Request::Subscribe, count, result, before);
        if result.is_ok() {
            for t in &topics {
                embermq::topic::validate_topic_filter(t.filter).unwrap();
            }
        }
    }

    fn unsubscribe(&mut self, input: &mut Input<'_>) {
        const FILTERS: [&str; 4] = ["f/#", "+/x", "$share/g/f/t", "bad/#/x"];
        let b = input.byte();
        let count = usize::from(b & 3) + 1;
        let filters: Vec<&str> = (0..count)
            .map(|i| FILTERS[(usize::from(b >> 2) + i) % FILTERS.len()])
            .collect();
        let mut list = Vec::new();
        if b & 0x40 != 0 {
            list.push(Property::UserProperty("unsub", "v"));
        }
        if b & 0x80 != 0 {
            // Not allowed in UNSUBSCRIBE.
            list.push(Property::ReasonString("no"));
        }
        let mut buf = [0u8; 64];
        let properties = properties(&list, b & 0x20 != 0, &mut buf);
        let before = self.snapshot();
        let result = self.session.unsubscribe_v5(&filters, properties, self.now);
        trace!("unsubscribe_v5 {filters:?} {list:?}: {result:?}");
        self.requested(Request::Unsubscribe, count, result, before);
        if result.is_ok() {
            assert!(b & 0x80 == 0, "Reason String in UNSUBSCRIBE sent");
        }
    }

    /// The 3.1.1 calls, which speak MQTT 5 once it is selected.
    fn plain_calls(&mut self, arg: u8, input: &mut Input<'_>) {
        let b = input.byte();
        let before = self.snapshot();
        let state = self.session.state();
        match arg % 3 {
            0 => {
                let qos = QoS::from_u8(b % 3).unwrap();
                let result = self.session.publish("p/t", &[b; 3], qos, false, self.now);
                trace!("publish {qos:?}: {result:?}");
                match result {
                    Ok(id) => {
                        let len = Publish {
                            dup: false,
                            qos,
                            retain: false,
                            topic: "p/t",
                            packet_id: id,
                            properties: Properties::NONE,
                            payload: &[b; 3],
                        }
                        .encoded_len()
                        .expect("an accepted PUBLISH encodes");
                        self.published(id, state, message(qos, false, None, len));
                    }
                    Err(_) => self.unchanged(before),
                }
            }
            1 => {
                let topics = [
                    embermq::codec::SubscribeTopic {
                        filter: "p/#",
                        qos: QoS::ExactlyOnce,
                    },
                    embermq::codec::SubscribeTopic {
                        filter: "+/q",
                        qos: QoS::AtMostOnce,
                    },
                ];
                let count = 1 + usize::from(b & 1);
                let result = self.session.subscribe(&topics[..count], self.now);
                trace!("subscribe: {result:?}");
                self.requested(Request::Subscribe, count, result, before);
            }
            _ => {
                let result = self.session.unsubscribe(&["p/#"], self.now);
                trace!("unsubscribe: {result:?}");
                self.requested(Request::Unsubscribe, 1, result, before);
            }
        }
    }

    fn requested(
        &mut self,
        kind: Request,
        count: usize,
        result: Result<u16, Error>,
        before: Snapshot,
    ) {
        match result {
            Ok(id) => {
                assert_eq!(self.session.state(), State::Connected);
                assert_ne!(id, 0);
                assert!(!self.outbox.contains_key(&id), "id {id} shared");
                let old = self.conn.requests.insert(id, (kind, count));
                assert_eq!(old, None, "id {id} reused");
            }
            Err(_) => self.unchanged(before),
        }
    }

    fn disconnect(&mut self, input: &mut Input<'_>) {
        let b = input.byte();
        // Codes a client may send, and some it may not.
        let reason =
            ReasonCode([0x00, 0x04, 0x80, 0x81, 0x8b, 0x19, 0x9c, 0x95][usize::from(b & 7)]);
        let mut list = Vec::new();
        if b & 0x08 != 0 {
            list.push(Property::ReasonString("bye"));
        }
        if b & 0x10 != 0 {
            list.push(Property::SessionExpiryInterval(u32::from(b >> 7) * 30));
        }
        if b & 0x20 != 0 {
            list.push(Property::UserProperty("why", "fuzz"));
        }
        let mut buf = [0u8; 64];
        let properties = properties(&list, b & 0x40 != 0, &mut buf);
        let before = self.snapshot();
        let result = self.session.disconnect_v5(reason, properties, self.now);
        trace!("disconnect_v5 {reason} {list:?}: {result:?}");
        match result {
            Ok(()) => {
                assert!(reason.allowed_in(ReasonPacket::Disconnect, Sender::Client));
                assert_eq!(self.session.state(), State::Disconnecting);
                // The driver writes it and closes the connection.
                self.write_limit = usize::MAX;
                self.flush();
                assert!(self.conn.disconnect_seen, "DISCONNECT not written");
                self.reconnect();
            }
            // Refused: the connection goes on as it was (send cursor too).
            Err(_) => self.unchanged(before),
        }
    }

    /// auth_v5 with the Authentication Method of CONNECT (and `data`),
    /// against the model: taken exactly when CONNECT named the method and
    /// the exchange allows `reason` (0x18 answering a challenge while
    /// connecting or re-authenticating, 0x19 once connected and not
    /// re-authenticating already); refused, it leaves nothing behind.
    fn auth_v5(&mut self, reason: ReasonCode, data: Option<&'static [u8]>) -> Result<(), Error> {
        let mut list = vec![Property::AuthenticationMethod(AUTH_METHOD)];
        list.extend(data.map(Property::AuthenticationData));
        let properties = Properties::List(&list);
        let state = self.session.state();
        let expected = self.auth
            && match (state, reason.0) {
                (State::AwaitingConnAck, 0x18) => true,
                (State::Connected, 0x18) => self.conn.reauthenticating,
                (State::Connected, 0x19) => !self.conn.reauthenticating,
                _ => false,
            };
        let before = self.snapshot();
        let result = self.session.auth_v5(reason, properties, self.now);
        trace!("auth_v5 {reason} {list:?} in {state:?}: {result:?}");
        match result {
            Ok(()) => {
                assert!(
                    expected,
                    "AUTH {reason} taken in {state:?} (method {}, re-authenticating {})",
                    self.auth, self.conn.reauthenticating
                );
                self.conn.auths_due += 1;
                if reason == ReasonCode::RE_AUTHENTICATE {
                    self.conn.reauthenticating = true;
                }
            }
            Err(Error::SendBufferFull) => self.unchanged(before),
            Err(Error::PacketTooLargeForServer) => {
                let len = embermq::codec::v5::Auth { reason, properties }
                    .encoded_len()
                    .unwrap();
                let max = self.conn.limits.and_then(|l| l.maximum_packet_size);
                assert!(max.is_some_and(|max| len > max as usize), "{len}, {max:?}");
                self.unchanged(before);
            }
            Err(err) => {
                assert!(!expected, "AUTH {reason} refused: {err:?}");
                self.unchanged(before);
            }
        }
        result
    }

    /// The application answers the server's AUTH 0x18 with its own, as
    /// `Client::auth` does (a full send buffer is flushed first).
    fn answer_challenge(&mut self) {
        let data: &'static [u8] = b"client-final";
        let mut result = self.auth_v5(ReasonCode::CONTINUE_AUTHENTICATION, Some(data));
        if result == Err(Error::SendBufferFull) {
            let limit = core::mem::replace(&mut self.write_limit, usize::MAX);
            self.flush();
            self.write_limit = limit;
            result = self.auth_v5(ReasonCode::CONTINUE_AUTHENTICATION, Some(data));
        }
        // Too large for this server: the application cannot answer.
        assert!(
            matches!(result, Ok(()) | Err(Error::PacketTooLargeForServer)),
            "answering the challenge: {result:?}"
        );
    }

    /// An AUTH the application starts or sends unasked.
    fn auth_call(&mut self, input: &mut Input<'_>) {
        let b = input.byte();
        let reason = ReasonCode([0x19, 0x18, 0x00, 0x19][usize::from(b & 3)]);
        let data: Option<&'static [u8]> = (b & 4 != 0).then_some(b"again");
        let _ = self.auth_v5(reason, data);
    }

    /// The connection closed; the next one starts at once.
    fn reconnect(&mut self) {
        self.close();
        assert_eq!(self.session.connect(&self.options, self.now), Ok(()));
        assert_eq!(self.session.state(), State::AwaitingConnAck);
    }

    fn close(&mut self) {
        // (QoS 0 messages written on this connection have left.)
        self.reconcile_qos0();
        self.session.connection_closed();
        assert_eq!(self.session.state(), State::Disconnected);
        assert_eq!(self.session.inflight(), 0);
        assert!(self.session.pending_output().is_empty());
        assert!(self.session.is_v5());
        let conn = core::mem::take(&mut self.conn);
        self.written_before.extend(conn.published);
        self.rx.clear();
        self.wire.clear();
    }

    // ---- the network ----

    /// One write: up to `write_limit` bytes of the pending output.
    fn write(&mut self) {
        let out = self.session.pending_output();
        let n = out.len().min(self.write_limit);
        if n == 0 {
            return;
        }
        self.wire.extend_from_slice(&out[..n]);
        self.session.consume_output(n);
        self.check_wire();
    }

    /// Writes until nothing is pending (each write may let more out).
    fn flush(&mut self) {
        for _ in 0..64 {
            if self.session.pending_output().is_empty() {
                if self.wire.is_empty() {
                    // Everything answered early has been written.
                    self.conn.answered_early.clear();
                }
                return;
            }
            self.write();
        }
        if self.write_limit == usize::MAX {
            panic!("output never drains");
        }
    }

    /// Every whole packet the session wrote is one a client may send.
    fn check_wire(&mut self) {
        loop {
            let len = match frame(&self.wire, usize::MAX) {
                Ok(Some(f)) if f.total_len() <= self.wire.len() => f.total_len(),
                Ok(_) => return,
                Err(err) => panic!("session wrote a bad header ({err:?}): {:02x?}", self.wire),
            };
            let bytes: Vec<u8> = self.wire.drain(..len).collect();
            trace!("  wire {bytes:02x?}");
            // Queued before the CONNACK (an AUTH answer, on a slow
            // network): sized before its limits were known.
            let early = self.conn.before_connack > 0;
            self.conn.before_connack = self.conn.before_connack.saturating_sub(len);
            self.check_client_packet(&bytes, early);
        }
    }

    fn check_client_packet(&mut self, bytes: &[u8], early: bool) {
        let kind = bytes[0] >> 4;
        assert!(!self.conn.disconnect_seen, "{bytes:02x?} after DISCONNECT");
        if kind == 1 {
            assert!(!self.conn.connect_seen, "a second CONNECT");
            self.conn.connect_seen = true;
            return self.check_connect(bytes);
        }
        assert!(self.conn.connect_seen, "{bytes:02x?} before CONNECT");
        // The server's Maximum Packet Size binds every packet queued after
        // its CONNACK [MQTT-3.2.2-15], stored PUBLISHes included.
        let limits = self.conn.limits.filter(|_| !early);
        if let Some(max) = limits.and_then(|l| l.maximum_packet_size) {
            assert!(
                bytes.len() <= max as usize,
                "{} bytes above the server's maximum {max}: {bytes:02x?}",
                bytes.len()
            );
        }
        match kind {
            3 => self.check_publish(bytes),
            4 | 5 | 7 => self.check_ack(bytes),
            6 => {
                assert_eq!(bytes[0], 0x62);
                let id = u16::from_be_bytes([bytes[2], bytes[3]]);
                // Owed, or a released message's PUBREL resent (perhaps
                // queued before its PUBCOMP came).
                if !self.owed(bytes) {
                    assert_eq!(bytes.len(), 4, "{bytes:02x?} not owed");
                    if self.outbox.get(&id) != Some(&Out::Released) {
                        assert!(self.take_early(6, id), "PUBREL {id}");
                    }
                    self.conn.released.insert(id);
                } else if bytes.len() == 4 {
                    self.conn.released.insert(id);
                }
            }
            8 => self.check_subscribe(bytes),
            10 => self.check_unsubscribe(bytes),
            12 => {
                assert_eq!(bytes, [0xc0, 0]);
                assert_ne!(
                    self.session.keep_alive_secs(),
                    0,
                    "PINGREQ without keepalive"
                );
            }
            14 => self.check_disconnect(bytes),
            15 => self.check_auth(bytes),
            _ => panic!("a client never sends {bytes:02x?}"),
        }
    }

    fn owed(&mut self, bytes: &[u8]) -> bool {
        match self.conn.acks_due.iter().position(|due| due[..] == *bytes) {
            Some(at) => {
                self.conn.acks_due.swap_remove(at);
                true
            }
            None => false,
        }
    }

    fn check_ack(&mut self, bytes: &[u8]) {
        assert!(matches!(bytes[0], 0x40 | 0x50 | 0x70), "{bytes:02x?}");
        assert!(self.owed(bytes), "{bytes:02x?} not owed");
    }

    fn check_connect(&mut self, bytes: &[u8]) {
        let mut r = Reader::new(bytes);
        assert_eq!(r.binary(), b"MQTT");
        assert_eq!(r.u8(), 5);
        let flags = r.u8();
        assert_eq!(
            flags,
            u8::from(self.options.clean_session) << 1,
            "connect flags"
        );
        assert_eq!(r.u16(), self.options.keep_alive_secs);
        let properties = r.properties(PropertyContext::Connect);
        assert_eq!(r.string(), self.options.client_id);
        r.finish();
        // What was chosen, and only that.
        let v5 = self.v5;
        let announced = |id| properties.get(id);
        let expect = |value: u32, p: Property<'static>| (value != 0).then_some(p);
        assert_eq!(
            announced(PropertyId::SessionExpiryInterval),
            expect(
                v5.session_expiry_interval,
                Property::SessionExpiryInterval(v5.session_expiry_interval)
            )
        );
        assert_eq!(
            announced(PropertyId::ReceiveMaximum),
            expect(
                v5.receive_maximum.into(),
                Property::ReceiveMaximum(v5.receive_maximum)
            )
        );
        assert_eq!(
            announced(PropertyId::MaximumPacketSize),
            expect(
                v5.maximum_packet_size,
                Property::MaximumPacketSize(v5.maximum_packet_size)
            )
        );
        assert_eq!(
            announced(PropertyId::TopicAliasMaximum),
            expect(
                v5.topic_alias_maximum.into(),
                Property::TopicAliasMaximum(v5.topic_alias_maximum)
            )
        );
        let extra: Vec<_> = properties
            .iter()
            .filter(|p| {
                !matches!(
                    p.id(),
                    PropertyId::SessionExpiryInterval
                        | PropertyId::ReceiveMaximum
                        | PropertyId::MaximumPacketSize
                        | PropertyId::TopicAliasMaximum
                )
            })
            .collect();
        assert!(
            extra.iter().copied().eq(self.options.properties.iter()),
            "{extra:?}"
        );
    }

    fn check_publish(&mut self, bytes: &[u8]) {
        let p = match decode_from_server(bytes, usize::MAX) {
            Ok(Decoded::Packet {
                packet: ServerPacket::Publish(p),
                len,
            }) if len == bytes.len() => p,
            other => panic!("session wrote {bytes:02x?}: {other:?}"),
        };
        let limits = self
            .conn
            .limits
            .expect("PUBLISH before an accepting CONNACK");
        assert!(p
            .properties
            .get(PropertyId::SubscriptionIdentifier)
            .is_none());
        assert_eq!(p.check_payload_format(), Ok(()));
        // Stored messages too: those breaking a limit were refused.
        assert!(
            p.qos <= limits.maximum_qos,
            "QoS {:?} above the server's Maximum QoS [MQTT-3.2.2-11]: {bytes:02x?}",
            p.qos
        );
        assert!(
            !p.retain || limits.retain_available,
            "RETAIN without Retain Available [MQTT-3.2.2-14]: {bytes:02x?}"
        );
        if let Some(alias) = p.topic_alias() {
            assert!(
                alias <= limits.topic_alias_maximum,
                "Topic Alias {alias} above the server's maximum {} [MQTT-3.3.2-9]: {bytes:02x?}",
                limits.topic_alias_maximum
            );
            if p.topic.is_empty() {
                // Only the application's own QoS 0 publish goes out as an
                // alias alone (whether this connection set the alias is its
                // business); a stored message always has its topic, since
                // it may be resent where the alias means nothing.
                assert_eq!(p.qos, QoS::AtMostOnce, "stored message with an alias alone");
            }
        }
        if p.qos == QoS::AtMostOnce {
            return;
        }
        let id = p.packet_id;
        // DUP only on a resumed session [MQTT-3.3.1-1], and always then
        // for a message written before.
        assert!(
            !p.dup || self.conn.resumed,
            "DUP on a new session: {bytes:02x?}"
        );
        if self.conn.resumed && self.written_before.contains(&id) {
            assert!(p.dup, "resent without DUP: {bytes:02x?}");
        }
        let out = self.outbox.get(&id).copied();
        if out.is_none_or(|out| out == Out::Released || out.qos() != p.qos) {
            // Only what was queued before its (early) PUBACK/PUBREC.
            assert!(
                self.take_early(3, id),
                "PUBLISH {id} not in the outbox ({out:?})"
            );
            self.conn.published.insert(id);
            return;
        }
        assert!(
            self.conn.published.insert(id),
            "PUBLISH {id} twice on one connection"
        );
        // It is the stored copy, DUP aside.
        let stored = self
            .session
            .stored_packet(id)
            .expect("a message in flight is stored");
        assert_eq!(stored[0], bytes[0] & !0x08);
        assert_eq!(stored[1..], bytes[1..]);
        // The server's Receive Maximum, and the window.
        self.conn.unacked.insert(id);
        let most = WINDOW.min(limits.receive_maximum);
        assert!(
            self.conn.unacked.len() <= usize::from(most),
            "{} QoS 1/2 PUBLISHes unacknowledged, at most {most}",
            self.conn.unacked.len()
        );
    }

    fn check_subscribe(&mut self, bytes: &[u8]) {
        assert_eq!(bytes[0], 0x82);
        let mut r = Reader::new(bytes);
        let id = r.u16();
        r.properties(PropertyContext::Subscribe);
        let mut count = 0;
        while !r.is_empty() {
            let filter = r.string();
            embermq::topic::validate_topic_filter(filter).unwrap();
            let options = r.u8();
            // Reserved bits 0 [MQTT-3.8.3-5]; QoS and Retain Handling below 3.
            assert!(options & 0xc0 == 0 && options & 3 != 3 && options >> 4 & 3 != 3);
            // No Local on a shared subscription [MQTT-3.8.3-4].
            assert!(!(filter.starts_with("$share/") && options & 0x04 != 0));
            count += 1;
        }
        assert_eq!(
            self.request(id),
            Some((Request::Subscribe, count)),
            "SUBSCRIBE {id} not requested"
        );
    }

    fn check_unsubscribe(&mut self, bytes: &[u8]) {
        assert_eq!(bytes[0], 0xa2);
        let mut r = Reader::new(bytes);
        let id = r.u16();
        r.properties(PropertyContext::Unsubscribe);
        let mut count = 0;
        while !r.is_empty() {
            embermq::topic::validate_topic_filter(r.string()).unwrap();
            count += 1;
        }
        assert_eq!(
            self.request(id),
            Some((Request::Unsubscribe, count)),
            "UNSUBSCRIBE {id} not requested"
        );
    }

    /// The request `id` of this connection (answered already, perhaps).
    fn request(&mut self, id: u16) -> Option<(Request, usize)> {
        if let Some(&request) = self.conn.requests.get(&id) {
            return Some(request);
        }
        let kind = match self.conn.answered.get(&id)?.0 {
            Request::Subscribe => 8,
            Request::Unsubscribe => 10,
        };
        self.take_early(kind, id).then(|| self.conn.answered[&id])
    }

    fn check_disconnect(&mut self, bytes: &[u8]) {
        assert_eq!(bytes[0], 0xe0);
        let mut r = Reader::new(bytes);
        if !r.is_empty() {
            let reason = ReasonCode(r.u8());
            assert!(
                reason.allowed_in(ReasonPacket::Disconnect, Sender::Client),
                "{reason}"
            );
            if !r.is_empty() {
                let properties = r.properties(PropertyContext::Disconnect);
                // [MQTT-3.14.2-2]
                if self.v5.session_expiry_interval == 0 {
                    assert!(!matches!(
                        properties.get(PropertyId::SessionExpiryInterval),
                        Some(Property::SessionExpiryInterval(1..))
                    ));
                }
            }
            r.finish();
        }
        self.conn.disconnect_seen = true;
    }

    fn check_auth(&mut self, bytes: &[u8]) {
        assert_eq!(bytes[0], 0xf0);
        assert!(
            self.auth,
            "AUTH without an Authentication Method in CONNECT"
        );
        let mut r = Reader::new(bytes);
        let reason = r.u8();
        assert!(
            matches!(reason, 0x18 | 0x19),
            "AUTH {reason:#04x} from a client"
        );
        let properties = r.properties(PropertyContext::Auth);
        r.finish();
        // [MQTT-4.12.0-5]: the method of CONNECT.
        assert_eq!(
            properties.get(PropertyId::AuthenticationMethod),
            Some(Property::AuthenticationMethod(AUTH_METHOD))
        );
        assert!(self.conn.auths_due > 0, "AUTH not asked for: {bytes:02x?}");
        self.conn.auths_due -= 1;
    }

    // ---- invariants ----

    /// The in-flight window of this connection.
    fn window(&self) -> u16 {
        WINDOW.min(self.conn.limits.map_or(u16::MAX, |l| l.receive_maximum))
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            queued: self.session.queued(),
            inflight: self.session.inflight(),
            output: self.session.pending_output().to_vec(),
            state: self.session.state(),
            resend_pending: self.session.resend_pending(),
        }
    }

    /// A refused call left nothing behind.
    fn unchanged(&self, before: Snapshot) {
        assert_eq!(
            self.snapshot(),
            before,
            "a refused call changed the session"
        );
    }

    fn check(&mut self) {
        self.reconcile_qos0();
        let window = self.window();
        let s = &mut self.session;
        assert!(s.is_v5());
        assert!(
            s.inflight() <= s.queued(),
            "{} > {}",
            s.inflight(),
            s.queued()
        );
        let queued = usize::from(s.queued());
        assert_eq!(
            queued,
            self.outbox.len() + self.offline_qos0.len(),
            "queued {queued}, model {} QoS 1/2 + {} QoS 0",
            self.outbox.len(),
            self.offline_qos0.len()
        );
        assert!(self.outbox.keys().eq(self.stored.keys()));
        assert_eq!(s.has_stored_messages(), queued > 0);
        for (&id, &out) in &self.outbox {
            assert!(s.is_pending(id), "{id} not pending");
            let stored = s.stored_packet(id).expect("stored");
            match decode_from_server(stored, usize::MAX) {
                Ok(Decoded::Packet {
                    packet: ServerPacket::Publish(p),
                    len,
                }) => {
                    assert_eq!(len, stored.len());
                    assert_eq!((p.packet_id, p.qos, p.dup), (id, out.qos(), false));
                }
                other => panic!("stored copy of {id}: {other:?}"),
            }
        }
        for &id in self.conn.requests.keys() {
            assert!(s.is_pending(id), "request {id} not pending");
        }
        // With the network keeping up, output drains, and outbox messages
        // wait only for the window.
        if self.write_limit == usize::MAX {
            assert!(s.pending_output().is_empty(), "output left");
            // Messages not written on this connection yet (PUBLISH, or
            // PUBREL once released).
            let waiting: Vec<_> = self
                .outbox
                .iter()
                .filter(|&(id, &out)| match out {
                    Out::Released => !self.conn.released.contains(id),
                    _ => !self.conn.published.contains(id),
                })
                .collect();
            let stuck = !waiting.is_empty() || !self.offline_qos0.is_empty() || s.resend_pending();
            if s.state() == State::Connected && stuck {
                assert!(
                    s.inflight() >= window,
                    "messages wait ({waiting:?}, {} QoS 0, resend pending {}) with {} of {window} in flight",
                    self.offline_qos0.len(),
                    s.resend_pending(),
                    s.inflight(),
                );
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    queued: u16,
    inflight: u16,
    output: Vec<u8>,
    state: State,
    resend_pending: bool,
}

/// A message as the limits judge it (`Harness::published` numbers it).
fn message(qos: QoS, retain: bool, alias: Option<u16>, len: usize) -> Stored {
    Stored {
        seq: 0,
        qos,
        retain,
        alias,
        len,
    }
}

/// Properties as a caller's list, or written into `buf` as wire bytes.
fn properties<'a>(list: &'a [Property<'a>], wire: bool, buf: &'a mut [u8]) -> Properties<'a> {
    if !wire {
        return Properties::List(list);
    }
    let mut writer = PropertyWriter::new(buf);
    for p in list {
        writer.push(p).expect("the buffer fits the list");
    }
    writer.finish()
}

/// A whole packet: byte 0, Remaining Length, body.
fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    push_varint(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP: the short form for Success, unless
/// `long`.
fn ack(first: u8, id: u16, reason: u8, long: bool) -> Vec<u8> {
    let mut body = id.to_be_bytes().to_vec();
    if reason != 0 || long {
        body.push(reason);
        if long {
            push_properties(&mut body, &[Property::ReasonString("fuzz")]);
        }
    }
    packet(first, &body)
}

fn push_varint(out: &mut Vec<u8>, value: usize) {
    let mut buf = [0u8; 4];
    let len = embermq::codec::v5::encode_varint(value as u32, &mut buf).unwrap();
    out.extend_from_slice(&buf[..len]);
}

fn push_binary(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn push_properties(out: &mut Vec<u8>, list: &[Property<'_>]) {
    let mut buf = [0u8; 256];
    let mut writer = PropertyWriter::new(&mut buf);
    for p in list {
        writer.push(p).unwrap();
    }
    let Properties::Wire(bytes) = writer.finish() else {
        unreachable!()
    };
    push_varint(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// A cursor over the body of a packet the session wrote: running past its
/// end is a malformed packet, so a failed check.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Past the fixed header of `packet`.
    fn new(packet: &'a [u8]) -> Reader<'a> {
        let (_, len) = decode_varint(&packet[1..]).unwrap().unwrap();
        Reader {
            bytes: &packet[1 + len..],
        }
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn take(&mut self, len: usize) -> &'a [u8] {
        assert!(len <= self.bytes.len(), "field runs past the packet");
        let (taken, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        taken
    }

    fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }

    fn u16(&mut self) -> u16 {
        let b = self.take(2);
        u16::from_be_bytes([b[0], b[1]])
    }

    fn binary(&mut self) -> &'a [u8] {
        let len = self.u16();
        self.take(usize::from(len))
    }

    fn string(&mut self) -> &'a str {
        embermq::codec::mqtt_str(self.binary()).expect("an MQTT string")
    }

    fn properties(&mut self, context: PropertyContext) -> Properties<'a> {
        let (len, len_len) = decode_varint(self.bytes).unwrap().expect("Property Length");
        assert!(len <= VARINT_MAX);
        self.take(len_len);
        let bytes = self.take(len as usize);
        Properties::parse(bytes, context)
            .unwrap_or_else(|e| panic!("{context:?} properties: {e:?}"))
    }

    fn finish(&self) {
        assert!(self.bytes.is_empty(), "bytes left: {:02x?}", self.bytes);
    }
}
