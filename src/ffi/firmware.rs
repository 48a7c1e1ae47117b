//! The firmware side of the C API (`sys` for the no_std build, no
//! allocator): the client lives in storage the firmware provides, with
//! caller-supplied receive, send and store buffers and (optionally) table
//! memory sized by the firmware, and moves bytes through C transport
//! callbacks timed by a C millisecond clock (as Paho embedded-C's
//! `MQTTClientInit` with its `Network` and `Timer`). The client functions
//! themselves are in `client.rs`, shared with hosts: reconnect, resubscribe,
//! handlers, persistence hooks and log events work here as there.
//!
//! Without table memory the client keeps two packet-id slots (one QoS 1/2
//! publish in flight, with its copy in the store for a resend, plus one
//! pending SUBSCRIBE or UNSUBSCRIBE), the ids of up to eight inbound QoS 2
//! messages awaiting PUBREL, and no subscription table (no resubscribe, no
//! handlers). `emq_buffers.tables` raises each of these.
//!
//! Re-entrancy is as on hosts: no Rust reference to a client is alive while
//! a callback runs, so callbacks may publish, subscribe, unsubscribe and
//! disconnect; poll, wait and connect are refused there with
//! `EMQ_ERR_IN_CALLBACK`, and deinit takes effect when the call that ran
//! the callback is over. With lock hooks (`lock-hooks` feature) several
//! tasks may use one client; otherwise one task at a time.

use super::client::{check_options, Core, Handler, KeptTarget, Opening};
use super::*;
use crate::client::log::LogRecord;
use crate::client::subscriptions::{Entry, Subscriptions, TableMemory};
use crate::client::{supervisor, Client, ClientEvent};
use crate::codec::{Connect, LastWill, ProtocolLevel};
use crate::session::{ConfigSource, ConnectOptions, Memory, Parts, Session, SessionConfig, Slot};
use crate::time::{self, Millis};
pub use crate::transport::callbacks::{
    emq_clock_ms, emq_transport, emq_transport_close, emq_transport_connect, emq_transport_recv,
    emq_transport_send,
};
use crate::transport::callbacks::{CallbackClock, CallbackTransport};
#[cfg(feature = "websocket")]
use crate::transport::ws_callbacks::{CallbackRandom, MaybeWs, WsLink};
#[cfg(feature = "lock-hooks")]
use crate::transport::Transport as _;
use crate::Error;
use core::cell::{Cell, UnsafeCell};
use core::ops::{Deref, DerefMut};
use core::ptr::{addr_of_mut, NonNull};

/// Packet-id slots without table memory: one outbound QoS 1/2 publish in
/// flight and one pending SUBSCRIBE/UNSUBSCRIBE (or a second publish
/// waiting for the window).
const PACKET_ID_SLOTS: usize = 2;
/// Inbound QoS 2 messages delivered and awaiting PUBREL at once, without
/// table memory.
const INBOUND_QOS2_IDS: usize = 8;
/// The packet-id slots of a new client, a constant (built in place, not by
/// a loop).
const FREE_SLOTS: [Slot; PACKET_ID_SLOTS] = [Slot::FREE; PACKET_ID_SLOTS];
/// Most filters in one SUBSCRIBE or UNSUBSCRIBE call (MQTT 5 builds gather
/// them on the stack).
pub(crate) const MAX_FILTERS_PER_CALL: usize = 8;

/// Bytes of storage `emq_client_init` needs on 32-bit targets (Cortex-M,
/// RISC-V) with every client feature; `EMQ_CLIENT_STORAGE_SIZE` in the
/// header. Builds with fewer features need less (`emq_client_storage_size`).
pub const STORAGE_SIZE_32: usize = 400;
/// The same on 64-bit hosts.
pub const STORAGE_SIZE_64: usize = 632;
/// With the `mqtt5` feature too (its session keeps the server's limits and
/// the assigned client id): `EMQ_CLIENT_STORAGE_SIZE_MQTT5`, which
/// `EMQ_CLIENT_STORAGE_SIZE` becomes when `EMBERMQ_MQTT5` is defined.
pub const STORAGE_SIZE_MQTT5_32: usize = 576;
/// The same on 64-bit hosts.
pub const STORAGE_SIZE_MQTT5_64: usize = 880;
/// Alignment of that storage; `EMQ_CLIENT_STORAGE_ALIGN` in the header.
pub const STORAGE_ALIGN: usize = 8;

#[cfg(all(target_pointer_width = "32", not(feature = "mqtt5")))]
const STORAGE_SIZE: usize = STORAGE_SIZE_32;
#[cfg(all(not(target_pointer_width = "32"), not(feature = "mqtt5")))]
const STORAGE_SIZE: usize = STORAGE_SIZE_64;
#[cfg(all(target_pointer_width = "32", feature = "mqtt5"))]
const STORAGE_SIZE: usize = STORAGE_SIZE_MQTT5_32;
#[cfg(all(not(target_pointer_width = "32"), feature = "mqtt5"))]
const STORAGE_SIZE: usize = STORAGE_SIZE_MQTT5_64;

// The header's constants must hold the client: a failed build here means
// cbindgen.toml's EMQ_CLIENT_STORAGE_* lines and these constants need
// updating (to the size with every feature on, without and with mqtt5).
const _: () = assert!(core::mem::size_of::<emq_client>() <= STORAGE_SIZE);
#[cfg(all(
    feature = "reconnect",
    feature = "subscriptions",
    feature = "log-events",
    feature = "persistence",
    feature = "lock-hooks",
    feature = "connect-start",
    feature = "websocket",
    feature = "ack-events",
    feature = "drop-unacked",
    // Borrowed callbacks take less room than the copy the sizes are for.
    not(feature = "borrowed-callbacks")
))]
const _: () = assert!(core::mem::size_of::<emq_client>() == STORAGE_SIZE);
const _: () = assert!(core::mem::align_of::<emq_client>() <= STORAGE_ALIGN);

/// Caller memory holding `len` values of `T`. Valid for the client's life
/// by `emq_client_init`'s contract.
#[derive(Debug)]
pub(crate) struct RawSlice<T> {
    ptr: NonNull<T>,
    len: usize,
}

impl<T> Clone for RawSlice<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for RawSlice<T> {}

/// A caller's byte buffer.
pub(crate) type RawBuffer = RawSlice<u8>;

impl<T> RawSlice<T> {
    const EMPTY: Self = RawSlice {
        ptr: NonNull::dangling(),
        len: 0,
    };

    fn new(ptr: *mut T, len: usize) -> Self {
        match NonNull::new(ptr) {
            Some(ptr) if len > 0 => RawSlice { ptr, len },
            _ => Self::EMPTY,
        }
    }

    /// The byte range it covers, to check for overlaps.
    fn range(&self) -> (usize, usize) {
        let start = self.ptr.as_ptr() as usize;
        (start, start + self.len * core::mem::size_of::<T>())
    }
}

