//! The host implementation of the C API: heap-allocated handles, TCP and
//! TLS transports, automatic reconnect and the background network thread.
//!
//! Threads: a handle is shared by every thread that calls it. Its state is
//! behind one mutex (`state`) that is never held while C code runs, so
//! callbacks may call publish, subscribe, unsubscribe, disconnect and stop
//! on the same client. Reading from the network (poll, wait, connect, the
//! network thread's turn) also holds `link`, taken before `state`, for as
//! long as callbacks may look at a received message in the receive buffer.
//! Waiting for the socket happens with neither held. Calls that would wait
//! for the thread running the callback (poll, wait, connect, free) are
//! refused inside callbacks with `EMQ_ERR_IN_CALLBACK`.

mod reconnect;
mod runner;
mod tls;

pub use reconnect::emq_client_restore;
pub use runner::{emq_client_set_server, emq_client_start, emq_client_stop};
pub use tls::emq_client_tls_verify_result;

use super::*;
use crate::client::{Client, ClientEvent};
use crate::codec::{LastWill, ProtocolLevel, SubscribeTopic};
use crate::session::{ConnectOptions, HeapMemory, Session, SessionConfig, State};
use crate::transport::tcp::TcpOptions;
use crate::transport::{uri, HostTransport, StdClock};
use crate::{topic, Error};
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

type HostClient = Client<HeapMemory, HostTransport, StdClock, Box<[u8]>>;

struct FilterHandler {
    filter: String,
    handler: emq_message_handler,
    user_data: *mut c_void,
}

/// Owned copies of the connect options.
struct OwnedConnect {
    client_id: String,
    username: Option<String>,
    password: Option<Vec<u8>>,
    keepalive_secs: u16,
    clean_session: bool,
    protocol: ProtocolLevel,
    will: Option<(String, Vec<u8>, QoS, bool)>,
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
}

/// The client state behind `emq_client.state`.
struct Core {
    client: HostClient,
    connect: OwnedConnect,
    reconnect: reconnect::Reconnect,
    persistence: emq_persistence,
    log_level: emq_log_level,
    /// Log lines waiting to go to `on_log` once no lock is held.
    logs: Vec<(emq_log_level, Vec<u8>)>,
    callbacks: emq_callbacks,
    user_data: *mut c_void,
    handlers: Vec<FilterHandler>,
    last_return_code: u8,
    /// The certificate check of the latest connection.
    tls_verify: emq_err,
    /// The session's count of acknowledgements for unknown packet ids,
    /// as far as it has been logged.
    unknown_acks_logged: u16,
}

// SAFETY: the raw pointers in Core (user_data, handler data, persistence
// data) belong to the application, which hands them to embermq to pass back
// to its own callbacks; the C API documents that callbacks run on whichever
// thread drives the client (the network thread after emq_client_start).
unsafe impl Send for Core {}

/// The transport settings behind `emq_client.link`.
struct Link {
    tcp: TcpOptions,
    tls: tls::HostTls,
}

/// Runs `body`, turning a panic into EMQ_ERR_PANIC.
fn guard(body: impl FnOnce() -> Result<(), emq_err>) -> emq_err {
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
}

impl emq_client {
    /// The state, locked. A panic contained while it was held leaves the
    /// data as the panic left it, which the client treats as usable.
    fn core(&self) -> MutexGuard<'_, Core> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The network side, locked (before `core`, never after).
    fn link(&self) -> MutexGuard<'_, Link> {
        self.link.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Releases `core` until the network side makes progress or `limit`
    /// passes, then holds it again.
    fn wait_for_progress<'a>(
        &'a self,
        core: MutexGuard<'a, Core>,
        limit: Duration,
    ) -> MutexGuard<'a, Core> {
        self.progress
            .wait_timeout(core, limit)
            .unwrap_or_else(PoisonError::into_inner)
            .0
    }

    /// The handle as C sees it, for callback arguments.
    fn as_ptr(&self) -> *mut emq_client {
        (self as *const emq_client).cast_mut()
    }

    /// True when one of this client's callbacks is running on this thread.
    fn in_callback_here(&self) -> bool {
        let me = self as *const emq_client as usize;
        IN_CALLBACK.with(|running| running.borrow().contains(&me))
    }

    /// Refuses calls that would wait for the thread running the callback.
    fn refuse_in_callback(&self) -> Result<(), emq_err> {
        if self.in_callback_here() {
            Err(EMQ_ERR_IN_CALLBACK)
        } else {
            Ok(())
        }
    }
}

/// The handle behind a C pointer.
///
/// # Safety
/// `client` must be NULL or a live handle.
unsafe fn handle<'a>(client: *const emq_client) -> Result<&'a emq_client, emq_err> {
    // SAFETY: NULL or live per the contract; every field is behind a lock
    // or atomic, so shared references from many threads are sound.
    unsafe { client.as_ref() }.ok_or(EMQ_ERR_NULL_POINTER)
}

/// Runs `body` on the locked state inside `guard`, then hands queued log
/// lines to `on_log`.
fn with_core(c: &emq_client, body: impl FnOnce(&mut Core) -> Result<(), emq_err>) -> emq_err {
    let mut logged = false;
    let result = guard(|| {
        let mut core = c.core();
        let result = body(&mut core);
        logged = !core.logs.is_empty();
        result
    });
    // Checked under the lock above, so the common case takes it once.
    if logged {
        emit_logs(c);
    }
    result
}

/// `with_core` on a handle from C.
///
/// # Safety
/// `client` must be NULL or a live handle.
unsafe fn with_client(
    client: *const emq_client,
    body: impl FnOnce(&mut Core) -> Result<(), emq_err>,
) -> emq_err {
    // SAFETY: contract forwarded.
    match unsafe { handle(client) } {
        Ok(c) => with_core(c, body),
        Err(err) => err,
    }
}

