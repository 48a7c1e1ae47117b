//! The host side of the C API (`sys` for the std build): heap-allocated
//! handles locked by std mutexes, TCP and TLS transports, waiting for the
//! socket without a lock held, and the background network thread. The
//! client functions themselves are in `client.rs`, shared with firmware.

mod runner;
mod tls;

pub use runner::{emq_client_set_server, emq_client_start, emq_client_stop};
pub use tls::emq_client_tls_verify_result;

use super::client::{check_options, connect_requested, with_client, CheckedOptions, Core, Handler};
use super::*;
use crate::client::log::{LogCode, LogLevel, LogRecord};
use crate::client::subscriptions::{HeapTable, Subscriptions};
use crate::client::supervisor;
use crate::client::{Client, ClientEvent};
use crate::codec::v5::{Properties, PropertyWriter};
use crate::codec::{LastWill, ProtocolLevel};
use crate::session::{ConnectOptions, HeapMemory, Session};
use crate::time::{self, Millis};
use crate::transport::tcp::TcpOptions;
use crate::transport::{uri, HostTransport, StdClock};
use crate::Error;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The client a host handle runs.
pub(crate) type Supervisor = supervisor::Supervisor<
    HeapMemory,
    HostTransport,
    StdClock,
    crate::session::Zeroed<u8>,
    HeapTable<Handler>,
    Handler,
>;

/// Most filters in one SUBSCRIBE or UNSUBSCRIBE call.
pub(crate) const MAX_FILTERS_PER_CALL: usize = 64;

/// Where a connect goes: host, port, TLS if a URI scheme said so, and the
/// WebSocket path of a `ws://` or `wss://` URI.
pub(crate) type Target = (String, u16, Option<bool>, Option<String>);

/// Owned copies of the connect options.
pub(crate) struct ConnectSettings {
    client_id: String,
    username: Option<String>,
    password: Option<Vec<u8>>,
    keepalive_secs: u16,
    clean_session: bool,
    protocol: ProtocolLevel,
    will: Option<(String, Vec<u8>, QoS, bool)>,
    /// MQTT 5: the CONNECT properties and the Will Properties, encoded.
    properties: [Vec<u8>; 2],
}

impl ConnectSettings {
    /// Owned copies of the checked options (`emq_options` itself is not
    /// kept: hosts copy).
    pub(crate) fn from_checked(checked: &CheckedOptions<'_>, _: *const emq_options) -> Self {
        let c = &checked.connect;
        ConnectSettings {
            properties: checked.properties.map(|p| encoded(p.properties())),
            client_id: c.client_id.to_owned(),
            username: c.username.map(str::to_owned),
            password: c.password.map(<[u8]>::to_vec),
            keepalive_secs: c.keep_alive_secs,
            clean_session: c.clean_session,
            protocol: c.protocol,
            will: c
                .will
                .map(|w| (w.topic.to_owned(), w.payload.to_vec(), w.qos, w.retain)),
        }
    }

    /// Has `sup`'s client put CONNECT in the send buffer over `transport`.
    pub(crate) fn queue_connect(
        &self,
        sup: &mut Supervisor,
        transport: Transport,
    ) -> Result<(), Error> {
        let options = self.options(sup);
        sup.client_mut().queue_connect(transport, &options)
    }

    /// The settings as the session takes them (`sup` as in firmware
    /// builds, which read them from the options its session keeps).
    pub(crate) fn options(&self, _: &Supervisor) -> ConnectOptions<'_> {
        ConnectOptions {
            client_id: &self.client_id,
            username: self.username.as_deref(),
            password: self.password.as_deref(),
            keep_alive_secs: self.keepalive_secs,
            clean_session: self.clean_session,
            protocol: self.protocol,
            will: self
                .will
                .as_ref()
                .map(|(topic, payload, qos, retain)| LastWill {
                    topic,
                    payload,
                    qos: *qos,
                    retain: *retain,
                }),
            properties: Properties::Wire(&self.properties[0]),
            will_properties: Properties::Wire(&self.properties[1]),
        }
    }
}

