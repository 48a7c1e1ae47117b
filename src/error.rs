//! The one error type shared by every layer. Each failure has its own
//! variant so that the C API can give each a named code.

/// Everything that can go wrong in embermq, from malformed bytes on the wire
/// to a full in-flight window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
// Discriminants from 1 leave 0 free, so `Ok(())` of a `Result<(), Error>`
// is the byte 0: every `?` tests it with one flag-setting shift instead of
// masking and comparing against the first free discriminant.
#[repr(u8)]
pub enum Error {
    // ---- encoding into caller buffers ----
    /// The output buffer is too small for the packet (its size is
    /// `encoded_len`).
    #[error("buffer too small")]
    BufferTooSmall = 1,

    // ---- framing ----
    /// The remaining-length field runs past its maximum of 4 bytes.
    #[error("remaining length field longer than 4 bytes")]
    MalformedRemainingLength,
    /// The packet is larger than the receive buffer (or the protocol maximum).
    #[error("packet exceeds the size limit")]
    PacketTooLarge,
    /// Packet type 0 or 15, which MQTT 3.1.1 reserves.
    #[error("reserved packet type {0}")]
    InvalidPacketType(u8),
    /// The fixed header's flag bits differ from the values the spec fixes.
    #[error("reserved flag bits set wrongly")]
    InvalidFlags,
    /// A QoS value of 3 (or above), which does not exist.
    #[error("invalid QoS level")]
    InvalidQos,
    /// Packet identifier 0 where a non-zero one is required.
    #[error("packet identifier 0 where one is required")]
    ZeroPacketId,
    /// A string field is not valid UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A string field contains U+0000.
    #[error("string contains U+0000")]
    NullCharacter,
    /// A string or topic is longer than 65,535 bytes.
    #[error("string longer than 65535 bytes")]
    StringTooLong,
    /// The packet body is shorter or longer than its fields say.
    #[error("malformed packet: fields do not match the remaining length")]
    MalformedPacket,
    /// CONNECT with an unknown protocol name or level.
    #[error("unsupported protocol name or level")]
    InvalidProtocol,
    /// CONNECT flags break a rule (reserved bit, will flags, password without username).
    #[error("invalid CONNECT flags")]
    InvalidConnectFlags,
    /// CONNACK return code outside 0..=5.
    #[error("CONNACK return code {0} out of range")]
    InvalidConnackCode(u8),
    /// CONNACK acknowledge flags with reserved bits set.
    #[error("CONNACK flags with reserved bits set")]
    InvalidConnackFlags,
    /// SUBACK return code other than 0, 1, 2 and 0x80.
    #[error("SUBACK return code {0:#04x} invalid")]
    InvalidSubackCode(u8),
    /// SUBSCRIBE or UNSUBSCRIBE without any topic filter.
    #[error("SUBSCRIBE or UNSUBSCRIBE without topic filters")]
    NoTopicFilters,
    /// A packet a client must never receive (CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT).
    #[error("packet type {0} must not be sent to a client")]
    UnexpectedPacket(u8),

    // ---- topics ----
    /// An empty topic name or filter.
    #[error("empty topic")]
    EmptyTopic,
    /// A wildcard (`+` or `#`) in a topic name, where none is allowed.
    #[error("wildcard in topic name")]
    WildcardInTopicName,
    /// A topic filter with `+` or `#` in the wrong place.
    #[error("invalid topic filter")]
    InvalidTopicFilter,

    // ---- session ----
    /// The in-flight window is full; wait for acknowledgements and retry.
    #[error("in-flight window full")]
    InflightFull,
    /// The store for unacknowledged messages has no room for this one.
    #[error("message store full")]
    StoreFull,
    /// The subscription table has no entry or filter bytes left for this one.
    #[error("subscription table full")]
    SubscriptionsFull,
    /// The send buffer has no room for the packet right now; flush and retry.
    #[error("send buffer full")]
    SendBufferFull,
    /// Too many inbound QoS 2 messages await PUBREL at once.
    #[error("too many inbound QoS 2 messages in flight")]
    InboundQos2Full,
    /// The operation needs a connected session.
    #[error("not connected")]
    NotConnected,
    /// A connection is already established or being established.
    #[error("already connected or connecting")]
    AlreadyConnected,
    /// The broker refused the connection with the given CONNACK return code.
    #[error("connection refused by broker, return code {0}")]
    ConnectionRefused(u8),
    /// The broker sent a packet that does not fit the protocol state
    /// (an acknowledgement for an unknown packet id, a second CONNACK, ...).
    #[error("protocol violation by the broker")]
    ProtocolViolation,
    /// No PINGRESP (or CONNACK) arrived in time: the link is considered dead.
    #[error("keepalive timeout")]
    KeepaliveTimeout,
    /// A SUBACK listed a different number of codes than filters were sent.
    #[error("SUBACK code count does not match the request")]
    SubackCountMismatch,
    /// An argument is out of range (QoS above 2, zero-length list, ...).
    #[error("invalid argument")]
    InvalidArgument,

