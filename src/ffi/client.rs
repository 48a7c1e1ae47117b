//! The C API's client functions, written once for both builds over the
//! no_std [`Supervisor`](crate::client::supervisor::Supervisor). What
//! differs between builds lives in `sys` (`host.rs` or `firmware.rs`): how
//! a handle is allocated and locked, how a transport is opened, how the
//! caller waits for the network.
//!
//! Locking (both builds): a handle's state (`Core`) is behind one lock that
//! is never held while C code runs, so callbacks may publish, subscribe,
//! unsubscribe and disconnect on the same client. Reading from the network
//! (poll, wait, connect) also holds the `link` lock, taken before the
//! state, for as long as callbacks may look at a received message in the
//! receive buffer. Calls that would wait for the caller's own callback to
//! return (poll, wait, connect) are refused inside callbacks with
//! `EMQ_ERR_IN_CALLBACK`; free (deinit) inside a callback takes effect when
//! the call that ran it is over (`FreeWhenDone`).

use super::sys::{self, emq_client, Link, Target};
use super::*;
use crate::client::log::{LogCode, LogLevel, LogRecord};
use crate::client::reconnect::{Due, ReconnectPolicy};
use crate::client::supervisor::Behaviour;
use crate::client::ClientEvent;
use crate::codec::{LastWill, ProtocolLevel};
use crate::session::{ConnectOptions, SessionConfig, State};
use crate::Error;

/// A poll turn for a transport whose `connect` is in progress (`open_turn`).
pub(crate) type OpenTurn = fn(&emq_client, &mut Link) -> Option<emq_err>;

use crate::time;