/// `properties` (checked) as they go on the wire.
fn encoded(properties: Properties<'_>) -> Vec<u8> {
    let len = properties
        .iter()
        .map(|p| p.encoded_len().unwrap_or(0))
        .sum();
    let mut bytes = vec![0; len];
    let mut writer = PropertyWriter::new(&mut bytes);
    for property in properties.iter() {
        // Checked with the options: each fits its share.
        let _ = writer.push(&property);
    }
    bytes
}

/// What only hosts keep beside the shared state.
pub(crate) struct CoreExtra {
    /// The certificate check of the latest connection.
    tls_verify: emq_err,
}

/// An MQTT client. Opaque: create with `emq_client_new`, free with
/// `emq_client_free`. Every function may be called from any thread.
pub struct emq_client {
    /// What API calls read and change. Never held while C code runs.
    state: Mutex<Core>,
    /// The network side. Held while reading from the network (poll, wait,
    /// connect, a turn of the network thread) and while callbacks look at
    /// a received message, which lives in the receive buffer that only
    /// reads write to. Always taken before `state`.
    link: Mutex<Link>,
    /// Notified when the network side made progress (acknowledgements,
    /// connection changes), for calls waiting on the network thread.
    progress: Condvar,
    /// True while TCP and TLS are being opened (read without a lock).
    connecting: AtomicBool,
    /// Which loop drives the client, and the network thread.
    runner: runner::Runner,
    /// `emq_client_free` was called inside one of its callbacks: the
    /// handle goes when the outermost call (or the network thread's turn)
    /// that ran the callback is over.
    free_requested: AtomicBool,
    /// A callback outside a batch of events published without writing:
    /// written when the outermost callback returns.
    held_output: AtomicBool,
    /// Callbacks of this client running on any thread: when 0, no
    /// per-thread lookup is needed to know none runs on this one.
    callbacks_running: AtomicU32,
}

// SAFETY: the raw pointers in Core (user_data, handler data, persistence
// data) belong to the application, which hands them to embermq to pass back
// to its own callbacks; the C API documents that callbacks run on whichever
// thread drives the client (the network thread after emq_client_start).
unsafe impl Send for Core {}

/// The transport settings behind `emq_client.link`.
pub(crate) struct Link {
    tcp: TcpOptions,
    tls: tls::HostTls,
    ws: HostWs,
    /// The receive buffer's size: the longest WebSocket frame accepted.
    rx_size: usize,
}

/// WebSocket settings copied from `emq_options.ws`.
#[derive(Default)]
pub(crate) struct HostWs {
    /// `emq_options.ws` was set: connections without a URI use WebSocket.
    forced: bool,
    /// Their request path.
    path: String,
    /// Extra header lines of every upgrade.
    headers: String,
}

impl HostWs {
    /// Copies and checks `emq_options.ws`.
    ///
    /// # Safety
    /// `options` must be NULL or valid, its strings NULL or NUL-terminated.
    unsafe fn from_options(options: *const emq_ws_options) -> Result<Self, emq_err> {
        use crate::transport::ws;
        // SAFETY: NULL or valid per the contract.
        let Some(o) = (unsafe { options.as_ref() }) else {
            return Ok(HostWs::default());
        };
        // SAFETY: NULL or NUL-terminated per the contract.
        let path = unsafe { opt_str_arg(o.path) }?.unwrap_or(ws::DEFAULT_PATH);
        // SAFETY: as above.
        let headers = unsafe { opt_str_arg(o.headers) }?.unwrap_or("");
        ws::check_path(path).map_err(emq_err::from)?;
        ws::check_headers(headers).map_err(emq_err::from)?;
        Ok(HostWs {
            forced: true,
            path: path.to_owned(),
            headers: headers.to_owned(),
        })
    }
}

