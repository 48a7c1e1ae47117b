//! What a client sends, to bytes. Each packet is validated and sized once
//! ([`Encode::size`]), then written into caller memory; nothing is written
//! when it is invalid or does not fit, so a client never puts on the wire a
//! packet the server would have to refuse.

use super::packet::*;
use super::property::{Properties, PropertyContext, PropertyId};
use super::reason::{ReasonCode, ReasonPacket, Sender};
use super::varint::{varint_len, VARINT_MAX};
use super::wire::{binary_len, string_len, Writer};
use super::V5Error;
use crate::codec::QoS;

/// The sizes of a validated packet, from [`Encode::size`]: what writing it
/// needs without checking it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketSize {
    body: usize,
    properties: usize,
    will_properties: usize,
}

impl PacketSize {
    /// The Remaining Length: the bytes after the fixed header.
    pub const fn body(&self) -> usize {
        self.body
    }

    /// The whole packet: fixed header and body.
    pub const fn total(&self) -> usize {
        1 + varint_len(self.body as u32) + self.body
    }

    /// [`V5Error::PacketTooLarge`] when the packet is larger than the
    /// Maximum Packet Size the server announced (`None`: no limit), which a
    /// client must not exceed [MQTT-3.2.2-15].
    pub fn check_max(&self, maximum_packet_size: Option<u32>) -> Result<(), V5Error> {
        match maximum_packet_size {
            Some(max) if self.total() > max as usize => Err(V5Error::PacketTooLarge),
            _ => Ok(()),
        }
    }
}

/// A packet a client sends.
pub trait Encode {
    /// Validates the packet against every rule the standard puts on its
    /// sender and returns its sizes.
    fn size(&self) -> Result<PacketSize, V5Error>;

    /// Writes the packet sized by [`Encode::size`] into `out`, which has
    /// exactly `size.total()` bytes. Called by [`Encode::encode_sized`].
    fn write_exact(&self, size: &PacketSize, out: &mut [u8]);

    /// Total encoded size, after validating the packet.
    fn encoded_len(&self) -> Result<usize, V5Error> {
        Ok(self.size()?.total())
    }

    /// Writes the packet sized by [`Encode::size`] (not validated again)
    /// into `out`; returns the bytes written.
    fn encode_sized(&self, size: &PacketSize, out: &mut [u8]) -> Result<usize, V5Error> {
        let total = size.total();
        let out = out.get_mut(..total).ok_or(V5Error::BufferTooSmall)?;
        self.write_exact(size, out);
        Ok(total)
    }

    /// Validates and writes the packet into `out`; returns the bytes
    /// written. Nothing is written when it is invalid or does not fit.
    fn encode(&self, out: &mut [u8]) -> Result<usize, V5Error> {
        let size = self.size()?;
        self.encode_sized(&size, out)
    }
}

/// A body length within what the Remaining Length can say (section 2.1.4).
fn body_size(
    body: usize,
    properties: usize,
    will_properties: usize,
) -> Result<PacketSize, V5Error> {
    if body > VARINT_MAX as usize {
        return Err(V5Error::PacketTooLarge);
    }
    Ok(PacketSize {
        body,
        properties,
        will_properties,
    })
}

/// Starts writing: the fixed header.
fn start<'b>(out: &'b mut [u8], first_byte: u8, size: &PacketSize) -> Writer<'b> {
    let mut w = Writer::new(out);
    w.u8(first_byte);
    w.varint(size.body as u32);
    w
}

fn with_length(len: usize) -> usize {
    varint_len(len as u32) + len
}

fn require_id(packet_id: u16) -> Result<(), V5Error> {
    if packet_id == 0 {
        Err(V5Error::ZeroPacketId) // [MQTT-2.2.1-3]
    } else {
        Ok(())
    }
}

fn client_reason(reason: ReasonCode, packet: ReasonPacket) -> Result<(), V5Error> {
    if reason.allowed_in(packet, Sender::Client) {
        Ok(())
    } else {
        Err(V5Error::ReasonCodeNotAllowed(reason))
    }
}

/// The protocol name and version of every MQTT 5 CONNECT (3.1.2.1, 3.1.2.2).
const PROTOCOL_NAME: &[u8] = b"MQTT";
use super::PROTOCOL_VERSION;

