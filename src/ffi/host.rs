//! The host implementation of the C API: heap-allocated handles, TCP and
//! TLS transports, automatic reconnect and the background network thread.
//!
//! Re-entrancy: no Rust reference to a client is alive while a callback
//! runs, so callbacks may call publish, subscribe, unsubscribe and
//! disconnect on the same client. Calls that read from the network (poll,
//! wait, connect) and free are refused there with `EMQ_ERR_IN_CALLBACK`.

mod reconnect;
mod tls;

pub use reconnect::emq_client_restore;
pub use tls::emq_client_tls_verify_result;

use super::*;
use crate::client::{Client, ClientEvent};
use crate::codec::{LastWill, ProtocolLevel, SubscribeTopic};
use crate::session::{ConnectOptions, HeapMemory, Session, SessionConfig, State};
use crate::transport::tcp::TcpOptions;
use crate::transport::{uri, HostTransport, StdClock};
use crate::{topic, Error};
use std::panic::{catch_unwind, AssertUnwindSafe};

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

/// An MQTT client. Opaque: create with `emq_client_new`, free with `emq_client_free`.
#[allow(non_camel_case_types)]
pub struct emq_client {
    client: HostClient,
    connect: OwnedConnect,
    tcp: TcpOptions,
    tls: tls::HostTls,
    reconnect: reconnect::Reconnect,
    persistence: emq_persistence,
    log_level: emq_log_level,
    /// Log lines waiting to go to `on_log` once no reference to the client
    /// is alive.
    logs: Vec<(emq_log_level, Vec<u8>)>,
    callbacks: emq_callbacks,
    user_data: *mut c_void,
    handlers: Vec<FilterHandler>,
    /// Nesting depth of callbacks currently running.
    in_callback: u32,
    connecting: bool,
    last_return_code: u8,
}

/// Runs `body`, turning a panic into EMQ_ERR_PANIC.
fn guard(body: impl FnOnce() -> Result<(), emq_err>) -> emq_err {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => EMQ_OK,
        Ok(Err(err)) => err,
        Err(_) => EMQ_ERR_PANIC,
    }
}

/// After a call that writes: if a failed write closed the connection, tell
/// `on_disconnect`, as poll would have.
///
/// # Safety
/// `client` must be NULL or a live handle with no Rust reference alive.
unsafe fn report_if_lost(client: *mut emq_client) {
    // SAFETY: NULL or live; the borrow ends before the callback.
    let Some(reason) = (unsafe { client.as_mut() }).and_then(|c| c.client.take_unreported_loss())
    else {
        return;
    };
    // SAFETY: live handle, no reference alive.
    unsafe { dispatch(client, ClientEvent::ConnectionLost(reason)) };
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
        let handle = Box::new(emq_client {
            client,
            connect,
            tcp: TcpOptions {
                connect_timeout_ms: o.command_timeout_ms,
                nodelay: o.tcp_nodelay,
            },
            tls: host_tls,
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
            in_callback: 0,
            connecting: false,
            last_return_code: 0,
        });
        let handle = Box::into_raw(handle);
        if let Some(load) = o.persistence.load {
            let mut loaded = EMQ_OK;
            // SAFETY: a live handle no Rust reference points to; the hook
            // may call emq_client_restore on it.
            unsafe { in_callback(handle, || loaded = load(o.persistence.user_data, handle)) };
            // SAFETY: live; lines logged while loading go out now.
            unsafe { emit_logs(handle) };
            if loaded != EMQ_OK {
                // SAFETY: from Box::into_raw above, freed once.
                drop(unsafe { Box::from_raw(handle) });
                return Err(loaded);
            }
        }
        // SAFETY: checked non-NULL above.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Seeds reconnect jitter differently per process and per client.
fn jitter_seed() -> u32 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::process::id()) as u32
}

/// Closes the connection (without DISCONNECT, so the broker publishes the
/// will) and frees the client. NULL is ignored. Refused inside a callback.
///
/// # Safety
/// `client` must be NULL or a handle from `emq_client_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn emq_client_free(client: *mut emq_client) -> emq_err {
    if client.is_null() {
        return EMQ_OK;
    }
    // SAFETY: a live handle per the contract; no other reference is alive
    // (callbacks are checked for just below).
    if unsafe { (*client).in_callback } > 0 {
        return EMQ_ERR_IN_CALLBACK;
    }
    guard(|| {
        // SAFETY: a live handle from Box::into_raw, freed exactly once here.
        let mut owned = unsafe { Box::from_raw(client) };
        owned.client.abort();
        Ok(())
    })
}

