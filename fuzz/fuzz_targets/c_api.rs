//! The whole firmware client driven through its C API. The input scripts
//! both sides: the broker's bytes (valid packets or raw bytes, split at any
//! point, timeouts, transport failures, slow or failing connects) and the
//! application's calls (connect, publish at every QoS with any topic and
//! payload, subscribe/unsubscribe many, poll, wait, disconnect, reconnect,
//! restore, deinit and a second client in the same storage). Callbacks
//! read their reaction from the input too and call back into the client
//! (publish, subscribe, disconnect, deinit...). Every run ends with the
//! client deinitialised. Checked on the way:
//! - no callback, hook or transport call once the client has ended;
//! - every id acknowledged (`on_published`, `on_dropped`, the persistence
//!   `remove` hook) was returned by a publish or restore and is reported
//!   once; every QoS 1/2 PUBLISH the client writes carries such an id;
//!   every SUBACK/UNSUBACK reported answers a request the client wrote;
//! - an inbound QoS 2 message is delivered at most once per id until the
//!   client has sent its PUBCOMP (or the session was lost);
//! - the transport contract: send/recv only on an open link, one close per
//!   open (or abandoned) connect, no lock held in callbacks or recv waits;
//! - everything the client writes is well-formed MQTT 3.1.1, or MQTT 5 on
//!   a connection whose CONNECT said 5.
//!
//! MQTT 5: some clients are made at protocol level 5, with input-chosen
//! CONNECT announcements, topic aliases and CONNECT/will property arrays
//! (invalid ones too: init and reconfigure must refuse those with a named
//! error; the arrays the client borrows are freed as soon as it may no
//! longer read them, so ASan sees a stale read). The fake broker answers a
//! v5 CONNECT in v5 (CONNACK, SUBACK, UNSUBACK with properties and reason
//! codes, acks with reason codes, the server's DISCONNECT and AUTH, topic
//! aliases in PUBLISH). The v5 calls (publish_v5, subscribe_v5 with
//! subscription options, unsubscribe_v5, disconnect_v5, auth) are made at
//! the top level and from callbacks, on v5 and 3.1.1 clients alike, with
//! input-chosen property arrays: random ids and numbers, NULL data with a
//! length, invalid UTF-8, NUL characters, over-long strings, repeats,
//! properties not allowed in that packet. Checked besides:
//! - every result is a named error (with a text, never EMQ_ERR_PANIC); a v5
//!   call on a 3.1.1 client never succeeds; init with valid v5 settings
//!   works and with invalid topic alias settings is EMQ_ERR_INVALID_ARGUMENT;
//! - inside every callback, `emq_client_received_properties` gives a list
//!   (empty over 3.1.1) that `emq_properties_next` walks to its end, the
//!   cursor only growing, each property inside the list with a value of its
//!   type; `emq_properties_get` finds the first of an id as the walk did;
//!   prefixes of the list and odd cursors stay inside it; the list stays as
//!   it was for the whole callback, whatever the callback does; outside
//!   callbacks the list is empty;
//! - `on_publish_failed` reports a published id (once, as `on_published`
//!   would) with a failure code; `on_unsuback` one code per filter of an
//!   UNSUBSCRIBE the client wrote, before `on_unsubscribed`; `on_auth` only
//!   on a v5 connection; `on_disconnect` never while still connected;
//! - `emq_reason_str` of every byte is a NUL-terminated text;
//! - on the wire: v5 properties valid for their packet, reason codes a
//!   client may send, no Subscription Identifier in PUBLISH, an empty topic
//!   only with a Topic Alias, no alias above the broker's maximum, a UTF-8
//!   payload where the Payload Format Indicator says so, AUTH with the
//!   CONNECT's Authentication Method, no Session Expiry in DISCONNECT after
//!   a CONNECT with 0.
//!
//! Build: `--no-default-features --features firmware`, with the library as
//! an rlib (scripts/fuzz-smoke.sh does both); the library needs `mqtt5`
//! (fuzz/Cargo.toml's `firmware` feature).
#![no_main]

use embermq::codec::v5::{
    decode_varint, Properties, Property, PropertyContext, PropertyId, PropertyType, PropertyWriter,
    ReasonCode, ReasonPacket, Sender,
};
use embermq::ffi::emq_err::*;
use embermq::ffi::*;
use libfuzzer_sys::fuzz_target;
use std::cell::Cell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr::{addr_of_mut, null, null_mut};

thread_local! {
    /// The firmware tick (the clock callback takes no user_data).
    static NOW: Cell<u32> = const { Cell::new(0) };
}

/// Time passes as the client runs (1 ms per read, as on a device), so a
/// loop that waits for a deadline without reading ends.
unsafe extern "C" fn clock() -> u32 {
    advance(1);
    NOW.with(Cell::get)
}

/// `EMQ_FUZZ_TRACE=1` prints what each run does (to triage a crash).
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

/// Known defects a run may be told to tolerate, to look past them
/// (tests/ffi_miri.rs has a reproducer of the first two), e.g.
/// `EMQ_FUZZ_ALLOW=opening-leak,closed-read`: `opening-leak`, a transport
/// whose connect is in progress is not closed by disconnect or deinit;
/// `closed-read`, poll reads from a link an on_log_event callback closed;
/// `restore-protocol`, `emq_client_restore` takes a 3.1.1 PUBLISH into an
/// MQTT 5 client (and a v5 one into a 3.1.1 client) and sends it as it is
/// (restores across protocol levels are left out); `disconnect-refused`,
/// `emq_client_disconnect_v5` refusing its arguments (or called on a 3.1.1
/// client) still calls `on_disconnect`, the client connected;
/// `auth-method`, `emq_client_auth` sends an AUTH whose Authentication
/// Method is not the CONNECT's.
fn allowed(defect: &str) -> bool {
    static ALLOW: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ALLOW
        .get_or_init(|| std::env::var("EMQ_FUZZ_ALLOW").unwrap_or_default())
        .split(',')
        .any(|d| d == defect)
}

fn advance(ms: u32) {
    NOW.with(|n| n.set(n.get().wrapping_add(ms)));
}

/// Deepest nesting of callbacks that call back into the client.
const MAX_DEPTH: u32 = 3;
/// API calls per client life, so every run ends quickly.
const MAX_OPS: usize = 300;
const TABLE_BYTES: usize = 2048;

/// Room for the client (an MQTT 5 firmware client takes about 1.1 KB).
#[repr(C, align(8))]
struct Storage([u8; 2048]);

#[repr(C, align(8))]
struct Mem {
    rx: [u8; 512],
    tx: [u8; 512],
    store: [u8; 1024],
    tables: [u8; TABLE_BYTES],
}

enum Feed {
    Bytes(Vec<u8>),
    Timeout,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Link {
    Closed,
    Opening,
    Open,
}

/// Lock hooks' state: not recursive, never held in callbacks.
struct LockState {
    depth: Cell<u32>,
}

/// Everything the harness, the fake broker and the callbacks share. Only
/// ever borrowed for a moment (`with`): callbacks nest.
struct World {
    data: Vec<u8>,
    at: usize,
    end: usize,
    // The client and its memory (raw: the client holds pointers into it).
    client: *mut emq_client,
    storage: *mut Storage,
    mem: *mut Mem,
    transport: *mut emq_transport,
    lock: *mut LockState,
    rx_size: usize,
    clean_session: bool,
    // The broker and the link.
    link: Link,
    feed: VecDeque<Feed>,
    chunk: usize,
    send_chunk: usize,
    send_stalls: u32,
    send_fails: bool,
    connect_results: VecDeque<c_int>,
    auto: bool,
    ack_publishes: bool,
    wire: Vec<u8>,
    // The model.
    /// Publish calls under way (the store hook and QoS 0 `on_published`
    /// run inside them).
    publishing: u32,
    publishing_qos0: u32,
    outstanding: HashSet<u16>,
    /// Ids reported inside the publish call that returns them.
    early: HashSet<u16>,
    sub_wire: HashSet<u16>,
    /// UNSUBSCRIBEs written and not yet reported: id and filter count.
    unsub_wire: HashMap<u16, usize>,
    /// Inbound QoS 2 ids delivered and not yet completed (PUBCOMP), per
    /// receiver: 0 for on_message/on_overflow, else a handler's tag (with
    /// `all_matching_handlers` each matching handler gets the message).
    inbound_open: HashSet<(u32, u16)>,
    /// The user_data of each handler subscribed in this run.
    tags: Vec<*mut HandlerTag>,
    /// What the store hook was given: id, packet, and the protocol level
    /// of the client that stored it.
    saved: Vec<(u16, Vec<u8>, u8)>,
    store_fails: bool,
    depth: u32,
    deinit_requested: bool,
    freed: bool,
    ops: usize,
    // MQTT 5.
    /// The protocol level the client is configured for (init, reconfigure).
    level: u8,
    /// The property arrays the client borrows (its options'): freed when
    /// it may no longer read them (deinit, a reconfigure that took others).
    options_memory: Vec<PropList>,
    /// The options themselves, which a firmware client keeps a pointer to
    /// (init, reconfigure): freed with `options_memory`.
    options: Option<Box<emq_options>>,
    /// The Authentication Method among the configured CONNECT properties.
    method: Option<Vec<u8>>,
    /// The link's CONNECT said 5: the broker speaks MQTT 5.
    v5: bool,
    /// The link's CONNECT: its Authentication Method, and whether its
    /// Session Expiry Interval was 0.
    link_method: Option<Vec<u8>>,
    expiry_zero: bool,
    /// The highest Topic Alias Maximum of an accepting CONNACK on the link.
    server_alias_max: u16,
}

fn with<R>(w: *mut World, f: impl FnOnce(&mut World) -> R) -> R {
    // SAFETY: the world outlives every client and callback of the run, and
    // no other borrow of it is alive (borrows never span a call into the
    // client).
    f(unsafe { &mut *w })
}

impl World {
    /// The next input byte (0 once the input is used up): the
    /// application's steps read from the front, callbacks (and what they
    /// do) from the back, so a change in how many callbacks run does not
    /// shift the steps.
    fn byte(&mut self) -> u8 {
        if self.depth > 0 {
            return self.back_byte();
        }
        let b = if self.at < self.end {
            self.data[self.at]
        } else {
            0
        };
        self.at += 1;
        b
    }