/// `with_core` for calls that need room in the outbox or the packet-id
/// table: while the network thread runs and the caller is not in one of
/// this client's callbacks, a full outbox or table is waited out (up to
/// `command_timeout_ms`) instead of refused, since the thread frees room as
/// acknowledgements arrive. `body` runs again after each wait, so it must
/// change nothing when it fails.
fn with_room(c: &emq_client, mut body: impl FnMut(&mut Core) -> Result<(), emq_err>) -> emq_err {
    let may_wait = runner::running(c) && !c.in_callback_here();
    let mut logged = false;
    let result = guard(|| {
        let mut core = c.core();
        let started = Instant::now();
        // Bounded by the command timeout.
        loop {
            match body(&mut core) {
                Err(EMQ_ERR_STORE_FULL | EMQ_ERR_INFLIGHT_FULL) if may_wait => {
                    let limit = Duration::from_millis(u64::from(core.client.command_timeout_ms()));
                    let Some(left) = limit.checked_sub(started.elapsed()) else {
                        let last = body(&mut core);
                        logged = !core.logs.is_empty();
                        return last;
                    };
                    core = c.wait_for_progress(core, left);
                }
                other => {
                    logged = !core.logs.is_empty();
                    return other;
                }
            }
        }
    });
    if logged {
        emit_logs(c);
    }
    result
}

impl Core {
    /// Logs acknowledgements for packet ids not in flight (ignored by the
    /// session) since the last call.
    fn log_unknown_acks(&mut self) {
        let count = self.client.session().unknown_acks();
        let new = count.wrapping_sub(self.unknown_acks_logged);
        if new > 0 {
            self.unknown_acks_logged = count;
            self.log(
                emq_log_level::EMQ_LOG_WARNING,
                &format!("{new} acknowledgement(s) for packet ids not in flight ignored"),
            );
        }
    }

    /// Queues a log line; `emit_logs` hands it to `on_log` after the call.
    fn log(&mut self, level: emq_log_level, message: &str) {
        if level > self.log_level || self.callbacks.on_log.is_none() || self.logs.len() >= 64 {
            return;
        }
        let mut line = Vec::with_capacity(message.len() + 1);
        line.extend(message.bytes().filter(|&b| b != 0));
        line.push(0);
        self.logs.push((level, line));
    }

    /// A callback and the `user_data` to call it with.
    fn callback<F>(
        &self,
        pick: impl FnOnce(&emq_callbacks) -> Option<F>,
    ) -> Option<(F, *mut c_void)> {
        pick(&self.callbacks).map(|cb| (cb, self.user_data))
    }
}

/// Hands queued log lines to `on_log`, with no lock held.
fn emit_logs(c: &emq_client) {
    let (logs, on_log) = {
        let mut core = c.core();
        if core.logs.is_empty() {
            return;
        }
        (
            core::mem::take(&mut core.logs),
            core.callback(|cb| cb.on_log),
        )
    };
    let Some((on_log, user_data)) = on_log else {
        return;
    };
    // Bounded by the queue limit; lines logged by on_log itself wait for
    // the next call.
    for (level, line) in &logs {
        // SAFETY: user callback; `line` is NUL-terminated and outlives the call.
        in_callback(c, || unsafe {
            on_log(user_data, *level, line.as_ptr().cast())
        });
    }
}

/// Calls a C callback with the client marked as inside a callback on this
/// thread. No lock is held.
fn in_callback(c: &emq_client, call: impl FnOnce()) {
    let me = c as *const emq_client as usize;
    IN_CALLBACK.with(|running| running.borrow_mut().push(me));
    call();
    IN_CALLBACK.with(|running| {
        let mut running = running.borrow_mut();
        if let Some(at) = running.iter().rposition(|&id| id == me) {
            running.remove(at);
        }
    });
}

/// After a call that writes: if a failed write closed the connection, tell
/// `on_disconnect`, as poll would have.
fn report_if_lost(c: &emq_client) {
    let lost = c.core().client.take_unreported_loss();
    if let Some(reason) = lost {
        let _ = dispatch(c, ClientEvent::ConnectionLost(reason));
    }
}

/// Delivers one event to the callbacks, with no lock held while C code
/// runs. For a message, the caller holds `link`, so the receive buffer the
/// message points into stays as it is. Returns EMQ_ERR_MESSAGE_OVERFLOW for
/// an oversized message no callback took (poll reports it), else EMQ_OK.
fn dispatch(c: &emq_client, event: ClientEvent) -> emq_err {
    let me = c.as_ptr();
    match event {
        ClientEvent::Overflow {
            topic,
            payload,
            payload_len,
            qos,
            retain,
            packet_id,
        } => {
            let (message, cb) = {
                let mut core = c.core();
                let line = format!(
                    "message of {payload_len} bytes on '{}' larger than the receive buffer, read through",
                    String::from_utf8_lossy(core.client.bytes(topic))
                );
                core.log(emq_log_level::EMQ_LOG_WARNING, &line);
                let message = emq_message::borrowing(
                    core.client.bytes(topic),
                    core.client.bytes(payload),
                    qos,
                    retain,
                    false,
                    packet_id,
                );
                (message, core.callback(|cb| cb.on_overflow))
            };
            emit_logs(c);
            let Some((cb, user_data)) = cb else {
                return EMQ_ERR_MESSAGE_OVERFLOW;
            };
            // SAFETY: user callback; `message` points into the receive
            // buffer, which stays as it is (the caller holds `link`).
            in_callback(c, || unsafe { cb(user_data, me, &message, payload_len) });
        }
        ClientEvent::Message {
            topic,
            payload,
            qos,
            retain,
            dup,
            packet_id,
        } => {
            let (message, handler) = {
                let core = c.core();
                let topic_bytes = core.client.bytes(topic);
                let message = emq_message::borrowing(
                    topic_bytes,
                    core.client.bytes(payload),
                    qos,
                    retain,
                    dup,
                    packet_id,
                );
                // The topic is checked as UTF-8 only when a handler needs it.
                let matched = if core.handlers.is_empty() {
                    None
                } else {
                    core::str::from_utf8(topic_bytes)
                        .ok()
                        .and_then(|t| core.handlers.iter().find(|h| topic::matches(&h.filter, t)))
                };
                let handler = match matched {
                    Some(h) => h.handler.map(|f| (f, h.user_data)),
                    None => core.callback(|cb| cb.on_message),
                };
                (message, handler)
            };
            if let Some((handler, user_data)) = handler {
                // SAFETY: user callback; `message` points into the receive
                // buffer, which only reads change, and the caller holds
                // `link`, which every read needs.
                in_callback(c, || unsafe { handler(user_data, me, &message) });
            }
        }
        ClientEvent::Published { packet_id } => {
            reconnect::persist_removed(c, packet_id);
            let cb = c.core().callback(|cb| cb.on_published);
            if let Some((cb, user_data)) = cb {
                // SAFETY: user callback with valid arguments.
                in_callback(c, || unsafe { cb(user_data, me, packet_id) });
            }
        }
        ClientEvent::Subscribed {
            packet_id,
            return_codes,
        } => {
            let (codes, cb) = {
                let core = c.core();
                let codes = core.client.bytes(return_codes).as_ptr();
                (codes, core.callback(|cb| cb.on_subscribed))
            };
            if let Some((cb, user_data)) = cb {
                // SAFETY: user callback; `codes` valid for `len` bytes, as
                // for a message.
                in_callback(c, || unsafe {
                    cb(user_data, me, packet_id, codes, return_codes.len)
                });
            }
        }
        ClientEvent::Unsubscribed { packet_id } => {
            let cb = c.core().callback(|cb| cb.on_unsubscribed);
            if let Some((cb, user_data)) = cb {
                // SAFETY: user callback with valid arguments.
                in_callback(c, || unsafe { cb(user_data, me, packet_id) });
            }
        }
        ClientEvent::ConnectionLost(reason) => {
            let cb = {
                let mut core = c.core();
                core.log(
                    emq_log_level::EMQ_LOG_ERROR,
                    &format!("connection lost: {reason}"),
                );
                let now = core.client.now_ms();
                if let Some(delay) = core.reconnect.schedule(now, None) {
                    core.log(
                        emq_log_level::EMQ_LOG_INFO,
                        &format!("reconnecting in {delay} ms"),
                    );
                }
                core.callback(|cb| cb.on_disconnect)
            };
            emit_logs(c);
            c.progress.notify_all();
            if let Some((cb, user_data)) = cb {
                // SAFETY: user callback with valid arguments.
                in_callback(c, || unsafe { cb(user_data, me, emq_err::from(reason)) });
            }
        }
    }
    EMQ_OK
}

