//! `emq_err`: one named code per failure, and its message.

use crate::Error;
use core::ffi::c_char;

/// Result of every embermq function: `EMQ_OK` (0) or a named failure.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum emq_err {
    /// Success.
    EMQ_OK = 0,
    /// A required pointer argument was NULL.
    EMQ_ERR_NULL_POINTER = 1,
    /// An argument is out of range (QoS above 2, zero count, bad option).
    EMQ_ERR_INVALID_ARGUMENT = 2,
    /// A string argument is not valid UTF-8.
    EMQ_ERR_INVALID_UTF8 = 3,
    /// Memory for the client or its buffers could not be allocated.
    EMQ_ERR_NO_MEMORY = 4,
    /// Not allowed from inside a callback of the same client (poll, wait, connect).
    EMQ_ERR_IN_CALLBACK = 5,
    /// An internal error was contained; the client is closed. Please report it.
    EMQ_ERR_PANIC = 6,
    /// The client is driven by `emq_client_poll`; the network thread
    /// cannot be started for it.
    EMQ_ERR_POLL_DRIVEN = 7,
    /// The client is driven by its network thread (`emq_client_start`);
    /// `emq_client_poll` is not available for it.
    EMQ_ERR_THREAD_DRIVEN = 8,
    /// The network thread could not be created.
    EMQ_ERR_THREAD_START = 9,
    /// The client is not connected.
    EMQ_ERR_NOT_CONNECTED = 10,
    /// The client is already connected or connecting.
    EMQ_ERR_ALREADY_CONNECTED = 11,
    /// The broker refused the connection; the CONNACK return code is in
    /// `on_connect` and `emq_client_last_return_code`.
    EMQ_ERR_CONNECTION_REFUSED = 12,
    /// The host name could not be resolved.
    EMQ_ERR_NAME_NOT_RESOLVED = 13,
    /// No address of the host accepted a TCP connection.
    EMQ_ERR_CONNECT_FAILED = 14,
    /// The broker closed the connection.
    EMQ_ERR_CONNECTION_CLOSED = 15,
    /// A socket operation failed.
    EMQ_ERR_IO = 16,
    /// The operation did not complete within its timeout.
    EMQ_ERR_TIMEOUT = 17,
    /// No PINGRESP came in time: the link was dead and has been closed.
    EMQ_ERR_KEEPALIVE_TIMEOUT = 18,
    /// The broker broke the protocol: an acknowledgement of the wrong kind
    /// for a packet id in use (PUBCOMP for a QoS 1 message...), a SUBACK or
    /// UNSUBACK for no pending request, a second CONNACK... Acknowledgements
    /// for packet ids not in use are not: they are ignored, with a warning
    /// in the log, and a PUBREC still gets its PUBREL.
    EMQ_ERR_PROTOCOL_VIOLATION = 19,
    /// The in-flight window is full: poll for acknowledgements, then retry.
    EMQ_ERR_INFLIGHT_FULL = 20,
    /// The store for unacknowledged QoS 1/2 messages is full.
    EMQ_ERR_STORE_FULL = 21,
    /// The send buffer could not be written out in time.
    EMQ_ERR_SEND_BUFFER_FULL = 22,
    /// A packet is larger than the receive buffer, send buffer or store
    /// (`rx_buffer_size`, `tx_buffer_size`, `store_size`). An oversized
    /// incoming packet other than a message closes the connection cleanly
    /// (messages: EMQ_ERR_MESSAGE_OVERFLOW).
    EMQ_ERR_PACKET_TOO_LARGE = 23,
    /// A caller's output buffer is too small.
    EMQ_ERR_BUFFER_TOO_SMALL = 24,
    /// Too many inbound QoS 2 messages awaited PUBREL at once.
    EMQ_ERR_INBOUND_QOS2_FULL = 25,
    /// The SUBACK answered a different number of filters than were sent.
    EMQ_ERR_SUBACK_COUNT_MISMATCH = 26,
    /// A broker URI could not be parsed or names an unsupported scheme.
    EMQ_ERR_INVALID_URI = 27,
    /// The outbox persistence `store` hook failed; the message is still
    /// queued in memory and will be sent.
    EMQ_ERR_PERSISTENCE = 28,
    /// A received message was larger than the receive buffer and no
    /// `on_overflow` callback was set: it was read through, acknowledged and
    /// dropped; the connection stays up.
    EMQ_ERR_MESSAGE_OVERFLOW = 29,
    /// Malformed packet: remaining length longer than 4 bytes.
    EMQ_ERR_MALFORMED_REMAINING_LENGTH = 30,
    /// Malformed packet: reserved packet type 0 or 15.
    EMQ_ERR_INVALID_PACKET_TYPE = 31,
    /// Malformed packet: reserved flag bits set wrongly.
    EMQ_ERR_INVALID_FLAGS = 32,
    /// QoS 3 on the wire, or a QoS argument above 2.
    EMQ_ERR_INVALID_QOS = 33,
    /// Malformed packet: packet identifier 0 where one is required.
    EMQ_ERR_ZERO_PACKET_ID = 34,
    /// A string or topic longer than 65,535 bytes.
    EMQ_ERR_STRING_TOO_LONG = 35,
    /// A string containing U+0000.
    EMQ_ERR_NULL_CHARACTER = 36,
    /// Malformed packet: fields do not match the remaining length.
    EMQ_ERR_MALFORMED_PACKET = 37,
    /// Unsupported protocol name or level (use 3 or 4).
    EMQ_ERR_INVALID_PROTOCOL = 38,
    /// Invalid CONNECT flags (for example a password without a username).
    EMQ_ERR_INVALID_CONNECT_FLAGS = 39,
    /// Malformed CONNACK: return code above 5.
    EMQ_ERR_INVALID_CONNACK_CODE = 40,
    /// Malformed CONNACK: reserved flag bits set.
    EMQ_ERR_INVALID_CONNACK_FLAGS = 41,
    /// Malformed SUBACK: a return code other than 0, 1, 2, 0x80.
    EMQ_ERR_INVALID_SUBACK_CODE = 42,
    /// SUBSCRIBE or UNSUBSCRIBE without filters.
    EMQ_ERR_NO_TOPIC_FILTERS = 43,
    /// The broker sent a packet a client must never receive.
    EMQ_ERR_UNEXPECTED_PACKET = 44,
    /// An empty topic name or filter.
    EMQ_ERR_EMPTY_TOPIC = 50,
    /// A `+` or `#` in a topic name (publish topics take no wildcards).
    EMQ_ERR_WILDCARD_IN_TOPIC_NAME = 51,
    /// A topic filter with `+` or `#` in the wrong place.
    EMQ_ERR_INVALID_TOPIC_FILTER = 52,
    /// TLS: the server's certificate chain does not lead to a trusted CA.
    EMQ_ERR_TLS_CERT_NOT_TRUSTED = 60,
    /// TLS: the server's certificate is not valid for the host name
    /// (or `emq_tls_options.server_name`).
    EMQ_ERR_TLS_HOSTNAME_MISMATCH = 61,
    /// TLS: the server's certificate has expired or is not yet valid.
    EMQ_ERR_TLS_CERT_EXPIRED = 62,
    /// TLS: the handshake failed otherwise (for example the server wants a
    /// client certificate, or no common protocol version or cipher).
    EMQ_ERR_TLS_HANDSHAKE_FAILED = 63,
    /// TLS: certificate or key data is not valid PEM or holds no usable item.
    EMQ_ERR_TLS_BAD_PEM = 64,
    /// TLS: the private key is encrypted and the password is wrong or missing.
    EMQ_ERR_TLS_KEY_PASSWORD = 65,
    /// TLS: the private key's type or encryption is not supported.
    EMQ_ERR_TLS_UNSUPPORTED_KEY = 66,
    /// TLS: verify mode none, so the server certificate was not checked
    /// (a result of `emq_client_tls_verify_result`, never of a call).
    EMQ_ERR_TLS_NOT_VERIFIED = 67,
    /// TLS: a certificate or key file could not be read.
    EMQ_ERR_TLS_FILE = 68,
    /// TLS was asked for, but this build has no TLS (cargo feature `tls` off).
    EMQ_ERR_TLS_UNAVAILABLE = 69,
    /// Firmware: the client storage is not aligned to `EMQ_CLIENT_STORAGE_ALIGN`.
    EMQ_ERR_MISALIGNED = 80,
    /// The option is not supported by this build (firmware: automatic
    /// reconnect and persistence hooks are host features).
    EMQ_ERR_UNSUPPORTED = 81,
    /// The table of remembered subscriptions (resubscribed after a
    /// reconnect, routed to per-filter handlers) has no room for this one.
    EMQ_ERR_SUBSCRIPTIONS_FULL = 82,
    /// Another task is reading from the network for this client (poll,
    /// wait or connect): firmware builds read from one task at a time.
    EMQ_ERR_BUSY = 83,
    /// An options or callbacks struct's `struct_size` is 0 (not filled by
    /// its defaults function) or larger than this library knows (a newer
    /// header than the library).
    EMQ_ERR_STRUCT_SIZE = 84,
    /// WebSocket: the server answered the upgrade with an HTTP status other
    /// than 101 (a wrong path, missing authorization...).
    EMQ_ERR_WS_UPGRADE_REFUSED = 90,
    /// WebSocket: the upgrade answer's `Sec-WebSocket-Accept` is missing or
    /// wrong (not a WebSocket server, or a proxy in the way).
    EMQ_ERR_WS_BAD_ACCEPT = 91,
    /// WebSocket: the server did not accept the `mqtt` subprotocol.
    EMQ_ERR_WS_NO_SUBPROTOCOL = 92,
    /// WebSocket: the upgrade answer is malformed (not HTTP, no
    /// `Upgrade: websocket`, an extension not offered) or too long.
    EMQ_ERR_WS_BAD_HANDSHAKE = 93,
    /// WebSocket: the server sent a text frame; MQTT needs binary frames.
    EMQ_ERR_WS_TEXT_FRAME = 94,
    /// WebSocket: a frame longer than the receive buffer (`rx_buffer_size`).
    EMQ_ERR_WS_FRAME_TOO_LARGE = 95,
    /// WebSocket: the server sent a masked frame.
    EMQ_ERR_WS_MASKED_FRAME = 96,
    /// WebSocket: the server closed the WebSocket in the middle of an MQTT
    /// packet.
    EMQ_ERR_WS_CLOSED_MID_PACKET = 97,
    /// WebSocket: another framing error (reserved bits, unknown opcode,
    /// bad control frame, stray continuation).
    EMQ_ERR_WS_PROTOCOL = 98,
    /// MQTT 5: the packet is larger than the broker's Maximum Packet Size
    /// (from its CONNACK); nothing was sent.
    EMQ_ERR_PACKET_TOO_LARGE_FOR_SERVER = 100,
    /// MQTT 5: the QoS is above the broker's Maximum QoS (from its
    /// CONNACK); nothing was sent.
    EMQ_ERR_QOS_NOT_SUPPORTED = 101,
    /// MQTT 5: a retained publish, but the broker said Retain Available 0;
    /// nothing was sent.
    EMQ_ERR_RETAIN_NOT_SUPPORTED = 102,
    /// MQTT 5: the broker ended the connection with a DISCONNECT; its
    /// reason code is in `emq_client_last_return_code`.
    EMQ_ERR_SERVER_DISCONNECTED = 103,
    /// MQTT 5: a property given to send is unknown, not allowed in that
    /// packet, repeated where it may not be, or out of range (a bad
    /// pointer or length in an `emq_property` too); nothing was sent.
    EMQ_ERR_INVALID_PROPERTY = 104,
    /// MQTT 5: the broker set a topic alias for a topic longer than
    /// `emq_options.topic_alias_length`; the connection was closed
    /// (DISCONNECT 0x83). Raise the length, or announce fewer aliases.
    EMQ_ERR_TOPIC_ALIAS_TOO_LONG = 105,
}

