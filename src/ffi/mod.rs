//! The `extern "C"` surface: opaque `emq_client` handles, `#[repr(C)]`
//! options filled by `emq_options_default`, callbacks taking `void
//! *user_data`, and `emq_err` codes. Every entry point checks its pointers
//! and contains panics (in release builds, which use `panic = "abort"`, a
//! bug aborts instead; nothing ever unwinds into C).
//!
//! This module holds what hosts and firmware share: the types, the option
//! defaults and argument checks; `client` holds every client function,
//! written once. What differs between builds is in `sys`: `host` (std)
//! allocates handles on the heap, locks them with a mutex and opens TCP/TLS
//! (and runs the network thread); `firmware` (no_std) places them in
//! caller storage and opens the C transport callbacks.
#![allow(non_camel_case_types)]

mod client;
mod error;
#[cfg(not(feature = "std"))]
mod firmware;
#[cfg(feature = "std")]
mod host;
mod v5;

pub use client::*;
pub use error::{emq_err, emq_err_str};
#[cfg(not(feature = "std"))]
use firmware as sys;
#[cfg(not(feature = "std"))]
pub use firmware::*;
#[cfg(feature = "std")]
use host as sys;
#[cfg(feature = "std")]
pub use host::*;
pub use v5::*;

use crate::codec::{QoS, SubscribeTopic};
use core::ffi::{c_char, c_void};
use emq_err::*;

/// Connection states reported by `emq_client_state`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum emq_state {
    /// No connection.
    EMQ_STATE_DISCONNECTED = 0,
    /// Resolving the host and opening the TCP connection.
    EMQ_STATE_CONNECTING = 1,
    /// CONNECT sent, waiting for CONNACK.
    EMQ_STATE_WAITING_CONNACK = 2,
    /// Connected: CONNACK accepted.
    EMQ_STATE_CONNECTED = 3,
    /// DISCONNECT being sent.
    EMQ_STATE_DISCONNECTING = 4,
}

/// Severity of a log line passed to `on_log`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum emq_log_level {
    /// Nothing is logged.
    EMQ_LOG_NONE = 0,
    /// Failures: connection lost, protocol errors.
    EMQ_LOG_ERROR = 1,
    /// Unusual but handled conditions.
    EMQ_LOG_WARNING = 2,
    /// Connection lifecycle.
    EMQ_LOG_INFO = 3,
    /// Every packet.
    EMQ_LOG_DEBUG = 4,
}

/// Client options. Always start from `emq_options_default()` so fields added
/// later get their defaults. Strings are NUL-terminated and copied by
/// `emq_client_new`: the caller may free them afterwards. `emq_client_init`
/// (firmware) copies nothing: it keeps a pointer to the struct, which with
/// its strings must stay valid and unchanged until `emq_client_deinit` (or
/// the next successful `emq_client_reconfigure`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emq_options {
    /// `sizeof(emq_options)` as the program was compiled, set by
    /// `emq_options_default`: fields a newer library added after it keep
    /// their defaults. 0 or larger than this library's is
    /// EMQ_ERR_STRUCT_SIZE.
    pub struct_size: usize,
    /// Client identifier; NULL or "" asks the broker to assign one (needs clean_session).
    pub client_id: *const c_char,
    /// Username, or NULL for none.
    pub username: *const c_char,
    /// Password bytes (binary allowed), or NULL for none. Needs a username.
    pub password: *const u8,
    /// Length of `password` in bytes.
    pub password_len: usize,
    /// Keepalive interval in seconds; 0 disables pings. Default 60.
    pub keepalive_secs: u16,
    /// Start a clean session (default true).
    pub clean_session: bool,
    /// 3 for MQTT 3.1, 4 for MQTT 3.1.1 (default), 5 for MQTT 5.0 (cargo
    /// feature `mqtt5`: hosts have it; without it 5 is EMQ_ERR_UNSUPPORTED),
    /// which announces `session_expiry_secs`, `receive_maximum` and
    /// `maximum_packet_size`.
    pub protocol_level: u8,
    /// Last-will topic, or NULL for no will.
    pub will_topic: *const c_char,
    /// Last-will payload bytes (may be NULL when `will_payload_len` is 0).
    pub will_payload: *const u8,
    /// Length of `will_payload`.
    pub will_payload_len: usize,
    /// Last-will QoS (0..2).
    pub will_qos: u8,
    /// Publish the will as retained.
    pub will_retain: bool,
    /// Receive buffer: the largest packet that can be received. Default 16 KiB.
    pub rx_buffer_size: usize,
    /// Send buffer: the largest packet that can be sent. Default 16 KiB.
    pub tx_buffer_size: usize,
    /// Bytes kept for copies of unacknowledged QoS 1/2 messages (resent after
    /// a reconnect). Must hold at least one message. Default 64 KiB.
    pub store_size: usize,
    /// Outbound QoS 1/2 messages unacknowledged at once (1..=65535). Default 20.
    pub inflight_window: u16,
    /// Bound on connect (TCP and CONNACK), on each write and the default for
    /// waits, in milliseconds. Default 10000.
    pub command_timeout_ms: u32,
    /// Disable Nagle's algorithm (default true: no 40 ms stall per QoS 1 round trip).
    pub tcp_nodelay: bool,
    /// Most verbose level passed to `on_log`: an `emq_log_level` value
    /// (an int, so an out-of-range value is an error, not undefined). Default
    /// EMQ_LOG_INFO.
    pub log_level: core::ffi::c_int,
    /// TLS settings (see `emq_tls_options`), or NULL. When set, every
    /// connection uses TLS. When NULL, TLS with the defaults (Mozilla roots,
    /// verification required) is used only for port 8883 or an `mqtts://`
    /// URI. Read by `emq_client_new` only.
    pub tls: *const emq_tls_options,
    /// Reconnect by itself after a lost connection or a failed attempt,
    /// until `emq_client_disconnect`; `emq_client_poll`/`wait` drive it.
    /// Default false, as in the firmware MQTT modules.
    pub auto_reconnect: bool,
    /// First retry this long after the loss, in ms. Default 3000.
    pub reconnect_min_ms: u32,
    /// Retries back off exponentially (with jitter) up to this, in ms.
    /// Refusals for bad credentials or authorization wait this long.
    /// Default 60000.
    pub reconnect_max_ms: u32,
    /// After a reconnect the broker answered with session present = 0,
    /// subscribe again to every filter (`on_subscribed` reports it).
    /// Default true.
    pub resubscribe: bool,
    /// Most messages the outbox keeps (unacknowledged QoS 1/2, queued
    /// offline messages); the bytes are bounded by `store_size`. A full
    /// outbox is EMQ_ERR_STORE_FULL. Default 256.
    pub outbox_max_messages: u16,
    /// Accept QoS 1/2 publishes while disconnected into the outbox (sent
    /// after the next CONNACK) instead of EMQ_ERR_NOT_CONNECTED; likewise
    /// subscribe and unsubscribe (remembered in the subscription table,
    /// sent after the next CONNACK, packet id 0 returned; unsubscribes only
    /// if the broker kept the session). Default false. Firmware: needs the
    /// cargo feature `offline-queue` (else EMQ_ERR_UNSUPPORTED).
    pub queue_offline: bool,
    /// Also queue QoS 0 publishes made while disconnected. Default false.
    /// Firmware: needs `offline-queue`, as `queue_offline`.
    pub queue_qos0_offline: bool,
    /// Outbox persistence hooks; all NULL by default.
    pub persistence: emq_persistence,
    /// How connections are made: an `emq_transport_choice` value. Default
    /// EMQ_TRANSPORT_AUTO. Firmware builds accept AUTO and TCP only: their
    /// transport callbacks are the connection.
    pub transport: core::ffi::c_int,
    /// Retry every `reconnect_min_ms` exactly: no doubling, no jitter
    /// (NodeMCU's and LuatOS's fixed interval). Default false.
    pub reconnect_fixed_interval: bool,
    /// Retry only a connection that once got CONNACK: a failed first
    /// attempt is reported (`on_connect_failed`) and not retried. Default false.
    pub reconnect_after_connack_only: bool,
    /// On a lost connection, drop the QoS 1/2 messages that were sent and
    /// not acknowledged instead of resending them after the reconnect;
    /// `on_dropped` hears of each. Messages not yet sent stay. Default false.
    /// Firmware: needs the cargo feature `drop-unacked` (else
    /// EMQ_ERR_UNSUPPORTED).
    pub drop_unacked_on_loss: bool,
    /// Call every handler whose filter matches a message, in subscription
    /// order, not only the first. Default false.
    pub all_matching_handlers: bool,
    /// Host build: MQTT over WebSocket settings (see `emq_ws_options`), or
    /// NULL: extra upgrade headers for `ws://` and `wss://` URIs, and when
    /// set, `emq_client_connect` uses WebSocket too (TLS under it as for
    /// plain MQTT, `path` as the request path). Copied by `emq_client_new`.
    /// Firmware: must be NULL (EMQ_ERR_UNSUPPORTED otherwise); WebSocket
    /// there is `emq_client_set_websocket`, which also takes the random
    /// source and work memory. The field is in both builds so that
    /// `emq_options` has one layout.
    pub ws: *const emq_ws_options,
    /// MQTT 5 (`protocol_level` 5): seconds the broker keeps the session
    /// after the connection closes (0: it ends with the connection,
    /// 0xFFFFFFFF: never); replaces `clean_session`'s keeping. Default 0.
    pub session_expiry_secs: u32,
    /// MQTT 5: the largest packet the broker may send; 0 announces the
    /// receive buffer's size. Default 0.
    pub maximum_packet_size: u32,
    /// MQTT 5: most QoS 1/2 messages the broker may send before this client
    /// acknowledges them; 0 announces none (the standard's 65535). Default 0.
    pub receive_maximum: u16,
    /// MQTT 5: topic aliases the broker may use toward this client
    /// (announced as Topic Alias Maximum); messages still reach callbacks
    /// with their whole topic. Default 0 (none).
    pub topic_alias_maximum: u16,
    /// MQTT 5: topic aliases this client sets on its QoS 0 publishes
    /// (within the broker's maximum): a topic published again goes out as
    /// its alias alone. Default 0 (none).
    pub topic_alias_outgoing: u16,
    /// MQTT 5: bytes of topic one alias holds, both ways. The aliases take
    /// `(topic_alias_maximum + topic_alias_outgoing) * (2 +
    /// topic_alias_length)` bytes from the receive buffer, which must keep
    /// 64 (EMQ_ERR_INVALID_ARGUMENT). A longer topic is never aliased by
    /// this client; one the broker aliases closes the connection with
    /// EMQ_ERR_TOPIC_ALIAS_TOO_LONG. Default 0; must be set with either.
    pub topic_alias_length: u16,
    /// MQTT 5: more CONNECT properties, `connect_property_count` of them
    /// (NULL with 0, the default: none): User Properties, Request Response
    /// Information, Request Problem Information. Checked when the client is
    /// created (EMQ_ERR_INVALID_PROPERTY); hosts copy them, firmware keeps
    /// the array and what it points to for the client's life. Ignored over
    /// 3.1.x.
    pub connect_properties: *const emq_property,
    /// Entries at `connect_properties`.
    pub connect_property_count: usize,
    /// MQTT 5: the will's properties (Will Delay Interval, Message Expiry
    /// Interval, Payload Format Indicator, Content Type, Response Topic,
    /// Correlation Data, User Properties), `will_property_count` of them,
    /// kept as `connect_properties` are.
    pub will_properties: *const emq_property,
    /// Entries at `will_properties`.
    pub will_property_count: usize,
}