impl<T> AsRef<[T]> for RawSlice<T> {
    fn as_ref(&self) -> &[T] {
        // SAFETY: valid and initialized for `len` values and used only by
        // this client (contract of `emq_client_init`); dangling only when empty.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T> AsMut<[T]> for RawSlice<T> {
    fn as_mut(&mut self) -> &mut [T] {
        // SAFETY: as for `as_ref`; `&mut self` makes the borrow unique.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

/// The packet-id table: in the client, or (with the `tables` feature)
/// wherever the firmware's table memory puts it.
#[cfg(feature = "tables")]
type SlotTable = RawSlice<Slot>;
#[cfg(not(feature = "tables"))]
type SlotTable = [Slot; PACKET_ID_SLOTS];
/// The inbound QoS 2 ids, likewise.
#[cfg(feature = "tables")]
type InboundTable = RawSlice<u16>;
#[cfg(not(feature = "tables"))]
type InboundTable = [u16; INBOUND_QOS2_IDS];

/// Session memory: the small tables (see `SlotTable`), the byte buffers the
/// caller's.
pub(crate) struct FirmwareMemory {
    slots: SlotTable,
    inbound_qos2: InboundTable,
    store: RawBuffer,
    tx: RawBuffer,
}

impl Memory for FirmwareMemory {
    type Config = KeptOptions;
    fn parts(&mut self) -> Parts<'_> {
        Parts {
            slots: self.slots.as_mut(),
            store: self.store.as_mut(),
            inbound_qos2: self.inbound_qos2.as_mut(),
            tx: self.tx.as_mut(),
        }
    }

    fn tx(&self) -> &[u8] {
        self.tx.as_ref()
    }
}

/// The caller's `emq_options`, kept by pointer (see `ConnectSettings`):
/// the session reads its settings and the client its command timeout from
/// them at each use, instead of 16 bytes of copies, and CONNECT its fields.
/// Set by init and reconfigure.
#[derive(Clone, Copy)]
pub(crate) struct KeptOptions(pub(crate) &'static emq_options);

impl ConfigSource for KeptOptions {
    /// `command_timeout_ms` is in the options: the client keeps nothing.
    type Timeout = ();
    #[inline(always)]
    fn config(&self) -> SessionConfig {
        let o = self.0;
        SessionConfig {
            // Not capped at the packet-id slots: every message on the wire
            // holds one, so they cap it anyway.
            inflight_window: o.inflight_window,
            ping_timeout_ms: None,
            outbox_limit: o.outbox_max_messages,
            // Without `offline-queue` the constant folds the outbox's
            // offline paths away (init refused the flags).
            queue_offline: cfg!(feature = "offline-queue") && o.queue_offline,
            queue_qos0_offline: cfg!(feature = "offline-queue") && o.queue_qos0_offline,
        }
    }
    // As `queue_qos0_offline` above.
    const QOS0_STORED: bool = cfg!(feature = "offline-queue");
    #[inline(always)]
    fn keep_timeout(_: u32) {}
    #[inline(always)]
    fn timeout_ms(&self, (): ()) -> u32 {
        self.0.command_timeout_ms
    }
}

/// The subscription table in the caller's table memory.
#[cfg(feature = "subscriptions")]
pub(crate) struct FirmwareTable {
    entries: RawSlice<Entry<Handler>>,
    bytes: RawBuffer,
}

#[cfg(feature = "subscriptions")]
impl TableMemory<Handler> for FirmwareTable {
    fn parts(&mut self) -> (&mut [Entry<Handler>], &mut [u8]) {
        (self.entries.as_mut(), self.bytes.as_mut())
    }

    fn view(&self) -> (&[Entry<Handler>], &[u8]) {
        (self.entries.as_ref(), self.bytes.as_ref())
    }
}

/// No subscription table (the `subscriptions` feature is off): its code
/// folds away at link time.
#[cfg(not(feature = "subscriptions"))]
pub(crate) struct FirmwareTable;

#[cfg(not(feature = "subscriptions"))]
impl TableMemory<Handler> for FirmwareTable {
    fn parts(&mut self) -> (&mut [Entry<Handler>], &mut [u8]) {
        (&mut [], &mut [])
    }

    fn view(&self) -> (&[Entry<Handler>], &[u8]) {
        (&[], &[])
    }
}

impl FirmwareTable {
    /// The table in `entries` and `bytes` (empty without the feature).
    #[cfg_attr(not(feature = "subscriptions"), allow(unused_variables))]
    fn new(entries: RawSlice<Entry<Handler>>, bytes: RawBuffer) -> Self {
        #[cfg(feature = "subscriptions")]
        return FirmwareTable { entries, bytes };
        #[cfg(not(feature = "subscriptions"))]
        FirmwareTable
    }
}

/// The transport of a connection: the callbacks, under WebSocket framing
/// when `emq_options.ws` was given (feature `websocket`).
#[cfg(feature = "websocket")]
pub(crate) type Transport = MaybeWs;
/// The transport of a connection: the callbacks.
#[cfg(not(feature = "websocket"))]
pub(crate) type Transport = CallbackTransport;

/// The client a firmware handle runs.
pub(crate) type Supervisor = supervisor::Supervisor<
    FirmwareMemory,
    Transport,
    CallbackClock,
    RawBuffer,
    FirmwareTable,
    Handler,
>;

/// Where a connect goes: the `host` and `port` given to the transport's
/// `connect` (the string is the caller's). The marker gives
/// `Option<Target>` a niche, so it takes 8 bytes instead of 12 (the host
/// pointer may be NULL).
pub(crate) type Target = (*const c_char, u16, TargetSet);

/// The (only) value of a set target: its niche is `Option<Target>`'s `None`.
#[derive(Clone, Copy)]
#[repr(u8)]
pub(crate) enum TargetSet {
    Yes = 1,
}

/// What CONNECT is built from: the caller's `emq_options`, kept by pointer
/// in the session (`KeptOptions`) rather than copied (48 bytes less client
/// storage): `emq_client_init` and `emq_client_reconfigure` check them, and
/// the contract keeps them valid and unchanged until `emq_client_deinit` or
/// the next reconfigure, so each CONNECT reads them again without checking.
/// MQTT 5 adds the checked CONNECT properties and Will Properties.
pub(crate) struct ConnectSettings(#[cfg(feature = "mqtt5")] [super::v5::CProperties<'static>; 2]);

/// The options `sup`'s session keeps.
fn kept_options(sup: &Supervisor) -> &'static emq_options {
    sup.client().session().kept_config().0
}

impl ConnectSettings {
    /// The settings beside `options`, which `checked` came from.
    ///
    /// # Safety
    /// `options` must be the non-NULL options `checked` was checked from,
    /// valid and unchanged for as long as the settings are used.
    pub(crate) unsafe fn from_checked(
        checked: &CheckedOptions<'static>,
        options: *const emq_options,
    ) -> Self {
        let settings = ConnectSettings(
            #[cfg(feature = "mqtt5")]
            checked.properties,
        );
        // What each CONNECT reads is what was checked.
        // SAFETY: non-NULL and valid (contract).
        let o = unsafe { &*options };
        #[cfg(feature = "mqtt5")]
        debug_assert!(
            ConnectOptions {
                properties: checked.connect.properties,
                will_properties: checked.connect.will_properties,
                ..settings.options_from(o)
            } == checked.connect
        );
        #[cfg(not(feature = "mqtt5"))]
        debug_assert!(settings.options_from(o) == checked.connect);
        settings
    }

    /// The CONNECT `o` describes (MQTT 3.1.x fields).
    fn packet(o: &'static emq_options) -> Connect<'static> {
        // SAFETY (all blocks below): the pointers and lengths passed
        // `check_options` (strings NUL-terminated UTF-8, byte pointers valid
        // for their lengths) and are unchanged since (contract).
        let text = |ptr: *const c_char| {
            (!ptr.is_null())
                .then(|| unsafe { core::str::from_utf8_unchecked(super::c_str_bytes(ptr)) })
        };
        // NULL only with length 0 (checked).
        let bytes = |ptr: *const u8, len: usize| {
            (!ptr.is_null()).then(|| unsafe { core::slice::from_raw_parts(ptr, len) })
        };
        // Filled field by field: each string's length is a call, and a
        // field stored at once is not held in a register (or spilled)
        // across the next one.
        let mut packet = Connect {
            client_id: "",
            username: None,
            password: bytes(o.password, o.password_len),
            keep_alive: o.keepalive_secs,
            clean_session: o.clean_session,
            // The level is checked (3, 4, or 5 with `mqtt5`): 3 is 3.1,
            // and MQTT 5 names its own level in its CONNECT, so 3.1.1
            // stands in for it here. One test, not `from_u8`'s range check
            // and a fallback.
            protocol: match o.protocol_level {
                3 => ProtocolLevel::V3_1,
                _ => ProtocolLevel::V3_1_1,
            },
            will: None,
        };
        packet.client_id = text(o.client_id).unwrap_or("");
        packet.username = text(o.username);
        packet.will = text(o.will_topic).map(|topic| LastWill {
            topic,
            payload: bytes(o.will_payload, o.will_payload_len).unwrap_or(&[]),
            qos: QoS::from_u8(o.will_qos).unwrap_or(QoS::AtMostOnce),
            retain: o.will_retain,
        });
        packet
    }

    /// The settings as the session takes them, from `o`.
    fn options_from(&self, o: &'static emq_options) -> ConnectOptions<'_> {
        let p = Self::packet(o);
        ConnectOptions {
            client_id: p.client_id,
            username: p.username,
            password: p.password,
            keep_alive_secs: p.keep_alive,
            clean_session: p.clean_session,
            protocol: p.protocol,
            will: p.will,
            #[cfg(feature = "mqtt5")]
            properties: self.0[0].properties(),
            #[cfg(feature = "mqtt5")]
            will_properties: self.0[1].properties(),
        }
    }

    /// The settings as the session takes them, from the options `sup`
    /// keeps.
    #[cfg(feature = "mqtt5")]
    pub(crate) fn options<'a>(&'a self, sup: &Supervisor) -> ConnectOptions<'a> {
        self.options_from(kept_options(sup))
    }

    /// Has `sup`'s client put CONNECT in the send buffer over `transport`.
    /// Without MQTT 5, from the packet built here: no `ConnectOptions`
    /// copy of it on the stack while CONNECT is encoded.
    pub(crate) fn queue_connect(
        &self,
        sup: &mut Supervisor,
        transport: Transport,
    ) -> Result<(), Error> {
        let o = kept_options(sup);
        #[cfg(feature = "mqtt5")]
        return sup
            .client_mut()
            .queue_connect(transport, &self.options_from(o));
        #[cfg(not(feature = "mqtt5"))]
        sup.client_mut()
            .queue_connect_packet(transport, &Self::packet(o))
    }
}

/// Keeps `options` (checked) for the session's settings and CONNECT, in
/// place of those reconfigure replaces.
///
/// # Safety
/// As for `ConnectSettings::from_checked`.
pub(crate) unsafe fn keep_options(sup: &mut Supervisor, options: *const emq_options) {
    // SAFETY: non-NULL and valid while kept (contract).
    sup.client_mut()
        .set_session_config(KeptOptions(unsafe { &*options }));
}

/// Nothing beyond the shared state.
pub(crate) struct CoreExtra;

/// The transport behind `emq_client.link`.
pub(crate) type Link = CallbackTransport;

/// The buffers a firmware client works in, owned by the caller and lent for
/// the client's life (until `emq_client_deinit`). They must not overlap
/// each other or the client's storage. Fields added at the end keep their
/// defaults when zero, so an initializer that names the first six still works.
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
    /// Memory for the tables sized by the four capacities below, at least
    /// `emq_tables_size(buffers)` bytes aligned to 8. NULL with 0: two
    /// packet ids, eight inbound QoS 2 ids, no subscription table, kept in
    /// the client's storage.
    pub tables: *mut c_void,
    /// Length of `tables`.
    pub tables_size: usize,
    /// Packet ids in use at once: QoS 1/2 messages in the outbox plus
    /// pending SUBSCRIBE/UNSUBSCRIBE requests (the in-flight window is at
    /// most this). 0: 2.
    pub packet_ids: u16,
    /// Inbound QoS 2 messages delivered and awaiting PUBREL at once. 0: 8.
    pub inbound_qos2: u16,
    /// Subscriptions remembered for resubscribing after a session loss and
    /// for per-filter handlers. 0: none.
    pub subscriptions: u16,
    /// Bytes the remembered filters may take together.
    pub subscription_bytes: u16,
}

/// Lock hooks (e.g. over a FreeRTOS mutex), so that one client can be used
/// from several tasks. embermq holds the lock for each short step that
/// reads or changes the client, never while a callback or the transport's
/// `recv` wait runs: one task may publish while another waits in poll. The
/// lock need not be recursive. Both functions are required.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emq_lock {
    /// Takes the lock (blocks until it is free).
    pub lock: Option<unsafe extern "C" fn(user_data: *mut c_void)>,
    /// Releases it.
    pub unlock: Option<unsafe extern "C" fn(user_data: *mut c_void)>,
    /// Passed to both.
    pub user_data: *mut c_void,
}

/// The hooks of an `emq_lock`, checked.
#[cfg(feature = "lock-hooks")]
#[derive(Clone, Copy)]
struct LockHooks {
    lock: unsafe extern "C" fn(*mut c_void),
    unlock: unsafe extern "C" fn(*mut c_void),
    user_data: *mut c_void,
}

/// An MQTT client in storage the firmware provides (see
/// `EMQ_CLIENT_STORAGE_SIZE`). Initialize with `emq_client_init`.
#[allow(non_camel_case_types)]
pub struct emq_client(ClientFields);

/// What an `emq_client` holds, in declared order with the state first: a
/// handle is then also the address of the client inside it, so loops over
/// the network keep one pointer in a register instead of two (the wait
/// loop's frame is 8 bytes smaller). Apart from `emq_client`, whose header
/// type stays opaque.
#[repr(C)]
pub struct ClientFields {
    core: UnsafeCell<Core>,
    /// The transport's callbacks (never changed after init: each reader
    /// works on its own copy, see `LinkGuard`).
    link: Link,
    /// The receive buffer, which `next_event` reads into without the lock.
    #[cfg(feature = "lock-hooks")]
    rx: RawBuffer,
    /// Lock hooks, set before other tasks use the client.
    #[cfg(feature = "lock-hooks")]
    lock: Cell<Option<LockHooks>>,
    /// Nesting depth of callbacks currently running (changed under the lock).
    in_callback: Cell<u16>,
    /// `emq_client_deinit` was called inside one of its callbacks: the
    /// client ends when the outermost call that ran the callback is over.
    deinit_requested: Cell<bool>,
    /// A task is reading from the network (poll, wait, connect): changed
    /// under the lock.
    #[cfg(feature = "lock-hooks")]
    reading: Cell<bool>,
    /// Tables used when the caller gives no table memory.
    #[cfg(feature = "tables")]
    default_slots: UnsafeCell<[Slot; PACKET_ID_SLOTS]>,
    #[cfg(feature = "tables")]
    default_inbound_qos2: UnsafeCell<[u16; INBOUND_QOS2_IDS]>,
    /// The WebSocket layer, in `emq_ws_options.buffer`, when set.
    #[cfg(feature = "websocket")]
    ws: Cell<Option<NonNull<WsLink>>>,
    /// The receive buffer's size: the longest WebSocket frame accepted.
    #[cfg(feature = "websocket")]
    rx_size: usize,
}

/// The client's state, borrowed for one step of an API call, under the
/// lock hooks if set. The shared code never holds two at once, nor one
/// while C code runs (the same rule that keeps hosts free of deadlocks), so
/// the borrow is unique.
pub(crate) struct CoreGuard<'a>(&'a emq_client);

