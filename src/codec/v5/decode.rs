//! Bytes from a server to packets, with every rule MQTT 5.0 puts on what a
//! client receives. Nothing is copied: fields borrow the receive buffer.

use super::packet::*;
use super::property::{Properties, Property, PropertyContext, PropertyId};
use super::reason::{ReasonCode, ReasonPacket, Sender};
use super::varint::decode_varint;
use super::wire::Reader;
use super::V5Error;
use crate::codec::{Frame, QoS};

/// What [`decode_from_server`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A whole packet that occupies the first `len` bytes.
    Packet {
        packet: ServerPacket<'a>,
        len: usize,
    },
    /// Not a whole packet yet: at least `needed` more bytes must arrive.
    Incomplete { needed: usize },
}

/// Reads the fixed header (section 2.1). `Ok(None)`: the header itself is
/// incomplete. The Remaining Length must be a minimal Variable Byte
/// Integer [MQTT-1.5.5-1]; a packet whose total size exceeds
/// `max_packet_size` (the Maximum Packet Size this client announced) is
/// [`V5Error::PacketTooLarge`], 0x95 (3.1.2.11.4), found before its body
/// arrives.
pub fn frame(buf: &[u8], max_packet_size: usize) -> Result<Option<Frame>, V5Error> {
    let Some((&first_byte, rest)) = buf.split_first() else {
        return Ok(None);
    };
    let Some((body_len, len_len)) = decode_varint(rest)? else {
        return Ok(None);
    };
    let frame = Frame {
        first_byte,
        header_len: 1 + len_len,
        body_len: body_len as usize,
    };
    if frame.total_len() > max_packet_size {
        return Err(V5Error::PacketTooLarge);
    }
    Ok(Some(frame))
}

/// Packet types by their fixed-header nibble (Table 2-1).
const CONNECT: u8 = 1;
const CONNACK: u8 = 2;
const PUBLISH: u8 = 3;
const PUBACK: u8 = 4;
const PUBREC: u8 = 5;
const PUBREL: u8 = 6;
const PUBCOMP: u8 = 7;
const SUBSCRIBE: u8 = 8;
const SUBACK: u8 = 9;
const UNSUBSCRIBE: u8 = 10;
const UNSUBACK: u8 = 11;
const PINGREQ: u8 = 12;
const PINGRESP: u8 = 13;

/// Refuses, from byte 0 alone, the reserved type 0 and the types only a
/// client sends.
fn check_type(first_byte: u8) -> Result<u8, V5Error> {
    match first_byte >> 4 {
        0 => Err(V5Error::InvalidPacketType(0)),
        kind @ (CONNECT | SUBSCRIBE | UNSUBSCRIBE | PINGREQ) => {
            Err(V5Error::UnexpectedPacket(kind))
        }
        kind => Ok(kind),
    }
}

/// The fixed-header flags of Table 2-2 [MQTT-2.1.3-1].
fn check_flags(kind: u8, flags: u8) -> Result<(), V5Error> {
    match kind {
        PUBLISH => {
            let qos = (flags >> 1) & 0x03;
            if qos == 3 {
                return Err(V5Error::InvalidQos); // [MQTT-3.3.1-4]
            }
            if qos == 0 && flags & 0x08 != 0 {
                return Err(V5Error::InvalidFlags); // [MQTT-3.3.1-2]
            }
            Ok(())
        }
        PUBREL if flags == 0x02 => Ok(()), // [MQTT-3.6.1-1]
        PUBREL => Err(V5Error::InvalidFlags),
        _ if flags == 0 => Ok(()),
        _ => Err(V5Error::InvalidFlags),
    }
}