impl From<Error> for emq_err {
    // One copy: inlined, its table lookup is repeated at every `?` and
    // `.into()` of the C layer.
    #[inline(never)]
    fn from(err: Error) -> emq_err {
        use emq_err::*;
        match err {
            Error::BufferTooSmall => EMQ_ERR_BUFFER_TOO_SMALL,
            Error::MalformedRemainingLength => EMQ_ERR_MALFORMED_REMAINING_LENGTH,
            Error::PacketTooLarge => EMQ_ERR_PACKET_TOO_LARGE,
            Error::InvalidPacketType(_) => EMQ_ERR_INVALID_PACKET_TYPE,
            Error::InvalidFlags => EMQ_ERR_INVALID_FLAGS,
            Error::InvalidQos => EMQ_ERR_INVALID_QOS,
            Error::ZeroPacketId => EMQ_ERR_ZERO_PACKET_ID,
            Error::InvalidUtf8 => EMQ_ERR_INVALID_UTF8,
            Error::NullCharacter => EMQ_ERR_NULL_CHARACTER,
            Error::StringTooLong => EMQ_ERR_STRING_TOO_LONG,
            Error::MalformedPacket => EMQ_ERR_MALFORMED_PACKET,
            Error::InvalidProtocol => EMQ_ERR_INVALID_PROTOCOL,
            Error::InvalidConnectFlags => EMQ_ERR_INVALID_CONNECT_FLAGS,
            Error::InvalidConnackCode(_) => EMQ_ERR_INVALID_CONNACK_CODE,
            Error::InvalidConnackFlags => EMQ_ERR_INVALID_CONNACK_FLAGS,
            Error::InvalidSubackCode(_) => EMQ_ERR_INVALID_SUBACK_CODE,
            Error::NoTopicFilters => EMQ_ERR_NO_TOPIC_FILTERS,
            Error::UnexpectedPacket(_) => EMQ_ERR_UNEXPECTED_PACKET,
            Error::EmptyTopic => EMQ_ERR_EMPTY_TOPIC,
            Error::WildcardInTopicName => EMQ_ERR_WILDCARD_IN_TOPIC_NAME,
            Error::InvalidTopicFilter => EMQ_ERR_INVALID_TOPIC_FILTER,
            Error::InflightFull => EMQ_ERR_INFLIGHT_FULL,
            Error::StoreFull => EMQ_ERR_STORE_FULL,
            Error::SubscriptionsFull => EMQ_ERR_SUBSCRIPTIONS_FULL,
            Error::SendBufferFull => EMQ_ERR_SEND_BUFFER_FULL,
            Error::InboundQos2Full => EMQ_ERR_INBOUND_QOS2_FULL,
            Error::NotConnected => EMQ_ERR_NOT_CONNECTED,
            Error::AlreadyConnected => EMQ_ERR_ALREADY_CONNECTED,
            Error::ConnectionRefused(_) => EMQ_ERR_CONNECTION_REFUSED,
            Error::ProtocolViolation => EMQ_ERR_PROTOCOL_VIOLATION,
            Error::KeepaliveTimeout => EMQ_ERR_KEEPALIVE_TIMEOUT,
            Error::SubackCountMismatch => EMQ_ERR_SUBACK_COUNT_MISMATCH,
            Error::InvalidArgument => EMQ_ERR_INVALID_ARGUMENT,
            Error::NameNotResolved => EMQ_ERR_NAME_NOT_RESOLVED,
            Error::ConnectFailed => EMQ_ERR_CONNECT_FAILED,
            Error::ConnectionClosed => EMQ_ERR_CONNECTION_CLOSED,
            Error::Io => EMQ_ERR_IO,
            Error::Timeout => EMQ_ERR_TIMEOUT,
            Error::InCallback => EMQ_ERR_IN_CALLBACK,
            Error::NoMemory => EMQ_ERR_NO_MEMORY,
            Error::InvalidUri => EMQ_ERR_INVALID_URI,
            Error::TlsCertNotTrusted => EMQ_ERR_TLS_CERT_NOT_TRUSTED,
            Error::TlsHostnameMismatch => EMQ_ERR_TLS_HOSTNAME_MISMATCH,
            Error::TlsCertExpired => EMQ_ERR_TLS_CERT_EXPIRED,
            Error::TlsHandshakeFailed => EMQ_ERR_TLS_HANDSHAKE_FAILED,
            Error::TlsBadPem => EMQ_ERR_TLS_BAD_PEM,
            Error::TlsKeyPassword => EMQ_ERR_TLS_KEY_PASSWORD,
            Error::TlsUnsupportedKey => EMQ_ERR_TLS_UNSUPPORTED_KEY,
            Error::TlsNotVerified => EMQ_ERR_TLS_NOT_VERIFIED,
            Error::TlsFile => EMQ_ERR_TLS_FILE,
            Error::TlsUnavailable => EMQ_ERR_TLS_UNAVAILABLE,
            #[cfg(feature = "mqtt5")]
            Error::QosNotSupported => EMQ_ERR_QOS_NOT_SUPPORTED,
            #[cfg(feature = "mqtt5")]
            Error::RetainNotSupported => EMQ_ERR_RETAIN_NOT_SUPPORTED,
            #[cfg(feature = "mqtt5")]
            Error::PacketTooLargeForServer => EMQ_ERR_PACKET_TOO_LARGE_FOR_SERVER,
            #[cfg(feature = "mqtt5")]
            Error::ServerDisconnected(_) => EMQ_ERR_SERVER_DISCONNECTED,
            #[cfg(feature = "mqtt5")]
            Error::InvalidProperty => EMQ_ERR_INVALID_PROPERTY,
            #[cfg(feature = "mqtt5")]
            Error::TopicAliasTooLong => EMQ_ERR_TOPIC_ALIAS_TOO_LONG,
            #[cfg(feature = "mqtt5")]
            Error::Unsupported => EMQ_ERR_UNSUPPORTED,
            #[cfg(feature = "websocket")]
            Error::WsUpgradeRefused => EMQ_ERR_WS_UPGRADE_REFUSED,
            #[cfg(feature = "websocket")]
            Error::WsBadAccept => EMQ_ERR_WS_BAD_ACCEPT,
            #[cfg(feature = "websocket")]
            Error::WsNoSubprotocol => EMQ_ERR_WS_NO_SUBPROTOCOL,
            #[cfg(feature = "websocket")]
            Error::WsBadHandshake => EMQ_ERR_WS_BAD_HANDSHAKE,
            #[cfg(feature = "websocket")]
            Error::WsTextFrame => EMQ_ERR_WS_TEXT_FRAME,
            #[cfg(feature = "websocket")]
            Error::WsFrameTooLarge => EMQ_ERR_WS_FRAME_TOO_LARGE,
            #[cfg(feature = "websocket")]
            Error::WsMaskedFrame => EMQ_ERR_WS_MASKED_FRAME,
            #[cfg(feature = "websocket")]
            Error::WsClosedMidPacket => EMQ_ERR_WS_CLOSED_MID_PACKET,
            #[cfg(feature = "websocket")]
            Error::WsProtocol => EMQ_ERR_WS_PROTOCOL,
        }
    }
}

