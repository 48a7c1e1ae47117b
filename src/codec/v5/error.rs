//! The errors of the MQTT 5 codec, each with the reason code the standard
//! says to answer with when it comes from received bytes.

use super::property::PropertyId;
use super::reason::ReasonCode;

/// Everything the MQTT 5 codec refuses. Decoding errors are the server's
/// fault; [`V5Error::reason_code`] gives the code of the DISCONNECT a client
/// sends for them (section 4.13). Encoding errors are the caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum V5Error {
    // ---- the caller's (encoding) ----
    /// The output buffer is too small for the packet or property.
    #[error("buffer too small")]
    BufferTooSmall,
    /// A value does not fit a Variable Byte Integer (above 268,435,455).
    #[error("value too large for a variable byte integer")]
    VarIntTooLarge,
    /// A string or binary field is longer than 65,535 bytes.
    #[error("string or binary data longer than 65535 bytes")]
    StringTooLong,
    /// A SUBSCRIBE or UNSUBSCRIBE without any topic filter.
    #[error("SUBSCRIBE or UNSUBSCRIBE without topic filters")]
    NoTopicFilters,
    /// A topic filter that breaks the rules of section 4.7.
    #[error("invalid topic filter")]
    InvalidTopicFilter,
    /// `$share/` not followed by a share name without `/`, `+`, `#` and then
    /// `/` and a filter [MQTT-4.8.2-1], [MQTT-4.8.2-2].
    #[error("invalid shared subscription filter")]
    InvalidSharedSubscription,
    /// No Local on a shared subscription [MQTT-3.8.3-4].
    #[error("No Local on a shared subscription")]
    NoLocalOnSharedSubscription,
    /// A PUBLISH from a client with a Subscription Identifier [MQTT-3.3.4-6].
    #[error("Subscription Identifier in a PUBLISH sent by a client")]
    SubscriptionIdentifierFromClient,
    /// A reason code the sender may not use in this packet.
    #[error("reason code {0} not allowed in this packet")]
    ReasonCodeNotAllowed(ReasonCode),

    // ---- Malformed Packet (0x81) ----
    /// A Variable Byte Integer longer than four bytes (section 1.5.5).
    #[error("variable byte integer longer than 4 bytes")]
    MalformedVarInt,
    /// A Variable Byte Integer not in its shortest form [MQTT-1.5.5-1].
    #[error("variable byte integer not in its shortest form")]
    NonMinimalVarInt,
    /// Fields run past the end of the packet, or bytes are left over.
    #[error("malformed packet: fields do not match the remaining length")]
    MalformedPacket,
    /// Packet type 0, which is reserved (section 2.1.2).
    #[error("reserved packet type {0}")]
    InvalidPacketType(u8),
    /// Fixed-header flag bits other than those Table 2-2 fixes [MQTT-2.1.3-1].
    #[error("reserved flag bits set wrongly")]
    InvalidFlags,
    /// A PUBLISH with both QoS bits set [MQTT-3.3.1-4].
    #[error("invalid QoS level")]
    InvalidQos,
    /// CONNACK flags with reserved bits set [MQTT-3.2.2-1].
    #[error("CONNACK flags with reserved bits set")]
    InvalidConnackFlags,
    /// A string is not well-formed UTF-8 [MQTT-1.5.4-1].
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A string contains U+0000 [MQTT-1.5.4-2].
    #[error("string contains U+0000")]
    NullCharacter,
    /// A property identifier the standard does not define (section 2.2.2.2).
    #[error("unknown property identifier {0:#04x}")]
    UnknownProperty(u8),
    /// A property in a packet that may not carry it (section 2.2.2.2).
    #[error("property {0:?} not allowed in this packet")]
    PropertyNotAllowed(PropertyId),

    // ---- Protocol Error (0x82) ----
    /// A property that may appear once appears twice (its section in 3.x).
    #[error("property {0:?} included more than once")]
    DuplicateProperty(PropertyId),
    /// A property value out of its range: Receive Maximum or Maximum
    /// Packet Size 0, a 0/1 byte above 1, Maximum QoS above 1, a
    /// Subscription Identifier of 0, a Response Topic with wildcards.
    #[error("property {0:?} has a value out of range")]
    InvalidPropertyValue(PropertyId),
    /// Authentication Data without Authentication Method (3.1.2.11.10).
    #[error("Authentication Data without Authentication Method")]
    AuthDataWithoutMethod,
    /// An AUTH without Authentication Method (3.15.2.2.2).
    #[error("AUTH without Authentication Method")]
    MissingAuthMethod,
    /// A reason code the standard does not allow the server to send in
    /// this packet ([MQTT-3.2.2-8], [MQTT-3.14.2-1], [MQTT-3.15.2-1] ...).
    #[error("reason code {0} not allowed from the server in this packet")]
    InvalidReasonCode(ReasonCode),
    /// Session Present with a refusal [MQTT-3.2.2-6].
    #[error("CONNACK with session present and an error code")]
    SessionPresentOnError,
    /// Packet identifier 0 where one is required [MQTT-2.2.1-3], [MQTT-2.2.1-4].
    #[error("packet identifier 0 where one is required")]
    ZeroPacketId,
    /// A PUBLISH topic name with `+` or `#` [MQTT-3.3.2-2].
    #[error("wildcard in topic name")]
    WildcardInTopicName,
    /// An empty topic name without a Topic Alias (section 3.3.2.1).
    #[error("empty topic name without a Topic Alias")]
    EmptyTopicWithoutAlias,
    /// A SUBACK or UNSUBACK without reason codes (one per filter sent; an
    /// UNSUBSCRIBE without filters is a Protocol Error too, 3.10.3).
    #[error("SUBACK or UNSUBACK without reason codes")]
    NoReasonCodes,
    /// A Session Expiry Interval in a DISCONNECT from the server [MQTT-3.14.2-2].
    #[error("Session Expiry Interval in a DISCONNECT from the server")]
    SessionExpiryFromServer,
    /// A packet a server never sends (CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ).
    #[error("packet type {0} must not be sent to a client")]
    UnexpectedPacket(u8),

    // ---- other reason codes ----
    /// A Topic Alias of 0 [MQTT-3.3.2-8] or above the maximum announced
    /// (section 3.3.2.3.4): 0x94 Topic Alias invalid.
    #[error("topic alias 0 or above the maximum")]
    TopicAliasInvalid,
    /// A packet larger than the Maximum Packet Size (section 3.1.2.11.4):
    /// 0x95 Packet too large. Also the caller's, when a packet to send is
    /// larger than the protocol or the server allows.
    #[error("packet exceeds the size limit")]
    PacketTooLarge,
    /// A payload that is not UTF-8 although its Payload Format Indicator
    /// says it is (section 3.3.2.3.2): 0x99 Payload format invalid.
    #[error("payload is not UTF-8 as its format indicator says")]
    PayloadFormatInvalid,
}