/// The persistence hooks a client keeps: none (and no room for them)
/// without the `persistence` feature.
#[derive(Clone, Copy)]
pub(crate) struct Persistence(#[cfg(feature = "persistence")] emq_persistence);

impl Persistence {
    /// Keeps `hooks` (checked to be all NULL without the feature).
    #[cfg_attr(not(feature = "persistence"), allow(unused_variables))]
    pub(crate) fn new(hooks: emq_persistence) -> Self {
        #[cfg(feature = "persistence")]
        return Persistence(hooks);
        #[cfg(not(feature = "persistence"))]
        Persistence()
    }

    /// The hooks.
    pub(crate) fn hooks(&self) -> emq_persistence {
        #[cfg(feature = "persistence")]
        return self.0;
        #[cfg(not(feature = "persistence"))]
        emq_persistence::default()
    }
}

/// While a firmware transport's `connect` is in progress: the turn that
/// polls it. Nothing (and no room for it) without the `connect-start`
/// feature, whose `emq_client_connect_start` alone sets it.
#[derive(Clone, Copy)]
pub(crate) struct Opening(#[cfg(feature = "connect-start")] Option<OpenTurn>);

impl Opening {
    /// No transport opening.
    pub(crate) const NONE: Opening = Opening(
        #[cfg(feature = "connect-start")]
        None,
    );

    /// The turn, if a transport is opening.
    #[inline(always)]
    pub(crate) fn turn(self) -> Option<OpenTurn> {
        #[cfg(feature = "connect-start")]
        return self.0;
        #[cfg(not(feature = "connect-start"))]
        None
    }

    /// A transport opening, polled by `turn` (nothing kept without the
    /// feature, where no call starts one).
    #[inline(always)]
    pub(crate) fn of(turn: OpenTurn) -> Opening {
        #[cfg(not(feature = "connect-start"))]
        let _ = turn;
        Opening(
            #[cfg(feature = "connect-start")]
            Some(turn),
        )
    }

    /// Takes the turn out, if a transport is opening.
    #[inline(always)]
    pub(crate) fn take(&mut self) -> Option<OpenTurn> {
        #[cfg(feature = "connect-start")]
        return self.0.take();
        #[cfg(not(feature = "connect-start"))]
        None
    }
}

/// The broker of the latest connect request, kept for automatic reconnects
/// and the polled connect. Without `reconnect` and `connect-start`, nothing
/// (and no room for it): the target goes straight through the connect path.
pub(crate) struct KeptTarget(
    #[cfg(any(feature = "reconnect", feature = "connect-start"))] Option<Target>,
);

impl KeptTarget {
    /// No target yet.
    pub(crate) const NONE: KeptTarget = KeptTarget(
        #[cfg(any(feature = "reconnect", feature = "connect-start"))]
        None,
    );

    /// The kept target, if any.
    #[inline(always)]
    pub(crate) fn get(&self) -> Option<&Target> {
        #[cfg(any(feature = "reconnect", feature = "connect-start"))]
        return self.0.as_ref();
        #[cfg(not(any(feature = "reconnect", feature = "connect-start")))]
        None
    }

    /// Keeps `target` (hosts always keep it).
    #[cfg(feature = "std")]
    pub(crate) fn set(&mut self, target: Target) {
        self.0 = Some(target);
    }

    /// Keeps `requested`, a new target (where targets are kept), and hands
    /// back the target to connect to: `requested` or the kept one.
    #[inline(always)]
    pub(crate) fn pick(&mut self, requested: Option<Target>) -> Option<Target> {
        #[cfg(any(feature = "reconnect", feature = "connect-start"))]
        {
            if let Some(target) = requested {
                self.0 = Some(target);
            }
            self.0.as_ref().cloned()
        }
        #[cfg(not(any(feature = "reconnect", feature = "connect-start")))]
        requested
    }
}

/// A per-filter handler and its `user_data`, as the subscription table keeps it.
pub(crate) type Handler = (
    unsafe extern "C" fn(*mut c_void, *mut emq_client, *const emq_message),
    *mut c_void,
);

/// The client state behind a handle's lock.
pub(crate) struct Core {
    pub(crate) sup: sys::Supervisor,
    /// Connect-time settings: identity, credentials, will, keepalive.
    pub(crate) connect: sys::ConnectSettings,
    /// The broker of the latest connect request (kept only for reconnects
    /// and the polled connect).
    pub(crate) target: KeptTarget,
    /// While a firmware transport's `connect` is in progress: the turn
    /// that polls it (set only by `emq_client_connect_start`, so a firmware
    /// that never calls it links none of this; without the `connect-start`
    /// feature no room for it either). When the attempt gives up is kept
    /// in the disconnected session (`Session::keep_while_disconnected`),
    /// not here.
    pub(crate) opening: Opening,
    pub(crate) persistence: Persistence,
    pub(crate) callbacks: KeptCallbacks,
    pub(crate) user_data: *mut c_void,
    /// What only one build keeps (the host's TLS verify result).
    pub(crate) extra: sys::CoreExtra,
    /// MQTT 5: while callbacks for a received packet run, its properties
    /// (`emq_client_received_properties`).
    #[cfg(feature = "mqtt5")]
    pub(crate) received: crate::client::Span,
}

impl Core {
    /// A callback and the `user_data` to call it with.
    pub(crate) fn callback<F>(
        &self,
        pick: impl FnOnce(&CallbackFields) -> Option<F>,
    ) -> Option<(F, *mut c_void)> {
        pick(self.callbacks.fields()?).map(|cb| (cb, self.user_data))
    }

    /// Records a log event for the application (handed out after the call).
    pub(crate) fn log(
        &mut self,
        level: LogLevel,
        code: LogCode,
        packet_id: u16,
        error: Option<Error>,
    ) {
        self.sup.record(level, code, 0, packet_id, 0, error);
    }
}

/// The log level a C `emq_log_level` stands for.
pub(crate) fn log_level_filter(level: emq_log_level) -> Option<LogLevel> {
    match level {
        emq_log_level::EMQ_LOG_NONE => None,
        emq_log_level::EMQ_LOG_ERROR => Some(LogLevel::Error),
        emq_log_level::EMQ_LOG_WARNING => Some(LogLevel::Warning),
        emq_log_level::EMQ_LOG_INFO => Some(LogLevel::Info),
        emq_log_level::EMQ_LOG_DEBUG => Some(LogLevel::Debug),
    }
}

fn c_log_level(level: LogLevel) -> emq_log_level {
    match level {
        LogLevel::Error => emq_log_level::EMQ_LOG_ERROR,
        LogLevel::Warning => emq_log_level::EMQ_LOG_WARNING,
        LogLevel::Info => emq_log_level::EMQ_LOG_INFO,
        LogLevel::Debug => emq_log_level::EMQ_LOG_DEBUG,
    }
}

/// What `emq_options` says, checked, with its strings borrowed.
pub(crate) struct CheckedOptions<'a> {
    pub(crate) connect: ConnectOptions<'a>,
    // Firmware reads these from the options it keeps (`KeptOptions`).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) config: SessionConfig,
    pub(crate) behaviour: Behaviour,
    pub(crate) transport: emq_transport_choice,
    /// MQTT 5 with what its CONNECT announces (`protocol_level` 5), or 3.1.x.
    #[cfg(feature = "mqtt5")]
    pub(crate) v5: Option<crate::session::ConnectV5>,
    /// MQTT 5: the CONNECT properties and the Will Properties.
    #[cfg(feature = "mqtt5")]
    pub(crate) properties: [super::v5::CProperties<'a>; 2],
}

impl CheckedOptions<'_> {
    /// Makes the client speak the chosen protocol on its next connections
    /// (only while disconnected; an outbox holding messages of the other
    /// protocol is EMQ_ERR_INVALID_ARGUMENT).
    #[cfg_attr(not(feature = "mqtt5"), allow(unused_variables))]
    #[inline(always)]
    pub(crate) fn select_protocol(&self, sup: &mut sys::Supervisor) -> Result<(), emq_err> {
        #[cfg(feature = "mqtt5")]
        // `?`, not `map_err`: no out-of-line `map_err` instance.
        sup.client_mut().select_v5(self.v5)?;
        Ok(())
    }
}

/// Validates the options both builds read.
///
/// # Safety
/// Every pointer in `o` must be NULL or valid as documented on
/// `emq_options`, for `'a`.
// Inlined: each build has one caller that matters (its init), and a
// second (reconfigure) that a firmware which never calls it drops.
#[inline(always)]
pub(crate) unsafe fn check_options<'a>(o: &emq_options) -> Result<CheckedOptions<'a>, emq_err> {
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
    #[cfg(feature = "mqtt5")]
    let v5 = (o.protocol_level == 5).then_some(crate::session::ConnectV5 {
        session_expiry_interval: o.session_expiry_secs,
        receive_maximum: o.receive_maximum,
        maximum_packet_size: o.maximum_packet_size,
        topic_alias_maximum: o.topic_alias_maximum,
        topic_alias_outgoing: o.topic_alias_outgoing,
        topic_alias_length: o.topic_alias_length,
    });
    #[cfg(feature = "mqtt5")]
    // SAFETY: valid for 'a per the contract.
    let properties = unsafe {
        use super::v5::CProperties;
        use crate::codec::v5::PropertyContext as P;
        [
            CProperties::new(o.connect_properties, o.connect_property_count, P::Connect)?,
            CProperties::new(o.will_properties, o.will_property_count, P::Will)?,
        ]
    };
    #[cfg(not(feature = "mqtt5"))]
    if o.connect_property_count != 0 || o.will_property_count != 0 {
        // MQTT 5 is left out of this firmware build.
        return Err(EMQ_ERR_UNSUPPORTED);
    }
    #[cfg(feature = "mqtt5")]
    let protocol = match v5 {
        // The CONNECT v5 names its own level; 3.1.1 stands in here.
        Some(_) => ProtocolLevel::V3_1_1,
        None => ProtocolLevel::from_u8(o.protocol_level).map_err(|_| EMQ_ERR_INVALID_PROTOCOL)?,
    };
    #[cfg(not(feature = "mqtt5"))]
    let protocol = ProtocolLevel::from_u8(o.protocol_level).map_err(|_| {
        // MQTT 5 is left out of this firmware build.
        if o.protocol_level == 5 {
            EMQ_ERR_UNSUPPORTED
        } else {
            EMQ_ERR_INVALID_PROTOCOL
        }
    })?;
    let will = match unsafe { opt_str_arg(o.will_topic) }? {
        None => None,
        Some(will_topic) => {
            // `?`, not `map_err`: no out-of-line `map_err` instance.
            crate::topic::validate_topic_name(will_topic)?;
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
    let level = log_level_of(o.log_level).ok_or(EMQ_ERR_INVALID_ARGUMENT)?;
    let transport = emq_transport_choice::of(o.transport).ok_or(EMQ_ERR_INVALID_ARGUMENT)?;
    let hooks = o.persistence;
    let persists = hooks.store.is_some() || hooks.remove.is_some() || hooks.load.is_some();
    let queues_offline = o.queue_offline || o.queue_qos0_offline;
    if (o.auto_reconnect && !cfg!(feature = "reconnect"))
        || (persists && !cfg!(feature = "persistence"))
        || (queues_offline && !cfg!(feature = "offline-queue"))
        || (o.drop_unacked_on_loss && !cfg!(feature = "drop-unacked"))
    {
        // Left out of this firmware build at link time.
        return Err(EMQ_ERR_UNSUPPORTED);
    }
    // `|`, not `||`: one branch instead of one per test.
    if (o.inflight_window == 0)
        | (o.command_timeout_ms == 0)
        | (o.outbox_max_messages == 0)
        | (o.reconnect_min_ms == 0)
        | (o.reconnect_max_ms < o.reconnect_min_ms)
    {
        return Err(EMQ_ERR_INVALID_ARGUMENT);
    }
    Ok(CheckedOptions {
        connect: ConnectOptions {
            client_id,
            username,
            password,
            keep_alive_secs: o.keepalive_secs,
            clean_session: o.clean_session,
            protocol,
            will,
            #[cfg(feature = "mqtt5")]
            properties: crate::codec::v5::Properties::NONE,
            #[cfg(feature = "mqtt5")]
            will_properties: crate::codec::v5::Properties::NONE,
        },
        config: SessionConfig {
            inflight_window: o.inflight_window,
            ping_timeout_ms: None,
            outbox_limit: o.outbox_max_messages,
            queue_offline: o.queue_offline,
            queue_qos0_offline: o.queue_qos0_offline,
        },
        behaviour: Behaviour {
            reconnect: ReconnectPolicy {
                enabled: o.auto_reconnect,
                min_ms: o.reconnect_min_ms,
                max_ms: o.reconnect_max_ms,
                fixed_interval: o.reconnect_fixed_interval,
                retry_first_connect: !o.reconnect_after_connack_only,
            },
            resubscribe: o.resubscribe,
            log_level: log_level_filter(level),
            drop_unacked_on_loss: o.drop_unacked_on_loss,
            all_matching_handlers: o.all_matching_handlers,
        },
        transport,
        #[cfg(feature = "mqtt5")]
        v5,
        #[cfg(feature = "mqtt5")]
        properties,
    })
}

/// The handle behind a C pointer.
///
/// # Safety
/// `client` must be NULL or a live handle.
pub(crate) unsafe fn handle<'a>(client: *const emq_client) -> Result<&'a emq_client, emq_err> {
    // SAFETY: NULL or live per the contract; every field is behind a lock,
    // an atomic or a cell, so shared references are sound.
    unsafe { client.as_ref() }.ok_or(EMQ_ERR_NULL_POINTER)
}

/// Runs `body` on the locked state inside `sys::guard`, then hands queued
/// log events to the application.
pub(crate) fn with_core(
    c: &emq_client,
    body: impl FnOnce(&mut Core) -> Result<(), emq_err>,
) -> emq_err {
    let mut logged = false;
    let result = sys::guard(|| {
        let mut core = c.core();
        let result = body(&mut core);
        logged = core.sup.has_logs();
        result
    });
    // Checked under the lock above, so the common case takes it once.
    if logged {
        emit_logs(c);
    }
    result
}

/// At the end of an API call that may run callbacks: frees the client if
/// one of them asked for `emq_client_free` (`emq_client_deinit`) and no
/// callback of it still runs (the call was not made from one).
pub(crate) struct FreeWhenDone(pub(crate) *mut emq_client);

impl Drop for FreeWhenDone {
    fn drop(&mut self) {
        // SAFETY: NULL or live: API calls take live handles, and this runs
        // at the end of one.
        let Some(c) = (unsafe { self.0.as_ref() }) else {
            return;
        };
        if c.free_requested() && !c.in_callback_here() {
            // SAFETY: live; the callback that asked has returned and no
            // reference to the client is used after this.
            let _ = unsafe { sys::free_now(self.0) };
        }
    }
}

/// `with_core` on a handle from C.
///
/// # Safety
/// `client` must be NULL or a live handle.
pub(crate) unsafe fn with_client(
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
/// table: where another thread drives the client and the caller is not in
/// one of its callbacks, a full outbox or table is waited out (up to
/// `command_timeout_ms`) instead of refused, since acknowledgements free
/// room. `body` runs again after each wait, so it must change nothing when
/// it fails.
fn with_room(c: &emq_client, mut body: impl FnMut(&mut Core) -> Result<(), emq_err>) -> emq_err {
    let may_wait = sys::room_may_come(c) && !c.in_callback_here();
    let mut logged = false;
    let result = sys::guard(|| {
        let mut core = c.core();
        let mut started = None;
        // Bounded by the command timeout.
        loop {
            let result = body(&mut core);
            match result {
                // `may_wait` first: where it is always false (firmware) the
                // arm folds away, where after the codes it left a select.
                Err(err)
                    if may_wait && matches!(err, EMQ_ERR_STORE_FULL | EMQ_ERR_INFLIGHT_FULL) =>
                {
                    let limit = core.sup.client().command_timeout_ms();
                    let now = core.sup.client_mut().now_ms();
                    let waited = time::elapsed(now, *started.get_or_insert(now));
                    let Some(left) = limit.checked_sub(waited).filter(|&l| l > 0) else {
                        logged = core.sup.has_logs();
                        return result;
                    };
                    core = sys::wait_for_progress(c, core, left);
                }
                other => {
                    logged = core.sup.has_logs();
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

/// Hands queued log events to `on_log_event` and (hosts) `on_log`, with no
/// lock held.
pub(crate) fn emit_logs(c: &emq_client) {
    let me = c.as_ptr();
    // Bounded by the queue's length: events logged by the callbacks
    // themselves wait for the next call.
    for _ in 0..crate::client::log::LOG_QUEUE_LEN + 1 {
        let (record, line, on_event, on_log) = {
            let mut core = c.core();
            let Some(record) = core.sup.take_log() else {
                return;
            };
            #[cfg(feature = "log-events")]
            let on_event = core.callback(|cb| cb.on_log_event);
            #[cfg(not(feature = "log-events"))]
            let on_event = core.callback(|_| emq_on_log_event::None);
            // Firmware keeps no `on_log` (it never calls it).
            #[cfg(feature = "std")]
            let on_log = core.callback(|cb| cb.on_log);
            #[cfg(not(feature = "std"))]
            let on_log = core.callback(|_| emq_on_log::None);
            let line = on_log.and_then(|_| sys::log_line(&core, &record));
            (record, line, on_event, on_log)
        };
        let event = log_event(&record);
        if let Some((cb, user_data)) = on_event {
            // SAFETY: user callback; `event` outlives the call.
            sys::in_callback(c, || unsafe { cb(user_data, me, &event) });
        }
        if let (Some((cb, user_data)), Some(line)) = (on_log, line) {
            // SAFETY: user callback; `line` is NUL-terminated and outlives the call.
            sys::in_callback(c, || unsafe {
                cb(user_data, event.level, line.as_ptr().cast())
            });
        }
    }
}

/// The C view of a log event.
fn log_event(record: &LogRecord) -> emq_log_event {
    emq_log_event {
        level: c_log_level(record.level),
        code: emq_log_code::from(record.code),
        packet_type: record.packet_type,
        packet_id: record.packet_id,
        value: record.value,
        error: record.error.map_or(EMQ_OK, emq_err::from),
    }
}

/// After a call that writes: if a failed write closed the connection, tell
/// `on_disconnect`, as poll would have.
pub(crate) fn report_if_lost(c: &emq_client) {
    let lost = c.core().sup.take_unreported_loss();
    if let Some(reason) = lost {
        let _ = dispatch(c, ClientEvent::ConnectionLost(reason));
    }
}

/// Hands a message to its handlers or `on_message`, or (overflow) to
/// `on_overflow`. One path for both events (`dispatch` takes it inline):
/// each built the message from the receive buffer in its own copy of the
/// slicing.
fn deliver(c: &emq_client, event: &ClientEvent) -> emq_err {
    let me = c.as_ptr();
    // `overflow`: a message larger than the receive buffer, with its
    // payload's length (`on_overflow` gets it, else the call returns
    // EMQ_ERR_MESSAGE_OVERFLOW).
    let (topic, payload, qos, retain, dup, packet_id, overflow) = match *event {
        ClientEvent::Overflow {
            topic,
            payload,
            qos,
            retain,
            packet_id,
        } => (
            topic,
            payload,
            qos,
            retain,
            false,
            packet_id,
            Some(c.core().sup.client().overflow_len(payload)),
        ),
        ClientEvent::Message {
            topic,
            payload,
            qos,
            retain,
            dup,
            packet_id,
            // MQTT 5 properties: C clients connect with 3.1.1 for now.
            ..
        } => (topic, payload, qos, retain, dup, packet_id, None),
        _ => return EMQ_OK,
    };
    // Bounded by the handlers in the table; one at a time, so no lock is
    // held while each runs (they may subscribe and unsubscribe).
    for n in 0..usize::from(u16::MAX) {
        let (message, handler, more, on_overflow) = {
            let core = c.core();
            let client = core.sup.client();
            let topic_bytes = client.bytes(topic);
            let message = emq_message::borrowing(
                topic_bytes,
                client.bytes(payload),
                qos,
                retain,
                dup,
                packet_id,
            );
            let (handler, more) = match core.sup.nth_handler_for(topic_bytes, n) {
                _ if overflow.is_some() => (None, false),
                Some(handler) => (Some(handler), core.sup.routes_to_every_handler()),
                None if n == 0 => (core.callback(|cb| cb.on_message), false),
                None => (None, false),
            };
            (message, handler, more, core.callback(|cb| cb.on_overflow))
        };
        if let Some(payload_len) = overflow {
            emit_logs(c);
            let Some((cb, user_data)) = on_overflow else {
                return EMQ_ERR_MESSAGE_OVERFLOW;
            };
            // SAFETY: user callback; `message` points into the receive
            // buffer, which stays as it is (the caller holds `link`).
            sys::in_callback(c, || unsafe { cb(user_data, me, &message, payload_len) });
            break;
        }
        let Some((handler, user_data)) = handler else {
            break;
        };
        // SAFETY: user callback; `message` points into the receive buffer,
        // which only reads change, and the caller holds `link`, which
        // every read needs.
        sys::in_callback(c, || unsafe { handler(user_data, me, &message) });
        // The common case (one handler, or on_message) takes the lock once
        // per message.
        if !more {
            break;
        }
    }
    EMQ_OK
}

/// Delivers one event to the callbacks, with no lock held while C code
/// runs. For a message, the caller holds `link`, so the receive buffer the
/// message points into stays as it is. Returns EMQ_ERR_MESSAGE_OVERFLOW for
/// an oversized message no callback took (poll reports it), else EMQ_OK.
pub(crate) fn dispatch(c: &emq_client, event: ClientEvent) -> emq_err {
    let me = c.as_ptr();
    #[cfg(feature = "mqtt5")]
    let _received = super::v5::Received::enter(c, &event);
    match event {
        ClientEvent::Overflow { .. } | ClientEvent::Message { .. } => return deliver(c, &event),
        ClientEvent::Published { packet_id } => {
            let cb = forget_stored(c, packet_id, |cb| cb.on_published);
            if let Some((cb, user_data)) = cb {
                // SAFETY: user callback with valid arguments.
                sys::in_callback(c, || unsafe { cb(user_data, me, packet_id) });
            }
        }
        ClientEvent::Subscribed {
            packet_id,
            return_codes,
        } => {
            let (codes, cb) = {
                let core = c.core();
                let codes = core.sup.client().bytes(return_codes).as_ptr();
                (codes, core.callback(|cb| cb.on_subscribed))
            };
            if let Some((cb, user_data)) = cb {
                // SAFETY: user callback; `codes` valid for `len` bytes, as
                // for a message.
                sys::in_callback(c, || unsafe {
                    cb(user_data, me, packet_id, codes, return_codes.len)
                });
            }
        }
        ClientEvent::Connected { session_present } => {
            report_connect(c, Ok(session_present));
        }
        ClientEvent::ConnectFailed(err) => {
            report_connect(c, Err(err));
        }
        ClientEvent::Unsubscribed { packet_id } => report_id(c, |cb| cb.on_unsubscribed, packet_id),
        #[cfg(feature = "ack-events")]
        ClientEvent::Received { packet_id } => report_id(c, |cb| cb.on_pubrec, packet_id),
        #[cfg(feature = "ack-events")]
        ClientEvent::Pong => {
            let cb = c.core().callback(|cb| cb.on_pingresp);
            if let Some((cb, user_data)) = cb {
                // SAFETY: user callback with valid arguments.
                sys::in_callback(c, || unsafe { cb(user_data, me) });
            }
        }
        #[cfg(feature = "mqtt5")]
        ClientEvent::PublishFailed { packet_id, reason } => {
            // Gone from the outbox, as for an acknowledged message (a QoS 0
            // one the CONNACK's limits refused was never persisted).
            let cb = match packet_id {
                0 => c.core().callback(|cb| cb.on_publish_failed),
                _ => forget_stored(c, packet_id, |cb| cb.on_publish_failed),
            };
            if let Some((cb, user_data)) = cb {
                // SAFETY: user callback with valid arguments.
                sys::in_callback(c, || unsafe { cb(user_data, me, packet_id, reason) });
            }
        }
        #[cfg(feature = "mqtt5")]
        ClientEvent::Auth { reason } => super::v5::report_auth(c, reason),
        #[cfg(feature = "mqtt5")]
        ClientEvent::UnsubscribedCodes {
            packet_id,
            reason_codes,
        } => {
            let (codes, cb) = {
                let core = c.core();
                let codes = core.sup.client().bytes(reason_codes).as_ptr();
                (codes, core.callback(|cb| cb.on_unsuback))
            };
            if let Some((cb, user_data)) = cb {
                // SAFETY: user callback; `codes` valid for `len` bytes, as
                // for a message.
                sys::in_callback(c, || unsafe {
                    cb(user_data, me, packet_id, codes, reason_codes.len)
                });
            }
            report_id(c, |cb| cb.on_unsubscribed, packet_id)
        }
        ClientEvent::ConnectionLost(reason) => {
            // Bounded by the outbox: each turn drops one message.
            #[cfg(feature = "drop-unacked")]
            loop {
                let reason_code = emq_err::from(reason);
                let (dropped, cb) = {
                    let mut core = c.core();
                    (
                        core.sup.drop_next_unacked(),
                        core.callback(|cb| cb.on_dropped),
                    )
                };
                let Some(id) = dropped else {
                    break;
                };
                if let Some((cb, user_data)) = cb {
                    // SAFETY: user callback with valid arguments.
                    sys::in_callback(c, || unsafe { cb(user_data, me, id, reason_code) });
                }
            }
            let cb = c.core().callback(|cb| cb.on_disconnect);
            emit_logs(c);
            sys::notify_progress(c);
            if let Some((cb, user_data)) = cb {
                // SAFETY: user callback with valid arguments.
                sys::in_callback(c, || unsafe { cb(user_data, me, emq_err::from(reason)) });
            }
        }
    }
    EMQ_OK
}

/// Sets the callbacks and the `user_data` passed to each: the callbacks
/// are copied (or, see below, borrowed). `callbacks` may be NULL to remove
/// them all. Callbacks run on the thread that drives the client: the
/// caller of poll, wait, connect, publish and the other calls that report,
/// or (hosts) the network thread after `emq_client_start`.
///
/// A firmware built with the cargo feature `borrowed-callbacks` (ESP-IDF:
/// `CONFIG_EMBERMQ_BORROWED_CALLBACKS`; its CMake targets then define
/// `EMBERMQ_BORROWED_CALLBACKS`) keeps a pointer to `callbacks` instead of
/// a copy of those its build calls (32 B less 4 on a 32-bit firmware
/// without log-events, ack-events, drop-unacked or mqtt5; more with them;
/// size the storage with `emq_client_storage_size()` to gain it). The
/// struct must then be this library's own layout (`struct_size` =
/// `sizeof(emq_callbacks)`, as `emq_callbacks_default` sets it; else
/// EMQ_ERR_STRUCT_SIZE) and stay valid, and unchanged while a call on this
/// client runs, until a later successful `emq_client_set_callbacks` or
/// `emq_client_deinit` (one asked for inside a callback stops every read
/// of it at once): a `static const` one in flash, for example.
///
/// Errors: EMQ_ERR_NULL_POINTER (client), EMQ_ERR_STRUCT_SIZE,
/// EMQ_ERR_UNSUPPORTED (a callback this build leaves out is set); the
/// callbacks set before stay.
///
/// # Safety
/// `client` must be a live handle; `callbacks` NULL or valid (and, when
/// borrowed, kept valid as above).
#[no_mangle]
pub unsafe extern "C" fn emq_client_set_callbacks(
    client: *mut emq_client,
    callbacks: *const emq_callbacks,
    user_data: *mut c_void,
) -> emq_err {
    let _done = FreeWhenDone(client);
    // SAFETY: contract forwarded.
    unsafe {
        with_client(client, |c| {
            // NULL or valid per the contract.
            c.callbacks = KeptCallbacks::of(callbacks)?;
            c.user_data = user_data;
            Ok(())
        })
    }
}

/// Connects to `host` on `port` and waits for CONNACK, at most
/// `command_timeout_ms`. Hosts open TCP to `host` (name, IPv4 or IPv6
/// address; TLS when `emq_options.tls` was set or the port is 8883);
/// firmware calls its transport's `connect` with `host` and `port` (`host`
/// may be NULL there, for a stream that knows its peer, e.g. a UART; it is
/// kept, not copied, for reconnects, so it must stay valid until
/// `emq_client_disconnect`). Calls `on_connect` with the return code; a
/// refusal returns EMQ_ERR_CONNECTION_REFUSED, a failed transport
/// EMQ_ERR_CONNECT_FAILED (firmware) or the network error (hosts). With
/// `auto_reconnect`, a failed attempt is retried by poll (or the network
/// thread). Refused inside callbacks.
///
/// # Safety
/// `client` must be a live handle; `host` a NUL-terminated string (or NULL
/// where allowed).
#[no_mangle]
pub unsafe extern "C" fn emq_client_connect(
    client: *mut emq_client,
    host: *const c_char,
    port: u16,
) -> emq_err {
    // SAFETY: contract forwarded.
    unsafe { connect_call(client, host, port, None) }
}

/// `emq_client_connect` and (with `start_only`) `emq_client_connect_start`.
///
/// # Safety
/// As for `emq_client_connect`.
// Inlined, as `connect_requested`: the entry point's frame is then the only
// one above `connect_to` while CONNACK is waited for.
#[inline(always)]
unsafe fn connect_call(
    client: *mut emq_client,
    host: *const c_char,
    port: u16,
    start_only: Option<OpenTurn>,
) -> emq_err {
    let _done = FreeWhenDone(client);
    // SAFETY: contract forwarded.
    let c = match unsafe { handle(client) } {
        Ok(c) => c,
        Err(err) => return err,
    };
    if let Err(err) = c.refuse_in_callback() {
        return err;
    }
    // SAFETY: `host` NULL or NUL-terminated per the contract.
    match unsafe { sys::target_arg(host, port) } {
        Ok(target) => connect_requested(c, target, start_only),
        Err(err) => err,
    }
}

/// Starts connecting to `host` on `port` and returns once CONNECT is
/// written, without waiting for CONNACK: `emq_client_poll` (or the network
/// thread) then reports the outcome to `on_connect` / `on_connect_failed`,
/// within `command_timeout_ms`. Opening the transport itself (hosts: DNS,
/// TCP, TLS; firmware: the transport's `connect`) still happens in this
/// call. Otherwise as `emq_client_connect`; EMQ_ERR_ALREADY_CONNECTED while
/// a connection is up or in progress. Firmware: needs the `connect-start`
/// cargo feature (else EMQ_ERR_UNSUPPORTED: a firmware without it links
/// none of it); hosts always have it.
///
/// # Safety
/// As for `emq_client_connect`.
#[no_mangle]
pub unsafe extern "C" fn emq_client_connect_start(
    client: *mut emq_client,
    host: *const c_char,
    port: u16,
) -> emq_err {
    if !cfg!(feature = "connect-start") {
        // Left out of this firmware build at link time.
        return EMQ_ERR_UNSUPPORTED;
    }
    // SAFETY: contract forwarded.
    unsafe { connect_call(client, host, port, Some(open_turn)) }
}

/// A connect the application asked for, to `target`.
#[inline(always)]
pub(crate) fn connect_requested(
    c: &emq_client,
    target: Target,
    start_only: Option<OpenTurn>,
) -> emq_err {
    let result = match c.try_link() {
        Ok(mut link) => connect_to(c, &mut link, Some(target), start_only),
        Err(err) => return err,
    };
    // A waiting network thread takes the new connection over at once.
    sys::wake(c);
    result
}

/// One connection attempt, and the report to `on_connect` /
/// `on_connect_failed`. `requested`: a new target the application asked for
/// (not an automatic reconnect to the last one). `start_only`: the attempt
/// returns once CONNECT is written (or the transport's `connect` is under
/// way, polled by this turn) and poll reports its outcome; otherwise it
/// waits for CONNACK. The caller holds `link`.
// One copy, with `await_connack` inside (its frame holds the event slot),
// for connect calls and automatic reconnects alike. Without `reconnect`
// and `connect-start`, `emq_client_connect` is its one caller: inlined
// there, one frame and no call.
#[cfg_attr(any(feature = "reconnect", feature = "connect-start"), inline(never))]
#[cfg_attr(
    not(any(feature = "reconnect", feature = "connect-start")),
    inline(always)
)]
pub(crate) fn connect_to(
    c: &emq_client,
    link: &mut Link,
    requested: Option<Target>,
    start_only: Option<OpenTurn>,
) -> emq_err {
    let wait = start_only.is_none();
    let mut result = EMQ_OK;
    // A contained panic (hosts) is the result instead.
    let contained = sys::guard(|| {
        result = match start_attempt(c, link, requested, start_only) {
            Ok(()) if wait => await_connack(c),
            Ok(()) => {
                emit_logs(c);
                sys::notify_progress(c);
                EMQ_OK
            }
            Err(Some(err)) => report_connect(c, Err(err)),
            Err(None) => EMQ_ERR_ALREADY_CONNECTED,
        };
        Ok(())
    });
    report_if_lost(c);
    if contained != EMQ_OK {
        return contained;
    }
    result
}

/// Opens the transport and writes CONNECT. `Err(None)`: already connected
/// (nothing to report). With `start_only`, a transport whose `connect` is
/// in progress is left to that turn. Inlined into `connect_to`, whose
/// event slot it shares (its locals are dead by the CONNACK wait): out of
/// line, its frame sat above `send_connect` on the deepest path.
#[inline(always)]
fn start_attempt(
    c: &emq_client,
    link: &mut Link,
    requested: Option<Target>,
    start_only: Option<OpenTurn>,
) -> Result<(), Option<Error>> {
    // Only `emq_client_connect_start` starts a polled connect.
    let start_only = start_only.filter(|_| cfg!(feature = "connect-start"));
    let (target, timeout) = {
        let mut core = c.core();
        if core.sup.client().state() != State::Disconnected || core.opening.turn().is_some() {
            sys::end_opening(c);
            return Err(None);
        }
        match requested {
            Some(_) => core.sup.request_connect(),
            None => core.sup.reconnecting(),
        }
        let Some(target) = core.target.pick(requested) else {
            sys::end_opening(c);
            return Err(Some(Error::NotConnected));
        };
        (target, core.sup.client().command_timeout_ms())
    };
    // Without the state lock: other threads' calls go on meanwhile.
    let transport = sys::open_transport(c, link, &target, timeout, start_only.is_none());
    let mut guard = c.core();
    let core = &mut *guard;
    if let (Ok(None), Some(turn)) = (&transport, start_only) {
        let now = core.sup.client_mut().now_ms();
        core.sup
            .client_mut()
            .session_mut()
            .keep_while_disconnected(time::after(now, timeout));
        core.opening = Opening::of(turn);
        return Ok(());
    }
    let sent = send_connect(core, transport.and_then(|t| t.ok_or(Error::ConnectFailed)));
    sys::end_opening(c);
    sent.map_err(Some)
}

/// Writes CONNECT over a transport just opened, or records why there is
/// none. Inlined, so `queue_connect`'s frame (where it has one) sits
/// right under its caller's.
#[inline(always)]
fn send_connect(core: &mut Core, transport: Result<sys::Transport, Error>) -> Result<(), Error> {
    // `?`, not `and_then`: no out-of-line `and_then` instance per step.
    #[inline(always)]
    fn start(core: &mut Core, transport: Result<sys::Transport, Error>) -> Result<(), Error> {
        queue_connect(&core.connect, &mut core.sup, transport?)?;
        core.sup.client_mut().write_connect()
    }
    let started = start(core, transport);
    if let Err(err) = started {
        core.sup.attempt_failed(err);
    }
    started
}

/// Puts CONNECT in the send buffer. Out of line where `connect_to` is
/// (with `reconnect` or `connect-start`) and with `mqtt5`: what the
/// settings build for it is then gone from the stack before the CONNACK
/// wait and the transport's write. Otherwise inlined: out of line it cost
/// 32 B of code, and the minimal firmware's deepest stack is the same
/// either way.
#[cfg_attr(
    any(feature = "reconnect", feature = "connect-start", feature = "mqtt5"),
    inline(never)
)]
#[cfg_attr(
    not(any(feature = "reconnect", feature = "connect-start", feature = "mqtt5")),
    inline(always)
)]
fn queue_connect(
    settings: &sys::ConnectSettings,
    sup: &mut sys::Supervisor,
    transport: sys::Transport,
) -> Result<(), Error> {
    settings.queue_connect(sup, transport)
}

/// While a firmware transport's `connect` is in progress: asks it again;
/// once open, writes CONNECT (poll then reports CONNACK); a failure or the
/// command timeout is reported. `None`: nothing is being opened. The
/// caller holds `link`.
fn open_turn(c: &emq_client, link: &mut Link) -> Option<emq_err> {
    let (target, deadline, now) = {
        let mut core = c.core();
        core.opening.turn()?;
        let deadline = core.sup.client().session().kept_while_disconnected();
        let now = core.sup.client_mut().now_ms();
        (core.target.get().cloned()?, deadline, now)
    };
    let opened = sys::open_transport(c, link, &target, 0, false);
    let result = {
        let mut guard = c.core();
        let core = &mut *guard;
        match opened {
            Ok(None) if !time::reached(now, deadline) => return Some(EMQ_OK),
            Ok(None) => {
                sys::abandon_open(link);
                core.opening = Opening::NONE;
                send_connect(core, Err(Error::Timeout))
            }
            other => {
                core.opening = Opening::NONE;
                send_connect(core, other.and_then(|t| t.ok_or(Error::ConnectFailed)))
            }
        }
    };
    match result {
        Ok(()) => {
            emit_logs(c);
            Some(EMQ_OK)
        }
        Err(err) => Some(report_connect(c, Err(err))),
    }
}

/// Waits for the CONNACK of a started attempt, without the state lock,
/// and reports the outcome. The client gives up at its CONNACK deadline
/// (the command timeout); the margin here only bounds the loop. Inlined
/// into `connect_to`: one frame instead of two while CONNACK is waited for.
#[inline(always)]
fn await_connack(c: &emq_client) -> emq_err {
    let (deadline, mut outcome) = {
        let mut core = c.core();
        let timeout = core.sup.client().command_timeout_ms();
        let now = core.sup.client_mut().now_ms();
        (
            time::after(now, timeout.saturating_add(1_000)),
            Err(Error::Timeout),
        )
    };
    for _ in 0..1_000 {
        match sys::next_event(c, deadline) {
            Ok(Some(ClientEvent::Connected { session_present })) => {
                outcome = Ok(session_present);
                break;
            }
            Ok(Some(ClientEvent::ConnectFailed(err))) => {
                outcome = Err(err);
                break;
            }
            // Nothing else comes before CONNACK.
            Ok(Some(other)) => {
                let _ = dispatch(c, other);
            }
            // emq_client_stop while the thread waits: give the attempt up.
            Ok(None) if sys::attempt_cancelled(c) => {
                c.core().sup.client_mut().abort();
                outcome = Err(Error::ConnectionClosed);
                break;
            }
            Ok(None) if !time::reached(c.core().sup.client_mut().now_ms(), deadline) => {}
            Ok(None) => {
                c.core().sup.client_mut().abort();
                break;
            }
            Err(err) => return event_error(err),
        }
    }
    report_connect(c, outcome)
}

/// An error of `sys::next_event` as C sees it: firmware hands on the core
/// `Error` (converted here, once, so no event is copied to convert it),
/// hosts an `emq_err` already.
#[inline(always)]
fn event_error(err: impl Into<emq_err>) -> emq_err {
    err.into()
}

/// A message left the outbox (acknowledged, or refused by an MQTT 5
/// reason code): the persistence `remove` hook forgets it. Returns the
/// callback `pick` chooses, read under the same lock.
fn forget_stored<F>(
    c: &emq_client,
    packet_id: u16,
    pick: impl FnOnce(&CallbackFields) -> Option<F>,
) -> Option<(F, *mut c_void)> {
    let (remove, cb) = {
        let core = c.core();
        let hooks = core.persistence.hooks();
        (
            hooks
                .remove
                .filter(|_| cfg!(feature = "persistence"))
                .map(|f| (f, hooks.user_data)),
            core.callback(pick),
        )
    };
    if let Some((remove, user_data)) = remove {
        // SAFETY: user hook with valid arguments.
        sys::in_callback(c, || unsafe { remove(user_data, packet_id) });
    }
    cb
}

/// Calls the callback `pick` chooses, if set, with a packet id.
fn report_id(c: &emq_client, pick: impl FnOnce(&CallbackFields) -> emq_on_pubrec, packet_id: u16) {
    let cb = c.core().callback(pick);
    if let Some((cb, user_data)) = cb {
        // SAFETY: user callback with valid arguments.
        sys::in_callback(c, || unsafe { cb(user_data, c.as_ptr(), packet_id) });
    }
}

/// Tells the application how a connection attempt ended: `on_connect` for
/// every CONNACK, `on_connect_failed` for every failure. Returns the
/// outcome as C sees it (converted once, for the callback and the caller).
fn report_connect(c: &emq_client, outcome: Result<bool, Error>) -> emq_err {
    emit_logs(c);
    sys::notify_progress(c);
    // The CONNACK's properties, for every way a connect is reported.
    #[cfg(feature = "mqtt5")]
    let _received = super::v5::Received::enter(
        c,
        &match outcome {
            Ok(session_present) => ClientEvent::Connected { session_present },
            Err(err) => ClientEvent::ConnectFailed(err),
        },
    );
    let me = c.as_ptr();
    let (on_connect, on_failed) = {
        let core = c.core();
        (
            core.callback(|cb| cb.on_connect),
            core.callback(|cb| cb.on_connect_failed),
        )
    };
    // A CONNACK came for success and refusal; only a refusal has a code.
    let (connack, session_present, code) = match outcome {
        Ok(session_present) => (true, session_present, 0),
        Err(Error::ConnectionRefused(code)) => (true, false, code),
        Err(_) => (false, false, 0),
    };
    if let (true, Some((cb, user_data))) = (connack, on_connect) {
        // SAFETY: user callback with valid arguments.
        sys::in_callback(c, || unsafe { cb(user_data, me, session_present, code) });
    }
    let reason = outcome.map_or_else(emq_err::from, |_| EMQ_OK);
    if let (Err(_), Some((cb, user_data))) = (outcome, on_failed) {
        // SAFETY: user callback with valid arguments.
        sys::in_callback(c, || unsafe { cb(user_data, me, reason, code) });
    }
    reason
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
    let _done = FreeWhenDone(client);
    // SAFETY: contract forwarded.
    match unsafe { handle(client) } {
        Ok(c) => disconnect(c),
        Err(err) => err,
    }
}

/// DISCONNECT, close, stop reconnecting, and tell `on_disconnect`.
pub(crate) fn disconnect(c: &emq_client) -> emq_err {
    // `?`, not `map_err`: no out-of-line `map_err` instance.
    disconnect_with(c, |core, _| Ok(core.sup.disconnect()?))
}

/// `disconnect` with `send` writing the DISCONNECT and closing; `send`
/// sets its flag when it refused and left the connection as it was (then
/// `on_disconnect` is not called).
#[inline(always)]
pub(crate) fn disconnect_with(
    c: &emq_client,
    send: impl FnOnce(&mut Core, &mut bool) -> Result<(), emq_err>,
) -> emq_err {
    let mut cb = None;
    let mut kept = false;
    let result = with_core(c, |core| {
        cb = core.callback(|cb| cb.on_disconnect);
        if core.opening.take().is_some() {
            // A transport still opening: closed, nothing to send.
            sys::close_opening(c);
            core.sup.stop_reconnecting();
            return Ok(());
        }
        send(core, &mut kept)
    });
    sys::notify_progress(c);
    if result != EMQ_ERR_NOT_CONNECTED && !kept {
        if let Some((cb, user_data)) = cb {
            // SAFETY: user callback with valid arguments.
            sys::in_callback(c, || unsafe { cb(user_data, c.as_ptr(), result) });
        }
    }
    result
}

/// Writes acknowledgements still queued, so none is left behind when control
/// returns to the caller (who may sleep or free the client next).
pub(crate) fn flush_before_return(c: &emq_client, result: emq_err) -> emq_err {
    let flushed = with_core(c, |core| {
        // `?`, not `map_err`: no out-of-line `map_err` instance.
        Ok(core.sup.client_mut().flush()?)
    });
    report_if_lost(c);
    if result == EMQ_OK {
        flushed
    } else {
        result
    }
}

/// True while automatic reconnect is on for this client.
fn reconnecting(c: &emq_client) -> bool {
    c.core().sup.reconnect().is_active()
}

/// What a disconnected, reconnecting client did in its turn.
pub(crate) enum Turn {
    /// Connected, or not reconnecting: carry on with events.
    Idle,
    /// Made an attempt, with this result.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    Attempted(emq_err),
    /// The next attempt is due in this many ms.
    Wait(u32),
}

/// When the client is disconnected and reconnecting automatically: makes
/// one attempt if the backoff allows, or says how long until the next.
/// The caller holds `link`.
pub(crate) fn reconnect_turn(c: &emq_client, link: &mut Link) -> Turn {
    // Without `reconnect` nothing is ever scheduled: say so at compile time.
    if !cfg!(feature = "reconnect") {
        return Turn::Idle;
    }
    let due = c.core().sup.reconnect_due();
    match due {
        Due::Idle => Turn::Idle,
        Due::Wait(ms) => Turn::Wait(ms),
        Due::Now => Turn::Attempted(connect_to(c, link, None, None)),
    }
}

/// One turn of a caller-driven loop, like Paho's MQTTYield: writes pending
/// output, sends keepalive pings, and dispatches every event that arrives,
/// waiting up to `timeout_ms` for the first. Returns EMQ_OK, or the reason
/// the connection was lost (after `on_disconnect`), or EMQ_ERR_NOT_CONNECTED.
/// With `auto_reconnect`, a lost connection returns EMQ_OK (the reason goes
/// to `on_disconnect`) and, while disconnected, poll makes the next
/// reconnect attempt when its backoff has passed, or (hosts) waits for it
/// up to `timeout_ms` (firmware returns EMQ_OK at once: its loop calls
/// again). On hosts, a client started with `emq_client_start` is driven by
/// its network thread: poll returns EMQ_ERR_THREAD_DRIVEN; once poll has
/// been used, `emq_client_start` returns EMQ_ERR_POLL_DRIVEN. Refused in
/// callbacks.
///
/// # Safety
/// `client` must be a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_poll(client: *mut emq_client, timeout_ms: u32) -> emq_err {
    let _done = FreeWhenDone(client);
    // SAFETY: contract forwarded.
    let c = match unsafe { handle(client) } {
        Ok(c) => c,
        Err(err) => return err,
    };
    if let Err(err) = c.refuse_in_callback().and_then(|()| sys::claim_poll(c)) {
        return err;
    }
    let wait = {
        let mut link = match c.try_link() {
            Ok(link) => link,
            Err(err) => return err,
        };
        let opening = c.core().opening.turn();
        if let Some(result) = opening.and_then(|turn| turn(c, &mut link)) {
            return result;
        }
        match reconnect_turn(c, &mut link) {
            Turn::Idle => return run_events(c, timeout_ms),
            Turn::Attempted(_) => return EMQ_OK,
            Turn::Wait(ms) => ms,
        }
    };
    // Without `link`: the attempt is not due yet.
    sys::sleep_ms(wait.min(timeout_ms));
    EMQ_OK
}

/// Dispatches every event that arrives, waiting up to `timeout_ms` for
/// the first; returns as `emq_client_poll` does. The caller holds `link`.
pub(crate) fn run_events(c: &emq_client, timeout_ms: u32) -> emq_err {
    // What callbacks publish is written with the batch: before the next
    // read, or by the flush at the end.
    let result = sys::batch(c, || dispatch_events(c, timeout_ms));
    match flush_before_return(c, EMQ_OK) {
        EMQ_OK => result,
        failed => failed,
    }
}

/// The event loop of `run_events`.
fn dispatch_events(c: &emq_client, mut timeout_ms: u32) -> emq_err {
    // An oversized message no callback took, reported once all is handled.
    let mut unreported = EMQ_OK;
    // Bounded: each turn either handles an event or ends the loop; the
    // event count bounds a flood so control returns to the caller.
    for _ in 0..1_000 {
        match sys::next_event_within(c, timeout_ms) {
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
                if sys::stop_requested(c) {
                    break;
                }
                // After the first event, take only what is already there.
                timeout_ms = 0;
            }
            Ok(None) => break,
            Err(err) => return event_error(err),
        }
    }
    unreported
}

/// Polls (dispatching callbacks) until the acknowledgement for `packet_id`
/// arrives: PUBACK/PUBCOMP, SUBACK or UNSUBACK. Returns EMQ_OK at once when
/// nothing with that id is pending (its acknowledgement already arrived),
/// EMQ_ERR_TIMEOUT after `timeout_ms`. While a network thread runs, wait
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
    let _done = FreeWhenDone(client);
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
    if let Some(result) = sys::wait_on_thread(c, packet_id, timeout_ms) {
        return result;
    }
    let mut link = match c.try_link() {
        Ok(link) => link,
        Err(err) => return err,
    };
    let deadline = {
        let mut core = c.core();
        if !core.sup.client_mut().is_pending(packet_id) {
            return EMQ_OK;
        }
        time::after(core.sup.client_mut().now_ms(), timeout_ms)
    };
    // Bounded by the deadline.
    loop {
        let now = c.core().sup.client_mut().now_ms();
        if time::reached(now, deadline) {
            return EMQ_ERR_TIMEOUT;
        }
        // What is left of the wait from the time just read (no second
        // read of the clock to work it out again).
        match sys::next_event_within(c, time::until(now, deadline)) {
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
                if !c.core().sup.client_mut().is_pending(packet_id) {
                    return flush_before_return(c, EMQ_OK);
                }
            }
            Ok(None) => {}
            Err(err) if event_error(err) == EMQ_ERR_NOT_CONNECTED && reconnecting(c) => {
                // A transport still opening is driven as poll drives it;
                // a reconnect attempt would only find it under way, so the
                // loop would spin until the deadline (forever on a clock
                // that stands still meanwhile).
                let opening = c.core().opening.turn();
                if let Some(result) = opening.and_then(|turn| turn(c, &mut link)) {
                    if result != EMQ_OK {
                        return result;
                    }
                    continue;
                }
                match reconnect_turn(c, &mut link) {
                    Turn::Wait(ms) => {
                        sys::sleep_ms(time::until(now, deadline).min(ms));
                        if !sys::can_sleep() {
                            return EMQ_ERR_NOT_CONNECTED;
                        }
                    }
                    Turn::Attempted(_) | Turn::Idle => {}
                }
            }
            Err(err) => return event_error(err),
        }
    }
}