impl emq_err {
    /// A static, NUL-terminated description.
    fn message(self) -> &'static core::ffi::CStr {
        use emq_err::*;
        match self {
            EMQ_OK => c"success",
            EMQ_ERR_NULL_POINTER => c"a required pointer argument was NULL",
            EMQ_ERR_INVALID_ARGUMENT => c"invalid argument",
            EMQ_ERR_INVALID_UTF8 => c"string is not valid UTF-8",
            EMQ_ERR_NO_MEMORY => c"out of memory",
            EMQ_ERR_IN_CALLBACK => c"not allowed from inside a callback",
            EMQ_ERR_PANIC => c"internal error contained; client closed",
            EMQ_ERR_NOT_CONNECTED => c"not connected",
            EMQ_ERR_ALREADY_CONNECTED => c"already connected or connecting",
            EMQ_ERR_CONNECTION_REFUSED => c"connection refused by the broker",
            EMQ_ERR_NAME_NOT_RESOLVED => c"host name not resolved",
            EMQ_ERR_CONNECT_FAILED => c"could not connect to the host",
            EMQ_ERR_CONNECTION_CLOSED => c"connection closed by the broker",
            EMQ_ERR_IO => c"I/O error",
            EMQ_ERR_TIMEOUT => c"timed out",
            EMQ_ERR_KEEPALIVE_TIMEOUT => c"keepalive timeout: no PINGRESP",
            EMQ_ERR_PROTOCOL_VIOLATION => c"protocol violation by the broker",
            EMQ_ERR_INFLIGHT_FULL => c"in-flight window full",
            EMQ_ERR_STORE_FULL => c"message store full",
            EMQ_ERR_SEND_BUFFER_FULL => c"send buffer full",
            EMQ_ERR_PACKET_TOO_LARGE => c"packet larger than the buffer",
            EMQ_ERR_BUFFER_TOO_SMALL => c"output buffer too small",
            EMQ_ERR_INBOUND_QOS2_FULL => c"too many inbound QoS 2 messages in flight",
            EMQ_ERR_SUBACK_COUNT_MISMATCH => c"SUBACK code count does not match the request",
            EMQ_ERR_MALFORMED_REMAINING_LENGTH => c"malformed remaining length",
            EMQ_ERR_INVALID_PACKET_TYPE => c"reserved packet type",
            EMQ_ERR_INVALID_FLAGS => c"reserved flag bits set wrongly",
            EMQ_ERR_INVALID_QOS => c"invalid QoS",
            EMQ_ERR_ZERO_PACKET_ID => c"packet identifier 0 where one is required",
            EMQ_ERR_STRING_TOO_LONG => c"string longer than 65535 bytes",
            EMQ_ERR_NULL_CHARACTER => c"string contains U+0000",
            EMQ_ERR_MALFORMED_PACKET => c"malformed packet",
            EMQ_ERR_INVALID_PROTOCOL => c"unsupported protocol name or level",
            EMQ_ERR_INVALID_CONNECT_FLAGS => c"invalid CONNECT flags",
            EMQ_ERR_INVALID_CONNACK_CODE => c"CONNACK return code out of range",
            EMQ_ERR_INVALID_CONNACK_FLAGS => c"CONNACK flags with reserved bits set",
            EMQ_ERR_INVALID_SUBACK_CODE => c"invalid SUBACK return code",
            EMQ_ERR_NO_TOPIC_FILTERS => c"no topic filters",
            EMQ_ERR_UNEXPECTED_PACKET => c"packet a client must never receive",
            EMQ_ERR_EMPTY_TOPIC => c"empty topic",
            EMQ_ERR_WILDCARD_IN_TOPIC_NAME => c"wildcard in topic name",
            EMQ_ERR_INVALID_TOPIC_FILTER => c"invalid topic filter",
            EMQ_ERR_INVALID_URI => c"invalid or unsupported broker URI",
            EMQ_ERR_PERSISTENCE => c"persistence hook failed to save the message",
            EMQ_ERR_POLL_DRIVEN => c"client is driven by emq_client_poll; no network thread",
            EMQ_ERR_THREAD_DRIVEN => c"client is driven by its network thread; poll not available",
            EMQ_ERR_THREAD_START => c"the network thread could not be started",
            EMQ_ERR_TLS_CERT_NOT_TRUSTED => c"TLS: server certificate not trusted",
            EMQ_ERR_TLS_HOSTNAME_MISMATCH => c"TLS: certificate does not match the host name",
            EMQ_ERR_TLS_CERT_EXPIRED => c"TLS: certificate expired or not yet valid",
            EMQ_ERR_TLS_HANDSHAKE_FAILED => c"TLS handshake failed",
            EMQ_ERR_TLS_BAD_PEM => c"TLS: bad PEM data",
            EMQ_ERR_TLS_KEY_PASSWORD => c"TLS: wrong or missing private key password",
            EMQ_ERR_TLS_UNSUPPORTED_KEY => c"TLS: unsupported private key type",
            EMQ_ERR_TLS_NOT_VERIFIED => c"TLS: server certificate not verified (verify mode none)",
            EMQ_ERR_TLS_FILE => c"TLS: certificate or key file could not be read",
            EMQ_ERR_TLS_UNAVAILABLE => c"TLS not available in this build",
            EMQ_ERR_WS_UPGRADE_REFUSED => {
                c"WebSocket: upgrade answered with a status other than 101"
            }
            #[cfg(feature = "websocket")]
            EMQ_ERR_WS_BAD_ACCEPT => c"WebSocket: missing or wrong Sec-WebSocket-Accept",
            #[cfg(feature = "websocket")]
            EMQ_ERR_WS_NO_SUBPROTOCOL => c"WebSocket: mqtt subprotocol not accepted",
            #[cfg(feature = "websocket")]
            EMQ_ERR_WS_BAD_HANDSHAKE => c"WebSocket: malformed upgrade answer",
            #[cfg(feature = "websocket")]
            EMQ_ERR_WS_TEXT_FRAME => c"WebSocket: text frame",
            #[cfg(feature = "websocket")]
            EMQ_ERR_WS_FRAME_TOO_LARGE => c"WebSocket: frame larger than the receive buffer",
            #[cfg(feature = "websocket")]
            EMQ_ERR_WS_MASKED_FRAME => c"WebSocket: masked frame from the server",
            #[cfg(feature = "websocket")]
            EMQ_ERR_WS_CLOSED_MID_PACKET => c"WebSocket: closed in the middle of a packet",
            #[cfg(feature = "websocket")]
            EMQ_ERR_WS_PROTOCOL => c"WebSocket: framing error",
            EMQ_ERR_MISALIGNED => c"client storage misaligned",
            EMQ_ERR_MESSAGE_OVERFLOW => c"message larger than the receive buffer skipped",
            EMQ_ERR_UNSUPPORTED => c"not supported by this build",
            EMQ_ERR_BUSY => c"another task is reading from the network for this client",
            EMQ_ERR_STRUCT_SIZE => {
                c"struct_size not set by its defaults function, or from a newer header"
            }
            EMQ_ERR_SUBSCRIPTIONS_FULL => c"subscription table full",
            #[cfg(feature = "mqtt5")]
            EMQ_ERR_PACKET_TOO_LARGE_FOR_SERVER => {
                c"packet larger than the broker's maximum packet size"
            }
            #[cfg(feature = "mqtt5")]
            EMQ_ERR_QOS_NOT_SUPPORTED => c"QoS above the broker's maximum QoS",
            #[cfg(feature = "mqtt5")]
            EMQ_ERR_RETAIN_NOT_SUPPORTED => c"the broker does not support retained messages",
            #[cfg(feature = "mqtt5")]
            EMQ_ERR_SERVER_DISCONNECTED => c"the broker sent DISCONNECT",
            #[cfg(feature = "mqtt5")]
            EMQ_ERR_INVALID_PROPERTY => c"a property breaks a rule of its packet",
            #[cfg(feature = "mqtt5")]
            EMQ_ERR_TOPIC_ALIAS_TOO_LONG => c"the broker aliased a topic longer than an alias slot",
            // Codes of a feature left out: never produced, so never here
            // (not in `all_errors`), and their texts are not linked.
            #[cfg(not(all(feature = "websocket", feature = "mqtt5")))]
            _ => c"unknown error",
        }
    }
}