/// Validates and copies the options.
///
/// # Safety
/// Every pointer in `o` must be NULL or valid as documented on `emq_options`.
unsafe fn read_options(o: &emq_options) -> Result<(OwnedConnect, SessionConfig), emq_err> {
    // SAFETY (all calls below): the pointers come from `o`, valid per contract.
    let client_id = unsafe { opt_str_arg(o.client_id) }?.unwrap_or("");
    let username = unsafe { opt_str_arg(o.username) }?;
    let password = if o.password.is_null() && o.password_len == 0 {
        None
    } else {
        Some(unsafe { bytes_arg(o.password, o.password_len) }?.to_vec())
    };
    if password.is_some() && username.is_none() {
        return Err(EMQ_ERR_INVALID_CONNECT_FLAGS);
    }
    if client_id.is_empty() && !o.clean_session {
        return Err(EMQ_ERR_INVALID_ARGUMENT);
    }
    let protocol =
        ProtocolLevel::from_u8(o.protocol_level).map_err(|_| EMQ_ERR_INVALID_PROTOCOL)?;
    let will = match unsafe { opt_str_arg(o.will_topic) }? {
        None => None,
        Some(will_topic) => {
            topic::validate_topic_name(will_topic).map_err(emq_err::from)?;
            let payload = unsafe { bytes_arg(o.will_payload, o.will_payload_len) }?;
            if payload.len() > u16::MAX as usize {
                return Err(EMQ_ERR_STRING_TOO_LONG);
            }
            Some((
                will_topic.to_owned(),
                payload.to_vec(),
                qos_arg(o.will_qos)?,
                o.will_retain,
            ))
        }
    };
    if o.rx_buffer_size < MIN_BUFFER
        || o.tx_buffer_size < MIN_BUFFER
        || o.inflight_window == 0
        || o.command_timeout_ms == 0
        || log_level_of(o.log_level).is_none()
        || o.rx_buffer_size > MAX_BUFFER
        || o.tx_buffer_size > MAX_BUFFER
        || o.store_size > MAX_BUFFER
        || o.reconnect_min_ms == 0
        || o.reconnect_max_ms < o.reconnect_min_ms
        || o.outbox_max_messages == 0
    {
        return Err(EMQ_ERR_INVALID_ARGUMENT);
    }
    let connect = OwnedConnect {
        client_id: client_id.to_owned(),
        username: username.map(str::to_owned),
        password,
        keepalive_secs: o.keepalive_secs,
        clean_session: o.clean_session,
        protocol,
        will,
    };
    let config = SessionConfig {
        inflight_window: o.inflight_window,
        ping_timeout_ms: None,
        outbox_limit: o.outbox_max_messages,
        queue_offline: o.queue_offline,
        queue_qos0_offline: o.queue_qos0_offline,
    };
    Ok((connect, config))
}

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
        if options.is_null() {
            return Err(EMQ_ERR_NULL_POINTER);
        }
        // SAFETY: non-NULL; valid per the contract.
        let o = unsafe { &*options };
        // SAFETY: the option pointers are valid per the contract.
        let (connect, config) = unsafe { read_options(o) }?;
        // SAFETY: `o.tls` is NULL or valid per the contract.
        let host_tls = unsafe { tls::HostTls::from_options(o.tls) }?;
        // Extra packet-id slots so pending SUBSCRIBEs never starve publishes.
        let slots = usize::from(o.inflight_window.max(o.outbox_max_messages)) + 16;
        // A bitmap over all packet ids (8 KiB): a broker may send any number
        // of QoS 2 messages before their PUBRELs.
        let inbound_qos2 = crate::session::INBOUND_QOS2_BITMAP_WORDS;
        let memory = HeapMemory::try_new(slots, o.store_size, inbound_qos2, o.tx_buffer_size)
            .map_err(emq_err::from)?;
        let session = Session::new(memory, config);
        let mut rx = Vec::new();
        rx.try_reserve_exact(o.rx_buffer_size)
            .map_err(|_| EMQ_ERR_NO_MEMORY)?;
        rx.resize(o.rx_buffer_size, 0u8);
        let rx = rx.into_boxed_slice();
        let client = Client::new(session, StdClock::default(), rx, o.command_timeout_ms);
        let core = Core {
            client,
            connect,
            reconnect: reconnect::Reconnect::new(
                o.auto_reconnect,
                o.resubscribe,
                o.reconnect_min_ms,
                o.reconnect_max_ms,
                jitter_seed(),
            ),
            persistence: o.persistence,
            log_level: log_level_of(o.log_level).unwrap_or(emq_log_level::EMQ_LOG_INFO),
            logs: Vec::new(),
            callbacks: emq_callbacks::default(),
            user_data: core::ptr::null_mut(),
            handlers: Vec::new(),
            last_return_code: 0,
            tls_verify: EMQ_ERR_TLS_NOT_VERIFIED,
            unknown_acks_logged: 0,
        };
        let link = Link {
            tcp: TcpOptions {
                connect_timeout_ms: o.command_timeout_ms,
                nodelay: o.tcp_nodelay,
            },
            tls: host_tls,
        };
        let handle = Box::new(emq_client {
            state: Mutex::new(core),
            link: Mutex::new(link),
            progress: Condvar::new(),
            connecting: AtomicBool::new(false),
            runner: runner::Runner::default(),
        });
        if let Some(load) = o.persistence.load {
            let mut loaded = EMQ_OK;
            let user_data = o.persistence.user_data;
            // SAFETY: user hook; the handle is live and no lock is held, so
            // it may call emq_client_restore.
            in_callback(&handle, || {
                loaded = unsafe { load(user_data, handle.as_ptr()) }
            });
            emit_logs(&handle);
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
/// frees the client. NULL is ignored. Refused with EMQ_ERR_IN_CALLBACK
/// inside one of this client's callbacks. Must be the last call on the
/// handle: no other thread may still be using it.
///
/// # Safety
/// `client` must be NULL or a handle from `emq_client_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn emq_client_free(client: *mut emq_client) -> emq_err {
    // SAFETY: NULL or live per the contract.
    let Ok(c) = (unsafe { handle(client) }) else {
        return EMQ_OK;
    };
    if let Err(err) = c.refuse_in_callback() {
        return err;
    }
    guard(|| {
        runner::join(c, false);
        // SAFETY: a live handle from Box::into_raw; the network thread has
        // ended and no other call may be running (contract): freed once.
        let owned = unsafe { Box::from_raw(client) };
        owned.core().client.abort();
        Ok(())
    })
}

