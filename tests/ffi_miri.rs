//! The firmware C API called from Rust exactly as C calls it: raw pointers
//! into caller storage, NUL-terminated strings, `extern "C"` callbacks with
//! `user_data`, NULL pointers and bad lengths. The transport is an
//! in-memory scripted broker (split reads, timeouts, transport errors) and
//! the clock a simulated tick, so the tests run under Miri (see
//! scripts/miri.sh), which checks every `unsafe` block these calls reach.
//!
//! Firmware only (the host build has no `emq_client_init`), so empty with
//! `std`. Natively: `RUSTC_WRAPPER=$PWD/scripts/rlib-only-rustc.sh cargo
//! test --no-default-features --features
//! reconnect,tables,subscriptions,log-events,persistence,lock-hooks --test
//! ffi_miri` (the wrapper says why); scripts/miri.sh runs that, then Miri.
#![cfg(not(feature = "std"))]

use core::ffi::{c_char, c_int, c_void, CStr};
use embermq::ffi::emq_err::*;
use embermq::ffi::*;
use std::cell::Cell;
use std::collections::VecDeque;
use std::ptr::{self, addr_of_mut, null, null_mut, NonNull};

// --- simulated clock --------------------------------------------------------

thread_local! {
    /// Each test runs on its own thread, so each has its own clock.
    static NOW: Cell<u32> = const { Cell::new(1_000) };
}

thread_local! {
    /// Added to the clock at each read (0: time passes only in waits), so
    /// a loop that spins on the clock ends, and `READS` counts its turns.
    static STEP: Cell<u32> = const { Cell::new(0) };
    static READS: Cell<u32> = const { Cell::new(0) };
}

unsafe extern "C" fn clock() -> u32 {
    READS.with(|r| r.set(r.get() + 1));
    advance(STEP.with(Cell::get));
    NOW.with(Cell::get)
}

fn advance(ms: u32) {
    NOW.with(|n| n.set(n.get().wrapping_add(ms)));
}

// --- MQTT bytes, as a broker writes and reads them ---------------------------

fn frame(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut len = body.len();
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

fn connack(session_present: bool, code: u8) -> Vec<u8> {
    vec![0x20, 2, u8::from(session_present), code]
}

fn ack(first: u8, id: u16) -> Vec<u8> {
    let [hi, lo] = id.to_be_bytes();
    vec![first, 2, hi, lo]
}

const PUBACK: u8 = 0x40;
const PUBREC: u8 = 0x50;
const PUBREL: u8 = 0x62;
const PUBCOMP: u8 = 0x70;
const UNSUBACK: u8 = 0xB0;

fn suback(id: u16, codes: &[u8]) -> Vec<u8> {
    let mut body = id.to_be_bytes().to_vec();
    body.extend_from_slice(codes);
    frame(0x90, &body)
}

fn publish(topic: &str, payload: &[u8], qos: u8, id: u16, dup: bool) -> Vec<u8> {
    let mut body = (topic.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    frame(0x30 | u8::from(dup) << 3 | qos << 1, &body)
}

/// A packet the client wrote.
#[derive(Debug, Clone, PartialEq)]
enum Pkt {
    Connect {
        client_id: String,
        clean: bool,
        keepalive: u16,
    },
    Publish {
        topic: String,
        payload: Vec<u8>,
        qos: u8,
        id: u16,
        dup: bool,
        retain: bool,
    },
    PubAck(u16),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    Subscribe {
        id: u16,
        filters: Vec<(String, u8)>,
    },
    Unsubscribe {
        id: u16,
        filters: Vec<String>,
    },
    PingReq,
    Disconnect,
}

fn take_str(body: &[u8], at: &mut usize) -> String {
    let len = usize::from(u16::from_be_bytes([body[*at], body[*at + 1]]));
    let text = String::from_utf8(body[*at + 2..*at + 2 + len].to_vec()).expect("UTF-8");
    *at += 2 + len;
    text
}

fn take_id(body: &[u8], at: &mut usize) -> u16 {
    let id = u16::from_be_bytes([body[*at], body[*at + 1]]);
    *at += 2;
    id
}

/// The first whole packet in `wire` and its length; panics on bytes no
/// MQTT 3.1.1 client may send.
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
    let mut i = 0;
    let packet = match kind {
        1 => {
            assert_eq!(take_str(body, &mut i), "MQTT");
            let connect_flags = body[i + 1];
            i += 2;
            let keepalive = take_id(body, &mut i);
            Pkt::Connect {
                client_id: take_str(body, &mut i),
                clean: connect_flags & 2 != 0,
                keepalive,
            }
        }
        3 => {
            let qos = (flags >> 1) & 3;
            assert!(qos < 3, "PUBLISH with QoS 3");
            let topic = take_str(body, &mut i);
            let id = if qos > 0 { take_id(body, &mut i) } else { 0 };
            assert!(qos == 0 || id != 0, "PUBLISH without a packet id");
            Pkt::Publish {
                topic,
                payload: body[i..].to_vec(),
                qos,
                id,
                dup: flags & 8 != 0,
                retain: flags & 1 != 0,
            }
        }
        4 => Pkt::PubAck(take_id(body, &mut i)),
        5 => Pkt::PubRec(take_id(body, &mut i)),
        6 => {
            assert_eq!(flags, 2, "PUBREL flags");
            Pkt::PubRel(take_id(body, &mut i))
        }
        7 => Pkt::PubComp(take_id(body, &mut i)),
        8 => {
            assert_eq!(flags, 2, "SUBSCRIBE flags");
            let id = take_id(body, &mut i);
            let mut filters = Vec::new();
            while i < body.len() {
                let filter = take_str(body, &mut i);
                filters.push((filter, body[i]));
                i += 1;
            }
            Pkt::Subscribe { id, filters }
        }
        10 => {
            assert_eq!(flags, 2, "UNSUBSCRIBE flags");
            let id = take_id(body, &mut i);
            let mut filters = Vec::new();
            while i < body.len() {
                filters.push(take_str(body, &mut i));
            }
            Pkt::Unsubscribe { id, filters }
        }
        12 => Pkt::PingReq,
        14 => Pkt::Disconnect,
        other => panic!("a client never sends packet type {other}"),
    };
    Some((packet, at + len))
}

// --- the scripted broker, as the transport callbacks' user_data ---------------

/// What the next `recv` gets.
enum Feed {
    Bytes(Vec<u8>),
    /// Nothing arrives in time.
    Timeout,
    /// The link fails (or the peer closed it).
    Fail,
}

struct Broker {
    feed: VecDeque<Feed>,
    /// Most bytes handed out per `recv` (split reads); 0: no limit.
    chunk: usize,
    /// Most bytes taken per `send` (short writes); 0: no limit.
    send_chunk: usize,
    /// Answer every packet as a broker would (CONNACK, PUBACK, ...).
    auto: bool,
    /// Acknowledge the client's QoS 1/2 PUBLISHes (with `auto`).
    ack_publishes: bool,
    /// The CONNACK `auto` sends: session present, return code.
    connack: (bool, u8),
    /// Granted QoS for every filter in `auto`'s SUBACKs (else as asked).
    grant: Option<u8>,
    /// What the next `connect` calls return (then 0).
    connect_results: VecDeque<c_int>,
    send_fails: bool,
    open: bool,
    /// `connect` said EMQ_TRANSPORT_IN_PROGRESS.
    opening: bool,
    connects: u32,
    closes: u32,
    hosts: Vec<(Option<String>, u16)>,
    /// Bytes written but not yet a whole packet.
    wire: Vec<u8>,
    sent: Vec<Pkt>,
    /// Transport calls after the client ended (must stay 0).
    after_free: u32,
    /// send/recv on a link not open (must stay 0).
    closed_io: u32,
    freed: bool,
}

impl Broker {
    fn new() -> Self {
        Broker {
            feed: VecDeque::new(),
            chunk: 0,
            send_chunk: 0,
            auto: true,
            ack_publishes: true,
            connack: (false, 0),
            grant: None,
            connect_results: VecDeque::new(),
            send_fails: false,
            open: false,
            opening: false,
            connects: 0,
            closes: 0,
            hosts: Vec::new(),
            wire: Vec::new(),
            sent: Vec::new(),
            after_free: 0,
            closed_io: 0,
            freed: false,
        }
    }

    fn push(&mut self, bytes: Vec<u8>) {
        self.feed.push_back(Feed::Bytes(bytes));
    }

    fn answer(&mut self, packet: &Pkt) {
        let reply = match packet {
            Pkt::Connect { .. } => connack(self.connack.0, self.connack.1),
            Pkt::Publish { qos: 1, id, .. } if self.ack_publishes => ack(PUBACK, *id),
            Pkt::Publish { qos: 2, id, .. } if self.ack_publishes => ack(PUBREC, *id),
            Pkt::PubRel(id) => ack(PUBCOMP, *id),
            Pkt::PubRec(id) => ack(PUBREL, *id),
            Pkt::Subscribe { id, filters } => {
                let codes: Vec<u8> = filters.iter().map(|f| self.grant.unwrap_or(f.1)).collect();
                suback(*id, &codes)
            }
            Pkt::Unsubscribe { id, .. } => ack(UNSUBACK, *id),
            Pkt::PingReq => vec![0xD0, 0],
            _ => return,
        };
        self.push(reply);
    }
}

unsafe fn broker<'a>(user_data: *mut c_void) -> &'a mut Broker {
    // SAFETY: every transport here carries a live Broker as user_data, and
    // no other reference to it is in use while a callback runs.
    let b = unsafe { &mut *user_data.cast::<Broker>() };
    if b.freed {
        b.after_free += 1;
    }
    b
}

unsafe extern "C" fn t_connect(ud: *mut c_void, host: *const c_char, port: u16, _: u32) -> c_int {
    let b = unsafe { broker(ud) };
    let host =
        (!host.is_null()).then(|| unsafe { CStr::from_ptr(host) }.to_str().unwrap().to_owned());
    b.hosts.push((host, port));
    let result = b.connect_results.pop_front().unwrap_or(0);
    assert!(!b.open, "connect on an open link");
    b.opening = result == emq_transport_status::EMQ_TRANSPORT_IN_PROGRESS as c_int;
    if result == 0 {
        b.open = true;
        b.connects += 1;
        b.wire.clear();
    }
    result
}

unsafe extern "C" fn t_send(ud: *mut c_void, buf: *const u8, len: usize, _: u32) -> c_int {
    let b = unsafe { broker(ud) };
    assert!(len > 0 && !buf.is_null());
    if !b.open {
        // Noted, not a panic: a panic here would abort the whole run.
        b.closed_io += 1;
        return -1;
    }
    if b.send_fails {
        return -1;
    }
    let n = if b.send_chunk == 0 {
        len
    } else {
        len.min(b.send_chunk)
    };
    b.wire
        .extend_from_slice(unsafe { std::slice::from_raw_parts(buf, n) });
    while let Some((packet, used)) = parse(&b.wire) {
        b.wire.drain(..used);
        if b.auto {
            b.answer(&packet);
        }
        b.sent.push(packet);
    }
    n as c_int
}

unsafe extern "C" fn t_recv(ud: *mut c_void, buf: *mut u8, len: usize, timeout: u32) -> c_int {
    let b = unsafe { broker(ud) };
    assert!(len > 0 && !buf.is_null());
    if !b.open {
        b.closed_io += 1;
        return -1;
    }
    match b.feed.pop_front() {
        None | Some(Feed::Timeout) => {
            // Waited the whole timeout for nothing.
            advance(timeout);
            0
        }
        Some(Feed::Fail) => -1,
        Some(Feed::Bytes(mut bytes)) => {
            let limit = if b.chunk == 0 { len } else { len.min(b.chunk) };
            let n = bytes.len().min(limit);
            unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), buf, n) };
            if n < bytes.len() {
                bytes.drain(..n);
                b.feed.push_front(Feed::Bytes(bytes));
            }
            n as c_int
        }
    }
}

