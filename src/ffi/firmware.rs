//! The firmware implementation of the C API (no_std, no allocator): the
//! client lives in storage the firmware provides, with caller-supplied
//! receive, send and store buffers, and moves bytes through C transport
//! callbacks timed by a C millisecond clock (as Paho embedded-C's
//! `MQTTClientInit` with its `Network` and `Timer`).
//!
//! The minimal client keeps, beside the caller's buffers: two packet-id
//! slots (one QoS 1/2 publish in flight, with its copy in the store for a
//! resend, plus one pending SUBSCRIBE or UNSUBSCRIBE), and the ids of up to
//! eight inbound QoS 2 messages awaiting PUBREL. There is no automatic
//! reconnect, no persistence, no TLS and no logging: the firmware owns
//! those (its TLS stack can sit under the transport callbacks).
//!
//! Re-entrancy is as on hosts: no Rust reference to a client is alive while
//! a callback runs, so callbacks may publish, subscribe, unsubscribe and
//! disconnect; poll, wait, connect and deinit are refused there with
//! `EMQ_ERR_IN_CALLBACK`.

use super::*;
use crate::client::{Client, ClientEvent, Span};
use crate::codec::{LastWill, ProtocolLevel};
use crate::session::{ConnectOptions, Memory, Parts, Session, SessionConfig, Slot, State};
use crate::topic;
pub use crate::transport::callbacks::{
    emq_clock_ms, emq_transport, emq_transport_close, emq_transport_connect, emq_transport_recv,
    emq_transport_send,
};
use crate::transport::callbacks::{CallbackClock, CallbackTransport};
use core::ptr::{addr_of_mut, NonNull};

/// Packet-id slots: one outbound QoS 1/2 publish in flight and one pending
/// SUBSCRIBE/UNSUBSCRIBE (or a second publish waiting for the window).
const PACKET_ID_SLOTS: usize = 2;
/// Inbound QoS 2 messages delivered and awaiting PUBREL at once.
const INBOUND_QOS2_IDS: usize = 8;
/// Most filters in one SUBSCRIBE or UNSUBSCRIBE call (they are gathered on
/// the stack).
const MAX_FILTERS_PER_CALL: usize = 8;

/// Bytes of storage `emq_client_init` needs on 32-bit targets (Cortex-M,
/// RISC-V); `EMQ_CLIENT_STORAGE_SIZE` in the header.
pub const STORAGE_SIZE_32: usize = 320;
/// Bytes of storage `emq_client_init` needs on 64-bit hosts.
pub const STORAGE_SIZE_64: usize = 512;
/// Alignment of that storage; `EMQ_CLIENT_STORAGE_ALIGN` in the header.
pub const STORAGE_ALIGN: usize = 8;

#[cfg(target_pointer_width = "32")]
const STORAGE_SIZE: usize = STORAGE_SIZE_32;
#[cfg(not(target_pointer_width = "32"))]
const STORAGE_SIZE: usize = STORAGE_SIZE_64;

// The header's constants must match the client exactly: a failed build here
// means cbindgen.toml's EMQ_CLIENT_STORAGE_* lines and these constants need updating.
const _: () = assert!(core::mem::size_of::<emq_client>() == STORAGE_SIZE);
const _: () = assert!(core::mem::align_of::<emq_client>() == STORAGE_ALIGN);

/// A caller's buffer. Valid for the client's life by `emq_client_init`'s
/// contract.
#[derive(Debug, Clone, Copy)]
struct RawBuffer {
    ptr: NonNull<u8>,
    len: usize,
}

impl RawBuffer {
    fn new(ptr: *mut u8, len: usize) -> Self {
        match NonNull::new(ptr) {
            Some(ptr) if len > 0 => RawBuffer { ptr, len },
            _ => RawBuffer {
                ptr: NonNull::dangling(),
                len: 0,
            },
        }
    }

    fn range(&self) -> (usize, usize) {
        let start = self.ptr.as_ptr() as usize;
        (start, start + self.len)
    }
}