    fn back_byte(&mut self) -> u8 {
        if self.end > self.at {
            self.end -= 1;
            self.data[self.end]
        } else {
            0
        }
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    fn done(&self) -> bool {
        self.at >= self.end
    }

    /// The client has ended: its link must be closed.
    fn link_closed_at_end(&mut self) {
        if self.link == Link::Opening && allowed("opening-leak") {
            self.link = Link::Closed;
        }
        assert_eq!(self.link, Link::Closed, "the link outlived the client");
    }

    /// `on_published` or `on_dropped` for `id`: reported once, for an id a
    /// publish returned, or (the link failing inside the call) for the one a
    /// publish under way is about to return.
    fn resolved(&mut self, id: u16, what: &str) {
        if !self.outstanding.remove(&id) {
            assert!(self.publishing > 0, "{what}({id}): not published");
            assert!(self.early.insert(id), "{what}({id}) twice");
        }
    }

    fn live(&self) -> bool {
        !self.client.is_null()
    }

    /// The client has ended (deinit took effect): what it borrowed may go.
    fn ended(&mut self) {
        self.client = null_mut();
        self.freed = true;
        self.options_memory.clear();
        self.options = None;
    }

    /// Every callback and hook: never after the client ended.
    fn entered(&mut self, what: &str) {
        trace!("  {what}");
        assert!(!self.freed, "{what} after the client ended");
        // SAFETY: the lock state lives as long as the world.
        if let Some(lock) = unsafe { self.lock.as_ref() } {
            assert_eq!(lock.depth.get(), 0, "lock held while {what} runs");
        }
    }

    /// An id the broker acknowledges: mostly one in use, sometimes any.
    fn pick_id(&mut self, set: &[u16]) -> u16 {
        let b = self.byte();
        if b < 224 && !set.is_empty() {
            set[usize::from(b) % set.len()]
        } else {
            self.u16()
        }
    }

    fn topic(&mut self) -> CString {
        const NAMES: [&[u8]; 10] = [
            b"a", b"a/b", b"fz/t", b"$SYS/x", b"", b"a/#", b"+", b"a\xff", b"h/x", b"a/b/c/d",
        ];
        let b = self.byte();
        match b {
            0..=199 => CString::new(NAMES[usize::from(b) % NAMES.len()]).unwrap(),
            200..=219 => CString::new(vec![b'L'; 300]).unwrap(),
            _ => {
                let n = usize::from(self.byte() % 24);
                let mut raw = self.bytes(n);
                raw.retain(|&c| c != 0);
                CString::new(raw).unwrap()
            }
        }
    }

    fn filter(&mut self) -> CString {
        const FILTERS: [&[u8]; 10] = [
            b"#", b"a/#", b"a/+", b"+/+", b"a/b", b"$SYS/#", b"a/#/b", b"", b"h/#", b"fz/t",
        ];
        let b = self.byte();
        match b {
            0..=219 => CString::new(FILTERS[usize::from(b) % FILTERS.len()]).unwrap(),
            _ => {
                let n = usize::from(self.byte() % 16);
                let mut raw = self.bytes(n);
                raw.retain(|&c| c != 0);
                CString::new(raw).unwrap()
            }
        }
    }

    fn payload(&mut self) -> Vec<u8> {
        let b = self.byte();
        match b {
            0..=239 => {
                let n = usize::from(b % 40);
                self.bytes(n)
            }
            _ => vec![b; usize::from(b) * 4],
        }
    }

    /// What the client wrote, packet by packet: well-formed, and the ids
    /// it carries are the model's.
    fn on_wire(&mut self, packet: Pkt) {
        match packet {
            Pkt::Publish {
                qos,
                id,
                dup,
                alias,
            } => {
                if let Some((alias, topic)) = alias {
                    assert!(
                        (1..=self.server_alias_max).contains(&alias),
                        "Topic Alias {alias} above the broker's maximum {}",
                        self.server_alias_max
                    );
                    if topic.is_empty() {
                        trace!("  alias {alias} alone");
                    }
                }
                if qos > 0 {
                    if !self.outstanding.contains(&id) {
                        // Only a publish call under way sends a new id.
                        assert!(
                            self.publishing > 0 && !dup,
                            "PUBLISH with id {id} nobody published"
                        );
                        self.outstanding.insert(id);
                    }
                    if self.auto && self.ack_publishes {
                        self.feed
                            .push_back(Feed::Bytes(ack(if qos == 1 { 0x40 } else { 0x50 }, id)));
                    }
                }
            }
            Pkt::PubComp(id) => {
                self.inbound_open.retain(|open| open.1 != id);
            }
            Pkt::PubRec(id) if self.auto => self.feed.push_back(Feed::Bytes(ack(0x62, id))),
            Pkt::PubRel(id) if self.auto => self.feed.push_back(Feed::Bytes(ack(0x70, id))),
            Pkt::Subscribe { id, count } => {
                self.sub_wire.insert(id);
                if self.auto {
                    let codes: Vec<u8> = (0..count).map(|i| [0, 1, 2, 0x80][i % 4]).collect();
                    let bytes = if self.v5 {
                        suback_v5(id, &[], &codes)
                    } else {
                        suback(id, &codes)
                    };
                    self.feed.push_back(Feed::Bytes(bytes));
                }
            }
            Pkt::Unsubscribe { id, count } => {
                self.unsub_wire.insert(id, count);
                if self.auto {
                    let bytes = if self.v5 {
                        let codes: Vec<u8> = (0..count).map(|i| [0, 0x11][i % 2]).collect();
                        unsuback_v5(id, &[], &codes)
                    } else {
                        ack(0xB0, id)
                    };
                    self.feed.push_back(Feed::Bytes(bytes));
                }
            }
            Pkt::Connect { v5, method, expiry } => {
                self.v5 = v5;
                self.link_method = method;
                self.expiry_zero = expiry == 0;
                if self.auto {
                    let connack = if v5 {
                        // Accepted, Topic Alias Maximum 2.
                        self.server_alias_max = 2;
                        vec![0x20, 6, 0, 0, 3, 0x22, 0, 2]
                    } else {
                        vec![0x20, 2, 0, 0]
                    };
                    self.feed.push_back(Feed::Bytes(connack));
                }
            }
            Pkt::PingReq if self.auto => self.feed.push_back(Feed::Bytes(vec![0xD0, 0])),
            Pkt::Disconnect { expiry } => {
                // [MQTT-3.14.2-2]
                assert!(
                    expiry == 0 || !self.expiry_zero,
                    "DISCONNECT with Session Expiry {expiry} after a CONNECT with 0"
                );
            }
            Pkt::Auth { reason, method } => {
                trace!("  AUTH {reason:#04x}");
                assert!(self.v5, "AUTH over MQTT 3.1.1");
                assert!(method.is_some(), "AUTH without an Authentication Method");
                // [MQTT-4.12.1-1]
                assert!(
                    method == self.link_method || allowed("auth-method"),
                    "AUTH with method {method:?}, CONNECT's {:?}",
                    self.link_method
                );
                if self.auto {
                    // Authentication done.
                    let props = auth_method_props(method.as_deref().unwrap_or(b"m"), b"");
                    self.feed
                        .push_back(Feed::Bytes(with_reason(0xF0, 0, &props)));
                }
            }
            _ => {}
        }
    }
}

// --- MQTT bytes -------------------------------------------------------------

fn frame(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut len = body.len();
    loop {
        let byte = (len % 128) as u8;
        len /= 128;
        out.push(if len > 0 { byte | 0x80 } else { byte });
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

fn ack(first: u8, id: u16) -> Vec<u8> {
    let [hi, lo] = id.to_be_bytes();
    vec![first, 2, hi, lo]
}

fn suback(id: u16, codes: &[u8]) -> Vec<u8> {
    let mut body = id.to_be_bytes().to_vec();
    body.extend_from_slice(codes);
    frame(0x90, &body)
}

fn publish(topic: &[u8], payload: &[u8], flags: u8, id: u16) -> Vec<u8> {
    let mut body = (topic.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(topic);
    if flags & 6 != 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    frame(0x30 | (flags & 0x0f), &body)
}

/// What the model needs of a packet the client wrote.
#[derive(Debug)]
enum Pkt {
    /// `method`: the Authentication Method (v5); `expiry`: the Session
    /// Expiry Interval (v5; 0 when absent).
    Connect {
        v5: bool,
        method: Option<Vec<u8>>,
        expiry: u32,
    },
    /// `alias`: a v5 Topic Alias and the topic sent with it (empty: the
    /// alias alone).
    Publish {
        qos: u8,
        id: u16,
        dup: bool,
        alias: Option<(u16, Vec<u8>)>,
    },
    PubAck,
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    Subscribe {
        id: u16,
        count: usize,
    },
    Unsubscribe {
        id: u16,
        count: usize,
    },
    PingReq,
    /// `expiry`: the v5 Session Expiry Interval (0 when absent).
    Disconnect {
        expiry: u32,
    },
    Auth {
        reason: u8,
        method: Option<Vec<u8>>,
    },
}

fn str_at(body: &[u8], at: usize) -> usize {
    assert!(at + 2 <= body.len(), "string past the packet");
    let len = usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
    assert!(at + 2 + len <= body.len(), "string past the packet");
    let text = std::str::from_utf8(&body[at + 2..at + 2 + len]).expect("a client string is UTF-8");
    assert!(!text.contains('\0'), "a client string with U+0000");
    at + 2 + len
}

/// Binary Data (a two-byte length and the bytes).
fn bin_at(body: &[u8], at: usize) -> usize {
    assert!(at + 2 <= body.len(), "binary data past the packet");
    let len = usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
    assert!(at + 2 + len <= body.len(), "binary data past the packet");
    at + 2 + len
}

fn id_at(body: &[u8], at: usize) -> u16 {
    assert!(at + 2 <= body.len(), "packet id past the packet");
    let id = u16::from_be_bytes([body[at], body[at + 1]]);
    assert_ne!(id, 0, "packet id 0");
    id
}

/// A topic name (PUBLISH, will): no wildcards.
fn topic_name(topic: &[u8]) {
    assert!(
        !topic.iter().any(|&c| c == b'+' || c == b'#'),
        "wildcard in the topic name {:?}",
        String::from_utf8_lossy(topic)
    );
}

/// The MQTT 5 property list at `at` (its length, then the properties),
/// valid for `context`, and where it ends.
fn props_at(body: &[u8], at: usize, context: PropertyContext) -> (Properties<'_>, usize) {
    assert!(at < body.len(), "{context:?} properties past the packet");
    let (len, used) = decode_varint(&body[at..])
        .unwrap_or_else(|e| panic!("{context:?} property length: {e:?}"))
        .expect("property length past the packet");
    let start = at + used;
    let end = start + len as usize;
    assert!(end <= body.len(), "{context:?} properties past the packet");
    let props = Properties::parse(&body[start..end], context)
        .unwrap_or_else(|e| panic!("the client wrote bad {context:?} properties: {e:?}"));
    (props, end)
}

/// A v5 CONNECT, checked field by field.
fn connect_v5(body: &[u8]) -> Pkt {
    let i = str_at(body, 0);
    assert_eq!(&body[2..i], b"MQTT");
    let flags = body[i + 1];
    assert_eq!(flags & 1, 0, "CONNECT reserved flag");
    assert!(flags >> 3 & 3 < 3, "will QoS 3");
    let (props, i) = props_at(body, i + 4, PropertyContext::Connect);
    let method = match props.get(PropertyId::AuthenticationMethod) {
        Some(Property::AuthenticationMethod(m)) => Some(m.as_bytes().to_vec()),
        _ => None,
    };
    let expiry = match props.get(PropertyId::SessionExpiryInterval) {
        Some(Property::SessionExpiryInterval(s)) => s,
        _ => 0,
    };
    let mut i = str_at(body, i);
    if flags & 4 != 0 {
        let (_, at) = props_at(body, i, PropertyContext::Will);
        i = str_at(body, at);
        assert!(i > at + 2, "empty will topic");
        topic_name(&body[at + 2..i]);
        i = bin_at(body, i);
    } else {
        assert_eq!(flags & 0x38, 0, "will QoS or retain without a will");
    }
    if flags & 0x80 != 0 {
        i = str_at(body, i);
    }
    if flags & 0x40 != 0 {
        i = bin_at(body, i);
    }
    assert_eq!(i, body.len(), "CONNECT with bytes after its fields");
    Pkt::Connect {
        v5: true,
        method,
        expiry,
    }
}

/// The first whole packet the client wrote, checked (as MQTT 5 when `v5`,
/// or when it is a v5 CONNECT), and its length.
fn parse(wire: &[u8], v5: bool) -> Option<(Pkt, usize)> {
    let mut len = 0usize;
    let mut at = 1;
    for shift in 0..4 {
        let byte = *wire.get(at)?;
        at += 1;
        len |= usize::from(byte & 0x7f) << (7 * shift);
        if byte & 0x80 == 0 {
            break;
        }
        assert!(shift < 3, "remaining length over four bytes");
    }
    let body = wire.get(at..at + len)?;
    let (kind, flags) = (wire[0] >> 4, wire[0] & 0x0f);
    let two = |expected: u8| {
        assert_eq!(flags, expected, "flags of packet type {kind}");
        assert_eq!(len, 2, "length of packet type {kind}");
        id_at(body, 0)
    };
    // A v5 acknowledgement: the id, then a reason code and properties
    // (both may be left out).
    let ack_v5 = |expected: u8, packet: ReasonPacket| {
        assert_eq!(flags, expected, "flags of packet type {kind}");
        let id = id_at(body, 0);
        if len > 2 {
            assert!(
                ReasonCode(body[2]).allowed_in(packet, Sender::Client),
                "{packet:?} with reason {:#04x}",
                body[2]
            );
        }
        if len > 3 {
            let (_, end) = props_at(body, 3, PropertyContext::PubResponse);
            assert_eq!(end, len, "{packet:?} with bytes after its properties");
        }
        id
    };
    let packet = match kind {
        1 => {
            assert_eq!(flags, 0);
            let i = str_at(body, 0);
            assert!(i < body.len(), "CONNECT without a protocol level");
            if body[i] == 5 {
                connect_v5(body)
            } else {
                assert!(body[i] == 3 || body[i] == 4, "protocol level");
                Pkt::Connect {
                    v5: false,
                    method: None,
                    expiry: 0,
                }
            }
        }
        3 => {
            let qos = (flags >> 1) & 3;
            assert!(qos < 3, "PUBLISH at QoS 3");
            assert!(qos > 0 || flags & 8 == 0, "DUP on QoS 0");
            let i = str_at(body, 0);
            let topic = &body[2..i];
            topic_name(topic);
            let id = if qos > 0 { id_at(body, i) } else { 0 };
            let mut alias = None;
            if v5 {
                let at = if qos > 0 { i + 2 } else { i };
                let (props, end) = props_at(body, at, PropertyContext::Publish);
                assert!(
                    props.get(PropertyId::SubscriptionIdentifier).is_none(),
                    "a client's PUBLISH with a Subscription Identifier"
                );
                if let Some(Property::TopicAlias(n)) = props.get(PropertyId::TopicAlias) {
                    alias = Some((n, topic.to_vec()));
                }
                if let Some(Property::PayloadFormatIndicator(true)) =
                    props.get(PropertyId::PayloadFormatIndicator)
                {
                    std::str::from_utf8(&body[end..])
                        .expect("Payload Format Indicator 1 on a payload not UTF-8");
                }
                assert!(
                    !topic.is_empty() || alias.is_some(),
                    "PUBLISH with an empty topic and no Topic Alias"
                );
            } else {
                assert!(!topic.is_empty(), "PUBLISH with an empty topic");
            }
            Pkt::Publish {
                qos,
                id,
                dup: flags & 8 != 0,
                alias,
            }
        }
        4 if v5 => {
            ack_v5(0, ReasonPacket::PubAck);
            Pkt::PubAck
        }
        5 if v5 => Pkt::PubRec(ack_v5(0, ReasonPacket::PubRec)),
        6 if v5 => Pkt::PubRel(ack_v5(2, ReasonPacket::PubRel)),
        7 if v5 => Pkt::PubComp(ack_v5(0, ReasonPacket::PubComp)),
        4 => {
            two(0);
            Pkt::PubAck
        }
        5 => Pkt::PubRec(two(0)),
        6 => Pkt::PubRel(two(2)),
        7 => Pkt::PubComp(two(0)),
        8 => {
            assert_eq!(flags, 2);
            let id = id_at(body, 0);
            let mut i = 2;
            if v5 {
                i = props_at(body, i, PropertyContext::Subscribe).1;
            }
            let mut count = 0;
            while i < body.len() {
                i = str_at(body, i);
                assert!(i < body.len(), "SUBSCRIBE filter without options");
                let options = body[i];
                assert!(options & 3 < 3, "requested QoS");
                if v5 {
                    assert_eq!(options & 0xc0, 0, "subscription options reserved bits");
                    assert!(options >> 4 & 3 < 3, "Retain Handling 3");
                } else {
                    assert!(options < 3, "requested QoS");
                }
                i += 1;
                count += 1;
            }
            assert!(count > 0, "SUBSCRIBE without filters");
            Pkt::Subscribe { id, count }
        }
        10 => {
            assert_eq!(flags, 2);
            let id = id_at(body, 0);
            let mut i = 2;
            if v5 {
                i = props_at(body, i, PropertyContext::Unsubscribe).1;
            }
            let mut count = 0;
            while i < body.len() {
                i = str_at(body, i);
                count += 1;
            }
            assert!(count > 0, "UNSUBSCRIBE without filters");
            Pkt::Unsubscribe { id, count }
        }
        12 => {
            assert_eq!((flags, len), (0, 0));
            Pkt::PingReq
        }
        14 if v5 => {
            assert_eq!(flags, 0);
            let mut expiry = 0;
            if len > 0 {
                assert!(
                    ReasonCode(body[0]).allowed_in(ReasonPacket::Disconnect, Sender::Client),
                    "DISCONNECT with reason {:#04x}",
                    body[0]
                );
            }
            if len > 1 {
                let (props, end) = props_at(body, 1, PropertyContext::Disconnect);
                assert_eq!(end, len, "DISCONNECT with bytes after its properties");
                if let Some(Property::SessionExpiryInterval(s)) =
                    props.get(PropertyId::SessionExpiryInterval)
                {
                    expiry = s;
                }
            }
            Pkt::Disconnect { expiry }
        }
        14 => {
            assert_eq!((flags, len), (0, 0));
            Pkt::Disconnect { expiry: 0 }
        }
        15 if v5 => {
            assert_eq!(flags, 0);
            assert!(len > 0, "a client's AUTH without a reason code");
            let reason = body[0];
            assert!(
                reason == 0x18 || reason == 0x19,
                "AUTH with reason {reason:#04x}"
            );
            let (props, end) = props_at(body, 1, PropertyContext::Auth);
            assert_eq!(end, len, "AUTH with bytes after its properties");
            let method = match props.get(PropertyId::AuthenticationMethod) {
                Some(Property::AuthenticationMethod(m)) => Some(m.as_bytes().to_vec()),
                _ => None,
            };
            Pkt::Auth { reason, method }
        }
        other => panic!("a client never sends packet type {other}"),
    };
    Some((packet, at + len))
}

// --- MQTT 5 bytes from the broker ------------------------------------------

fn varint(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n % 128) as u8;
        n /= 128;
        out.push(if n > 0 { byte | 0x80 } else { byte });
        if n == 0 {
            return out;
        }
    }
}

/// A property list with its length in front.
fn with_length(props: &[u8]) -> Vec<u8> {
    let mut out = varint(props.len());
    out.extend_from_slice(props);
    out
}

/// A packet of a reason code and properties (DISCONNECT, AUTH).
fn with_reason(first: u8, reason: u8, props: &[u8]) -> Vec<u8> {
    let mut body = vec![reason];
    body.extend(with_length(props));
    frame(first, &body)
}

fn suback_v5(id: u16, props: &[u8], codes: &[u8]) -> Vec<u8> {
    let mut body = id.to_be_bytes().to_vec();
    body.extend(with_length(props));
    body.extend_from_slice(codes);
    frame(0x90, &body)
}

fn unsuback_v5(id: u16, props: &[u8], codes: &[u8]) -> Vec<u8> {
    let mut body = id.to_be_bytes().to_vec();
    body.extend(with_length(props));
    body.extend_from_slice(codes);
    frame(0xB0, &body)
}

fn publish_v5(topic: &[u8], payload: &[u8], flags: u8, id: u16, props: &[u8]) -> Vec<u8> {
    let mut body = (topic.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(topic);
    if flags & 6 != 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend(with_length(props));
    body.extend_from_slice(payload);
    frame(0x30 | (flags & 0x0f), &body)
}

/// A whole MQTT 5 PUBLISH a client may send (what a v5 client's store
/// hook gets).
fn is_v5_publish(bytes: &[u8]) -> bool {
    use embermq::codec::v5::{decode_from_server, Decoded, ServerPacket};
    matches!(
        decode_from_server(bytes, usize::MAX),
        Ok(Decoded::Packet { packet: ServerPacket::Publish(p), len })
            if len == bytes.len()
                && !p.topic.is_empty()
                && p.properties.get(PropertyId::SubscriptionIdentifier).is_none()
                && p.properties.get(PropertyId::TopicAlias).is_none()
    )
}

/// Authentication Method `method`, and Authentication Data unless empty.
fn auth_method_props(method: &[u8], data: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 128];
    let mut writer = PropertyWriter::new(&mut buf);
    if let Ok(text) = std::str::from_utf8(method) {
        let _ = writer.push(&Property::AuthenticationMethod(text));
    }
    if !data.is_empty() {
        let _ = writer.push(&Property::AuthenticationData(data));
    }
    let len = writer.len();
    buf[..len].to_vec()
}

/// The property identifiers MQTT 5 defines.
const KNOWN_IDS: [u8; 27] = [
    0x01, 0x02, 0x03, 0x08, 0x09, 0x0b, 0x11, 0x12, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1c,
    0x1f, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
];

/// The identifiers allowed in `context`.
fn allowed_ids(context: PropertyContext) -> Vec<u8> {
    KNOWN_IDS
        .iter()
        .copied()
        .filter(|&id| PropertyId::from_u8(id).is_some_and(|id| id.allowed_in(context)))
        .collect()
}

/// Properties a broker sends in a packet of `context` (valid, mostly:
/// values may break the packet's rules, and a few odd bytes may follow),
/// without their length.
fn server_props(w: &mut World, context: PropertyContext) -> Vec<u8> {
    const TEXT: [&[u8]; 6] = [b"", b"a", b"r/s", b"m", b"\xff", b"abcdefghijkl"];
    let b = w.byte();
    let n = [0, 0, 0, 1, 1, 1, 2, 3][usize::from(b & 7)];
    let allowed = allowed_ids(context);
    let mut buf = [0u8; 256];
    let mut writer = PropertyWriter::new(&mut buf);
    for _ in 0..n {
        let k = w.byte();
        let id = if k < 224 && !allowed.is_empty() {
            allowed[usize::from(k) % allowed.len()]
        } else {
            KNOWN_IDS[usize::from(k) % KNOWN_IDS.len()]
        };
        let id = PropertyId::from_u8(id).expect("a known id");
        let s = w.byte();
        let number = match s % 12 {
            0 => 0,
            1..=3 => 1,
            4 => 2,
            5 => 3,
            6 => 5,
            7 => 20,
            8 => 64,
            9 => 65535,
            10 => 268_435_455,
            _ => u32::from(w.u16()),
        };
        let text = TEXT[usize::from(s / 12) % TEXT.len()];
        if let Ok(p) = Property::from_parts(id, number, text, b"v") {
            let _ = writer.push(&p);
        }
    }
    let len = writer.len();
    let mut out = buf[..len].to_vec();
    if b & 0xc0 == 0xc0 {
        out.push(w.byte());
        out.push(w.byte());
    }
    out
}

/// A v5 acknowledgement (PUBACK, PUBREC, PUBREL, PUBCOMP) in one of its
/// forms: the id alone, with a reason code, with properties too.
fn ack_v5(w: &mut World, first: u8, id: u16) -> Vec<u8> {
    let b = w.byte();
    if b % 4 < 2 {
        return ack(first, id);
    }
    let reason = match b >> 2 & 7 {
        0 | 1 => 0,
        2 => 0x10,
        3 => 0x80,
        4 => 0x87,
        5 => 0x97,
        6 => 0x92,
        _ => w.byte(),
    };
    let mut body = id.to_be_bytes().to_vec();
    body.push(reason);
    if b % 4 == 3 {
        body.extend(with_length(&server_props(w, PropertyContext::PubResponse)));
    }
    frame(first, &body)
}

/// A packet from an MQTT 5 broker, well-formed but not necessarily
/// expected or valid (reason codes and properties are the input's).
fn broker_packet_v5(w: &mut World, kind: u8) -> Vec<u8> {
    use PropertyContext as P;
    match kind % 11 {
        0 => {
            let b = w.byte();
            let reason = match b & 15 {
                0..=4 => 0,
                5 => 0x80,
                6 => 0x86,
                7 => 0x87,
                8 => 0x9c,
                9 => 0x88,
                10 => 0x01,
                11 => 0x95,
                _ => w.byte(),
            };
            let props = server_props(w, P::ConnAck);
            if reason < 0x80 {
                if let Ok(list) = Properties::parse(&props, P::ConnAck) {
                    let max = match list.get(PropertyId::TopicAliasMaximum) {
                        Some(Property::TopicAliasMaximum(n)) => n,
                        _ => 0,
                    };
                    w.server_alias_max = w.server_alias_max.max(max);
                }
            }
            let flags = if b >> 5 == 7 { 2 } else { b >> 4 & 1 };
            let mut body = vec![flags, reason];
            body.extend(with_length(&props));
            frame(0x20, &body)
        }
        1 | 2 => {
            let flags = w.byte();
            let topic = w.topic().into_bytes();
            let payload = w.payload();
            let qos = (flags >> 1) & 3;
            let id = if qos == 2 && flags & 0x80 != 0 {
                let open: Vec<u16> = w.inbound_open.iter().map(|open| open.1).collect();
                w.pick_id(&open)
            } else {
                w.u16()
            };
            let props = server_props(w, P::Publish);
            publish_v5(&topic, &payload, flags, id, &props)
        }
        3..=5 => {
            let out: Vec<u16> = w.outstanding.iter().copied().collect();
            let id = w.pick_id(&out);
            ack_v5(w, [0x40, 0x50, 0x70][usize::from(kind % 11 - 3)], id)
        }
        6 => {
            let open: Vec<u16> = w.inbound_open.iter().map(|open| open.1).collect();
            let id = w.pick_id(&open);
            ack_v5(w, 0x62, id)
        }
        7 => {
            let subs: Vec<u16> = w.sub_wire.iter().copied().collect();
            let id = w.pick_id(&subs);
            let n = usize::from(w.byte() % 9);
            let codes: Vec<u8> = (0..n)
                .map(|_| [0, 1, 2, 0x80, 0x87, 0x91, 0x97, 0xa2, 3][usize::from(w.byte() % 9)])
                .collect();
            let props = server_props(w, P::SubAck);
            suback_v5(id, &props, &codes)
        }
        8 => {
            let unsubs: Vec<u16> = w.unsub_wire.keys().copied().collect();
            let id = w.pick_id(&unsubs);
            let b = w.byte();
            let n = match w.unsub_wire.get(&id) {
                Some(&count) if b & 0x80 == 0 => count,
                _ => usize::from(b % 9),
            };
            let codes: Vec<u8> = (0..n)
                .map(|_| [0, 0x11, 0x80, 0x87, 0x8f, 0x91, 5][usize::from(w.byte() % 7)])
                .collect();
            let props = server_props(w, P::UnsubAck);
            unsuback_v5(id, &props, &codes)
        }
        9 if kind & 0x80 != 0 => vec![0xD0, 0],
        9 => {
            let b = w.byte();
            let reason = match b & 7 {
                0 => 0,
                1 => 0x80,
                2 => 0x8b,
                3 => 0x8e,
                4 => 0x9c,
                5 => 0x04,
                _ => w.byte(),
            };
            match b >> 3 & 3 {
                0 => vec![0xE0, 0],
                1 => vec![0xE0, 1, reason],
                _ => with_reason(0xE0, reason, &server_props(w, P::Disconnect)),
            }
        }
        _ => {
            let b = w.byte();
            let reason = match b & 7 {
                0..=3 => 0x18,
                4 => 0,
                5 => 0x19,
                _ => w.byte(),
            };
            let props = match b >> 3 & 3 {
                0 => return vec![0xF0, 0],
                1 => server_props(w, P::Auth),
                _ => {
                    let method = w.link_method.clone().unwrap_or(b"m".to_vec());
                    auth_method_props(&method, if b & 0x80 != 0 { b"d" } else { b"" })
                }
            };
            with_reason(0xF0, reason, &props)
        }
    }
}

// --- transport callbacks: the broker ----------------------------------------

unsafe extern "C" fn t_connect(ud: *mut c_void, _: *const c_char, _: u16, _: u32) -> c_int {
    with(ud.cast(), |w| {
        assert!(!w.freed, "transport connect after the client ended");
        assert_ne!(w.link, Link::Open, "connect on an open link");
        let result = w.connect_results.pop_front().unwrap_or(0);
        w.link = match result {
            0 => Link::Open,
            1 => Link::Opening,
            _ => Link::Closed,
        };
        w.wire.clear();
        w.feed.clear();
        // A new link: its CONNECT says which protocol it speaks.
        w.v5 = false;
        w.link_method = None;
        w.server_alias_max = 0;
        result
    })
}

unsafe extern "C" fn t_send(ud: *mut c_void, buf: *const u8, len: usize, timeout: u32) -> c_int {
    with(ud.cast(), |w| {
        assert!(!w.freed, "send after the client ended");
        assert_eq!(w.link, Link::Open, "send on a link not open");
        assert!(len > 0 && !buf.is_null());
        if w.send_fails {
            return -1;
        }
        if w.send_stalls > 0 {
            w.send_stalls -= 1;
            advance(timeout);
            return 0;
        }
        let n = if w.send_chunk == 0 {
            len
        } else {
            len.min(w.send_chunk)
        };
        // SAFETY: the client hands `len` readable bytes.
        w.wire
            .extend_from_slice(unsafe { std::slice::from_raw_parts(buf, n) });
        while let Some((packet, used)) = parse(&w.wire, w.v5) {
            w.wire.drain(..used);
            trace!("  client wrote {packet:?}");
            w.on_wire(packet);
        }
        n as c_int
    })
}

unsafe extern "C" fn t_recv(ud: *mut c_void, buf: *mut u8, len: usize, timeout: u32) -> c_int {
    with(ud.cast(), |w| {
        assert!(!w.freed, "recv after the client ended");
        if w.link != Link::Open && allowed("closed-read") {
            return -1;
        }
        assert_eq!(w.link, Link::Open, "recv on a link not open");
        assert!(len > 0 && !buf.is_null());
        if timeout > 0 {
            // SAFETY: the lock state lives as long as the world.
            if let Some(lock) = unsafe { w.lock.as_ref() } {
                assert_eq!(lock.depth.get(), 0, "lock held over a recv wait");
            }
        }
        match w.feed.pop_front() {
            None => {
                advance(timeout);
                0
            }
            Some(Feed::Timeout) => {
                advance(timeout.min(1));
                0
            }
            Some(Feed::Fail) => -1,
            Some(Feed::Bytes(mut bytes)) => {
                let limit = if w.chunk == 0 { len } else { len.min(w.chunk) };
                let n = bytes.len().min(limit);
                // SAFETY: the client hands `len` writable bytes; n <= len.
                unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, n) };
                if n < bytes.len() {
                    bytes.drain(..n);
                    w.feed.push_front(Feed::Bytes(bytes));
                }
                n as c_int
            }
        }
    })
}

unsafe extern "C" fn t_close(ud: *mut c_void) {
    with(ud.cast(), |w| {
        assert!(!w.freed, "close after the client ended");
        assert_ne!(w.link, Link::Closed, "close without an open link");
        w.link = Link::Closed;
        w.feed.clear();
        w.wire.clear();
    })
}

unsafe extern "C" fn lock(ud: *mut c_void) {
    // SAFETY: the lock state lives as long as the world.
    let s = unsafe { &*ud.cast::<LockState>() };
    assert_eq!(s.depth.get(), 0, "lock taken twice");
    s.depth.set(1);
}

unsafe extern "C" fn unlock(ud: *mut c_void) {
    // SAFETY: as for `lock`.
    let s = unsafe { &*ud.cast::<LockState>() };
    assert_eq!(s.depth.get(), 1, "unlock without lock");
    s.depth.set(0);
}

// --- MQTT 5: received properties, named errors -------------------------------

const EMPTY_PROPERTIES: emq_properties = emq_properties {
    bytes: null(),
    len: 0,
};

const EMPTY_PROPERTY: emq_property = emq_property {
    id: 0,
    number: 0,
    data: null(),
    data_len: 0,
    value: null(),
    value_len: 0,
};

/// A result the header names: never EMQ_ERR_PANIC, always with a text.
fn named(result: emq_err) -> emq_err {
    assert_ne!(result, EMQ_ERR_PANIC);
    // SAFETY: a static NUL-terminated text.
    let text = unsafe { CStr::from_ptr(emq_err_str(result as c_int)) };
    assert_ne!(
        text.to_bytes(),
        b"unknown error",
        "{result:?} without a text"
    );
    result
}

/// `emq_reason_str` of every byte: a static NUL-terminated text.
fn reason_texts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for code in 0..=255u8 {
            let text = emq_reason_str(code);
            assert!(!text.is_null());
            // SAFETY: a static NUL-terminated text per the API.
            let text = unsafe { CStr::from_ptr(text) };
            assert!(!text.to_bytes().is_empty() && text.to_str().is_ok());
        }
    });
}

