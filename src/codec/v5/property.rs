//! Properties (section 2.2.2): every identifier of Table 2-4 with its data
//! type, where it may appear, and the rules on repeats and values.
//!
//! Received properties stay in the receive buffer ([`Properties::Wire`]),
//! validated once when the packet is decoded and read through
//! [`Properties::iter`]. Properties to send are either a caller's slice of
//! [`Property`] values ([`Properties::List`]) or bytes a [`PropertyWriter`]
//! wrote into caller memory; both are validated when the packet is sized.

use super::varint::{varint_len, VARINT_MAX};
use super::wire::{binary_len, string_len, Reader, Writer};
use super::V5Error;
use crate::codec::QoS;

/// The data types of section 1.5, as Table 2-4 assigns them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyType {
    /// One byte (section 1.5.1).
    Byte,
    /// Big-endian u16 (section 1.5.2).
    TwoByteInteger,
    /// Big-endian u32 (section 1.5.3).
    FourByteInteger,
    /// Variable Byte Integer (section 1.5.5).
    VariableByteInteger,
    /// UTF-8 Encoded String (section 1.5.4).
    Utf8String,
    /// Binary Data (section 1.5.6).
    BinaryData,
    /// UTF-8 String Pair (section 1.5.7).
    Utf8StringPair,
}

/// Every property identifier MQTT 5.0 defines (Table 2-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PropertyId {
    PayloadFormatIndicator = 0x01,
    MessageExpiryInterval = 0x02,
    ContentType = 0x03,
    ResponseTopic = 0x08,
    CorrelationData = 0x09,
    SubscriptionIdentifier = 0x0b,
    SessionExpiryInterval = 0x11,
    AssignedClientIdentifier = 0x12,
    ServerKeepAlive = 0x13,
    AuthenticationMethod = 0x15,
    AuthenticationData = 0x16,
    RequestProblemInformation = 0x17,
    WillDelayInterval = 0x18,
    RequestResponseInformation = 0x19,
    ResponseInformation = 0x1a,
    ServerReference = 0x1c,
    ReasonString = 0x1f,
    ReceiveMaximum = 0x21,
    TopicAliasMaximum = 0x22,
    TopicAlias = 0x23,
    MaximumQos = 0x24,
    RetainAvailable = 0x25,
    UserProperty = 0x26,
    MaximumPacketSize = 0x27,
    WildcardSubscriptionAvailable = 0x28,
    SubscriptionIdentifierAvailable = 0x29,
    SharedSubscriptionAvailable = 0x2a,
}

/// Where a property list sits: each packet's own, and the will's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PropertyContext {
    /// CONNECT's properties.
    Connect,
    /// The Will Properties in CONNECT's payload (section 3.1.3.2).
    Will,
    /// CONNACK.
    ConnAck,
    /// PUBLISH.
    Publish,
    /// PUBACK, PUBREC, PUBREL and PUBCOMP (the same two properties).
    PubResponse,
    /// SUBSCRIBE.
    Subscribe,
    /// SUBACK.
    SubAck,
    /// UNSUBSCRIBE.
    Unsubscribe,
    /// UNSUBACK.
    UnsubAck,
    /// DISCONNECT.
    Disconnect,
    /// AUTH.
    Auth,
}

impl PropertyContext {
    const fn bit(self) -> u16 {
        1 << self as u8
    }
}

use PropertyContext as C;

impl PropertyId {
    /// The identifier for a value, if the standard defines it.
    pub const fn from_u8(value: u8) -> Option<PropertyId> {
        use PropertyId::*;
        Some(match value {
            0x01 => PayloadFormatIndicator,
            0x02 => MessageExpiryInterval,
            0x03 => ContentType,
            0x08 => ResponseTopic,
            0x09 => CorrelationData,
            0x0b => SubscriptionIdentifier,
            0x11 => SessionExpiryInterval,
            0x12 => AssignedClientIdentifier,
            0x13 => ServerKeepAlive,
            0x15 => AuthenticationMethod,
            0x16 => AuthenticationData,
            0x17 => RequestProblemInformation,
            0x18 => WillDelayInterval,
            0x19 => RequestResponseInformation,
            0x1a => ResponseInformation,
            0x1c => ServerReference,
            0x1f => ReasonString,
            0x21 => ReceiveMaximum,
            0x22 => TopicAliasMaximum,
            0x23 => TopicAlias,
            0x24 => MaximumQos,
            0x25 => RetainAvailable,
            0x26 => UserProperty,
            0x27 => MaximumPacketSize,
            0x28 => WildcardSubscriptionAvailable,
            0x29 => SubscriptionIdentifierAvailable,
            0x2a => SharedSubscriptionAvailable,
            _ => return None,
        })
    }