impl AsRef<[u8]> for RawBuffer {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: valid for `len` bytes and used only by this client
        // (contract of `emq_client_init`); dangling only when empty.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl AsMut<[u8]> for RawBuffer {
    fn as_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `as_ref`; `&mut self` makes the borrow unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

/// Session memory: the small tables inline, the byte buffers the caller's.
struct FirmwareMemory {
    slots: [Slot; PACKET_ID_SLOTS],
    inbound_qos2: [u16; INBOUND_QOS2_IDS],
    store: RawBuffer,
    tx: RawBuffer,
}

impl Memory for FirmwareMemory {
    fn parts(&mut self) -> Parts<'_> {
        Parts {
            slots: &mut self.slots,
            store: self.store.as_mut(),
            inbound_qos2: &mut self.inbound_qos2,
            tx: self.tx.as_mut(),
        }
    }

    fn tx(&self) -> &[u8] {
        self.tx.as_ref()
    }
}

type FirmwareClient = Client<FirmwareMemory, CallbackTransport, CallbackClock, RawBuffer>;

/// The buffers a firmware client works in, owned by the caller and lent for
/// the client's life (until `emq_client_deinit`). They must not overlap
/// each other or the client's storage.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emq_buffers {
    /// Receive buffer: bounds the largest packet that can be received
    /// (topic + payload + a few bytes). At least 64 bytes.
    pub rx: *mut u8,
    /// Length of `rx`.
    pub rx_size: usize,
    /// Send buffer: bounds the largest packet that can be sent. At least 64
    /// bytes.
    pub tx: *mut u8,
    /// Length of `tx`.
    pub tx_size: usize,
    /// Store for copies of unacknowledged QoS 1/2 publishes (resent after a
    /// reconnect): each takes its encoded size plus 8 bytes. NULL with 0:
    /// QoS 1/2 publishes fail with EMQ_ERR_PACKET_TOO_LARGE.
    pub store: *mut u8,
    /// Length of `store`.
    pub store_size: usize,
}

/// An MQTT client in storage the firmware provides (see
/// `EMQ_CLIENT_STORAGE_SIZE`). Initialize with `emq_client_init`.
#[allow(non_camel_case_types)]
pub struct emq_client {
    client: FirmwareClient,
    transport: CallbackTransport,
    /// Borrowed from the caller's options (valid for the client's life).
    connect: ConnectOptions<'static>,
    callbacks: emq_callbacks,
    user_data: *mut c_void,
    /// Nesting depth of callbacks currently running.
    in_callback: u16,
    last_return_code: u8,
}

/// Bytes of storage `emq_client_init` needs here; equal to the header's
/// `EMQ_CLIENT_STORAGE_SIZE` for this target (a check for build setups).
#[no_mangle]
pub extern "C" fn emq_client_storage_size() -> usize {
    STORAGE_SIZE
}

/// Alignment `emq_client_init` needs for its storage; equal to the header's
/// `EMQ_CLIENT_STORAGE_ALIGN`.
#[no_mangle]
pub extern "C" fn emq_client_storage_align() -> usize {
    STORAGE_ALIGN
}

/// Validates the options; the strings are borrowed for the client's life.
///
/// # Safety
/// Every pointer in `o` must be NULL or valid as documented on
/// `emq_options`, and stay so for the client's life.
unsafe fn read_options(
    o: &emq_options,
) -> Result<(ConnectOptions<'static>, SessionConfig), emq_err> {
    // SAFETY (all calls below): the pointers come from `o`, valid per contract.
    let client_id = unsafe { opt_str_arg(o.client_id) }?.unwrap_or("");
    let username = unsafe { opt_str_arg(o.username) }?;
    let password = if o.password.is_null() && o.password_len == 0 {
        None
    } else {
        Some(unsafe { bytes_arg(o.password, o.password_len) }?)
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
            Some(LastWill {
                topic: will_topic,
                payload,
                qos: qos_arg(o.will_qos)?,
                retain: o.will_retain,
            })
        }
    };
    if !o.tls.is_null() {
        return Err(EMQ_ERR_TLS_UNAVAILABLE);
    }
    let persistence = o.persistence;
    if o.auto_reconnect
        || persistence.store.is_some()
        || persistence.remove.is_some()
        || persistence.load.is_some()
    {
        return Err(EMQ_ERR_UNSUPPORTED);
    }
    if o.inflight_window == 0
        || o.command_timeout_ms == 0
        || o.outbox_max_messages == 0
        || log_level_of(o.log_level).is_none()
    {
        return Err(EMQ_ERR_INVALID_ARGUMENT);
    }
    let connect = ConnectOptions {
        client_id,
        username,
        password,
        keep_alive_secs: o.keepalive_secs,
        clean_session: o.clean_session,
        protocol,
        will,
    };
    let config = SessionConfig {
        inflight_window: o.inflight_window.min(PACKET_ID_SLOTS as u16),
        ping_timeout_ms: None,
        outbox_limit: o.outbox_max_messages,
        queue_offline: o.queue_offline,
        queue_qos0_offline: o.queue_qos0_offline,
    };
    Ok((connect, config))
}

