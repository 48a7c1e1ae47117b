//! Reason codes (MQTT 5.0 section 2.4) and which packet may carry which.

/// A one-byte MQTT 5 reason code. Below 0x80 is success, 0x80 and above
/// failure (section 2.4). A newtype rather than an enum because 0x00 has
/// three names (Success, Normal disconnection, Granted QoS 0) and an
/// unknown value must still be representable to be reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct ReasonCode(pub u8);

impl ReasonCode {
    /// 0x00 Success (CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK, AUTH).
    pub const SUCCESS: ReasonCode = ReasonCode(0x00);
    /// 0x00 Normal disconnection (DISCONNECT).
    pub const NORMAL_DISCONNECTION: ReasonCode = ReasonCode(0x00);
    /// 0x00 Granted QoS 0 (SUBACK).
    pub const GRANTED_QOS_0: ReasonCode = ReasonCode(0x00);
    /// 0x01 Granted QoS 1 (SUBACK).
    pub const GRANTED_QOS_1: ReasonCode = ReasonCode(0x01);
    /// 0x02 Granted QoS 2 (SUBACK).
    pub const GRANTED_QOS_2: ReasonCode = ReasonCode(0x02);
    /// 0x04 Disconnect with Will Message (DISCONNECT, client only).
    pub const DISCONNECT_WITH_WILL_MESSAGE: ReasonCode = ReasonCode(0x04);
    /// 0x10 No matching subscribers (PUBACK, PUBREC).
    pub const NO_MATCHING_SUBSCRIBERS: ReasonCode = ReasonCode(0x10);
    /// 0x11 No subscription existed (UNSUBACK).
    pub const NO_SUBSCRIPTION_EXISTED: ReasonCode = ReasonCode(0x11);
    /// 0x18 Continue authentication (AUTH).
    pub const CONTINUE_AUTHENTICATION: ReasonCode = ReasonCode(0x18);
    /// 0x19 Re-authenticate (AUTH, client only).
    pub const RE_AUTHENTICATE: ReasonCode = ReasonCode(0x19);
    /// 0x80 Unspecified error.
    pub const UNSPECIFIED_ERROR: ReasonCode = ReasonCode(0x80);
    /// 0x81 Malformed Packet.
    pub const MALFORMED_PACKET: ReasonCode = ReasonCode(0x81);
    /// 0x82 Protocol Error.
    pub const PROTOCOL_ERROR: ReasonCode = ReasonCode(0x82);
    /// 0x83 Implementation specific error.
    pub const IMPLEMENTATION_SPECIFIC_ERROR: ReasonCode = ReasonCode(0x83);
    /// 0x84 Unsupported Protocol Version (CONNACK).
    pub const UNSUPPORTED_PROTOCOL_VERSION: ReasonCode = ReasonCode(0x84);
    /// 0x85 Client Identifier not valid (CONNACK).
    pub const CLIENT_IDENTIFIER_NOT_VALID: ReasonCode = ReasonCode(0x85);
    /// 0x86 Bad User Name or Password (CONNACK).
    pub const BAD_USER_NAME_OR_PASSWORD: ReasonCode = ReasonCode(0x86);
    /// 0x87 Not authorized.
    pub const NOT_AUTHORIZED: ReasonCode = ReasonCode(0x87);
    /// 0x88 Server unavailable (CONNACK).
    pub const SERVER_UNAVAILABLE: ReasonCode = ReasonCode(0x88);
    /// 0x89 Server busy.
    pub const SERVER_BUSY: ReasonCode = ReasonCode(0x89);
    /// 0x8A Banned (CONNACK).
    pub const BANNED: ReasonCode = ReasonCode(0x8a);
    /// 0x8B Server shutting down (DISCONNECT).
    pub const SERVER_SHUTTING_DOWN: ReasonCode = ReasonCode(0x8b);
    /// 0x8C Bad authentication method.
    pub const BAD_AUTHENTICATION_METHOD: ReasonCode = ReasonCode(0x8c);
    /// 0x8D Keep Alive timeout (DISCONNECT).
    pub const KEEP_ALIVE_TIMEOUT: ReasonCode = ReasonCode(0x8d);
    /// 0x8E Session taken over (DISCONNECT).
    pub const SESSION_TAKEN_OVER: ReasonCode = ReasonCode(0x8e);
    /// 0x8F Topic Filter invalid.
    pub const TOPIC_FILTER_INVALID: ReasonCode = ReasonCode(0x8f);
    /// 0x90 Topic Name invalid.
    pub const TOPIC_NAME_INVALID: ReasonCode = ReasonCode(0x90);
    /// 0x91 Packet Identifier in use.
    pub const PACKET_IDENTIFIER_IN_USE: ReasonCode = ReasonCode(0x91);
    /// 0x92 Packet Identifier not found (PUBREL, PUBCOMP).
    pub const PACKET_IDENTIFIER_NOT_FOUND: ReasonCode = ReasonCode(0x92);
    /// 0x93 Receive Maximum exceeded (DISCONNECT).
    pub const RECEIVE_MAXIMUM_EXCEEDED: ReasonCode = ReasonCode(0x93);
    /// 0x94 Topic Alias invalid (DISCONNECT).
    pub const TOPIC_ALIAS_INVALID: ReasonCode = ReasonCode(0x94);
    /// 0x95 Packet too large.
    pub const PACKET_TOO_LARGE: ReasonCode = ReasonCode(0x95);
    /// 0x96 Message rate too high (DISCONNECT).
    pub const MESSAGE_RATE_TOO_HIGH: ReasonCode = ReasonCode(0x96);
    /// 0x97 Quota exceeded.
    pub const QUOTA_EXCEEDED: ReasonCode = ReasonCode(0x97);
    /// 0x98 Administrative action (DISCONNECT).
    pub const ADMINISTRATIVE_ACTION: ReasonCode = ReasonCode(0x98);
    /// 0x99 Payload format invalid.
    pub const PAYLOAD_FORMAT_INVALID: ReasonCode = ReasonCode(0x99);
    /// 0x9A Retain not supported.
    pub const RETAIN_NOT_SUPPORTED: ReasonCode = ReasonCode(0x9a);
    /// 0x9B QoS not supported.
    pub const QOS_NOT_SUPPORTED: ReasonCode = ReasonCode(0x9b);
    /// 0x9C Use another server.
    pub const USE_ANOTHER_SERVER: ReasonCode = ReasonCode(0x9c);
    /// 0x9D Server moved.
    pub const SERVER_MOVED: ReasonCode = ReasonCode(0x9d);
    /// 0x9E Shared Subscriptions not supported.
    pub const SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: ReasonCode = ReasonCode(0x9e);
    /// 0x9F Connection rate exceeded.
    pub const CONNECTION_RATE_EXCEEDED: ReasonCode = ReasonCode(0x9f);
    /// 0xA0 Maximum connect time (DISCONNECT).
    pub const MAXIMUM_CONNECT_TIME: ReasonCode = ReasonCode(0xa0);
    /// 0xA1 Subscription Identifiers not supported.
    pub const SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED: ReasonCode = ReasonCode(0xa1);
    /// 0xA2 Wildcard Subscriptions not supported.
    pub const WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED: ReasonCode = ReasonCode(0xa2);