    /// The property's data type (Table 2-4).
    pub const fn data_type(self) -> PropertyType {
        use PropertyId::*;
        match self {
            PayloadFormatIndicator
            | RequestProblemInformation
            | RequestResponseInformation
            | MaximumQos
            | RetainAvailable
            | WildcardSubscriptionAvailable
            | SubscriptionIdentifierAvailable
            | SharedSubscriptionAvailable => PropertyType::Byte,
            ServerKeepAlive | ReceiveMaximum | TopicAliasMaximum | TopicAlias => {
                PropertyType::TwoByteInteger
            }
            MessageExpiryInterval
            | SessionExpiryInterval
            | WillDelayInterval
            | MaximumPacketSize => PropertyType::FourByteInteger,
            SubscriptionIdentifier => PropertyType::VariableByteInteger,
            ContentType
            | ResponseTopic
            | AssignedClientIdentifier
            | AuthenticationMethod
            | ResponseInformation
            | ServerReference
            | ReasonString => PropertyType::Utf8String,
            CorrelationData | AuthenticationData => PropertyType::BinaryData,
            UserProperty => PropertyType::Utf8StringPair,
        }
    }

    /// True when Table 2-4 lists `context` among the packets that may
    /// carry this property; anywhere else it makes the packet malformed
    /// (section 2.2.2.2).
    pub const fn allowed_in(self, context: PropertyContext) -> bool {
        use PropertyId::*;
        let will_or_publish = C::Will.bit() | C::Publish.bit();
        let mask = match self {
            PayloadFormatIndicator
            | MessageExpiryInterval
            | ContentType
            | ResponseTopic
            | CorrelationData => will_or_publish,
            SubscriptionIdentifier => C::Publish.bit() | C::Subscribe.bit(),
            SessionExpiryInterval => C::Connect.bit() | C::ConnAck.bit() | C::Disconnect.bit(),
            AssignedClientIdentifier
            | ServerKeepAlive
            | ResponseInformation
            | MaximumQos
            | RetainAvailable
            | WildcardSubscriptionAvailable
            | SubscriptionIdentifierAvailable
            | SharedSubscriptionAvailable => C::ConnAck.bit(),
            AuthenticationMethod | AuthenticationData => {
                C::Connect.bit() | C::ConnAck.bit() | C::Auth.bit()
            }
            RequestProblemInformation | RequestResponseInformation => C::Connect.bit(),
            WillDelayInterval => C::Will.bit(),
            ServerReference => C::ConnAck.bit() | C::Disconnect.bit(),
            ReasonString => {
                C::ConnAck.bit()
                    | C::PubResponse.bit()
                    | C::SubAck.bit()
                    | C::UnsubAck.bit()
                    | C::Disconnect.bit()
                    | C::Auth.bit()
            }
            ReceiveMaximum | TopicAliasMaximum | MaximumPacketSize => {
                C::Connect.bit() | C::ConnAck.bit()
            }
            TopicAlias => C::Publish.bit(),
            UserProperty => u16::MAX,
        };
        mask & context.bit() != 0
    }

    /// True when the property may appear more than once in `context`:
    /// User Property anywhere (section 2.2.2.2), Subscription Identifier
    /// in PUBLISH only (3.3.2.3.8; once in SUBSCRIBE, 3.8.2.1.2). Every
    /// other repeat is a Protocol Error.
    pub const fn may_repeat_in(self, context: PropertyContext) -> bool {
        match self {
            PropertyId::UserProperty => true,
            PropertyId::SubscriptionIdentifier => matches!(context, C::Publish),
            _ => false,
        }
    }
}