/// Checks one caller buffer: NULL only when empty, within the size limits.
fn buffer_arg(ptr: *mut u8, len: usize, min: usize) -> Result<RawBuffer, emq_err> {
    if ptr.is_null() && len > 0 {
        return Err(EMQ_ERR_NULL_POINTER);
    }
    if len < min {
        return Err(if ptr.is_null() {
            EMQ_ERR_NULL_POINTER
        } else {
            EMQ_ERR_BUFFER_TOO_SMALL
        });
    }
    // Store offsets are 32-bit and no packet exceeds MAX_BUFFER.
    if len > MAX_BUFFER || (ptr as usize).checked_add(len).is_none() {
        return Err(EMQ_ERR_INVALID_ARGUMENT);
    }
    Ok(RawBuffer::new(ptr, len))
}

fn overlap(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Initializes a disconnected client in `storage` (at least
/// `EMQ_CLIENT_STORAGE_SIZE` bytes aligned to `EMQ_CLIENT_STORAGE_ALIGN`,
/// e.g. a `static`), and sets `*out` to it. Nothing is allocated.
///
/// From `options` (start from `emq_options_default`) the client uses the
/// identity, credentials, will, keepalive, clean session, protocol level,
/// `command_timeout_ms`, `inflight_window` (at most 2 here),
/// `outbox_max_messages` and the offline queueing flags; their strings and
/// bytes are borrowed, not copied, and must stay valid until
/// `emq_client_deinit`. The buffer sizes come from `buffers`. `tls`,
/// `auto_reconnect` and `persistence` are host features:
/// EMQ_ERR_TLS_UNAVAILABLE / EMQ_ERR_UNSUPPORTED.
///
/// Errors: EMQ_ERR_NULL_POINTER (storage, options, transport, its
/// send/recv, clock, buffers, rx, tx or out missing),
/// EMQ_ERR_BUFFER_TOO_SMALL (storage or a buffer too small),
/// EMQ_ERR_MISALIGNED (storage), EMQ_ERR_INVALID_ARGUMENT (overlapping
/// memory, bad option values).
///
/// # Safety
/// `storage` must be NULL or writable for `storage_size` bytes; `options`
/// NULL or valid, its strings until `emq_client_deinit`; `transport` NULL
/// or valid, and it and the buffers must stay valid and unused by others
/// until `emq_client_deinit`; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn emq_client_init(
    storage: *mut c_void,
    storage_size: usize,
    options: *const emq_options,
    transport: *const emq_transport,
    clock: emq_clock_ms,
    buffers: *const emq_buffers,
    out: *mut *mut emq_client,
) -> emq_err {
    // SAFETY: contract forwarded.
    match unsafe { init(storage, storage_size, options, transport, clock, buffers) } {
        Ok(client) => {
            if out.is_null() {
                return EMQ_ERR_NULL_POINTER;
            }
            // SAFETY: non-NULL and writable per the contract.
            unsafe { out.write(client) };
            EMQ_OK
        }
        Err(err) => {
            // SAFETY: NULL or writable per the contract.
            unsafe { set_out(out, core::ptr::null_mut()) };
            err
        }
    }
}

/// # Safety
/// As for `emq_client_init`.
unsafe fn init(
    storage: *mut c_void,
    storage_size: usize,
    options: *const emq_options,
    transport: *const emq_transport,
    clock: emq_clock_ms,
    buffers: *const emq_buffers,
) -> Result<*mut emq_client, emq_err> {
    if storage.is_null() {
        return Err(EMQ_ERR_NULL_POINTER);
    }
    if storage_size < core::mem::size_of::<emq_client>() {
        return Err(EMQ_ERR_BUFFER_TOO_SMALL);
    }
    if storage as usize % core::mem::align_of::<emq_client>() != 0 {
        return Err(EMQ_ERR_MISALIGNED);
    }
    let transport = NonNull::new(transport.cast_mut()).ok_or(EMQ_ERR_NULL_POINTER)?;
    // SAFETY: valid for the client's life per the contract.
    let transport =
        unsafe { CallbackTransport::new(transport) }.map_err(|_| EMQ_ERR_NULL_POINTER)?;
    let clock = CallbackClock::new(clock.ok_or(EMQ_ERR_NULL_POINTER)?);
    // SAFETY: NULL or valid per the contract.
    let b = unsafe { buffers.as_ref() }.ok_or(EMQ_ERR_NULL_POINTER)?;
    let rx = buffer_arg(b.rx, b.rx_size, MIN_BUFFER)?;
    let tx = buffer_arg(b.tx, b.tx_size, MIN_BUFFER)?;
    let store = buffer_arg(b.store, b.store_size, 0)?;
    let client_end = (storage as usize)
        .checked_add(storage_size)
        .ok_or(EMQ_ERR_INVALID_ARGUMENT)?;
    let client_range = (storage as usize, client_end);
    let ranges = [client_range, rx.range(), tx.range(), store.range()];
    for (i, a) in ranges.iter().enumerate() {
        if ranges[i + 1..].iter().any(|b| overlap(*a, *b)) {
            return Err(EMQ_ERR_INVALID_ARGUMENT);
        }
    }
    // SAFETY: NULL or valid per the contract.
    let o = unsafe { options.as_ref() }.ok_or(EMQ_ERR_NULL_POINTER)?;
    // SAFETY: the option pointers are valid for the client's life (contract).
    let (connect, config) = unsafe { read_options(o) }?;
    let memory = FirmwareMemory {
        slots: [Slot::FREE; PACKET_ID_SLOTS],
        inbound_qos2: [0; INBOUND_QOS2_IDS],
        store,
        tx,
    };
    let handle = storage.cast::<emq_client>();
    // SAFETY: non-NULL, aligned and large enough (checked), writable per
    // the contract; whatever was there before is not read or dropped. Field
    // by field, so no whole client is built on the stack first (firmware
    // stacks are small; this was the deepest frame).
    unsafe {
        addr_of_mut!((*handle).client).write(Client::new(
            Session::new(memory, config),
            clock,
            rx,
            o.command_timeout_ms,
        ));
        addr_of_mut!((*handle).transport).write(transport);
        addr_of_mut!((*handle).connect).write(connect);
        addr_of_mut!((*handle).callbacks).write(emq_callbacks::default());
        addr_of_mut!((*handle).user_data).write(core::ptr::null_mut());
        addr_of_mut!((*handle).in_callback).write(0);
        addr_of_mut!((*handle).last_return_code).write(0);
    }
    Ok(handle)
}

/// Closes the connection, if any (without DISCONNECT, so the broker
/// publishes the will), and ends the client: its storage and buffers are
/// the caller's again. NULL is ignored. Refused inside a callback.
///
/// # Safety
/// `client` must be NULL or a client from `emq_client_init` not yet ended.
#[no_mangle]
pub unsafe extern "C" fn emq_client_deinit(client: *mut emq_client) -> emq_err {
    // SAFETY: NULL or live per the contract.
    let Some(c) = (unsafe { client.as_mut() }) else {
        return EMQ_OK;
    };
    if c.in_callback > 0 {
        return EMQ_ERR_IN_CALLBACK;
    }
    c.client.abort();
    // SAFETY: live and initialized; not used again (contract). Nothing in
    // it owns memory, so this only ends its life.
    unsafe { core::ptr::drop_in_place(client) };
    EMQ_OK
}

/// Sets the callbacks (copied) and the `user_data` passed to each.
/// `callbacks` may be NULL to remove them all. `on_log` is never called by
/// firmware builds (no formatting code is linked in).
///
/// # Safety
/// `client` must be a live client; `callbacks` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn emq_client_set_callbacks(
    client: *mut emq_client,
    callbacks: *const emq_callbacks,
    user_data: *mut c_void,
) -> emq_err {
    // SAFETY: live client or NULL per the contract.
    let Some(c) = (unsafe { client.as_mut() }) else {
        return EMQ_ERR_NULL_POINTER;
    };
    // SAFETY: NULL or valid per the contract.
    c.callbacks = unsafe { callbacks.as_ref() }.copied().unwrap_or_default();
    c.user_data = user_data;
    EMQ_OK
}