/// Fills `len` bytes at `buf` with unpredictable random bytes (a hardware
/// RNG, a seeded CSPRNG) and returns 0, or a negative value on failure (the
/// connection attempt then fails with EMQ_ERR_IO). WebSocket masking keys
/// and the upgrade's key come from it.
pub type emq_random = Option<
    unsafe extern "C" fn(user_data: *mut c_void, buf: *mut u8, len: usize) -> core::ffi::c_int,
>;

/// MQTT over WebSocket settings: `emq_options.ws` on hosts,
/// `emq_client_set_websocket` on firmware. Start from
/// `emq_ws_options_default()`. The upgrade request always asks for the
/// `mqtt` subprotocol; the server must agree.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emq_ws_options {
    /// Request path of connections not made from a `ws://` or `wss://` URI
    /// (whose path wins), e.g. "/mqtt" (the default, also for NULL).
    pub path: *const c_char,
    /// Extra header lines of the upgrade request, e.g.
    /// "Authorization: Bearer abc\r\nX-Tenant: 7", separated by CRLF or LF,
    /// or NULL. Host, Upgrade, Connection and Sec-WebSocket-Key, -Version,
    /// -Protocol are set by embermq and refused here.
    pub headers: *const c_char,
    /// Firmware (required there): the source of random bytes for masking
    /// keys. Hosts use the operating system's and ignore it.
    pub random: emq_random,
    /// Passed to `random`.
    pub random_user_data: *mut c_void,
    /// Firmware: work memory for the upgrade (the request, then the
    /// server's answer) and for masking outgoing frames, owned by the
    /// caller until `emq_client_deinit`. At least 256 bytes; 1 KiB is
    /// plenty for a request without large extra headers. Hosts ignore it.
    pub buffer: *mut u8,
    /// Length of `buffer`.
    pub buffer_size: usize,
}

/// Fills `out` with the defaults: path "/mqtt", no extra headers, no
/// random source or buffer (firmware must set both).
///
/// # Safety
/// `out` must be NULL or point to writable memory for an `emq_ws_options`.
#[no_mangle]
pub unsafe extern "C" fn emq_ws_options_default(out: *mut emq_ws_options) -> emq_err {
    if out.is_null() {
        return EMQ_ERR_NULL_POINTER;
    }
    let defaults = emq_ws_options {
        path: core::ptr::null(),
        headers: core::ptr::null(),
        random: None,
        random_user_data: core::ptr::null_mut(),
        buffer: core::ptr::null_mut(),
        buffer_size: 0,
    };
    // SAFETY: non-NULL and writable per the contract.
    unsafe { out.write(defaults) };
    EMQ_OK
}

/// How a host client reaches the broker (`emq_options.transport`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum emq_transport_choice {
    /// TLS when `emq_options.tls` is set, for port 8883 or an `mqtts://`
    /// URI; plain TCP otherwise.
    EMQ_TRANSPORT_AUTO = 0,
    /// Plain TCP on any port, 8883 included (a URI's scheme still wins).
    EMQ_TRANSPORT_TCP = 1,
    /// TLS on any port (a URI's scheme still wins).
    EMQ_TRANSPORT_TLS = 2,
}

impl emq_transport_choice {
    /// The choice an `emq_options.transport` value names.
    pub(crate) fn of(value: core::ffi::c_int) -> Option<Self> {
        use emq_transport_choice::*;
        // A match, not a search of the values: a range check in code.
        match value {
            0 => Some(EMQ_TRANSPORT_AUTO),
            1 => Some(EMQ_TRANSPORT_TCP),
            2 => Some(EMQ_TRANSPORT_TLS),
            _ => None,
        }
    }
}

/// A received message, valid only during the callback that receives it.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emq_message {
    /// Topic bytes (UTF-8, NOT NUL-terminated).
    pub topic: *const c_char,
    /// Topic length in bytes.
    pub topic_len: usize,
    /// Payload bytes (binary); not NULL even when empty.
    pub payload: *const u8,
    /// Payload length in bytes.
    pub payload_len: usize,
    /// QoS the message was delivered with.
    pub qos: u8,
    /// The broker sent it from its retained store.
    pub retain: bool,
    /// The broker marked it as a possible redelivery.
    pub dup: bool,
    /// Packet identifier (0 for QoS 0).
    pub packet_id: u16,
}

