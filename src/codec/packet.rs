//! The packet types. Every borrowed field points into the buffer the packet
//! was decoded from (or, when encoding, into the caller's data).

use crate::Error;

/// Quality of service of a PUBLISH or a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum QoS {
    /// Fire and forget.
    #[default]
    AtMostOnce = 0,
    /// Acknowledged by PUBACK; may arrive more than once.
    AtLeastOnce = 1,
    /// Four-step handshake; arrives exactly once.
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS for a wire value, or [`Error::InvalidQos`] for 3 and above.
    pub const fn from_u8(value: u8) -> Result<QoS, Error> {
        match value {
            0 => Ok(QoS::AtMostOnce),
            1 => Ok(QoS::AtLeastOnce),
            2 => Ok(QoS::ExactlyOnce),
            _ => Err(Error::InvalidQos),
        }
    }
}

/// The protocol spoken on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum ProtocolLevel {
    /// MQTT 3.1: protocol name "MQIsdp", level 3.
    V3_1 = 3,
    /// MQTT 3.1.1: protocol name "MQTT", level 4.
    #[default]
    V3_1_1 = 4,
}

impl ProtocolLevel {
    /// The level for a wire value (3 or 4).
    pub const fn from_u8(value: u8) -> Result<ProtocolLevel, Error> {
        match value {
            3 => Ok(ProtocolLevel::V3_1),
            4 => Ok(ProtocolLevel::V3_1_1),
            _ => Err(Error::InvalidProtocol),
        }
    }

    /// The protocol name the CONNECT packet carries for this level.
    pub const fn protocol_name(self) -> &'static str {
        match self {
            ProtocolLevel::V3_1 => "MQIsdp",
            ProtocolLevel::V3_1_1 => "MQTT",
        }
    }
}

/// The fourteen MQTT 3.1.1 control packet types (the high nibble of byte 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PacketType {
    Connect = 1,
    ConnAck = 2,
    Publish = 3,
    PubAck = 4,
    PubRec = 5,
    PubRel = 6,
    PubComp = 7,
    Subscribe = 8,
    SubAck = 9,
    Unsubscribe = 10,
    UnsubAck = 11,
    PingReq = 12,
    PingResp = 13,
    Disconnect = 14,
}

impl PacketType {
    /// The type for the high nibble of a fixed header.
    pub const fn from_u8(value: u8) -> Result<PacketType, Error> {
        Ok(match value {
            1 => PacketType::Connect,
            2 => PacketType::ConnAck,
            3 => PacketType::Publish,
            4 => PacketType::PubAck,
            5 => PacketType::PubRec,
            6 => PacketType::PubRel,
            7 => PacketType::PubComp,
            8 => PacketType::Subscribe,
            9 => PacketType::SubAck,
            10 => PacketType::Unsubscribe,
            11 => PacketType::UnsubAck,
            12 => PacketType::PingReq,
            13 => PacketType::PingResp,
            14 => PacketType::Disconnect,
            other => return Err(Error::InvalidPacketType(other)),
        })
    }
}

/// The last will a broker publishes when the client vanishes without DISCONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastWill<'a> {
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub qos: QoS,
    pub retain: bool,
}

/// CONNECT: the first packet a client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connect<'a> {
    pub protocol: ProtocolLevel,
    pub clean_session: bool,
    /// Keepalive in seconds; 0 turns it off.
    pub keep_alive: u16,
    pub client_id: &'a str,
    pub will: Option<LastWill<'a>>,
    pub username: Option<&'a str>,
    pub password: Option<&'a [u8]>,
}

/// The CONNACK return codes of MQTT 3.1.1 (0 accepts, 1..=5 refuse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ConnectReturnCode {
    Accepted = 0,
    UnacceptableProtocolVersion = 1,
    IdentifierRejected = 2,
    ServerUnavailable = 3,
    BadUsernameOrPassword = 4,
    NotAuthorized = 5,
}

impl ConnectReturnCode {
    /// The code for a wire value, or [`Error::InvalidConnackCode`].
    pub const fn from_u8(value: u8) -> Result<ConnectReturnCode, Error> {
        Ok(match value {
            0 => ConnectReturnCode::Accepted,
            1 => ConnectReturnCode::UnacceptableProtocolVersion,
            2 => ConnectReturnCode::IdentifierRejected,
            3 => ConnectReturnCode::ServerUnavailable,
            4 => ConnectReturnCode::BadUsernameOrPassword,
            5 => ConnectReturnCode::NotAuthorized,
            other => return Err(Error::InvalidConnackCode(other)),
        })
    }
}

/// CONNACK: the broker's answer to CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnAck {
    pub session_present: bool,
    pub code: ConnectReturnCode,
}

/// PUBLISH, in either direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish<'a> {
    pub dup: bool,
    pub qos: QoS,
    pub retain: bool,
    pub topic: &'a str,
    /// Non-zero for QoS 1 and 2; 0 (and not on the wire) for QoS 0.
    pub packet_id: u16,
    pub payload: &'a [u8],
}

/// One entry of a SUBSCRIBE: a topic filter and the maximum QoS wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscribeTopic<'a> {
    pub filter: &'a str,
    pub qos: QoS,
}