/// Sets the callbacks (copied) and the `user_data` passed to each.
/// `callbacks` may be NULL to remove them all.
///
/// # Safety
/// `client` must be a live handle; `callbacks` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn emq_client_set_callbacks(
    client: *mut emq_client,
    callbacks: *const emq_callbacks,
    user_data: *mut c_void,
) -> emq_err {
    // SAFETY: live handle or NULL per the contract.
    let Some(c) = (unsafe { client.as_mut() }) else {
        return EMQ_ERR_NULL_POINTER;
    };
    c.callbacks = if callbacks.is_null() {
        emq_callbacks::default()
    } else {
        // SAFETY: non-NULL and valid per the contract.
        unsafe { *callbacks }
    };
    c.user_data = user_data;
    EMQ_OK
}

/// Runs `body` on a live client handle inside `guard`.
///
/// # Safety
/// `client` must be NULL or a live handle. The reference handed to `body`
/// must not be held across a callback: callbacks go through `dispatch`.
unsafe fn with_client(
    client: *mut emq_client,
    body: impl FnOnce(&mut emq_client) -> Result<(), emq_err>,
) -> emq_err {
    if client.is_null() {
        return EMQ_ERR_NULL_POINTER;
    }
    let result = guard(|| {
        // SAFETY: non-NULL and live per the contract; the reference lives
        // only for `body`, which calls no C code.
        body(unsafe { &mut *client })
    });
    // SAFETY: live handle; the reference given to `body` has ended.
    unsafe { emit_logs(client) };
    result
}

impl emq_client {
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

    fn refuse_in_callback(&self) -> Result<(), emq_err> {
        if self.in_callback > 0 {
            Err(EMQ_ERR_IN_CALLBACK)
        } else {
            Ok(())
        }
    }
}

/// Hands queued log lines to `on_log`, with no reference to the client alive.
///
/// # Safety
/// `client` must be a live handle with no Rust reference alive.
unsafe fn emit_logs(client: *mut emq_client) {
    // SAFETY (all derefs): live handle; each access ends before the callback.
    let Some(on_log) = (unsafe { (*client).callbacks.on_log }) else {
        return;
    };
    let user_data = unsafe { (*client).user_data };
    // Bounded by the queue limit; lines logged by on_log itself are dropped.
    let logs = core::mem::take(unsafe { &mut (*client).logs });
    for (level, line) in &logs {
        // SAFETY: user callback; `line` is NUL-terminated and outlives the call.
        unsafe { in_callback(client, || on_log(user_data, *level, line.as_ptr().cast())) };
    }
}

/// Calls a C callback with the client marked as inside a callback.
///
/// # Safety
/// `client` must be a live handle, and no Rust reference to it may be alive.
unsafe fn in_callback(client: *mut emq_client, call: impl FnOnce()) {
    // SAFETY: live handle, no other reference alive (contract).
    unsafe { (*client).in_callback += 1 };
    call();
    // SAFETY: the callback may not free the client (refused), so it is live.
    unsafe { (*client).in_callback -= 1 };
}