impl<'a> CoreGuard<'a> {
    // Out of line: every step of every call takes the lock.
    #[cfg_attr(feature = "lock-hooks", inline(never))]
    fn new(c: &'a emq_client) -> Self {
        #[cfg(feature = "lock-hooks")]
        if let Some(hooks) = c.lock.get() {
            // SAFETY: the firmware's lock function.
            unsafe { (hooks.lock)(hooks.user_data) };
        }
        CoreGuard(c)
    }
}

#[cfg(feature = "lock-hooks")]
impl Drop for CoreGuard<'_> {
    #[inline(never)]
    fn drop(&mut self) {
        if let Some(hooks) = self.0.lock.get() {
            // SAFETY: the firmware's unlock function, for the lock taken in `new`.
            unsafe { (hooks.unlock)(hooks.user_data) };
        }
    }
}

impl Deref for CoreGuard<'_> {
    type Target = Core;
    fn deref(&self) -> &Core {
        // SAFETY: a unique borrow for the guard's life (see `CoreGuard`).
        unsafe { &*self.0.core.get() }
    }
}

impl DerefMut for CoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Core {
        // SAFETY: as for `deref`.
        unsafe { &mut *self.0.core.get() }
    }
}

/// The transport, borrowed by the one task reading from the network.
pub(crate) struct LinkGuard<'a> {
    link: Link,
    /// The client, to release the `reading` flag (lock hooks only: without
    /// them the guard is the link alone, a word less in poll's frame).
    #[cfg(feature = "lock-hooks")]
    client: &'a emq_client,
    #[cfg(not(feature = "lock-hooks"))]
    client: core::marker::PhantomData<&'a emq_client>,
}

