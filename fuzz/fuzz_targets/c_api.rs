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
//! - everything the client writes is well-formed MQTT 3.1.1.
//!
//! Build: `--no-default-features --features firmware`, with the library as
//! an rlib (scripts/fuzz-smoke.sh does both).
#![no_main]

use embermq::ffi::emq_err::*;
use embermq::ffi::*;
use libfuzzer_sys::fuzz_target;
use std::cell::Cell;
use std::collections::{HashSet, VecDeque};
use std::ffi::{c_char, c_int, c_void, CString};
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
/// (tests/ffi_miri.rs has a reproducer of each), e.g.
/// `EMQ_FUZZ_ALLOW=opening-leak,closed-read`: `opening-leak`, a transport
/// whose connect is in progress is not closed by disconnect or deinit;
/// `closed-read`, poll reads from a link an on_log_event callback closed.
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

#[repr(C, align(8))]
struct Storage([u8; 1024]);

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
    unsub_wire: HashSet<u16>,
    /// Inbound QoS 2 ids delivered and not yet completed (PUBCOMP), per
    /// receiver: 0 for on_message/on_overflow, else a handler's tag (with
    /// `all_matching_handlers` each matching handler gets the message).
    inbound_open: HashSet<(u32, u16)>,
    /// The user_data of each handler subscribed in this run.
    tags: Vec<*mut HandlerTag>,
    saved: Vec<(u16, Vec<u8>)>,
    store_fails: bool,
    depth: u32,
    deinit_requested: bool,
    freed: bool,
    ops: usize,
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
            Pkt::Publish { qos, id, dup } if qos > 0 => {
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
            Pkt::PubComp(id) => {
                self.inbound_open.retain(|open| open.1 != id);
            }
            Pkt::PubRec(id) if self.auto => self.feed.push_back(Feed::Bytes(ack(0x62, id))),
            Pkt::PubRel(id) if self.auto => self.feed.push_back(Feed::Bytes(ack(0x70, id))),
            Pkt::Subscribe { id, count } => {
                self.sub_wire.insert(id);
                if self.auto {
                    let codes: Vec<u8> = (0..count).map(|i| [0, 1, 2, 0x80][i % 4]).collect();
                    self.feed.push_back(Feed::Bytes(suback(id, &codes)));
                }
            }
            Pkt::Unsubscribe { id } => {
                self.unsub_wire.insert(id);
                if self.auto {
                    self.feed.push_back(Feed::Bytes(ack(0xB0, id)));
                }
            }
            Pkt::Connect if self.auto => {
                self.feed.push_back(Feed::Bytes(vec![0x20, 2, 0, 0]));
            }
            Pkt::PingReq if self.auto => self.feed.push_back(Feed::Bytes(vec![0xD0, 0])),
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
    Connect,
    Publish { qos: u8, id: u16, dup: bool },
    PubAck,
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    Subscribe { id: u16, count: usize },
    Unsubscribe { id: u16 },
    PingReq,
    Disconnect,
}

fn str_at(body: &[u8], at: usize) -> usize {
    let len = usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
    assert!(at + 2 + len <= body.len(), "string past the packet");
    std::str::from_utf8(&body[at + 2..at + 2 + len]).expect("a client string is UTF-8");
    at + 2 + len
}

fn id_at(body: &[u8], at: usize) -> u16 {
    assert!(at + 2 <= body.len(), "packet id past the packet");
    let id = u16::from_be_bytes([body[at], body[at + 1]]);
    assert_ne!(id, 0, "packet id 0");
    id
}

/// The first whole packet the client wrote, checked, and its length.
fn parse(wire: &[u8]) -> Option<(Pkt, usize)> {
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
    let packet = match kind {
        1 => {
            assert_eq!(flags, 0);
            let i = str_at(body, 0);
            assert!(body[i] == 3 || body[i] == 4, "protocol level");
            Pkt::Connect
        }
        3 => {
            let qos = (flags >> 1) & 3;
            assert!(qos < 3, "PUBLISH at QoS 3");
            assert!(qos > 0 || flags & 8 == 0, "DUP on QoS 0");
            let i = str_at(body, 0);
            assert!(i > 2, "PUBLISH with an empty topic");
            let id = if qos > 0 { id_at(body, i) } else { 0 };
            Pkt::Publish {
                qos,
                id,
                dup: flags & 8 != 0,
            }
        }
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
            let (mut i, mut count) = (2, 0);
            while i < body.len() {
                i = str_at(body, i);
                assert!(body[i] < 3, "requested QoS");
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
            while i < body.len() {
                i = str_at(body, i);
            }
            assert!(i > 2, "UNSUBSCRIBE without filters");
            Pkt::Unsubscribe { id }
        }
        12 => {
            assert_eq!((flags, len), (0, 0));
            Pkt::PingReq
        }
        14 => {
            assert_eq!((flags, len), (0, 0));
            Pkt::Disconnect
        }
        other => panic!("a client never sends packet type {other}"),
    };
    Some((packet, at + len))
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
        while let Some((packet, used)) = parse(&w.wire) {
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
    react(w, c);
}

unsafe extern "C" fn on_connect_failed(ud: *mut c_void, c: *mut emq_client, _: emq_err, _: u8) {
    let w = ud.cast::<World>();
    with(w, |w| w.entered("on_connect_failed"));
    react(w, c);
}

unsafe extern "C" fn on_disconnect(ud: *mut c_void, c: *mut emq_client, _: emq_err) {
    let w = ud.cast::<World>();
    with(w, |w| w.entered("on_disconnect"));
    react(w, c);
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
    react(w, c);
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
    react(w, c);
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
    react(w, c);
}

unsafe extern "C" fn on_dropped(ud: *mut c_void, c: *mut emq_client, id: u16, _: emq_err) {
    let w = ud.cast::<World>();
    with(w, |w| {
        w.entered("on_dropped");
        trace!("    id {id}");
        w.resolved(id, "on_dropped");
    });
    react(w, c);
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
        assert!(
            codes.iter().all(|&g| g <= 2 || g == 0x80),
            "granted {codes:?}"
        );
    });
    react(w, c);
}