/// Delivers one event to the callbacks. No Rust reference to the client is
/// held while C code runs.
///
/// # Safety
/// `client` must be a live handle with no Rust reference alive.
unsafe fn dispatch(client: *mut emq_client, event: ClientEvent) {
    // SAFETY (every `(*client)` read below): live handle, and each read is
    // a copy that ends before any callback is entered.
    let user_data = unsafe { (*client).user_data };
    let callbacks = unsafe { (*client).callbacks };
    match event {
        ClientEvent::Message {
            topic,
            payload,
            qos,
            retain,
            dup,
            packet_id,
        } => {
            let (topic_bytes, payload_ptr) = unsafe {
                let c = &*client;
                (c.client.bytes(topic), c.client.bytes(payload).as_ptr())
            };
            let message = emq_message {
                topic: topic_bytes.as_ptr().cast(),
                topic_len: topic.len,
                payload: payload_ptr,
                payload_len: payload.len,
                qos: qos as u8,
                retain,
                dup,
                packet_id,
            };
            // The topic is checked as UTF-8 only when a handler needs it.
            let handlers = unsafe { &(*client).handlers };
            let matched = if handlers.is_empty() {
                None
            } else {
                core::str::from_utf8(topic_bytes)
                    .ok()
                    .and_then(|t| handlers.iter().find(|h| topic::matches(&h.filter, t)))
            };
            let (handler, handler_data) = matched.map_or((callbacks.on_message, user_data), |h| {
                (h.handler, h.user_data)
            });
            if let Some(handler) = handler {
                // SAFETY: user callback; `message` points into the receive
                // buffer, which nothing but poll/wait/connect (refused in
                // callbacks) writes to.
                unsafe { in_callback(client, || handler(handler_data, client, &message)) };
            }
        }
        ClientEvent::Published { packet_id } => {
            // SAFETY: live handle, no reference alive.
            unsafe { reconnect::persist_removed(client, packet_id) };
            if let Some(cb) = callbacks.on_published {
                // SAFETY: user callback with valid arguments.
                unsafe { in_callback(client, || cb(user_data, client, packet_id)) };
            }
        }
        ClientEvent::Subscribed {
            packet_id,
            return_codes,
        } => {
            let codes = unsafe { (*client).client.bytes(return_codes).as_ptr() };
            if let Some(cb) = callbacks.on_subscribed {
                // SAFETY: user callback; `codes` valid for `len` bytes, as above.
                unsafe {
                    in_callback(client, || {
                        cb(user_data, client, packet_id, codes, return_codes.len)
                    })
                };
            }
        }
        ClientEvent::Unsubscribed { packet_id } => {
            if let Some(cb) = callbacks.on_unsubscribed {
                // SAFETY: user callback with valid arguments.
                unsafe { in_callback(client, || cb(user_data, client, packet_id)) };
            }
        }
        ClientEvent::ConnectionLost(reason) => {
            let code = emq_err::from(reason);
            // SAFETY: live handle; this reference ends before any callback.
            unsafe {
                let c = &mut *client;
                c.log(
                    emq_log_level::EMQ_LOG_ERROR,
                    &format!("connection lost: {reason}"),
                );
                let now = c.client.now_ms();
                if let Some(delay) = c.reconnect.schedule(now, None) {
                    c.log(
                        emq_log_level::EMQ_LOG_INFO,
                        &format!("reconnecting in {delay} ms"),
                    );
                }
                emit_logs(client);
            };
            if let Some(cb) = callbacks.on_disconnect {
                // SAFETY: user callback with valid arguments.
                unsafe { in_callback(client, || cb(user_data, client, code)) };
            }
        }
    }
}

/// Connects to `host` (name, IPv4 or IPv6 address) on `port` (1883 for
/// plain MQTT, 8883 for MQTT over TLS) and waits for CONNACK, at most
/// `command_timeout_ms`. TLS is used when `emq_options.tls` was set or the
/// port is 8883. Calls `on_connect` with the return code; a refusal returns
/// EMQ_ERR_CONNECTION_REFUSED.
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
        connect_to(
            client,
            || {
                // SAFETY: NUL-terminated per the contract.
                let host = str_arg(host)?;
                if port == 0 {
                    return Err(EMQ_ERR_INVALID_ARGUMENT);
                }
                Ok((host.to_owned(), port, None))
            },
            true,
        )
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
        connect_to(
            client,
            || {
                // SAFETY: NUL-terminated per the contract.
                let parsed = uri::parse(str_arg(uri)?)?;
                Ok((parsed.host.to_owned(), parsed.port, Some(parsed.tls)))
            },
            true,
        )
    }
}

use reconnect::ConnectTarget;