fn same_property(a: &emq_property, b: &emq_property) -> bool {
    (a.id, a.number, a.data, a.data_len, a.value, a.value_len)
        == (b.id, b.number, b.data, b.data_len, b.value, b.value_len)
}

/// A property `emq_properties_next` or `_get` read from `props`: a known
/// id with a value of its type, its bytes inside the list (ASan reads
/// them), and what `Property::from_parts` takes back.
fn check_property(props: &emq_properties, p: &emq_property) {
    let id = PropertyId::from_u8(p.id)
        .unwrap_or_else(|| panic!("read a property with id {:#04x}", p.id));
    let inside = |ptr: *const c_char, len: usize| -> &[u8] {
        if len == 0 {
            assert!(ptr.is_null(), "{id:?}: a pointer for no bytes");
            return &[];
        }
        let (start, at) = (props.bytes as usize, ptr as usize);
        assert!(
            at >= start && at + len <= start + props.len,
            "{id:?}: bytes outside the list"
        );
        // SAFETY: inside the list, valid in this callback.
        unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) }
    };
    let data = inside(p.data, p.data_len);
    let value = inside(p.value, p.value_len);
    let number_only = data.is_empty() && value.is_empty();
    let fits = match id.data_type() {
        PropertyType::Byte => number_only && p.number <= 1,
        PropertyType::TwoByteInteger => number_only && p.number <= 0xffff,
        PropertyType::FourByteInteger => number_only,
        PropertyType::VariableByteInteger => number_only && p.number <= 268_435_455,
        PropertyType::Utf8String => {
            p.number == 0 && value.is_empty() && std::str::from_utf8(data).is_ok()
        }
        PropertyType::BinaryData => p.number == 0 && value.is_empty(),
        PropertyType::Utf8StringPair => {
            p.number == 0 && std::str::from_utf8(data).is_ok() && std::str::from_utf8(value).is_ok()
        }
    };
    assert!(fits, "{id:?} read as {p:?}");
    let back = Property::from_parts(id, p.number, data, value)
        .unwrap_or_else(|e| panic!("{id:?} read as {p:?} does not convert back: {e:?}"));
    assert_eq!(back.parts(), (p.number, data, value));
}