    // ---- MQTT 5 (feature `mqtt5`) ----
    /// The server's CONNACK allows a lower Maximum QoS than the publish
    /// asked for; nothing was sent.
    #[cfg(feature = "mqtt5")]
    #[error("QoS above the server's Maximum QoS")]
    QosNotSupported,
    /// RETAIN on a server whose CONNACK says Retain Available 0; nothing
    /// was sent.
    #[cfg(feature = "mqtt5")]
    #[error("the server does not support retained messages")]
    RetainNotSupported,
    /// The packet is larger than the server's Maximum Packet Size; nothing
    /// was sent.
    #[cfg(feature = "mqtt5")]
    #[error("packet larger than the server's Maximum Packet Size")]
    PacketTooLargeForServer,
    /// The server closed the connection with a DISCONNECT and this reason
    /// code.
    #[cfg(feature = "mqtt5")]
    #[error("the server disconnected, reason code {0:#04x}")]
    ServerDisconnected(u8),
    /// A property to send breaks a rule of its packet (unknown, not
    /// allowed there, repeated, or a value out of range); nothing was sent.
    #[cfg(feature = "mqtt5")]
    #[error("a property breaks a rule of its packet")]
    InvalidProperty,
    /// The server set a topic alias for a topic longer than the client's
    /// alias slots hold (`topic_alias_length`); the connection was closed
    /// with DISCONNECT 0x83.
    #[cfg(feature = "mqtt5")]
    #[error("the server aliased a topic longer than an alias slot")]
    TopicAliasTooLong,
    /// Asks for something this client does not do (an MQTT 5 feature not
    /// built in); nothing was sent.
    #[cfg(feature = "mqtt5")]
    #[error("not supported by this client")]
    Unsupported,

    // ---- transport and client ----
    /// The host name could not be resolved to an address.
    #[error("host name not resolved")]
    NameNotResolved,
    /// No address of the host accepted a TCP connection.
    #[error("could not connect to the host")]
    ConnectFailed,
    /// The peer closed the connection.
    #[error("connection closed by the peer")]
    ConnectionClosed,
    /// A read or write failed at the operating-system level.
    #[error("I/O error")]
    Io,
    /// The operation did not complete within its timeout.
    #[error("timed out")]
    Timeout,
    /// Memory for buffers or tables could not be allocated.
    #[error("out of memory")]
    NoMemory,
    /// The call is not allowed from inside a callback of the same client
    /// (polling or waiting re-entrantly would corrupt the receive buffer).
    #[error("not allowed from inside a callback")]
    InCallback,
    /// A broker address URI could not be parsed, or names an unsupported
    /// scheme (embermq takes `mqtt://`, `tcp://`, `mqtts://`, `ssl://`, `tls://`).
    #[error("invalid or unsupported broker URI")]
    InvalidUri,

    // ---- TLS ----
    /// The server's certificate chain does not lead to a trusted CA.
    #[error("TLS: server certificate not trusted")]
    TlsCertNotTrusted,
    /// The server's certificate is valid, but not for the name connected to.
    #[error("TLS: certificate does not match the host name")]
    TlsHostnameMismatch,
    /// The server's certificate has expired or is not yet valid.
    #[error("TLS: certificate expired or not yet valid")]
    TlsCertExpired,
    /// The TLS handshake failed for another reason (the server sent an
    /// alert, for example because it wants a client certificate).
    #[error("TLS handshake failed")]
    TlsHandshakeFailed,
    /// Certificate or key data is not valid PEM, or holds no usable item.
    #[error("TLS: bad PEM data")]
    TlsBadPem,
    /// The private key is encrypted and the password is wrong or missing.
    #[error("TLS: wrong or missing private key password")]
    TlsKeyPassword,
    /// The private key's type or encryption is not supported.
    #[error("TLS: unsupported private key type")]
    TlsUnsupportedKey,
    /// Verification mode "none": the server certificate was not checked.
    #[error("TLS: server certificate not verified (verify mode none)")]
    TlsNotVerified,
    /// A certificate or key file could not be read.
    #[error("TLS: certificate or key file could not be read")]
    TlsFile,
    /// TLS was asked for, but this build has no TLS (feature `tls` off).
    #[error("TLS not available in this build")]
    TlsUnavailable,

    // ---- WebSocket (feature `websocket`: left out, the enum and its
    // mapping to C codes stay as small as before) ----
    /// The server answered the WebSocket upgrade with an HTTP status other
    /// than 101 (e.g. 404 for a wrong path, 401 without credentials).
    #[cfg(feature = "websocket")]
    #[error("WebSocket: the server answered the upgrade with a status other than 101")]
    WsUpgradeRefused,
    /// The upgrade answer lacks the `Sec-WebSocket-Accept` that proves the
    /// server read our key, or has a wrong one.
    #[cfg(feature = "websocket")]
    #[error("WebSocket: missing or wrong Sec-WebSocket-Accept")]
    WsBadAccept,
    /// The server did not agree to the `mqtt` subprotocol.
    #[cfg(feature = "websocket")]
    #[error("WebSocket: the server did not accept the mqtt subprotocol")]
    WsNoSubprotocol,
    /// The upgrade answer is not valid HTTP, lacks `Upgrade: websocket`,
    /// names an extension we did not offer, or does not fit the buffer.
    #[cfg(feature = "websocket")]
    #[error("WebSocket: malformed upgrade answer")]
    WsBadHandshake,
    /// A text frame: MQTT travels in binary frames only.
    #[cfg(feature = "websocket")]
    #[error("WebSocket: text frame (MQTT needs binary frames)")]
    WsTextFrame,
    /// A data frame longer than the receive buffer.
    #[cfg(feature = "websocket")]
    #[error("WebSocket: frame larger than the receive buffer")]
    WsFrameTooLarge,
    /// A masked frame: a server must not mask what it sends.
    #[cfg(feature = "websocket")]
    #[error("WebSocket: masked frame from the server")]
    WsMaskedFrame,
    /// The server closed the WebSocket in the middle of an MQTT packet.
    #[cfg(feature = "websocket")]
    #[error("WebSocket: closed by the server in the middle of a packet")]
    WsClosedMidPacket,
    /// Another framing error: reserved bits, an unknown opcode, a
    /// fragmented or long control frame, a stray continuation frame.
    #[cfg(feature = "websocket")]
    #[error("WebSocket: framing error")]
    WsProtocol,
}