/// Runs `body`, turning a panic into EMQ_ERR_PANIC.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), emq_err>) -> emq_err {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => EMQ_OK,
        Ok(Err(err)) => err,
        Err(_) => EMQ_ERR_PANIC,
    }
}

thread_local! {
    /// Clients whose callbacks are running on this thread, innermost last:
    /// calls that would wait for this very thread are refused inside them.
    static IN_CALLBACK: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// The client whose events this thread is dispatching (`run_events`):
    /// what its callbacks publish is written with the batch, in one write.
    static BATCHING: Cell<usize> = const { Cell::new(0) };
}

impl emq_client {
    /// The state, locked. A panic contained while it was held leaves the
    /// data as the panic left it, which the client treats as usable.
    pub(crate) fn core(&self) -> MutexGuard<'_, Core> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The network side, locked (before `core`, never after).
    pub(crate) fn link(&self) -> MutexGuard<'_, Link> {
        self.link.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The network side, locked, for the shared code (hosts wait for it).
    pub(crate) fn try_link(&self) -> Result<MutexGuard<'_, Link>, emq_err> {
        Ok(self.link())
    }

    /// The handle as C sees it, for callback arguments.
    pub(crate) fn as_ptr(&self) -> *mut emq_client {
        (self as *const emq_client).cast_mut()
    }

    /// True when one of this client's callbacks is running on this thread.
    pub(crate) fn in_callback_here(&self) -> bool {
        if self.callbacks_running.load(Ordering::SeqCst) == 0 {
            return false;
        }
        let me = self as *const emq_client as usize;
        IN_CALLBACK.with(|running| running.borrow().contains(&me))
    }

    /// True when a callback asked for `emq_client_free`.
    pub(crate) fn free_requested(&self) -> bool {
        self.free_requested.load(Ordering::SeqCst)
    }

    /// Refuses calls that would wait for the thread running the callback.
    pub(crate) fn refuse_in_callback(&self) -> Result<(), emq_err> {
        if self.in_callback_here() {
            Err(EMQ_ERR_IN_CALLBACK)
        } else {
            Ok(())
        }
    }
}

/// Releases `core` until the network side makes progress or `limit_ms`
/// passes, then holds it again.
pub(crate) fn wait_for_progress<'a>(
    c: &'a emq_client,
    core: MutexGuard<'a, Core>,
    limit_ms: u32,
) -> MutexGuard<'a, Core> {
    c.progress
        .wait_timeout(core, Duration::from_millis(u64::from(limit_ms)))
        .unwrap_or_else(PoisonError::into_inner)
        .0
}

/// Wakes calls waiting for progress (room in the outbox, an acknowledgement).
pub(crate) fn notify_progress(c: &emq_client) {
    c.progress.notify_all();
}

/// True when another thread frees room in the outbox: the network thread runs.
pub(crate) fn room_may_come(c: &emq_client) -> bool {
    runner::running(c)
}

/// Calls a C callback with the client marked as inside a callback on this
/// thread. No lock is held.
/// Once a callback asked for `emq_client_free`, no further callback runs
/// (the application may already have freed what its `user_data` points to).
pub(crate) fn in_callback(c: &emq_client, call: impl FnOnce()) {
    if c.free_requested() {
        return;
    }
    let me = c as *const emq_client as usize;
    IN_CALLBACK.with(|running| running.borrow_mut().push(me));
    c.callbacks_running.fetch_add(1, Ordering::SeqCst);
    call();
    c.callbacks_running.fetch_sub(1, Ordering::SeqCst);
    let outermost = IN_CALLBACK.with(|running| {
        let mut running = running.borrow_mut();
        if let Some(at) = running.iter().rposition(|&id| id == me) {
            running.remove(at);
        }
        !running.contains(&me)
    });
    if outermost
        && c.held_output.load(Ordering::Relaxed)
        && c.held_output.swap(false, Ordering::SeqCst)
    {
        let _ = super::client::flush_before_return(c, EMQ_OK);
    }
}