/// One property with its typed value. Byte properties whose only values
/// are 0 and 1 are `bool`s; Maximum QoS is a [`QoS`] (1 at most).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property<'a> {
    /// 0x01: the payload is UTF-8 (true) or unspecified bytes (false).
    PayloadFormatIndicator(bool),
    /// 0x02: the message's lifetime in seconds.
    MessageExpiryInterval(u32),
    /// 0x03: the payload's content type, as the applications define it.
    ContentType(&'a str),
    /// 0x08: the topic name for a response (no wildcards).
    ResponseTopic(&'a str),
    /// 0x09: request/response correlation bytes.
    CorrelationData(&'a [u8]),
    /// 0x0B: 1 to 268,435,455.
    SubscriptionIdentifier(u32),
    /// 0x11: seconds the session outlives the connection.
    SessionExpiryInterval(u32),
    /// 0x12: the client id the server chose.
    AssignedClientIdentifier(&'a str),
    /// 0x13: the keepalive the client must use [MQTT-3.2.2-21].
    ServerKeepAlive(u16),
    /// 0x15: the enhanced authentication method's name.
    AuthenticationMethod(&'a str),
    /// 0x16: the authentication method's data.
    AuthenticationData(&'a [u8]),
    /// 0x17: whether reason strings and user properties may come on failures.
    RequestProblemInformation(bool),
    /// 0x18: seconds the server waits before publishing the will.
    WillDelayInterval(u32),
    /// 0x19: whether the CONNACK may carry Response Information.
    RequestResponseInformation(bool),
    /// 0x1A: the basis for a response topic.
    ResponseInformation(&'a str),
    /// 0x1C: another server to use.
    ServerReference(&'a str),
    /// 0x1F: a human-readable reason, for diagnostics.
    ReasonString(&'a str),
    /// 0x21: QoS 1 and 2 publishes the sender will process at once (not 0).
    ReceiveMaximum(u16),
    /// 0x22: the highest Topic Alias the sender accepts.
    TopicAliasMaximum(u16),
    /// 0x23: a number standing for the topic name (not 0).
    TopicAlias(u16),
    /// 0x24: the highest QoS the server supports (0 or 1 when present).
    MaximumQos(QoS),
    /// 0x25: whether the server supports retained messages.
    RetainAvailable(bool),
    /// 0x26: a name/value pair; may repeat, order kept.
    UserProperty(&'a str, &'a str),
    /// 0x27: the largest packet the sender accepts, in bytes (not 0).
    MaximumPacketSize(u32),
    /// 0x28: whether the server supports wildcard subscriptions.
    WildcardSubscriptionAvailable(bool),
    /// 0x29: whether the server supports subscription identifiers.
    SubscriptionIdentifierAvailable(bool),
    /// 0x2A: whether the server supports shared subscriptions.
    SharedSubscriptionAvailable(bool),
}

impl<'a> Property<'a> {
    /// The property's identifier.
    pub const fn id(&self) -> PropertyId {
        use Property as P;
        use PropertyId as I;
        match self {
            P::PayloadFormatIndicator(_) => I::PayloadFormatIndicator,
            P::MessageExpiryInterval(_) => I::MessageExpiryInterval,
            P::ContentType(_) => I::ContentType,
            P::ResponseTopic(_) => I::ResponseTopic,
            P::CorrelationData(_) => I::CorrelationData,
            P::SubscriptionIdentifier(_) => I::SubscriptionIdentifier,
            P::SessionExpiryInterval(_) => I::SessionExpiryInterval,
            P::AssignedClientIdentifier(_) => I::AssignedClientIdentifier,
            P::ServerKeepAlive(_) => I::ServerKeepAlive,
            P::AuthenticationMethod(_) => I::AuthenticationMethod,
            P::AuthenticationData(_) => I::AuthenticationData,
            P::RequestProblemInformation(_) => I::RequestProblemInformation,
            P::WillDelayInterval(_) => I::WillDelayInterval,
            P::RequestResponseInformation(_) => I::RequestResponseInformation,
            P::ResponseInformation(_) => I::ResponseInformation,
            P::ServerReference(_) => I::ServerReference,
            P::ReasonString(_) => I::ReasonString,
            P::ReceiveMaximum(_) => I::ReceiveMaximum,
            P::TopicAliasMaximum(_) => I::TopicAliasMaximum,
            P::TopicAlias(_) => I::TopicAlias,
            P::MaximumQos(_) => I::MaximumQos,
            P::RetainAvailable(_) => I::RetainAvailable,
            P::UserProperty(..) => I::UserProperty,
            P::MaximumPacketSize(_) => I::MaximumPacketSize,
            P::WildcardSubscriptionAvailable(_) => I::WildcardSubscriptionAvailable,
            P::SubscriptionIdentifierAvailable(_) => I::SubscriptionIdentifierAvailable,
            P::SharedSubscriptionAvailable(_) => I::SharedSubscriptionAvailable,
        }
    }

    /// Property `id` from the parts another representation (a C struct)
    /// holds: `number` for the integer types (0 or 1 for the flags and
    /// Maximum QoS), `data` for a string or binary value or a User
    /// Property's name, `value` for a User Property's value. A string must
    /// be MQTT UTF-8 ([`V5Error::InvalidUtf8`], [`V5Error::NullCharacter`]);
    /// a number out of its type's range is
    /// [`V5Error::InvalidPropertyValue`]. Where the property may go, and
    /// the value rules, are checked when a packet is sized.
    pub fn from_parts(
        id: PropertyId,
        number: u32,
        data: &'a [u8],
        value: &'a [u8],
    ) -> Result<Property<'a>, V5Error> {
        let mut parts = Parts {
            number,
            bytes: [data, value],
            next: 0,
        };
        read_value(&mut parts, id).map_err(|err| match err {
            V5Error::MalformedPacket => V5Error::InvalidPropertyValue(id),
            other => other,
        })
    }

    /// The property as [`Property::from_parts`] takes it: `(number, data,
    /// value)`, with the integer types in `number` (flags and Maximum QoS
    /// as 0 or 1), strings and binary data in `data`, a User Property's
    /// name and value in `data` and `value`; unused parts are 0 and empty.
    pub fn parts(&self) -> (u32, &'a [u8], &'a [u8]) {
        match self.value() {
            Value::Byte(v) => (v.into(), &[], &[]),
            Value::TwoBytes(v) => (v.into(), &[], &[]),
            Value::FourBytes(v) | Value::VarInt(v) => (v, &[], &[]),
            Value::String(s) => (0, s.as_bytes(), &[]),
            Value::Binary(b) => (0, b, &[]),
            Value::StringPair(name, value) => (0, name.as_bytes(), value.as_bytes()),
        }
    }

    /// The value in its wire data type: the one place that maps each
    /// property to its representation.
    fn value(&self) -> Value<'a> {
        use Property as P;
        match *self {
            P::PayloadFormatIndicator(b)
            | P::RequestProblemInformation(b)
            | P::RequestResponseInformation(b)
            | P::RetainAvailable(b)
            | P::WildcardSubscriptionAvailable(b)
            | P::SubscriptionIdentifierAvailable(b)
            | P::SharedSubscriptionAvailable(b) => Value::Byte(b as u8),
            P::MaximumQos(qos) => Value::Byte(qos as u8),
            P::ServerKeepAlive(v)
            | P::ReceiveMaximum(v)
            | P::TopicAliasMaximum(v)
            | P::TopicAlias(v) => Value::TwoBytes(v),
            P::MessageExpiryInterval(v)
            | P::SessionExpiryInterval(v)
            | P::WillDelayInterval(v)
            | P::MaximumPacketSize(v) => Value::FourBytes(v),
            P::SubscriptionIdentifier(v) => Value::VarInt(v),
            P::ContentType(s)
            | P::ResponseTopic(s)
            | P::AssignedClientIdentifier(s)
            | P::AuthenticationMethod(s)
            | P::ResponseInformation(s)
            | P::ServerReference(s)
            | P::ReasonString(s) => Value::String(s),
            P::CorrelationData(b) | P::AuthenticationData(b) => Value::Binary(b),
            P::UserProperty(name, value) => Value::StringPair(name, value),
        }
    }

    /// Bytes the property takes on the wire (identifier and value), after
    /// checking that its value can be written.
    pub fn encoded_len(&self) -> Result<usize, V5Error> {
        let value = match self.value() {
            Value::Byte(_) => 1,
            Value::TwoBytes(_) => 2,
            Value::FourBytes(_) => 4,
            Value::VarInt(v) if v > VARINT_MAX => return Err(V5Error::VarIntTooLarge),
            Value::VarInt(v) => varint_len(v),
            Value::String(s) => string_len(s)?,
            Value::Binary(b) => binary_len(b)?,
            Value::StringPair(name, value) => string_len(name)? + string_len(value)?,
        };
        // Every identifier is one byte (section 2.2.2.2, non-normative).
        Ok(1 + value)
    }

    /// Writes the property; [`Property::encoded_len`] has checked it.
    fn write(&self, w: &mut Writer<'_>) {
        w.u8(self.id() as u8);
        match self.value() {
            Value::Byte(v) => w.u8(v),
            Value::TwoBytes(v) => w.u16(v),
            Value::FourBytes(v) => w.u32(v),
            Value::VarInt(v) => w.varint(v),
            Value::String(s) => w.binary(s.as_bytes()),
            Value::Binary(b) => w.binary(b),
            Value::StringPair(name, value) => {
                w.binary(name.as_bytes());
                w.binary(value.as_bytes());
            }
        }
    }

    /// The value rules the standard states per property (each "It is a
    /// Protocol Error ..." of sections 3.1.2.11, 3.2.2.3, 3.3.2.3, 3.8.2.1).
    fn check_value(&self) -> Result<(), V5Error> {
        use Property as P;
        let valid = match *self {
            // 3.1.2.11.3, 3.2.2.3.3: Receive Maximum of 0.
            P::ReceiveMaximum(0)
            // 3.1.2.11.4, 3.2.2.3.6: Maximum Packet Size of 0.
            | P::MaximumPacketSize(0)
            // 3.3.2.3.8, 3.8.2.1.2: Subscription Identifier of 0.
            | P::SubscriptionIdentifier(0)
            // 3.2.2.3.4: Maximum QoS other than 0 or 1.
            | P::MaximumQos(QoS::ExactlyOnce) => false,
            // [MQTT-3.3.2-14]: a topic name, so no wildcards (and, as every
            // topic name, at least one character [MQTT-4.7.3-1]).
            P::ResponseTopic(topic) => crate::topic::validate_topic_name(topic).is_ok(),
            // [MQTT-3.3.2-8]: 0x94 Topic Alias invalid, not a plain value error.
            P::TopicAlias(0) => return Err(V5Error::TopicAliasInvalid),
            _ => true,
        };
        if valid {
            Ok(())
        } else {
            Err(V5Error::InvalidPropertyValue(self.id()))
        }
    }
}

/// A property value in one of the data types of section 1.5.
enum Value<'a> {
    Byte(u8),
    TwoBytes(u16),
    FourBytes(u32),
    VarInt(u32),
    String(&'a str),
    Binary(&'a [u8]),
    StringPair(&'a str, &'a str),
}

/// Reads a property identifier (a Variable Byte Integer, section 2.2.2.2).
fn read_id(r: &mut Reader<'_>) -> Result<PropertyId, V5Error> {
    let value = r.varint()?;
    u8::try_from(value)
        .ok()
        .and_then(PropertyId::from_u8)
        .ok_or(V5Error::UnknownProperty(value.min(0xff) as u8))
}

/// Where property values are read from: a packet's bytes ([`Reader`]), or
/// the parts another representation holds them in ([`Parts`]).
trait Values<'a> {
    fn u8(&mut self) -> Result<u8, V5Error>;
    fn u16(&mut self) -> Result<u16, V5Error>;
    fn u32(&mut self) -> Result<u32, V5Error>;
    fn varint(&mut self) -> Result<u32, V5Error>;
    fn string(&mut self) -> Result<&'a str, V5Error>;
    fn binary(&mut self) -> Result<&'a [u8], V5Error>;
}

impl<'a> Values<'a> for Reader<'a> {
    fn u8(&mut self) -> Result<u8, V5Error> {
        Reader::u8(self)
    }
    fn u16(&mut self) -> Result<u16, V5Error> {
        Reader::u16(self)
    }
    fn u32(&mut self) -> Result<u32, V5Error> {
        Reader::u32(self)
    }
    fn varint(&mut self) -> Result<u32, V5Error> {
        Reader::varint(self)
    }
    fn string(&mut self) -> Result<&'a str, V5Error> {
        Reader::string(self)
    }
    fn binary(&mut self) -> Result<&'a [u8], V5Error> {
        Reader::binary(self)
    }
}

/// A value as a number and up to two byte strings (a User Property's name
/// and value), as [`Property::from_parts`] takes it.
struct Parts<'a> {
    number: u32,
    bytes: [&'a [u8]; 2],
    next: usize,
}

impl<'a> Parts<'a> {
    fn number(&self, max: u32) -> Result<u32, V5Error> {
        if self.number > max {
            return Err(V5Error::MalformedPacket);
        }
        Ok(self.number)
    }
}

impl<'a> Values<'a> for Parts<'a> {
    fn u8(&mut self) -> Result<u8, V5Error> {
        Ok(self.number(u8::MAX.into())? as u8)
    }
    fn u16(&mut self) -> Result<u16, V5Error> {
        Ok(self.number(u16::MAX.into())? as u16)
    }
    fn u32(&mut self) -> Result<u32, V5Error> {
        Ok(self.number)
    }
    fn varint(&mut self) -> Result<u32, V5Error> {
        self.number(super::VARINT_MAX)
    }
    fn string(&mut self) -> Result<&'a str, V5Error> {
        Ok(crate::codec::mqtt_str(self.binary()?)?)
    }
    fn binary(&mut self) -> Result<&'a [u8], V5Error> {
        let bytes = *self.bytes.get(self.next).ok_or(V5Error::MalformedPacket)?;
        self.next += 1;
        if bytes.len() > usize::from(u16::MAX) {
            return Err(V5Error::StringTooLong);
        }
        Ok(bytes)
    }
}