/// Runs `body` on a live client.
///
/// # Safety
/// `client` must be NULL or a live client. The reference handed to `body`
/// must not be held across a callback: callbacks go through `dispatch`.
unsafe fn with_client(
    client: *mut emq_client,
    body: impl FnOnce(&mut emq_client) -> Result<(), emq_err>,
) -> emq_err {
    // SAFETY: NULL or live per the contract; the reference lives only for
    // `body`, which calls no C callback of the application.
    match unsafe { client.as_mut() } {
        None => EMQ_ERR_NULL_POINTER,
        Some(c) => match body(c) {
            Ok(()) => EMQ_OK,
            Err(err) => err,
        },
    }
}

impl emq_client {
    fn refuse_in_callback(&self) -> Result<(), emq_err> {
        if self.in_callback > 0 {
            Err(EMQ_ERR_IN_CALLBACK)
        } else {
            Ok(())
        }
    }
}

/// Calls a C callback with the client marked as inside a callback.
///
/// # Safety
/// `client` must be a live client, and no Rust reference to it may be alive.
unsafe fn in_callback(client: *mut emq_client, call: impl FnOnce()) {
    // SAFETY: live client, no other reference alive (contract).
    unsafe { (*client).in_callback = (*client).in_callback.saturating_add(1) };
    call();
    // SAFETY: the callback may not end the client (refused), so it is live.
    unsafe { (*client).in_callback = (*client).in_callback.saturating_sub(1) };
}