#[cfg(feature = "lock-hooks")]
impl Drop for LinkGuard<'_> {
    fn drop(&mut self) {
        let _core = CoreGuard::new(self.client);
        self.client.reading.set(false);
    }
}

impl Deref for LinkGuard<'_> {
    type Target = Link;
    fn deref(&self) -> &Link {
        &self.link
    }
}

impl DerefMut for LinkGuard<'_> {
    fn deref_mut(&mut self) -> &mut Link {
        &mut self.link
    }
}

impl Deref for emq_client {
    type Target = ClientFields;
    fn deref(&self) -> &ClientFields {
        &self.0
    }
}

impl emq_client {
    /// The state, for one step.
    pub(crate) fn core(&self) -> CoreGuard<'_> {
        CoreGuard::new(self)
    }

    /// The transport, for reading from the network; EMQ_ERR_BUSY while
    /// another task reads (firmware has no way to wait for it).
    pub(crate) fn try_link(&self) -> Result<LinkGuard<'_>, emq_err> {
        #[cfg(feature = "lock-hooks")]
        {
            let _core = self.core();
            if self.reading.replace(true) {
                return Err(EMQ_ERR_BUSY);
            }
        }
        Ok(LinkGuard {
            link: self.link,
            #[cfg(feature = "lock-hooks")]
            client: self,
            #[cfg(not(feature = "lock-hooks"))]
            client: core::marker::PhantomData,
        })
    }

    /// The handle as C sees it, for callback arguments.
    pub(crate) fn as_ptr(&self) -> *mut emq_client {
        (self as *const emq_client).cast_mut()
    }

    /// True when a callback asked for `emq_client_deinit`.
    pub(crate) fn free_requested(&self) -> bool {
        let _core = self.core();
        self.deinit_requested.get()
    }

    /// True while one of this client's callbacks runs.
    pub(crate) fn in_callback_here(&self) -> bool {
        let _core = self.core();
        self.in_callback.get() > 0
    }

    /// Refuses calls that would read the network under a running callback.
    pub(crate) fn refuse_in_callback(&self) -> Result<(), emq_err> {
        if self.in_callback_here() {
            Err(EMQ_ERR_IN_CALLBACK)
        } else {
            Ok(())
        }
    }
}

/// Runs `body` (no unwinding here: a panic ends in `emq_platform_abort`).
pub(crate) fn guard(body: impl FnOnce() -> Result<(), emq_err>) -> emq_err {
    match body() {
        Ok(()) => EMQ_OK,
        Err(err) => err,
    }
}

/// Calls a C callback with the client marked as inside a callback.
/// Once a callback asked for `emq_client_deinit`, no further callback runs
/// (the application may already have freed what its `user_data` points to).
// Inlined into each caller, but the marking on both sides is shared: a
// firmware has a dozen callback sites, each otherwise a copy of it.
#[inline(always)]
pub(crate) fn in_callback(c: &emq_client, call: impl FnOnce()) {
    if enter_callback(c) {
        call();
        leave_callback(c);
    }
}

/// Marks `c` as inside a callback; false (nothing marked) once a callback
/// asked for `emq_client_deinit`.
#[inline(never)]
fn enter_callback(c: &emq_client) -> bool {
    let _core = c.core();
    if c.deinit_requested.get() {
        return false;
    }
    c.in_callback.set(c.in_callback.get().saturating_add(1));
    true
}

/// Ends what `enter_callback` marked.
#[inline(never)]
fn leave_callback(c: &emq_client) {
    let _core = c.core();
    c.in_callback.set(c.in_callback.get().saturating_sub(1));
}

/// No other thread frees room in the outbox.
pub(crate) fn room_may_come(_: &emq_client) -> bool {
    false
}

/// Never called (no other thread makes progress); gives the state back.
pub(crate) fn wait_for_progress<'a>(
    _: &'a emq_client,
    core: CoreGuard<'a>,
    _limit_ms: u32,
) -> CoreGuard<'a> {
    core
}

/// Nobody waits for progress.
pub(crate) fn notify_progress(_: &emq_client) {}

/// The transport's `connect` runs inside the connect call (or is polled:
/// `Core::opening`).
pub(crate) fn is_opening(_: &emq_client) -> bool {
    false
}

/// Firmware opening is tracked in `Core::opening`.
pub(crate) fn end_opening(_: &emq_client) {}

/// Poll always drives firmware clients.
pub(crate) fn claim_poll(_: &emq_client) -> Result<(), emq_err> {
    Ok(())
}

/// Firmware publishes write at once (`None`: the plain publish path).
#[inline(always)]
pub(crate) fn publish_write(_: &emq_client) -> Option<crate::client::Write> {
    None
}

/// Never called: firmware publishes are written at once.
pub(crate) fn output_held(_: &emq_client) {}

/// No batching: firmware publishes are written at once.
#[inline(always)]
pub(crate) fn batch<T>(_: &emq_client, body: impl FnOnce() -> T) -> T {
    body()
}

/// There is no network thread to stop.
pub(crate) fn attempt_cancelled(_: &emq_client) -> bool {
    false
}

/// There is no network thread to stop.
pub(crate) fn stop_requested(_: &emq_client) -> bool {
    false
}

/// There is no network thread to wake.
pub(crate) fn wake(_: &emq_client) {}

/// There is no network thread to wait on.
pub(crate) fn wait_on_thread(_: &emq_client, _: u16, _: u32) -> Option<emq_err> {
    None
}

/// No sleeping: the firmware's loop calls poll again.
pub(crate) fn sleep_ms(_: u32) {}

/// Waits for a reconnect attempt end at once instead of sleeping.
pub(crate) fn can_sleep() -> bool {
    false
}

/// No text: firmware reports log events through `on_log_event` only.
pub(crate) fn log_line(_: &Core, _: &LogRecord) -> Option<&'static [u8]> {
    None
}

/// A stored message's bytes in the store, for the persistence hook. The
/// hook runs on this task without the state borrowed; nothing it may call
/// (publish, subscribe, disconnect) frees or moves a stored message.
pub(crate) fn stored_copy(core: &mut Core, packet_id: u16) -> Option<RawBuffer> {
    let packet = core.sup.client_mut().stored_packet(packet_id)?;
    Some(RawSlice::new(packet.as_ptr().cast_mut(), packet.len()))
}

/// The target of `emq_client_connect(host, port)`: `host` may be NULL.
///
/// # Safety
/// `host` must be NULL or NUL-terminated, and stay valid while reconnecting.
pub(crate) unsafe fn target_arg(host: *const c_char, port: u16) -> Result<Target, emq_err> {
    Ok((host, port, TargetSet::Yes))
}