unsafe extern "C" fn on_unsubscribed(ud: *mut c_void, c: *mut emq_client, id: u16) {
    let w = ud.cast::<World>();
    with(w, |w| {
        w.entered("on_unsubscribed");
        assert!(
            w.unsub_wire.remove(&id),
            "on_unsubscribed({id}): no such UNSUBSCRIBE"
        );
    });
    react(w, c);
}

unsafe extern "C" fn on_log_event(ud: *mut c_void, c: *mut emq_client, e: *const emq_log_event) {
    let w = ud.cast::<World>();
    with(w, |w| w.entered("on_log_event"));
    // SAFETY: valid for the callback.
    let _ = unsafe { *e };
    react(w, c);
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
        w.saved.push((id, bytes));
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
    for (id, packet) in saved {
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
            w.client = null_mut();
            w.freed = true;
            w.link_closed_at_end();
        }
    });
    out
}

fn call_publish(w: *mut World, c: *mut emq_client) -> emq_err {
    let (topic, payload, flags) = with(w, |w| (w.topic(), w.payload(), w.byte()));
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
    // SAFETY: a live client; C string, payload and id as the API asks.
    let result = unsafe {
        emq_client_publish(
            c,
            topic.as_ptr(),
            ptr,
            payload.len(),
            qos,
            retain,
            if with_id { &mut id } else { null_mut() },
        )
    };
    trace!("  publish qos {qos} -> {result:?}, id {id}");
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

/// A packet from the broker, well-formed but not necessarily expected.
fn broker_packet(w: &mut World) {
    let kind = w.byte();
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
                let unsubs: Vec<u16> = w.unsub_wire.iter().copied().collect();
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
        7 | 8 => {
            api(w, |c| call_publish(w, c));
        }
        9 => api(w, |c| call_subscribe(w, c)),
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
            let (raw, structured) = with(w, |w| {
                let flags = w.byte();
                let id = w.u16();
                let payload = w.payload();
                let n = usize::from(w.byte() % 8);
                (w.bytes(n), publish(b"r/s", &payload, flags, id))
            });
            for bytes in [raw, structured] {
                // SAFETY: a live client; `bytes` readable.
                let result = api(w, |c| unsafe {
                    emq_client_restore(c, bytes.as_ptr(), bytes.len())
                });
                if result == EMQ_OK {
                    let (packet, _) = parse(&bytes).expect("restore took bytes that do not parse");
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
                // SAFETY: a live client; `o` is valid for the call.
                let mut o = options(b);
                o.client_id = c"fz2".as_ptr();
                api(w, |c| unsafe { emq_client_reconfigure(c, &o) });
                with(w, |w| w.clean_session = w.clean_session || o.clean_session);
            } else {
                // SAFETY: a live client; `cb` valid for the call.
                api(w, |c| unsafe { emq_client_set_callbacks(c, &cb, ud) });
            }
        }
        _ => {
            if op & 0xe0 == 0xe0 {
                return false;
            }
        }
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
    o.protocol_level = if c3 & 32 != 0 { 3 } else { 4 };
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
    // SAFETY: storage, options, transport, buffers and out valid as the
    // API asks, for the client's life.
    let result = unsafe {
        emq_client_init(
            storage.cast(),
            std::mem::size_of::<Storage>(),
            &o,
            transport,
            Some(clock),
            &b,
            &mut out,
        )
    };
    if result != EMQ_OK {
        assert_eq!(result, EMQ_ERR_PERSISTENCE, "init refused a valid setup");
        assert!(out.is_null());
        return false;
    }
    with(w, |w| {
        w.client = out;
        w.freed = false;
        w.deinit_requested = false;
        w.ops = 0;
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
        storage: Box::into_raw(Box::new(Storage([0; 1024]))),
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
        unsub_wire: HashSet::new(),
        inbound_open: HashSet::new(),
        tags: Vec::new(),
        saved: Vec::new(),
        store_fails: false,
        depth: 0,
        deinit_requested: false,
        freed: false,
        ops: 0,
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
                with(world, |w| {
                    w.client = null_mut();
                    w.freed = true;
                });
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