impl emq_message {
    /// The C view of a received message whose topic and payload lie in the
    /// client's receive buffer (valid while that buffer is not read into).
    pub(crate) fn borrowing(
        topic: &[u8],
        payload: &[u8],
        qos: QoS,
        retain: bool,
        dup: bool,
        packet_id: u16,
    ) -> emq_message {
        emq_message {
            topic: topic.as_ptr().cast(),
            topic_len: topic.len(),
            payload: payload.as_ptr(),
            payload_len: payload.len(),
            qos: qos as u8,
            retain,
            dup,
            packet_id,
        }
    }
}

/// One entry for `emq_client_subscribe_many`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emq_subscription {
    /// Topic filter, NUL-terminated; may contain `+` and `#`.
    pub filter: *const c_char,
    /// Maximum QoS wanted (0..2).
    pub qos: u8,
}

/// Called for every CONNACK: return_code 0 accepted, 1..5 refused (MQTT
/// 3.1.1, `emq_connack_str`); over MQTT 5 the reason code, 0x80 and up
/// refused (`emq_reason_str`).
#[allow(non_camel_case_types)]
pub type emq_on_connect = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client: *mut emq_client,
        session_present: bool,
        return_code: u8,
    ),
>;
/// Called when the connection ends: EMQ_OK after emq_client_disconnect,
/// otherwise the reason (keepalive timeout, closed by broker, ...).
#[allow(non_camel_case_types)]
pub type emq_on_disconnect =
    Option<unsafe extern "C" fn(user_data: *mut c_void, client: *mut emq_client, reason: emq_err)>;
/// Called for a received message no per-filter handler took.
#[allow(non_camel_case_types)]
pub type emq_on_message = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client: *mut emq_client,
        message: *const emq_message,
    ),
>;
/// Called when a publish completes: QoS 0 once handed to the connection
/// (packet_id 0; written at once, or with its burst or callback batch on
/// hosts), QoS 1 on PUBACK, QoS 2 on PUBCOMP.
#[allow(non_camel_case_types)]
pub type emq_on_published =
    Option<unsafe extern "C" fn(user_data: *mut c_void, client: *mut emq_client, packet_id: u16)>;
/// Called on SUBACK: the granted QoS per filter, in request order; 0x80 =
/// refused. Over MQTT 5 these are the SUBACK's reason codes (0x00..0x02
/// granted QoS, 0x80 and up refused, e.g. 0x87 not authorized).
#[allow(non_camel_case_types)]
pub type emq_on_subscribed = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client: *mut emq_client,
        packet_id: u16,
        granted_qos: *const u8,
        count: usize,
    ),
>;
/// Called on UNSUBACK.
#[allow(non_camel_case_types)]
pub type emq_on_unsubscribed =
    Option<unsafe extern "C" fn(user_data: *mut c_void, client: *mut emq_client, packet_id: u16)>;
/// Called with a NUL-terminated log line at or above the configured level.
/// It may run inside any embermq call, so it must not call embermq itself.
#[allow(non_camel_case_types)]
pub type emq_on_log = Option<
    unsafe extern "C" fn(user_data: *mut c_void, level: emq_log_level, message: *const c_char),
>;

/// Called for a received message larger than the receive buffer
/// (`rx_buffer_size`). It was read through without being buffered and
/// acknowledged like any other (a QoS 2 message is reported once); the
/// connection stays up. `message->topic` is empty when the topic did not fit
/// either, `message->payload` holds the start of the payload that fit, and
/// `payload_size` is the whole payload's length. Without this callback,
/// `emq_client_poll` returns EMQ_ERR_MESSAGE_OVERFLOW for such a message.
#[allow(non_camel_case_types)]
pub type emq_on_overflow = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client: *mut emq_client,
        message: *const emq_message,
        payload_size: usize,
    ),
>;

/// What a log event is about; `emq_log_event.value` means what each code says.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum emq_log_code {
    /// A connection attempt starts; value: failed attempts before it.
    EMQ_LOG_CONNECTING = 1,
    /// CONNACK accepted the connection; value: 1 if the session was present.
    EMQ_LOG_CONNECTED = 2,
    /// An attempt failed before CONNACK; error: why.
    EMQ_LOG_CONNECT_FAILED = 3,
    /// The broker refused the connection; value: the CONNACK return code.
    EMQ_LOG_CONNECT_REFUSED = 4,
    /// The connection was lost; error: why.
    EMQ_LOG_CONNECTION_LOST = 5,
    /// The next reconnect attempt is scheduled; value: the delay in ms.
    EMQ_LOG_RECONNECT_SCHEDULED = 6,
    /// A SUBSCRIBE sent again after the broker lost the session; packet_id:
    /// its id; value: how many filters it holds.
    EMQ_LOG_RESUBSCRIBING = 7,
    /// Resubscribing stopped; value: filters sent again before; error: why.
    EMQ_LOG_RESUBSCRIBE_FAILED = 8,
    /// A filter of SUBSCRIBE packet_id is not remembered for resubscribing:
    /// the subscription table is full.
    EMQ_LOG_SUBSCRIPTION_NOT_REMEMBERED = 9,
    /// Acknowledgements for packet ids not in flight were ignored; value: how many.
    EMQ_LOG_UNKNOWN_ACKS = 10,
    /// A message larger than the receive buffer was read through;
    /// packet_id: its id; value: its payload length.
    EMQ_LOG_MESSAGE_OVERFLOW = 11,
    /// The persistence hook failed to save message packet_id.
    EMQ_LOG_PERSIST_FAILED = 12,
    /// A saved message (packet_id) was put back into the outbox.
    EMQ_LOG_RESTORED = 13,
    /// DISCONNECT was sent and the connection closed.
    EMQ_LOG_DISCONNECTED = 14,
    /// Log events were dropped (the queue was full); value: how many.
    EMQ_LOG_OVERFLOW = 15,
    /// A TLS connection was made without a verified certificate; error: why.
    EMQ_LOG_TLS_NOT_VERIFIED = 16,
}

impl From<crate::client::log::LogCode> for emq_log_code {
    fn from(code: crate::client::log::LogCode) -> Self {
        use crate::client::log::LogCode::*;
        use emq_log_code::*;
        match code {
            Connecting => EMQ_LOG_CONNECTING,
            Connected => EMQ_LOG_CONNECTED,
            ConnectFailed => EMQ_LOG_CONNECT_FAILED,
            ConnectRefused => EMQ_LOG_CONNECT_REFUSED,
            ConnectionLost => EMQ_LOG_CONNECTION_LOST,
            ReconnectScheduled => EMQ_LOG_RECONNECT_SCHEDULED,
            Resubscribing => EMQ_LOG_RESUBSCRIBING,
            ResubscribeFailed => EMQ_LOG_RESUBSCRIBE_FAILED,
            SubscriptionNotRemembered => EMQ_LOG_SUBSCRIPTION_NOT_REMEMBERED,
            UnknownAcks => EMQ_LOG_UNKNOWN_ACKS,
            MessageOverflow => EMQ_LOG_MESSAGE_OVERFLOW,
            PersistFailed => EMQ_LOG_PERSIST_FAILED,
            Restored => EMQ_LOG_RESTORED,
            Disconnected => EMQ_LOG_DISCONNECTED,
            LogOverflow => EMQ_LOG_OVERFLOW,
            TlsNotVerified => EMQ_LOG_TLS_NOT_VERIFIED,
        }
    }
}

/// A log event, without formatting: what happened, about which packet.
/// Firmware builds report events only this way (no text is formatted).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emq_log_event {
    /// How much it matters.
    pub level: emq_log_level,
    /// What happened.
    pub code: emq_log_code,
    /// The MQTT packet type concerned (3 PUBLISH, 8 SUBSCRIBE, ...), or 0.
    pub packet_type: u8,
    /// The packet id concerned, or 0.
    pub packet_id: u16,
    /// A number whose meaning the code gives.
    pub value: u32,
    /// The error concerned, or EMQ_OK.
    pub error: emq_err,
}

/// Called with each log event at or above the client's log level, after
/// the call that produced it (never with a lock held). It may call embermq.
#[allow(non_camel_case_types)]
pub type emq_on_log_event = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client: *mut emq_client,
        event: *const emq_log_event,
    ),