    /// True for 0x80 and above: the operation failed (section 2.4).
    pub const fn is_error(self) -> bool {
        self.0 >= 0x80
    }

    /// A short English description, or "unknown reason code" for a value
    /// the standard does not define. 0x00 reads "success" in every packet.
    pub fn as_str(self) -> &'static str {
        self.as_c_str().to_str().unwrap_or("")
    }

    /// [`ReasonCode::as_str`] NUL-terminated, for C.
    pub const fn as_c_str(self) -> &'static core::ffi::CStr {
        match self.0 {
            0x00 => c"success",
            0x01 => c"granted QoS 1",
            0x02 => c"granted QoS 2",
            0x04 => c"disconnect with will message",
            0x10 => c"no matching subscribers",
            0x11 => c"no subscription existed",
            0x18 => c"continue authentication",
            0x19 => c"re-authenticate",
            0x80 => c"unspecified error",
            0x81 => c"malformed packet",
            0x82 => c"protocol error",
            0x83 => c"implementation specific error",
            0x84 => c"unsupported protocol version",
            0x85 => c"client identifier not valid",
            0x86 => c"bad user name or password",
            0x87 => c"not authorized",
            0x88 => c"server unavailable",
            0x89 => c"server busy",
            0x8a => c"banned",
            0x8b => c"server shutting down",
            0x8c => c"bad authentication method",
            0x8d => c"keep alive timeout",
            0x8e => c"session taken over",
            0x8f => c"topic filter invalid",
            0x90 => c"topic name invalid",
            0x91 => c"packet identifier in use",
            0x92 => c"packet identifier not found",
            0x93 => c"receive maximum exceeded",
            0x94 => c"topic alias invalid",
            0x95 => c"packet too large",
            0x96 => c"message rate too high",
            0x97 => c"quota exceeded",
            0x98 => c"administrative action",
            0x99 => c"payload format invalid",
            0x9a => c"retain not supported",
            0x9b => c"QoS not supported",
            0x9c => c"use another server",
            0x9d => c"server moved",
            0x9e => c"shared subscriptions not supported",
            0x9f => c"connection rate exceeded",
            0xa0 => c"maximum connect time",
            0xa1 => c"subscription identifiers not supported",
            0xa2 => c"wildcard subscriptions not supported",
            _ => c"unknown reason code",
        }
    }

    /// True when the standard lets `sender` put this code in a packet of
    /// kind `packet` (the Reason Code tables of sections 3.2.2.2, 3.4.2.1,
    /// 3.5.2.1, 3.6.2.1, 3.7.2.1, 3.9.3, 3.11.3, 3.14.2.1 and 3.15.2.1).
    pub const fn allowed_in(self, packet: ReasonPacket, sender: Sender) -> bool {
        let server = matches!(sender, Sender::Server);
        match packet {
            // Table 3-1 Connect Reason Code values (sent by the server only).
            ReasonPacket::ConnAck => {
                server
                    && matches!(
                        self.0,
                        0x00 | 0x80..=0x8a | 0x8c | 0x90 | 0x95 | 0x97 | 0x99..=0x9d | 0x9f
                    )
            }
            // Table 3-4 PUBACK (and the same list for PUBREC, 3.5.2.1).
            ReasonPacket::PubAck | ReasonPacket::PubRec => {
                matches!(
                    self.0,
                    0x00 | 0x10 | 0x80 | 0x83 | 0x87 | 0x90 | 0x91 | 0x97 | 0x99
                )
            }
            // PUBREL and PUBCOMP (3.6.2.1, 3.7.2.1).
            ReasonPacket::PubRel | ReasonPacket::PubComp => matches!(self.0, 0x00 | 0x92),
            // Table 3-8 Subscribe Reason Codes.
            ReasonPacket::SubAck => {
                server
                    && matches!(
                        self.0,
                        0x00..=0x02 | 0x80 | 0x83 | 0x87 | 0x8f | 0x91 | 0x97 | 0x9e | 0xa1 | 0xa2
                    )
            }
            // Table 3-9 Unsubscribe Reason Codes.
            ReasonPacket::UnsubAck => {
                server && matches!(self.0, 0x00 | 0x11 | 0x80 | 0x83 | 0x87 | 0x8f | 0x91)
            }
            // Table 3-10 Disconnect Reason Code values, with their "Sent by"
            // column: 0x04 only from a client; the server-only codes are
            // those about the server's state or the client's behaviour.
            ReasonPacket::Disconnect => match self.0 {
                0x00 | 0x80..=0x83 | 0x90 | 0x93..=0x99 => true,
                0x04 => !server,
                0x87 | 0x89 | 0x8b | 0x8d | 0x8e | 0x8f | 0x9a..=0xa2 => server,
                _ => false,
            },
            // Table 3-11 Authenticate Reason Codes: 0x00 from the server,
            // 0x18 from either, 0x19 from the client.
            ReasonPacket::Auth => match self.0 {
                0x00 => server,
                0x18 => true,
                0x19 => !server,
                _ => false,
            },
        }
    }
}

impl core::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:#04x} ({})", self.0, self.as_str())
    }
}

/// Who sends a packet: some reason codes belong to one side only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// The client (what embermq encodes).
    Client,
    /// The server (what embermq decodes).
    Server,
}

/// The packets that carry a reason code, for [`ReasonCode::allowed_in`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonPacket {
    /// CONNACK.
    ConnAck,
    /// PUBACK.
    PubAck,
    /// PUBREC.
    PubRec,
    /// PUBREL.
    PubRel,
    /// PUBCOMP.
    PubComp,
    /// SUBACK (one code per filter).
    SubAck,
    /// UNSUBACK (one code per filter).
    UnsubAck,
    /// DISCONNECT.
    Disconnect,
    /// AUTH.
    Auth,
}