/// Sets the callbacks (copied) and the `user_data` passed to each.
/// `callbacks` may be NULL to remove them all. Callbacks run on the thread
/// that drives the client: the caller of poll, wait, connect, publish and
/// the other calls that report, or the network thread after
/// `emq_client_start`.
///
/// # Safety
/// `client` must be a live handle; `callbacks` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn emq_client_set_callbacks(
    client: *mut emq_client,
    callbacks: *const emq_callbacks,
    user_data: *mut c_void,
) -> emq_err {
    // SAFETY: contract forwarded.
    unsafe {
        with_client(client, |c| {
            c.callbacks = if callbacks.is_null() {
                emq_callbacks::default()
            } else {
                // SAFETY: non-NULL and valid per the contract.
                *callbacks
            };
            c.user_data = user_data;
            Ok(())
        })
    }
}

/// Connects to `host` (name, IPv4 or IPv6 address) on `port` (1883 for
/// plain MQTT, 8883 for MQTT over TLS) and waits for CONNACK, at most
/// `command_timeout_ms`. TLS is used when `emq_options.tls` was set or the
/// port is 8883. Calls `on_connect` with the return code; a refusal returns
/// EMQ_ERR_CONNECTION_REFUSED. Allowed from any thread, also while the
/// network thread runs (it then drives the new connection); refused inside
/// callbacks.
///
/// # Safety
/// `client` must be a live handle; `host` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn emq_client_connect(
    client: *mut emq_client,
    host: *const c_char,
    port: u16,
) -> emq_err {
    // SAFETY: contract forwarded.
    unsafe {
        connect_requested(client, || {
            // SAFETY: NUL-terminated per the contract.
            let host = str_arg(host)?;
            if port == 0 {
                return Err(EMQ_ERR_INVALID_ARGUMENT);
            }
            Ok((host.to_owned(), port, None))
        })
    }
}

/// Connects to the broker named by `uri`, `[scheme://]host[:port]`:
/// `mqtt://` or `tcp://` (port 1883) for plain MQTT, `mqtts://`, `ssl://`
/// or `tls://` (port 8883) for TLS; without a scheme, port 8883 selects TLS.
/// IPv6 hosts go in brackets: `mqtt://[::1]:1883`. Otherwise as
/// `emq_client_connect`; an unparsable URI gives EMQ_ERR_INVALID_URI.
///
/// # Safety
/// `client` must be a live handle; `uri` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn emq_client_connect_uri(
    client: *mut emq_client,
    uri: *const c_char,
) -> emq_err {
    // SAFETY: contract forwarded.
    unsafe {
        connect_requested(client, || {
            // SAFETY: NUL-terminated per the contract.
            parse_target(str_arg(uri)?)
        })
    }
}

/// Host, port and scheme of a broker URI.
fn parse_target(text: &str) -> Result<ConnectTarget, emq_err> {
    let parsed = uri::parse(text)?;
    Ok((parsed.host.to_owned(), parsed.port, Some(parsed.tls)))
}

/// A connect the application asked for.
///
/// # Safety
/// `client` must be NULL or a live handle.
unsafe fn connect_requested(
    client: *mut emq_client,
    target: impl FnOnce() -> Result<ConnectTarget, emq_err>,
) -> emq_err {
    // SAFETY: contract forwarded.
    let c = match unsafe { handle(client) } {
        Ok(c) => c,
        Err(err) => return err,
    };
    if let Err(err) = c.refuse_in_callback() {
        return err;
    }
    let result = connect_to(c, &mut c.link(), target, true);
    // A waiting network thread takes the new connection over at once.
    runner::wake(c);
    result
}

use reconnect::ConnectTarget;