/// Decodes the packet a server sent at the start of `buf`. Packets larger
/// than `max_packet_size` bytes in total are refused from their header.
/// Each refusal is a [`V5Error`] whose [`V5Error::reason_code`] is the
/// DISCONNECT reason to send.
pub fn decode_from_server(buf: &[u8], max_packet_size: usize) -> Result<Decoded<'_>, V5Error> {
    let Some(&first_byte) = buf.first() else {
        return Ok(Decoded::Incomplete { needed: 1 });
    };
    let kind = check_type(first_byte)?;
    let flags = first_byte & 0x0f;
    check_flags(kind, flags)?;
    let Some(frame) = frame(buf, max_packet_size)? else {
        return Ok(Decoded::Incomplete { needed: 1 });
    };
    let total = frame.total_len();
    if buf.len() < total {
        return Ok(Decoded::Incomplete {
            needed: total - buf.len(),
        });
    }
    let body = &buf[frame.header_len..total];
    let packet = decode_body(kind, flags, body)?;
    Ok(Decoded::Packet { packet, len: total })
}

/// A reason code the server may send in `packet`, or
/// [`V5Error::InvalidReasonCode`].
fn server_reason(code: u8, packet: ReasonPacket) -> Result<ReasonCode, V5Error> {
    let reason = ReasonCode(code);
    if reason.allowed_in(packet, Sender::Server) {
        Ok(reason)
    } else {
        Err(V5Error::InvalidReasonCode(reason))
    }
}

fn decode_body(kind: u8, flags: u8, body: &[u8]) -> Result<ServerPacket<'_>, V5Error> {
    let mut r = Reader::new(body);
    let packet = match kind {
        CONNACK => ServerPacket::ConnAck(decode_connack(&mut r)?),
        PUBLISH => ServerPacket::Publish(decode_publish(&mut r, flags)?),
        PUBACK => ServerPacket::PubAck(decode_pub_response(&mut r, AckKind::PubAck)?),
        PUBREC => ServerPacket::PubRec(decode_pub_response(&mut r, AckKind::PubRec)?),
        PUBREL => ServerPacket::PubRel(decode_pub_response(&mut r, AckKind::PubRel)?),
        PUBCOMP => ServerPacket::PubComp(decode_pub_response(&mut r, AckKind::PubComp)?),
        SUBACK => ServerPacket::SubAck(decode_filter_acks(&mut r, ReasonPacket::SubAck)?),
        UNSUBACK => ServerPacket::UnsubAck(decode_filter_acks(&mut r, ReasonPacket::UnsubAck)?),
        PINGRESP => ServerPacket::PingResp,
        // 14 DISCONNECT, 15 AUTH: check_type let nothing else through.
        14 => ServerPacket::Disconnect(decode_disconnect(&mut r)?),
        _ => ServerPacket::Auth(decode_auth(&mut r)?),
    };
    r.finish()?;
    Ok(packet)
}

/// CONNACK (section 3.2.2): flags, reason code, properties.
fn decode_connack<'a>(r: &mut Reader<'a>) -> Result<ConnAck<'a>, V5Error> {
    let flags = r.u8()?;
    if flags & 0xfe != 0 {
        return Err(V5Error::InvalidConnackFlags); // [MQTT-3.2.2-1]
    }
    let reason = server_reason(r.u8()?, ReasonPacket::ConnAck)?; // [MQTT-3.2.2-8]
    let session_present = flags & 1 != 0;
    if session_present && reason != ReasonCode::SUCCESS {
        return Err(V5Error::SessionPresentOnError); // [MQTT-3.2.2-6]
    }
    let properties = Properties::read(r, PropertyContext::ConnAck)?;
    Ok(ConnAck {
        session_present,
        reason,
        properties,
    })
}