impl Encode for Connect<'_> {
    fn size(&self) -> Result<PacketSize, V5Error> {
        let properties = self.properties.checked_len(PropertyContext::Connect)?;
        // Name, version, flags, keepalive (3.1.2), properties.
        let mut body = 2 + PROTOCOL_NAME.len() + 1 + 1 + 2 + with_length(properties);
        body += string_len(self.client_id)?;
        let mut will_properties = 0;
        if let Some(will) = &self.will {
            will_properties = will.properties.checked_len(PropertyContext::Will)?;
            crate::topic::validate_topic_name(will.topic)?;
            check_payload_format(&will.properties, will.payload)?;
            body += with_length(will_properties) + 2 + will.topic.len();
            body += binary_len(will.payload)?;
        }
        if let Some(username) = self.username {
            body += string_len(username)?;
        }
        if let Some(password) = self.password {
            body += binary_len(password)?;
        }
        body_size(body, properties, will_properties)
    }

    fn write_exact(&self, size: &PacketSize, out: &mut [u8]) {
        let mut w = start(out, 0x10, size);
        w.binary(PROTOCOL_NAME);
        w.u8(PROTOCOL_VERSION);
        // Connect Flags (3.1.2.3); bit 0 is reserved and 0 [MQTT-3.1.2-3].
        let mut flags = (self.clean_start as u8) << 1;
        if let Some(will) = &self.will {
            flags |= 0x04 | ((will.qos as u8) << 3) | ((will.retain as u8) << 5);
        }
        flags |= (self.password.is_some() as u8) << 6;
        flags |= (self.username.is_some() as u8) << 7;
        w.u8(flags);
        w.u16(self.keep_alive);
        self.properties.write(&mut w, size.properties);
        // Payload order [MQTT-3.1.3-1].
        w.binary(self.client_id.as_bytes());
        if let Some(will) = &self.will {
            will.properties.write(&mut w, size.will_properties);
            w.binary(will.topic.as_bytes());
            w.binary(will.payload);
        }
        if let Some(username) = self.username {
            w.binary(username.as_bytes());
        }
        if let Some(password) = self.password {
            w.binary(password);
        }
        debug_assert_eq!(w.at, size.total());
    }
}

impl Encode for Publish<'_> {
    fn size(&self) -> Result<PacketSize, V5Error> {
        let properties = self.properties.checked_len(PropertyContext::Publish)?;
        if self
            .properties
            .get(PropertyId::SubscriptionIdentifier)
            .is_some()
        {
            return Err(V5Error::SubscriptionIdentifierFromClient); // [MQTT-3.3.4-6]
        }
        if self.topic.is_empty() {
            // 3.3.2.1: an empty topic name only with a Topic Alias.
            if self.topic_alias().is_none() {
                return Err(V5Error::EmptyTopicWithoutAlias);
            }
        } else {
            crate::topic::validate_topic_name(self.topic)?;
        }
        let id_len = match self.qos {
            QoS::AtMostOnce => 0,
            _ => {
                require_id(self.packet_id)?;
                2
            }
        };
        self.check_payload_format()?;
        let body = 2 + self.topic.len() + id_len + with_length(properties) + self.payload.len();
        body_size(body, properties, 0)
    }

    fn write_exact(&self, size: &PacketSize, out: &mut [u8]) {
        // DUP is 0 on QoS 0 [MQTT-3.3.1-2].
        let dup = self.dup && self.qos != QoS::AtMostOnce;
        let first = 0x30 | (dup as u8) << 3 | (self.qos as u8) << 1 | self.retain as u8;
        let mut w = start(out, first, size);
        w.binary(self.topic.as_bytes());
        if self.qos != QoS::AtMostOnce {
            w.u16(self.packet_id);
        }
        self.properties.write(&mut w, size.properties);
        w.bytes(self.payload);
        debug_assert_eq!(w.at, size.total());
    }
}

/// A [`PubResponse`] with the kind that gives its fixed header: also what
/// a session queues for one (not a [`ClientPacket`], whose encoder links
/// every packet type's).
pub(crate) struct TypedResponse<'r, 'a> {
    pub kind: AckKind,
    pub response: &'r PubResponse<'a>,
}