/// The topic list of a SUBSCRIBE: the caller's slice when encoding, the
/// validated wire bytes when decoding.
#[derive(Debug, Clone, Copy)]
pub enum SubscribeTopics<'a> {
    /// Entries given by the caller.
    List(&'a [SubscribeTopic<'a>]),
    /// The payload of a decoded SUBSCRIBE, already validated.
    Wire(&'a [u8]),
}

/// The filter list of an UNSUBSCRIBE: the caller's slice or validated wire bytes.
#[derive(Debug, Clone, Copy)]
pub enum UnsubscribeTopics<'a> {
    /// Filters given by the caller.
    List(&'a [&'a str]),
    /// The payload of a decoded UNSUBSCRIBE, already validated.
    Wire(&'a [u8]),
}

/// SUBSCRIBE: one or more filters with a QoS each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscribe<'a> {
    pub packet_id: u16,
    pub topics: SubscribeTopics<'a>,
}

/// SUBACK: the granted QoS per filter (0, 1, 2) or 0x80 for a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubAck<'a> {
    pub packet_id: u16,
    pub return_codes: &'a [u8],
}

/// The SUBACK return code for a refused subscription.
pub const SUBACK_FAILURE: u8 = 0x80;

/// UNSUBSCRIBE: one or more filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsubscribe<'a> {
    pub packet_id: u16,
    pub topics: UnsubscribeTopics<'a>,
}

/// Any MQTT 3.1.1 control packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    Connect(Connect<'a>),
    ConnAck(ConnAck),
    Publish(Publish<'a>),
    PubAck(u16),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    Subscribe(Subscribe<'a>),
    SubAck(SubAck<'a>),
    Unsubscribe(Unsubscribe<'a>),
    UnsubAck(u16),
    PingReq,
    PingResp,
    Disconnect,
}

impl Packet<'_> {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::ConnAck(_) => PacketType::ConnAck,
            Packet::Publish(_) => PacketType::Publish,
            Packet::PubAck(_) => PacketType::PubAck,
            Packet::PubRec(_) => PacketType::PubRec,
            Packet::PubRel(_) => PacketType::PubRel,
            Packet::PubComp(_) => PacketType::PubComp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::SubAck(_) => PacketType::SubAck,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::UnsubAck(_) => PacketType::UnsubAck,
            Packet::PingReq => PacketType::PingReq,
            Packet::PingResp => PacketType::PingResp,
            Packet::Disconnect => PacketType::Disconnect,
        }
    }
}

/// Walks validated wire bytes of length-prefixed strings. Validation ran at
/// decode time, so a malformed entry only ends the walk early.
fn next_wire_string<'a>(wire: &mut &'a [u8]) -> Option<&'a str> {
    let (len, rest) = wire.split_first_chunk()?;
    let (bytes, rest) = rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
    let text = super::from_utf8(bytes)?;
    *wire = rest;
    Some(text)
}

/// Iterator over the entries of a [`SubscribeTopics`].
#[derive(Debug, Clone)]
pub struct SubscribeTopicsIter<'a> {
    topics: SubscribeTopics<'a>,
}

impl<'a> Iterator for SubscribeTopicsIter<'a> {
    type Item = SubscribeTopic<'a>;

    fn next(&mut self) -> Option<SubscribeTopic<'a>> {
        match &mut self.topics {
            SubscribeTopics::List(list) => {
                let (first, rest) = list.split_first()?;
                *list = rest;
                Some(*first)
            }
            SubscribeTopics::Wire(wire) => {
                let filter = next_wire_string(wire)?;
                let (&qos, rest) = wire.split_first()?;
                *wire = rest;
                Some(SubscribeTopic {
                    filter,
                    qos: QoS::from_u8(qos).ok()?,
                })
            }
        }
    }
}

impl<'a> SubscribeTopics<'a> {
    /// The entries, in order.
    pub fn iter(&self) -> SubscribeTopicsIter<'a> {
        SubscribeTopicsIter { topics: *self }
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        match self {
            SubscribeTopics::List(list) => list.len(),
            SubscribeTopics::Wire(_) => self.iter().count(),
        }
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl PartialEq for SubscribeTopics<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}
impl Eq for SubscribeTopics<'_> {}

/// Iterator over the filters of an [`UnsubscribeTopics`].
#[derive(Debug, Clone)]
pub struct UnsubscribeTopicsIter<'a> {
    topics: UnsubscribeTopics<'a>,
}

impl<'a> Iterator for UnsubscribeTopicsIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match &mut self.topics {
            UnsubscribeTopics::List(list) => {
                let (first, rest) = list.split_first()?;
                *list = rest;
                Some(*first)
            }
            UnsubscribeTopics::Wire(wire) => next_wire_string(wire),
        }
    }
}

impl<'a> UnsubscribeTopics<'a> {
    /// The filters, in order.
    pub fn iter(&self) -> UnsubscribeTopicsIter<'a> {
        UnsubscribeTopicsIter { topics: *self }
    }

    /// How many filters there are.
    pub fn len(&self) -> usize {
        match self {
            UnsubscribeTopics::List(list) => list.len(),
            UnsubscribeTopics::Wire(_) => self.iter().count(),
        }
    }

    /// True when there are no filters.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl PartialEq for UnsubscribeTopics<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}
impl Eq for UnsubscribeTopics<'_> {}