/// Publishes `payload_len` bytes to `topic` at `qos` (0..2). Returns once the
/// packet is written (or queued in the outbox); `*packet_id` (may be NULL)
/// gets its id, 0 for QoS 0. QoS 0 calls `on_published` right away; QoS 1/2
/// when acknowledged. Any thread may publish at any time, also from
/// callbacks. While a network thread runs, a publish from another thread
/// that finds the outbox full waits up to `command_timeout_ms` for room
/// before it returns EMQ_ERR_STORE_FULL; elsewhere that error comes at once.
/// A message larger than the send buffer or the store is
/// EMQ_ERR_PACKET_TOO_LARGE (nothing is sent; the client stays usable).
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
    // SAFETY: contract forwarded.
    unsafe {
        publish_call(client, packet_id, move |core, write, held| {
            // SAFETY: valid per the contract.
            let (topic, payload, qos) = message_args(topic, payload, payload_len, qos)?;
            let id;
            (id, *held) = match write {
                // Firmware: always at once, through the one publish path.
                None => core
                    .sup
                    .publish(topic, payload, qos, retain)
                    .map(|id| (id, false)),
                Some(write) => core.sup.publish_with(topic, payload, qos, retain, write),
            }
            .map_err(emq_err::from)?;
            Ok(id)
        })
    }
}