/// Walks `props` with `emq_properties_next`: the cursor only grows and
/// stays inside; `whole`: the walk reaches the end.
fn walk(props: &emq_properties, whole: bool) -> Vec<emq_property> {
    let mut list = Vec::new();
    let mut cursor = 0usize;
    let mut p = EMPTY_PROPERTY;
    // SAFETY: a list from the library (or a prefix of one), valid here.
    while unsafe { emq_properties_next(props, &mut cursor, &mut p) } {
        let last = list.last().map_or(0, |&(at, _)| at);
        assert!(
            cursor > last && cursor <= props.len,
            "cursor went from {last} to {cursor} of {}",
            props.len
        );
        check_property(props, &p);
        list.push((cursor, p));
    }
    // SAFETY: as above (a cursor at or past the end reads nothing).
    assert!(!unsafe { emq_properties_next(props, &mut cursor, &mut p) });
    if whole {
        assert_eq!(cursor, props.len, "emq_properties_next stopped early");
    }
    list.into_iter().map(|(_, p)| p).collect()
}

/// Walks `props` through the API as a C program does: whole, then as
/// `probe` (an input byte) says, `emq_properties_get` for one id, a prefix
/// of the list and a cursor anywhere in it.
fn check_list(props: &emq_properties, probe: u8) -> Vec<emq_property> {
    let list = walk(props, true);
    let mut cursor = props.len;
    let mut p = EMPTY_PROPERTY;
    let id = if probe < 0xe0 {
        KNOWN_IDS[usize::from(probe) % KNOWN_IDS.len()]
    } else {
        probe
    };
    // SAFETY: as for `walk`; `p` writable, NULL refused.
    unsafe {
        let found = emq_properties_get(props, id, &mut p);
        match list.iter().find(|q| q.id == id) {
            Some(first) => assert!(found && same_property(first, &p), "get({id:#04x}): {p:?}"),
            None => assert!(!found, "get({id:#04x}) found {p:?}, not in {list:?}"),
        }
        assert!(!emq_properties_get(props, id, null_mut()));
        assert!(!emq_properties_next(props, null_mut(), &mut p));
        assert!(!emq_properties_next(props, &mut cursor, null_mut()));
        assert!(!emq_properties_next(null(), &mut cursor, &mut p));
        assert!(!emq_properties_get(null(), id, &mut p));
    }
    if props.len > 0 {
        // A prefix: the walk stays inside it.
        let prefix = emq_properties {
            bytes: props.bytes,
            len: usize::from(probe) * 7 % props.len,
        };
        let _ = walk(&prefix, false);
        // A cursor anywhere (in the middle of a property too).
        let mut cursor = usize::from(probe) * 13 % (props.len + 2);
        // SAFETY: as for `walk`.
        if unsafe { emq_properties_next(props, &mut cursor, &mut p) } {
            assert!(cursor <= props.len);
            check_property(props, &p);
        }
    }
    list
}

/// In a callback: the received properties, checked.
struct Seen {
    props: emq_properties,
    list: Vec<emq_property>,
}

fn received_in(w: *mut World, c: *mut emq_client) -> Seen {
    let mut props = emq_properties {
        bytes: null(),
        len: usize::MAX,
    };
    // SAFETY: a live client inside its callback; `props` writable.
    assert_eq!(
        unsafe { emq_client_received_properties(c, &mut props) },
        EMQ_OK
    );
    let (v5, probe) = with(w, |w| {
        let probe = if props.len > 0 { w.back_byte() } else { 0 };
        (w.v5, probe)
    });
    if !v5 {
        assert_eq!(props.len, 0, "received properties on a 3.1.1 connection");
    }
    let list = check_list(&props, probe);
    if !list.is_empty() {
        trace!("    received properties {list:?}");
    }
    Seen { props, list }
}

/// After the callback's reaction: the list is as it was, and (unless the
/// callback asked for deinit) still the one the client gives.
fn received_after(w: *mut World, c: *mut emq_client, seen: Seen) {
    let again = walk(&seen.props, true);
    assert!(
        again.len() == seen.list.len()
            && again
                .iter()
                .zip(&seen.list)
                .all(|(a, b)| same_property(a, b)),
        "received properties changed in the callback: {:?} then {again:?}",
        seen.list
    );
    if with(w, |w| w.deinit_requested) {
        return;
    }
    let mut now = EMPTY_PROPERTIES;
    // SAFETY: a live client inside its callback.
    assert_eq!(
        unsafe { emq_client_received_properties(c, &mut now) },
        EMQ_OK
    );
    assert_eq!(
        (now.bytes, now.len),
        (seen.props.bytes, seen.props.len),
        "the received properties changed after the callback called the client"
    );
}

/// The end of every callback: the received properties checked around the
/// reaction.
fn respond(w: *mut World, c: *mut emq_client) {
    let seen = received_in(w, c);
    react(w, c);
    received_after(w, c, seen);
}

/// Outside callbacks: no received properties.
fn received_outside(w: *mut World) {
    let c = with(w, |w| w.client);
    let mut props = emq_properties {
        bytes: null(),
        len: usize::MAX,
    };
    // SAFETY: a live client, not in a callback.
    assert_eq!(
        unsafe { emq_client_received_properties(c, &mut props) },
        EMQ_OK
    );
    assert_eq!(props.len, 0, "received properties outside callbacks");
    let _ = check_list(&props, 0);
}

// --- callbacks ----------------------------------------------------------------