/// How `emq_client_publish` writes: inside one of this client's callbacks,
/// after it (with the rest of the batch of events, when there is one); from
/// another thread while the network thread runs, at once on an idle
/// connection and by the network thread during a burst; else at once.
pub(crate) fn publish_write(c: &emq_client) -> Option<crate::client::Write> {
    use crate::client::Write;
    Some(if c.in_callback_here() {
        Write::Later
    } else if runner::running(c) && !c.on_network_thread() {
        Write::WhenBusy
    } else {
        Write::Now
    })
}

/// A publish left its bytes in the send buffer: makes sure they are
/// written soon (see `publish_write`).
pub(crate) fn output_held(c: &emq_client) {
    let me = c as *const emq_client as usize;
    if !c.in_callback_here() {
        runner::request_flush(c);
    } else if BATCHING.with(Cell::get) != me {
        c.held_output.store(true, Ordering::SeqCst);
    }
}

/// Runs `body` as a batch of this client's events (see `BATCHING`); the
/// caller writes what the callbacks left once it is over.
pub(crate) fn batch<T>(c: &emq_client, body: impl FnOnce() -> T) -> T {
    let me = c as *const emq_client as usize;
    let outer = BATCHING.with(|batching| batching.replace(me));
    let result = body();
    BATCHING.with(|batching| batching.set(outer));
    result
}

/// The attempt has its transport (or failed to get one); called with the
/// state lock held, so `emq_client_state` never sees neither flag nor state.
pub(crate) fn end_opening(c: &emq_client) {
    c.connecting.store(false, Ordering::SeqCst);
}

/// True while TCP and TLS are being opened, or from `emq_client_start`
/// until its network thread begins the attempt it asked for.
pub(crate) fn is_opening(c: &emq_client) -> bool {
    c.connecting.load(Ordering::SeqCst) || runner::connect_pending(c)
}

/// Claims the client for `emq_client_poll` (not the network thread).
pub(crate) fn claim_poll(c: &emq_client) -> Result<(), emq_err> {
    runner::claim_poll(c)
}

/// True on the network thread once `emq_client_stop` asked it to end: a
/// connection attempt it is making gives up.
pub(crate) fn attempt_cancelled(c: &emq_client) -> bool {
    c.on_network_thread() && runner::stop_requested(c)
}

/// True once the network thread has been asked to stop.
pub(crate) fn stop_requested(c: &emq_client) -> bool {
    runner::stop_requested(c)
}

/// Wakes a waiting network thread.
pub(crate) fn wake(c: &emq_client) {
    runner::wake(c);
}

/// While the network thread runs, `emq_client_wait` waits for it.
pub(crate) fn wait_on_thread(c: &emq_client, packet_id: u16, timeout_ms: u32) -> Option<emq_err> {
    runner::running(c).then(|| runner::wait_for_thread(c, packet_id, timeout_ms))
}

/// Sleeps the calling thread.
pub(crate) fn sleep_ms(ms: u32) {
    std::thread::sleep(Duration::from_millis(u64::from(ms)));
}

/// Hosts can sleep while a reconnect attempt is not due yet.
pub(crate) fn can_sleep() -> bool {
    true
}

/// A copy of a stored message for the persistence hook, which runs
/// without the lock while another thread may free the original.
pub(crate) fn stored_copy(core: &mut Core, packet_id: u16) -> Option<Vec<u8>> {
    core.sup
        .client_mut()
        .stored_packet(packet_id)
        .map(<[u8]>::to_vec)
}

/// The target of `emq_client_connect(host, port)`.
///
/// # Safety
/// `host` must be NULL or NUL-terminated.
pub(crate) unsafe fn target_arg(host: *const c_char, port: u16) -> Result<Target, emq_err> {
    // SAFETY: NUL-terminated per the contract.
    let host = unsafe { str_arg(host) }?;
    if port == 0 {
        return Err(EMQ_ERR_INVALID_ARGUMENT);
    }
    Ok((host.to_owned(), port, None, None))
}