unsafe extern "C" fn t_close(ud: *mut c_void) {
    let b = unsafe { broker(ud) };
    assert!(b.open || b.opening, "close without an open link");
    b.open = false;
    b.opening = false;
    // Bytes in flight die with the connection.
    b.feed.clear();
    b.closes += 1;
}

// --- callbacks, recorded ------------------------------------------------------

/// One callback call, with copies of what it was given.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Connect(bool, u8),
    ConnectFailed(emq_err, u8),
    Disconnect(emq_err),
    Message {
        topic: String,
        payload: Vec<u8>,
        qos: u8,
        id: u16,
        dup: bool,
    },
    Handler(String),
    Overflow {
        topic: String,
        size: usize,
    },
    Published(u16),
    Subscribed(u16, Vec<u8>),
    Unsubscribed(u16),
    Dropped(u16, emq_err),
}

/// What a test does inside a callback (with the recorder as a raw pointer:
/// calls made here may run further callbacks on the same recorder).
type Hook = unsafe fn(rec: *mut Rec, client: *mut emq_client, ev: &Ev);

struct Rec {
    events: Vec<Ev>,
    log_codes: Vec<emq_log_code>,
    hook: Option<Hook>,
    /// Call `emq_client_deinit` in the first callback this matches.
    deinit_on: Option<fn(&Ev) -> bool>,
    deinit_requested: bool,
    /// Callbacks after `emq_client_deinit` was asked for inside a callback.
    after_request: u32,
    freed: bool,
    after_free: u32,
    /// Results of calls made inside callbacks.
    results: Vec<emq_err>,
    ids: Vec<u16>,
    /// The next on_log_event calls emq_client_disconnect.
    disconnect_on_log: bool,
    /// Lock depth seen inside callbacks (must be 0: no lock is held there).
    lock: *const LockState,
}

impl Rec {
    fn new() -> Self {
        Rec {
            events: Vec::new(),
            log_codes: Vec::new(),
            hook: None,
            deinit_on: None,
            deinit_requested: false,
            after_request: 0,
            freed: false,
            after_free: 0,
            results: Vec::new(),
            ids: Vec::new(),
            disconnect_on_log: false,
            lock: null(),
        }
    }

    fn count(&self, pick: fn(&Ev) -> bool) -> usize {
        self.events.iter().filter(|e| pick(e)).count()
    }
}

/// Records `ev`, then runs the test's hook and the deinit request. No
/// reference to the recorder is held while either calls into the client.
unsafe fn record(ud: *mut c_void, client: *mut emq_client, ev: Ev) {
    let rec = ud.cast::<Rec>();
    let (hook, deinit) = {
        // SAFETY: the recorder outlives the client; this borrow ends here.
        let r = unsafe { &mut *rec };
        if r.freed {
            r.after_free += 1;
        }
        if r.deinit_requested {
            r.after_request += 1;
        }
        if !r.lock.is_null() {
            assert_eq!(
                unsafe { (*r.lock).depth.get() },
                0,
                "lock held in a callback"
            );
        }
        r.events.push(ev.clone());
        let deinit = !r.deinit_requested && r.deinit_on.is_some_and(|on| on(&ev));
        (r.hook, deinit)
    };
    if let Some(hook) = hook {
        unsafe { hook(rec, client, &ev) };
    }
    if deinit {
        unsafe { (*rec).deinit_requested = true };
        assert_eq!(unsafe { emq_client_deinit(client) }, EMQ_OK);
    }
}

unsafe fn text(ptr: *const c_char, len: usize) -> String {
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    String::from_utf8(bytes.to_vec()).unwrap()
}

unsafe extern "C" fn on_connect(ud: *mut c_void, c: *mut emq_client, sp: bool, code: u8) {
    unsafe { record(ud, c, Ev::Connect(sp, code)) }
}

unsafe extern "C" fn on_connect_failed(ud: *mut c_void, c: *mut emq_client, e: emq_err, rc: u8) {
    unsafe { record(ud, c, Ev::ConnectFailed(e, rc)) }
}

unsafe extern "C" fn on_disconnect(ud: *mut c_void, c: *mut emq_client, reason: emq_err) {
    unsafe { record(ud, c, Ev::Disconnect(reason)) }
}

unsafe extern "C" fn on_message(ud: *mut c_void, c: *mut emq_client, m: *const emq_message) {
    let m = unsafe { &*m };
    let ev = Ev::Message {
        topic: unsafe { text(m.topic, m.topic_len) },
        payload: unsafe { std::slice::from_raw_parts(m.payload, m.payload_len) }.to_vec(),
        qos: m.qos,
        id: m.packet_id,
        dup: m.dup,
    };
    unsafe { record(ud, c, ev) }
}

unsafe extern "C" fn on_handler(ud: *mut c_void, c: *mut emq_client, m: *const emq_message) {
    let m = unsafe { &*m };
    unsafe { record(ud, c, Ev::Handler(text(m.topic, m.topic_len))) }
}

unsafe extern "C" fn on_overflow(
    ud: *mut c_void,
    c: *mut emq_client,
    m: *const emq_message,
    size: usize,
) {
    let m = unsafe { &*m };
    // The part of the payload that fit is readable.
    let _ = unsafe { std::slice::from_raw_parts(m.payload, m.payload_len) }.to_vec();
    let topic = unsafe { text(m.topic, m.topic_len) };
    unsafe { record(ud, c, Ev::Overflow { topic, size }) }
}

unsafe extern "C" fn on_published(ud: *mut c_void, c: *mut emq_client, id: u16) {
    unsafe { record(ud, c, Ev::Published(id)) }
}

unsafe extern "C" fn on_subscribed(
    ud: *mut c_void,
    c: *mut emq_client,
    id: u16,
    granted: *const u8,
    count: usize,
) {
    let granted = unsafe { std::slice::from_raw_parts(granted, count) }.to_vec();
    unsafe { record(ud, c, Ev::Subscribed(id, granted)) }
}

unsafe extern "C" fn on_unsubscribed(ud: *mut c_void, c: *mut emq_client, id: u16) {
    unsafe { record(ud, c, Ev::Unsubscribed(id)) }
}

#[cfg_attr(not(feature = "drop-unacked"), allow(dead_code))]
unsafe extern "C" fn on_dropped(ud: *mut c_void, c: *mut emq_client, id: u16, why: emq_err) {
    unsafe { record(ud, c, Ev::Dropped(id, why)) }
}

unsafe extern "C" fn on_log_event(ud: *mut c_void, c: *mut emq_client, e: *const emq_log_event) {
    let disconnect = {
        let r = unsafe { &mut *ud.cast::<Rec>() };
        r.log_codes.push(unsafe { (*e).code });
        std::mem::take(&mut r.disconnect_on_log)
    };
    if disconnect {
        let _ = unsafe { emq_client_disconnect(c) };
    }
}

fn callbacks() -> emq_callbacks {
    let mut cb = std::mem::MaybeUninit::<emq_callbacks>::uninit();
    assert_eq!(unsafe { emq_callbacks_default(cb.as_mut_ptr()) }, EMQ_OK);
    let mut cb = unsafe { cb.assume_init() };
    cb.on_connect = Some(on_connect);
    cb.on_connect_failed = Some(on_connect_failed);
    cb.on_disconnect = Some(on_disconnect);
    cb.on_message = Some(on_message);
    cb.on_published = Some(on_published);
    cb.on_subscribed = Some(on_subscribed);
    cb.on_unsubscribed = Some(on_unsubscribed);
    // A build without `drop-unacked` refuses it.
    #[cfg(feature = "drop-unacked")]
    {
        cb.on_dropped = Some(on_dropped);
    }
    cb.on_log_event = Some(on_log_event);
    cb
}

// --- lock hooks ---------------------------------------------------------------

struct LockState {
    depth: Cell<u32>,
    locks: Cell<u32>,
}

unsafe extern "C" fn lock(ud: *mut c_void) {
    let s = unsafe { &*ud.cast::<LockState>() };
    assert_eq!(
        s.depth.get(),
        0,
        "the lock is taken twice (it is not recursive)"
    );
    s.depth.set(1);
    s.locks.set(s.locks.get() + 1);
}

unsafe extern "C" fn unlock(ud: *mut c_void) {
    let s = unsafe { &*ud.cast::<LockState>() };
    assert_eq!(s.depth.get(), 1, "unlock without lock");
    s.depth.set(0);
}

// --- the fixture: a client in caller storage, as firmware declares it ---------

#[repr(C, align(8))]
struct Storage([u8; 1024]);

#[repr(C, align(8))]
struct Mem {
    rx: [u8; 512],
    tx: [u8; 512],
    store: [u8; 1024],
    tables: [u8; 1024],
}

/// How a fixture's client is set up.
#[derive(Clone, Copy)]
struct Setup {
    /// Table memory: 8 packet ids, 8 inbound QoS 2 ids, 4 subscriptions.
    tables: bool,
    rx: usize,
    tx: usize,
    store: usize,
    tweak: fn(&mut emq_options),
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            tables: false,
            rx: 512,
            tx: 512,
            store: 1024,
            tweak: |_| {},
        }
    }
}

fn options() -> emq_options {
    let mut o = std::mem::MaybeUninit::<emq_options>::uninit();
    assert_eq!(unsafe { emq_options_default(o.as_mut_ptr()) }, EMQ_OK);
    let mut o = unsafe { o.assume_init() };
    o.client_id = c"miri".as_ptr();
    o.command_timeout_ms = 2_000;
    o.log_level = emq_log_level::EMQ_LOG_DEBUG as c_int;
    o
}

/// Boxes leaked to raw pointers (as C keeps its statics), freed on drop
/// once the client has ended.
struct Fx {
    client: *mut emq_client,
    storage: *mut Storage,
    mem: *mut Mem,
    broker: *mut Broker,
    rec: *mut Rec,
    transport: *mut emq_transport,
    /// Every `emq_options` given to init or reconfigure: the firmware
    /// client keeps a pointer to them until it ends.
    options: Vec<*mut emq_options>,
}

impl Fx {
    fn new(setup: Setup) -> Fx {
        let mut fx = Fx {
            client: null_mut(),
            storage: Box::into_raw(Box::new(Storage([0; 1024]))),
            mem: Box::into_raw(Box::new(Mem {
                rx: [0; 512],
                tx: [0; 512],
                store: [0; 1024],
                tables: [0; 1024],
            })),
            broker: Box::into_raw(Box::new(Broker::new())),
            rec: Box::into_raw(Box::new(Rec::new())),
            transport: null_mut(),
            options: Vec::new(),
        };
        fx.transport = Box::into_raw(Box::new(emq_transport {
            connect: Some(t_connect),
            send: Some(t_send),
            recv: Some(t_recv),
            close: Some(t_close),
            user_data: fx.broker.cast(),
        }));
        assert_eq!(fx.init(setup), EMQ_OK);
        fx
    }