/// Connects to the broker `target` names, and reports to `on_connect`.
/// `requested`: the application asked (not an automatic reconnect).
///
/// # Safety
/// `client` must be NULL or a live handle.
unsafe fn connect_to(
    client: *mut emq_client,
    target: impl FnOnce() -> Result<ConnectTarget, emq_err>,
    requested: bool,
) -> emq_err {
    let mut report = None;
    // SAFETY: contract forwarded.
    let result = unsafe {
        with_client(client, |c| {
            c.refuse_in_callback()?;
            let (host, port, scheme_tls) = target()?;
            if c.client.state() != State::Disconnected {
                return Err(EMQ_ERR_ALREADY_CONNECTED);
            }
            if requested {
                c.reconnect.requested((host.clone(), port, scheme_tls));
            }
            let result = c.connect_once(&host, port, scheme_tls, &mut report);
            match result {
                Ok(session_present) => {
                    c.reconnect.connected();
                    if !session_present {
                        c.resubscribe();
                    }
                }
                Err(_) => {
                    let refused = report.map(|(_, code)| code);
                    let now = c.client.now_ms();
                    if let Some(delay) = c.reconnect.schedule(now, refused) {
                        c.reconnect.failures += 1;
                        c.log(
                            emq_log_level::EMQ_LOG_WARNING,
                            &format!(
                                "reconnecting in {delay} ms (attempt {} failed)",
                                c.reconnect.failures
                            ),
                        );
                    }
                }
            }
            result.map(|_| ())
        })
    };
    if let Some((session_present, code)) = report {
        // SAFETY: live handle (checked by with_client), no reference alive.
        let (cb, user_data) = unsafe { ((*client).callbacks.on_connect, (*client).user_data) };
        if let Some(cb) = cb {
            // SAFETY: user callback with valid arguments.
            unsafe { in_callback(client, || cb(user_data, client, session_present, code)) };
        }
    }
    // SAFETY: NULL or live; no reference alive.
    unsafe { report_if_lost(client) };
    result
}

impl emq_client {
    /// One attempt: TCP (and TLS), CONNECT, CONNACK. `report` gets what
    /// `on_connect` must hear. Returns session present.
    fn connect_once(
        &mut self,
        host: &str,
        port: u16,
        scheme_tls: Option<bool>,
        report: &mut Option<(bool, u8)>,
    ) -> Result<bool, emq_err> {
        let c = self;
        {
            c.log(
                emq_log_level::EMQ_LOG_INFO,
                &format!("connecting to {host}:{port}"),
            );
            let tls = c.tls.wanted(port, scheme_tls);
            c.connecting = true;
            let transport = c.tls.open(host, port, tls, &c.tcp);
            c.connecting = false;
            let transport = transport.map_err(|err| {
                c.log(
                    emq_log_level::EMQ_LOG_ERROR,
                    &format!("connect to {host}:{port}: {err}"),
                );
                emq_err::from(err)
            })?;
            let will = c
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
                client_id: &c.connect.client_id,
                username: c.connect.username.as_deref(),
                password: c.connect.password.as_deref(),
                keep_alive_secs: c.connect.keepalive_secs,
                clean_session: c.connect.clean_session,
                protocol: c.connect.protocol,
                will,
            };
            match c.client.connect(transport, &options) {
                Ok(connected) => {
                    c.last_return_code = 0;
                    if let Some(warning) = c.tls.warning() {
                        c.log(emq_log_level::EMQ_LOG_WARNING, &warning);
                    }
                    c.log(emq_log_level::EMQ_LOG_INFO, "connected");
                    *report = Some((connected.session_present, 0));
                    Ok(connected.session_present)
                }
                Err(Error::ConnectionRefused(code)) => {
                    c.last_return_code = code;
                    c.log(
                        emq_log_level::EMQ_LOG_ERROR,
                        &format!("connection refused, return code {code}"),
                    );
                    *report = Some((false, code));
                    Err(EMQ_ERR_CONNECTION_REFUSED)
                }
                Err(err) => {
                    c.log(
                        emq_log_level::EMQ_LOG_ERROR,
                        &format!("connect failed: {err}"),
                    );
                    Err(err.into())
                }
            }
        }
    }

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
/// (or the error if DISCONNECT could not be written).
/// Allowed inside callbacks.
///
/// # Safety
/// `client` must be a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_disconnect(client: *mut emq_client) -> emq_err {
    // SAFETY: contract forwarded.
    let result = unsafe {
        with_client(client, |c| {
            // An explicit disconnect ends automatic reconnecting.
            c.reconnect.stop();
            c.client.disconnect().map_err(emq_err::from)
        })
    };
    if result != EMQ_ERR_NULL_POINTER && result != EMQ_ERR_NOT_CONNECTED {
        // SAFETY: live handle, no reference alive.
        let (cb, user_data) = unsafe { ((*client).callbacks.on_disconnect, (*client).user_data) };
        if let Some(cb) = cb {
            // SAFETY: user callback with valid arguments.
            unsafe { in_callback(client, || cb(user_data, client, result)) };
        }
    }
    result
}