/// After the checks of a callback: its reaction, read from the input.
fn react(w: *mut World, c: *mut emq_client) {
    let (r, skip) = with(w, |w| {
        let r = w.back_byte();
        trace!("  reaction {r}");
        (r, w.deinit_requested || w.depth >= MAX_DEPTH || !w.live())
    });
    // After asking for deinit the client must not be used again.
    if skip {
        return;
    }
    with(w, |w| w.depth += 1);
    match r % 32 {
        8 | 9 => {
            let _ = call_publish(w, c);
        }
        10 => call_subscribe(w, c),
        11 => call_unsubscribe(w, c),
        12 => {
            // SAFETY: a live client (inside its callback).
            let _ = unsafe { emq_client_disconnect(c) };
        }
        13 => {
            // SAFETY: as above. These would read the network: refused.
            unsafe {
                assert_eq!(emq_client_poll(c, 0), EMQ_ERR_IN_CALLBACK);
                assert_eq!(emq_client_wait(c, 1, 0), EMQ_ERR_IN_CALLBACK);
                assert_eq!(emq_client_connect(c, null(), 1), EMQ_ERR_IN_CALLBACK);
                assert_eq!(emq_client_connect_start(c, null(), 1), EMQ_ERR_IN_CALLBACK);
            }
        }
        14 => {
            let level = c_int::from(with(w, |w| w.byte()) % 6);
            // SAFETY: as above.
            let _ = unsafe { emq_client_set_log_level(c, level) };
        }
        15 | 16 => {
            let _ = call_publish_v5(w, c);
        }
        17 => call_subscribe_v5(w, c),
        18 => call_unsubscribe_v5(w, c),
        19 => call_disconnect_v5(w, c),
        20 => call_auth(w, c),
        21 => {
            let mut props = EMPTY_PROPERTIES;
            // SAFETY: as above; NULL arguments are refused.
            unsafe {
                assert_eq!(
                    emq_client_received_properties(c, null_mut()),
                    EMQ_ERR_NULL_POINTER
                );
                assert_eq!(
                    emq_client_received_properties(null(), &mut props),
                    EMQ_ERR_NULL_POINTER
                );
            }
        }
        31 => {
            with(w, |w| w.deinit_requested = true);
            // SAFETY: as above; it takes effect when the outer call ends.
            assert_eq!(unsafe { emq_client_deinit(c) }, EMQ_OK);
        }
        _ => {}
    }
    with(w, |w| w.depth -= 1);
}

unsafe extern "C" fn on_connect(ud: *mut c_void, c: *mut emq_client, sp: bool, _code: u8) {
    let w = ud.cast::<World>();
    with(w, |w| {
        w.entered("on_connect");
        if !sp || w.clean_session {
            // A new session: inbound QoS 2 ids start afresh.
            w.inbound_open.clear();
        }
    });
    respond(w, c);
}

unsafe extern "C" fn on_connect_failed(ud: *mut c_void, c: *mut emq_client, _: emq_err, _: u8) {
    let w = ud.cast::<World>();
    with(w, |w| w.entered("on_connect_failed"));
    respond(w, c);
}

unsafe extern "C" fn on_disconnect(ud: *mut c_void, c: *mut emq_client, reason: emq_err) {
    let w = ud.cast::<World>();
    with(w, |w| w.entered("on_disconnect"));
    named(reason);
    // SAFETY: a live client inside its callback.
    if unsafe { emq_client_is_connected(c) } && !allowed("disconnect-refused") {
        panic!("on_disconnect({reason:?}) while still connected");
    }
    respond(w, c);
}

/// Reads every byte of a delivered message (ASan checks the bounds).
fn read_message(w: &mut World, m: &emq_message, receiver: u32) -> Vec<u8> {
    assert!(
        m.topic_len <= w.rx_size && m.payload_len <= w.rx_size,
        "message past rx"
    );
    assert!(!m.payload.is_null() && (m.topic_len == 0 || !m.topic.is_null()));
    // SAFETY: valid for the callback per the API.
    let topic = unsafe { std::slice::from_raw_parts(m.topic.cast::<u8>(), m.topic_len) };
    // SAFETY: as above.
    let payload = unsafe { std::slice::from_raw_parts(m.payload, m.payload_len) };
    assert!(m.qos < 3);
    assert_eq!(
        m.packet_id == 0,
        m.qos == 0,
        "packet id {} at QoS {}",
        m.packet_id,
        m.qos
    );
    if m.qos == 2 {
        assert!(
            w.inbound_open.insert((receiver, m.packet_id)),
            "QoS 2 message {} delivered twice to receiver {receiver}",
            m.packet_id
        );
    }
    let mut out = topic.to_vec();
    out.extend_from_slice(payload);
    out
}

unsafe extern "C" fn on_message(ud: *mut c_void, c: *mut emq_client, m: *const emq_message) {
    // SAFETY: as for `received`.
    unsafe { received(ud.cast(), 0, c, m) }
}

/// A handler's user_data: which one it is.
struct HandlerTag {
    world: *mut World,
    index: u32,
}

unsafe extern "C" fn on_handler(ud: *mut c_void, c: *mut emq_client, m: *const emq_message) {
    // SAFETY: handlers get a live tag of this run as user_data.
    let tag = unsafe { &*ud.cast::<HandlerTag>() };
    // SAFETY: as for `received`.
    unsafe { received(tag.world, tag.index, c, m) }
}

/// A message for `receiver` (see `World::inbound_open`).
///
/// # Safety
/// `m` valid for the callback; `w` the run's world.
unsafe fn received(w: *mut World, receiver: u32, c: *mut emq_client, m: *const emq_message) {
    with(w, |w| {
        w.entered("on_message");
        // SAFETY: valid for the callback.
        let m = unsafe { &*m };
        std::str::from_utf8(&read_message(w, m, receiver)[..m.topic_len]).expect("topic is UTF-8");
    });
    respond(w, c);
}

unsafe extern "C" fn on_overflow(
    ud: *mut c_void,
    c: *mut emq_client,
    m: *const emq_message,
    size: usize,
) {
    let w = ud.cast::<World>();
    with(w, |w| {
        w.entered("on_overflow");
        // SAFETY: valid for the callback.
        let m = unsafe { &*m };
        assert!(size >= m.payload_len);
        read_message(w, m, 0);
    });
    respond(w, c);
}

unsafe extern "C" fn on_published(ud: *mut c_void, c: *mut emq_client, id: u16) {
    let w = ud.cast::<World>();
    with(w, |w| {
        w.entered("on_published");
        if id == 0 {
            assert!(
                w.publishing_qos0 > 0,
                "on_published(0) outside a QoS 0 publish"
            );
        } else {
            w.resolved(id, "on_published");
        }
    });
    respond(w, c);
}

unsafe extern "C" fn on_dropped(ud: *mut c_void, c: *mut emq_client, id: u16, _: emq_err) {
    let w = ud.cast::<World>();
    with(w, |w| {
        w.entered("on_dropped");
        trace!("    id {id}");
        w.resolved(id, "on_dropped");
    });
    respond(w, c);
}

unsafe extern "C" fn on_subscribed(
    ud: *mut c_void,
    c: *mut emq_client,
    id: u16,
    granted: *const u8,
    count: usize,
) {
    let w = ud.cast::<World>();
    with(w, |w| {
        w.entered("on_subscribed");
        assert!(
            w.sub_wire.remove(&id),
            "on_subscribed({id}): no such SUBSCRIBE"
        );
        assert!(count > 0 && count <= 255);
        // SAFETY: `count` codes per the API.
        let codes = unsafe { std::slice::from_raw_parts(granted, count) };
        let v5 = w.v5;
        assert!(
            codes.iter().all(|&g| if v5 {
                ReasonCode(g).allowed_in(ReasonPacket::SubAck, Sender::Server)
            } else {
                g <= 2 || g == 0x80
            }),
            "granted {codes:?}"
        );
    });
    respond(w, c);
}

unsafe extern "C" fn on_unsubscribed(ud: *mut c_void, c: *mut emq_client, id: u16) {
    let w = ud.cast::<World>();
    with(w, |w| {
        w.entered("on_unsubscribed");
        assert!(
            w.unsub_wire.remove(&id).is_some(),
            "on_unsubscribed({id}): no such UNSUBSCRIBE"
        );
    });
    respond(w, c);
}

unsafe extern "C" fn on_log_event(ud: *mut c_void, c: *mut emq_client, e: *const emq_log_event) {
    let w = ud.cast::<World>();
    with(w, |w| w.entered("on_log_event"));
    // SAFETY: valid for the callback.
    let _ = unsafe { *e };
    respond(w, c);
}

unsafe extern "C" fn p_store(ud: *mut c_void, id: u16, packet: *const u8, len: usize) -> emq_err {
    with(ud.cast(), |w: &mut World| {
        w.entered("store hook");
        assert!(w.publishing > 0, "store({id}) outside a publish");
        // A message just accepted: its id is published.
        w.outstanding.insert(id);
        if w.store_fails {
            return EMQ_ERR_IO;
        }
        // SAFETY: `len` readable bytes per the API.
        let bytes = unsafe { std::slice::from_raw_parts(packet, len) }.to_vec();
        w.saved.retain(|e| e.0 != id);
        w.saved.push((id, bytes, w.level));
        EMQ_OK
    })
}

unsafe extern "C" fn p_remove(ud: *mut c_void, id: u16) {
    with(ud.cast(), |w: &mut World| {
        w.entered("remove hook");
        assert!(w.outstanding.contains(&id), "remove({id}): not published");
        w.saved.retain(|e| e.0 != id);
    })
}

unsafe extern "C" fn p_load(ud: *mut c_void, c: *mut emq_client) -> emq_err {
    let w = ud.cast::<World>();
    let saved = with(w, |w| {
        w.entered("load hook");
        w.saved.clone()
    });
    let mut props = EMPTY_PROPERTIES;
    // SAFETY: a live client in its load hook; `props` writable.
    assert_eq!(
        unsafe { emq_client_received_properties(c, &mut props) },
        EMQ_OK
    );
    assert_eq!(props.len, 0, "received properties before any packet");
    let level = with(w, |w| w.level);
    for (id, packet, stored_at) in saved {
        if (stored_at == 5) != (level == 5) && allowed("restore-protocol") {
            continue;
        }
        // SAFETY: a live client in its load hook; `packet` is readable.
        if unsafe { emq_client_restore(c, packet.as_ptr(), packet.len()) } == EMQ_OK {
            with(w, |w| w.outstanding.insert(id));
        }
    }
    with(w, |w| {
        if w.back_byte() == 0xEE {
            EMQ_ERR_PERSISTENCE
        } else {
            EMQ_OK
        }
    })
}

unsafe extern "C" fn on_publish_failed(ud: *mut c_void, c: *mut emq_client, id: u16, reason: u8) {
    let w = ud.cast::<World>();
    with(w, |w| {
        w.entered("on_publish_failed");
        trace!("    id {id}, reason {reason:#04x}");
        assert!(w.level == 5, "on_publish_failed on a 3.1.1 client");
        assert!(
            reason >= 0x80,
            "on_publish_failed({id}) with reason {reason:#04x}"
        );
        // 0: a queued QoS 0 message the CONNACK's limits refused.
        if id != 0 {
            w.resolved(id, "on_publish_failed");
        }
    });
    respond(w, c);
}

unsafe extern "C" fn on_unsuback(
    ud: *mut c_void,
    c: *mut emq_client,
    id: u16,
    codes: *const u8,
    count: usize,
) {
    let w = ud.cast::<World>();
    with(w, |w| {
        w.entered("on_unsuback");
        assert!(w.v5, "on_unsuback over MQTT 3.1.1");
        // Before on_unsubscribed, which forgets the request.
        let Some(&filters) = w.unsub_wire.get(&id) else {
            panic!("on_unsuback({id}): no such UNSUBSCRIBE");
        };
        assert_eq!(
            count, filters,
            "on_unsuback({id}): codes for {filters} filters"
        );
        // SAFETY: `count` codes per the API.
        let codes = unsafe { std::slice::from_raw_parts(codes, count) };
        assert!(
            codes
                .iter()
                .all(|&r| ReasonCode(r).allowed_in(ReasonPacket::UnsubAck, Sender::Server)),
            "UNSUBACK codes {codes:?}"
        );
    });
    respond(w, c);
}

unsafe extern "C" fn on_auth(
    ud: *mut c_void,
    c: *mut emq_client,
    reason: u8,
    props: *const emq_properties,
) {
    let w = ud.cast::<World>();
    with(w, |w| {
        w.entered("on_auth");
        assert!(w.v5, "on_auth over MQTT 3.1.1");
        assert!(
            reason == 0 || reason == 0x18,
            "on_auth with reason {reason:#04x}"
        );
    });
    assert!(!props.is_null());
    // SAFETY: valid for the callback per the API.
    let props = unsafe { *props };
    let list = walk(&props, true);
    // The short form (Remaining Length 0) is Success without properties.
    assert!(
        (reason == 0 && list.is_empty())
            || list
                .iter()
                .any(|p| p.id == PropertyId::AuthenticationMethod as u8),
        "AUTH {reason:#04x} without an Authentication Method"
    );
    let mut now = EMPTY_PROPERTIES;
    // SAFETY: a live client inside its callback.
    assert_eq!(
        unsafe { emq_client_received_properties(c, &mut now) },
        EMQ_OK
    );
    assert_eq!(
        (now.bytes, now.len),
        (props.bytes, props.len),
        "on_auth's properties are not the received ones"
    );
    respond(w, c);
}