impl V5Error {
    /// The reason code to send (in a DISCONNECT, or a PUBACK/PUBREC for
    /// [`V5Error::PayloadFormatInvalid`]) when received bytes gave this
    /// error, or `None` for the errors only encoding gives.
    pub const fn reason_code(self) -> Option<ReasonCode> {
        Some(match self {
            V5Error::BufferTooSmall
            | V5Error::VarIntTooLarge
            | V5Error::StringTooLong
            | V5Error::NoTopicFilters
            | V5Error::InvalidTopicFilter
            | V5Error::InvalidSharedSubscription
            | V5Error::NoLocalOnSharedSubscription
            | V5Error::SubscriptionIdentifierFromClient
            | V5Error::ReasonCodeNotAllowed(_) => return None,
            V5Error::MalformedVarInt
            | V5Error::NonMinimalVarInt
            | V5Error::MalformedPacket
            | V5Error::InvalidPacketType(_)
            | V5Error::InvalidFlags
            | V5Error::InvalidQos
            | V5Error::InvalidConnackFlags
            | V5Error::InvalidUtf8
            | V5Error::NullCharacter
            | V5Error::UnknownProperty(_)
            | V5Error::PropertyNotAllowed(_) => ReasonCode::MALFORMED_PACKET,
            V5Error::DuplicateProperty(_)
            | V5Error::InvalidPropertyValue(_)
            | V5Error::AuthDataWithoutMethod
            | V5Error::MissingAuthMethod
            | V5Error::InvalidReasonCode(_)
            | V5Error::SessionPresentOnError
            | V5Error::ZeroPacketId
            | V5Error::WildcardInTopicName
            | V5Error::EmptyTopicWithoutAlias
            | V5Error::NoReasonCodes
            | V5Error::SessionExpiryFromServer
            | V5Error::UnexpectedPacket(_) => ReasonCode::PROTOCOL_ERROR,
            V5Error::TopicAliasInvalid => ReasonCode::TOPIC_ALIAS_INVALID,
            V5Error::PacketTooLarge => ReasonCode::PACKET_TOO_LARGE,
            V5Error::PayloadFormatInvalid => ReasonCode::PAYLOAD_FORMAT_INVALID,
        })
    }
}