/// Opens TCP (and TLS) to `target`, without the state lock.
pub(crate) fn open_transport(
    c: &emq_client,
    link: &mut Link,
    target: &Target,
    _timeout_ms: u32,
    _wait: bool,
) -> Result<Option<HostTransport>, Error> {
    let (host, port, scheme_tls, ws_path) = target;
    let tls = link.tls.wanted(*port, *scheme_tls);
    let ws_path = match (ws_path, scheme_tls) {
        (Some(path), _) => Some(path.as_str()),
        // A URI's scheme (mqtt://, mqtts://) wins over emq_options.ws.
        (None, None) if link.ws.forced => Some(link.ws.path.as_str()),
        (None, _) => None,
    };
    c.connecting.store(true, Ordering::SeqCst);
    let transport = link.tls.open(host, *port, tls, &link.tcp);
    let transport = match (ws_path, transport) {
        (Some(path), Ok(inner)) => {
            let upgrade = crate::transport::ws::Upgrade {
                host: host.trim_start_matches('[').trim_end_matches(']'),
                port: *port,
                tls,
                path,
                headers: &link.ws.headers,
            };
            let timeout = link.tcp.connect_timeout_ms;
            crate::transport::ws::WsStream::connect(inner, &upgrade, link.rx_size, timeout)
                .map(|ws| HostTransport::Ws(Box::new(ws)))
        }
        (_, transport) => transport,
    };
    let verify = link.tls.verify_result();
    let mut core = c.core();
    core.extra.tls_verify = match verify {
        Ok(()) => EMQ_OK,
        Err(err) => err.into(),
    };
    if let (true, Ok(_), Err(err)) = (tls, &transport, verify) {
        core.sup.record(
            LogLevel::Warning,
            LogCode::TlsNotVerified,
            0,
            0,
            0,
            Some(err),
        );
    }
    // Hosts open within the call (bounded by the connect timeout).
    transport.map(Some)
}

/// The transport of a connection (`open_transport`).
pub(crate) type Transport = HostTransport;

/// Hosts open within the connect call: nothing is left in progress.
pub(crate) fn abandon_open(_: &mut Link) {}

/// Hosts open their transport within the connect call: nothing to close.
pub(crate) fn close_opening(_: &emq_client) {}

/// The text line for a log event, NUL-terminated, for `on_log`.
pub(crate) fn log_line(core: &Core, record: &LogRecord) -> Option<Vec<u8>> {
    let err = || record.error.map(|e| e.to_string()).unwrap_or_default();
    let (id, value) = (record.packet_id, record.value);
    let text = match record.code {
        LogCode::Connecting => match core.target.get() {
            Some((host, port, _, Some(path))) => format!("connecting to {host}:{port}{path} (WebSocket)"),
            Some((host, port, _, None)) => format!("connecting to {host}:{port}"),
            None => "connecting".to_owned(),
        },
        LogCode::Connected => "connected".to_owned(),
        LogCode::ConnectFailed => format!("connect failed: {}", err()),
        LogCode::ConnectRefused => format!("connection refused, return code {value}"),
        LogCode::ConnectionLost => format!("connection lost: {}", err()),
        LogCode::ReconnectScheduled => format!("reconnecting in {value} ms"),
        LogCode::Resubscribing => {
            format!("resubscribing to {value} filters, packet id {id}")
        }
        LogCode::ResubscribeFailed => format!("resubscribe failed after {value} filters: {}", err()),
        LogCode::SubscriptionNotRemembered => format!(
            "subscription table full: a filter of SUBSCRIBE {id} is not made again after a session loss"
        ),
        LogCode::UnknownAcks => {
            format!("{value} acknowledgement(s) for packet ids not in flight ignored")
        }
        LogCode::MessageOverflow => format!(
            "message of {value} bytes (packet id {id}) larger than the receive buffer, read through"
        ),
        LogCode::PersistFailed => format!("persistence: saving packet id {id} failed"),
        LogCode::Restored => format!("outbox: restored packet id {id}"),
        LogCode::Disconnected => "disconnected".to_owned(),
        LogCode::LogOverflow => format!("{value} log events dropped"),
        LogCode::TlsNotVerified => match record.error {
            Some(Error::TlsNotVerified) => {
                "TLS verify mode none: the broker's certificate was not checked".to_owned()
            }
            _ => format!(
                "TLS verify mode optional: connected although verification failed: {}",
                err()
            ),
        },
    };
    let mut line = Vec::with_capacity(text.len() + 1);
    line.extend(text.bytes().filter(|&b| b != 0));
    line.push(0);
    Some(line)
}