>;

/// Callbacks; any may be NULL. Arguments are borrowed for the call only.
/// Start from `emq_callbacks_default`, which sets `struct_size`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emq_callbacks {
    /// `sizeof(emq_callbacks)` as the program was compiled, set by
    /// `emq_callbacks_default`: callbacks a newer library added after it
    /// stay NULL. 0 or larger than this library's is EMQ_ERR_STRUCT_SIZE.
    pub struct_size: usize,
    pub on_connect: emq_on_connect,
    pub on_disconnect: emq_on_disconnect,
    pub on_message: emq_on_message,
    pub on_published: emq_on_published,
    pub on_subscribed: emq_on_subscribed,
    pub on_unsubscribed: emq_on_unsubscribed,
    /// Hosts: each log event as a text line. Firmware builds never call it.
    pub on_log: emq_on_log,
    pub on_overflow: emq_on_overflow,
    /// Each log event as codes (both builds).
    pub on_log_event: emq_on_log_event,
    pub on_connect_failed: emq_on_connect_failed,
    /// Firmware: needs the cargo feature `drop-unacked` (else setting it is
    /// EMQ_ERR_UNSUPPORTED).
    pub on_dropped: emq_on_dropped,
    /// Called at the first PUBREC of an outbound QoS 2 message: the broker
    /// has it (exactly once from here on); `on_published` follows at
    /// PUBCOMP. For APIs that count QoS 2 as sent at PUBREC. Firmware:
    /// cargo feature `ack-events` (without it, setting this is
    /// EMQ_ERR_UNSUPPORTED).
    pub on_pubrec: emq_on_pubrec,
    /// Called for each PINGRESP: the broker answered a keepalive ping.
    /// Firmware: cargo feature `ack-events`, as for `on_pubrec`.
    pub on_pingresp: emq_on_pingresp,
    /// MQTT 5: an outbound QoS 1/2 message the broker refused (a PUBACK or
    /// PUBREC with a failure reason code): it is gone from the outbox and
    /// `on_published` is not called for it.
    pub on_publish_failed: emq_on_publish_failed,
    /// MQTT 5: the UNSUBACK's reason code per filter, in request order
    /// (0x00 success, 0x11 no subscription existed, 0x80 and up refused);
    /// called before `on_unsubscribed`.
    pub on_unsuback: emq_on_unsuback,
    /// MQTT 5 enhanced authentication: the broker's AUTH. 0x18 Continue
    /// authentication is a challenge (while connecting, before
    /// `on_connect`; or during a re-authentication): answer it with
    /// `emq_client_auth(client, 0x18, ...)` from here or later. 0x00
    /// Success ends a re-authentication.
    pub on_auth: emq_on_auth,
}

/// Called for the broker's MQTT 5 AUTH: its reason code and properties
/// (Authentication Method, Authentication Data, Reason String).
#[allow(non_camel_case_types)]
pub type emq_on_auth = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client: *mut emq_client,
        reason_code: u8,
        properties: *const emq_properties,
    ),
>;

/// Called on an MQTT 5 UNSUBACK: one reason code per filter, in request order.
#[allow(non_camel_case_types)]
pub type emq_on_unsuback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client: *mut emq_client,
        packet_id: u16,
        reason_codes: *const u8,
        count: usize,
    ),
>;

/// The callbacks a client copies: those of `emq_callbacks` its build can
/// call (a firmware never calls `on_log`, one without `ack-events` neither
/// `on_pubrec` nor `on_pingresp`, and one without `mqtt5` none of the
/// MQTT 5 ones), so a build pays only for its own.
#[cfg(not(all(feature = "borrowed-callbacks", not(feature = "std"))))]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Callbacks {
    pub(crate) on_connect: emq_on_connect,
    pub(crate) on_disconnect: emq_on_disconnect,
    pub(crate) on_message: emq_on_message,
    pub(crate) on_published: emq_on_published,
    pub(crate) on_subscribed: emq_on_subscribed,
    pub(crate) on_unsubscribed: emq_on_unsubscribed,
    #[cfg(feature = "std")]
    pub(crate) on_log: emq_on_log,
    pub(crate) on_overflow: emq_on_overflow,
    /// Without `log-events` no event is ever queued, so it is not kept.
    #[cfg(feature = "log-events")]
    pub(crate) on_log_event: emq_on_log_event,
    pub(crate) on_connect_failed: emq_on_connect_failed,
    /// Called only with `drop-unacked`.
    #[cfg(feature = "drop-unacked")]
    pub(crate) on_dropped: emq_on_dropped,
    #[cfg(feature = "ack-events")]
    pub(crate) on_pubrec: emq_on_pubrec,
    #[cfg(feature = "ack-events")]
    pub(crate) on_pingresp: emq_on_pingresp,
    #[cfg(feature = "mqtt5")]
    pub(crate) on_publish_failed: emq_on_publish_failed,
    #[cfg(feature = "mqtt5")]
    pub(crate) on_unsuback: emq_on_unsuback,
    #[cfg(feature = "mqtt5")]
    pub(crate) on_auth: emq_on_auth,
}

/// The fields a callback is picked from: the client's copy, or (feature
/// `borrowed-callbacks`) the caller's `emq_callbacks` itself.
#[cfg(not(all(feature = "borrowed-callbacks", not(feature = "std"))))]
pub(crate) type CallbackFields = Callbacks;
/// The fields a callback is picked from: the client's copy, or (feature
/// `borrowed-callbacks`) the caller's `emq_callbacks` itself.
#[cfg(all(feature = "borrowed-callbacks", not(feature = "std")))]
pub(crate) type CallbackFields = emq_callbacks;

/// What a client keeps of its callbacks: a copy of those its build calls
/// or, in a firmware built with `borrowed-callbacks`, a pointer to the
/// caller's `emq_callbacks` (a `static const` one stays in flash: 28 B less
/// RAM per client).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct KeptCallbacks(
    #[cfg(not(all(feature = "borrowed-callbacks", not(feature = "std"))))] Callbacks,
    #[cfg(all(feature = "borrowed-callbacks", not(feature = "std")))]
    Option<core::ptr::NonNull<emq_callbacks>>,
);

impl KeptCallbacks {
    /// What to keep of the caller's `emq_callbacks` (NULL: none).
    /// EMQ_ERR_STRUCT_SIZE, EMQ_ERR_UNSUPPORTED as for `check_callbacks`; a
    /// borrowed struct must also be this library's own layout (its fields
    /// are read in place until the next call).
    ///
    /// # Safety
    /// `ptr` must be NULL or point to an `emq_callbacks` of the size it
    /// states; when borrowed, valid and unchanged while kept.
    pub(crate) unsafe fn of(ptr: *const emq_callbacks) -> Result<Self, emq_err> {
        if ptr.is_null() {
            return Ok(Self::default());
        }
        #[cfg(not(all(feature = "borrowed-callbacks", not(feature = "std"))))]
        // SAFETY: contract forwarded.
        return unsafe { Callbacks::read(ptr) }.map(Self);
        #[cfg(all(feature = "borrowed-callbacks", not(feature = "std")))]
        {
            // SAFETY: contract forwarded.
            if unsafe { check_callbacks(ptr) }? != core::mem::size_of::<emq_callbacks>() {
                return Err(EMQ_ERR_STRUCT_SIZE);
            }
            Ok(Self(core::ptr::NonNull::new(ptr.cast_mut())))
        }
    }

    /// The fields to pick a callback from; `None`: no callbacks set.
    #[inline(always)]
    pub(crate) fn fields(&self) -> Option<&CallbackFields> {
        #[cfg(not(all(feature = "borrowed-callbacks", not(feature = "std"))))]
        return Some(&self.0);
        // SAFETY: a whole `emq_callbacks` (checked when kept), valid and
        // unchanged while kept (contract of emq_client_set_callbacks).
        #[cfg(all(feature = "borrowed-callbacks", not(feature = "std")))]
        self.0.map(|ptr| unsafe { ptr.as_ref() })
    }
}