    fn buffers(&self, setup: Setup) -> emq_buffers {
        let m = self.mem;
        let mut b = emq_buffers {
            rx: unsafe { addr_of_mut!((*m).rx) }.cast(),
            rx_size: setup.rx,
            tx: unsafe { addr_of_mut!((*m).tx) }.cast(),
            tx_size: setup.tx,
            store: unsafe { addr_of_mut!((*m).store) }.cast(),
            store_size: setup.store,
            tables: null_mut(),
            tables_size: 0,
            packet_ids: 0,
            inbound_qos2: 0,
            subscriptions: 0,
            subscription_bytes: 0,
        };
        if setup.store == 0 {
            b.store = null_mut();
        }
        if setup.tables {
            b.packet_ids = 8;
            b.inbound_qos2 = 8;
            b.subscriptions = 4;
            b.subscription_bytes = 128;
            b.tables = unsafe { addr_of_mut!((*m).tables) }.cast();
            b.tables_size = unsafe { emq_tables_size(&b) };
            assert!(b.tables_size <= 1024);
        }
        b
    }

    /// `o` where it stays valid and unchanged until the fixture ends, as a
    /// firmware client needs the options it was given.
    fn keep(&mut self, o: emq_options) -> *const emq_options {
        let kept = Box::into_raw(Box::new(o));
        self.options.push(kept);
        kept
    }

    /// `emq_client_init` in this fixture's storage, and the callbacks.
    fn init(&mut self, setup: Setup) -> emq_err {
        let mut o = options();
        (setup.tweak)(&mut o);
        let o = self.keep(o);
        let b = self.buffers(setup);
        let mut out = null_mut();
        let result = unsafe {
            emq_client_init(
                self.storage.cast(),
                std::mem::size_of::<Storage>(),
                o,
                self.transport,
                Some(clock),
                &b,
                &mut out,
            )
        };
        if result != EMQ_OK {
            assert!(out.is_null());
            return result;
        }
        assert_eq!(
            out.cast::<Storage>(),
            self.storage,
            "the client lives in the storage"
        );
        self.client = out;
        unsafe {
            (*self.rec).freed = false;
            (*self.rec).deinit_requested = false;
            (*self.broker).freed = false;
        }
        let cb = callbacks();
        assert_eq!(
            unsafe { emq_client_set_callbacks(out, &cb, self.rec.cast()) },
            EMQ_OK
        );
        EMQ_OK
    }

    fn b(&mut self) -> &mut Broker {
        unsafe { &mut *self.broker }
    }

    fn r(&mut self) -> &mut Rec {
        unsafe { &mut *self.rec }
    }

    /// Runs one API call the way C would, then takes note of a deinit
    /// asked for inside one of its callbacks: the client has ended.
    fn call<R>(&mut self, f: impl FnOnce(*mut emq_client) -> R) -> R {
        assert!(!self.client.is_null(), "the client has ended");
        let out = f(self.client);
        if self.r().deinit_requested && !self.r().freed {
            self.ended();
        }
        out
    }

    fn ended(&mut self) {
        self.client = null_mut();
        self.r().freed = true;
        self.b().freed = true;
        assert!(!self.b().open, "the link outlived the client");
    }

    fn deinit(&mut self) {
        let c = self.client;
        assert_eq!(unsafe { emq_client_deinit(c) }, EMQ_OK);
        self.ended();
    }

    fn connect(&mut self) -> emq_err {
        self.call(|c| unsafe { emq_client_connect(c, c"broker.test".as_ptr(), 1883) })
    }

    fn publish(&mut self, topic: &CStr, payload: &[u8], qos: u8) -> (emq_err, u16) {
        let mut id = 0xFFFF;
        let result = self.call(|c| unsafe {
            emq_client_publish(
                c,
                topic.as_ptr(),
                payload.as_ptr(),
                payload.len(),
                qos,
                false,
                &mut id,
            )
        });
        (result, id)
    }

    fn poll(&mut self, ms: u32) -> emq_err {
        self.call(|c| unsafe { emq_client_poll(c, ms) })
    }

    fn wait(&mut self, id: u16) -> emq_err {
        self.call(|c| unsafe { emq_client_wait(c, id, 5_000) })
    }

    fn state(&mut self) -> emq_state {
        unsafe { emq_client_state(self.client) }
    }

    fn sent(&mut self) -> Vec<Pkt> {
        self.b().sent.clone()
    }

    fn events(&mut self) -> Vec<Ev> {
        self.r().events.clone()
    }
}

impl Drop for Fx {
    fn drop(&mut self) {
        if !self.client.is_null() {
            self.deinit();
        }
        let (b, r) = unsafe { (Box::from_raw(self.broker), Box::from_raw(self.rec)) };
        unsafe {
            drop(Box::from_raw(self.transport));
            drop(Box::from_raw(self.mem));
            drop(Box::from_raw(self.storage));
            for &o in &self.options {
                drop(Box::from_raw(o));
            }
        }
        if !std::thread::panicking() {
            assert_eq!(b.after_free, 0, "transport called after the client ended");
            assert_eq!(b.closed_io, 0, "send or recv on a closed link");
            assert_eq!(r.after_free, 0, "callback after the client ended");
            assert!(!b.open, "link left open");
        }
    }
}

fn connected(setup: Setup) -> Fx {
    let mut fx = Fx::new(setup);
    assert_eq!(fx.connect(), EMQ_OK);
    assert_eq!(fx.state(), emq_state::EMQ_STATE_CONNECTED);
    fx
}

fn is_message(e: &Ev) -> bool {
    matches!(e, Ev::Message { .. })
}

// --- queries that need no client ----------------------------------------------