/// After a call that writes: if a failed write closed the connection, tell
/// `on_disconnect`, as poll would have.
///
/// # Safety
/// `client` must be NULL or a live client with no Rust reference alive.
unsafe fn report_if_lost(client: *mut emq_client) {
    // SAFETY: NULL or live; the borrow ends before the callback.
    let Some(reason) = (unsafe { client.as_mut() }).and_then(|c| c.client.take_unreported_loss())
    else {
        return;
    };
    // SAFETY: live client, no reference alive.
    let _ = unsafe { dispatch(client, ClientEvent::ConnectionLost(reason)) };
}

/// The C view of a received message in the client's receive buffer.
///
/// # Safety
/// `client` must be a live client; no other reference to it may be alive.
unsafe fn message_at(
    client: *mut emq_client,
    topic: Span,
    payload: Span,
    qos: QoS,
    retain: bool,
    dup: bool,
    packet_id: u16,
) -> emq_message {
    // SAFETY: live client per the contract; the borrow ends on return.
    let c = unsafe { &*client };
    emq_message::borrowing(
        c.client.bytes(topic),
        c.client.bytes(payload),
        qos,
        retain,
        dup,
        packet_id,
    )
}

/// Delivers one event to the callbacks. No Rust reference to the client is
/// held while C code runs. Returns EMQ_ERR_MESSAGE_OVERFLOW for an oversized
/// message no callback took (poll reports it), else EMQ_OK.
///
/// # Safety
/// `client` must be a live client with no Rust reference alive.
unsafe fn dispatch(client: *mut emq_client, event: ClientEvent) -> emq_err {
    // SAFETY (every `(*client)` access below): live client, and each access
    // ends before any callback is entered.
    let (user_data, callbacks) = unsafe { ((*client).user_data, (*client).callbacks) };
    match event {
        ClientEvent::Overflow {
            topic,
            payload,
            payload_len,
            qos,
            retain,
            packet_id,
        } => {
            let Some(cb) = callbacks.on_overflow else {
                return EMQ_ERR_MESSAGE_OVERFLOW;
            };
            // SAFETY: live client; the borrow ends before the callback.
            let message =
                unsafe { message_at(client, topic, payload, qos, retain, false, packet_id) };
            // SAFETY: application callback; `message` points into the
            // receive buffer, as for a message.
            unsafe { in_callback(client, || cb(user_data, client, &message, payload_len)) };
        }
        ClientEvent::Message {
            topic,
            payload,
            qos,
            retain,
            dup,
            packet_id,
        } => {
            let Some(cb) = callbacks.on_message else {
                return EMQ_OK;
            };
            // SAFETY: live client; the borrow ends before the callback.
            let message =
                unsafe { message_at(client, topic, payload, qos, retain, dup, packet_id) };
            // SAFETY: application callback; `message` points into the
            // receive buffer, which only poll/wait/connect (refused in
            // callbacks) write to.
            unsafe { in_callback(client, || cb(user_data, client, &message)) };
        }
        ClientEvent::Published { packet_id } => {
            if let Some(cb) = callbacks.on_published {
                // SAFETY: application callback with valid arguments.
                unsafe { in_callback(client, || cb(user_data, client, packet_id)) };
            }
        }
        ClientEvent::Subscribed {
            packet_id,
            return_codes,
        } => {
            if let Some(cb) = callbacks.on_subscribed {
                let codes = unsafe { (*client).client.bytes(return_codes).as_ptr() };
                // SAFETY: application callback; `codes` valid for `len` bytes.
                unsafe {
                    in_callback(client, || {
                        cb(user_data, client, packet_id, codes, return_codes.len)
                    })
                };
            }
        }
        ClientEvent::Unsubscribed { packet_id } => {
            if let Some(cb) = callbacks.on_unsubscribed {
                // SAFETY: application callback with valid arguments.
                unsafe { in_callback(client, || cb(user_data, client, packet_id)) };
            }
        }
        ClientEvent::ConnectionLost(reason) => {
            if let Some(cb) = callbacks.on_disconnect {
                let code = emq_err::from(reason);
                // SAFETY: application callback with valid arguments.
                unsafe { in_callback(client, || cb(user_data, client, code)) };
            }
        }
    }
    EMQ_OK
}