/// PUBLISH (section 3.3.2): topic, packet id (QoS 1 and 2), properties,
/// payload.
fn decode_publish<'a>(r: &mut Reader<'a>, flags: u8) -> Result<Publish<'a>, V5Error> {
    let qos = QoS::from_u8((flags >> 1) & 0x03)?;
    let topic = r.string()?;
    let packet_id = match qos {
        QoS::AtMostOnce => 0,
        _ => r.packet_id()?,
    };
    let properties = Properties::read(r, PropertyContext::Publish)?;
    if topic.is_empty() {
        // 3.3.2.1: an empty topic name needs a Topic Alias.
        if properties.get(PropertyId::TopicAlias).is_none() {
            return Err(V5Error::EmptyTopicWithoutAlias);
        }
    } else {
        crate::topic::validate_topic_name(topic)?; // [MQTT-3.3.2-2]
    }
    Ok(Publish {
        dup: flags & 0x08 != 0,
        qos,
        retain: flags & 0x01 != 0,
        topic,
        packet_id,
        properties,
        payload: r.rest(),
    })
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP (sections 3.4.2 to 3.7.2): with a
/// Remaining Length of 2 the reason is Success; below 4 there is no
/// Property Length and no property (3.4.2.2.1).
fn decode_pub_response<'a>(r: &mut Reader<'a>, kind: AckKind) -> Result<PubResponse<'a>, V5Error> {
    let packet_id = r.packet_id()?;
    if r.is_empty() {
        return Ok(PubResponse::success(packet_id));
    }
    let reason = server_reason(r.u8()?, kind.reason_packet())?;
    let properties = if r.is_empty() {
        Properties::NONE
    } else {
        Properties::read(r, PropertyContext::PubResponse)?
    };
    Ok(PubResponse {
        packet_id,
        reason,
        properties,
    })
}

/// SUBACK and UNSUBACK (sections 3.9, 3.11): packet id, properties, and
/// one reason code per filter, each from the packet's table
/// [MQTT-3.9.3-2], [MQTT-3.11.3-2].
fn decode_filter_acks<'a>(
    r: &mut Reader<'a>,
    packet: ReasonPacket,
) -> Result<FilterAcks<'a>, V5Error> {
    let packet_id = r.packet_id()?;
    let context = match packet {
        ReasonPacket::SubAck => PropertyContext::SubAck,
        _ => PropertyContext::UnsubAck,
    };
    let properties = Properties::read(r, context)?;
    let reason_codes = r.rest();
    if reason_codes.is_empty() {
        return Err(V5Error::NoReasonCodes);
    }
    for &code in reason_codes {
        server_reason(code, packet)?;
    }
    Ok(FilterAcks {
        packet_id,
        properties,
        reason_codes,
    })
}

/// DISCONNECT (section 3.14.2): Remaining Length 0 is Normal
/// disconnection; below 2 there are no properties (3.14.2.2.1).
fn decode_disconnect<'a>(r: &mut Reader<'a>) -> Result<Disconnect<'a>, V5Error> {
    if r.is_empty() {
        return Ok(Disconnect {
            reason: ReasonCode::NORMAL_DISCONNECTION,
            properties: Properties::NONE,
        });
    }
    let reason = server_reason(r.u8()?, ReasonPacket::Disconnect)?; // [MQTT-3.14.2-1]
    let properties = if r.is_empty() {
        Properties::NONE
    } else {
        Properties::read(r, PropertyContext::Disconnect)?
    };
    if properties.get(PropertyId::SessionExpiryInterval).is_some() {
        return Err(V5Error::SessionExpiryFromServer); // [MQTT-3.14.2-2]
    }
    Ok(Disconnect { reason, properties })
}

/// AUTH (section 3.15.2): Remaining Length 0 is Success without
/// properties; otherwise reason code and properties, which must name the
/// Authentication Method (3.15.2.2.2).
fn decode_auth<'a>(r: &mut Reader<'a>) -> Result<Auth<'a>, V5Error> {
    if r.is_empty() {
        return Ok(Auth {
            reason: ReasonCode::SUCCESS,
            properties: Properties::NONE,
        });
    }
    let reason = server_reason(r.u8()?, ReasonPacket::Auth)?; // [MQTT-3.15.2-1]
    let properties = Properties::read(r, PropertyContext::Auth)?;
    if !matches!(
        properties.get(PropertyId::AuthenticationMethod),
        Some(Property::AuthenticationMethod(_))
    ) {
        return Err(V5Error::MissingAuthMethod);
    }
    Ok(Auth { reason, properties })
}