fn callbacks(all: u8) -> emq_callbacks {
    let mut cb = std::mem::MaybeUninit::<emq_callbacks>::uninit();
    // SAFETY: writable for one emq_callbacks.
    assert_eq!(unsafe { emq_callbacks_default(cb.as_mut_ptr()) }, EMQ_OK);
    // SAFETY: initialised just above.
    let mut cb = unsafe { cb.assume_init() };
    cb.on_connect = Some(on_connect);
    cb.on_connect_failed = Some(on_connect_failed);
    cb.on_disconnect = Some(on_disconnect);
    cb.on_message = Some(on_message);
    cb.on_published = Some(on_published);
    cb.on_subscribed = Some(on_subscribed);
    cb.on_unsubscribed = Some(on_unsubscribed);
    cb.on_dropped = Some(on_dropped);
    if all & 1 != 0 {
        cb.on_overflow = Some(on_overflow);
    }
    if all & 2 != 0 {
        cb.on_log_event = Some(on_log_event);
    }
    if all & 4 == 0 {
        cb.on_publish_failed = Some(on_publish_failed);
        cb.on_unsuback = Some(on_unsuback);
        cb.on_auth = Some(on_auth);
    }
    cb
}

// --- the application's calls --------------------------------------------------

/// A top-level call: afterwards, a deinit asked for inside one of its
/// callbacks has taken effect.
fn api<R>(w: *mut World, f: impl FnOnce(*mut emq_client) -> R) -> R {
    let c = with(w, |w| w.client);
    assert!(!c.is_null());
    let out = f(c);
    with(w, |w| {
        assert!(
            w.early.is_empty(),
            "ids {:?} reported but never returned",
            w.early
        );
        if w.deinit_requested {
            w.ended();
            w.link_closed_at_end();
        }
    });
    out
}

fn call_publish(w: *mut World, c: *mut emq_client) -> emq_err {
    publish_call(w, c, false)
}

fn call_publish_v5(w: *mut World, c: *mut emq_client) -> emq_err {
    publish_call(w, c, true)
}

/// Publishes with random arguments (`v5`: through `emq_client_publish_v5`
/// with random properties) and checks the packet id against the model.
fn publish_call(w: *mut World, c: *mut emq_client, v5: bool) -> emq_err {
    let (topic, payload, flags) = with(w, |w| (w.topic(), w.payload(), w.byte()));
    let props = v5.then(|| with(w, |w| w.props(PropertyContext::Publish)));
    let qos = flags % 4; // 3: invalid
    let retain = flags & 4 != 0;
    // QoS 1/2 ids are needed for the model.
    let with_id = qos == 1 || qos == 2 || flags & 8 == 0;
    let mut id = 0xABCD;
    with(w, |w| {
        w.publishing += 1;
        w.publishing_qos0 += u32::from(qos == 0);
    });
    let ptr = if payload.is_empty() && flags & 16 != 0 {
        null()
    } else {
        payload.as_ptr()
    };
    let id_out: *mut u16 = if with_id { &mut id } else { null_mut() };
    let result = match &props {
        // SAFETY: a live client; C string, payload and id as the API asks.
        None => unsafe {
            emq_client_publish(c, topic.as_ptr(), ptr, payload.len(), qos, retain, id_out)
        },
        // SAFETY: as above, and properties as the API asks.
        Some(props) => unsafe {
            emq_client_publish_v5(
                c,
                topic.as_ptr(),
                ptr,
                payload.len(),
                qos,
                retain,
                props.ptr(),
                props.count(),
                id_out,
            )
        },
    };
    if v5 {
        v5_result(w, "publish_v5", result);
    } else {
        trace!("  publish qos {qos} -> {result:?}, id {id}");
    }
    with(w, |w| {
        w.publishing -= 1;
        w.publishing_qos0 -= u32::from(qos == 0);
        if with_id {
            assert_ne!(id, 0xABCD, "the id was not written");
            assert!(result == EMQ_OK || result == EMQ_ERR_PERSISTENCE || id == 0);
            if id != 0 {
                assert!(qos > 0);
                if !w.early.remove(&id) {
                    w.outstanding.insert(id);
                }
            }
        }
    });
    result
}

fn call_subscribe(w: *mut World, c: *mut emq_client) {
    let (n, filters, qos, handler) = with(w, |w| {
        let n = usize::from(w.byte() % 10);
        let filters: Vec<CString> = (0..n.max(1)).map(|_| w.filter()).collect();
        let qos: Vec<u8> = (0..n.max(1)).map(|_| w.byte() % 4).collect();
        (n, filters, qos, w.byte() % 4 == 0)
    });
    let subs: Vec<emq_subscription> = filters
        .iter()
        .zip(&qos)
        .map(|(f, &q)| emq_subscription {
            filter: f.as_ptr(),
            qos: q,
        })
        .collect();
    let mut id = 0;
    // SAFETY: a live client; `subs` holds `n` (or more) entries.
    unsafe {
        if handler {
            let tag = with(w, |state| {
                let tag = Box::into_raw(Box::new(HandlerTag {
                    world: w,
                    index: state.tags.len() as u32 + 1,
                }));
                state.tags.push(tag);
                tag
            });
            let _ = emq_client_subscribe_handler(
                c,
                subs[0].filter,
                subs[0].qos,
                Some(on_handler),
                tag.cast(),
                &mut id,
            );
        } else {
            let _ = emq_client_subscribe_many(c, subs.as_ptr(), n, &mut id);
        }
    }
}

fn call_unsubscribe(w: *mut World, c: *mut emq_client) {
    let (n, filters) = with(w, |w| {
        let n = usize::from(w.byte() % 10);
        let filters: Vec<CString> = (0..n.max(1)).map(|_| w.filter()).collect();
        (n, filters)
    });
    let list: Vec<*const c_char> = filters.iter().map(|f| f.as_ptr()).collect();
    let mut id = 0;
    // SAFETY: a live client; `list` holds `n` (or more) C strings.
    let _ = unsafe { emq_client_unsubscribe_many(c, list.as_ptr(), n, &mut id) };
}

// --- MQTT 5 calls ----------------------------------------------------------------

/// Properties to hand to the C API: the array and the bytes its entries
/// point to (heap blocks, which stay put when the list moves).
struct PropList {
    list: Vec<emq_property>,
    bytes: Vec<Vec<u8>>,
    /// Pass NULL for the array (with a count of at least 1).
    null: bool,
}

impl PropList {
    fn new() -> PropList {
        PropList {
            list: Vec::new(),
            bytes: Vec::new(),
            null: false,
        }
    }

    fn ptr(&self) -> *const emq_property {
        if self.null {
            null()
        } else {
            self.list.as_ptr()
        }
    }

    fn count(&self) -> usize {
        if self.null {
            self.list.len().max(1)
        } else {
            self.list.len()
        }
    }

    /// Keeps `bytes` (None: NULL) and gives the pointer to pass.
    fn keep(&mut self, bytes: Option<Vec<u8>>) -> *const c_char {
        match bytes {
            None => null(),
            Some(bytes) => {
                let ptr = bytes.as_ptr().cast();
                self.bytes.push(bytes);
                ptr
            }
        }
    }

    /// Appends a valid property of id `id`.
    fn push(&mut self, id: PropertyId, number: u32, data: &[u8], value: &[u8]) {
        let mut p = EMPTY_PROPERTY;
        p.id = id as u8;
        p.number = number;
        if !data.is_empty() {
            p.data = self.keep(Some(data.to_vec()));
            p.data_len = data.len();
        }
        if !value.is_empty() {
            p.value = self.keep(Some(value.to_vec()));
            p.value_len = value.len();
        }
        self.list.push(p);
    }

    /// The Authentication Method among these, if valid text.
    fn method(&self) -> Option<Vec<u8>> {
        self.list
            .iter()
            .find(|p| p.id == PropertyId::AuthenticationMethod as u8 && p.data_len < 100)
            .filter(|p| !p.data.is_null())
            // SAFETY: `data_len` bytes this list keeps.
            .map(|p| {
                unsafe { std::slice::from_raw_parts(p.data.cast::<u8>(), p.data_len) }.to_vec()
            })
            .filter(|m| std::str::from_utf8(m).is_ok_and(|m| !m.contains('\0')))
    }
}

impl World {
    /// Bytes for a string or binary property (None: NULL) and the length
    /// to pass with them: valid text mostly, else NULL with a length,
    /// invalid UTF-8, U+0000, more than 65535 bytes...
    fn prop_text(&mut self) -> (Option<Vec<u8>>, usize) {
        const TEXT: [&[u8]; 6] = [b"a", b"r/s", b"fz/t", b"text/plain", b"m", b"\xc3\xa9"];
        let b = self.byte();
        let bytes: Vec<u8> = match b % 16 {
            0 => return (None, 0),
            1 => return (None, usize::from(b / 16) + 1),
            2 => b"\xff".to_vec(),
            3 => b"a\0b".to_vec(),
            4 => vec![b'a'; 65536],
            5 => b"\xed\xa0\x80".to_vec(),
            6 => b"a/+".to_vec(),
            7 => Vec::new(),
            8 => vec![b'x'; usize::from(b / 16) * 20],
            9 => b"\xc0\x80".to_vec(),
            _ => TEXT[usize::from(b / 16) % TEXT.len()].to_vec(),
        };
        let len = bytes.len();
        (Some(bytes), len)
    }

    /// A number for an integer property: small, edges of each type, or any.
    fn prop_number(&mut self) -> u32 {
        let b = self.byte();
        match b % 8 {
            0 => 0,
            1 | 2 => 1,
            3 => 2,
            4 => 60,
            5 => [
                3,
                0xff,
                0x100,
                0xffff,
                0x1_0000,
                268_435_455,
                268_435_456,
                u32::MAX,
            ][usize::from(b >> 5)],
            6 => u32::from(self.u16()),
            _ => u32::from_be_bytes([self.byte(), self.byte(), self.byte(), self.byte()]),
        }
    }

    /// A property array for a packet of `context`: mostly properties
    /// allowed there with values of their type, else any id (unknown ones
    /// too), values of another type, repeats; sometimes NULL with a count.
    fn props(&mut self, context: PropertyContext) -> PropList {
        let b = self.byte();
        let n = [0, 0, 1, 1, 2, 3, 5, 9][usize::from(b & 7)];
        let mut out = PropList::new();
        out.null = b & 0xf8 == 0xf8;
        let allowed = allowed_ids(context);
        for _ in 0..n {
            let k = self.byte();
            if k >= 0xf0 && !out.list.is_empty() {
                // A repeat.
                let again = out.list[usize::from(k) % out.list.len()];
                out.list.push(again);
                continue;
            }
            let id = match k {
                0..=179 if !allowed.is_empty() => allowed[usize::from(k) % allowed.len()],
                0..=219 => KNOWN_IDS[usize::from(k) % KNOWN_IDS.len()],
                _ => self.byte(),
            };
            let shape = self.byte();
            let kind = PropertyId::from_u8(id).map(PropertyId::data_type);
            let mut p = EMPTY_PROPERTY;
            p.id = id;
            let number = matches!(
                kind,
                None | Some(
                    PropertyType::Byte
                        | PropertyType::TwoByteInteger
                        | PropertyType::FourByteInteger
                        | PropertyType::VariableByteInteger
                )
            );
            // Mostly what the type uses; sometimes every field.
            let odd = shape & 0xc0 == 0xc0;
            if number || odd {
                p.number = self.prop_number();
            }
            if !number || odd {
                let (data, len) = self.prop_text();
                p.data = out.keep(data);
                p.data_len = len;
            }
            if kind == Some(PropertyType::Utf8StringPair) || odd {
                let (value, len) = self.prop_text();
                p.value = out.keep(value);
                p.value_len = len;
            }
            out.list.push(p);
        }
        out
    }

    /// Properties for `emq_client_auth`: mostly the configured
    /// Authentication Method (or another) with data, else any.
    fn auth_props(&mut self) -> PropList {
        let b = self.byte();
        if b & 3 == 3 {
            return self.props(PropertyContext::Auth);
        }
        let mut out = PropList::new();
        let method = match (&self.method, b & 4) {
            (Some(m), 0) => m.clone(),
            _ => b"other".to_vec(),
        };
        out.push(PropertyId::AuthenticationMethod, 0, &method, b"");
        if b & 8 != 0 {
            out.push(PropertyId::AuthenticationData, 0, b"\x00\x01", b"");
        }
        if b & 16 != 0 {
            out.push(PropertyId::ReasonString, 0, b"why", b"");
        }
        if b & 32 != 0 {
            out.push(PropertyId::UserProperty, 0, b"k", b"v");
        }
        out
    }
}

/// A v5 call's result: named, and never a success on a 3.1.1 client.
fn v5_result(w: *mut World, what: &str, result: emq_err) -> emq_err {
    named(result);
    trace!("  {what} -> {result:?}");
    if with(w, |w| w.level) != 5 {
        assert_ne!(result, EMQ_OK, "{what} on a 3.1.1 client");
    }
    result
}