/// [`next_event`] waiting `timeout_ms` at most from now, as a deadline
/// on the client's clock (the wait runs without the state lock).
pub(crate) fn next_event_within(
    c: &emq_client,
    timeout_ms: u32,
) -> Result<Option<ClientEvent>, emq_err> {
    let now = c.core().sup.client_mut().now_ms();
    next_event(c, time::after(now, timeout_ms))
}

/// The next event, waiting for the network until `deadline` (on the
/// client's clock) without holding the state lock, so other threads'
/// calls go on meanwhile. `Ok(None)`: nothing by the deadline. The caller
/// holds `link`.
pub(crate) fn next_event(c: &emq_client, deadline: Millis) -> Result<Option<ClientEvent>, emq_err> {
    // Bounded by the deadline: each turn either returns or waits.
    loop {
        let mut event = None;
        let mut wait = None;
        let result = super::client::with_core(c, |core| {
            event = core.sup.poll_event(0).map_err(emq_err::from)?;
            if event.is_none() {
                let client = core.sup.client_mut();
                let now = client.now_ms();
                let until = client
                    .next_deadline()
                    .map_or(deadline, |t| time::earlier(t, deadline));
                let fd = client.transport().and_then(HostTransport::raw_fd);
                wait = Some((fd, time::until(now, until)));
            }
            Ok(())
        });
        if result != EMQ_OK {
            return Err(result);
        }
        match wait {
            None => return Ok(event),
            Some((_, 0)) => {
                if time::reached(c.core().sup.client_mut().now_ms(), deadline) {
                    return Ok(None);
                }
            }
            // On the network thread, emq_client_stop ends the wait (the
            // caller sees no event and asks why).
            Some(_) if attempt_cancelled(c) => return Ok(None),
            Some((fd, ms)) => runner::wait_readable_or_woken(c, fd, ms),
        }
    }
}

/// Validates and copies the options.
///
/// # Safety
/// Every pointer in `o` must be NULL or valid as documented on `emq_options`.
unsafe fn read_options(o: &emq_options) -> Result<(ConnectSettings, CheckedOptions<'_>), emq_err> {
    // SAFETY: forwarded contract.
    let checked = unsafe { check_options(o) }?;
    if o.rx_buffer_size < MIN_BUFFER
        || o.tx_buffer_size < MIN_BUFFER
        || o.rx_buffer_size > MAX_BUFFER
        || o.tx_buffer_size > MAX_BUFFER
        || o.store_size > MAX_BUFFER
    {
        return Err(EMQ_ERR_INVALID_ARGUMENT);
    }
    Ok((ConnectSettings::from_checked(&checked, o), checked))
}

/// Subscriptions a host client remembers (for resubscribing and handlers).
const HOST_SUBSCRIPTIONS: usize = 1_024;
/// Bytes of filters they may take together.
const HOST_SUBSCRIPTION_BYTES: usize = 64 * 1024;