/// Opens the transport with its `connect` callback (then the WebSocket
/// upgrade, if the client has one).
pub(crate) fn open_transport(
    c: &emq_client,
    link: &mut Link,
    target: &Target,
    timeout_ms: u32,
    wait: bool,
) -> Result<Option<Transport>, Error> {
    let opened = open_callbacks(c, link, target, timeout_ms, wait)?;
    #[cfg(feature = "websocket")]
    let opened = match (opened, c.ws.get()) {
        (Some(cb), Some(ws)) => Some(upgrade(c, cb, ws, target).inspect_err(|_| {
            crate::transport::Transport::close(link);
        })?),
        (opened, _) => opened.map(|cb| MaybeWs { cb, ws: None }),
    };
    Ok(opened)
}

/// Runs the WebSocket upgrade over the just opened callbacks, within the
/// command timeout (also when the open was polled: the upgrade is short).
#[cfg(feature = "websocket")]
fn upgrade(
    c: &emq_client,
    mut cb: CallbackTransport,
    mut ws: NonNull<WsLink>,
    target: &Target,
) -> Result<MaybeWs, Error> {
    /// The client's clock, for the upgrade's deadline.
    struct Now<'a>(&'a emq_client);
    impl crate::transport::Clock for Now<'_> {
        fn now_ms(&mut self) -> Millis {
            self.0.core().sup.client_mut().now_ms()
        }
    }
    let timeout = c.core().sup.client().command_timeout_ms();
    // SAFETY: NULL or NUL-terminated (contract of connect); UTF-8 checked.
    let host = unsafe { opt_str_arg(target.0) }
        .map_err(|_| Error::InvalidArgument)?
        .unwrap_or("localhost");
    // SAFETY: the WsLink lives in the client's buffer; this task holds
    // the link, so nothing else uses it.
    let layer = unsafe { ws.as_mut() };
    let up = crate::transport::ws::Upgrade {
        host,
        port: target.1,
        tls: target.1 == crate::transport::ws::WSS_PORT,
        path: layer.path,
        headers: layer.headers,
    };
    layer.handshake(&mut cb, &mut Now(c), &up, timeout)?;
    Ok(MaybeWs { cb, ws: Some(ws) })
}

/// Opens the transport with its `connect` callback.
fn open_callbacks(
    c: &emq_client,
    link: &mut Link,
    target: &Target,
    timeout_ms: u32,
    wait: bool,
) -> Result<Option<CallbackTransport>, Error> {
    let deadline = time::after(c.core().sup.client_mut().now_ms(), timeout_ms);
    let mut left = timeout_ms;
    // Bounded by the deadline (and the count, should the clock stand still).
    for _ in 0..10_000 {
        // SAFETY: the host is NULL or NUL-terminated (contract of connect).
        match unsafe { link.open(target.0, target.1, left) } {
            Ok(true) => return Ok(Some(*link)),
            Ok(false) if wait => {}
            Ok(false) => return Ok(None),
            Err(err) => return Err(err),
        }
        left = time::until(c.core().sup.client_mut().now_ms(), deadline);
        if left == 0 {
            break;
        }
    }
    crate::transport::Transport::close(link);
    Err(Error::Timeout)
}

pub use crate::transport::callbacks::emq_transport_status;

/// Gives up a transport whose `connect` is still in progress.
pub(crate) fn abandon_open(link: &mut Link) {
    crate::transport::Transport::close(link);
}

/// Closes a transport whose `connect` is still in progress (disconnect,
/// deinit), through a copy of the callbacks: the call that runs a
/// callback may hold the link.
pub(crate) fn close_opening(c: &emq_client) {
    let mut transport = c.link;
    crate::transport::Transport::close(&mut transport);
}

/// The next event, waiting in the transport's `recv` until `deadline` at
/// most. `Ok(None)`: nothing by the deadline.
/// The core `Error` is handed on as it is (callers convert it once): the
/// event then goes straight into the caller's slot, not through a copy.
// Inlined into the poll, wait and CONNACK loops: one frame less between
// the API call and the client's turn, the deepest path (−8 B measured).
#[cfg(not(feature = "lock-hooks"))]
#[inline(always)]
pub(crate) fn next_event(c: &emq_client, deadline: Millis) -> Result<Option<ClientEvent>, Error> {
    let now = c.core().sup.client_mut().now_ms();
    next_event_within(c, time::until(now, deadline))
}

/// [`next_event`] waiting `timeout_ms` at most from now: the event loop
/// of `emq_client_poll` (which reads no clock of its own for it).
#[cfg(not(feature = "lock-hooks"))]
#[inline(always)]
pub(crate) fn next_event_within(
    c: &emq_client,
    timeout_ms: u32,
) -> Result<Option<ClientEvent>, Error> {
    // Not through `with_core`: its `emq_err` would be taken apart into a
    // `Result` again, copying the event.
    let (event, logged) = {
        let mut core = c.core();
        let event = core.sup.poll_event(timeout_ms);
        (event, core.sup.has_logs())
    };
    if logged {
        super::client::emit_logs(c);
    }
    event
}

/// [`next_event`] waiting `timeout_ms` at most from now, as a deadline:
/// the wait runs without the lock, in turns that each read the clock.
#[cfg(feature = "lock-hooks")]
pub(crate) fn next_event_within(
    c: &emq_client,
    timeout_ms: u32,
) -> Result<Option<ClientEvent>, Error> {
    let now = c.core().sup.client_mut().now_ms();
    next_event(c, time::after(now, timeout_ms))
}

/// The next event, waiting in the transport's `recv` until `deadline` at
/// most, without the lock: other tasks may publish meanwhile.
/// `Ok(None)`: nothing by the deadline. The caller holds the link.
#[cfg(feature = "lock-hooks")]
pub(crate) fn next_event(c: &emq_client, deadline: Millis) -> Result<Option<ClientEvent>, Error> {
    // Log events go out only after the read: a log callback may disconnect
    // and close the transport this turn is about to read from.
    let quietly = |body: &mut dyn FnMut(&mut Core) -> Result<(), Error>| body(&mut c.core());
    // Bounded by the deadline: each turn returns or waits in `recv`.
    loop {
        let mut event = None;
        let mut wait = None;
        // Waited under the lock (a WebSocket) with nothing to show: again.
        #[cfg_attr(not(feature = "websocket"), allow(unused_mut))]
        let mut waited_locked = false;
        let result = quietly(&mut |core| {
            event = core.sup.poll_event(0)?;
            if event.is_none() {
                let client = core.sup.client_mut();
                let now = client.now_ms();
                let until = client
                    .next_deadline()
                    .map_or(deadline, |t| time::earlier(t, deadline));
                let ms = time::until(now, until);
                // A WebSocket's state changes as it reads (and it may
                // answer a ping): its reads stay under the lock.
                #[cfg(feature = "websocket")]
                if ms > 0 && client.transport().is_some_and(|t| t.ws.is_some()) {
                    event = core.sup.poll_event(ms)?;
                    waited_locked = event.is_none();
                    return Ok(());
                }
                if ms > 0 {
                    let transport = client.transport().copied();
                    wait = client.input_window().zip(transport).map(|w| (w, ms));
                }
            }
            Ok(())
        });
        if let Err(err) = result {
            super::client::emit_logs(c);
            return Err(err);
        }
        if waited_locked {
            super::client::emit_logs(c);
            continue;
        }
        let Some(((window, mut transport), ms)) = wait else {
            super::client::emit_logs(c);
            return Ok(event);
        };
        // SAFETY: `rx` is the caller's receive buffer; nothing else touches
        // `rx[start..start + len]` until `input_arrived` (this task holds
        // the link, the only reader).
        let room = unsafe {
            core::slice::from_raw_parts_mut(c.rx.ptr.as_ptr().add(window.start), window.len)
        };
        let read = transport.read(room, ms);
        let lost = c.core().sup.input_arrived(window, read);
        super::client::emit_logs(c);
        if lost.is_some() {
            return Ok(lost);
        }
    }
}