/// Writes acknowledgements still queued, so none is left behind when control
/// returns to the caller (who may sleep or free the client next).
///
/// # Safety
/// `client` must be a live handle with no Rust reference alive.
unsafe fn flush_before_return(client: *mut emq_client, result: emq_err) -> emq_err {
    // SAFETY: contract forwarded.
    let flushed = unsafe { with_client(client, |c| c.client.flush().map_err(emq_err::from)) };
    // SAFETY: as above.
    unsafe { report_if_lost(client) };
    if result == EMQ_OK {
        flushed
    } else {
        result
    }
}

/// Polls once more for an event; returns the event or Ok(None) after `timeout_ms`.
///
/// # Safety
/// `client` must be a live handle with no reference alive.
unsafe fn next_event(
    client: *mut emq_client,
    timeout_ms: u32,
) -> Result<Option<ClientEvent>, emq_err> {
    let mut event = None;
    // SAFETY: contract forwarded.
    let result = unsafe {
        with_client(client, |c| {
            c.refuse_in_callback()?;
            event = c.client.poll_event(timeout_ms).map_err(emq_err::from)?;
            Ok(())
        })
    };
    if result == EMQ_OK {
        Ok(event)
    } else {
        Err(result)
    }
}

/// One turn of a caller-driven loop, like Paho's MQTTYield: writes pending
/// output, sends keepalive pings, and dispatches every event that arrives,
/// waiting up to `timeout_ms` for the first. Returns EMQ_OK, or the reason
/// the connection was lost (after `on_disconnect`), or EMQ_ERR_NOT_CONNECTED.
/// With `auto_reconnect`, a lost connection returns EMQ_OK (the reason goes
/// to `on_disconnect`) and, while disconnected, poll makes the next
/// reconnect attempt when its backoff has passed, or waits for it.
///
/// # Safety
/// `client` must be a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_poll(client: *mut emq_client, timeout_ms: u32) -> emq_err {
    // SAFETY: contract forwarded.
    if let Some(result) = unsafe { reconnect_turn(client, timeout_ms) } {
        return result;
    }
    let mut wait = timeout_ms;
    // Bounded: each turn either handles an event or ends the loop; the
    // event count bounds a flood so poll returns to its caller.
    for _ in 0..10_000 {
        // SAFETY: contract forwarded.
        match unsafe { next_event(client, wait) } {
            Ok(Some(event)) => {
                let lost = match event {
                    ClientEvent::ConnectionLost(reason) => Some(reason),
                    _ => None,
                };
                // SAFETY: live handle, no reference alive.
                unsafe { dispatch(client, event) };
                if let Some(reason) = lost {
                    // SAFETY: live handle.
                    return if unsafe { reconnecting(client) } {
                        EMQ_OK
                    } else {
                        reason.into()
                    };
                }
                // After the first event, take only what is already there.
                wait = 0;
            }
            // SAFETY: live handle, no reference alive.
            Ok(None) => return unsafe { flush_before_return(client, EMQ_OK) },
            Err(err) => return err,
        }
    }
    // SAFETY: live handle, no reference alive.
    unsafe { flush_before_return(client, EMQ_OK) }
}

/// Polls (dispatching callbacks) until the acknowledgement for `packet_id`
/// arrives: PUBACK/PUBCOMP, SUBACK or UNSUBACK. Returns EMQ_OK at once when
/// nothing with that id is pending (its acknowledgement already arrived),
/// EMQ_ERR_TIMEOUT after `timeout_ms`.
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
    let mut pending = false;
    // SAFETY: contract forwarded for all accesses below.
    let start = match unsafe {
        with_client(client, |c| {
            c.refuse_in_callback()?;
            pending = c.client.is_pending(packet_id);
            Ok(())
        })
    } {
        EMQ_OK if !pending => return EMQ_OK,
        EMQ_OK => unsafe { (*client).client.now_ms() },
        err => return err,
    };
    let deadline = start + u64::from(timeout_ms);
    loop {
        let now = unsafe { (*client).client.now_ms() };
        if now >= deadline {
            return EMQ_ERR_TIMEOUT;
        }
        let wait = (deadline - now).min(u64::from(u32::MAX)) as u32;
        match unsafe { next_event(client, wait) } {
            Ok(Some(event)) => {
                let lost = match event {
                    ClientEvent::ConnectionLost(reason) => Some(reason),
                    _ => None,
                };
                unsafe { dispatch(client, event) };
                if let Some(reason) = lost {
                    if !unsafe { reconnecting(client) } {
                        return reason.into();
                    }
                }
                // The acknowledgement frees the id in the session.
                if !unsafe { (*client).client.is_pending(packet_id) } {
                    return unsafe { flush_before_return(client, EMQ_OK) };
                }
            }
            Ok(None) => {}
            Err(EMQ_ERR_NOT_CONNECTED) if unsafe { reconnecting(client) } => {
                if let Some(err) = unsafe { reconnect_turn(client, wait) }.filter(|e| *e != EMQ_OK)
                {
                    return err;
                }
            }
            Err(err) => return err,
        }
    }
}