/// What every publish call does around `publish`, which checks its
/// arguments and queues the message under the lock, written as `write`
/// says (`None`: at once), and returns its packet id (setting its last
/// argument when the write was held back): the wait for room, the
/// persistence hook, reporting a lost link, and the QoS 0 `on_published`.
///
/// # Safety
/// `client` must be NULL or a live handle; `packet_id` NULL or writable.
#[inline(always)]
pub(crate) unsafe fn publish_call(
    client: *mut emq_client,
    packet_id: *mut u16,
    mut publish: impl FnMut(&mut Core, Option<crate::client::Write>, &mut bool) -> Result<u16, emq_err>,
) -> emq_err {
    let _done = FreeWhenDone(client);
    // SAFETY: contract forwarded.
    let c = match unsafe { handle(client) } {
        Ok(c) => c,
        Err(err) => {
            // SAFETY: NULL or writable per the contract (cleared, so a
            // failure never leaves a stale id; every other path sets it).
            unsafe { set_out(packet_id, 0) };
            return err;
        }
    };
    let mut id = 0;
    // Gathered under the same lock as the publish, so the common case
    // takes it once. Where nothing else can run between the publish and
    // the report (firmware without other tasks, the persistence hook or
    // log events), taken after it instead, as the other calls do: carried
    // out of the publish, it cost the minimal firmware 48 B.
    let take_after = !cfg!(any(
        feature = "std",
        feature = "lock-hooks",
        feature = "persistence",
        feature = "log-events"
    ));
    let mut lost = None;
    let mut on_published = None;
    let mut persist = false;
    let mut held = false;
    let write = sys::publish_write(c);
    let result = with_room(c, |core| {
        let published = publish(core, write, &mut held).map(|queued| id = queued);
        if !take_after {
            lost = core.sup.take_unreported_loss();
        }
        on_published = core.callback(|cb| cb.on_published);
        persist = core.persistence.hooks().store.is_some();
        published
    });
    // SAFETY: NULL or writable per the contract.
    unsafe { set_out(packet_id, id) };
    if held {
        sys::output_held(c);
    }
    let mut result = result;
    if result == EMQ_OK && id != 0 && persist {
        let saved = persist_stored(c, id);
        if saved != EMQ_OK {
            c.core()
                .log(LogLevel::Error, LogCode::PersistFailed, id, None);
            emit_logs(c);
            result = EMQ_ERR_PERSISTENCE;
        }
    }
    if take_after {
        report_if_lost(c);
    } else if let Some(reason) = lost {
        let _ = dispatch(c, ClientEvent::ConnectionLost(reason));
    }
    if result == EMQ_OK && id == 0 {
        if let Some((cb, user_data)) = on_published {
            // SAFETY: user callback with valid arguments.
            sys::in_callback(c, || unsafe { cb(user_data, c.as_ptr(), 0) });
        }
    }
    result
}

