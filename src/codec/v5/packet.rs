//! The MQTT 5 packets: what a client sends (encoded by [`super::encode`])
//! and what a server sends (decoded by [`super::decode`]). Borrowed fields
//! point into the caller's data or the receive buffer.

use super::property::{Properties, Property, PropertyId};
use super::reason::ReasonCode;
use super::V5Error;
use crate::codec::QoS;

/// The Will Message of a CONNECT, with its Will Properties (3.1.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Will<'a> {
    /// Will Delay Interval, Payload Format Indicator, Message Expiry
    /// Interval, Content Type, Response Topic, Correlation Data, User
    /// Properties.
    pub properties: Properties<'a>,
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub qos: QoS,
    pub retain: bool,
}

/// CONNECT, protocol name "MQTT" and version 5 (section 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connect<'a> {
    /// Clean Start: discard any session the server holds (3.1.2.4).
    pub clean_start: bool,
    /// Keepalive in seconds; 0 turns it off. A Server Keep Alive in the
    /// CONNACK replaces it [MQTT-3.2.2-21].
    pub keep_alive: u16,
    pub properties: Properties<'a>,
    /// May be empty: the server then assigns one (3.1.3.1).
    pub client_id: &'a str,
    pub will: Option<Will<'a>>,
    pub username: Option<&'a str>,
    /// MQTT 5 allows a password without a user name (3.1.2.9).
    pub password: Option<&'a [u8]>,
}

/// CONNACK (section 3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnAck<'a> {
    pub session_present: bool,
    /// 0x00 accepts; 0x80 and above refuse (Table 3-1).
    pub reason: ReasonCode,
    pub properties: Properties<'a>,
}

/// PUBLISH, in either direction (section 3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish<'a> {
    pub dup: bool,
    pub qos: QoS,
    pub retain: bool,
    /// Empty when a Topic Alias property stands for it (3.3.2.3.4).
    pub topic: &'a str,
    /// Non-zero for QoS 1 and 2; 0 (and not on the wire) for QoS 0.
    pub packet_id: u16,
    pub properties: Properties<'a>,
    pub payload: &'a [u8],
}

impl<'a> Publish<'a> {
    /// The Topic Alias property, if any.
    pub fn topic_alias(&self) -> Option<u16> {
        match self.properties.get(PropertyId::TopicAlias) {
            Some(Property::TopicAlias(alias)) => Some(alias),
            _ => None,
        }
    }

    /// Checks the Topic Alias against the Topic Alias Maximum this side
    /// announced (0 when it announced none): above it is 0x94 Topic Alias
    /// invalid [MQTT-3.3.2-10], [MQTT-3.3.2-12]. The decoder cannot know
    /// the maximum, so the session calls this.
    pub fn check_topic_alias(&self, maximum: u16) -> Result<(), V5Error> {
        match self.topic_alias() {
            Some(alias) if alias > maximum => Err(V5Error::TopicAliasInvalid),
            _ => Ok(()),
        }
    }

    /// The message without its properties, as the 3.1.1 state machine
    /// handles it.
    pub fn plain(&self) -> crate::codec::Publish<'a> {
        crate::codec::Publish {
            dup: self.dup,
            qos: self.qos,
            retain: self.retain,
            topic: self.topic,
            packet_id: self.packet_id,
            payload: self.payload,
        }
    }

    /// Checks that the payload is UTF-8 when the Payload Format Indicator
    /// says so. A receiver MAY check this and answer 0x99 Payload format
    /// invalid (3.3.2.3.2), so decoding leaves it to the caller; encoding
    /// always checks.
    pub fn check_payload_format(&self) -> Result<(), V5Error> {
        check_payload_format(&self.properties, self.payload)
    }
}

/// Shared by PUBLISH and the will: a payload marked UTF-8 must be UTF-8.
pub(crate) fn check_payload_format(
    properties: &Properties<'_>,
    payload: &[u8],
) -> Result<(), V5Error> {
    match properties.get(PropertyId::PayloadFormatIndicator) {
        Some(Property::PayloadFormatIndicator(true))
            if crate::codec::from_utf8(payload).is_none() =>
        {
            Err(V5Error::PayloadFormatInvalid)
        }
        _ => Ok(()),
    }
}

/// Which of the four publish acknowledgements a [`PubResponse`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckKind {
    /// PUBACK: QoS 1 delivered.
    PubAck,
    /// PUBREC: QoS 2, step 2.
    PubRec,
    /// PUBREL: QoS 2, step 3 (fixed-header flags 0010).
    PubRel,
    /// PUBCOMP: QoS 2, step 4.
    PubComp,
}