/// Opens the transport (its `connect` callback gets `host` and `port`;
/// `host` may be NULL for a stream that knows its peer, e.g. a UART), sends
/// CONNECT and waits for CONNACK, at most `command_timeout_ms`. Calls
/// `on_connect` with the return code; a refusal returns
/// EMQ_ERR_CONNECTION_REFUSED, a failed `connect` callback
/// EMQ_ERR_CONNECT_FAILED.
///
/// # Safety
/// `client` must be a live client; `host` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn emq_client_connect(
    client: *mut emq_client,
    host: *const c_char,
    port: u16,
) -> emq_err {
    let mut report = None;
    // SAFETY: contract forwarded.
    let result = unsafe {
        with_client(client, |c| {
            c.refuse_in_callback()?;
            if c.client.state() != State::Disconnected {
                return Err(EMQ_ERR_ALREADY_CONNECTED);
            }
            // The command timeout also bounds the transport's `connect`.
            let timeout = c.client.command_timeout_ms();
            // SAFETY: `host` is NULL or NUL-terminated per the contract.
            c.transport
                .open(host, port, timeout)
                .map_err(emq_err::from)?;
            match c.client.connect(c.transport, &c.connect) {
                Ok(connected) => {
                    c.last_return_code = 0;
                    report = Some((connected.session_present, 0));
                    Ok(())
                }
                Err(crate::Error::ConnectionRefused(code)) => {
                    c.last_return_code = code;
                    report = Some((false, code));
                    Err(EMQ_ERR_CONNECTION_REFUSED)
                }
                Err(err) => Err(err.into()),
            }
        })
    };
    if let Some((session_present, code)) = report {
        // SAFETY: live client (with_client ran the body), no reference alive.
        let (cb, user_data) = unsafe { ((*client).callbacks.on_connect, (*client).user_data) };
        if let Some(cb) = cb {
            // SAFETY: application callback with valid arguments.
            unsafe { in_callback(client, || cb(user_data, client, session_present, code)) };
        }
    }
    // SAFETY: NULL or live; no reference alive.
    unsafe { report_if_lost(client) };
    result
}

/// Sends DISCONNECT and closes the connection; `on_disconnect` gets EMQ_OK
/// (or the error if DISCONNECT could not be written). Allowed inside
/// callbacks.
///
/// # Safety
/// `client` must be a live client.
#[no_mangle]
pub unsafe extern "C" fn emq_client_disconnect(client: *mut emq_client) -> emq_err {
    // SAFETY: contract forwarded.
    let result = unsafe { with_client(client, |c| c.client.disconnect().map_err(emq_err::from)) };
    if result != EMQ_ERR_NULL_POINTER && result != EMQ_ERR_NOT_CONNECTED {
        // SAFETY: live client, no reference alive.
        let (cb, user_data) = unsafe { ((*client).callbacks.on_disconnect, (*client).user_data) };
        if let Some(cb) = cb {
            // SAFETY: application callback with valid arguments.
            unsafe { in_callback(client, || cb(user_data, client, result)) };
        }
    }
    result
}