/// Sets lock hooks (see `emq_lock`), or removes them with NULL. Call it
/// right after `emq_client_init`, before other tasks use the client.
/// EMQ_ERR_NULL_POINTER when `lock` or `unlock` is missing (nothing
/// changes). Needs the `lock-hooks` cargo feature (else hooks give
/// EMQ_ERR_UNSUPPORTED).
///
/// # Safety
/// `client` must be a live client used by no other task yet; `lock` NULL or
/// valid, its functions callable for the client's life.
#[no_mangle]
pub unsafe extern "C" fn emq_client_set_lock(
    client: *mut emq_client,
    lock: *const emq_lock,
) -> emq_err {
    // SAFETY: NULL or live per the contract.
    let Some(c) = (unsafe { client.as_ref() }) else {
        return EMQ_ERR_NULL_POINTER;
    };
    // SAFETY: NULL or valid per the contract.
    let hooks = match unsafe { lock.as_ref() } {
        None => None,
        Some(l) => match (l.lock, l.unlock) {
            (Some(lock), Some(unlock)) => Some((lock, unlock, l.user_data)),
            _ => return EMQ_ERR_NULL_POINTER,
        },
    };
    #[cfg(feature = "lock-hooks")]
    c.lock.set(hooks.map(|(lock, unlock, user_data)| LockHooks {
        lock,
        unlock,
        user_data,
    }));
    #[cfg(not(feature = "lock-hooks"))]
    {
        let _ = c;
        if hooks.is_some() {
            return EMQ_ERR_UNSUPPORTED;
        }
    }
    EMQ_OK
}

/// Bytes of storage `emq_client_init` needs in this build: the header's
/// `EMQ_CLIENT_STORAGE_SIZE` with every client feature, less with fewer (a
/// firmware may define `EMQ_CLIENT_STORAGE_SIZE` to this before including
/// the header).
#[no_mangle]
pub extern "C" fn emq_client_storage_size() -> usize {
    core::mem::size_of::<emq_client>()
}

/// Alignment `emq_client_init` needs for its storage; equal to the header's
/// `EMQ_CLIENT_STORAGE_ALIGN`.
#[no_mangle]
pub extern "C" fn emq_client_storage_align() -> usize {
    STORAGE_ALIGN
}

/// The tables carved out of the caller's table memory.
#[cfg_attr(not(feature = "tables"), allow(dead_code))]
struct Tables {
    slots: RawSlice<Slot>,
    inbound_qos2: RawSlice<u16>,
    entries: RawSlice<Entry<Handler>>,
    filter_bytes: RawBuffer,
}

/// Rounds `at` up to `T`'s alignment.
fn aligned_for<T>(at: usize) -> Option<usize> {
    let align = core::mem::align_of::<T>();
    Some(at.checked_add(align - 1)? / align * align)
}

/// Where each table lies in table memory starting at `base` (offsets when
/// `base` is 0), and the end.
fn table_layout(b: &emq_buffers, base: usize) -> Option<[usize; 5]> {
    let slots = usize::from(if b.packet_ids == 0 {
        PACKET_ID_SLOTS as u16
    } else {
        b.packet_ids
    });
    let inbound = usize::from(if b.inbound_qos2 == 0 {
        INBOUND_QOS2_IDS as u16
    } else {
        b.inbound_qos2
    });
    let entries = usize::from(b.subscriptions);
    let slots_at = aligned_for::<Slot>(base)?;
    let inbound_at = aligned_for::<u16>(slots_at + slots * core::mem::size_of::<Slot>())?;
    let entries_at = aligned_for::<Entry<Handler>>(inbound_at + inbound * 2)?;
    let bytes_at = entries_at.checked_add(entries * core::mem::size_of::<Entry<Handler>>())?;
    let end = bytes_at.checked_add(usize::from(b.subscription_bytes))?;
    Some([slots_at, inbound_at, entries_at, bytes_at, end])
}

/// Bytes of table memory (`emq_buffers.tables`) the capacities in `buffers`
/// need, or 0 for NULL. Every table starts aligned when the memory is
/// aligned to 8.
///
/// # Safety
/// `buffers` must be NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn emq_tables_size(buffers: *const emq_buffers) -> usize {
    // SAFETY: NULL or valid per the contract.
    let Some(b) = (unsafe { buffers.as_ref() }) else {
        return 0;
    };
    table_layout(b, 0).map_or(usize::MAX, |layout| layout[4])
}

/// `count` values of `T` at byte `offset` of `base` (its own pointer also
/// when empty: aligned, so a valid empty slice). Pointer arithmetic from
/// `base`, not an address cast back to a pointer, so the slice keeps the
/// caller's pointer provenance.
///
/// # Safety
/// `base + offset` must be aligned and valid for `count` values, unused by
/// others.
unsafe fn table_at<T>(base: NonNull<u8>, offset: usize, count: usize) -> RawSlice<T> {
    RawSlice {
        // SAFETY: within the caller's memory per the contract.
        ptr: unsafe { base.add(offset) }.cast::<T>(),
        len: count,
    }
}

/// Carves the tables out of the caller's table memory, initialized.
///
/// # Safety
/// `b.tables` must be NULL or writable for `b.tables_size` bytes.
unsafe fn carve_tables(b: &emq_buffers) -> Result<Option<Tables>, emq_err> {
    let Some(mem) = NonNull::new(b.tables.cast::<u8>()) else {
        if b.tables_size != 0 {
            return Err(EMQ_ERR_NULL_POINTER);
        }
        // `|`, not `||`: one test instead of a branch per capacity.
        if b.packet_ids | b.inbound_qos2 | b.subscriptions != 0 {
            // Capacities without memory for them.
            return Err(EMQ_ERR_BUFFER_TOO_SMALL);
        }
        return Ok(None);
    };
    if !cfg!(feature = "tables")
        || (!cfg!(feature = "subscriptions") && (b.subscriptions != 0 || b.subscription_bytes != 0))
    {
        // Left out of this firmware build at link time.
        return Err(EMQ_ERR_UNSUPPORTED);
    }
    let base = b.tables as usize;
    if base % STORAGE_ALIGN != 0 {
        return Err(EMQ_ERR_MISALIGNED);
    }
    let [slots_at, inbound_at, entries_at, bytes_at, end] =
        table_layout(b, base).ok_or(EMQ_ERR_INVALID_ARGUMENT)?;
    if end - base > b.tables_size {
        return Err(EMQ_ERR_BUFFER_TOO_SMALL);
    }
    let slots = (inbound_at - slots_at) / core::mem::size_of::<Slot>();
    let inbound = (entries_at - inbound_at) / 2;
    let entries = (bytes_at - entries_at) / core::mem::size_of::<Entry<Handler>>();
    // SAFETY (all): aligned (by the layout), within the caller's memory
    // (checked above), which is the client's alone (contract).
    unsafe {
        // Every table starts empty, and an empty slot, id, entry or filter
        // byte is all zero bits (`Slot::FREE` and `Entry::EMPTY` are: their
        // tests say so), so one fill clears all four (a loop each before).
        mem.add(slots_at - base).write_bytes(0, end - slots_at);
        Ok(Some(Tables {
            slots: table_at(mem, slots_at - base, slots),
            inbound_qos2: table_at(mem, inbound_at - base, inbound),
            entries: table_at(mem, entries_at - base, entries),
            filter_bytes: table_at(mem, bytes_at - base, end - bytes_at),
        }))
    }
}