/// Calls the `store` hook for a message just accepted into the outbox.
fn persist_stored(c: &emq_client, packet_id: u16) -> emq_err {
    // A copy (hosts) or the store's own bytes (firmware, one thread), so no
    // lock is held while the hook runs: it may call back into the client.
    let (hooks, packet) = {
        let mut core = c.core();
        let hooks = core.persistence.hooks();
        let Some(packet) = sys::stored_copy(&mut core, packet_id) else {
            return EMQ_OK;
        };
        (hooks, packet)
    };
    let Some(store) = hooks.store else {
        return EMQ_OK;
    };
    let mut result = EMQ_OK;
    let bytes: &[u8] = packet.as_ref();
    sys::in_callback(c, || {
        // SAFETY: user hook; `bytes` outlives the call.
        result = unsafe { store(hooks.user_data, packet_id, bytes.as_ptr(), bytes.len()) }
    });
    result
}

/// Puts a saved outbox entry back (from the `load` hook, or any time before
/// the first connect): `packet` is what the `store` hook was given. It is
/// sent after the next CONNACK, with DUP if the broker kept the session.
/// Errors: EMQ_ERR_NULL_POINTER for a NULL `packet`,
/// EMQ_ERR_ALREADY_CONNECTED once connected, EMQ_ERR_MALFORMED_PACKET (also
/// for `packet_len` 0) or EMQ_ERR_INVALID_QOS for bytes that are not a QoS 1/2 PUBLISH,
/// EMQ_ERR_INVALID_ARGUMENT when its packet id is taken, EMQ_ERR_STORE_FULL.
/// The packet is checked in the form of the client's protocol level (an
/// MQTT 5 client's saved packets carry properties): restore into a client
/// of the level that saved them, as nothing in the bytes says which.
///
/// Firmware builds have it with the `persistence` feature.
///
/// # Safety
/// `client` must be a live handle; `packet` valid for `packet_len` bytes.
#[cfg(feature = "persistence")]
#[no_mangle]
pub unsafe extern "C" fn emq_client_restore(
    client: *mut emq_client,
    packet: *const u8,
    packet_len: usize,
) -> emq_err {
    let _done = FreeWhenDone(client);
    // SAFETY: contract forwarded.
    unsafe {
        with_client(client, |c| {
            if packet.is_null() {
                return Err(EMQ_ERR_NULL_POINTER);
            }
            let bytes = bytes_arg(packet, packet_len)?;
            if bytes.is_empty() {
                // Not a PUBLISH: no fixed header at all.
                return Err(EMQ_ERR_MALFORMED_PACKET);
            }
            let id = c.sup.client_mut().restore(bytes).map_err(emq_err::from)?;
            c.log(LogLevel::Debug, LogCode::Restored, id, None);
            Ok(())
        })
    }
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

/// Subscribes to `count` filters in one SUBSCRIBE (at most 64 on hosts, 8
/// in firmware builds). The granted QoS arrive in `on_subscribed`, in the
/// same order.
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
/// filter removes the handler. Handlers live in the subscription table
/// (`emq_options.max_subscriptions` on hosts, `emq_buffers` in firmware):
/// a full table is EMQ_ERR_SUBSCRIPTIONS_FULL and nothing is sent.
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
    let Some(handler) = handler else {
        return EMQ_ERR_NULL_POINTER;
    };
    if !cfg!(feature = "subscriptions") {
        // Left out of this firmware build at link time.
        return EMQ_ERR_UNSUPPORTED;
    }
    let one = emq_subscription { filter, qos };
    // SAFETY: contract forwarded; `one` is a valid one-element array.
    unsafe { subscribe_with(client, &one, 1, Some((handler, user_data)), packet_id) }
}

