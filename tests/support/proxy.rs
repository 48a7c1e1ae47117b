//! Fault-injection TCP proxy for integration tests (std only).
//!
//! A [`FaultProxy`] listens on a free 127.0.0.1 port and forwards every
//! accepted connection to an upstream address (the test broker). The test can
//! then break the link at precise points of the MQTT byte stream:
//!
//! ```ignore
//! let broker = Broker::start(BrokerConfig::new());
//! let proxy = FaultProxy::start(broker.addr());
//! // connect the client to ("127.0.0.1", proxy.port()) ...
//! // cut right after the broker's 2nd PUBLISH has reached the client:
//! proxy.cut_after_packet(Direction::ToClient, 3, 2, None);
//! ```
//!
//! Each accepted connection gets two forwarding threads (one per direction)
//! that read with a 50 ms timeout, so stop, stall and cut commands take effect
//! within about that time. Every decision (how many bytes of a read may pass,
//! whether to cut) is taken under one mutex, so rules, counters and framing
//! stay consistent across connections.
//!
//! Cut rules fire once. Byte and packet counts of a rule start when it is
//! armed and run across connections: the rule fires on whichever connection
//! reaches its point first. A cut shuts both sockets of that connection down
//! (FIN both ways, after the permitted bytes were written), or, with
//! [`FaultProxy::set_reset_on_cut`], closes them with SO_LINGER 0 (RST).
//!
//! TCP buffering caveat: "forwarded" means written by the proxy into the
//! kernel. Bytes the peer sent after the cut point that the proxy had not
//! read yet are lost with the connection; bytes already written to a peer
//! before a cut reach it (FIN mode) even if it reads them only later.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, sleep, JoinHandle};
use std::time::{Duration, Instant};

/// Read (and write) timeout of the forwarding threads.
const IO_POLL: Duration = Duration::from_millis(50);
/// Sleep of the accept loop and of a stalled forwarding thread.
const IDLE_POLL: Duration = Duration::from_millis(10);
/// How long connecting to the upstream may take.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Read buffer of a forwarding thread.
const CHUNK: usize = 16 * 1024;

/// Which way bytes flow through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client -> proxy -> upstream (broker).
    ToBroker,
    /// Upstream (broker) -> proxy -> client.
    ToClient,
}

impl Direction {
    fn index(self) -> usize {
        match self {
            Direction::ToBroker => 0,
            Direction::ToClient => 1,
        }
    }
}

/// An armed cut rule.
#[derive(Debug)]
enum RuleKind {
    /// Forward `remaining` more bytes, then cut.
    Bytes { remaining: usize },
    /// Cut after (or `offset` bytes into) the `nth` packet of `packet_type`.
    Packet {
        packet_type: u8,
        nth: usize,
        offset: Option<usize>,
        /// Packets of the type whose first byte was forwarded since arming.
        seen: usize,
        /// Once the nth packet started: (connection id, stream offset of its
        /// first byte on that connection).
        bound: Option<(u64, u64)>,
    },
}

#[derive(Debug)]
struct Rule {
    dir: Direction,
    kind: RuleKind,
}

/// Incremental MQTT framing of one direction of one connection.
#[derive(Debug, Default)]
struct Framer {
    /// Bytes forwarded so far on this connection in this direction.
    pos: u64,
    state: FrameState,
    /// Stream offset of the current packet's first byte.
    start: u64,
    /// Type (high nibble) of the current packet.
    packet_type: u8,
}

#[derive(Debug, Default, Clone, Copy)]
enum FrameState {
    /// Next byte is a fixed header's first byte.
    #[default]
    First,
    /// Inside the remaining-length varint.
    Length { value: usize, shift: u32 },
    /// Inside the body, `remaining` bytes to go.
    Body { remaining: usize },
    /// Malformed remaining length: framing given up on this stream.
    Broken,
}

/// One proxied connection, as seen by the shared state.
struct Conn {
    client: TcpStream,
    upstream: TcpStream,
    /// Set by a cut (or stop): the forwarding threads forward nothing more.
    closing: bool,
    /// Forwarding threads still running (2, 1, 0).
    live: u8,
}