/// The 3.1.1 helpers this codec reuses (UTF-8, topic rules, QoS) report
/// in the crate's error; these are their MQTT 5 names.
impl From<crate::Error> for V5Error {
    fn from(e: crate::Error) -> V5Error {
        match e {
            crate::Error::InvalidUtf8 => V5Error::InvalidUtf8,
            crate::Error::NullCharacter => V5Error::NullCharacter,
            crate::Error::StringTooLong => V5Error::StringTooLong,
            crate::Error::EmptyTopic => V5Error::EmptyTopicWithoutAlias,
            crate::Error::WildcardInTopicName => V5Error::WildcardInTopicName,
            crate::Error::InvalidTopicFilter => V5Error::InvalidTopicFilter,
            crate::Error::InvalidQos => V5Error::InvalidQos,
            crate::Error::BufferTooSmall => V5Error::BufferTooSmall,
            crate::Error::PacketTooLarge => V5Error::PacketTooLarge,
            // Nothing else comes out of the helpers used here.
            _ => V5Error::MalformedPacket,
        }
    }
}

/// For layers that speak the crate's error: the closest variant, with the
/// class (malformed, protocol violation, caller's argument) kept.
impl From<V5Error> for crate::Error {
    fn from(e: V5Error) -> crate::Error {
        use crate::Error as E;
        match e {
            V5Error::BufferTooSmall => E::BufferTooSmall,
            V5Error::PacketTooLarge => E::PacketTooLarge,
            V5Error::StringTooLong => E::StringTooLong,
            V5Error::NoTopicFilters => E::NoTopicFilters,
            V5Error::InvalidTopicFilter
            | V5Error::InvalidSharedSubscription
            | V5Error::NoLocalOnSharedSubscription => E::InvalidTopicFilter,
            V5Error::MalformedVarInt => E::MalformedRemainingLength,
            V5Error::InvalidPacketType(t) => E::InvalidPacketType(t),
            V5Error::UnexpectedPacket(t) => E::UnexpectedPacket(t),
            V5Error::InvalidFlags => E::InvalidFlags,
            V5Error::InvalidQos => E::InvalidQos,
            V5Error::InvalidConnackFlags => E::InvalidConnackFlags,
            V5Error::InvalidUtf8 => E::InvalidUtf8,
            V5Error::NullCharacter => E::NullCharacter,
            V5Error::ZeroPacketId => E::ZeroPacketId,
            V5Error::WildcardInTopicName => E::WildcardInTopicName,
            V5Error::VarIntTooLarge
            | V5Error::SubscriptionIdentifierFromClient
            | V5Error::ReasonCodeNotAllowed(_) => E::InvalidArgument,
            other => match other.reason_code() {
                Some(ReasonCode::MALFORMED_PACKET) => E::MalformedPacket,
                _ => E::ProtocolViolation,
            },
        }
    }
}