/// A C filter list's count and kind, in one register (so that the API
/// functions hand on to `filter_request` in registers alone, as a tail
/// call without a frame of their own).
#[derive(Clone, Copy)]
#[repr(C)]
struct FilterList {
    /// The C count, saturated to 16 bits: every count above the limit
    /// (at most 64) is refused alike.
    count: u16,
    /// C strings for an UNSUBSCRIBE, not `emq_subscription` entries.
    unsubscribe: bool,
}

impl FilterList {
    fn new(count: usize, unsubscribe: bool) -> Self {
        FilterList {
            count: u16::try_from(count).unwrap_or(u16::MAX),
            unsubscribe,
        }
    }
}

/// # Safety
/// As for `emq_client_subscribe_many`.
unsafe fn subscribe_with(
    client: *mut emq_client,
    subscriptions: *const emq_subscription,
    count: usize,
    handler: Option<Handler>,
    packet_id: *mut u16,
) -> emq_err {
    let shape = FilterList::new(count, false);
    // SAFETY: contract forwarded.
    unsafe { filter_request(client, subscriptions.cast(), shape, handler, packet_id) }
}

/// Every subscribe and unsubscribe call: one out-of-line copy of the
/// request around both lists (two inlined copies cost more). It ends the
/// call (frees a client a callback asked to free), so that the API
/// functions reach it as a tail call: with the C ABI, `shape` stays one
/// register (not split in two) and the result needs no widening.
///
/// # Safety
/// `client` NULL or live; `list` NULL or valid for `shape.count` entries of
/// the type `shape` names, with NUL-terminated filters; `packet_id` NULL or
/// writable.
#[inline(never)]
#[allow(improper_ctypes_definitions)] // Called from Rust only.
unsafe extern "C" fn filter_request(
    client: *mut emq_client,
    list: *const c_void,
    shape: FilterList,
    handler: Option<Handler>,
    packet_id: *mut u16,
) -> emq_err {
    let _done = FreeWhenDone(client);
    let count = usize::from(shape.count);
    // SAFETY: contract forwarded.
    unsafe {
        request_call(client, packet_id, |core| {
            // SAFETY: valid per the contract.
            let list = CFilterList::checked(list, count, shape.unsubscribe)?;
            let result = core.sup.request_filters(&list, handler, shape.unsubscribe);
            // `?` rather than `map_err`: converted in place, not through
            // an out-of-line `map_err` instance.
            Ok(result?)
        })
    }
}