/// True while automatic reconnect is on for this client.
///
/// # Safety
/// `client` must be a live handle with no Rust reference alive.
unsafe fn reconnecting(client: *mut emq_client) -> bool {
    // SAFETY: live handle; a copy.
    unsafe { (*client).reconnect.active }
}

/// When the client is disconnected and reconnecting automatically: makes
/// one attempt if the backoff allows, else waits (at most `wait_ms`) for
/// the next one. `None`: not reconnecting; poll as usual.
///
/// # Safety
/// `client` must be NULL or a live handle with no Rust reference alive.
unsafe fn reconnect_turn(client: *mut emq_client, wait_ms: u32) -> Option<emq_err> {
    let mut turn = None;
    // SAFETY: contract forwarded.
    let checked = unsafe {
        with_client(client, |c| {
            c.refuse_in_callback()?;
            if c.client.state() != State::Disconnected || !c.reconnect.active {
                return Ok(());
            }
            let Some(target) = c.reconnect.target.clone() else {
                return Ok(());
            };
            let now = c.client.now_ms();
            turn = Some(match c.reconnect.next_attempt_ms {
                Some(at) if at > now => Err((at - now).min(u64::from(wait_ms))),
                _ => Ok(target),
            });
            Ok(())
        })
    };
    if checked != EMQ_OK {
        return Some(checked);
    }
    match turn? {
        Ok(target) => {
            // Failures are logged, reported to on_connect when refused, and
            // schedule the next attempt.
            // SAFETY: contract forwarded.
            let _ = unsafe { connect_to(client, || Ok(target), false) };
        }
        Err(wait) => std::thread::sleep(std::time::Duration::from_millis(wait)),
    }
    Some(EMQ_OK)
}