/// A 0/1 byte: "It is a Protocol Error ... to have a value other than 0
/// or 1" (3.1.2.11.6, 3.1.2.11.7, 3.2.2.3.4, 3.2.2.3.5, 3.2.2.3.11 to
/// 3.2.2.3.13). The Payload Format Indicator (3.3.2.3.2) lists only 0 and
/// 1 too; embermq holds any other value to the same rule.
fn read_flag<'a>(r: &mut impl Values<'a>, id: PropertyId) -> Result<bool, V5Error> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(V5Error::InvalidPropertyValue(id)),
    }
}

/// Reads the value of property `id` in its data type.
fn read_value<'a>(r: &mut impl Values<'a>, id: PropertyId) -> Result<Property<'a>, V5Error> {
    use Property as P;
    use PropertyId as I;
    Ok(match id {
        I::PayloadFormatIndicator => P::PayloadFormatIndicator(read_flag(r, id)?),
        I::RequestProblemInformation => P::RequestProblemInformation(read_flag(r, id)?),
        I::RequestResponseInformation => P::RequestResponseInformation(read_flag(r, id)?),
        I::RetainAvailable => P::RetainAvailable(read_flag(r, id)?),
        I::WildcardSubscriptionAvailable => P::WildcardSubscriptionAvailable(read_flag(r, id)?),
        I::SubscriptionIdentifierAvailable => P::SubscriptionIdentifierAvailable(read_flag(r, id)?),
        I::SharedSubscriptionAvailable => P::SharedSubscriptionAvailable(read_flag(r, id)?),
        I::MaximumQos => P::MaximumQos(match read_flag(r, id)? {
            false => QoS::AtMostOnce,
            true => QoS::AtLeastOnce,
        }),
        I::ServerKeepAlive => P::ServerKeepAlive(r.u16()?),
        I::ReceiveMaximum => P::ReceiveMaximum(r.u16()?),
        I::TopicAliasMaximum => P::TopicAliasMaximum(r.u16()?),
        I::TopicAlias => P::TopicAlias(r.u16()?),
        I::MessageExpiryInterval => P::MessageExpiryInterval(r.u32()?),
        I::SessionExpiryInterval => P::SessionExpiryInterval(r.u32()?),
        I::WillDelayInterval => P::WillDelayInterval(r.u32()?),
        I::MaximumPacketSize => P::MaximumPacketSize(r.u32()?),
        I::SubscriptionIdentifier => P::SubscriptionIdentifier(r.varint()?),
        I::ContentType => P::ContentType(r.string()?),
        I::ResponseTopic => P::ResponseTopic(r.string()?),
        I::AssignedClientIdentifier => P::AssignedClientIdentifier(r.string()?),
        I::AuthenticationMethod => P::AuthenticationMethod(r.string()?),
        I::ResponseInformation => P::ResponseInformation(r.string()?),
        I::ServerReference => P::ServerReference(r.string()?),
        I::ReasonString => P::ReasonString(r.string()?),
        I::CorrelationData => P::CorrelationData(r.binary()?),
        I::AuthenticationData => P::AuthenticationData(r.binary()?),
        // Both strings of the pair follow the string rules [MQTT-1.5.7-1].
        I::UserProperty => P::UserProperty(r.string()?, r.string()?),
    })
}