/// Connects to the broker `target` names, and reports to `on_connect`.
/// `requested`: the application asked (not an automatic reconnect). The
/// caller holds `link`.
fn connect_to(
    c: &emq_client,
    link: &mut Link,
    target: impl FnOnce() -> Result<ConnectTarget, emq_err>,
    requested: bool,
) -> emq_err {
    let mut report = None;
    let result = guard(|| {
        let (host, port, scheme_tls) = target()?;
        {
            let mut core = c.core();
            if core.client.state() != State::Disconnected {
                return Err(EMQ_ERR_ALREADY_CONNECTED);
            }
            if requested {
                core.reconnect.requested((host.clone(), port, scheme_tls));
            }
        }
        let result = connect_once(c, link, &host, port, scheme_tls, &mut report);
        let mut core = c.core();
        match result {
            Ok(session_present) => {
                core.reconnect.connected();
                if !session_present {
                    core.resubscribe();
                }
            }
            Err(_) => {
                let refused = report.map(|(_, code)| code);
                let now = core.client.now_ms();
                if let Some(delay) = core.reconnect.schedule(now, refused) {
                    core.reconnect.failures += 1;
                    let failures = core.reconnect.failures;
                    core.log(
                        emq_log_level::EMQ_LOG_WARNING,
                        &format!("reconnecting in {delay} ms (attempt {failures} failed)"),
                    );
                }
            }
        }
        result.map(|_| ())
    });
    emit_logs(c);
    c.progress.notify_all();
    if let Some((session_present, code)) = report {
        let cb = c.core().callback(|cb| cb.on_connect);
        if let Some((cb, user_data)) = cb {
            // SAFETY: user callback with valid arguments.
            in_callback(c, || unsafe {
                cb(user_data, c.as_ptr(), session_present, code)
            });
        }
    }
    report_if_lost(c);
    result
}

/// One attempt: TCP (and TLS) without the state lock, so other threads'
/// calls go on meanwhile; then CONNECT and CONNACK. `report` gets what
/// `on_connect` must hear. Returns session present.
fn connect_once(
    c: &emq_client,
    link: &mut Link,
    host: &str,
    port: u16,
    scheme_tls: Option<bool>,
    report: &mut Option<(bool, u8)>,
) -> Result<bool, emq_err> {
    c.core().log(
        emq_log_level::EMQ_LOG_INFO,
        &format!("connecting to {host}:{port}"),
    );
    let tls = link.tls.wanted(port, scheme_tls);
    c.connecting.store(true, Ordering::SeqCst);
    let transport = link.tls.open(host, port, tls, &link.tcp);
    c.connecting.store(false, Ordering::SeqCst);
    let warning = transport.as_ref().ok().and_then(|_| link.tls.warning());
    let mut guard = c.core();
    let core = &mut *guard;
    core.tls_verify = match link.tls.verify_result() {
        Ok(()) => EMQ_OK,
        Err(err) => err.into(),
    };
    let transport = transport.map_err(|err| {
        core.log(
            emq_log_level::EMQ_LOG_ERROR,
            &format!("connect to {host}:{port}: {err}"),
        );
        emq_err::from(err)
    })?;
    let will = core
        .connect
        .will
        .as_ref()
        .map(|(topic, payload, qos, retain)| LastWill {
            topic,
            payload,
            qos: *qos,
            retain: *retain,
        });
    let options = ConnectOptions {
        client_id: &core.connect.client_id,
        username: core.connect.username.as_deref(),
        password: core.connect.password.as_deref(),
        keep_alive_secs: core.connect.keepalive_secs,
        clean_session: core.connect.clean_session,
        protocol: core.connect.protocol,
        will,
    };
    match core.client.connect(transport, &options) {
        Ok(connected) => {
            core.last_return_code = 0;
            if let Some(warning) = warning {
                core.log(emq_log_level::EMQ_LOG_WARNING, &warning);
            }
            core.log(emq_log_level::EMQ_LOG_INFO, "connected");
            *report = Some((connected.session_present, 0));
            Ok(connected.session_present)
        }
        Err(Error::ConnectionRefused(code)) => {
            core.last_return_code = code;
            core.log(
                emq_log_level::EMQ_LOG_ERROR,
                &format!("connection refused, return code {code}"),
            );
            *report = Some((false, code));
            Err(EMQ_ERR_CONNECTION_REFUSED)
        }
        Err(err) => {
            core.log(
                emq_log_level::EMQ_LOG_ERROR,
                &format!("connect failed: {err}"),
            );
            Err(err.into())
        }
    }
}

impl Core {
    /// Subscribes again to every filter, after the broker lost the session.
    fn resubscribe(&mut self) {
        if !self.reconnect.resubscribe || self.reconnect.subscriptions.is_empty() {
            return;
        }
        let subscriptions = core::mem::take(&mut self.reconnect.subscriptions);
        let mut sent = 0;
        for chunk in subscriptions.chunks(MAX_FILTERS_PER_CALL) {
            let topics: Vec<SubscribeTopic<'_>> = chunk
                .iter()
                .map(|(filter, qos)| SubscribeTopic { filter, qos: *qos })
                .collect();
            match self.client.subscribe(&topics) {
                Ok(id) => {
                    sent += topics.len();
                    self.log(
                        emq_log_level::EMQ_LOG_INFO,
                        &format!("resubscribing to {} filters, packet id {id}", topics.len()),
                    );
                }
                Err(err) => {
                    self.log(
                        emq_log_level::EMQ_LOG_ERROR,
                        &format!("resubscribe failed after {sent} filters: {err}"),
                    );
                    break;
                }
            }
        }
        self.reconnect.subscriptions = subscriptions;
    }
}

/// Sends DISCONNECT and closes the connection; `on_disconnect` gets EMQ_OK
/// (or the error if DISCONNECT could not be written). Ends automatic
/// reconnecting; a running network thread stays, idle, until the next
/// connect or `emq_client_stop`. Allowed inside callbacks.
///
/// # Safety
/// `client` must be a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_disconnect(client: *mut emq_client) -> emq_err {
    // SAFETY: contract forwarded.
    match unsafe { handle(client) } {
        Ok(c) => disconnect(c),
        Err(err) => err,
    }
}

/// DISCONNECT, close, stop reconnecting, and tell `on_disconnect`.
fn disconnect(c: &emq_client) -> emq_err {
    let mut cb = None;
    let result = with_core(c, |core| {
        // An explicit disconnect ends automatic reconnecting.
        core.reconnect.stop();
        cb = core.callback(|cb| cb.on_disconnect);
        core.client.disconnect().map_err(emq_err::from)
    });
    c.progress.notify_all();
    if result != EMQ_ERR_NOT_CONNECTED {
        if let Some((cb, user_data)) = cb {
            // SAFETY: user callback with valid arguments.
            in_callback(c, || unsafe { cb(user_data, c.as_ptr(), result) });
        }
    }
    result
}