/// Publishes `payload_len` bytes to `topic` at `qos` (0..2). Returns once the
/// packet is written; `*packet_id` (may be NULL) gets its id, 0 for QoS 0.
/// QoS 0 calls `on_published` right away; QoS 1/2 when acknowledged, during
/// poll or wait.
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
    let mut id = 0;
    // SAFETY: contract forwarded.
    let result = unsafe {
        with_client(client, |c| {
            let topic = str_arg(topic)?;
            let payload = bytes_arg(payload, payload_len)?;
            let qos = qos_arg(qos)?;
            id = c
                .client
                .publish(topic, payload, qos, retain)
                .map_err(emq_err::from)?;
            Ok(())
        })
    };
    // SAFETY: NULL or writable per the contract.
    unsafe { set_out(packet_id, id) };
    let mut result = result;
    if result == EMQ_OK && id != 0 {
        // SAFETY: live handle (the call succeeded), no reference alive.
        let saved = unsafe { reconnect::persist_stored(client, id) };
        if saved != EMQ_OK {
            // SAFETY: live handle, no reference alive.
            unsafe {
                (*client).log(
                    emq_log_level::EMQ_LOG_ERROR,
                    &format!("persistence: saving packet id {id} failed: {saved:?}"),
                );
                emit_logs(client);
            }
            result = EMQ_ERR_PERSISTENCE;
        }
    }
    // SAFETY: NULL or live; no reference alive.
    unsafe { report_if_lost(client) };
    if result == EMQ_OK && id == 0 {
        // SAFETY: live handle, no reference alive.
        let (cb, user_data) = unsafe { ((*client).callbacks.on_published, (*client).user_data) };
        if let Some(cb) = cb {
            // SAFETY: user callback with valid arguments.
            unsafe { in_callback(client, || cb(user_data, client, 0)) };
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
    let result = unsafe {
        with_client(client, |c| {
            if count == 0 || count > MAX_FILTERS_PER_CALL {
                return Err(if count == 0 {
                    EMQ_ERR_NO_TOPIC_FILTERS
                } else {
                    EMQ_ERR_INVALID_ARGUMENT
                });
            }
            if subscriptions.is_null() {
                return Err(EMQ_ERR_NULL_POINTER);
            }
            // SAFETY: non-NULL, `count` entries per the contract.
            let entries = core::slice::from_raw_parts(subscriptions, count);
            let mut topics = [SubscribeTopic {
                filter: "",
                qos: QoS::AtMostOnce,
            }; MAX_FILTERS_PER_CALL];
            for (slot, entry) in topics.iter_mut().zip(entries) {
                *slot = SubscribeTopic {
                    filter: str_arg(entry.filter)?,
                    qos: qos_arg(entry.qos)?,
                };
            }
            id = c
                .client
                .subscribe(&topics[..count])
                .map_err(emq_err::from)?;
            c.reconnect.subscribed(&topics[..count]);
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
        })
    };
    // SAFETY: NULL or writable per the contract.
    unsafe { set_out(packet_id, id) };
    // SAFETY: NULL or live; no reference alive.
    unsafe { report_if_lost(client) };
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
    let result = unsafe {
        with_client(client, |c| {
            if count == 0 {
                return Err(EMQ_ERR_NO_TOPIC_FILTERS);
            }
            if count > MAX_FILTERS_PER_CALL {
                return Err(EMQ_ERR_INVALID_ARGUMENT);
            }
            if filters.is_null() {
                return Err(EMQ_ERR_NULL_POINTER);
            }
            // SAFETY: non-NULL, `count` entries per the contract.
            let entries = core::slice::from_raw_parts(filters, count);
            let mut list = [""; MAX_FILTERS_PER_CALL];
            for (slot, &entry) in list.iter_mut().zip(entries) {
                *slot = str_arg(entry)?;
            }
            let list = &list[..count];
            id = c.client.unsubscribe(list).map_err(emq_err::from)?;
            c.reconnect.unsubscribed(list);
            c.handlers.retain(|h| !list.contains(&h.filter.as_str()));
            Ok(())
        })
    };
    // SAFETY: NULL or writable per the contract.
    unsafe { set_out(packet_id, id) };
    // SAFETY: NULL or live; no reference alive.
    unsafe { report_if_lost(client) };
    result
}

/// The connection state. NULL gives EMQ_STATE_DISCONNECTED.
///
/// # Safety
/// `client` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_state(client: *const emq_client) -> emq_state {
    // SAFETY: NULL or live per the contract.
    let Some(c) = (unsafe { client.as_ref() }) else {
        return emq_state::EMQ_STATE_DISCONNECTED;
    };
    if c.connecting {
        return emq_state::EMQ_STATE_CONNECTING;
    }
    match c.client.state() {
        State::Disconnected => emq_state::EMQ_STATE_DISCONNECTED,
        State::AwaitingConnAck => emq_state::EMQ_STATE_WAITING_CONNACK,
        State::Connected => emq_state::EMQ_STATE_CONNECTED,
        State::Disconnecting => emq_state::EMQ_STATE_DISCONNECTING,
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
    // SAFETY: NULL or live per the contract.
    unsafe { client.as_ref() }.map_or(0, |c| c.last_return_code)
}

/// Outbound QoS 1/2 messages sent on this connection and not yet fully
/// acknowledged (at most `inflight_window`).
///
/// # Safety
/// `client` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_inflight(client: *const emq_client) -> u16 {
    // SAFETY: NULL or live per the contract.
    unsafe { client.as_ref() }.map_or(0, |c| c.client.session().inflight())
}

/// Messages in the outbox: unacknowledged QoS 1/2 messages (in flight or
/// waiting for the window or a connection) and queued offline QoS 0
/// messages (at most `outbox_max_messages`).
///
/// # Safety
/// `client` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_queued(client: *const emq_client) -> u16 {
    // SAFETY: NULL or live per the contract.
    unsafe { client.as_ref() }.map_or(0, |c| c.client.session().queued())
}