/// Checks the caller's `emq_callbacks` and returns its `struct_size`:
/// EMQ_ERR_NULL_POINTER, EMQ_ERR_STRUCT_SIZE as for `sized_arg`;
/// EMQ_ERR_UNSUPPORTED when it sets a callback this build leaves out at
/// link time.
///
/// # Safety
/// `ptr` must be NULL or point to an `emq_callbacks` of the size it states.
unsafe fn check_callbacks(ptr: *const emq_callbacks) -> Result<usize, emq_err> {
    if ptr.is_null() {
        return Err(EMQ_ERR_NULL_POINTER);
    }
    // SAFETY: an `emq_callbacks` (so aligned as one) that starts with
    // its `usize` size (contract). An aligned read: RISC-V reads an
    // unaligned word a byte at a time.
    let size = unsafe { core::ptr::addr_of!((*ptr).struct_size).read() };
    if size < CALLBACKS_SIZE_V1 || size > core::mem::size_of::<emq_callbacks>() {
        return Err(EMQ_ERR_STRUCT_SIZE);
    }
    // The callbacks this build leaves out, which must be NULL: one run
    // of pointers (`on_pubrec`, `on_pingresp` without `ack-events`; from
    // `on_publish_failed` to the end without `mqtt5`), checked as words.
    let v5_at = core::mem::offset_of!(emq_callbacks, on_publish_failed);
    let mut at = match cfg!(feature = "ack-events") {
        true => v5_at,
        false => core::mem::offset_of!(emq_callbacks, on_pubrec),
    };
    // `on_dropped` without `drop-unacked` (in every layout, as it is in
    // V1's): the run's first word where the run starts right after it.
    let dropped_at = core::mem::offset_of!(emq_callbacks, on_dropped);
    if !cfg!(feature = "drop-unacked") {
        if dropped_at + core::mem::size_of::<usize>() == at {
            at = dropped_at;
        // SAFETY: within the caller's `size` bytes (at least V1's).
        } else if unsafe { core::ptr::addr_of!((*ptr).on_dropped).read() }.is_some() {
            return Err(EMQ_ERR_UNSUPPORTED);
        }
    }
    let end = match cfg!(feature = "mqtt5") {
        true => v5_at,
        false => size,
    };
    // Bounded by the struct's size.
    while at + core::mem::size_of::<usize>() <= end.min(size) {
        // SAFETY: a pointer-sized field within the caller's `size` bytes.
        if unsafe { ptr.cast::<u8>().add(at).cast::<usize>().read() } != 0 {
            return Err(EMQ_ERR_UNSUPPORTED);
        }
        at += core::mem::size_of::<usize>();
    }
    Ok(size)
}

#[cfg(not(all(feature = "borrowed-callbacks", not(feature = "std"))))]
impl Callbacks {
    /// The callbacks the caller's `emq_callbacks` sets that this build
    /// keeps, read field by field in place (no copy of the whole struct
    /// over its defaults on the stack): a field past the caller's
    /// `struct_size` (an older layout) is NULL. Errors as for
    /// `check_callbacks`.
    ///
    /// # Safety
    /// `ptr` must be NULL or point to an `emq_callbacks` of the size it states.
    pub(crate) unsafe fn read(ptr: *const emq_callbacks) -> Result<Callbacks, emq_err> {
        // SAFETY: contract forwarded.
        // Read only for the fields added later, which some builds leave out.
        #[allow(unused_variables)]
        let size = unsafe { check_callbacks(ptr) }?;
        // A field of the caller's struct: only through raw places, as the
        // struct may be shorter than this library's.
        macro_rules! field {
            // In every layout (`size` is at least `CALLBACKS_SIZE_V1`).
            ($name:ident) => {
                // SAFETY: within the caller's `size` bytes (checked above).
                unsafe { core::ptr::addr_of!((*ptr).$name).read() }
            };
            // Added later: NULL when the caller's layout ends before it.
            (later $name:ident) => {
                if core::mem::offset_of!(emq_callbacks, $name) < size {
                    field!($name)
                } else {
                    None
                }
            };
        }
        Ok(Callbacks {
            on_connect: field!(on_connect),
            on_disconnect: field!(on_disconnect),
            on_message: field!(on_message),
            on_published: field!(on_published),
            on_subscribed: field!(on_subscribed),
            on_unsubscribed: field!(on_unsubscribed),
            #[cfg(feature = "std")]
            on_log: field!(on_log),
            on_overflow: field!(on_overflow),
            #[cfg(feature = "log-events")]
            on_log_event: field!(on_log_event),
            on_connect_failed: field!(on_connect_failed),
            #[cfg(feature = "drop-unacked")]
            on_dropped: field!(on_dropped),
            #[cfg(feature = "ack-events")]
            on_pubrec: field!(later on_pubrec),
            #[cfg(feature = "ack-events")]
            on_pingresp: field!(later on_pingresp),
            #[cfg(feature = "mqtt5")]
            on_publish_failed: field!(later on_publish_failed),
            #[cfg(feature = "mqtt5")]
            on_unsuback: field!(later on_unsuback),
            #[cfg(feature = "mqtt5")]
            on_auth: field!(later on_auth),
        })
    }
}

/// Called when the broker refuses an outbound QoS 1/2 message (MQTT 5):
/// its packet id and the reason code (0x80 and up, e.g. 0x87 not
/// authorized, 0x97 quota exceeded).
#[allow(non_camel_case_types)]
pub type emq_on_publish_failed = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client: *mut emq_client,
        packet_id: u16,
        reason_code: u8,
    ),
>;

/// Called at the first PUBREC of an outbound QoS 2 message, with its packet id.
#[allow(non_camel_case_types)]
pub type emq_on_pubrec =
    Option<unsafe extern "C" fn(user_data: *mut c_void, client: *mut emq_client, packet_id: u16)>;

/// Called for each PINGRESP the broker sends.
#[allow(non_camel_case_types)]
pub type emq_on_pingresp =
    Option<unsafe extern "C" fn(user_data: *mut c_void, client: *mut emq_client)>;

/// Called for every connection attempt that fails, in every mode
/// (`emq_client_connect`, the network thread, automatic reconnects):
/// `reason` is why (EMQ_ERR_CONNECTION_REFUSED with the CONNACK
/// `return_code` 1..5; otherwise `return_code` is 0). `on_connect` still
/// hears of refusals.
#[allow(non_camel_case_types)]
pub type emq_on_connect_failed = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client: *mut emq_client,
        reason: emq_err,
        return_code: u8,
    ),
>;

/// Called for every QoS 1/2 message dropped from the outbox unacknowledged
/// (`emq_options.drop_unacked_on_loss`): its packet id and why (the
/// connection loss's reason). Firmware: needs the cargo feature
/// `drop-unacked` (else setting it is EMQ_ERR_UNSUPPORTED).
#[allow(non_camel_case_types)]
pub type emq_on_dropped = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client: *mut emq_client,
        packet_id: u16,
        reason: emq_err,
    ),
>;

impl Default for emq_callbacks {
    fn default() -> Self {
        emq_callbacks {
            struct_size: core::mem::size_of::<emq_callbacks>(),
            on_connect: None,
            on_disconnect: None,
            on_message: None,
            on_published: None,
            on_subscribed: None,
            on_unsubscribed: None,
            on_log: None,
            on_overflow: None,
            on_log_event: None,
            on_connect_failed: None,
            on_dropped: None,
            on_pubrec: None,
            on_pingresp: None,
            on_publish_failed: None,
            on_unsuback: None,
            on_auth: None,
        }
    }
}

/// Fills `out` with no callbacks and this header's `struct_size`.
///
/// # Safety
/// `out` must be NULL or point to writable memory for an `emq_callbacks`.
#[no_mangle]
pub unsafe extern "C" fn emq_callbacks_default(out: *mut emq_callbacks) -> emq_err {
    if out.is_null() {
        return EMQ_ERR_NULL_POINTER;
    }
    // SAFETY: non-NULL and writable per the contract.
    unsafe { out.write(emq_callbacks::default()) };
    EMQ_OK
}