/// Writes acknowledgements still queued, so none is left behind when
/// control returns to the caller.
///
/// # Safety
/// `client` must be a live client with no Rust reference alive.
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

/// Polls once for an event, waiting at most `timeout_ms`.
///
/// # Safety
/// `client` must be NULL or a live client with no reference alive.
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

/// Dispatches `event`. `Err`: the reason when it was the connection's
/// loss; `Ok`: what `dispatch` reports (EMQ_ERR_MESSAGE_OVERFLOW or EMQ_OK).
///
/// # Safety
/// `client` must be a live client with no reference alive.
unsafe fn dispatch_event(client: *mut emq_client, event: ClientEvent) -> Result<emq_err, emq_err> {
    let lost = match event {
        ClientEvent::ConnectionLost(reason) => Some(reason.into()),
        _ => None,
    };
    // SAFETY: contract forwarded.
    let report = unsafe { dispatch(client, event) };
    lost.map_or(Ok(report), Err)
}

/// One turn of a caller-driven loop, like Paho's MQTTYield: writes pending
/// output, sends keepalive pings, and dispatches every event that arrives,
/// waiting up to `timeout_ms` for the first. Returns EMQ_OK, or the reason
/// the connection was lost (after `on_disconnect`), or EMQ_ERR_NOT_CONNECTED.
///
/// # Safety
/// `client` must be a live client.
#[no_mangle]
pub unsafe extern "C" fn emq_client_poll(client: *mut emq_client, timeout_ms: u32) -> emq_err {
    let mut wait = timeout_ms;
    // An oversized message no callback took, reported once all is handled.
    let mut unreported = EMQ_OK;
    // Bounded: each turn handles an event or ends the loop; the count
    // bounds a flood so poll returns to its caller.
    for _ in 0..1_000 {
        // SAFETY (all calls): contract forwarded, no reference alive.
        match unsafe { next_event(client, wait) } {
            Ok(Some(event)) => {
                match unsafe { dispatch_event(client, event) } {
                    Err(lost) => return lost,
                    Ok(EMQ_OK) => {}
                    Ok(report) => unreported = report,
                }
                // After the first event, take only what is already there.
                wait = 0;
            }
            Ok(None) => break,
            Err(err) => return err,
        }
    }
    // SAFETY: live client, no reference alive.
    match unsafe { flush_before_return(client, EMQ_OK) } {
        EMQ_OK => unreported,
        failed => failed,
    }
}

/// Polls (dispatching callbacks) until the acknowledgement for `packet_id`
/// arrives: PUBACK/PUBCOMP, SUBACK or UNSUBACK. Returns EMQ_OK at once when
/// nothing with that id is pending, EMQ_ERR_TIMEOUT after `timeout_ms`.
///
/// # Safety
/// `client` must be a live client.
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
    let mut start = 0;
    // SAFETY (all accesses below): contract forwarded; each reference ends
    // before a callback runs.
    let checked = unsafe {
        with_client(client, |c| {
            c.refuse_in_callback()?;
            pending = c.client.is_pending(packet_id);
            start = c.client.now_ms();
            Ok(())
        })
    };
    if checked != EMQ_OK || !pending {
        return checked;
    }
    let deadline = start + u64::from(timeout_ms);
    loop {
        let now = unsafe { (*client).client.now_ms() };
        if now >= deadline {
            return EMQ_ERR_TIMEOUT;
        }
        let wait = (deadline - now).min(u64::from(u32::MAX)) as u32;
        match unsafe { next_event(client, wait) } {
            Ok(Some(event)) => {
                // An unreported overflow: wait is about its id only.
                if let Err(lost) = unsafe { dispatch_event(client, event) } {
                    return lost;
                }
                // The acknowledgement frees the id in the session.
                if !unsafe { (*client).client.is_pending(packet_id) } {
                    return unsafe { flush_before_return(client, EMQ_OK) };
                }
            }
            Ok(None) => {}
            Err(err) => return err,
        }
    }
}