impl Encode for TypedResponse<'_, '_> {
    fn size(&self) -> Result<PacketSize, V5Error> {
        let r = self.response;
        require_id(r.packet_id)?;
        client_reason(r.reason, self.kind.reason_packet())?;
        let properties = r.properties.checked_len(PropertyContext::PubResponse)?;
        // The short forms of 3.4.2.1: no reason byte for Success without
        // properties, no Property Length without properties.
        let body = match (r.reason == ReasonCode::SUCCESS, properties) {
            (true, 0) => 2,
            (false, 0) => 3,
            _ => 3 + with_length(properties),
        };
        body_size(body, properties, 0)
    }

    fn write_exact(&self, size: &PacketSize, out: &mut [u8]) {
        let r = self.response;
        let mut w = start(out, self.kind.first_byte(), size);
        w.u16(r.packet_id);
        if size.body > 2 {
            w.u8(r.reason.0);
        }
        if size.body > 3 {
            r.properties.write(&mut w, size.properties);
        }
        debug_assert_eq!(w.at, size.total());
    }
}

impl PubResponse<'_> {
    /// Validates and sizes this response as a packet of `kind`.
    pub fn size(&self, kind: AckKind) -> Result<PacketSize, V5Error> {
        TypedResponse {
            kind,
            response: self,
        }
        .size()
    }

    /// Writes this response as a packet of `kind` into `out`; returns the
    /// bytes written.
    pub fn encode(&self, kind: AckKind, out: &mut [u8]) -> Result<usize, V5Error> {
        TypedResponse {
            kind,
            response: self,
        }
        .encode(out)
    }
}

/// The share name rules of section 4.8.2 for a filter starting `$share/`.
fn check_shared_filter(filter: &str) -> Result<bool, V5Error> {
    let Some(rest) = filter.strip_prefix("$share/") else {
        return Ok(false);
    };
    // [MQTT-4.8.2-1]: a share name of one character or more;
    // [MQTT-4.8.2-2]: without "/", "+", "#", then "/" and a filter.
    let (share_name, inner) = rest
        .split_once('/')
        .ok_or(V5Error::InvalidSharedSubscription)?;
    if share_name.is_empty() || share_name.contains(['+', '#']) || inner.is_empty() {
        return Err(V5Error::InvalidSharedSubscription);
    }
    Ok(true)
}

/// SUBSCRIBE and UNSUBSCRIBE before their filters: a packet id, a
/// non-empty list, the properties. Returns the body so far and the
/// properties' length.
fn filter_list_head(
    packet_id: u16,
    filters: usize,
    properties: &Properties<'_>,
    context: PropertyContext,
) -> Result<(usize, usize), V5Error> {
    require_id(packet_id)?;
    if filters == 0 {
        return Err(V5Error::NoTopicFilters);
    }
    let properties = properties.checked_len(context)?;
    Ok((2 + with_length(properties), properties))
}

/// A filter and its options byte in a SUBSCRIBE, validated.
fn subscription_len(filter: &str, options: SubscriptionOptions) -> Result<usize, V5Error> {
    // A valid filter is also a valid MQTT string (length, no U+0000).
    crate::topic::validate_topic_filter(filter)?;
    if check_shared_filter(filter)? && options.no_local {
        return Err(V5Error::NoLocalOnSharedSubscription); // [MQTT-3.8.3-4]
    }
    Ok(2 + filter.len() + 1)
}

/// A SUBSCRIBE of 3.1.1-style topics (a filter and the QoS wanted; the
/// other subscription options 0, no properties): what a session sends for
/// [`crate::session::Session::subscribe`] on an MQTT 5 connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscribeQos<'a> {
    pub packet_id: u16,
    pub topics: &'a [crate::codec::SubscribeTopic<'a>],
}

impl SubscribeQos<'_> {
    fn options(qos: QoS) -> SubscriptionOptions {
        SubscriptionOptions {
            qos,
            ..SubscriptionOptions::default()
        }
    }
}

impl SubscribeQos<'_> {
    /// The same packet as the session's list-type request.
    fn request(&self) -> FilterRequest<'_> {
        FilterRequest {
            packet_id: self.packet_id,
            unsubscribe: false,
            topics: &self.topics,
        }
    }
}