/// The identifiers seen so far in one property list, to find repeats.
#[derive(Default)]
struct Seen(u64);

impl Seen {
    fn has(&self, id: PropertyId) -> bool {
        self.0 & (1 << id as u8) != 0
    }

    /// Checks one property against the list's rules so far and records it.
    fn check(&mut self, p: &Property<'_>, context: PropertyContext) -> Result<(), V5Error> {
        let id = p.id();
        if !id.allowed_in(context) {
            return Err(V5Error::PropertyNotAllowed(id));
        }
        if self.has(id) && !id.may_repeat_in(context) {
            return Err(V5Error::DuplicateProperty(id));
        }
        self.0 |= 1 << id as u8;
        p.check_value()
    }

    /// The rules on the list as a whole.
    fn finish(&self) -> Result<(), V5Error> {
        // 3.1.2.11.10 (and for CONNACK and AUTH, where the pair also goes).
        if self.has(PropertyId::AuthenticationData) && !self.has(PropertyId::AuthenticationMethod) {
            return Err(V5Error::AuthDataWithoutMethod);
        }
        Ok(())
    }
}

/// Properties held in another form than [`Property`] values (a C array,
/// say), read one at a time without copying them anywhere. (Not `Debug`:
/// its vtable would link `core::fmt`, about 11 KB, into every MQTT 5
/// firmware.)
pub trait PropertySource {
    /// The property at `index`; `None` past the end. The source has
    /// checked that each converts.
    fn property(&self, index: usize) -> Option<Property<'_>>;
}