fn call_subscribe_v5(w: *mut World, c: *mut emq_client) {
    let (n, filters, options, props, b) = with(w, |w| {
        let b = w.byte();
        let n = usize::from(b % 10);
        let filters: Vec<CString> = (0..n.max(1)).map(|_| w.filter()).collect();
        let options: Vec<u8> = (0..n.max(1)).map(|_| w.byte()).collect();
        (n, filters, options, w.props(PropertyContext::Subscribe), b)
    });
    let share = c"$share/g/a/#";
    let subs: Vec<emq_subscription_v5> = filters
        .iter()
        .zip(&options)
        .map(|(f, &o)| emq_subscription_v5 {
            filter: if o & 0x40 != 0 {
                share.as_ptr()
            } else {
                f.as_ptr()
            },
            qos: o & 3,
            no_local: o & 4 != 0,
            retain_as_published: o & 8 != 0,
            // 3 and up: invalid.
            retain_handling: if o & 0x80 != 0 { o >> 4 } else { o >> 4 & 3 },
        })
        .collect();
    let mut id = 0xABCD;
    // SAFETY: a live client; `subs` holds `n` (or more) entries, NULL
    // asked for with `n` > 0 refused; properties and id as the API asks.
    let result = unsafe {
        emq_client_subscribe_v5(
            c,
            if b & 0x80 != 0 && n > 0 && b & 0x40 != 0 {
                null()
            } else {
                subs.as_ptr()
            },
            n,
            props.ptr(),
            props.count(),
            if b & 0x40 != 0 { null_mut() } else { &mut id },
        )
    };
    v5_result(w, "subscribe_v5", result);
    if result == EMQ_OK {
        assert!(n > 0);
        assert!(
            subs[..n].iter().all(|s| s.qos < 3 && s.retain_handling < 3),
            "subscribe_v5 took {:?}",
            &subs[..n]
        );
    }
}

fn call_unsubscribe_v5(w: *mut World, c: *mut emq_client) {
    let (n, filters, props, b) = with(w, |w| {
        let b = w.byte();
        let n = usize::from(b % 10);
        let filters: Vec<CString> = (0..n.max(1)).map(|_| w.filter()).collect();
        (n, filters, w.props(PropertyContext::Unsubscribe), b)
    });
    let list: Vec<*const c_char> = filters.iter().map(|f| f.as_ptr()).collect();
    let mut id = 0xABCD;
    // SAFETY: a live client; `list` holds `n` (or more) C strings, NULL
    // asked for with `n` > 0 refused; properties and id as the API asks.
    let result = unsafe {
        emq_client_unsubscribe_v5(
            c,
            if b & 0xc0 == 0xc0 && n > 0 {
                null()
            } else {
                list.as_ptr()
            },
            n,
            props.ptr(),
            props.count(),
            if b & 0x40 != 0 { null_mut() } else { &mut id },
        )
    };
    v5_result(w, "unsubscribe_v5", result);
}

fn call_disconnect_v5(w: *mut World, c: *mut emq_client) {
    let (reason, props, link) = with(w, |w| {
        let b = w.byte();
        let reason = match b % 8 {
            0..=2 => 0,
            3 => 4,
            4 => 0x80,
            5 => 0x87,
            _ => w.byte(),
        };
        (reason, w.props(PropertyContext::Disconnect), w.link)
    });
    // SAFETY: a live client; properties as the API asks.
    let result = unsafe { emq_client_disconnect_v5(c, reason, props.ptr(), props.count()) };
    named(result);
    trace!("  disconnect_v5({reason:#04x}) -> {result:?}");
    // A connect in progress is abandoned (with nothing to send) whatever
    // the arguments.
    if result == EMQ_OK && link == Link::Open {
        assert!(
            ReasonCode(reason).allowed_in(ReasonPacket::Disconnect, Sender::Client),
            "disconnect_v5 took reason {reason:#04x}"
        );
        assert_eq!(with(w, |w| w.level), 5, "disconnect_v5 on a 3.1.1 client");
    }
}

fn call_auth(w: *mut World, c: *mut emq_client) {
    let (reason, props) = with(w, |w| {
        let b = w.byte();
        let reason = match b % 8 {
            0..=3 => 0x18,
            4 | 5 => 0x19,
            6 => 0,
            _ => w.byte(),
        };
        (reason, w.auth_props())
    });
    // SAFETY: a live client; properties as the API asks.
    let result = unsafe { emq_client_auth(c, reason, props.ptr(), props.count()) };
    v5_result(w, "auth", result);
    if result == EMQ_OK {
        assert!(
            reason == 0x18 || reason == 0x19,
            "auth took reason {reason:#04x}"
        );
    }
}

/// MQTT 5 settings from the input: what CONNECT announces, topic aliases,
/// CONNECT and will properties (their arrays go to `keep`). Returns
/// whether properties were given, and the topic alias memory.
fn options_v5(w: &mut World, o: &mut emq_options, keep: &mut Vec<PropList>) -> (bool, usize) {
    let v = w.byte();
    o.protocol_level = 5;
    o.session_expiry_secs = [0, 0, 60, u32::MAX][usize::from(v & 3)];
    o.receive_maximum = [0, 1, 3, 65535][usize::from(v >> 2 & 3)];
    o.maximum_packet_size = [0, 0, 40, 100_000][usize::from(v >> 4 & 3)];
    if v & 0x40 != 0 {
        let t = w.byte();
        o.topic_alias_maximum = u16::from(t & 3);
        o.topic_alias_outgoing = u16::from(t >> 2 & 3);
        o.topic_alias_length = [0, 8, 24, 300][usize::from(t >> 4 & 3)];
        if t & 0xc0 == 0xc0 {
            o.topic_alias_maximum = 1000;
            o.topic_alias_outgoing = 1000;
        }
    }
    let aliases = (usize::from(o.topic_alias_maximum) + usize::from(o.topic_alias_outgoing))
        * (2 + usize::from(o.topic_alias_length));
    let mut given = false;
    if v & 0x80 != 0 {
        let connect = w.props(PropertyContext::Connect);
        let will = w.props(PropertyContext::Will);
        o.connect_properties = connect.ptr();
        o.connect_property_count = connect.count();
        o.will_properties = will.ptr();
        o.will_property_count = will.count();
        given = connect.count() + will.count() > 0;
        keep.push(connect);
        keep.push(will);
    }
    (given, aliases)
}

/// What a configuration's topic aliases leave of the receive buffer, as
/// the API asks: 64 bytes, and a length when there are aliases.
fn aliases_fit(o: &emq_options, reserved: usize, rx_size: usize) -> bool {
    reserved == 0 || (o.topic_alias_length > 0 && rx_size >= reserved + 64)
}

/// The Authentication Method among the kept CONNECT properties.
fn method_of(keep: &[PropList]) -> Option<Vec<u8>> {
    keep.first().and_then(PropList::method)
}

/// A packet from the broker, well-formed but not necessarily expected.
fn broker_packet(w: &mut World) {
    let kind = w.byte();
    if w.v5 {
        let bytes = broker_packet_v5(w, kind);
        trace!("  broker queues {bytes:02x?}");
        w.feed.push_back(Feed::Bytes(bytes));
        return;
    }
    let bytes = match kind % 9 {
        0 => vec![0x20, 2, w.byte() % 2, w.byte() % 7],
        1 | 2 => {
            let flags = w.byte();
            let topic = w.topic().into_bytes();
            let payload = w.payload();
            let qos = (flags >> 1) & 3;
            let id = if qos == 2 && flags & 0x80 != 0 {
                let open: Vec<u16> = w.inbound_open.iter().map(|open| open.1).collect();
                w.pick_id(&open)
            } else {
                w.u16()
            };
            publish(&topic, &payload, flags, id)
        }
        3..=5 => {
            let out: Vec<u16> = w.outstanding.iter().copied().collect();
            let id = w.pick_id(&out);
            ack([0x40, 0x50, 0x70][usize::from(kind % 9 - 3)], id)
        }
        6 => {
            let open: Vec<u16> = w.inbound_open.iter().map(|open| open.1).collect();
            let id = w.pick_id(&open);
            ack(0x62, id)
        }
        7 => {
            let subs: Vec<u16> = w.sub_wire.iter().copied().collect();
            let id = w.pick_id(&subs);
            let n = usize::from(w.byte() % 9);
            let codes: Vec<u8> = (0..n)
                .map(|_| [0, 1, 2, 0x80, 3][usize::from(w.byte() % 5)])
                .collect();
            suback(id, &codes)
        }
        _ => {
            if kind & 0x80 != 0 {
                vec![0xD0, 0]
            } else {
                let unsubs: Vec<u16> = w.unsub_wire.keys().copied().collect();
                let id = w.pick_id(&unsubs);
                ack(0xB0, id)
            }
        }
    };
    w.feed.push_back(Feed::Bytes(bytes));
}

/// One application step; false ends this client's life.
fn step(w: *mut World) -> bool {
    let op = with(w, |w| {
        w.ops += 1;
        w.byte()
    });
    trace!("op {op} ({})", op % 20);
    // Outside callbacks: no received properties.
    received_outside(w);
    // The v5 forms of publish, subscribe, unsubscribe and disconnect, for
    // a client at protocol level 5.
    let v5 = op & 0x40 != 0 && with(w, |w| w.level == 5);
    match op % 20 {
        0 | 1 => with(w, broker_packet),
        2 => with(w, |w| {
            let n = usize::from(w.byte());
            let raw = w.bytes(n);
            w.feed.push_back(Feed::Bytes(raw));
        }),
        3 => with(w, |w| match w.byte() % 4 {
            0 => w.feed.push_back(Feed::Timeout),
            1 => w.feed.push_back(Feed::Fail),
            2 => w.connect_results.push_back(-1),
            _ => w.connect_results.push_back(1),
        }),
        4 => with(w, |w| {
            let b = w.byte();
            match b % 6 {
                0 => w.chunk = usize::from(b / 6 % 17),
                1 => w.send_chunk = usize::from(b / 6 % 17),
                2 => w.send_fails = !w.send_fails,
                3 => w.auto = !w.auto,
                4 => w.ack_publishes = !w.ack_publishes,
                _ => w.send_stalls = u32::from(b / 6 % 4),
            }
        }),
        5 => {
            let host = if op & 0x80 != 0 {
                null()
            } else {
                c"broker".as_ptr()
            };
            // SAFETY: a live client; NULL or a C string host.
            api(w, |c| unsafe { emq_client_connect(c, host, 1883) });
        }
        6 => {
            // SAFETY: as above.
            api(w, |c| unsafe {
                emq_client_connect_start(c, c"broker".as_ptr(), 1883)
            });
        }
        7 | 8 if v5 => {
            api(w, |c| call_publish_v5(w, c));
        }
        7 | 8 => {
            api(w, |c| call_publish(w, c));
        }
        9 if v5 => api(w, |c| call_subscribe_v5(w, c)),
        9 => api(w, |c| call_subscribe(w, c)),
        10 if v5 => api(w, |c| call_unsubscribe_v5(w, c)),
        10 => api(w, |c| call_unsubscribe(w, c)),
        11 | 12 => {
            let ms = u32::from(with(w, |w| w.byte())) * 8;
            // SAFETY: a live client.
            api(w, |c| unsafe { emq_client_poll(c, ms) });
        }
        13 => {
            let (id, ms) = with(w, |w| {
                let out: Vec<u16> = w.outstanding.iter().copied().collect();
                (w.pick_id(&out), u32::from(w.byte()) * 16)
            });
            // SAFETY: a live client.
            api(w, |c| unsafe { emq_client_wait(c, id, ms) });
        }
        14 if v5 => api(w, |c| call_disconnect_v5(w, c)),
        14 => {
            // SAFETY: a live client.
            api(w, |c| unsafe { emq_client_disconnect(c) });
        }
        15 => {
            let b = with(w, |w| w.byte());
            advance(if b == 255 { 1 << 31 } else { u32::from(b) * 50 });
        }
        16 => {
            let c = with(w, |w| w.client);
            // SAFETY: a live client.
            unsafe {
                let _ = emq_client_state(c);
                let _ = emq_client_is_connected(c);
                let _ = emq_client_last_error(c);
                let _ = emq_client_last_return_code(c);
                assert!(emq_client_inflight(c) <= emq_client_queued(c));
            }
        }
        17 => {
            let (raw, structured, level) = with(w, |w| {
                let flags = w.byte();
                let id = w.u16();
                let payload = w.payload();
                let n = usize::from(w.byte() % 8);
                // What the store hook of a client at this level gets.
                let structured = if w.level == 5 {
                    let props: &[u8] = match flags >> 4 & 3 {
                        0 | 1 => b"",
                        2 => b"\x03\x00\x01a",
                        _ => b"\x26\x00\x01k\x00\x01v",
                    };
                    publish_v5(b"r/s", &payload, flags, id, props)
                } else {
                    publish(b"r/s", &payload, flags, id)
                };
                (w.bytes(n), structured, w.level)
            });
            for bytes in [raw, structured] {
                if level == 5 && !is_v5_publish(&bytes) && allowed("restore-protocol") {
                    continue;
                }
                // SAFETY: a live client; `bytes` readable.
                let result = api(w, |c| unsafe {
                    emq_client_restore(c, bytes.as_ptr(), bytes.len())
                });
                if result == EMQ_OK {
                    let (packet, _) =
                        parse(&bytes, false).expect("restore took bytes that do not parse");
                    let Pkt::Publish { qos, id, .. } = packet else {
                        panic!("restore took {packet:?}");
                    };
                    assert!(qos > 0);
                    with(w, |w| w.outstanding.insert(id));
                }
                if !with(w, |w| w.live()) {
                    break;
                }
            }
        }
        18 => {
            let (b, cb) = with(w, |w| {
                let b = w.byte();
                (b, callbacks(w.byte()))
            });
            let ud = w.cast::<c_void>();
            if b % 3 == 0 {
                let mut o = options(b);
                o.client_id = c"fz2".as_ptr();
                // The new settings' arrays, borrowed once they are taken.
                let mut keep = Vec::new();
                if b & 0x40 != 0 {
                    with(w, |w| options_v5(w, &mut o, &mut keep));
                }
                // Boxed: kept, with its arrays, until the next reconfigure
                // or deinit.
                let o = Box::new(o);
                // SAFETY: a live client; `o` valid, it and its arrays until
                // the next reconfigure or deinit.
                let result = named(api(w, |c| unsafe { emq_client_reconfigure(c, &*o) }));
                trace!("  reconfigure to level {} -> {result:?}", o.protocol_level);
                if result == EMQ_OK {
                    with(w, |w| {
                        w.clean_session = w.clean_session || o.clean_session;
                        w.level = o.protocol_level;
                        w.method = method_of(&keep);
                        // The old arrays may go now.
                        if w.live() {
                            w.options_memory = keep;
                            w.options = Some(o);
                        }
                    });
                }
            } else {
                // SAFETY: a live client; `cb` valid for the call.
                api(w, |c| unsafe { emq_client_set_callbacks(c, &cb, ud) });
            }
        }
        _ if op & 0xe0 == 0xe0 => return false,
        _ => match op / 20 {
            0 | 5 => api(w, |c| {
                let _ = call_publish_v5(w, c);
            }),
            1 | 6 => api(w, |c| call_subscribe_v5(w, c)),
            2 | 7 => api(w, |c| call_unsubscribe_v5(w, c)),
            3 => api(w, |c| call_disconnect_v5(w, c)),
            4 | 8 => api(w, |c| call_auth(w, c)),
            _ => {
                let c = with(w, |w| w.client);
                let mut props = EMPTY_PROPERTIES;
                // SAFETY: a live client; NULL arguments are refused.
                unsafe {
                    assert_eq!(
                        emq_client_received_properties(c, null_mut()),
                        EMQ_ERR_NULL_POINTER
                    );
                    assert_eq!(
                        emq_client_received_properties(null(), &mut props),
                        EMQ_ERR_NULL_POINTER
                    );
                }
            }
        },
    }
    with(w, |w| w.live() && !w.done() && w.ops < MAX_OPS)
}