/// A static, NUL-terminated English description of `err`. Never NULL;
/// unknown values give "unknown error".
#[no_mangle]
pub extern "C" fn emq_err_str(err: core::ffi::c_int) -> *const c_char {
    all_errors()
        .iter()
        .find(|known| **known as core::ffi::c_int == err)
        .map_or(c"unknown error".as_ptr(), |known| known.message().as_ptr())
        .cast()
}

/// Every code, so a value from C can be checked before it is trusted.
fn all_errors() -> &'static [emq_err] {
    use emq_err::*;
    &[
        EMQ_OK,
        EMQ_ERR_NULL_POINTER,
        EMQ_ERR_INVALID_ARGUMENT,
        EMQ_ERR_INVALID_UTF8,
        EMQ_ERR_NO_MEMORY,
        EMQ_ERR_IN_CALLBACK,
        EMQ_ERR_PANIC,
        EMQ_ERR_NOT_CONNECTED,
        EMQ_ERR_ALREADY_CONNECTED,
        EMQ_ERR_CONNECTION_REFUSED,
        EMQ_ERR_NAME_NOT_RESOLVED,
        EMQ_ERR_CONNECT_FAILED,
        EMQ_ERR_CONNECTION_CLOSED,
        EMQ_ERR_IO,
        EMQ_ERR_TIMEOUT,
        EMQ_ERR_KEEPALIVE_TIMEOUT,
        EMQ_ERR_PROTOCOL_VIOLATION,
        EMQ_ERR_INFLIGHT_FULL,
        EMQ_ERR_STORE_FULL,
        EMQ_ERR_SEND_BUFFER_FULL,
        EMQ_ERR_PACKET_TOO_LARGE,
        EMQ_ERR_BUFFER_TOO_SMALL,
        EMQ_ERR_INBOUND_QOS2_FULL,
        EMQ_ERR_SUBACK_COUNT_MISMATCH,
        EMQ_ERR_MALFORMED_REMAINING_LENGTH,
        EMQ_ERR_INVALID_PACKET_TYPE,
        EMQ_ERR_INVALID_FLAGS,
        EMQ_ERR_INVALID_QOS,
        EMQ_ERR_ZERO_PACKET_ID,
        EMQ_ERR_STRING_TOO_LONG,
        EMQ_ERR_NULL_CHARACTER,
        EMQ_ERR_MALFORMED_PACKET,
        EMQ_ERR_INVALID_PROTOCOL,
        EMQ_ERR_INVALID_CONNECT_FLAGS,
        EMQ_ERR_INVALID_CONNACK_CODE,
        EMQ_ERR_INVALID_CONNACK_FLAGS,
        EMQ_ERR_INVALID_SUBACK_CODE,
        EMQ_ERR_NO_TOPIC_FILTERS,
        EMQ_ERR_UNEXPECTED_PACKET,
        EMQ_ERR_EMPTY_TOPIC,
        EMQ_ERR_WILDCARD_IN_TOPIC_NAME,
        EMQ_ERR_INVALID_TOPIC_FILTER,
        EMQ_ERR_INVALID_URI,
        EMQ_ERR_PERSISTENCE,
        EMQ_ERR_MESSAGE_OVERFLOW,
        EMQ_ERR_POLL_DRIVEN,
        EMQ_ERR_THREAD_DRIVEN,
        EMQ_ERR_THREAD_START,
        EMQ_ERR_TLS_CERT_NOT_TRUSTED,
        EMQ_ERR_TLS_HOSTNAME_MISMATCH,
        EMQ_ERR_TLS_CERT_EXPIRED,
        EMQ_ERR_TLS_HANDSHAKE_FAILED,
        EMQ_ERR_TLS_BAD_PEM,
        EMQ_ERR_TLS_KEY_PASSWORD,
        EMQ_ERR_TLS_UNSUPPORTED_KEY,
        EMQ_ERR_TLS_NOT_VERIFIED,
        EMQ_ERR_TLS_FILE,
        EMQ_ERR_TLS_UNAVAILABLE,
        #[cfg(feature = "websocket")]
        EMQ_ERR_WS_UPGRADE_REFUSED,
        #[cfg(feature = "websocket")]
        EMQ_ERR_WS_BAD_ACCEPT,
        #[cfg(feature = "websocket")]
        EMQ_ERR_WS_NO_SUBPROTOCOL,
        #[cfg(feature = "websocket")]
        EMQ_ERR_WS_BAD_HANDSHAKE,
        #[cfg(feature = "websocket")]
        EMQ_ERR_WS_TEXT_FRAME,
        #[cfg(feature = "websocket")]
        EMQ_ERR_WS_FRAME_TOO_LARGE,
        #[cfg(feature = "websocket")]
        EMQ_ERR_WS_MASKED_FRAME,
        #[cfg(feature = "websocket")]
        EMQ_ERR_WS_CLOSED_MID_PACKET,
        #[cfg(feature = "websocket")]
        EMQ_ERR_WS_PROTOCOL,
        EMQ_ERR_MISALIGNED,
        EMQ_ERR_UNSUPPORTED,
        EMQ_ERR_SUBSCRIPTIONS_FULL,
        EMQ_ERR_BUSY,
        EMQ_ERR_STRUCT_SIZE,
        #[cfg(feature = "mqtt5")]
        EMQ_ERR_PACKET_TOO_LARGE_FOR_SERVER,
        #[cfg(feature = "mqtt5")]
        EMQ_ERR_QOS_NOT_SUPPORTED,
        #[cfg(feature = "mqtt5")]
        EMQ_ERR_RETAIN_NOT_SUPPORTED,
        #[cfg(feature = "mqtt5")]
        EMQ_ERR_SERVER_DISCONNECTED,
        #[cfg(feature = "mqtt5")]
        EMQ_ERR_INVALID_PROPERTY,
        #[cfg(feature = "mqtt5")]
        EMQ_ERR_TOPIC_ALIAS_TOO_LONG,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_message() {
        let mut seen = std::collections::HashSet::new();
        for code in all_errors() {
            let msg = code.message();
            assert!(!msg.is_empty());
            assert!(seen.insert(msg), "{code:?} repeats a message");
            let from_c = emq_err_str(*code as core::ffi::c_int);
            assert_eq!(from_c, msg.as_ptr());
        }
        let unknown = emq_err_str(9999);
        // SAFETY: emq_err_str returns a static NUL-terminated string.
        let unknown = unsafe { core::ffi::CStr::from_ptr(unknown) };
        assert_eq!(unknown, c"unknown error");
    }
}