/// Two property lists read as one, the first's before the second's (what
/// a session announces, then what its caller adds).
#[derive(Debug, Clone, Copy)]
pub struct Joined<'a>(pub Properties<'a>, pub Properties<'a>);

impl PropertySource for Joined<'_> {
    fn property(&self, index: usize) -> Option<Property<'_>> {
        match self.0.iter().nth(index) {
            Some(property) => Some(property),
            None => self.1.iter().nth(index - self.0.iter().count()),
        }
    }
}

/// A property list: validated wire bytes, or the caller's values.
#[derive(Clone, Copy)]
pub enum Properties<'a> {
    /// Properties given by the caller, to encode.
    List(&'a [Property<'a>]),
    /// The property bytes of a decoded packet (validated), or what a
    /// [`PropertyWriter`] wrote. Without the Property Length prefix.
    Wire(&'a [u8]),
    /// Properties the caller holds in its own form, to encode.
    Source(&'a dyn PropertySource),
}

/// The properties as a list, whatever their form.
impl core::fmt::Debug for Properties<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Default for Properties<'_> {
    fn default() -> Self {
        Properties::NONE
    }
}

impl<'a> Properties<'a> {
    /// No properties (a Property Length of 0, [MQTT-2.2.2-1]).
    pub const NONE: Properties<'static> = Properties::Wire(&[]);