fn options(cfg: u8) -> emq_options {
    let mut o = std::mem::MaybeUninit::<emq_options>::uninit();
    // SAFETY: writable for one emq_options.
    assert_eq!(unsafe { emq_options_default(o.as_mut_ptr()) }, EMQ_OK);
    // SAFETY: initialised just above.
    let mut o = unsafe { o.assume_init() };
    o.client_id = c"fz".as_ptr();
    o.keepalive_secs = [0, 1, 10, 60][usize::from(cfg & 3)];
    o.clean_session = cfg & 4 == 0;
    o.command_timeout_ms = [300, 1000, 5000, 60_000][usize::from(cfg >> 3 & 3)];
    o.auto_reconnect = cfg & 0x20 != 0;
    o.reconnect_min_ms = 50;
    o.reconnect_max_ms = 800;
    o.reconnect_fixed_interval = cfg & 0x40 != 0;
    o.reconnect_after_connack_only = cfg & 0x80 != 0;
    o.log_level = c_int::from(cfg % 5);
    o
}

/// A client in the world's storage, configured by the input. False when
/// the input's load hook made init fail.
fn init(w: *mut World) -> bool {
    let (c1, c2, c3, c4) = with(w, |w| (w.byte(), w.byte(), w.byte(), w.byte()));
    let mut o = options(c1);
    o.inflight_window = u16::from(c2 % 20) + 1;
    o.outbox_max_messages = u16::from(c2 / 20 % 12) + 1;
    o.queue_offline = c3 & 1 != 0;
    o.queue_qos0_offline = c3 & 2 != 0;
    o.drop_unacked_on_loss = c3 & 4 != 0;
    o.all_matching_handlers = c3 & 8 != 0;
    o.resubscribe = c3 & 16 == 0;
    o.protocol_level = 4;
    // MQTT 3.1 or 5: the arrays of the v5 settings are kept for the
    // client's life.
    let mut keep = Vec::new();
    let mut v5 = (false, 0);
    if c3 & 32 != 0 {
        if with(w, |w| w.byte()) & 1 == 0 {
            o.protocol_level = 3;
        } else {
            v5 = with(w, |w| options_v5(w, &mut o, &mut keep));
        }
    }
    if c3 & 64 != 0 {
        o.will_topic = c"fz/will".as_ptr();
        o.will_payload = b"gone".as_ptr();
        o.will_payload_len = 4;
        o.will_qos = c4 % 3;
        o.username = c"u".as_ptr();
        o.password = b"p".as_ptr();
        o.password_len = 1;
    }
    if c3 & 128 != 0 {
        o.persistence = emq_persistence {
            store: Some(p_store),
            remove: Some(p_remove),
            load: Some(p_load),
            user_data: w.cast(),
        };
    }
    let (mem, storage, transport, lock_state) = with(w, |w| {
        // A new life (the load hook runs inside init).
        w.level = o.protocol_level;
        w.freed = false;
        w.deinit_requested = false;
        w.clean_session = o.clean_session;
        w.store_fails = c4 & 0x80 != 0;
        w.rx_size = [64, 100, 256, 512][usize::from(c4 & 3)];
        (w.mem, w.storage, w.transport, w.lock)
    });
    let mut b = emq_buffers {
        // SAFETY (all four): fields of the world's live Mem.
        rx: unsafe { addr_of_mut!((*mem).rx) }.cast(),
        rx_size: with(w, |w| w.rx_size),
        tx: unsafe { addr_of_mut!((*mem).tx) }.cast(),
        tx_size: [64, 128, 512, 512][usize::from(c4 >> 2 & 3)],
        store: unsafe { addr_of_mut!((*mem).store) }.cast(),
        store_size: [0, 100, 400, 1024][usize::from(c4 >> 4 & 3)],
        tables: null_mut(),
        tables_size: 0,
        packet_ids: 0,
        inbound_qos2: 0,
        subscriptions: 0,
        subscription_bytes: 0,
    };
    if b.store_size == 0 {
        b.store = null_mut();
    }
    if c4 & 0x40 != 0 {
        let t = with(w, |w| [w.byte(), w.byte()]);
        b.packet_ids = u16::from(t[0] % 12) + 1;
        b.inbound_qos2 = u16::from(t[0] / 12 % 8) + 1;
        b.subscriptions = u16::from(t[1] % 6);
        b.subscription_bytes = u16::from(t[1] / 6) * 4;
        // SAFETY: a field of the world's live Mem.
        b.tables = unsafe { addr_of_mut!((*mem).tables) }.cast();
        // SAFETY: `b` is valid.
        b.tables_size = unsafe { emq_tables_size(&b) };
        assert!(b.tables_size <= TABLE_BYTES);
    }
    let mut out = null_mut();
    // Boxed: the client keeps a pointer to it for its life.
    let o = Box::new(o);
    // SAFETY: storage, options, transport, buffers and out valid as the
    // API asks, for the client's life.
    let result = unsafe {
        emq_client_init(
            storage.cast(),
            std::mem::size_of::<Storage>(),
            &*o,
            transport,
            Some(clock),
            &b,
            &mut out,
        )
    };
    named(result);
    trace!("init at level {} -> {result:?}", o.protocol_level);
    let (props_given, aliases) = v5;
    let aliases_ok = aliases_fit(&o, aliases, b.rx_size);
    if !props_given {
        // Without properties to judge, the outcome is known.
        if aliases_ok {
            assert!(
                result == EMQ_OK || result == EMQ_ERR_PERSISTENCE,
                "init refused a valid setup: {result:?}"
            );
        } else {
            assert_eq!(
                result, EMQ_ERR_INVALID_ARGUMENT,
                "topic aliases taking {aliases} of {} bytes",
                b.rx_size
            );
        }
    }
    if result != EMQ_OK {
        assert!(out.is_null());
        return false;
    }
    assert!(
        aliases_ok,
        "init took topic aliases taking {aliases} of {} bytes",
        b.rx_size
    );
    with(w, |w| {
        w.client = out;
        w.freed = false;
        w.deinit_requested = false;
        w.ops = 0;
        w.level = o.protocol_level;
        w.method = method_of(&keep);
        w.options_memory = keep;
        w.options = Some(o);
    });
    if c1 & 0x10 != 0 {
        let hooks = emq_lock {
            lock: Some(lock),
            unlock: Some(unlock),
            user_data: lock_state.cast(),
        };
        // SAFETY: a live client used by this task only; hooks callable.
        assert_eq!(unsafe { emq_client_set_lock(out, &hooks) }, EMQ_OK);
    }
    let cb = callbacks(c2);
    // SAFETY: a live client; `cb` valid for the call.
    assert_eq!(
        api(w, |c| unsafe { emq_client_set_callbacks(c, &cb, w.cast()) }),
        EMQ_OK
    );
    true
}

fuzz_target!(|data: &[u8]| {
    reason_texts();
    // Some runs start just before the 32-bit tick wraps.
    let start = if data.first().is_some_and(|&b| b & 1 != 0) {
        u32::MAX - 3_000
    } else {
        1_000
    };
    NOW.with(|n| n.set(start));
    let world = Box::into_raw(Box::new(World {
        data: data.to_vec(),
        at: 1,
        end: data.len(),
        client: null_mut(),
        storage: Box::into_raw(Box::new(Storage([0; 2048]))),
        mem: Box::into_raw(Box::new(Mem {
            rx: [0; 512],
            tx: [0; 512],
            store: [0; 1024],
            tables: [0; TABLE_BYTES],
        })),
        transport: null_mut(),
        lock: Box::into_raw(Box::new(LockState {
            depth: Cell::new(0),
        })),
        rx_size: 0,
        clean_session: true,
        link: Link::Closed,
        feed: VecDeque::new(),
        chunk: 0,
        send_chunk: 0,
        send_stalls: 0,
        send_fails: false,
        connect_results: VecDeque::new(),
        auto: true,
        ack_publishes: true,
        wire: Vec::new(),
        publishing: 0,
        publishing_qos0: 0,
        outstanding: HashSet::new(),
        early: HashSet::new(),
        sub_wire: HashSet::new(),
        unsub_wire: HashMap::new(),
        inbound_open: HashSet::new(),
        tags: Vec::new(),
        saved: Vec::new(),
        store_fails: false,
        depth: 0,
        deinit_requested: false,
        freed: false,
        ops: 0,
        level: 4,
        options_memory: Vec::new(),
        options: None,
        method: None,
        v5: false,
        link_method: None,
        expiry_zero: false,
        server_alias_max: 0,
    }));
    let transport = Box::into_raw(Box::new(emq_transport {
        connect: Some(t_connect),
        send: Some(t_send),
        recv: Some(t_recv),
        close: Some(t_close),
        user_data: world.cast(),
    }));
    with(world, |w| w.transport = transport);
    // Up to two client lives in the same storage (the second one loads
    // what the first saved through the persistence hooks).
    for _ in 0..2 {
        with(world, |w| {
            w.level = 4;
            w.outstanding.clear();
            w.sub_wire.clear();
            w.unsub_wire.clear();
            w.inbound_open.clear();
            w.feed.clear();
            w.connect_results.clear();
        });
        if init(world) {
            while step(world) {}
            if with(world, |w| w.live()) {
                let c = with(world, |w| w.client);
                // SAFETY: a live client, not inside a callback.
                assert_eq!(unsafe { emq_client_deinit(c) }, EMQ_OK);
                with(world, World::ended);
            }
            with(world, World::link_closed_at_end);
        }
        if with(world, |w| w.done()) {
            break;
        }
    }
    // SAFETY: every box made above, freed once; the client has ended.
    unsafe {
        let w = Box::from_raw(world);
        drop(Box::from_raw(transport));
        drop(Box::from_raw(w.storage));
        drop(Box::from_raw(w.mem));
        drop(Box::from_raw(w.lock));
        for tag in &w.tags {
            drop(Box::from_raw(*tag));
        }
    }
});