#[derive(Default)]
struct State {
    stall: bool,
    refuse: bool,
    reset_on_cut: bool,
    rules: Vec<Rule>,
    conns: HashMap<u64, Conn>,
    next_id: u64,
    threads: Vec<JoinHandle<()>>,
    connections: u64,
    refused: u64,
    upstream_failures: u64,
    cuts: u64,
    bytes: [u64; 2],
    packets: [[u64; 16]; 2],
    /// Directions whose whole packets are recorded (see `capture`).
    capture: [bool; 2],
    /// Bytes of a packet not yet complete, per (connection, direction).
    partial: HashMap<(u64, usize), Vec<u8>>,
    /// Recorded packets per direction: (connection id, whole packet).
    captured: [Vec<(u64, Vec<u8>)>; 2],
}

struct Shared {
    upstream: SocketAddr,
    stop: AtomicBool,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking forwarding thread must not take every later test
        // assertion down with a poisoned lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// A loopback TCP proxy with fault injection. Stopped (threads joined,
/// listener closed, connections shut down) on drop.
pub struct FaultProxy {
    port: u16,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Listen on a free 127.0.0.1 port and forward to `upstream`.
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("proxy: binding 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("proxy: nonblocking listener");
        let port = listener.local_addr().expect("proxy: local_addr").port();
        let shared = Arc::new(Shared {
            upstream,
            stop: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        });
        let s = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name(format!("proxy-accept-{port}"))
            .spawn(move || accept_loop(listener, s))
            .expect("proxy: spawning accept thread");
        FaultProxy {
            port,
            shared,
            accept_thread: Some(accept_thread),
        }
    }

    /// The port the proxy listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The proxy's listening address.
    pub fn addr(&self) -> SocketAddr {
        (std::net::Ipv4Addr::LOCALHOST, self.port).into()
    }

    /// The upstream address connections are forwarded to.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream
    }

    /// Forward exactly `n` more bytes in `dir` (counted from now, across the
    /// current and later connections), then cut the connection that carried
    /// the last of them. `n == 0` cuts at the next data in `dir`, forwarding
    /// none of it. Fires once.
    pub fn cut_after_bytes(&self, dir: Direction, n: usize) {
        self.shared.lock().rules.push(Rule {
            dir,
            kind: RuleKind::Bytes { remaining: n },
        });
    }

    /// Cut at the `nth` (1-based, counted from now across connections)
    /// packet of `packet_type` (1..=14) in `dir` whose first byte is
    /// forwarded from now on. `offset: None`: cut right after the whole
    /// packet was forwarded. `Some(k)`: forward only its first `k` bytes,
    /// then cut (`k == 0`: none of it; `k` at or past its length: like
    /// `None`). Bytes after the cut point are never forwarded. Fires once.
    ///
    /// If the connection carrying the nth packet ends before the cut point,
    /// the rule re-arms for the next packet of that type.
    pub fn cut_after_packet(
        &self,
        dir: Direction,
        packet_type: u8,
        nth: usize,
        offset: Option<usize>,
    ) {
        assert!(
            (1..=14).contains(&packet_type),
            "MQTT packet type must be 1..=14, got {packet_type}"
        );
        assert!(nth >= 1, "nth is 1-based");
        self.shared.lock().rules.push(Rule {
            dir,
            kind: RuleKind::Packet {
                packet_type,
                nth,
                offset,
                seen: 0,
                bound: None,
            },
        });
    }

    /// Cut every current connection now. Counts one cut per connection.
    pub fn cut_now(&self) {
        let mut st = self.shared.lock();
        let reset = st.reset_on_cut;
        let mut n = 0;
        for conn in st.conns.values_mut() {
            if !conn.closing {
                cut_conn(conn, reset);
                n += 1;
            }
        }
        st.cuts += n;
    }

    /// Disarm every pending cut rule.
    pub fn clear_rules(&self) {
        self.shared.lock().rules.clear();
    }

    /// Cut rules armed and not fired yet.
    pub fn pending_rules(&self) -> usize {
        self.shared.lock().rules.len()
    }

    /// While on, nothing is forwarded either way; sockets stay open and data
    /// is held (in the proxy or the kernel), then forwarded when it ends.
    pub fn stall(&self, on: bool) {
        self.shared.lock().stall = on;
    }

    /// While on, new connections are accepted and closed at once (counted in
    /// `connections()` and `refused()`). Existing connections are untouched.
    pub fn refuse(&self, on: bool) {
        self.shared.lock().refuse = on;
    }