/// The smallest `struct_size` accepted for `emq_options` and
/// `emq_callbacks`: their sizes in the first library that had the field.
/// When fields are added, these stay at the old sizes (freeze them with
/// `offset_of!` of the first new field).
#[cfg(feature = "std")]
const OPTIONS_SIZE_V1: usize = core::mem::offset_of!(emq_options, ws);
#[cfg(not(feature = "std"))]
const OPTIONS_SIZE_V1: usize = core::mem::size_of::<emq_options>();
const CALLBACKS_SIZE_V1: usize = core::mem::offset_of!(emq_callbacks, on_pubrec);

/// Reads a C struct that starts with its `struct_size` (as the caller's
/// header had it): the bytes it has over `defaults`, the rest left as
/// they are. EMQ_ERR_STRUCT_SIZE for a size below `min` (0: not filled by
/// its defaults function) or above this library's.
///
/// # Safety
/// `ptr` must be NULL or point to a struct of the size it states.
#[cfg(feature = "std")]
unsafe fn sized_arg<T: Copy>(
    ptr: *const T,
    min: usize,
    defaults: impl FnOnce() -> T,
) -> Result<T, emq_err> {
    if ptr.is_null() {
        return Err(EMQ_ERR_NULL_POINTER);
    }
    // SAFETY: every such struct starts with a `usize` size (contract).
    let size = unsafe { ptr.cast::<usize>().read_unaligned() };
    if size < min || size > core::mem::size_of::<T>() {
        return Err(EMQ_ERR_STRUCT_SIZE);
    }
    if size == core::mem::size_of::<T>() {
        // SAFETY: a whole T of this layout (contract).
        return Ok(unsafe { ptr.read() });
    }
    // Built only for an older layout (never while `min` is this size).
    let mut full = defaults();
    // SAFETY: readable for `size` bytes (contract); `full` is a whole T,
    // and the bytes come from a T of the caller's (older) layout, whose
    // fields are a prefix of this one.
    unsafe {
        core::ptr::copy_nonoverlapping(ptr.cast::<u8>(), (&mut full as *mut T).cast::<u8>(), size)
    };
    Ok(full)
}

/// The caller's options over the defaults (see `sized_arg`).
///
/// # Safety
/// As for `sized_arg`.
#[cfg(feature = "std")]
pub(crate) unsafe fn options_arg(ptr: *const emq_options) -> Result<emq_options, emq_err> {
    // SAFETY: forwarded.
    unsafe {
        sized_arg(ptr, OPTIONS_SIZE_V1, || {
            let mut defaults = core::mem::MaybeUninit::<emq_options>::uninit();
            // SAFETY: writes a whole emq_options.
            emq_options_default(defaults.as_mut_ptr());
            // SAFETY: initialized just above.
            defaults.assume_init()
        })
    }
}

/// The caller's options, not copied: a firmware is built with the header
/// of its library, so its struct is always whole (`OPTIONS_SIZE_V1`), and
/// 120 bytes less on the stack matter there (`emq_client_init` was the
/// deepest frame).
///
/// # Safety
/// `ptr` must be NULL or point to an `emq_options` of the size it states,
/// valid for `'a`.
#[cfg(not(feature = "std"))]
#[inline(always)]
pub(crate) unsafe fn options_arg<'a>(ptr: *const emq_options) -> Result<&'a emq_options, emq_err> {
    // SAFETY: NULL or valid per the contract.
    let options = unsafe { ptr.as_ref() }.ok_or(EMQ_ERR_NULL_POINTER)?;
    if options.struct_size != OPTIONS_SIZE_V1 {
        return Err(EMQ_ERR_STRUCT_SIZE);
    }
    Ok(options)
}

/// A handler for messages matching one subscription's filter.
#[allow(non_camel_case_types)]
pub type emq_message_handler = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        client: *mut emq_client,
        message: *const emq_message,
    ),
>;

/// Saves one outbox entry: the encoded PUBLISH packet (QoS 1 or 2) with
/// its packet id. Called by `emq_client_publish` before it returns. Return
/// EMQ_OK when saved; anything else makes the publish return
/// EMQ_ERR_PERSISTENCE (the message stays queued in memory).
pub type emq_persist_store = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        packet_id: u16,
        packet: *const u8,
        packet_len: usize,
    ) -> emq_err,
>;

/// Forgets the outbox entry with `packet_id`: it was acknowledged
/// (PUBACK, or PUBCOMP for QoS 2). Called before `on_published`.
pub type emq_persist_remove = Option<unsafe extern "C" fn(user_data: *mut c_void, packet_id: u16)>;

/// Called once by `emq_client_new`: hand every saved entry back, oldest
/// first, with `emq_client_restore(client, packet, len)`. A result other
/// than EMQ_OK makes `emq_client_new` fail with it.
pub type emq_persist_load =
    Option<unsafe extern "C" fn(user_data: *mut c_void, client: *mut emq_client) -> emq_err>;

/// Outbox persistence hooks (all NULL: the outbox lives in RAM only), so
/// firmware can keep unacknowledged QoS 1/2 messages in flash across a
/// reboot. `c_examples/file_outbox.c` is a file-backed implementation.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emq_persistence {
    /// Save an entry.
    pub store: emq_persist_store,
    /// Forget an entry.
    pub remove: emq_persist_remove,
    /// Hand saved entries back at creation.
    pub load: emq_persist_load,
    /// Passed to the three hooks.
    pub user_data: *mut c_void,
}

impl Default for emq_persistence {
    fn default() -> Self {
        emq_persistence {
            store: None,
            remove: None,
            load: None,
            user_data: core::ptr::null_mut(),
        }
    }
}

/// How much the client checks the broker's certificate (LuatOS's
/// `verify` levels 0, 1, 2).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum emq_tls_verify {
    /// Encrypt but do not check the certificate (a warning is logged).
    EMQ_TLS_VERIFY_NONE = 0,
    /// Check chain and host name, but connect either way; the outcome is
    /// given by `emq_client_tls_verify_result` (and logged if it failed).
    EMQ_TLS_VERIFY_OPTIONAL = 1,
    /// Check chain and host name; refuse the connection if either fails.
    EMQ_TLS_VERIFY_REQUIRED = 2,
}

/// TLS settings, pointed to by `emq_options.tls`. Start from
/// `emq_tls_options_default()`. Every string is NUL-terminated; PEM data
/// and files are read and checked by `emq_client_new`, so the caller may
/// free them afterwards.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emq_tls_options {
    /// Trusted CA certificates as PEM text, or NULL.
    pub ca_pem: *const c_char,
    /// Path of a PEM file of trusted CA certificates, or NULL. With neither
    /// `ca_pem` nor `ca_file`, the Mozilla roots built into embermq are used.
    pub ca_file: *const c_char,
    /// An `emq_tls_verify` value. Default `EMQ_TLS_VERIFY_REQUIRED`.
    pub verify_mode: core::ffi::c_int,
    /// Name to verify the certificate against and to send as SNI, when it
    /// differs from the host connected to (e.g. connecting by IP). NULL:
    /// the host.
    pub server_name: *const c_char,
    /// ALPN protocol names to offer, e.g. {"mqtt"} for brokers on port 443;
    /// `alpn_count` entries. NULL with 0: none.
    pub alpn_protocols: *const *const c_char,
    /// Number of entries in `alpn_protocols`.
    pub alpn_count: usize,
    /// Client certificate chain (PEM text, leaf first) for mutual TLS, or NULL.
    pub client_cert_pem: *const c_char,
    /// Path of the client certificate chain PEM file, or NULL.
    pub client_cert_file: *const c_char,
    /// Client private key as PEM text: PKCS#8, PKCS#1 (RSA), SEC1 (EC), or
    /// encrypted PKCS#8 with `client_key_password`. NULL if none.
    pub client_key_pem: *const c_char,
    /// Path of the client private key PEM file, or NULL.
    pub client_key_file: *const c_char,
    /// Password of an encrypted private key, or NULL.
    pub client_key_password: *const c_char,
}