impl AckKind {
    /// Byte 0 of the fixed header.
    pub(crate) const fn first_byte(self) -> u8 {
        match self {
            AckKind::PubAck => 0x40,
            AckKind::PubRec => 0x50,
            AckKind::PubRel => 0x62,
            AckKind::PubComp => 0x70,
        }
    }

    /// The reason-code table of this packet.
    pub(crate) const fn reason_packet(self) -> super::ReasonPacket {
        use super::ReasonPacket as R;
        match self {
            AckKind::PubAck => R::PubAck,
            AckKind::PubRec => R::PubRec,
            AckKind::PubRel => R::PubRel,
            AckKind::PubComp => R::PubComp,
        }
    }
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP (sections 3.4 to 3.7). With Success
/// and no properties the short form (Remaining Length 2) goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PubResponse<'a> {
    pub packet_id: u16,
    pub reason: ReasonCode,
    /// Reason String and User Properties.
    pub properties: Properties<'a>,
}

impl PubResponse<'_> {
    /// Success without properties: the two-byte short form.
    pub const fn success(packet_id: u16) -> PubResponse<'static> {
        PubResponse {
            packet_id,
            reason: ReasonCode::SUCCESS,
            properties: Properties::NONE,
        }
    }
}

/// Retain Handling of a subscription (3.8.3.1): when the server sends
/// retained messages for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum RetainHandling {
    /// 0: at every subscribe.
    #[default]
    SendAtSubscribe = 0,
    /// 1: only when the subscription is new.
    SendIfNew = 1,
    /// 2: never at subscribe.
    DoNotSend = 2,
}

/// The Subscription Options byte (3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubscriptionOptions {
    /// The highest QoS wanted.
    pub qos: QoS,
    /// Not to receive one's own publishes (not on shared subscriptions).
    pub no_local: bool,
    /// Keep the RETAIN flag of forwarded messages as published.
    pub retain_as_published: bool,
    pub retain_handling: RetainHandling,
}

impl SubscriptionOptions {
    /// The options byte; bits 6 and 7 are reserved and 0 [MQTT-3.8.3-5].
    pub const fn to_byte(self) -> u8 {
        self.qos as u8
            | (self.no_local as u8) << 2
            | (self.retain_as_published as u8) << 3
            | (self.retain_handling as u8) << 4
    }
}

/// One filter of a SUBSCRIBE with its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscribeTopic<'a> {
    pub filter: &'a str,
    pub options: SubscriptionOptions,
}

/// SUBSCRIBE (section 3.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscribe<'a> {
    pub packet_id: u16,
    /// Subscription Identifier (at most once) and User Properties.
    pub properties: Properties<'a>,
    pub topics: &'a [SubscribeTopic<'a>],
}

/// SUBACK or UNSUBACK (sections 3.9, 3.11): one reason code per filter
/// of the request, in its order [MQTT-3.9.3-1], [MQTT-3.11.3-1].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterAcks<'a> {
    pub packet_id: u16,
    /// Reason String and User Properties.
    pub properties: Properties<'a>,
    /// SUBACK: Granted QoS 0x00 to 0x02 or a failure (Table 3-8).
    /// UNSUBACK: Success, No subscription existed or a failure (Table 3-9).
    pub reason_codes: &'a [u8],
}

impl<'a> FilterAcks<'a> {
    /// The reason codes as [`ReasonCode`]s.
    pub fn codes(&self) -> impl Iterator<Item = ReasonCode> + 'a {
        self.reason_codes.iter().map(|&code| ReasonCode(code))
    }
}

/// UNSUBSCRIBE (section 3.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsubscribe<'a> {
    pub packet_id: u16,
    /// User Properties only.
    pub properties: Properties<'a>,
    pub filters: &'a [&'a str],
}

/// DISCONNECT, in either direction (section 3.14). Normal disconnection
/// without properties goes on the wire as Remaining Length 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnect<'a> {
    pub reason: ReasonCode,
    /// Session Expiry Interval (client only), Reason String, User
    /// Properties, Server Reference (server only).
    pub properties: Properties<'a>,
}

/// AUTH, in either direction (section 3.15). Success without properties
/// goes on the wire as Remaining Length 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Auth<'a> {
    /// 0x00 Success, 0x18 Continue authentication, 0x19 Re-authenticate.
    pub reason: ReasonCode,
    /// Authentication Method (required), Authentication Data, Reason
    /// String, User Properties.
    pub properties: Properties<'a>,
}