    /// Cuts (and refusals) close with SO_LINGER 0, so the peers get RST
    /// instead of FIN. Linux only; elsewhere a plain shutdown.
    pub fn set_reset_on_cut(&self, on: bool) {
        self.shared.lock().reset_on_cut = on;
    }

    /// Connections accepted in total (refused ones included).
    pub fn connections(&self) -> u64 {
        self.shared.lock().connections
    }

    /// Connections closed at once because of `refuse`.
    pub fn refused(&self) -> u64 {
        self.shared.lock().refused
    }

    /// Accepted connections closed because the upstream refused them.
    pub fn upstream_failures(&self) -> u64 {
        self.shared.lock().upstream_failures
    }

    /// Connections currently proxied.
    pub fn active(&self) -> usize {
        self.shared.lock().conns.len()
    }

    /// Cuts performed (one per connection cut).
    pub fn cuts(&self) -> u64 {
        self.shared.lock().cuts
    }

    /// Bytes forwarded in `dir`, all connections, since start.
    pub fn bytes(&self, dir: Direction) -> u64 {
        self.shared.lock().bytes[dir.index()]
    }

    /// Whole packets of `packet_type` forwarded in `dir` since start.
    pub fn packets(&self, dir: Direction, packet_type: u8) -> u64 {
        self.shared.lock().packets[dir.index()][(packet_type & 0x0f) as usize]
    }

    /// From now on, record every whole packet forwarded in `dir` (with the
    /// id of the connection that carried it), e.g. to check a client's
    /// resend order on the wire. A packet cut short is not recorded.
    pub fn capture(&self, dir: Direction) {
        self.shared.lock().capture[dir.index()] = true;
    }

    /// The packets recorded in `dir` so far, in forwarding order:
    /// (connection id, packet bytes). Connection ids grow with each accept.
    pub fn captured(&self, dir: Direction) -> Vec<(u64, Vec<u8>)> {
        self.shared.lock().captured[dir.index()].clone()
    }