impl Encode for SubscribeQos<'_> {
    fn size(&self) -> Result<PacketSize, V5Error> {
        self.request().size()
    }

    fn write_exact(&self, size: &PacketSize, out: &mut [u8]) {
        self.request().write_exact(size, out)
    }
}

/// [`SubscribeQos`], or with `unsubscribe` an UNSUBSCRIBE of the same
/// filters (no properties), from the session's list type: what a session
/// sends for its 3.1.1-style requests (the C API's) on an MQTT 5
/// connection, so that both protocol levels read one list type and the
/// C caller's list is encoded in place, with no slice gathered.
pub(crate) struct FilterRequest<'a> {
    pub packet_id: u16,
    pub unsubscribe: bool,
    pub topics: &'a dyn crate::codec::TopicList,
}

impl Encode for FilterRequest<'_> {
    fn size(&self) -> Result<PacketSize, V5Error> {
        // At least one filter [MQTT-3.8.3-2] [MQTT-3.10.3-2]; no
        // properties, so the context only names the packet.
        let (mut body, properties) = filter_list_head(
            self.packet_id,
            self.topics.len(),
            &Properties::NONE,
            PropertyContext::Subscribe,
        )?;
        for topic in self.topics.iter() {
            body += if self.unsubscribe {
                crate::topic::validate_topic_filter(topic.filter)?;
                2 + topic.filter.len()
            } else {
                subscription_len(topic.filter, SubscribeQos::options(topic.qos))?
            };
        }
        body_size(body, properties, 0)
    }

    fn write_exact(&self, size: &PacketSize, out: &mut [u8]) {
        // flags 0010 [MQTT-3.8.1-1] [MQTT-3.10.1-1]
        let mut w = start(out, if self.unsubscribe { 0xa2 } else { 0x82 }, size);
        w.u16(self.packet_id);
        Properties::NONE.write(&mut w, size.properties);
        for topic in self.topics.iter() {
            w.binary(topic.filter.as_bytes());
            if !self.unsubscribe {
                w.u8(SubscribeQos::options(topic.qos).to_byte());
            }
        }
        debug_assert_eq!(w.at, size.total());
    }
}

impl Encode for Subscribe<'_> {
    fn size(&self) -> Result<PacketSize, V5Error> {
        // At least one filter [MQTT-3.8.3-2].
        let (mut body, properties) = filter_list_head(
            self.packet_id,
            self.topics.len(),
            &self.properties,
            PropertyContext::Subscribe,
        )?;
        for topic in self.topics {
            body += subscription_len(topic.filter, topic.options)?;
        }
        body_size(body, properties, 0)
    }

    fn write_exact(&self, size: &PacketSize, out: &mut [u8]) {
        let mut w = start(out, 0x82, size); // flags 0010 [MQTT-3.8.1-1]
        w.u16(self.packet_id);
        self.properties.write(&mut w, size.properties);
        for topic in self.topics {
            w.binary(topic.filter.as_bytes());
            w.u8(topic.options.to_byte());
        }
        debug_assert_eq!(w.at, size.total());
    }
}

impl Encode for Unsubscribe<'_> {
    fn size(&self) -> Result<PacketSize, V5Error> {
        // At least one filter [MQTT-3.10.3-2].
        let (mut body, properties) = filter_list_head(
            self.packet_id,
            self.filters.len(),
            &self.properties,
            PropertyContext::Unsubscribe,
        )?;
        for filter in self.filters {
            crate::topic::validate_topic_filter(filter)?;
            body += 2 + filter.len();
        }
        body_size(body, properties, 0)
    }

    fn write_exact(&self, size: &PacketSize, out: &mut [u8]) {
        let mut w = start(out, 0xa2, size); // flags 0010 [MQTT-3.10.1-1]
        w.u16(self.packet_id);
        self.properties.write(&mut w, size.properties);
        for filter in self.filters {
            w.binary(filter.as_bytes());
        }
        debug_assert_eq!(w.at, size.total());
    }
}