/// What every subscribe and unsubscribe call does around `request`, which
/// checks its arguments and queues the packet under the lock, returning
/// its packet id: the wait for room, the id out, reporting a lost link.
///
/// # Safety
/// `client` must be NULL or a live handle; `packet_id` NULL or writable.
#[inline(always)]
pub(crate) unsafe fn request_call(
    client: *mut emq_client,
    packet_id: *mut u16,
    mut request: impl FnMut(&mut Core) -> Result<u16, emq_err>,
) -> emq_err {
    let mut id = 0;
    // SAFETY: contract forwarded.
    let c = match unsafe { handle(client) } {
        Ok(c) => c,
        Err(err) => return err,
    };
    let result = with_room(c, |core| {
        id = request(core)?;
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

/// Unsubscribes from `count` filters in one UNSUBSCRIBE (and drops their
/// handlers).
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
    // SAFETY: contract forwarded.
    unsafe {
        let shape = FilterList::new(count, true);
        filter_request(client, filters.cast(), shape, None, packet_id)
    }
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
    let Ok(c) = (unsafe { handle(client) }) else {
        return emq_state::EMQ_STATE_DISCONNECTED;
    };
    // The opening flags are read under the state lock, which is held when
    // they are cleared and the state moves on.
    let core = c.core();
    if core.opening.turn().is_some() || sys::is_opening(c) {
        return emq_state::EMQ_STATE_CONNECTING;
    }
    match core.sup.client().state() {
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

/// The return code of the last CONNACK (0 accepted, 1..5 refused); over
/// MQTT 5 its reason code (0x80 and up refused), or after the broker's
/// DISCONNECT (EMQ_ERR_SERVER_DISCONNECTED) that DISCONNECT's reason code.
///
/// # Safety
/// `client` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_last_return_code(client: *const emq_client) -> u8 {
    // SAFETY: contract forwarded.
    unsafe {
        query(client, 0, |c| {
            #[cfg(feature = "mqtt5")]
            if let Some(Error::ServerDisconnected(code)) = c.sup.last_error() {
                return code;
            }
            c.sup.last_return_code()
        })
    }
}

/// Why the last connection attempt failed or the last connection ended
/// (EMQ_OK after a successful connect and before any failure):
/// EMQ_ERR_CONNECTION_REFUSED (see `emq_client_last_return_code`), a
/// network error, EMQ_ERR_KEEPALIVE_TIMEOUT, ... NULL gives
/// EMQ_ERR_NULL_POINTER.
///
/// # Safety
/// `client` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_last_error(client: *const emq_client) -> emq_err {
    // SAFETY: contract forwarded.
    unsafe {
        query(client, EMQ_ERR_NULL_POINTER, |c| {
            c.sup.last_error().map_or(EMQ_OK, emq_err::from)
        })
    }
}

/// Outbound QoS 1/2 messages sent on this connection and not yet fully
/// acknowledged (at most `inflight_window`).
///
/// # Safety
/// `client` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_inflight(client: *const emq_client) -> u16 {
    // SAFETY: contract forwarded.
    unsafe { query(client, 0, |c| c.sup.client().session().inflight()) }
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
    unsafe { query(client, 0, |c| c.sup.client().session().queued()) }
}

/// Changes the most verbose level of log events handed to `on_log_event`
/// (and, on hosts, `on_log`) at run time: an `emq_log_level` value.
///
/// # Safety
/// `client` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_set_log_level(
    client: *mut emq_client,
    level: core::ffi::c_int,
) -> emq_err {
    let _done = FreeWhenDone(client);
    let Some(level) = log_level_of(level) else {
        return EMQ_ERR_INVALID_ARGUMENT;
    };
    // SAFETY: contract forwarded.
    unsafe {
        with_client(client, |c| {
            c.sup.set_log_level(log_level_filter(level));
            Ok(())
        })
    }
}