/// Writes acknowledgements still queued, so none is left behind when control
/// returns to the caller (who may sleep or free the client next).
fn flush_before_return(c: &emq_client, result: emq_err) -> emq_err {
    let flushed = with_core(c, |core| core.client.flush().map_err(emq_err::from));
    report_if_lost(c);
    if result == EMQ_OK {
        flushed
    } else {
        result
    }
}

/// The next event, waiting for the network until `deadline` (on the
/// client's clock) without holding the state lock, so other threads'
/// calls go on meanwhile. `Ok(None)`: nothing by the deadline. The caller
/// holds `link`.
fn next_event(c: &emq_client, deadline: u64) -> Result<Option<ClientEvent>, emq_err> {
    // Bounded by the deadline: each turn either returns or waits.
    loop {
        let mut event = None;
        let mut wait = None;
        let result = with_core(c, |core| {
            event = core.client.poll_event(0).map_err(emq_err::from)?;
            core.log_unknown_acks();
            if event.is_none() {
                let now = core.client.now_ms();
                let until = core
                    .client
                    .next_deadline()
                    .map_or(deadline, |t| t.min(deadline));
                let fd = core.client.transport().and_then(HostTransport::raw_fd);
                wait = Some((
                    fd,
                    until.saturating_sub(now).min(u64::from(u32::MAX)) as u32,
                ));
            }
            Ok(())
        });
        if result != EMQ_OK {
            return Err(result);
        }
        match wait {
            None => return Ok(event),
            Some((_, 0)) => {
                if c.core().client.now_ms() >= deadline {
                    return Ok(None);
                }
            }
            Some((fd, ms)) => runner::wait_readable(fd, None, ms),
        }
    }
}

/// One turn of a caller-driven loop, like Paho's MQTTYield: writes pending
/// output, sends keepalive pings, and dispatches every event that arrives,
/// waiting up to `timeout_ms` for the first. Returns EMQ_OK, or the reason
/// the connection was lost (after `on_disconnect`), or EMQ_ERR_NOT_CONNECTED.
/// With `auto_reconnect`, a lost connection returns EMQ_OK (the reason goes
/// to `on_disconnect`) and, while disconnected, poll makes the next
/// reconnect attempt when its backoff has passed, or waits for it.
/// A client started with `emq_client_start` is driven by its network
/// thread: poll returns EMQ_ERR_THREAD_DRIVEN; once poll has been used,
/// `emq_client_start` returns EMQ_ERR_POLL_DRIVEN. Refused in callbacks.
///
/// # Safety
/// `client` must be a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_poll(client: *mut emq_client, timeout_ms: u32) -> emq_err {
    // SAFETY: contract forwarded.
    let c = match unsafe { handle(client) } {
        Ok(c) => c,
        Err(err) => return err,
    };
    if let Err(err) = c.refuse_in_callback().and_then(|()| runner::claim_poll(c)) {
        return err;
    }
    let mut link = c.link();
    match reconnect_turn(c, &mut link) {
        Ok(Turn::Idle) => run_events(c, timeout_ms),
        Ok(Turn::Attempted(_)) => EMQ_OK,
        Ok(Turn::Wait(ms)) => {
            drop(link);
            std::thread::sleep(std::time::Duration::from_millis(u64::from(
                ms.min(timeout_ms),
            )));
            EMQ_OK
        }
        Err(err) => err,
    }
}

/// Dispatches every event that arrives, waiting up to `timeout_ms` for
/// the first; returns as `emq_client_poll` does. The caller holds `link`.
fn run_events(c: &emq_client, timeout_ms: u32) -> emq_err {
    let mut deadline = c.core().client.now_ms() + u64::from(timeout_ms);
    // An oversized message no callback took, reported once all is handled.
    let mut unreported = EMQ_OK;
    // Bounded: each turn either handles an event or ends the loop; the
    // event count bounds a flood so control returns to the caller.
    for _ in 0..10_000 {
        match next_event(c, deadline) {
            Ok(Some(event)) => {
                let lost = match event {
                    ClientEvent::ConnectionLost(reason) => Some(reason),
                    _ => None,
                };
                let report = dispatch(c, event);
                if report != EMQ_OK {
                    unreported = report;
                }
                if let Some(reason) = lost {
                    return if reconnecting(c) {
                        EMQ_OK
                    } else {
                        reason.into()
                    };
                }
                if runner::stop_requested(c) {
                    break;
                }
                // After the first event, take only what is already there.
                deadline = 0;
            }
            Ok(None) => break,
            Err(err) => return err,
        }
    }
    match flush_before_return(c, EMQ_OK) {
        EMQ_OK => unreported,
        failed => failed,
    }
}

/// Polls (dispatching callbacks) until the acknowledgement for `packet_id`
/// arrives: PUBACK/PUBCOMP, SUBACK or UNSUBACK. Returns EMQ_OK at once when
/// nothing with that id is pending (its acknowledgement already arrived),
/// EMQ_ERR_TIMEOUT after `timeout_ms`. While the network thread runs, wait
/// only waits for it (any thread may wait); refused in callbacks.
///
/// # Safety
/// `client` must be a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_wait(
    client: *mut emq_client,
    packet_id: u16,
    timeout_ms: u32,
) -> emq_err {
    if packet_id == 0 {
        return EMQ_ERR_INVALID_ARGUMENT;
    }
    // SAFETY: contract forwarded.
    let c = match unsafe { handle(client) } {
        Ok(c) => c,
        Err(err) => return err,
    };
    if let Err(err) = c.refuse_in_callback() {
        return err;
    }
    if runner::running(c) {
        return runner::wait_for_thread(c, packet_id, timeout_ms);
    }
    let mut link = c.link();
    let deadline = {
        let mut core = c.core();
        if !core.client.is_pending(packet_id) {
            return EMQ_OK;
        }
        core.client.now_ms() + u64::from(timeout_ms)
    };
    // Bounded by the deadline.
    loop {
        let now = c.core().client.now_ms();
        if now >= deadline {
            return EMQ_ERR_TIMEOUT;
        }
        match next_event(c, deadline) {
            Ok(Some(event)) => {
                let lost = match event {
                    ClientEvent::ConnectionLost(reason) => Some(reason),
                    _ => None,
                };
                // An unreported overflow was logged; wait is about its id.
                let _ = dispatch(c, event);
                if let Some(reason) = lost {
                    if !reconnecting(c) {
                        return reason.into();
                    }
                }
                // The acknowledgement frees the id in the session.
                if !c.core().client.is_pending(packet_id) {
                    return flush_before_return(c, EMQ_OK);
                }
            }
            Ok(None) => {}
            Err(EMQ_ERR_NOT_CONNECTED) if reconnecting(c) => match reconnect_turn(c, &mut link) {
                Ok(Turn::Wait(ms)) => {
                    let left = deadline.saturating_sub(now).min(u64::from(ms));
                    std::thread::sleep(std::time::Duration::from_millis(left));
                }
                Ok(_) => {}
                Err(err) => return err,
            },
            Err(err) => return err,
        }
    }
}