/// Creates a disconnected client. On success `*out` holds the handle, to be
/// released with `emq_client_free`.
///
/// # Safety
/// `options` must be NULL or a valid `emq_options` (start from
/// `emq_options_default`); `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn emq_client_new(
    options: *const emq_options,
    out: *mut *mut emq_client,
) -> emq_err {
    guard(|| {
        if out.is_null() {
            return Err(EMQ_ERR_NULL_POINTER);
        }
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { out.write(core::ptr::null_mut()) };
        // SAFETY: NULL or valid per the contract.
        let o = &unsafe { options_arg(options) }?;
        // SAFETY: the option pointers are valid per the contract.
        let (connect, checked) = unsafe { read_options(o) }?;
        // SAFETY: `o.tls` is NULL or valid per the contract.
        let host_tls = unsafe { tls::HostTls::from_options(o.tls, checked.transport) }?;
        // SAFETY: `o.ws` is NULL or valid per the contract.
        let host_ws = unsafe { HostWs::from_options(o.ws) }?;
        // Extra packet-id slots so pending SUBSCRIBEs never starve publishes.
        let slots = usize::from(o.inflight_window.max(o.outbox_max_messages)) + 16;
        // A bitmap over all packet ids (8 KiB): a broker may send any number
        // of QoS 2 messages before their PUBRELs.
        let inbound_qos2 = crate::session::INBOUND_QOS2_BITMAP_WORDS;
        let memory = HeapMemory::try_new(slots, o.store_size, inbound_qos2, o.tx_buffer_size)
            .map_err(emq_err::from)?;
        let session = Session::new(memory, checked.config);
        let rx = crate::session::Zeroed::<u8>::try_new(o.rx_buffer_size)
            .map_err(|_| EMQ_ERR_NO_MEMORY)?;
        let client = Client::new(session, StdClock::default(), rx, o.command_timeout_ms);
        let table = HeapTable::try_new(HOST_SUBSCRIPTIONS, HOST_SUBSCRIPTION_BYTES)
            .map_err(emq_err::from)?;
        let mut sup = Supervisor::new(
            client,
            Subscriptions::new(table),
            checked.behaviour,
            jitter_seed(),
        );
        checked.select_protocol(&mut sup)?;
        let core = Core {
            sup,
            connect,
            target: super::client::KeptTarget::NONE,
            opening: super::client::Opening::NONE,
            persistence: super::client::Persistence::new(o.persistence),
            callbacks: KeptCallbacks::default(),
            user_data: core::ptr::null_mut(),
            extra: CoreExtra {
                tls_verify: EMQ_ERR_TLS_NOT_VERIFIED,
            },
            received: crate::client::Span::default(),
        };
        let link = Link {
            tcp: TcpOptions {
                connect_timeout_ms: o.command_timeout_ms,
                nodelay: o.tcp_nodelay,
            },
            tls: host_tls,
            ws: host_ws,
            rx_size: o.rx_buffer_size,
        };
        let handle = Box::new(emq_client {
            state: Mutex::new(core),
            link: Mutex::new(link),
            progress: Condvar::new(),
            connecting: AtomicBool::new(false),
            held_output: AtomicBool::new(false),
            callbacks_running: AtomicU32::new(0),
            runner: runner::Runner::default(),
            free_requested: AtomicBool::new(false),
        });
        if let Some(load) = o.persistence.load {
            let mut loaded = EMQ_OK;
            let user_data = o.persistence.user_data;
            // SAFETY: user hook; the handle is live and no lock is held, so
            // it may call emq_client_restore.
            in_callback(&handle, || {
                loaded = unsafe { load(user_data, handle.as_ptr()) }
            });
            super::client::emit_logs(&handle);
            if loaded != EMQ_OK {
                return Err(loaded);
            }
        }
        // SAFETY: checked non-NULL above.
        unsafe { out.write(Box::into_raw(handle)) };
        Ok(())
    })
}