/// DISCONNECT and AUTH: a reason code and properties, both omitted for
/// Success without properties (3.14.2.1, 3.15.2.1), and for DISCONNECT the
/// Property Length omitted without properties (3.14.2.2.1).
fn reason_and_properties_size(
    reason: ReasonCode,
    properties: usize,
    short_property_length: bool,
) -> Result<PacketSize, V5Error> {
    let body = match (reason == ReasonCode::SUCCESS, properties) {
        (true, 0) => 0,
        (false, 0) if short_property_length => 1,
        _ => 1 + with_length(properties),
    };
    body_size(body, properties, 0)
}

fn write_reason_and_properties(
    first_byte: u8,
    reason: ReasonCode,
    properties: &Properties<'_>,
    size: &PacketSize,
    out: &mut [u8],
) {
    let mut w = start(out, first_byte, size);
    if size.body > 0 {
        w.u8(reason.0);
    }
    if size.body > 1 {
        properties.write(&mut w, size.properties);
    }
    debug_assert_eq!(w.at, size.total());
}

impl Encode for Disconnect<'_> {
    fn size(&self) -> Result<PacketSize, V5Error> {
        client_reason(self.reason, ReasonPacket::Disconnect)?; // [MQTT-3.14.2-1]
        let properties = self.properties.checked_len(PropertyContext::Disconnect)?;
        reason_and_properties_size(self.reason, properties, true)
    }

    fn write_exact(&self, size: &PacketSize, out: &mut [u8]) {
        write_reason_and_properties(0xe0, self.reason, &self.properties, size, out);
    }
}

impl Encode for Auth<'_> {
    fn size(&self) -> Result<PacketSize, V5Error> {
        client_reason(self.reason, ReasonPacket::Auth)?; // [MQTT-3.15.2-1]
        let properties = self.properties.checked_len(PropertyContext::Auth)?;
        if self
            .properties
            .get(PropertyId::AuthenticationMethod)
            .is_none()
        {
            return Err(V5Error::MissingAuthMethod); // 3.15.2.2.2
        }
        reason_and_properties_size(self.reason, properties, false)
    }

    fn write_exact(&self, size: &PacketSize, out: &mut [u8]) {
        write_reason_and_properties(0xf0, self.reason, &self.properties, size, out);
    }
}

/// Every packet a client sends. Firmware that encodes only some types can
/// call their own [`Encode`] impls and link only those.
impl Encode for ClientPacket<'_> {
    fn size(&self) -> Result<PacketSize, V5Error> {
        match self {
            ClientPacket::Connect(p) => p.size(),
            ClientPacket::Publish(p) => p.size(),
            ClientPacket::PubAck(r) => r.size(AckKind::PubAck),
            ClientPacket::PubRec(r) => r.size(AckKind::PubRec),
            ClientPacket::PubRel(r) => r.size(AckKind::PubRel),
            ClientPacket::PubComp(r) => r.size(AckKind::PubComp),
            ClientPacket::Subscribe(p) => p.size(),
            ClientPacket::Unsubscribe(p) => p.size(),
            ClientPacket::PingReq => body_size(0, 0, 0),
            ClientPacket::Disconnect(p) => p.size(),
            ClientPacket::Auth(p) => p.size(),
        }
    }

    fn write_exact(&self, size: &PacketSize, out: &mut [u8]) {
        let response = |kind, response| TypedResponse { kind, response };
        match self {
            ClientPacket::Connect(p) => p.write_exact(size, out),
            ClientPacket::Publish(p) => p.write_exact(size, out),
            ClientPacket::PubAck(r) => response(AckKind::PubAck, r).write_exact(size, out),
            ClientPacket::PubRec(r) => response(AckKind::PubRec, r).write_exact(size, out),
            ClientPacket::PubRel(r) => response(AckKind::PubRel, r).write_exact(size, out),
            ClientPacket::PubComp(r) => response(AckKind::PubComp, r).write_exact(size, out),
            ClientPacket::Subscribe(p) => p.write_exact(size, out),
            ClientPacket::Unsubscribe(p) => p.write_exact(size, out),
            ClientPacket::PingReq => {
                start(out, 0xc0, size);
            }
            ClientPacket::Disconnect(p) => p.write_exact(size, out),
            ClientPacket::Auth(p) => p.write_exact(size, out),
        }
    }
}