/// True while automatic reconnect is on for this client.
fn reconnecting(c: &emq_client) -> bool {
    c.core().reconnect.active
}

/// What a disconnected, reconnecting client did in its turn.
enum Turn {
    /// Connected, or not reconnecting: carry on with events.
    Idle,
    /// Made an attempt, with this result.
    Attempted(emq_err),
    /// The next attempt is due in this many ms.
    Wait(u32),
}

/// When the client is disconnected and reconnecting automatically: makes
/// one attempt if the backoff allows, or says how long until the next.
/// The caller holds `link`.
fn reconnect_turn(c: &emq_client, link: &mut Link) -> Result<Turn, emq_err> {
    let target = {
        let mut core = c.core();
        if core.client.state() != State::Disconnected || !core.reconnect.active {
            return Ok(Turn::Idle);
        }
        let Some(target) = core.reconnect.target.clone() else {
            return Ok(Turn::Idle);
        };
        let now = core.client.now_ms();
        match core.reconnect.next_attempt_ms {
            Some(at) if at > now => {
                return Ok(Turn::Wait((at - now).min(u64::from(u32::MAX)) as u32))
            }
            _ => target,
        }
    };
    // Failures are logged, reported to on_connect when refused, and
    // schedule the next attempt.
    Ok(Turn::Attempted(connect_to(c, link, || Ok(target), false)))
}

/// Publishes `payload_len` bytes to `topic` at `qos` (0..2). Returns once the
/// packet is written (or queued in the outbox); `*packet_id` (may be NULL)
/// gets its id, 0 for QoS 0. QoS 0 calls `on_published` right away; QoS 1/2
/// when acknowledged. Any thread may publish at any time, also from
/// callbacks. While the network thread runs, a publish from another thread
/// that finds the outbox full waits up to `command_timeout_ms` for room
/// before it returns EMQ_ERR_STORE_FULL; elsewhere that error comes at once.
///
/// # Safety
/// `client` must be a live handle; `topic` NUL-terminated; `payload` valid
/// for `payload_len` bytes (NULL allowed when 0); `packet_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn emq_client_publish(
    client: *mut emq_client,
    topic: *const c_char,
    payload: *const u8,
    payload_len: usize,
    qos: u8,
    retain: bool,
    packet_id: *mut u16,
) -> emq_err {
    // SAFETY: NULL or writable per the contract (cleared first, so a
    // failure never leaves a stale id).
    unsafe { set_out(packet_id, 0) };
    // SAFETY: contract forwarded.
    let c = match unsafe { handle(client) } {
        Ok(c) => c,
        Err(err) => return err,
    };
    let mut id = 0;
    // Gathered under the same lock as the publish, so the common case
    // takes it once.
    let mut lost = None;
    let mut on_published = None;
    let mut persist = false;
    let result = with_room(c, |core| {
        let published = (|| {
            // SAFETY: valid per the contract.
            let topic = unsafe { str_arg(topic) }?;
            // SAFETY: valid per the contract.
            let payload = unsafe { bytes_arg(payload, payload_len) }?;
            id = core
                .client
                .publish(topic, payload, qos_arg(qos)?, retain)
                .map_err(emq_err::from)?;
            Ok(())
        })();
        lost = core.client.take_unreported_loss();
        on_published = core.callback(|cb| cb.on_published);
        persist = core.persistence.store.is_some();
        published
    });
    // SAFETY: NULL or writable per the contract.
    unsafe { set_out(packet_id, id) };
    let mut result = result;
    if result == EMQ_OK && id != 0 && persist {
        let saved = reconnect::persist_stored(c, id);
        if saved != EMQ_OK {
            c.core().log(
                emq_log_level::EMQ_LOG_ERROR,
                &format!("persistence: saving packet id {id} failed: {saved:?}"),
            );
            emit_logs(c);
            result = EMQ_ERR_PERSISTENCE;
        }
    }
    if let Some(reason) = lost {
        let _ = dispatch(c, ClientEvent::ConnectionLost(reason));
    }
    if result == EMQ_OK && id == 0 {
        if let Some((cb, user_data)) = on_published {
            // SAFETY: user callback with valid arguments.
            in_callback(c, || unsafe { cb(user_data, c.as_ptr(), 0) });
        }
    }
    result
}

/// Subscribes to one filter.
///
/// # Safety
/// `client` must be a live handle; `filter` NUL-terminated; `packet_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn emq_client_subscribe(
    client: *mut emq_client,
    filter: *const c_char,
    qos: u8,
    packet_id: *mut u16,
) -> emq_err {
    let one = emq_subscription { filter, qos };
    // SAFETY: contract forwarded; `one` is a valid one-element array.
    unsafe { emq_client_subscribe_many(client, &one, 1, packet_id) }
}

/// Subscribes to `count` filters in one SUBSCRIBE. The granted QoS arrive
/// in `on_subscribed`, in the same order.
///
/// # Safety
/// `client` must be a live handle; `subscriptions` valid for `count`
/// entries with NUL-terminated filters; `packet_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn emq_client_subscribe_many(
    client: *mut emq_client,
    subscriptions: *const emq_subscription,
    count: usize,
    packet_id: *mut u16,
) -> emq_err {
    // SAFETY: contract forwarded.
    unsafe { subscribe_with(client, subscriptions, count, None, packet_id) }
}