/// Every packet a server sends to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerPacket<'a> {
    ConnAck(ConnAck<'a>),
    Publish(Publish<'a>),
    PubAck(PubResponse<'a>),
    PubRec(PubResponse<'a>),
    PubRel(PubResponse<'a>),
    PubComp(PubResponse<'a>),
    SubAck(FilterAcks<'a>),
    UnsubAck(FilterAcks<'a>),
    PingResp,
    Disconnect(Disconnect<'a>),
    Auth(Auth<'a>),
}

impl<'a> ServerPacket<'a> {
    /// The packet's properties (none for PINGRESP).
    pub fn properties(&self) -> Properties<'a> {
        use ServerPacket as S;
        match *self {
            S::ConnAck(p) => p.properties,
            S::Publish(p) => p.properties,
            S::PubAck(p) | S::PubRec(p) | S::PubRel(p) | S::PubComp(p) => p.properties,
            S::SubAck(p) | S::UnsubAck(p) => p.properties,
            S::Disconnect(p) => p.properties,
            S::Auth(p) => p.properties,
            S::PingResp => Properties::NONE,
        }
    }
}

/// Every packet a client sends to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientPacket<'a> {
    Connect(Connect<'a>),
    Publish(Publish<'a>),
    PubAck(PubResponse<'a>),
    PubRec(PubResponse<'a>),
    PubRel(PubResponse<'a>),
    PubComp(PubResponse<'a>),
    Subscribe(Subscribe<'a>),
    Unsubscribe(Unsubscribe<'a>),
    PingReq,
    Disconnect(Disconnect<'a>),
    Auth(Auth<'a>),
}

/// What the server's CONNACK sets for this connection, with the defaults
/// the standard gives when a property is absent (section 3.2.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits<'a> {
    /// Replaces CONNECT's when present (3.2.2.3.2).
    pub session_expiry_interval: Option<u32>,
    /// In-flight QoS 1/2 publishes the server accepts; default 65,535.
    pub receive_maximum: u16,
    /// Highest QoS to publish with; default 2 [MQTT-3.2.2-11].
    pub maximum_qos: QoS,
    /// False: no RETAIN flag may be sent [MQTT-3.2.2-14]; default true.
    pub retain_available: bool,
    /// Largest packet to send [MQTT-3.2.2-15]; `None` is no limit.
    pub maximum_packet_size: Option<u32>,
    /// The client id to use when CONNECT's was empty.
    pub assigned_client_identifier: Option<&'a str>,
    /// Highest Topic Alias to send; default 0, none [MQTT-3.2.2-18].
    pub topic_alias_maximum: u16,
    /// Default true.
    pub wildcard_subscription_available: bool,
    /// Default true.
    pub subscription_identifier_available: bool,
    /// Default true.
    pub shared_subscription_available: bool,
    /// The keepalive to use instead of CONNECT's [MQTT-3.2.2-21].
    pub server_keep_alive: Option<u16>,
}

impl<'a> ConnAck<'a> {
    /// The limits this CONNACK sets, defaults filled in.
    pub fn limits(&self) -> ServerLimits<'a> {
        let mut limits = ServerLimits {
            session_expiry_interval: None,
            receive_maximum: u16::MAX,
            maximum_qos: QoS::ExactlyOnce,
            retain_available: true,
            maximum_packet_size: None,
            assigned_client_identifier: None,
            topic_alias_maximum: 0,
            wildcard_subscription_available: true,
            subscription_identifier_available: true,
            shared_subscription_available: true,
            server_keep_alive: None,
        };
        for property in self.properties.iter() {
            match property {
                Property::SessionExpiryInterval(v) => limits.session_expiry_interval = Some(v),
                Property::ReceiveMaximum(v) => limits.receive_maximum = v,
                Property::MaximumQos(v) => limits.maximum_qos = v,
                Property::RetainAvailable(v) => limits.retain_available = v,
                Property::MaximumPacketSize(v) => limits.maximum_packet_size = Some(v),
                Property::AssignedClientIdentifier(v) => {
                    limits.assigned_client_identifier = Some(v)
                }
                Property::TopicAliasMaximum(v) => limits.topic_alias_maximum = v,
                Property::WildcardSubscriptionAvailable(v) => {
                    limits.wildcard_subscription_available = v
                }
                Property::SubscriptionIdentifierAvailable(v) => {
                    limits.subscription_identifier_available = v
                }
                Property::SharedSubscriptionAvailable(v) => {
                    limits.shared_subscription_available = v
                }
                Property::ServerKeepAlive(v) => limits.server_keep_alive = Some(v),
                _ => {}
            }
        }
        limits
    }
}