    /// Checks `bytes` (property list without its length prefix) against
    /// every rule for `context`, and wraps them.
    pub fn parse(bytes: &'a [u8], context: PropertyContext) -> Result<Properties<'a>, V5Error> {
        let mut seen = Seen::default();
        let mut r = Reader::new(bytes);
        while !r.is_empty() {
            let id = read_id(&mut r)?;
            // A property in the wrong packet is malformed (2.2.2.2) even
            // when its value would also be wrong.
            if !id.allowed_in(context) {
                return Err(V5Error::PropertyNotAllowed(id));
            }
            seen.check(&read_value(&mut r, id)?, context)?;
        }
        seen.finish()?;
        Ok(Properties::Wire(bytes))
    }

    /// Reads the Property Length and the properties after it from `r`.
    pub(crate) fn read(
        r: &mut Reader<'a>,
        context: PropertyContext,
    ) -> Result<Properties<'a>, V5Error> {
        let len = r.varint()?;
        let bytes = r.take(len as usize)?;
        Properties::parse(bytes, context)
    }

    /// Checks the properties against every rule for `context` and returns
    /// the bytes they take (without the Property Length).
    pub fn checked_len(&self, context: PropertyContext) -> Result<usize, V5Error> {
        match self {
            Properties::Wire(bytes) => {
                Properties::parse(bytes, context)?;
                Ok(bytes.len())
            }
            Properties::List(_) | Properties::Source(_) => {
                let mut seen = Seen::default();
                let mut len = 0usize;
                for p in self.iter() {
                    seen.check(&p, context)?;
                    len += p.encoded_len()?;
                }
                seen.finish()?;
                Ok(len)
            }
        }
    }