/// Seeds reconnect jitter differently per process and per client.
fn jitter_seed() -> u32 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::process::id()) as u32
}

/// Stops the network thread if it runs (see `emq_client_stop`), closes the
/// connection without DISCONNECT (so the broker publishes the will) and
/// frees the client. NULL is ignored. Inside one of this client's
/// callbacks it takes effect when the callback returns (after the call that
/// ran the callback, or the network thread's turn, is over); the handle
/// must not be used after the callback. Must be the last call on the
/// handle: no other thread may still be using it.
///
/// # Safety
/// `client` must be NULL or a handle from `emq_client_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn emq_client_free(client: *mut emq_client) -> emq_err {
    // SAFETY: NULL or live per the contract.
    let Ok(c) = (unsafe { super::client::handle(client) }) else {
        return EMQ_OK;
    };
    if c.in_callback_here() {
        c.free_requested.store(true, Ordering::SeqCst);
        return EMQ_OK;
    }
    // SAFETY: forwarded contract; `c` is not used again.
    unsafe { free_now(client) }
}

/// Frees a handle: stops its network thread, closes the connection
/// without DISCONNECT, releases the memory.
///
/// # Safety
/// `client` must be a live handle that nothing else uses, not inside one
/// of its callbacks.
pub(crate) unsafe fn free_now(client: *mut emq_client) -> emq_err {
    guard(|| {
        // SAFETY: live per the contract.
        runner::join(unsafe { &*client }, false);
        // SAFETY: a live handle from Box::into_raw; the network thread has
        // ended and no other call may be running (contract): freed once.
        let owned = unsafe { Box::from_raw(client) };
        owned.core().sup.client_mut().abort();
        Ok(())
    })
}

/// Connects to the broker named by `uri`, `[scheme://]host[:port]`:
/// `mqtt://` or `tcp://` (port 1883) for plain MQTT, `mqtts://`, `ssl://`
/// or `tls://` (port 8883) for TLS; without a scheme, port 8883 selects TLS.
/// MQTT over WebSocket: `ws://host[:port][/path]` (port 80) and `wss://`
/// (port 443, TLS with `emq_options.tls`), path "/mqtt" when none is given,
/// extra upgrade headers from `emq_options.ws`. IPv6 hosts go in brackets:
/// `mqtt://[::1]:1883`. Otherwise as `emq_client_connect`; an unparsable
/// URI gives EMQ_ERR_INVALID_URI.
///
/// # Safety
/// `client` must be a live handle; `uri` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn emq_client_connect_uri(
    client: *mut emq_client,
    uri: *const c_char,
) -> emq_err {
    // SAFETY: contract forwarded.
    let c = match unsafe { super::client::handle(client) } {
        Ok(c) => c,
        Err(err) => return err,
    };
    if let Err(err) = c.refuse_in_callback() {
        return err;
    }
    // SAFETY: NUL-terminated per the contract.
    match unsafe { str_arg(uri) }.and_then(parse_target) {
        Ok(target) => connect_requested(c, target, None),
        Err(err) => err,
    }
}

/// Host, port and scheme of a broker URI.
fn parse_target(text: &str) -> Result<Target, emq_err> {
    let parsed = uri::parse(text)?;
    Ok((
        parsed.host.to_owned(),
        parsed.port,
        Some(parsed.tls),
        parsed.ws_path.map(str::to_owned),
    ))
}

/// Sets the server without connecting (for `emq_client_set_server`).
///
/// # Safety
/// `client` must be NULL or a live handle; `uri` NULL or NUL-terminated.
unsafe fn set_target(client: *mut emq_client, uri: *const c_char) -> emq_err {
    // SAFETY: contract forwarded.
    unsafe {
        with_client(client, |core| {
            // SAFETY: NUL-terminated per the contract.
            let target = parse_target(str_arg(uri)?)?;
            core.target.set(target);
            core.sup.request_connect();
            Ok(())
        })
    }
}