/// Checks a topic name (what a PUBLISH goes to): EMQ_OK, or
/// EMQ_ERR_EMPTY_TOPIC, EMQ_ERR_WILDCARD_IN_TOPIC_NAME,
/// EMQ_ERR_STRING_TOO_LONG, EMQ_ERR_NULL_CHARACTER, EMQ_ERR_INVALID_UTF8,
/// EMQ_ERR_NULL_POINTER. Needs no client.
///
/// # Safety
/// `name` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn emq_topic_name_check(name: *const c_char) -> emq_err {
    // SAFETY: NULL or NUL-terminated per the contract.
    match unsafe { str_arg(name) } {
        Ok(name) => crate::topic::validate_topic_name(name).map_or_else(emq_err::from, |()| EMQ_OK),
        Err(err) => err,
    }
}

/// Checks a topic filter (what a SUBSCRIBE asks for, `+` and `#` allowed
/// where MQTT allows them): EMQ_OK, or EMQ_ERR_EMPTY_TOPIC,
/// EMQ_ERR_INVALID_TOPIC_FILTER, EMQ_ERR_STRING_TOO_LONG,
/// EMQ_ERR_NULL_CHARACTER, EMQ_ERR_INVALID_UTF8, EMQ_ERR_NULL_POINTER.
/// Needs no client.
///
/// # Safety
/// `filter` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn emq_topic_filter_check(filter: *const c_char) -> emq_err {
    // SAFETY: NULL or NUL-terminated per the contract.
    match unsafe { str_arg(filter) } {
        Ok(filter) => {
            crate::topic::validate_topic_filter(filter).map_or_else(emq_err::from, |()| EMQ_OK)
        }
        Err(err) => err,
    }
}

/// True when the topic name `name` (`name_len` bytes, as in an
/// `emq_message`) matches the topic filter `filter` by MQTT's rules (`+`
/// one level, `#` the rest, `$` topics not matched by a leading wildcard).
/// False for a NULL or invalid argument. Needs no client.
///
/// # Safety
/// `filter` must be NULL or NUL-terminated; `name` NULL or valid for
/// `name_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn emq_topic_matches(
    filter: *const c_char,
    name: *const c_char,
    name_len: usize,
) -> bool {
    // SAFETY: per the contract.
    let (Ok(filter), Ok(name)) = (unsafe { str_arg(filter) }, unsafe {
        bytes_arg(name.cast(), name_len)
    }) else {
        return false;
    };
    match crate::codec::from_utf8(name) {
        Some(name) => {
            crate::topic::validate_topic_filter(filter).is_ok()
                && crate::topic::validate_topic_name(name).is_ok()
                && crate::topic::matches(filter, name)
        }
        None => false,
    }
}

/// What a CONNACK return code means, NUL-terminated (MQTT 3.1.1 section
/// 3.2.2.3): 0 "connection accepted" .. 5 "not authorized"; others
/// "unknown return code". MQTT 5 reason codes: `emq_reason_str`.
#[no_mangle]
pub extern "C" fn emq_connack_str(return_code: u8) -> *const c_char {
    let text: &'static core::ffi::CStr = match return_code {
        0 => c"connection accepted",
        1 => c"refused: unacceptable protocol version",
        2 => c"refused: identifier rejected",
        3 => c"refused: server unavailable",
        4 => c"refused: bad user name or password",
        5 => c"refused: not authorized",
        _ => c"unknown return code",
    };
    text.as_ptr()
}

/// Changes the connect-time settings of a disconnected client from
/// `options` (start from `emq_options_default`): client id, credentials,
/// will, keepalive, clean session, protocol level, `command_timeout_ms`,
/// the reconnect policy (`auto_reconnect`, `reconnect_*`), `resubscribe`,
/// `log_level`, `drop_unacked_on_loss` and `all_matching_handlers`. The
/// outbox, subscriptions and handlers are kept; the next connect (or
/// automatic reconnect) uses the new settings. Fixed at creation and
/// ignored here: buffer and table sizes, `inflight_window`,
/// `outbox_max_messages`, the offline queueing flags (firmware builds,
/// which read these three from the options they borrow, take them from
/// `options` too), `tls`, `transport`, `tcp_nodelay`, `persistence`.
/// Hosts copy the strings; firmware builds
/// borrow `options` itself and its strings, unchanged, until
/// `emq_client_deinit` or the next reconfigure. Errors
/// change nothing: EMQ_ERR_ALREADY_CONNECTED while connected or connecting,
/// or what `emq_client_new`/`emq_client_init` would say of the options.
///
/// # Safety
/// `client` must be a live handle; `options` NULL or valid (firmware: its
/// options and strings valid as said above).
#[no_mangle]
pub unsafe extern "C" fn emq_client_reconfigure(
    client: *mut emq_client,
    options: *const emq_options,
) -> emq_err {
    let _done = FreeWhenDone(client);
    // SAFETY: contract forwarded.
    unsafe {
        with_client(client, |core| {
            let o = &options_arg(options)?;
            let checked = check_options(o)?;
            if core.sup.client().state() != State::Disconnected {
                return Err(EMQ_ERR_ALREADY_CONNECTED);
            }
            checked.select_protocol(&mut core.sup)?;
            core.connect = sys::ConnectSettings::from_checked(&checked, options);
            // Firmware: the session reads its settings from the options it
            // keeps, now these.
            #[cfg(not(feature = "std"))]
            sys::keep_options(&mut core.sup, options);
            core.sup.set_behaviour(checked.behaviour);
            core.sup
                .client_mut()
                .set_command_timeout(o.command_timeout_ms);
            Ok(())
        })
    }
}