/// Publishes `payload_len` bytes to `topic` at `qos` (0..2). Returns once the
/// packet is written; `*packet_id` (may be NULL) gets its id, 0 for QoS 0.
/// QoS 0 calls `on_published` right away; QoS 1/2 when acknowledged, during
/// poll or wait. A message larger than the send buffer or the store is
/// EMQ_ERR_PACKET_TOO_LARGE (nothing is sent; the client stays usable).
///
/// # Safety
/// `client` must be a live client; `topic` NUL-terminated; `payload` valid
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
    // SAFETY: NULL or live; no reference alive.
    unsafe { report_if_lost(client) };
    if result == EMQ_OK && id == 0 {
        // SAFETY: live client (the call succeeded), no reference alive.
        let (cb, user_data) = unsafe { ((*client).callbacks.on_published, (*client).user_data) };
        if let Some(cb) = cb {
            // SAFETY: application callback with valid arguments.
            unsafe { in_callback(client, || cb(user_data, client, 0)) };
        }
    }
    result
}

/// Subscribes to one filter.
///
/// # Safety
/// `client` must be a live client; `filter` NUL-terminated; `packet_id` NULL or writable.
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

/// Subscribes to `count` (1..8 here) filters in one SUBSCRIBE. The granted
/// QoS arrive in `on_subscribed`, in the same order.
///
/// # Safety
/// `client` must be a live client; `subscriptions` valid for `count`
/// entries with NUL-terminated filters; `packet_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn emq_client_subscribe_many(
    client: *mut emq_client,
    subscriptions: *const emq_subscription,
    count: usize,
    packet_id: *mut u16,
) -> emq_err {
    let mut id = 0;
    // SAFETY: contract forwarded.
    let result = unsafe {
        with_client(client, |c| {
            let mut storage = [NO_TOPIC; MAX_FILTERS_PER_CALL];
            let topics = subscription_args(subscriptions, count, &mut storage)?;
            id = c.client.subscribe(topics).map_err(emq_err::from)?;
            Ok(())
        })
    };
    // SAFETY: NULL or writable per the contract.
    unsafe { set_out(packet_id, id) };
    // SAFETY: NULL or live; no reference alive.
    unsafe { report_if_lost(client) };
    result
}

/// Unsubscribes from one filter.
///
/// # Safety
/// `client` must be a live client; `filter` NUL-terminated; `packet_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn emq_client_unsubscribe(
    client: *mut emq_client,
    filter: *const c_char,
    packet_id: *mut u16,
) -> emq_err {
    // SAFETY: contract forwarded; a one-element array.
    unsafe { emq_client_unsubscribe_many(client, &filter, 1, packet_id) }
}

/// Unsubscribes from `count` (1..8 here) filters in one UNSUBSCRIBE.
///
/// # Safety
/// `client` must be a live client; `filters` valid for `count`
/// NUL-terminated strings; `packet_id` NULL or writable.
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
            let mut storage = [""; MAX_FILTERS_PER_CALL];
            let list = filter_args(filters, count, &mut storage)?;
            id = c.client.unsubscribe(list).map_err(emq_err::from)?;
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
/// `client` must be NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn emq_client_state(client: *const emq_client) -> emq_state {
    // SAFETY: NULL or live per the contract.
    let Some(c) = (unsafe { client.as_ref() }) else {
        return emq_state::EMQ_STATE_DISCONNECTED;
    };
    // EMQ_STATE_CONNECTING is never seen: the transport's `connect` runs
    // inside emq_client_connect and may not call embermq.
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
/// `client` must be NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn emq_client_is_connected(client: *const emq_client) -> bool {
    // SAFETY: forwarded.
    unsafe { emq_client_state(client) == emq_state::EMQ_STATE_CONNECTED }
}

/// The return code of the last CONNACK (0 accepted, 1..5 refused).
///
/// # Safety
/// `client` must be NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn emq_client_last_return_code(client: *const emq_client) -> u8 {
    // SAFETY: NULL or live per the contract.
    unsafe { client.as_ref() }.map_or(0, |c| c.last_return_code)
}

/// Outbound QoS 1/2 messages sent on this connection and not yet fully
/// acknowledged (at most the in-flight window).
///
/// # Safety
/// `client` must be NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn emq_client_inflight(client: *const emq_client) -> u16 {
    // SAFETY: NULL or live per the contract.
    unsafe { client.as_ref() }.map_or(0, |c| c.client.session().inflight())
}

/// Messages in the outbox: unacknowledged QoS 1/2 messages (in flight or
/// waiting for the window or a connection) and queued offline QoS 0 messages.
///
/// # Safety
/// `client` must be NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn emq_client_queued(client: *const emq_client) -> u16 {
    // SAFETY: NULL or live per the contract.
    unsafe { client.as_ref() }.map_or(0, |c| c.client.session().queued())
}