    /// Writes the Property Length `len` (from [`Properties::checked_len`])
    /// and the properties.
    pub(crate) fn write(&self, w: &mut Writer<'_>, len: usize) {
        w.varint(len as u32);
        match self {
            Properties::Wire(bytes) => w.bytes(bytes),
            Properties::List(_) | Properties::Source(_) => self.iter().for_each(|p| p.write(w)),
        }
    }

    /// The properties in order.
    pub fn iter(&self) -> PropertiesIter<'a> {
        PropertiesIter {
            properties: *self,
            index: 0,
        }
    }

    /// The first property with identifier `id`.
    pub fn get(&self, id: PropertyId) -> Option<Property<'a>> {
        self.iter().find(|p| p.id() == id)
    }

    /// The User Properties in order, as (name, value).
    pub fn user_properties(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.iter().filter_map(|p| match p {
            Property::UserProperty(name, value) => Some((name, value)),
            _ => None,
        })
    }

    /// True when there are no properties.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl PartialEq for Properties<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}
impl Eq for Properties<'_> {}

/// Iterator over a [`Properties`]. Wire bytes were validated when they
/// were wrapped, so a bad entry only ends the walk early.
#[derive(Debug, Clone)]
pub struct PropertiesIter<'a> {
    properties: Properties<'a>,
    /// The next index into a [`Properties::Source`].
    index: usize,
}

impl<'a> PropertiesIter<'a> {
    /// The wire bytes not read yet (empty for other forms): where a
    /// caller-held cursor resumes.
    pub fn rest(&self) -> &'a [u8] {
        match self.properties {
            Properties::Wire(bytes) => bytes,
            _ => &[],
        }
    }
}

impl<'a> Iterator for PropertiesIter<'a> {
    type Item = Property<'a>;

    fn next(&mut self) -> Option<Property<'a>> {
        match &mut self.properties {
            Properties::List(list) => {
                let (first, rest) = list.split_first()?;
                *list = rest;
                Some(*first)
            }
            Properties::Wire(bytes) => {
                let mut r = Reader::new(bytes);
                let property = read_id(&mut r).and_then(|id| read_value(&mut r, id));
                *bytes = if property.is_ok() { r.bytes } else { &[] };
                property.ok()
            }
            Properties::Source(source) => {
                let property = source.property(self.index)?;
                self.index += 1;
                Some(property)
            }
        }
    }
}

/// Writes typed properties into caller memory, one after the other, for a
/// packet to send: no heap, and the bytes are the packet's properties as
/// they go on the wire. Which packet they suit is checked when the packet
/// is encoded.
pub struct PropertyWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> PropertyWriter<'b> {
    /// A writer filling `buf` from its start.
    pub fn new(buf: &'b mut [u8]) -> PropertyWriter<'b> {
        PropertyWriter { buf, len: 0 }
    }

    /// Appends `property`. [`V5Error::BufferTooSmall`] when it does not
    /// fit (what was written before stays), or the error of a value that
    /// cannot be encoded.
    pub fn push(&mut self, property: &Property<'_>) -> Result<(), V5Error> {
        let needed = property.encoded_len()?;
        let room = self
            .buf
            .get_mut(self.len..self.len + needed)
            .ok_or(V5Error::BufferTooSmall)?;
        property.write(&mut Writer::new(room));
        self.len += needed;
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The properties written, to put in a packet.
    pub fn finish(self) -> Properties<'b> {
        let PropertyWriter { buf, len } = self;
        Properties::Wire(&buf[..len])
    }
}