    /// Wait (bounded) until `cond(self)` holds; true if it did.
    pub fn wait_until(&self, timeout: Duration, cond: impl Fn(&FaultProxy) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if cond(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            sleep(IDLE_POLL);
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
        let threads = {
            let mut st = self.shared.lock();
            for conn in st.conns.values_mut() {
                conn.closing = true;
                let _ = conn.client.shutdown(Shutdown::Both);
                let _ = conn.upstream.shutdown(Shutdown::Both);
            }
            std::mem::take(&mut st.threads)
        };
        // Each forwarding thread sees `stop` within one IO_POLL.
        for t in threads {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stopping() {
        match listener.accept() {
            Ok((client, _)) => handle_accept(client, &shared),
            Err(e) if e.kind() == ErrorKind::WouldBlock => sleep(IDLE_POLL),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => sleep(IDLE_POLL),
        }
    }
    // The listener is dropped (closed) here.
}

fn handle_accept(client: TcpStream, shared: &Arc<Shared>) {
    let _ = client.set_nonblocking(false);
    {
        let mut st = shared.lock();
        st.connections += 1;
        if st.refuse {
            st.refused += 1;
            if st.reset_on_cut {
                set_linger_zero(&client);
            } else {
                let _ = client.shutdown(Shutdown::Both);
            }
            return; // dropped: closed
        }
    }
    let upstream = match TcpStream::connect_timeout(&shared.upstream, UPSTREAM_CONNECT_TIMEOUT) {
        Ok(u) => u,
        Err(_) => {
            shared.lock().upstream_failures += 1;
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
    };
    for s in [&client, &upstream] {
        let _ = s.set_nodelay(true);
        let _ = s.set_read_timeout(Some(IO_POLL));
        let _ = s.set_write_timeout(Some(IO_POLL));
    }
    let clones = (|| {
        Some((
            client.try_clone().ok()?,
            client.try_clone().ok()?,
            upstream.try_clone().ok()?,
            upstream.try_clone().ok()?,
        ))
    })();
    let Some((c_read, c_write, u_read, u_write)) = clones else {
        let _ = client.shutdown(Shutdown::Both);
        let _ = upstream.shutdown(Shutdown::Both);
        return;
    };
    let mut st = shared.lock();
    let id = st.next_id;
    st.next_id += 1;
    st.conns.insert(
        id,
        Conn {
            client,
            upstream,
            closing: false,
            live: 2,
        },
    );
    st.threads.retain(|t| !t.is_finished());
    for (dir, src, dst) in [
        (Direction::ToBroker, c_read, u_write),
        (Direction::ToClient, u_read, c_write),
    ] {
        let s = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name(format!("proxy-{id}-{dir:?}"))
            .spawn(move || pump(s, id, dir, src, dst));
        match spawned {
            Ok(t) => st.threads.push(t),
            Err(_) => {
                // Could not start this direction: tear the connection down.
                if let Some(conn) = st.conns.get_mut(&id) {
                    conn.live -= 1;
                    conn.closing = true;
                    let _ = conn.client.shutdown(Shutdown::Both);
                    let _ = conn.upstream.shutdown(Shutdown::Both);
                }
            }
        }
    }
    if st.conns.get(&id).is_some_and(|c| c.live == 0) {
        st.conns.remove(&id);
    }
}

/// What a forwarding thread does with the bytes it holds.
enum Plan {
    /// Stalled: hold them and retry later.
    Hold,
    /// The connection is closing: forward nothing, exit.
    Closed,
    /// Forward the first `n` bytes; then cut if `cut`.
    Forward { n: usize, cut: bool },
}

/// Forwards one direction of one connection until EOF, error, cut or stop.
fn pump(shared: Arc<Shared>, id: u64, dir: Direction, mut src: TcpStream, mut dst: TcpStream) {
    let mut buf = vec![0u8; CHUNK];
    let mut held = 0usize; // bytes of `buf` read but not forwarded yet
    let mut framer = Framer::default();
    loop {
        if shared.stopping() {
            break;
        }
        if held == 0 {
            {
                let st = shared.lock();
                match st.conns.get(&id) {
                    Some(c) if !c.closing => {}
                    _ => break,
                }
                if st.stall {
                    // Leave incoming data in the kernel while stalled.
                    drop(st);
                    sleep(IDLE_POLL);
                    continue;
                }
            }
            match src.read(&mut buf) {
                Ok(0) => {
                    // Orderly EOF: pass the half-close on, unless it is our
                    // own cut waking the reader (no FIN in RST mode).
                    let closing = shared.lock().conns.get(&id).is_none_or(|c| c.closing);
                    if !closing {
                        let _ = dst.shutdown(Shutdown::Write);
                    }
                    break;
                }
                Ok(n) => held = n,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(_) => {
                    abort_conn(&shared, id);
                    break;
                }
            }
        }
        let plan = {
            let mut st = shared.lock();
            plan_chunk(&mut st, id, dir, &mut framer, &buf[..held])
        };
        match plan {
            Plan::Hold => sleep(IDLE_POLL),
            Plan::Closed => break,
            Plan::Forward { n, cut } => {
                held = 0;
                let ok = write_all_bounded(&shared, id, &mut dst, &buf[..n], cut);
                if cut {
                    let mut st = shared.lock();
                    let reset = st.reset_on_cut;
                    if let Some(conn) = st.conns.get_mut(&id) {
                        cut_conn(conn, reset);
                    }
                    break;
                }
                if !ok {
                    abort_conn(&shared, id);
                    break;
                }
            }
        }
    }
    // Done: the last thread of a connection removes (and closes) it, and a
    // rule bound to a packet of this connection re-arms.
    let mut st = shared.lock();
    let remove = match st.conns.get_mut(&id) {
        Some(conn) => {
            conn.live = conn.live.saturating_sub(1);
            conn.live == 0
        }
        None => false,
    };
    if remove {
        st.conns.remove(&id);
        // A packet cut short is never completed.
        st.partial.retain(|&(c, _), _| c != id);
        for rule in st.rules.iter_mut() {
            if let RuleKind::Packet { seen, bound, .. } = &mut rule.kind {
                if bound.is_some_and(|(c, _)| c == id) {
                    *bound = None;
                    *seen -= 1;
                }
            }
        }
    }
}

/// Writes all of `data`, retrying on timeouts until stop or (unless this is
/// the last write before our own cut) the connection closes. False on error
/// or when given up.
fn write_all_bounded(
    shared: &Shared,
    id: u64,
    dst: &mut TcpStream,
    mut data: &[u8],
    cutting: bool,
) -> bool {
    while !data.is_empty() {
        match dst.write(data) {
            Ok(0) => return false,
            Ok(n) => data = &data[n..],
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if shared.stopping() {
                    return false;
                }
                let st = shared.lock();
                if !cutting && st.conns.get(&id).is_none_or(|c| c.closing) {
                    return false;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

/// A socket error on one side: close the whole connection (not a cut).
fn abort_conn(shared: &Shared, id: u64) {
    let mut st = shared.lock();
    if let Some(conn) = st.conns.get_mut(&id) {
        conn.closing = true;
        let _ = conn.client.shutdown(Shutdown::Both);
        let _ = conn.upstream.shutdown(Shutdown::Both);
    }
}

/// Cut one connection: FIN both ways, or RST (SO_LINGER 0; the sockets are
/// closed when the forwarding threads drop their handles, within IO_POLL).
fn cut_conn(conn: &mut Conn, reset: bool) {
    conn.closing = true;
    if reset && cfg!(target_os = "linux") {
        set_linger_zero(&conn.client);
        set_linger_zero(&conn.upstream);
        // Wake our readers without sending a FIN.
        let _ = conn.client.shutdown(Shutdown::Read);
        let _ = conn.upstream.shutdown(Shutdown::Read);
    } else {
        let _ = conn.client.shutdown(Shutdown::Both);
        let _ = conn.upstream.shutdown(Shutdown::Both);
    }
}

#[cfg(target_os = "linux")]
fn set_linger_zero(s: &TcpStream) {
    use std::os::fd::AsRawFd;
    #[repr(C)]
    struct Linger {
        l_onoff: i32,
        l_linger: i32,
    }
    extern "C" {
        fn setsockopt(fd: i32, level: i32, name: i32, value: *const Linger, len: u32) -> i32;
    }
    const SOL_SOCKET: i32 = 1;
    const SO_LINGER: i32 = 13;
    let l = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket fd and a pointer to a live, correctly sized
    // `struct linger` for the duration of the call.
    unsafe {
        setsockopt(
            s.as_raw_fd(),
            SOL_SOCKET,
            SO_LINGER,
            &l,
            std::mem::size_of::<Linger>() as u32,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn set_linger_zero(_s: &TcpStream) {}

/// Decides, under the lock, how much of `data` (read on connection `id` in
/// `dir`) may be forwarded and whether to cut after it; updates framing,
/// rules and counters as if those bytes were forwarded.
fn plan_chunk(st: &mut State, id: u64, dir: Direction, fr: &mut Framer, data: &[u8]) -> Plan {
    match st.conns.get(&id) {
        Some(c) if !c.closing => {}
        _ => return Plan::Closed,
    }
    if st.stall {
        return Plan::Hold;
    }
    let len = data.len();
    let pos0 = fr.pos;
    // Cut point of each rule, relative to `data`, once known.
    let mut targets: Vec<Option<usize>> = vec![None; st.rules.len()];
    for (t, rule) in targets.iter_mut().zip(&st.rules) {
        if rule.dir != dir {
            continue;
        }
        match rule.kind {
            RuleKind::Bytes { remaining } => *t = Some(remaining),
            RuleKind::Packet {
                offset: Some(k),
                bound: Some((c, start)),
                ..
            } if c == id => *t = Some((start + k as u64).saturating_sub(pos0) as usize),
            _ => {}
        }
    }
    let limit = |targets: &[Option<usize>]| targets.iter().flatten().fold(len, |a, &b| a.min(b));
    let mut i = 0usize;
    loop {
        let lim = limit(&targets);
        if i >= lim {
            break;
        }
        match fr.state {
            FrameState::Broken => i = lim,
            FrameState::First => {
                let ptype = data[i] >> 4;
                // A rule that wants none of this packet cuts before it,
                // without counting it anywhere.
                let zero = st.rules.iter().position(|r| {
                    r.dir == dir
                        && matches!(r.kind, RuleKind::Packet { packet_type, nth, offset: Some(0), seen, bound: None }
                            if packet_type == ptype && seen + 1 == nth)
                });
                if let Some(r) = zero {
                    targets[r] = Some(i);
                    continue;
                }
                fr.start = pos0 + i as u64;
                fr.packet_type = ptype;
                fr.state = FrameState::Length { value: 0, shift: 0 };
                for (r, rule) in st.rules.iter_mut().enumerate() {
                    if rule.dir != dir {
                        continue;
                    }
                    if let RuleKind::Packet {
                        packet_type,
                        nth,
                        offset,
                        seen,
                        bound,
                    } = &mut rule.kind
                    {
                        if bound.is_none() && *packet_type == ptype {
                            *seen += 1;
                            if *seen == *nth {
                                *bound = Some((id, fr.start));
                                if let Some(k) = offset {
                                    targets[r] = Some(i + *k);
                                }
                            }
                        }
                    }
                }
                i += 1;
            }
            FrameState::Length { value, shift } => {
                let b = data[i];
                i += 1;
                let value = value | (((b & 0x7f) as usize) << shift);
                fr.state = if b & 0x80 == 0 {
                    if value == 0 {
                        end_of_packet(st, &mut targets, id, dir, fr, i);
                        FrameState::First
                    } else {
                        FrameState::Body { remaining: value }
                    }
                } else if shift >= 21 {
                    FrameState::Broken
                } else {
                    FrameState::Length {
                        value,
                        shift: shift + 7,
                    }
                };
            }
            FrameState::Body { remaining } => {
                let n = remaining.min(lim - i);
                i += n;
                if n == remaining {
                    fr.state = FrameState::First;
                    end_of_packet(st, &mut targets, id, dir, fr, i);
                } else {
                    fr.state = FrameState::Body {
                        remaining: remaining - n,
                    };
                }
            }
        }
    }
    // `i` bytes go out; the rules whose point is exactly here fire.
    let forward = i;
    let mut cut = false;
    let mut r = 0;
    st.rules.retain(|_| {
        let fire = targets[r] == Some(forward);
        r += 1;
        cut |= fire;
        !fire
    });
    for rule in st.rules.iter_mut() {
        if let RuleKind::Bytes { remaining } = &mut rule.kind {
            if rule.dir == dir {
                *remaining -= forward;
            }
        }
    }
    fr.pos += forward as u64;
    st.bytes[dir.index()] += forward as u64;
    if st.capture[dir.index()] {
        record_packets(st, id, dir, &data[..forward]);
    }
    if cut {
        st.cuts += 1;
        if let Some(conn) = st.conns.get_mut(&id) {
            // The other direction forwards nothing from now on.
            conn.closing = true;
        }
    }
    Plan::Forward { n: forward, cut }
}

/// Adds forwarded bytes to the capture of (`id`, `dir`); every packet they
/// complete moves to `captured`.
fn record_packets(st: &mut State, id: u64, dir: Direction, bytes: &[u8]) {
    let buf = st.partial.entry((id, dir.index())).or_default();
    buf.extend_from_slice(bytes);
    let mut done = Vec::new();
    loop {
        // Fixed header: type byte, then a remaining length of 1..=4 bytes.
        let mut len = 0usize;
        let mut header = None;
        for (k, &b) in buf.iter().skip(1).take(4).enumerate() {
            len |= ((b & 0x7f) as usize) << (7 * k);
            if b & 0x80 == 0 {
                header = Some(2 + k);
                break;
            }
        }
        match header {
            Some(h) if buf.len() >= h + len => done.push(buf.drain(..h + len).collect()),
            _ => break,
        }
    }
    st.captured[dir.index()].extend(done.into_iter().map(|p| (id, p)));
}

/// The current packet of `fr` ends at `end` (relative): count it and set the
/// cut point of a rule bound to it.
fn end_of_packet(
    st: &mut State,
    targets: &mut [Option<usize>],
    id: u64,
    dir: Direction,
    fr: &Framer,
    end: usize,
) {
    st.packets[dir.index()][fr.packet_type as usize] += 1;
    for (t, rule) in targets.iter_mut().zip(&st.rules) {
        if rule.dir == dir {
            if let RuleKind::Packet {
                bound: Some((c, start)),
                ..
            } = rule.kind
            {
                if c == id && start == fr.start {
                    *t = Some(t.map_or(end, |x| x.min(end)));
                }
            }
        }
    }
}