#[test]
fn queries_without_a_client() {
    assert!(emq_client_storage_size() <= std::mem::size_of::<Storage>());
    #[cfg(target_pointer_width = "64")]
    assert!(emq_client_storage_size() <= STORAGE_SIZE_64);
    assert_eq!(emq_client_storage_align(), STORAGE_ALIGN);
    assert_eq!(unsafe { emq_tables_size(null()) }, 0);
    let version = unsafe { CStr::from_ptr(emq_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    for code in 0..=u8::MAX {
        let text = unsafe { CStr::from_ptr(emq_connack_str(code)) };
        assert!(!text.to_bytes().is_empty());
    }
    for err in [
        EMQ_OK,
        EMQ_ERR_NULL_POINTER,
        EMQ_ERR_MISALIGNED,
        EMQ_ERR_STRUCT_SIZE,
    ] {
        assert!(!unsafe { CStr::from_ptr(emq_err_str(err as c_int)) }
            .to_bytes()
            .is_empty());
    }
    assert_eq!(
        unsafe { emq_options_default(null_mut()) },
        EMQ_ERR_NULL_POINTER
    );
    assert_eq!(
        unsafe { emq_callbacks_default(null_mut()) },
        EMQ_ERR_NULL_POINTER
    );
    assert_eq!(unsafe { emq_topic_name_check(c"a/b".as_ptr()) }, EMQ_OK);
    assert_eq!(
        unsafe { emq_topic_name_check(null()) },
        EMQ_ERR_NULL_POINTER
    );
    assert_eq!(
        unsafe { emq_topic_name_check(c"a/+".as_ptr()) },
        EMQ_ERR_WILDCARD_IN_TOPIC_NAME
    );
    assert_eq!(
        unsafe { emq_topic_name_check(c"\xff".as_ptr()) },
        EMQ_ERR_INVALID_UTF8
    );
    assert_eq!(
        unsafe { emq_topic_filter_check(c"a/#/b".as_ptr()) },
        EMQ_ERR_INVALID_TOPIC_FILTER
    );
    // The name is a length, not a C string: only its first 3 bytes count.
    let name = b"a/bXXXX";
    assert!(unsafe { emq_topic_matches(c"a/b".as_ptr(), name.as_ptr().cast(), 3) });
    assert!(!unsafe { emq_topic_matches(c"a/b".as_ptr(), name.as_ptr().cast(), 4) });
    assert!(!unsafe { emq_topic_matches(c"a/+".as_ptr(), null(), 3) });
    assert!(!unsafe { emq_topic_matches(null(), name.as_ptr().cast(), 3) });
}

/// The entry points resolve by their C names, as a C program links them.
#[test]
fn symbols_link_by_c_name() {
    extern "C" {
        fn emq_version() -> *const c_char;
        fn emq_err_str(err: c_int) -> *const c_char;
        fn emq_client_storage_size() -> usize;
    }
    let version = unsafe { CStr::from_ptr(emq_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    let text = unsafe { CStr::from_ptr(emq_err_str(EMQ_ERR_NULL_POINTER as c_int)) };
    assert!(!text.to_bytes().is_empty());
    assert!(unsafe { emq_client_storage_size() } <= STORAGE_SIZE_64);
}

// --- init ---------------------------------------------------------------------

#[test]
fn init_rejects_bad_storage_buffers_and_options() {
    let mut fx = Fx::new(Setup::default());
    fx.deinit();
    let setup = Setup::default();
    let o = options();
    let b = fx.buffers(setup);
    let s = fx.storage.cast::<u8>();
    let size = std::mem::size_of::<Storage>();
    let t = fx.transport;
    let init = |storage: *mut u8,
                size: usize,
                o: *const emq_options,
                t: *const emq_transport,
                clock: emq_clock_ms,
                b: &emq_buffers| {
        // A stale value: every failure must reset it to NULL.
        let mut out = NonNull::<emq_client>::dangling().as_ptr();
        let result = unsafe { emq_client_init(storage.cast(), size, o, t, clock, b, &mut out) };
        assert!(out.is_null(), "out not cleared on {result:?}");
        result
    };
    let need = emq_client_storage_size();

    // Storage: NULL, too small, misaligned, wrapping around the address space.
    assert_eq!(
        init(null_mut(), size, &o, t, Some(clock), &b),
        EMQ_ERR_NULL_POINTER
    );
    assert_eq!(
        init(s, need - 1, &o, t, Some(clock), &b),
        EMQ_ERR_BUFFER_TOO_SMALL
    );
    assert_eq!(
        init(s.wrapping_add(4), need, &o, t, Some(clock), &b),
        EMQ_ERR_MISALIGNED
    );
    assert_eq!(
        init(s, usize::MAX, &o, t, Some(clock), &b),
        EMQ_ERR_INVALID_ARGUMENT
    );
    // NULL out: nothing to hand the client to.
    let result = unsafe { emq_client_init(s.cast(), size, &o, t, Some(clock), &b, null_mut()) };
    assert_eq!(result, EMQ_ERR_NULL_POINTER);

    // Transport and clock.
    assert_eq!(
        init(s, size, &o, null(), Some(clock), &b),
        EMQ_ERR_NULL_POINTER
    );
    let mut broken = unsafe { *t };
    broken.send = None;
    assert_eq!(
        init(s, size, &o, &broken, Some(clock), &b),
        EMQ_ERR_NULL_POINTER
    );
    let mut broken = unsafe { *t };
    broken.recv = None;
    assert_eq!(
        init(s, size, &o, &broken, Some(clock), &b),
        EMQ_ERR_NULL_POINTER
    );
    assert_eq!(init(s, size, &o, t, None, &b), EMQ_ERR_NULL_POINTER);

    // Buffers: NULL, missing, too small, too large, wrapping, overlapping.
    let bad = |edit: &dyn Fn(&mut emq_buffers)| {
        let mut b2 = b;
        edit(&mut b2);
        init(s, size, &o, t, Some(clock), &b2)
    };
    let null_buffers = unsafe {
        let mut out = null_mut();
        emq_client_init(s.cast(), size, &o, t, Some(clock), null(), &mut out)
    };
    assert_eq!(null_buffers, EMQ_ERR_NULL_POINTER);
    assert_eq!(bad(&|b| b.rx = null_mut()), EMQ_ERR_NULL_POINTER);
    assert_eq!(bad(&|b| b.rx_size = 0), EMQ_ERR_BUFFER_TOO_SMALL);
    assert_eq!(bad(&|b| b.tx_size = 63), EMQ_ERR_BUFFER_TOO_SMALL);
    assert_eq!(bad(&|b| b.store = null_mut()), EMQ_ERR_NULL_POINTER);
    assert_eq!(bad(&|b| b.rx_size = 1 << 30), EMQ_ERR_INVALID_ARGUMENT);
    assert_eq!(
        bad(&|b| b.store_size = usize::MAX),
        EMQ_ERR_INVALID_ARGUMENT
    );
    assert_eq!(bad(&|b| b.tx = b.rx), EMQ_ERR_INVALID_ARGUMENT);
    assert_eq!(
        bad(&|b| b.tx = b.rx.wrapping_add(100)),
        EMQ_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        bad(&|b| b.store = b.tx.wrapping_add(511)),
        EMQ_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        bad(&|b| b.rx = s.wrapping_add(need - 1)),
        EMQ_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        bad(&|b| {
            b.tables = b.store.wrapping_add(512).cast();
            b.tables_size = 64;
        }),
        EMQ_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        bad(&|b| {
            b.tables = ptr::without_provenance_mut(usize::MAX);
            b.tables_size = 2;
        }),
        EMQ_ERR_INVALID_ARGUMENT
    );

    // Table memory: capacities without memory, too small, misaligned.
    let tabled = fx.buffers(Setup {
        tables: true,
        ..setup
    });
    let bad_tables = |edit: &dyn Fn(&mut emq_buffers)| {
        let mut b2 = tabled;
        edit(&mut b2);
        init(s, size, &o, t, Some(clock), &b2)
    };
    assert_eq!(
        bad_tables(&|b| {
            b.tables = null_mut();
            b.tables_size = 0;
        }),
        EMQ_ERR_BUFFER_TOO_SMALL
    );
    assert_eq!(bad_tables(&|b| b.tables = null_mut()), EMQ_ERR_NULL_POINTER);
    assert_eq!(
        bad_tables(&|b| b.tables_size -= 1),
        EMQ_ERR_BUFFER_TOO_SMALL
    );
    assert_eq!(
        bad_tables(&|b| b.tables = b.tables.wrapping_byte_add(4)),
        EMQ_ERR_MISALIGNED
    );
    let mut huge = tabled;
    huge.packet_ids = u16::MAX;
    huge.subscriptions = u16::MAX;
    assert!(unsafe { emq_tables_size(&huge) } > 1024);
    assert_eq!(
        bad_tables(&|b| b.packet_ids = u16::MAX),
        EMQ_ERR_BUFFER_TOO_SMALL
    );

    // Options: NULL, struct sizes, bad strings and values, host-only ones.
    assert_eq!(
        init(s, size, null(), t, Some(clock), &b),
        EMQ_ERR_NULL_POINTER
    );
    let bad_option = |edit: &dyn Fn(&mut emq_options)| {
        let mut o2 = o;
        edit(&mut o2);
        init(s, size, &o2, t, Some(clock), &b)
    };
    assert_eq!(bad_option(&|o| o.struct_size = 0), EMQ_ERR_STRUCT_SIZE);
    assert_eq!(bad_option(&|o| o.struct_size += 1), EMQ_ERR_STRUCT_SIZE);
    assert_eq!(
        bad_option(&|o| o.client_id = c"id\xff".as_ptr()),
        EMQ_ERR_INVALID_UTF8
    );
    assert_eq!(bad_option(&|o| o.password_len = 3), EMQ_ERR_NULL_POINTER);
    assert_eq!(
        bad_option(&|o| {
            o.password = b"pw".as_ptr();
            o.password_len = 2;
        }),
        EMQ_ERR_INVALID_CONNECT_FLAGS
    );
    assert_eq!(
        bad_option(&|o| o.protocol_level = 7),
        EMQ_ERR_INVALID_PROTOCOL
    );
    assert_eq!(
        bad_option(&|o| o.will_topic = c"w/#".as_ptr()),
        EMQ_ERR_WILDCARD_IN_TOPIC_NAME
    );
    assert_eq!(
        bad_option(&|o| {
            o.will_topic = c"w".as_ptr();
            o.will_payload_len = 4;
        }),
        EMQ_ERR_NULL_POINTER
    );
    assert_eq!(
        bad_option(&|o| {
            o.will_topic = c"w".as_ptr();
            o.will_qos = 3;
        }),
        EMQ_ERR_INVALID_QOS
    );
    assert_eq!(bad_option(&|o| o.log_level = 99), EMQ_ERR_INVALID_ARGUMENT);
    assert_eq!(bad_option(&|o| o.transport = 9), EMQ_ERR_INVALID_ARGUMENT);
    assert_eq!(
        bad_option(&|o| o.inflight_window = 0),
        EMQ_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        bad_option(&|o| o.command_timeout_ms = 0),
        EMQ_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        bad_option(&|o| {
            o.client_id = null();
            o.clean_session = false;
        }),
        EMQ_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        bad_option(&|o| {
            o.auto_reconnect = true;
            o.reconnect_max_ms = o.reconnect_min_ms - 1;
        }),
        EMQ_ERR_INVALID_ARGUMENT
    );
    let tls = {
        let mut tls = std::mem::MaybeUninit::<emq_tls_options>::uninit();
        assert_eq!(unsafe { emq_tls_options_default(tls.as_mut_ptr()) }, EMQ_OK);
        unsafe { tls.assume_init() }
    };
    assert_eq!(bad_option(&|o| o.tls = &tls), EMQ_ERR_TLS_UNAVAILABLE);
    assert_eq!(
        bad_option(&|o| o.transport = emq_transport_choice::EMQ_TRANSPORT_TLS as c_int),
        EMQ_ERR_TLS_UNAVAILABLE
    );

    // After all that, the storage still takes a client.
    assert_eq!(fx.init(setup), EMQ_OK);
    assert_eq!(fx.connect(), EMQ_OK);
}

#[test]
fn calls_with_null_and_bad_arguments() {
    let mut fx = Fx::new(Setup::default());
    let c = fx.client;
    let mut id = 77u16;
    unsafe {
        // A disconnected client.
        assert_eq!(
            emq_client_publish(c, c"t".as_ptr(), null(), 0, 0, false, &mut id),
            EMQ_ERR_NOT_CONNECTED
        );
        assert_eq!(id, 0, "a failed publish clears the id");
        assert_eq!(emq_client_poll(c, 0), EMQ_ERR_NOT_CONNECTED);
        assert_eq!(emq_client_disconnect(c), EMQ_ERR_NOT_CONNECTED);
        assert_eq!(emq_client_wait(c, 0, 10), EMQ_ERR_INVALID_ARGUMENT);
        assert_eq!(
            emq_client_wait(c, 5, 10),
            EMQ_OK,
            "nothing pending with that id"
        );
        assert_eq!(emq_client_last_error(c), EMQ_OK);
        assert_eq!(emq_client_inflight(c), 0);
        assert_eq!(emq_client_queued(c), 0);

        // NULL clients.
        assert_eq!(
            emq_client_connect(null_mut(), c"h".as_ptr(), 1),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(
            emq_client_connect_start(null_mut(), c"h".as_ptr(), 1),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(emq_client_poll(null_mut(), 0), EMQ_ERR_NULL_POINTER);
        assert_eq!(emq_client_wait(null_mut(), 1, 0), EMQ_ERR_NULL_POINTER);
        assert_eq!(
            emq_client_publish(null_mut(), c"t".as_ptr(), null(), 0, 0, false, &mut id),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(
            emq_client_subscribe(null_mut(), c"t".as_ptr(), 0, null_mut()),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(
            emq_client_unsubscribe(null_mut(), c"t".as_ptr(), null_mut()),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(emq_client_disconnect(null_mut()), EMQ_ERR_NULL_POINTER);
        assert_eq!(
            emq_client_set_callbacks(null_mut(), null(), null_mut()),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(
            emq_client_set_lock(null_mut(), null()),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(
            emq_client_set_log_level(null_mut(), 1),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(
            emq_client_reconfigure(null_mut(), null()),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(
            emq_client_restore(null_mut(), b"x".as_ptr(), 1),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(emq_client_deinit(null_mut()), EMQ_OK);
        assert_eq!(emq_client_state(null()), emq_state::EMQ_STATE_DISCONNECTED);
        assert!(!emq_client_is_connected(null()));
        assert_eq!(emq_client_last_error(null()), EMQ_ERR_NULL_POINTER);
        assert_eq!(emq_client_last_return_code(null()), 0);
        assert_eq!(emq_client_inflight(null()), 0);
        assert_eq!(emq_client_queued(null()), 0);

        // Callbacks and other structs of the wrong size; bad levels.
        let mut cb = callbacks();
        cb.struct_size = 0;
        assert_eq!(
            emq_client_set_callbacks(c, &cb, null_mut()),
            EMQ_ERR_STRUCT_SIZE
        );
        cb.struct_size = std::mem::size_of::<emq_callbacks>() + 8;
        assert_eq!(
            emq_client_set_callbacks(c, &cb, null_mut()),
            EMQ_ERR_STRUCT_SIZE
        );
        assert_eq!(emq_client_set_log_level(c, -1), EMQ_ERR_INVALID_ARGUMENT);
        assert_eq!(emq_client_set_log_level(c, 4), EMQ_OK);
        let half = emq_lock {
            lock: Some(lock),
            unlock: None,
            user_data: null_mut(),
        };
        assert_eq!(emq_client_set_lock(c, &half), EMQ_ERR_NULL_POINTER);
        assert_eq!(emq_client_set_lock(c, null()), EMQ_OK);
        assert_eq!(emq_client_reconfigure(c, null()), EMQ_ERR_NULL_POINTER);
        let mut o = options();
        o.client_id = c"other".as_ptr();
        assert_eq!(emq_client_reconfigure(c, fx.keep(o)), EMQ_OK);
        assert_eq!(emq_client_restore(c, null(), 0), EMQ_ERR_NULL_POINTER);
        assert_eq!(
            emq_client_restore(c, b"".as_ptr(), 0),
            EMQ_ERR_MALFORMED_PACKET
        );
        assert_eq!(
            emq_client_restore(c, [0x30u8, 0].as_ptr(), 2),
            EMQ_ERR_MALFORMED_PACKET
        );
    }
    assert!(fx.events().is_empty());

    // Arguments of a connected client.
    assert_eq!(fx.connect(), EMQ_OK);
    assert_eq!(
        unsafe { emq_client_connect(c, c"broker.test".as_ptr(), 1883) },
        EMQ_ERR_ALREADY_CONNECTED
    );
    let mut o = options();
    o.client_id = c"late".as_ptr();
    assert_eq!(
        unsafe { emq_client_reconfigure(c, &o) },
        EMQ_ERR_ALREADY_CONNECTED
    );
    let subs: Vec<emq_subscription> = (0..9)
        .map(|_| emq_subscription {
            filter: c"a/b".as_ptr(),
            qos: 0,
        })
        .collect();
    let filters: Vec<*const c_char> = (0..9).map(|_| c"a/b".as_ptr()).collect();
    let before = fx.sent().len();
    unsafe {
        let t = c"t".as_ptr();
        assert_eq!(
            emq_client_publish(c, null(), null(), 0, 0, false, null_mut()),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(
            emq_client_publish(c, t, null(), 3, 0, false, null_mut()),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(
            emq_client_publish(c, t, null(), 0, 3, false, null_mut()),
            EMQ_ERR_INVALID_QOS
        );
        assert_eq!(
            emq_client_publish(c, t, b"x".as_ptr(), usize::MAX, 0, false, null_mut()),
            EMQ_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            emq_client_publish(c, c"".as_ptr(), null(), 0, 0, false, null_mut()),
            EMQ_ERR_EMPTY_TOPIC
        );
        assert_eq!(
            emq_client_publish(c, c"a/#".as_ptr(), null(), 0, 0, false, null_mut()),
            EMQ_ERR_WILDCARD_IN_TOPIC_NAME
        );
        assert_eq!(
            emq_client_publish(c, c"\xc3".as_ptr(), null(), 0, 0, false, null_mut()),
            EMQ_ERR_INVALID_UTF8
        );
        assert_eq!(
            emq_client_subscribe(c, null(), 0, null_mut()),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(
            emq_client_subscribe(c, c"a/#".as_ptr(), 3, null_mut()),
            EMQ_ERR_INVALID_QOS
        );
        assert_eq!(
            emq_client_subscribe(c, c"a/#/b".as_ptr(), 0, null_mut()),
            EMQ_ERR_INVALID_TOPIC_FILTER
        );
        assert_eq!(
            emq_client_subscribe_many(c, null(), 1, null_mut()),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(
            emq_client_subscribe_many(c, subs.as_ptr(), 0, null_mut()),
            EMQ_ERR_NO_TOPIC_FILTERS
        );
        assert_eq!(
            emq_client_subscribe_many(c, subs.as_ptr(), 9, null_mut()),
            EMQ_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            emq_client_subscribe_many(c, subs.as_ptr(), usize::MAX, null_mut()),
            EMQ_ERR_INVALID_ARGUMENT
        );
        let mut one_bad = subs.clone();
        one_bad[7].filter = null();
        assert_eq!(
            emq_client_subscribe_many(c, one_bad.as_ptr(), 8, null_mut()),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(
            emq_client_unsubscribe(c, null(), null_mut()),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(
            emq_client_unsubscribe_many(c, null(), 2, null_mut()),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(
            emq_client_unsubscribe_many(c, filters.as_ptr(), 0, null_mut()),
            EMQ_ERR_NO_TOPIC_FILTERS
        );
        assert_eq!(
            emq_client_unsubscribe_many(c, filters.as_ptr(), 9, null_mut()),
            EMQ_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            emq_client_subscribe_handler(c, c"h".as_ptr(), 0, None, null_mut(), null_mut()),
            EMQ_ERR_NULL_POINTER
        );
        assert_eq!(
            emq_client_subscribe_handler(
                c,
                c"h".as_ptr(),
                0,
                Some(on_handler),
                null_mut(),
                null_mut()
            ),
            EMQ_ERR_SUBSCRIPTIONS_FULL,
            "no subscription table without table memory"
        );
    }
    assert_eq!(fx.sent().len(), before, "nothing sent for a refused call");
    // A publish larger than the send buffer: refused, the client carries on.
    let big = vec![7u8; 600];
    assert_eq!(fx.publish(c"t", &big, 0).0, EMQ_ERR_PACKET_TOO_LARGE);
    assert_eq!(fx.publish(c"t", &big[..100], 1).0, EMQ_OK);
    assert_eq!(fx.state(), emq_state::EMQ_STATE_CONNECTED);
}

// --- the protocol through the C API -------------------------------------------

#[test]
fn connect_publish_every_qos_disconnect() {
    let mut fx = Fx::new(Setup::default());
    // Split reads and short writes all the way.
    fx.b().chunk = 1;
    fx.b().send_chunk = 3;
    assert_eq!(fx.connect(), EMQ_OK);
    assert_eq!(fx.b().hosts, [(Some("broker.test".to_owned()), 1883)]);
    assert_eq!(fx.events(), [Ev::Connect(false, 0)]);
    assert!(unsafe { emq_client_is_connected(fx.client) });

    let (r0, id0) = fx.publish(c"t/0", b"zero", 0);
    assert_eq!((r0, id0), (EMQ_OK, 0));
    let (r1, id1) = fx.publish(c"t/1", b"one", 1);
    let (r2, id2) = fx.publish(c"t/2", b"", 2);
    assert_eq!((r1, r2), (EMQ_OK, EMQ_OK));
    assert!(id1 != 0 && id2 != 0 && id1 != id2);
    assert_eq!(unsafe { emq_client_inflight(fx.client) }, 2);
    assert_eq!(fx.wait(id1), EMQ_OK);
    assert_eq!(fx.wait(id2), EMQ_OK);
    assert_eq!(unsafe { emq_client_inflight(fx.client) }, 0);
    let published: Vec<Ev> = fx
        .events()
        .into_iter()
        .filter(|e| matches!(e, Ev::Published(_)))
        .collect();
    assert_eq!(
        published,
        [Ev::Published(0), Ev::Published(id1), Ev::Published(id2)]
    );

    assert_eq!(fx.call(|c| unsafe { emq_client_disconnect(c) }), EMQ_OK);
    assert_eq!(fx.state(), emq_state::EMQ_STATE_DISCONNECTED);
    assert_eq!(fx.events().last(), Some(&Ev::Disconnect(EMQ_OK)));
    let publish = |topic: &str, payload: &[u8], qos, id| Pkt::Publish {
        topic: topic.into(),
        payload: payload.into(),
        qos,
        id,
        dup: false,
        retain: false,
    };
    assert_eq!(
        fx.sent(),
        [
            Pkt::Connect {
                client_id: "miri".into(),
                clean: true,
                keepalive: 60
            },
            publish("t/0", b"zero", 0, 0),
            publish("t/1", b"one", 1, id1),
            publish("t/2", b"", 2, id2),
            Pkt::PubRel(id2),
            Pkt::Disconnect,
        ]
    );
    assert_eq!((fx.b().connects, fx.b().closes), (1, 1));
    // And again on the same client.
    assert_eq!(fx.connect(), EMQ_OK);
    assert_eq!(fx.b().connects, 2);
}

#[test]
fn inbound_messages_at_every_qos() {
    let mut fx = connected(Setup::default());
    fx.b().auto = false;
    fx.b().chunk = 3;
    let mut stream = publish("in/0", b"a", 0, 0, false);
    stream.extend(publish("in/1", b"bb", 1, 7, false));
    stream.extend(publish("in/2", b"ccc", 2, 9, false));
    // The broker resends before it saw PUBREC: not delivered twice.
    stream.extend(publish("in/2", b"ccc", 2, 9, true));
    fx.b().push(stream);
    fx.b().feed.push_back(Feed::Timeout);
    for _ in 0..4 {
        assert_eq!(fx.poll(10), EMQ_OK);
    }
    let message = |topic: &str, payload: &[u8], qos, id| Ev::Message {
        topic: topic.into(),
        payload: payload.into(),
        qos,
        id,
        dup: false,
    };
    let messages: Vec<Ev> = fx.events().into_iter().filter(is_message).collect();
    assert_eq!(
        messages,
        [
            message("in/0", b"a", 0, 0),
            message("in/1", b"bb", 1, 7),
            message("in/2", b"ccc", 2, 9)
        ]
    );
    assert_eq!(
        fx.sent()[1..],
        [Pkt::PubAck(7), Pkt::PubRec(9), Pkt::PubRec(9)]
    );

    // PUBREL ends the exchange; the id may then carry a new message.
    fx.b().push(ack(PUBREL, 9));
    assert_eq!(fx.poll(10), EMQ_OK);
    assert_eq!(fx.sent().last(), Some(&Pkt::PubComp(9)));
    fx.b().push(publish("in/2", b"new", 2, 9, false));
    assert_eq!(fx.poll(10), EMQ_OK);
    assert_eq!(fx.r().count(is_message), 4);
    // A PUBREL for an id not awaiting one still gets its PUBCOMP.
    fx.b().push(ack(PUBREL, 9));
    fx.b().push(ack(PUBREL, 300));
    assert_eq!(fx.poll(10), EMQ_OK);
    assert_eq!(fx.poll(10), EMQ_OK);
    assert_eq!(
        fx.sent()[fx.sent().len() - 2..],
        [Pkt::PubComp(9), Pkt::PubComp(300)]
    );
}

#[test]
fn subscribe_and_unsubscribe_many_with_handlers() {
    let mut fx = connected(Setup {
        tables: true,
        ..Setup::default()
    });
    let subs = [
        emq_subscription {
            filter: c"a/#".as_ptr(),
            qos: 0,
        },
        emq_subscription {
            filter: c"b/+".as_ptr(),
            qos: 1,
        },
        emq_subscription {
            filter: c"c".as_ptr(),
            qos: 2,
        },
    ];
    fx.b().auto = false;
    let mut sub_id = 0;
    let r = fx.call(|c| unsafe { emq_client_subscribe_many(c, subs.as_ptr(), 3, &mut sub_id) });
    assert_eq!(r, EMQ_OK);
    assert_eq!(
        fx.sent().last(),
        Some(&Pkt::Subscribe {
            id: sub_id,
            filters: vec![("a/#".into(), 0), ("b/+".into(), 1), ("c".into(), 2)],
        })
    );
    fx.b().push(suback(sub_id, &[0, 1, 0x80]));
    assert_eq!(fx.wait(sub_id), EMQ_OK);
    assert_eq!(
        fx.events().last(),
        Some(&Ev::Subscribed(sub_id, vec![0, 1, 0x80]))
    );

    fx.b().auto = true;
    let mut handler_id = 0;
    let rec = fx.rec.cast();
    let r = fx.call(|c| unsafe {
        emq_client_subscribe_handler(
            c,
            c"h/#".as_ptr(),
            1,
            Some(on_handler),
            rec,
            &mut handler_id,
        )
    });
    assert_eq!(r, EMQ_OK);
    assert_eq!(fx.wait(handler_id), EMQ_OK);
    fx.b().push(publish("h/x", b"1", 0, 0, false));
    fx.b().push(publish("a/x", b"2", 0, 0, false));
    assert_eq!(fx.poll(10), EMQ_OK);
    assert_eq!(fx.poll(10), EMQ_OK);
    let tail: Vec<Ev> = fx.events().into_iter().rev().take(2).collect();
    assert!(matches!(&tail[1], Ev::Handler(t) if t == "h/x"), "{tail:?}");
    assert!(
        matches!(&tail[0], Ev::Message { topic, .. } if topic == "a/x"),
        "{tail:?}"
    );

    let filters = [c"a/#".as_ptr(), c"h/#".as_ptr()];
    let mut unsub_id = 0;
    let r =
        fx.call(|c| unsafe { emq_client_unsubscribe_many(c, filters.as_ptr(), 2, &mut unsub_id) });
    assert_eq!(r, EMQ_OK);
    assert_eq!(
        fx.sent().last(),
        Some(&Pkt::Unsubscribe {
            id: unsub_id,
            filters: vec!["a/#".into(), "h/#".into()]
        })
    );
    assert_eq!(fx.wait(unsub_id), EMQ_OK);
    assert_eq!(fx.events().last(), Some(&Ev::Unsubscribed(unsub_id)));
    // The handler went with its filter: on_message takes h/ now.
    fx.b().push(publish("h/y", b"3", 0, 0, false));
    assert_eq!(fx.poll(10), EMQ_OK);
    assert!(matches!(fx.events().last(), Some(Ev::Message { topic, .. }) if topic == "h/y"));
}

unsafe fn echo_and_refused_calls(rec: *mut Rec, c: *mut emq_client, ev: &Ev) {
    let Ev::Message { payload, id, .. } = ev else {
        return;
    };
    if *id == 0 {
        return;
    }
    let mut echo_id = 0;
    let mut results = vec![unsafe {
        emq_client_publish(
            c,
            c"echo".as_ptr(),
            payload.as_ptr(),
            payload.len(),
            1,
            false,
            &mut echo_id,
        )
    }];
    results
        .push(unsafe { emq_client_publish(c, c"echo0".as_ptr(), null(), 0, 0, false, null_mut()) });
    results.push(unsafe { emq_client_subscribe(c, c"more/#".as_ptr(), 1, null_mut()) });
    results.push(unsafe { emq_client_unsubscribe(c, c"more/#".as_ptr(), null_mut()) });
    // Calls that would read the network in a callback are refused.
    results.push(unsafe { emq_client_poll(c, 0) });
    results.push(unsafe { emq_client_wait(c, echo_id, 10) });
    results.push(unsafe { emq_client_connect(c, c"x".as_ptr(), 1) });
    results.push(unsafe { emq_client_connect_start(c, c"x".as_ptr(), 1) });
    let r = unsafe { &mut *rec };
    r.results.extend(results);
    r.ids.push(echo_id);
}

#[test]
fn on_message_calls_back_into_the_client() {
    let mut fx = connected(Setup {
        tables: true,
        ..Setup::default()
    });
    fx.r().hook = Some(echo_and_refused_calls);
    fx.b().push(publish("in", b"ping", 1, 3, false));
    assert_eq!(fx.poll(10), EMQ_OK);
    assert_eq!(
        fx.r().results,
        [
            EMQ_OK,
            EMQ_OK,
            EMQ_OK,
            EMQ_OK,
            EMQ_ERR_IN_CALLBACK,
            EMQ_ERR_IN_CALLBACK,
            EMQ_ERR_IN_CALLBACK,
            EMQ_ERR_IN_CALLBACK
        ]
    );
    let echo_id = fx.r().ids[0];
    assert_ne!(echo_id, 0);
    assert!(fx.sent().contains(&Pkt::Publish {
        topic: "echo".into(),
        payload: b"ping".to_vec(),
        qos: 1,
        id: echo_id,
        dup: false,
        retain: false,
    }));
    assert!(fx.sent().contains(&Pkt::PubAck(3)));
    assert_eq!(fx.wait(echo_id), EMQ_OK);
    assert!(fx.events().contains(&Ev::Published(echo_id)));
    assert!(
        fx.events().contains(&Ev::Published(0)),
        "the QoS 0 echo, reported inside"
    );
}

unsafe fn disconnect_on_message(_: *mut Rec, c: *mut emq_client, ev: &Ev) {
    if is_message(ev) {
        assert_eq!(unsafe { emq_client_disconnect(c) }, EMQ_OK);
    }
}

#[test]
fn disconnect_inside_a_callback() {
    let mut fx = connected(Setup::default());
    fx.r().hook = Some(disconnect_on_message);
    fx.b().push(publish("in", b"x", 0, 0, false));
    fx.b().push(publish("in", b"y", 0, 0, false));
    let result = fx.poll(10);
    assert!(
        matches!(result, EMQ_OK | EMQ_ERR_NOT_CONNECTED),
        "{result:?}"
    );
    assert_eq!(fx.sent().last(), Some(&Pkt::Disconnect));
    assert_eq!(fx.state(), emq_state::EMQ_STATE_DISCONNECTED);
    assert_eq!(fx.b().closes, 1);
    assert!(fx.events().contains(&Ev::Disconnect(EMQ_OK)));
    assert_eq!(fx.connect(), EMQ_OK);
}

// --- deinit from inside callbacks: deferred to the end of the call ------------

/// After a deferred deinit, the storage takes a new client at once.
fn reuse(fx: &mut Fx) {
    assert!(fx.client.is_null());
    assert_eq!(fx.r().after_free, 0);
    assert_eq!(fx.b().after_free, 0);
    fx.r().deinit_on = None;
    fx.r().hook = None;
    assert_eq!(fx.init(Setup::default()), EMQ_OK);
    assert_eq!(fx.connect(), EMQ_OK);
}

#[test]
fn deinit_in_on_message_ends_the_client_after_poll() {
    let mut fx = connected(Setup::default());
    fx.r().deinit_on = Some(is_message);
    fx.b().push(publish("in", b"x", 1, 5, false));
    assert_eq!(fx.poll(10), EMQ_OK);
    assert!(fx.client.is_null(), "ended with the poll");
    assert_eq!(fx.b().closes, 1);
    assert!(
        !fx.sent().contains(&Pkt::Disconnect),
        "no DISCONNECT: the will goes out"
    );
    reuse(&mut fx);
}

/// Regression (found by the C API fuzz target and Miri): events keep reaching callbacks (with `user_data`, which the
/// application may free once it asked for deinit) for the rest of the call
/// after `emq_client_deinit` was asked for inside a callback.
#[test]
fn no_callbacks_after_deinit_was_asked_for() {
    let mut fx = connected(Setup::default());
    fx.r().deinit_on = Some(is_message);
    fx.b().push(publish("in", b"x", 0, 0, false));
    fx.b().push(publish("in", b"y", 0, 0, false));
    assert_eq!(fx.poll(10), EMQ_OK);
    assert!(fx.client.is_null());
    let events = fx.events();
    assert_eq!(fx.r().after_request, 0, "{events:?}");
}

#[test]
fn deinit_in_on_published_inside_publish() {
    let mut fx = connected(Setup::default());
    fx.r().deinit_on = Some(|e| matches!(e, Ev::Published(0)));
    // The deinit inside lasts the whole call (ended at its end only):
    // a second deinit request there is harmless.
    fx.r().hook = Some(|_, c, e| {
        if matches!(e, Ev::Published(0)) {
            assert_eq!(
                unsafe { emq_client_state(c) },
                emq_state::EMQ_STATE_CONNECTED
            );
        }
    });
    assert_eq!(fx.publish(c"t", b"p", 0).0, EMQ_OK);
    assert!(fx.client.is_null());
    reuse(&mut fx);
}

#[test]
fn deinit_in_on_connect_inside_connect() {
    let mut fx = Fx::new(Setup::default());
    fx.r().deinit_on = Some(|e| matches!(e, Ev::Connect(..)));
    assert_eq!(fx.connect(), EMQ_OK);
    assert!(fx.client.is_null());
    assert_eq!((fx.b().connects, fx.b().closes), (1, 1));
    reuse(&mut fx);
}

#[test]
fn deinit_in_on_disconnect_after_a_transport_error() {
    let mut fx = connected(Setup::default());
    fx.r().deinit_on = Some(|e| matches!(e, Ev::Disconnect(_)));
    fx.b().feed.push_back(Feed::Fail);
    assert_eq!(fx.poll(10), EMQ_ERR_IO);
    assert!(fx.client.is_null());
    reuse(&mut fx);
}

#[test]
fn deinit_in_on_subscribed_inside_wait() {
    let mut fx = connected(Setup::default());
    fx.r().deinit_on = Some(|e| matches!(e, Ev::Subscribed(..)));
    let mut id = 0;
    let r = fx.call(|c| unsafe { emq_client_subscribe(c, c"s".as_ptr(), 2, &mut id) });
    assert_eq!(r, EMQ_OK);
    assert_eq!(fx.wait(id), EMQ_OK);
    assert!(fx.client.is_null());
    reuse(&mut fx);
}

// --- transport failures, timeouts, hostile bytes -------------------------------

#[test]
fn transport_connect_failure_and_refusal() {
    let mut fx = Fx::new(Setup::default());
    fx.b().connect_results.push_back(-1);
    assert_eq!(fx.connect(), EMQ_ERR_CONNECT_FAILED);
    assert_eq!(fx.events(), [Ev::ConnectFailed(EMQ_ERR_CONNECT_FAILED, 0)]);
    assert_eq!((fx.b().connects, fx.b().closes), (0, 0));

    fx.b().connack = (false, 5);
    assert_eq!(fx.connect(), EMQ_ERR_CONNECTION_REFUSED);
    assert_eq!(unsafe { emq_client_last_return_code(fx.client) }, 5);
    assert_eq!(
        unsafe { emq_client_last_error(fx.client) },
        EMQ_ERR_CONNECTION_REFUSED
    );
    assert_eq!(
        fx.events()[1..],
        [
            Ev::Connect(false, 5),
            Ev::ConnectFailed(EMQ_ERR_CONNECTION_REFUSED, 5)
        ]
    );
    assert_eq!((fx.b().connects, fx.b().closes), (1, 1));

    // No CONNACK at all: the command timeout, in simulated time.
    fx.b().auto = false;
    assert_eq!(fx.connect(), EMQ_ERR_TIMEOUT);
    assert_eq!(
        fx.events().last(),
        Some(&Ev::ConnectFailed(EMQ_ERR_TIMEOUT, 0))
    );
    assert_eq!((fx.b().connects, fx.b().closes), (2, 2));

    // A connect with a NULL host (a UART knows its peer).
    fx.b().auto = true;
    fx.b().connack = (false, 0);
    assert_eq!(
        fx.call(|c| unsafe { emq_client_connect(c, null(), 0) }),
        EMQ_OK
    );
    assert_eq!(fx.b().hosts.last(), Some(&(None, 0)));
}

#[test]
fn link_errors_while_connected() {
    let mut fx = connected(Setup::default());
    // Timeouts and split bytes around a message are no error.
    fx.b().chunk = 2;
    fx.b().feed.push_back(Feed::Timeout);
    fx.b().push(publish("a", b"1", 0, 0, false));
    fx.b().feed.push_back(Feed::Timeout);
    for _ in 0..3 {
        assert_eq!(fx.poll(5), EMQ_OK);
    }
    assert_eq!(fx.r().count(is_message), 1);

    // recv fails.
    fx.b().feed.push_back(Feed::Fail);
    assert_eq!(fx.poll(5), EMQ_ERR_IO);
    assert_eq!(fx.events().last(), Some(&Ev::Disconnect(EMQ_ERR_IO)));
    assert_eq!(unsafe { emq_client_last_error(fx.client) }, EMQ_ERR_IO);
    assert_eq!(fx.poll(5), EMQ_ERR_NOT_CONNECTED);

    // send fails.
    assert_eq!(fx.connect(), EMQ_OK);
    fx.b().send_fails = true;
    let (result, _) = fx.publish(c"t", b"x", 0);
    assert_eq!(result, EMQ_ERR_IO);
    assert_eq!(fx.events().last(), Some(&Ev::Disconnect(EMQ_ERR_IO)));
    assert!(!fx.b().open);
    fx.b().send_fails = false;

    // Bytes no broker may send: a packet type 0, a CONNACK while connected,
    // a remaining length over four bytes.
    for bad in [
        vec![0x00, 0x00],
        connack(false, 0),
        vec![0x30, 0xff, 0xff, 0xff, 0xff, 0x01],
    ] {
        assert_eq!(fx.connect(), EMQ_OK);
        fx.b().push(bad);
        let result = fx.poll(5);
        assert_ne!(result, EMQ_OK);
        assert_eq!(fx.events().last(), Some(&Ev::Disconnect(result)));
        assert!(!fx.b().open);
    }
    let (connects, closes) = (fx.b().connects, fx.b().closes);
    assert_eq!(connects, closes);
}

#[test]
fn oversized_message_goes_to_on_overflow() {
    let mut fx = connected(Setup {
        rx: 64,
        ..Setup::default()
    });
    fx.b().chunk = 7;
    let payload = vec![0xAB; 300];
    fx.b().push(publish("big", &payload, 1, 4, false));
    fx.b().push(publish("small", b"s", 0, 0, false));
    // Without on_overflow, poll reports it.
    let mut result = EMQ_OK;
    for _ in 0..4 {
        let r = fx.poll(5);
        if r != EMQ_OK {
            result = r;
        }
    }
    assert_eq!(result, EMQ_ERR_MESSAGE_OVERFLOW);
    assert!(
        fx.sent().contains(&Pkt::PubAck(4)),
        "acknowledged all the same"
    );
    assert_eq!(fx.r().count(is_message), 1);

    let mut cb = callbacks();
    cb.on_overflow = Some(on_overflow);
    let rec = fx.rec.cast();
    assert_eq!(
        fx.call(|c| unsafe { emq_client_set_callbacks(c, &cb, rec) }),
        EMQ_OK
    );
    fx.b().push(publish("big", &payload, 2, 6, false));
    for _ in 0..4 {
        assert_eq!(fx.poll(5), EMQ_OK);
    }
    assert!(fx.events().contains(&Ev::Overflow {
        topic: "big".into(),
        size: 300
    }));
    assert!(fx.sent().contains(&Pkt::PubRec(6)));
}

#[test]
fn keepalive_ping_and_timeout() {
    let mut fx = Fx::new(Setup {
        tweak: |o| o.keepalive_secs = 2,
        ..Setup::default()
    });
    assert_eq!(fx.connect(), EMQ_OK);
    advance(2_000);
    assert_eq!(fx.poll(0), EMQ_OK);
    assert_eq!(fx.sent().last(), Some(&Pkt::PingReq));
    assert_eq!(fx.poll(10), EMQ_OK);
    // No PINGRESP this time: the link is declared dead.
    fx.b().auto = false;
    let mut result = EMQ_OK;
    for _ in 0..20 {
        result = fx.poll(1_000);
        if result != EMQ_OK {
            break;
        }
    }
    assert_eq!(result, EMQ_ERR_KEEPALIVE_TIMEOUT);
    assert_eq!(
        fx.events().last(),
        Some(&Ev::Disconnect(EMQ_ERR_KEEPALIVE_TIMEOUT))
    );
    assert_eq!(fx.sent().iter().filter(|p| **p == Pkt::PingReq).count(), 2);
}

#[test]
fn connect_start_polls_a_transport_in_progress() {
    let mut fx = Fx::new(Setup::default());
    let in_progress = emq_transport_status::EMQ_TRANSPORT_IN_PROGRESS as c_int;
    fx.b().connect_results.extend([in_progress, in_progress]);
    let r = fx.call(|c| unsafe { emq_client_connect_start(c, c"broker.test".as_ptr(), 1883) });
    assert_eq!(r, EMQ_OK);
    assert_eq!(fx.state(), emq_state::EMQ_STATE_CONNECTING);
    let r = fx.call(|c| unsafe { emq_client_connect_start(c, c"broker.test".as_ptr(), 1883) });
    assert_eq!(r, EMQ_ERR_ALREADY_CONNECTED);
    for _ in 0..4 {
        assert_eq!(fx.poll(10), EMQ_OK);
    }
    assert_eq!(fx.state(), emq_state::EMQ_STATE_CONNECTED);
    assert_eq!(fx.b().hosts.len(), 3);
    assert_eq!(fx.events(), [Ev::Connect(false, 0)]);

    // A transport that never opens gives up at the command timeout.
    assert_eq!(fx.call(|c| unsafe { emq_client_disconnect(c) }), EMQ_OK);
    fx.b().connect_results.extend([in_progress; 64]);
    let r = fx.call(|c| unsafe { emq_client_connect_start(c, c"broker.test".as_ptr(), 1883) });
    assert_eq!(r, EMQ_OK);
    let mut result = EMQ_OK;
    for _ in 0..10 {
        advance(500);
        result = fx.poll(0);
        if result != EMQ_OK {
            break;
        }
    }
    assert_eq!(result, EMQ_ERR_TIMEOUT);
    assert_eq!(
        fx.events().last(),
        Some(&Ev::ConnectFailed(EMQ_ERR_TIMEOUT, 0))
    );
    assert!(!fx.b().open && !fx.b().opening, "the attempt was closed");
    assert_eq!((fx.b().connects, fx.b().closes), (1, 2));
}

/// Regression (found by the C API fuzz target and Miri): a transport whose `connect` is still in progress
/// (EMQ_TRANSPORT_IN_PROGRESS) is never closed when the client is
/// disconnected or deinitialised, so the firmware's half-open connection
/// leaks (a timeout does close it). Found by fuzz_targets/c_api.rs. See the
/// report.
#[test]
fn disconnect_and_deinit_close_a_transport_still_opening() {
    let in_progress = emq_transport_status::EMQ_TRANSPORT_IN_PROGRESS as c_int;
    for how in ["disconnect", "deinit", "disconnect in on_published"] {
        let mut fx = Fx::new(Setup {
            tweak: |o| o.queue_qos0_offline = true,
            ..Setup::default()
        });
        fx.b().connect_results.push_back(in_progress);
        let r = fx.call(|c| unsafe { emq_client_connect_start(c, c"broker.test".as_ptr(), 1883) });
        assert_eq!(r, EMQ_OK);
        assert!(fx.b().opening);
        match how {
            "deinit" => fx.deinit(),
            "disconnect" => {
                assert_eq!(fx.call(|c| unsafe { emq_client_disconnect(c) }), EMQ_OK);
            }
            _ => {
                // A queued QoS 0 publish reports on_published at once: a
                // callback while the transport opens, no link held.
                fx.r().hook = Some(|_, c, ev| {
                    if *ev == Ev::Published(0) {
                        assert_eq!(unsafe { emq_client_disconnect(c) }, EMQ_OK);
                    }
                });
                assert_eq!(fx.publish(c"q", b"0", 0).0, EMQ_OK);
            }
        }
        if !fx.client.is_null() {
            assert_eq!(fx.state(), emq_state::EMQ_STATE_DISCONNECTED);
        }
        assert!(!fx.b().opening, "left half-open ({how})");
    }
}

/// Regression (found by the C API fuzz target and Miri): with `auto_reconnect`, `emq_client_wait` while the
/// transport's `connect` is in progress spins on the clock until its
/// timeout, neither reading nor driving the connect (poll does), and never
/// returns if the clock does not move while it spins (a cooperative
/// tick). Found by fuzz_targets/c_api.rs (a timeout).
#[test]
#[cfg(feature = "offline-queue")]
fn wait_does_not_spin_while_a_connect_is_in_progress() {
    let mut fx = Fx::new(Setup {
        tweak: |o| {
            o.auto_reconnect = true;
            o.queue_offline = true;
        },
        ..Setup::default()
    });
    let in_progress = emq_transport_status::EMQ_TRANSPORT_IN_PROGRESS as c_int;
    fx.b().connect_results.extend([in_progress; 8]);
    let r = fx.call(|c| unsafe { emq_client_connect_start(c, c"broker.test".as_ptr(), 1883) });
    assert_eq!(r, EMQ_OK);
    let (r, id) = fx.publish(c"q", b"queued", 1);
    assert_eq!((r, id != 0), (EMQ_OK, true));
    // Time moves only as the client reads the clock.
    STEP.with(|s| s.set(1));
    READS.with(|r| r.set(0));
    let result = fx.call(|c| unsafe { emq_client_wait(c, id, 1_000) });
    STEP.with(|s| s.set(0));
    let reads = READS.with(Cell::get);
    assert!(
        reads < 100,
        "wait spun {reads} turns and returned {result:?}"
    );
}

/// Regression (found by the C API fuzz target and Miri): with `lock-hooks` compiled in, poll reads from a transport
/// that an `on_log_event` callback has just closed (by
/// emq_client_disconnect, or by a publish whose write failed): the log
/// events run inside the step that chose the transport to read, and the
/// read that follows uses it all the same. On a device that is a read on
/// a closed (maybe freed) connection. Found by fuzz_targets/c_api.rs. See
/// the report.
#[test]
fn no_read_from_a_link_closed_in_on_log_event() {
    let mut fx = connected(Setup::default());
    fx.r().disconnect_on_log = true;
    // An acknowledgement for no id in use: logged (a warning), not an error.
    fx.b().push(ack(PUBACK, 999));
    let _ = fx.poll(10);
    assert!(fx
        .r()
        .log_codes
        .contains(&emq_log_code::EMQ_LOG_UNKNOWN_ACKS));
    assert!(!fx.b().open, "disconnected in on_log_event");
    let closed_io = std::mem::take(&mut fx.b().closed_io);
    assert_eq!(closed_io, 0, "recv on the closed link");
}

#[test]
fn auto_reconnect_resends_and_resubscribes() {
    let mut fx = Fx::new(Setup {
        tables: true,
        tweak: |o| {
            o.auto_reconnect = true;
            o.reconnect_min_ms = 100;
            o.reconnect_max_ms = 400;
            o.clean_session = false;
        },
        ..Setup::default()
    });
    assert_eq!(fx.connect(), EMQ_OK);
    let mut sub_id = 0;
    let r = fx.call(|c| unsafe { emq_client_subscribe(c, c"s/#".as_ptr(), 1, &mut sub_id) });
    assert_eq!(r, EMQ_OK);
    assert_eq!(fx.wait(sub_id), EMQ_OK);
    fx.b().ack_publishes = false;
    let (r, id) = fx.publish(c"q", b"kept", 1);
    assert_eq!(r, EMQ_OK);

    // The link fails: poll reports it to on_disconnect and returns OK.
    fx.b().feed.push_back(Feed::Fail);
    assert_eq!(fx.poll(10), EMQ_OK);
    assert_eq!(fx.events().last(), Some(&Ev::Disconnect(EMQ_ERR_IO)));
    fx.b().ack_publishes = true;
    fx.b().connack = (true, 0);
    for _ in 0..10 {
        advance(100);
        assert_eq!(fx.poll(10), EMQ_OK);
        if fx.b().connects == 2 && fx.r().events.contains(&Ev::Published(id)) {
            break;
        }
    }
    assert_eq!(fx.b().connects, 2);
    let after: Vec<Pkt> = {
        let sent = fx.sent();
        let second = sent
            .iter()
            .rposition(|p| matches!(p, Pkt::Connect { .. }))
            .unwrap();
        sent[second..].to_vec()
    };
    assert!(
        after.contains(&Pkt::Publish {
            topic: "q".into(),
            payload: b"kept".to_vec(),
            qos: 1,
            id,
            dup: true,
            retain: false
        }),
        "{after:?}"
    );
    assert!(fx.events().contains(&Ev::Published(id)));

    // The broker lost the session: the filter is subscribed again.
    fx.b().connack = (false, 0);
    fx.b().feed.push_back(Feed::Fail);
    assert_eq!(fx.poll(10), EMQ_OK);
    for _ in 0..10 {
        advance(400);
        assert_eq!(fx.poll(10), EMQ_OK);
        if fx.b().connects == 3 && matches!(fx.sent().last(), Some(Pkt::Subscribe { .. })) {
            break;
        }
    }
    assert_eq!(fx.b().connects, 3);
    assert!(
        matches!(fx.sent().last(), Some(Pkt::Subscribe { filters, .. }) if filters == &[("s/#".to_owned(), 1)]),
        "{:?}",
        fx.sent()
    );
    assert!(fx
        .r()
        .log_codes
        .contains(&emq_log_code::EMQ_LOG_RESUBSCRIBING));
    // disconnect ends reconnecting.
    assert_eq!(fx.call(|c| unsafe { emq_client_disconnect(c) }), EMQ_OK);
    advance(10_000);
    assert_eq!(fx.poll(10), EMQ_ERR_NOT_CONNECTED);
    assert_eq!(fx.b().connects, 3);
}

#[test]
#[cfg(feature = "drop-unacked")]
fn drop_unacked_on_loss_reports_each_message() {
    let mut fx = Fx::new(Setup {
        tables: true,
        tweak: |o| o.drop_unacked_on_loss = true,
        ..Setup::default()
    });
    assert_eq!(fx.connect(), EMQ_OK);
    fx.b().ack_publishes = false;
    let (_, a) = fx.publish(c"d", b"1", 1);
    let (_, b) = fx.publish(c"d", b"2", 2);
    fx.b().feed.push_back(Feed::Fail);
    assert_eq!(fx.poll(10), EMQ_ERR_IO);
    let dropped: Vec<Ev> = fx
        .events()
        .into_iter()
        .filter(|e| matches!(e, Ev::Dropped(..)))
        .collect();
    assert_eq!(
        dropped,
        [Ev::Dropped(a, EMQ_ERR_IO), Ev::Dropped(b, EMQ_ERR_IO)]
    );
    assert_eq!(unsafe { emq_client_queued(fx.client) }, 0);
}

// --- lock hooks and persistence hooks ------------------------------------------

#[test]
fn lock_hooks_are_balanced_and_released_in_callbacks() {
    let state = Box::into_raw(Box::new(LockState {
        depth: Cell::new(0),
        locks: Cell::new(0),
    }));
    let mut fx = Fx::new(Setup {
        tables: true,
        ..Setup::default()
    });
    let hooks = emq_lock {
        lock: Some(lock),
        unlock: Some(unlock),
        user_data: state.cast(),
    };
    assert_eq!(
        fx.call(|c| unsafe { emq_client_set_lock(c, &hooks) }),
        EMQ_OK
    );
    fx.r().lock = state;
    fx.r().hook = Some(echo_and_refused_calls);
    assert_eq!(fx.connect(), EMQ_OK);
    fx.b().push(publish("in", b"x", 2, 11, false));
    assert_eq!(fx.poll(10), EMQ_OK);
    let echo = fx.r().ids[0];
    assert_eq!(fx.wait(echo), EMQ_OK);
    assert_eq!(fx.publish(c"t", b"y", 2).0, EMQ_OK);
    assert_eq!(fx.poll(10), EMQ_OK);
    fx.deinit();
    let state = unsafe { Box::from_raw(state) };
    assert_eq!(state.depth.get(), 0);
    assert!(state.locks.get() > 10, "{}", state.locks.get());
}

/// Saved outbox entries, as a firmware's flash would keep them.
struct Saved {
    entries: Vec<(u16, Vec<u8>)>,
    removed: Vec<u16>,
    fail_store: bool,
}

unsafe extern "C" fn p_store(ud: *mut c_void, id: u16, packet: *const u8, len: usize) -> emq_err {
    let s = unsafe { &mut *ud.cast::<Saved>() };
    if s.fail_store {
        return EMQ_ERR_IO;
    }
    s.entries.push((
        id,
        unsafe { std::slice::from_raw_parts(packet, len) }.to_vec(),
    ));
    EMQ_OK
}

unsafe extern "C" fn p_remove(ud: *mut c_void, id: u16) {
    let s = unsafe { &mut *ud.cast::<Saved>() };
    s.removed.push(id);
    s.entries.retain(|e| e.0 != id);
}

unsafe extern "C" fn p_load(ud: *mut c_void, c: *mut emq_client) -> emq_err {
    let entries = unsafe { &*ud.cast::<Saved>() }.entries.clone();
    for (_, packet) in entries {
        let result = unsafe { emq_client_restore(c, packet.as_ptr(), packet.len()) };
        if result != EMQ_OK {
            return result;
        }
    }
    EMQ_OK
}

thread_local! {
    static SAVED: Cell<*mut Saved> = const { Cell::new(null_mut()) };
}

fn with_persistence(o: &mut emq_options) {
    o.persistence = emq_persistence {
        store: Some(p_store),
        remove: Some(p_remove),
        load: Some(p_load),
        user_data: SAVED.with(Cell::get).cast(),
    };
}

#[test]
fn persistence_hooks_store_remove_and_restore() {
    let saved = Box::into_raw(Box::new(Saved {
        entries: Vec::new(),
        removed: Vec::new(),
        fail_store: false,
    }));
    SAVED.with(|s| s.set(saved));
    let setup = Setup {
        tweak: with_persistence,
        ..Setup::default()
    };
    let mut fx = connected(setup);
    fx.b().ack_publishes = false;
    let (r, kept) = fx.publish(c"p", b"saved", 1);
    assert_eq!(r, EMQ_OK);
    let (r, acked) = fx.publish(c"p", b"acked", 2);
    assert_eq!(r, EMQ_OK);
    assert_eq!(unsafe { &*saved }.entries.len(), 2);
    assert_eq!(unsafe { &*saved }.entries[0].1[0] & 0xf0, 0x30, "a PUBLISH");
    fx.b().push(ack(PUBREC, acked));
    fx.b().push(ack(PUBCOMP, acked));
    assert_eq!(fx.wait(acked), EMQ_OK);
    assert_eq!(unsafe { &*saved }.removed, [acked]);
    // A failing store hook: the publish says so, the message stays queued.
    unsafe { (*saved).fail_store = true };
    assert_eq!(fx.publish(c"p", b"x", 1).0, EMQ_ERR_PERSISTENCE);
    unsafe { (*saved).fail_store = false };
    fx.deinit();

    // A new client loads what was saved and sends it after CONNACK.
    assert_eq!(unsafe { &*saved }.entries.len(), 1);
    assert_eq!(fx.init(setup), EMQ_OK);
    assert_eq!(unsafe { emq_client_queued(fx.client) }, 1);
    let restored = unsafe { &*saved }.entries[0].1.clone();
    assert_eq!(
        unsafe { emq_client_restore(fx.client, restored.as_ptr(), restored.len()) },
        EMQ_ERR_INVALID_ARGUMENT,
        "its id is taken"
    );
    fx.b().ack_publishes = true;
    assert_eq!(fx.connect(), EMQ_OK);
    assert_eq!(fx.wait(kept), EMQ_OK);
    assert!(fx.sent().iter().any(
        |p| matches!(p, Pkt::Publish { id, payload, .. } if *id == kept && payload == b"saved")
    ));
    assert!(unsafe { &*saved }.entries.is_empty());
    drop(fx);
    drop(unsafe { Box::from_raw(saved) });
}

#[test]
fn a_failing_load_hook_fails_init() {
    let saved = Box::into_raw(Box::new(Saved {
        entries: vec![(1, b"\x32\x03\x00\x01".to_vec())],
        removed: Vec::new(),
        fail_store: false,
    }));
    SAVED.with(|s| s.set(saved));
    let mut fx = Fx::new(Setup::default());
    fx.deinit();
    let result = fx.init(Setup {
        tweak: with_persistence,
        ..Setup::default()
    });
    assert_eq!(result, EMQ_ERR_MALFORMED_PACKET);
    assert!(fx.client.is_null());
    drop(fx);
    drop(unsafe { Box::from_raw(saved) });
}

/// Options and a callback whose code a firmware build leaves out (cargo
/// features `offline-queue`, `drop-unacked`) are refused, never ignored:
/// init and reconfigure with the option, set_callbacks with `on_dropped`
/// in this library's layout and the first one. scripts/miri.sh also runs
/// this natively in a build without those two features.
#[test]
fn options_and_callbacks_a_build_leaves_out_are_refused() {
    let want = |on: bool| if on { EMQ_OK } else { EMQ_ERR_UNSUPPORTED };
    let offline = cfg!(feature = "offline-queue");
    let dropping = cfg!(feature = "drop-unacked");
    let tweaks: [(fn(&mut emq_options), bool); 3] = [
        (|o| o.queue_offline = true, offline),
        (|o| o.queue_qos0_offline = true, offline),
        (|o| o.drop_unacked_on_loss = true, dropping),
    ];
    let mut fx = Fx::new(Setup::default());
    for (tweak, on) in tweaks {
        let mut o = options();
        tweak(&mut o);
        let kept = fx.keep(o);
        assert_eq!(unsafe { emq_client_reconfigure(fx.client, kept) }, want(on));
        fx.deinit();
        let setup = Setup {
            tweak,
            ..Setup::default()
        };
        assert_eq!(fx.init(setup), want(on));
        if !on {
            assert_eq!(fx.init(Setup::default()), EMQ_OK);
        }
    }
    let mut cb = callbacks();
    cb.on_dropped = Some(on_dropped);
    let (c, rec) = (fx.client, fx.rec.cast());
    assert_eq!(
        unsafe { emq_client_set_callbacks(c, &cb, rec) },
        want(dropping)
    );
    cb.struct_size = std::mem::offset_of!(emq_callbacks, on_pubrec);
    assert_eq!(
        unsafe { emq_client_set_callbacks(c, &cb, rec) },
        want(dropping)
    );
}