/// Checks one caller buffer: NULL only when empty, within the size limits.
fn buffer_arg(ptr: *mut u8, len: usize, min: usize) -> Result<RawBuffer, emq_err> {
    if len < min {
        return Err(if ptr.is_null() {
            EMQ_ERR_NULL_POINTER
        } else {
            EMQ_ERR_BUFFER_TOO_SMALL
        });
    }
    if len == 0 {
        return Ok(RawBuffer::EMPTY);
    }
    // The NULL test that refuses a missing buffer also makes the pointer
    // (no second test in `RawSlice::new`).
    let Some(start) = NonNull::new(ptr) else {
        return Err(EMQ_ERR_NULL_POINTER);
    };
    // Store offsets are 32-bit and no packet exceeds MAX_BUFFER.
    if len > MAX_BUFFER || (ptr as usize).checked_add(len).is_none() {
        return Err(EMQ_ERR_INVALID_ARGUMENT);
    }
    Ok(RawSlice { ptr: start, len })
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
/// `command_timeout_ms`, `inflight_window` (at most `buffers->packet_ids`),
/// `outbox_max_messages`, the offline queueing flags, `auto_reconnect` with
/// `reconnect_min_ms`/`reconnect_max_ms` (reconnects go through the
/// transport's `connect` and are driven by `emq_client_poll`),
/// `resubscribe` (with a subscription table in `buffers`), `persistence`
/// (the `load` hook runs here) and `log_level` (for `on_log_event`).
/// `options` itself, its strings and bytes are borrowed, not copied (each
/// CONNECT reads them again), and must stay valid and unchanged until
/// `emq_client_deinit` (or the next successful `emq_client_reconfigure`). The buffer sizes and table capacities come from
/// `buffers`. `tls` is a host feature: EMQ_ERR_TLS_UNAVAILABLE.
///
/// Errors: EMQ_ERR_NULL_POINTER (storage, options, transport, its
/// send/recv, clock, buffers, rx, tx or out missing),
/// EMQ_ERR_BUFFER_TOO_SMALL (storage, a buffer or the table memory too
/// small), EMQ_ERR_MISALIGNED (storage or table memory),
/// EMQ_ERR_INVALID_ARGUMENT (overlapping memory, bad option values), or
/// what the persistence `load` hook returned.
///
/// # Safety
/// `storage` must be NULL or writable for `storage_size` bytes; `options`
/// NULL or valid, and it and its strings unchanged until
/// `emq_client_deinit`; `transport` NULL
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
            // SAFETY: `init` returned a live client.
            let loaded = unsafe { load_saved(&*client) };
            if loaded != EMQ_OK {
                // SAFETY: live, not used again.
                unsafe { core::ptr::drop_in_place(client) };
                // SAFETY: non-NULL and writable per the contract.
                unsafe { out.write(core::ptr::null_mut()) };
                return loaded;
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

/// Runs the persistence `load` hook, if any.
fn load_saved(c: &emq_client) -> emq_err {
    if !cfg!(feature = "persistence") {
        return EMQ_OK;
    }
    let hooks = c.core().persistence.hooks();
    let Some(load) = hooks.load else {
        return EMQ_OK;
    };
    let mut loaded = EMQ_OK;
    // SAFETY: firmware hook; the client is live and not borrowed, so it may
    // call emq_client_restore.
    in_callback(c, || loaded = unsafe { load(hooks.user_data, c.as_ptr()) });
    super::client::emit_logs(c);
    loaded
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
    // `let else` and a NULL test, not `ok_or(..)?`: RISC-V rebuilt each
    // value from its `Result` (`p + (p == 0)`).
    let Some(clock) = clock else {
        return Err(EMQ_ERR_NULL_POINTER);
    };
    let clock = CallbackClock::new(clock);
    if buffers.is_null() {
        return Err(EMQ_ERR_NULL_POINTER);
    }
    // SAFETY: non-NULL, so valid per the contract.
    let b = unsafe { &*buffers };
    let rx = buffer_arg(b.rx, b.rx_size, MIN_BUFFER)?;
    let tx = buffer_arg(b.tx, b.tx_size, MIN_BUFFER)?;
    let store = buffer_arg(b.store, b.store_size, 0)?;
    let tables_end = (b.tables as usize)
        .checked_add(b.tables_size)
        .ok_or(EMQ_ERR_INVALID_ARGUMENT)?;
    let client_end = (storage as usize)
        .checked_add(storage_size)
        .ok_or(EMQ_ERR_INVALID_ARGUMENT)?;
    let ranges = [
        (storage as usize, client_end),
        rx.range(),
        tx.range(),
        store.range(),
        (b.tables as usize, tables_end),
    ];
    // Each range against the ones before it: `..i` needs no bound check.
    for (i, a) in ranges.iter().enumerate() {
        if ranges[..i].iter().any(|b| overlap(*a, *b)) {
            return Err(EMQ_ERR_INVALID_ARGUMENT);
        }
    }
    // SAFETY: NULL or valid per the contract.
    let o = &unsafe { options_arg(options) }?;
    // SAFETY: the option pointers are valid for the client's life (contract).
    let checked = unsafe { check_options(o) }?;
    if !o.tls.is_null() || checked.transport == emq_transport_choice::EMQ_TRANSPORT_TLS {
        return Err(EMQ_ERR_TLS_UNAVAILABLE);
    }
    if !o.ws.is_null() {
        // Firmware WebSocket is emq_client_set_websocket (random source and
        // work memory come with it).
        return Err(EMQ_ERR_UNSUPPORTED);
    }
    // SAFETY: non-NULL (checked by `options_arg`) and kept valid (contract).
    let config = KeptOptions(unsafe { &*options });
    let client = storage.cast::<emq_client>();
    // SAFETY: in bounds of the checked storage (no reference is made).
    let handle = unsafe { addr_of_mut!((*client).0) };
    // SAFETY: non-NULL, aligned and large enough (checked), writable per
    // the contract. The borrowed options go in at once, so they are not
    // kept on the stack while the rest is built; a
    // failure further on leaves nothing that needs dropping.
    unsafe {
        let core = UnsafeCell::raw_get(addr_of_mut!((*handle).core));
        addr_of_mut!((*core).connect).write(ConnectSettings::from_checked(&checked, options));
        addr_of_mut!((*core).persistence).write(super::client::Persistence::new(o.persistence));
    }
    // SAFETY: the table memory is writable and the client's (contract).
    let tables = unsafe { carve_tables(b) }?;
    // SAFETY: non-NULL, aligned and large enough (checked), writable per
    // the contract; whatever was there before is not read or dropped. Field
    // by field, so no whole client is built on the stack first (firmware
    // stacks are small; this was the deepest frame).
    unsafe {
        #[cfg(not(feature = "tables"))]
        let (slots, inbound_qos2, table) = {
            let _ = tables;
            (
                FREE_SLOTS,
                [0u16; INBOUND_QOS2_IDS],
                FirmwareTable::new(RawSlice::EMPTY, RawSlice::EMPTY),
            )
        };
        #[cfg(feature = "tables")]
        addr_of_mut!((*handle).default_slots).write(UnsafeCell::new(FREE_SLOTS));
        #[cfg(feature = "tables")]
        addr_of_mut!((*handle).default_inbound_qos2).write(UnsafeCell::new([0; INBOUND_QOS2_IDS]));
        #[cfg(feature = "tables")]
        let (slots, inbound_qos2, table) = match tables {
            Some(t) => (
                t.slots,
                t.inbound_qos2,
                FirmwareTable::new(t.entries, t.filter_bytes),
            ),
            None => (
                RawSlice::new(
                    UnsafeCell::raw_get(addr_of_mut!((*handle).default_slots)).cast::<Slot>(),
                    PACKET_ID_SLOTS,
                ),
                RawSlice::new(
                    UnsafeCell::raw_get(addr_of_mut!((*handle).default_inbound_qos2)).cast::<u16>(),
                    INBOUND_QOS2_IDS,
                ),
                FirmwareTable::new(RawSlice::EMPTY, RawSlice::EMPTY),
            ),
        };
        let memory = FirmwareMemory {
            slots,
            inbound_qos2,
            store,
            tx,
        };
        let core = UnsafeCell::raw_get(addr_of_mut!((*handle).core));
        addr_of_mut!((*core).sup).write(Supervisor::new(
            Client::new(
                // Its tables were cleared above (or by carve_tables).
                Session::new_cleared(memory, config),
                clock,
                rx,
                o.command_timeout_ms,
            ),
            Subscriptions::new(table),
            checked.behaviour,
            // Jitter differs between devices by where their client lives.
            storage as usize as u32,
        ));
        // A new session's empty outbox is never refused; topic aliases
        // that leave too little of the receive buffer are (what was
        // written of the storage so far needs no dropping).
        #[cfg(feature = "mqtt5")]
        checked.select_protocol(&mut *addr_of_mut!((*core).sup))?;
        addr_of_mut!((*core).target).write(KeptTarget::NONE);
        addr_of_mut!((*core).opening).write(Opening::NONE);
        addr_of_mut!((*core).callbacks).write(KeptCallbacks::default());
        addr_of_mut!((*core).user_data).write(core::ptr::null_mut());
        addr_of_mut!((*core).extra).write(CoreExtra);
        #[cfg(feature = "mqtt5")]
        addr_of_mut!((*core).received).write(crate::client::Span::default());
        addr_of_mut!((*handle).link).write(transport);
        #[cfg(feature = "lock-hooks")]
        {
            addr_of_mut!((*handle).rx).write(rx);
            addr_of_mut!((*handle).lock).write(Cell::new(None));
            addr_of_mut!((*handle).reading).write(Cell::new(false));
        }
        #[cfg(feature = "websocket")]
        {
            addr_of_mut!((*handle).ws).write(Cell::new(None));
            addr_of_mut!((*handle).rx_size).write(rx.len);
        }
        addr_of_mut!((*handle).in_callback).write(Cell::new(0));
        addr_of_mut!((*handle).deinit_requested).write(Cell::new(false));
    }
    Ok(client)
}

/// Makes every connection of `client` speak MQTT over WebSocket (RFC 6455)
/// over its transport callbacks: after `connect` succeeds, the HTTP/1.1
/// upgrade to `path` (default "/mqtt") with `Host:` the host given to
/// `emq_client_connect` ("localhost" for NULL; its port unless 80 or 443),
/// `Sec-WebSocket-Protocol: mqtt` and the extra `headers`, then MQTT in
/// masked binary frames, within `command_timeout_ms`. `ws->random` and
/// `ws->buffer` are required; the buffer, the strings and the random
/// source must stay valid until `emq_client_deinit` (they are borrowed)
/// and the buffer must not overlap the client's other memory. NULL turns
/// WebSocket off again. Call it while disconnected
/// (EMQ_ERR_ALREADY_CONNECTED otherwise). Needs the `websocket` cargo
/// feature (else EMQ_ERR_UNSUPPORTED: a firmware without it links none of
/// it). Errors: EMQ_ERR_NULL_POINTER (client, random or buffer missing),
/// EMQ_ERR_BUFFER_TOO_SMALL (buffer), EMQ_ERR_INVALID_ARGUMENT (path,
/// headers, overlapping memory), EMQ_ERR_INVALID_UTF8.
///
/// # Safety
/// `client` must be NULL or a live client; `ws` NULL or valid, with its
/// strings and buffer valid and unused by others until `emq_client_deinit`.
#[no_mangle]
pub unsafe extern "C" fn emq_client_set_websocket(
    client: *mut emq_client,
    ws: *const emq_ws_options,
) -> emq_err {
    // SAFETY: NULL or live per the contract.
    let Some(c) = (unsafe { client.as_ref() }) else {
        return EMQ_ERR_NULL_POINTER;
    };
    if c.core().sup.client().state() != crate::session::State::Disconnected {
        return EMQ_ERR_ALREADY_CONNECTED;
    }
    #[cfg(feature = "websocket")]
    {
        // SAFETY: forwarded contract.
        match unsafe { ws_arg(c, ws) } {
            Ok(link) => {
                c.ws.set(link);
                EMQ_OK
            }
            Err(err) => err,
        }
    }
    #[cfg(not(feature = "websocket"))]
    {
        let _ = c;
        if ws.is_null() {
            EMQ_OK
        } else {
            EMQ_ERR_UNSUPPORTED
        }
    }
}

/// Checks `ws` and places the WebSocket layer in its buffer.
///
/// # Safety
/// As for `emq_client_set_websocket`.
#[cfg(feature = "websocket")]
unsafe fn ws_arg(
    c: &emq_client,
    ws: *const emq_ws_options,
) -> Result<Option<NonNull<WsLink>>, emq_err> {
    // SAFETY: NULL or valid per the contract.
    let Some(w) = (unsafe { ws.as_ref() }) else {
        return Ok(None);
    };
    let fill = w.random.ok_or(EMQ_ERR_NULL_POINTER)?;
    if w.buffer.is_null() {
        return Err(EMQ_ERR_NULL_POINTER);
    }
    let start = w.buffer as usize;
    let end = start
        .checked_add(w.buffer_size)
        .ok_or(EMQ_ERR_INVALID_ARGUMENT)?;
    let me = c as *const emq_client as usize;
    if overlap((me, me + core::mem::size_of::<emq_client>()), (start, end)) {
        return Err(EMQ_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: NULL or NUL-terminated, valid for the client's life (contract).
    let path = unsafe { opt_str_arg(w.path) }?.unwrap_or(crate::transport::ws::DEFAULT_PATH);
    // SAFETY: as above.
    let headers = unsafe { opt_str_arg(w.headers) }?.unwrap_or("");
    let random = CallbackRandom {
        fill,
        user_data: w.random_user_data,
    };
    // SAFETY: the caller's buffer, writable and the client's (contract).
    let link = unsafe { WsLink::place(w.buffer, w.buffer_size, random, path, headers, c.rx_size) }
        .map_err(emq_err::from)?;
    Ok(Some(link))
}

/// Closes the connection, if any (without DISCONNECT, so the broker
/// publishes the will), and ends the client: its storage and buffers are
/// the caller's again. NULL is ignored. Inside one of this client's
/// callbacks it takes effect when the call that ran the callback is over;
/// the client must not be used after the callback.
///
/// # Safety
/// `client` must be NULL or a client from `emq_client_init` not yet ended.
#[no_mangle]
pub unsafe extern "C" fn emq_client_deinit(client: *mut emq_client) -> emq_err {
    // SAFETY: NULL or live per the contract.
    let Some(c) = (unsafe { client.as_ref() }) else {
        return EMQ_OK;
    };
    if c.in_callback_here() {
        let mut core = c.core();
        c.deinit_requested.set(true);
        // Borrowed callbacks are not read again: the application may free
        // them once the callback returns (a copy is never called again
        // either, see `enter_callback`).
        if cfg!(feature = "borrowed-callbacks") {
            core.callbacks = KeptCallbacks::default();
        }
        return EMQ_OK;
    }
    // SAFETY: forwarded contract; `c` is not used again.
    unsafe { free_now(client) }
}

/// Ends a client: closes the connection without DISCONNECT.
///
/// # Safety
/// `client` must be a live client nothing else uses, not inside one of its
/// callbacks.
pub(crate) unsafe fn free_now(client: *mut emq_client) -> emq_err {
    // SAFETY: live per the contract; the borrows end here.
    let c = unsafe { &*client };
    if c.core().opening.take().is_some() {
        // A transport `connect` still in progress: closed as on a timeout.
        close_opening(c);
    }
    c.core().sup.client_mut().abort();
    // SAFETY: live and initialized; not used again (contract). Nothing in
    // it owns memory, so this only ends its life.
    unsafe { core::ptr::drop_in_place(client) };
    EMQ_OK
}