/// Fills `out` with the defaults: Mozilla roots, verification required,
/// no client certificate, no ALPN.
///
/// # Safety
/// `out` must be NULL or point to writable memory for an `emq_tls_options`.
#[no_mangle]
pub unsafe extern "C" fn emq_tls_options_default(out: *mut emq_tls_options) -> emq_err {
    if out.is_null() {
        return EMQ_ERR_NULL_POINTER;
    }
    let null = core::ptr::null();
    let defaults = emq_tls_options {
        ca_pem: null,
        ca_file: null,
        verify_mode: emq_tls_verify::EMQ_TLS_VERIFY_REQUIRED as core::ffi::c_int,
        server_name: null,
        alpn_protocols: core::ptr::null(),
        alpn_count: 0,
        client_cert_pem: null,
        client_cert_file: null,
        client_key_pem: null,
        client_key_file: null,
        client_key_password: null,
    };
    // SAFETY: non-NULL and writable per the contract.
    unsafe { set_out(out, defaults) };
    EMQ_OK
}

/// Fills `out` with the defaults.
///
/// # Safety
/// `out` must be NULL or point to writable memory for an `emq_options`.
#[no_mangle]
pub unsafe extern "C" fn emq_options_default(out: *mut emq_options) -> emq_err {
    if out.is_null() {
        return EMQ_ERR_NULL_POINTER;
    }
    // Zeroed, then the fields whose default is not 0, NULL or false set:
    // a struct literal that names every field compiles to a store per
    // field. Every field of `emq_options` is valid as all zero bytes
    // (integers, bools, raw pointers, `Option`s of functions).
    // SAFETY: checked non-NULL above; writable per the contract.
    let o = unsafe {
        out.write_bytes(0, 1);
        &mut *out
    };
    o.struct_size = core::mem::size_of::<emq_options>();
    o.keepalive_secs = 60;
    o.clean_session = true;
    o.protocol_level = 4;
    o.rx_buffer_size = 16 * 1024;
    o.tx_buffer_size = 16 * 1024;
    o.store_size = 64 * 1024;
    o.inflight_window = 20;
    o.command_timeout_ms = 10_000;
    o.tcp_nodelay = true;
    o.log_level = emq_log_level::EMQ_LOG_INFO as core::ffi::c_int;
    o.reconnect_min_ms = 3_000;
    o.reconnect_max_ms = 60_000;
    o.resubscribe = true;
    o.outbox_max_messages = 256;
    // The rest stays 0: no client id, credentials, will, TLS, WebSocket,
    // persistence hooks or MQTT 5 limits and properties;
    // EMQ_TRANSPORT_AUTO; every other flag off.
    const _: () = assert!(emq_transport_choice::EMQ_TRANSPORT_AUTO as i32 == 0);
    EMQ_OK
}

/// Smallest buffers accepted: room for CONNECT with short fields.
const MIN_BUFFER: usize = 64;
/// Largest buffer or store accepted: the largest MQTT packet.
const MAX_BUFFER: usize = crate::codec::MAX_PACKET_SIZE;

fn log_level_of(value: core::ffi::c_int) -> Option<emq_log_level> {
    use emq_log_level::*;
    // A match, not a search of the values: a range check in code.
    match value {
        0 => Some(EMQ_LOG_NONE),
        1 => Some(EMQ_LOG_ERROR),
        2 => Some(EMQ_LOG_WARNING),
        3 => Some(EMQ_LOG_INFO),
        4 => Some(EMQ_LOG_DEBUG),
        _ => None,
    }
}

/// A NUL-terminated UTF-8 string argument; NULL is an error.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string.
// Inlined over the out-of-line `utf8_arg`, whose `Option<&str>` comes
// back in two registers (a `Result<&str, _>` goes through memory).
#[inline(always)]
unsafe fn str_arg<'a>(ptr: *const c_char) -> Result<&'a str, emq_err> {
    if ptr.is_null() {
        return Err(EMQ_ERR_NULL_POINTER);
    }
    // SAFETY: non-NULL and NUL-terminated per this function's contract.
    unsafe { utf8_arg(ptr) }.ok_or(EMQ_ERR_INVALID_UTF8)
}

/// The UTF-8 text of a NUL-terminated string, or `None` if it is not.
///
/// # Safety
/// `ptr` must point to a NUL-terminated string.
#[inline(never)]
unsafe fn utf8_arg<'a>(ptr: *const c_char) -> Option<&'a str> {
    // SAFETY: NUL-terminated per the contract.
    crate::codec::from_utf8(unsafe { c_str_bytes(ptr) })
}

/// The bytes of a NUL-terminated string, without the NUL, as
/// `CStr::from_ptr(ptr).to_bytes()` gives them: its `strlen` called
/// straight, as `CStr::from_ptr` calls it (out of line, it added the NUL
/// to the length, which `to_bytes` then took off again).
///
/// # Safety
/// `ptr` must point to a NUL-terminated string, valid and unchanged for
/// `'a`.
#[inline(always)]
pub(crate) unsafe fn c_str_bytes<'a>(ptr: *const c_char) -> &'a [u8] {
    extern "C" {
        // The C library's (core's `CStr::from_ptr` links the same symbol).
        fn strlen(s: *const c_char) -> usize;
    }
    // SAFETY: NUL-terminated per the contract: `strlen` bytes before the
    // NUL are readable.
    unsafe { core::slice::from_raw_parts(ptr.cast::<u8>(), strlen(ptr)) }
}

/// Like `str_arg`, but NULL means "none".
///
/// # Safety
/// As for `str_arg`.
// Inlined: out of line, its `Result<Option<_>>` is rebuilt from
// `str_arg`'s `Result` in memory, which costs more than the NULL test
// at each caller.
#[inline(always)]
unsafe fn opt_str_arg<'a>(ptr: *const c_char) -> Result<Option<&'a str>, emq_err> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { str_arg(ptr) }.map(Some)
    }
}