/// Subscribes to `filter` and routes matching messages to `handler` (with
/// its own `user_data`) instead of `on_message`. The first registered
/// handler whose filter matches wins. `emq_client_unsubscribe` of the same
/// filter removes the handler.
///
/// # Safety
/// As for `emq_client_subscribe`; `handler` must stay callable while subscribed.
#[no_mangle]
pub unsafe extern "C" fn emq_client_subscribe_handler(
    client: *mut emq_client,
    filter: *const c_char,
    qos: u8,
    handler: emq_message_handler,
    user_data: *mut c_void,
    packet_id: *mut u16,
) -> emq_err {
    if handler.is_none() {
        return EMQ_ERR_NULL_POINTER;
    }
    let one = emq_subscription { filter, qos };
    // SAFETY: contract forwarded; `one` is a valid one-element array.
    unsafe { subscribe_with(client, &one, 1, Some((handler, user_data)), packet_id) }
}

/// Most filters in one SUBSCRIBE or UNSUBSCRIBE call.
const MAX_FILTERS_PER_CALL: usize = 64;

/// # Safety
/// As for `emq_client_subscribe_many`.
unsafe fn subscribe_with(
    client: *mut emq_client,
    subscriptions: *const emq_subscription,
    count: usize,
    handler: Option<(emq_message_handler, *mut c_void)>,
    packet_id: *mut u16,
) -> emq_err {
    let mut id = 0;
    // SAFETY: contract forwarded.
    let c = match unsafe { handle(client) } {
        Ok(c) => c,
        Err(err) => return err,
    };
    let result = with_room(c, |c| {
        let mut storage = [NO_TOPIC; MAX_FILTERS_PER_CALL];
        // SAFETY: valid per the contract.
        let topics = unsafe { subscription_args(subscriptions, count, &mut storage) }?;
        id = c.client.subscribe(topics).map_err(emq_err::from)?;
        c.reconnect.subscribed(topics);
        if let Some((handler, user_data)) = handler {
            let filter = topics[0].filter.to_owned();
            c.handlers.retain(|h| h.filter != filter);
            c.handlers.push(FilterHandler {
                filter,
                handler,
                user_data,
            });
        }
        Ok(())
    });
    // SAFETY: NULL or writable per the contract.
    unsafe { set_out(packet_id, id) };
    report_if_lost(c);
    result
}

/// Unsubscribes from one filter (and drops its handler, if any).
///
/// # Safety
/// `client` must be a live handle; `filter` NUL-terminated; `packet_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn emq_client_unsubscribe(
    client: *mut emq_client,
    filter: *const c_char,
    packet_id: *mut u16,
) -> emq_err {
    // SAFETY: contract forwarded; a one-element array.
    unsafe { emq_client_unsubscribe_many(client, &filter, 1, packet_id) }
}

/// Unsubscribes from `count` filters in one UNSUBSCRIBE.
///
/// # Safety
/// `client` must be a live handle; `filters` valid for `count` NUL-terminated
/// strings; `packet_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn emq_client_unsubscribe_many(
    client: *mut emq_client,
    filters: *const *const c_char,
    count: usize,
    packet_id: *mut u16,
) -> emq_err {
    let mut id = 0;
    // SAFETY: contract forwarded.
    let c = match unsafe { handle(client) } {
        Ok(c) => c,
        Err(err) => return err,
    };
    let result = with_room(c, |c| {
        let mut storage = [""; MAX_FILTERS_PER_CALL];
        // SAFETY: valid per the contract.
        let list = unsafe { filter_args(filters, count, &mut storage) }?;
        id = c.client.unsubscribe(list).map_err(emq_err::from)?;
        c.reconnect.unsubscribed(list);
        c.handlers.retain(|h| !list.contains(&h.filter.as_str()));
        Ok(())
    });
    // SAFETY: NULL or writable per the contract.
    unsafe { set_out(packet_id, id) };
    report_if_lost(c);
    result
}

/// Reads the state of a handle from C; `otherwise` for NULL.
///
/// # Safety
/// `client` must be NULL or a live handle.
unsafe fn query<V>(
    client: *const emq_client,
    otherwise: V,
    read: impl FnOnce(&mut Core) -> V,
) -> V {
    // SAFETY: contract forwarded.
    match unsafe { handle(client) } {
        Ok(c) => read(&mut c.core()),
        Err(_) => otherwise,
    }
}

/// The connection state. NULL gives EMQ_STATE_DISCONNECTED.
///
/// # Safety
/// `client` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_state(client: *const emq_client) -> emq_state {
    // SAFETY: NULL or live per the contract.
    if unsafe { handle(client) }.is_ok_and(|c| c.connecting.load(Ordering::SeqCst)) {
        return emq_state::EMQ_STATE_CONNECTING;
    }
    // SAFETY: contract forwarded.
    unsafe {
        query(client, emq_state::EMQ_STATE_DISCONNECTED, |c| {
            match c.client.state() {
                State::Disconnected => emq_state::EMQ_STATE_DISCONNECTED,
                State::AwaitingConnAck => emq_state::EMQ_STATE_WAITING_CONNACK,
                State::Connected => emq_state::EMQ_STATE_CONNECTED,
                State::Disconnecting => emq_state::EMQ_STATE_DISCONNECTING,
            }
        })
    }
}

/// True when connected (CONNACK accepted and the link up).
///
/// # Safety
/// `client` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_is_connected(client: *const emq_client) -> bool {
    // SAFETY: forwarded.
    unsafe { emq_client_state(client) == emq_state::EMQ_STATE_CONNECTED }
}

/// The return code of the last CONNACK (0 accepted, 1..5 refused).
///
/// # Safety
/// `client` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_last_return_code(client: *const emq_client) -> u8 {
    // SAFETY: contract forwarded.
    unsafe { query(client, 0, |c| c.last_return_code) }
}

/// Outbound QoS 1/2 messages sent on this connection and not yet fully
/// acknowledged (at most `inflight_window`).
///
/// # Safety
/// `client` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_inflight(client: *const emq_client) -> u16 {
    // SAFETY: contract forwarded.
    unsafe { query(client, 0, |c| c.client.session().inflight()) }
}

/// Messages in the outbox: unacknowledged QoS 1/2 messages (in flight or
/// waiting for the window or a connection) and queued offline QoS 0
/// messages (at most `outbox_max_messages`).
///
/// # Safety
/// `client` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_queued(client: *const emq_client) -> u16 {
    // SAFETY: contract forwarded.
    unsafe { query(client, 0, |c| c.client.session().queued()) }
}