/// A byte-slice argument: NULL is allowed only with length 0.
///
/// # Safety
/// `ptr` must be NULL or valid for reading `len` bytes.
unsafe fn bytes_arg<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], emq_err> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(EMQ_ERR_NULL_POINTER);
    }
    if len > isize::MAX as usize {
        return Err(EMQ_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL and readable for `len` bytes per the contract.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// A publish's topic, payload and QoS, checked (topic rules come later).
///
/// # Safety
/// As for `str_arg` and `bytes_arg`.
#[inline(always)]
unsafe fn message_args<'a>(
    topic: *const c_char,
    payload: *const u8,
    payload_len: usize,
    qos: u8,
) -> Result<(&'a str, &'a [u8], QoS), emq_err> {
    // SAFETY: forwarded contract.
    let topic = unsafe { str_arg(topic) }?;
    // SAFETY: forwarded contract.
    let payload = unsafe { bytes_arg(payload, payload_len) }?;
    Ok((topic, payload, qos_arg(qos)?))
}

fn qos_arg(qos: u8) -> Result<QoS, emq_err> {
    QoS::from_u8(qos).map_err(|_| EMQ_ERR_INVALID_QOS)
}

/// A C array argument of 1..=`max` entries (the filters of one SUBSCRIBE
/// or UNSUBSCRIBE).
///
/// # Safety
/// `ptr` must be NULL or valid for `count` entries.
unsafe fn list_arg<'a, T>(ptr: *const T, count: usize, max: usize) -> Result<&'a [T], emq_err> {
    if count == 0 {
        return Err(EMQ_ERR_NO_TOPIC_FILTERS);
    }
    if count > max {
        return Err(EMQ_ERR_INVALID_ARGUMENT);
    }
    if ptr.is_null() {
        return Err(EMQ_ERR_NULL_POINTER);
    }
    // SAFETY: non-NULL, `count` entries per the contract.
    Ok(unsafe { core::slice::from_raw_parts(ptr, count) })
}

/// A subscribe's `emq_subscription` list or, with `unsubscribe`, an
/// unsubscribe's filter list, read in place where the C caller passed it:
/// once to check it, again (by the SUBSCRIBE encoder, which sizes and then
/// writes) to encode it. No copy of it is gathered on the stack, under
/// which the encoder would run (the deepest path of the firmwares). An
/// unsubscribe's entries take QoS 0, unused. One list type for both
/// requests.
pub(crate) struct CFilterList {
    entries: *const u8,
    count: usize,
    unsubscribe: bool,
}

impl CFilterList {
    /// The list, once its count (1..=`MAX_FILTERS_PER_CALL`), pointer and
    /// entries are checked, in that order.
    ///
    /// # Safety
    /// `ptr` must be NULL or valid for `count` entries of the type named by
    /// `unsubscribe`, with NUL-terminated filters, for as long as the list
    /// is used.
    // Inlined: the list is built in the caller's registers, not returned
    // through memory; the checks are one out-of-line copy.
    #[inline(always)]
    pub(crate) unsafe fn checked(
        ptr: *const c_void,
        count: usize,
        unsubscribe: bool,
    ) -> Result<Self, emq_err> {
        let list = CFilterList {
            entries: ptr.cast(),
            count,
            unsubscribe,
        };
        list.check()?;
        Ok(list)
    }

    /// `checked`'s checks (its contract holds), with their error codes.
    #[inline(always)]
    fn check(&self) -> Result<(), emq_err> {
        // SAFETY: `checked`'s contract (`u8` entries: only the pointer and
        // the count are checked).
        unsafe { list_arg(self.entries, self.count, sys::MAX_FILTERS_PER_CALL) }?;
        for index in 0..self.count {
            let entry = self.entry(index);
            // SAFETY: one of the `count` entries (`checked`'s contract); an
            // `emq_subscription` starts with its filter pointer, which is
            // NUL-terminated.
            unsafe { str_arg(entry.cast::<*const c_char>().read()) }?;
            if !self.unsubscribe {
                // SAFETY: as above, an `emq_subscription`.
                qos_arg(unsafe { entry.cast::<emq_subscription>().read() }.qos)?;
            }
        }
        Ok(())
    }

    /// The start of entry `index` (in bounds if below `count`).
    #[inline(always)]
    fn entry(&self, index: usize) -> *const u8 {
        let stride = if self.unsubscribe {
            size_of::<*const c_char>()
        } else {
            size_of::<emq_subscription>()
        };
        self.entries.wrapping_add(index * stride)
    }

    /// Entry `index`, or `None` from `count` on: the encoder's read.
    /// Checked again, without the codes (an
    /// entry `check` passed never fails).
    fn topic(&self, index: usize) -> Option<SubscribeTopic<'_>> {
        if index >= self.count {
            return None;
        }
        let entry = self.entry(index);
        // SAFETY: one of the `count` entries (`checked`'s contract), which
        // starts with its filter pointer.
        let filter = unsafe { entry.cast::<*const c_char>().read() };
        if filter.is_null() {
            return None;
        }
        // SAFETY: non-NULL, NUL-terminated per the contract.
        let filter = unsafe { utf8_arg(filter) }?;
        let qos = if self.unsubscribe {
            QoS::AtMostOnce
        } else {
            // SAFETY: as above, an `emq_subscription`.
            QoS::from_u8(unsafe { entry.cast::<emq_subscription>().read() }.qos).ok()?
        };
        Some(SubscribeTopic { filter, qos })
    }
}

impl crate::codec::TopicList for CFilterList {
    fn len(&self) -> usize {
        self.count
    }

    // Out of line: the encoder's one reader of the list.
    #[inline(never)]
    fn topic(&self, index: usize) -> Option<SubscribeTopic<'_>> {
        CFilterList::topic(self, index)
    }
}

/// Checks `count` C-string filters (1..=`out.len()`) into `out` and returns
/// the filled part: MQTT 5 builds' unsubscribe list.
///
/// # Safety
/// `ptr` must be NULL or valid for `count` NUL-terminated strings.
#[cfg(feature = "mqtt5")]
unsafe fn filter_args<'o, 'a>(
    ptr: *const *const c_char,
    count: usize,
    out: &'o mut Unfilled<&'a str>,
) -> Result<&'o [&'a str], emq_err> {
    // SAFETY: forwarded contract.
    let entries = unsafe { list_arg(ptr, count, out.len()) }?;
    for (slot, &entry) in out.iter_mut().zip(entries) {
        // SAFETY: NUL-terminated per the contract.
        slot.write(unsafe { str_arg(entry) }?);
    }
    // SAFETY: the loop wrote one value per entry.
    Ok(unsafe { filled(out, entries.len()) })
}

#[cfg(feature = "mqtt5")]
/// Room for the filters of one call, left unwritten until they are
/// checked into it (writing placeholders first costs a loop per call).
pub(crate) type Unfilled<T> = [core::mem::MaybeUninit<T>; sys::MAX_FILTERS_PER_CALL];

#[cfg(feature = "mqtt5")]
/// Room for the filters of one call.
#[inline(always)]
pub(crate) fn unfilled<T>() -> Unfilled<T> {
    [const { core::mem::MaybeUninit::uninit() }; sys::MAX_FILTERS_PER_CALL]
}

#[cfg(feature = "mqtt5")]
/// The first `len` values of `out`.
///
/// # Safety
/// `out[..len]` must have been written, and `len <= out.len()`.
unsafe fn filled<T>(out: &Unfilled<T>, len: usize) -> &[T] {
    // SAFETY: written (contract); `MaybeUninit<T>` has `T`'s layout.
    unsafe { core::slice::from_raw_parts(out.as_ptr().cast::<T>(), len) }
}

/// Writes `value` through an optional out-pointer.
///
/// # Safety
/// `out` must be NULL or valid for a write.
unsafe fn set_out<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out.write(value) };
    }
}

const VERSION_LEN: usize = env!("CARGO_PKG_VERSION").len() + 1;

/// The version, NUL-terminated, in a static of its own: as a string
/// literal it would share one mergeable section with every `emq_err_str`
/// message, and firmware that only logs its version would link them all.
static VERSION: [u8; VERSION_LEN] = {
    let text = env!("CARGO_PKG_VERSION").as_bytes();
    let mut out = [0u8; VERSION_LEN];
    let mut i = 0;
    while i < text.len() {
        out[i] = text[i];
        i += 1;
    }
    out
};

/// The library version, NUL-terminated.
#[no_mangle]
pub extern "C" fn emq_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

#[cfg(test)]
mod callbacks_tests {
    use super::*;

    unsafe extern "C" fn pubrec(_: *mut c_void, _: *mut emq_client, _: u16) {}

    /// `Callbacks::read` takes the fields in place: what lies past an
    /// older layout's `struct_size` is never read, and a callback the build
    /// leaves out is refused only when the caller's layout has it.
    #[test]
    fn read_in_place_respects_the_callers_layout() {
        let mut cb = emq_callbacks {
            struct_size: core::mem::size_of::<emq_callbacks>(),
            on_pubrec: Some(pubrec),
            ..Default::default()
        };
        // SAFETY: a whole struct.
        let kept = unsafe { Callbacks::read(&cb) };
        assert_eq!(kept.is_ok(), cfg!(feature = "ack-events"));
        #[cfg(feature = "ack-events")]
        assert!(kept.unwrap().on_pubrec.is_some());
        // An older layout ends before `on_pubrec`: it counts as NULL.
        cb.struct_size = CALLBACKS_SIZE_V1;
        // SAFETY: larger than the size it states.
        let kept = unsafe { Callbacks::read(&cb) }.unwrap();
        #[cfg(feature = "ack-events")]
        assert!(kept.on_pubrec.is_none());
        let _ = kept;
        for size in [
            0,
            CALLBACKS_SIZE_V1 - 1,
            core::mem::size_of::<emq_callbacks>() + 1,
        ] {
            cb.struct_size = size;
            // SAFETY: as above.
            assert_eq!(
                unsafe { Callbacks::read(&cb) }.err(),
                Some(EMQ_ERR_STRUCT_SIZE)
            );
        }
        // SAFETY: NULL is allowed.
        assert_eq!(
            unsafe { Callbacks::read(core::ptr::null()) }.err(),
            Some(EMQ_ERR_NULL_POINTER)
        );
    }
}
