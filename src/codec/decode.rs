//! Bytes to packets, with every rule of MQTT 3.1.1 that a receiver must check.

use super::packet::*;
use super::MAX_REMAINING_LENGTH;
use crate::{topic, Error};

/// Where a packet lies in a buffer: its fixed header length and body length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Byte 0: packet type in the high nibble, flags in the low nibble.
    pub first_byte: u8,
    /// Length of the fixed header (2 to 5 bytes).
    pub header_len: usize,
    /// The remaining length: the body after the fixed header.
    pub body_len: usize,
}

impl Frame {
    /// Total bytes of the packet.
    pub fn total_len(&self) -> usize {
        self.header_len + self.body_len
    }
}

/// What [`decode`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A whole packet that occupies the first `len` bytes.
    Packet { packet: Packet<'a>, len: usize },
    /// Not a whole packet yet: at least `needed` more bytes must arrive.
    Incomplete { needed: usize },
}

/// Reads the fixed header. `Ok(None)` means the header itself is incomplete
/// (at least one more byte is needed). A packet whose total size exceeds
/// `max_packet_size` is [`Error::PacketTooLarge`].
// Inlined: a caller then reads the frame from registers instead of a
// `Result<Option<Frame>>` built in memory (−158 B on firmware).
#[inline(always)]
pub fn frame(buf: &[u8], max_packet_size: usize) -> Result<Option<Frame>, Error> {
    let Some(&first_byte) = buf.first() else {
        return Ok(None);
    };
    let mut body_len = 0usize;
    for i in 0..4 {
        let Some(&byte) = buf.get(1 + i) else {
            return Ok(None);
        };
        body_len |= ((byte & 0x7f) as usize) << (7 * i);
        if byte & 0x80 == 0 {
            let frame = Frame {
                first_byte,
                header_len: 2 + i,
                body_len,
            };
            if frame.total_len() > max_packet_size {
                return Err(Error::PacketTooLarge);
            }
            return Ok(Some(frame));
        }
    }
    Err(Error::MalformedRemainingLength)
}

/// Decodes the packet at the start of `buf`, accepting every packet type.
/// Packets larger than `max_packet_size` bytes in total are refused before
/// their body arrives.
pub fn decode(buf: &[u8], max_packet_size: usize) -> Result<Decoded<'_>, Error> {
    decode_with(buf, max_packet_size, decode_body)
}

/// How a packet body becomes a [`Packet`]: every type, or only those a
/// server sends (so that a client links no decoder of the others).
type BodyDecoder = for<'a> fn(PacketType, u8, &'a [u8]) -> Result<Packet<'a>, Error>;

#[inline(always)]
fn decode_with(
    buf: &[u8],
    max_packet_size: usize,
    decode_body: BodyDecoder,
) -> Result<Decoded<'_>, Error> {
    let Some(frame) = frame(buf, max_packet_size)? else {
        // Check the type nibble as early as the first byte allows.
        if let Some(&first) = buf.first() {
            PacketType::from_u8(first >> 4)?;
        }
        return Ok(Decoded::Incomplete { needed: 1 });
    };
    let packet_type = PacketType::from_u8(frame.first_byte >> 4)?;
    check_flags(packet_type, frame.first_byte & 0x0f)?;
    let total = frame.total_len();
    if buf.len() < total {
        return Ok(Decoded::Incomplete {
            needed: total - buf.len(),
        });
    }
    let body = &buf[frame.header_len..total];
    let packet = decode_body(packet_type, frame.first_byte & 0x0f, body)?;
    Ok(Decoded::Packet { packet, len: total })
}

/// How a PUBLISH too large for the receive buffer begins, from the bytes
/// of it at hand (see [`publish_head`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishHead<'a> {
    /// Not enough bytes yet to say.
    Incomplete,
    /// Topic and packet id are in the buffer. `publish.payload` is the part
    /// of the payload that is; `payload_len` is the whole payload's length.
    Decoded {
        publish: Publish<'a>,
        payload_len: usize,
    },
    /// The topic does not fit in a buffer of the given size: the packet id
    /// (if any) starts `id_at` bytes into the packet.
    TopicTooLong { id_at: usize },
}

/// Decodes the start of the PUBLISH framed by `frame` at the start of
/// `buf`, for a message whose whole does not fit in a buffer of
/// `capacity` bytes, so that it can be acknowledged and reported while the
/// rest is read through. Checks what [`decode`] checks of the part at hand.
pub fn publish_head(buf: &[u8], frame: Frame, capacity: usize) -> Result<PublishHead<'_>, Error> {
    let flags = frame.first_byte & 0x0f;
    check_flags(PacketType::Publish, flags)?;
    // QoS bits: 0 is QoS 0 (no packet id); 3 was refused above.
    let id_len = if flags & 0x06 == 0 { 0 } else { 2 };
    let Some(body) = buf.get(frame.header_len..) else {
        return Ok(PublishHead::Incomplete);
    };
    let Some((len, _)) = body.split_first_chunk() else {
        return Ok(PublishHead::Incomplete);
    };
    let topic_len = usize::from(u16::from_be_bytes(*len));
    let id_at = frame.header_len + 2 + topic_len;
    if 2 + topic_len + id_len > frame.body_len {
        return Err(Error::MalformedPacket);
    }
    if id_at + id_len > capacity {
        return Ok(PublishHead::TopicTooLong { id_at });
    }
    if buf.len() < id_at + id_len {
        return Ok(PublishHead::Incomplete);
    }
    // The body as far as it is here: its payload is the start of the whole.
    Ok(PublishHead::Decoded {
        publish: decode_publish(flags, Reader { bytes: body })?,
        payload_len: frame.body_len - 2 - topic_len - id_len,
    })
}

/// Like [`decode`], for a client: packets a server must never send to a
/// client (CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT) are
/// [`Error::UnexpectedPacket`], reported as soon as the first byte is in.
pub fn decode_from_server(buf: &[u8], max_packet_size: usize) -> Result<Decoded<'_>, Error> {
    if let Some(&first) = buf.first() {
        let kind = first >> 4;
        if matches!(
            PacketType::from_u8(kind)?,
            PacketType::Connect
                | PacketType::Subscribe
                | PacketType::Unsubscribe
                | PacketType::PingReq
                | PacketType::Disconnect
        ) {
            return Err(Error::UnexpectedPacket(kind));
        }
    }
    decode_with(buf, max_packet_size, decode_server_sent)
}

/// The fixed-header flag rules of MQTT 3.1.1 section 2.2.2.
fn check_flags(packet_type: PacketType, flags: u8) -> Result<(), Error> {
    match packet_type {
        PacketType::Publish => {
            let qos = QoS::from_u8((flags >> 1) & 0x03)?;
            // DUP must be 0 on QoS 0 messages [MQTT-3.3.1-2].
            if qos == QoS::AtMostOnce && flags & 0x08 != 0 {
                return Err(Error::InvalidFlags);
            }
            Ok(())
        }
        PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => {
            if flags == 0x02 {
                Ok(())
            } else {
                Err(Error::InvalidFlags)
            }
        }
        _ if flags == 0 => Ok(()),
        _ => Err(Error::InvalidFlags),
    }
}

/// A cursor over a packet body that fails with [`Error::MalformedPacket`]
/// when a field runs past the end.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, Error> {
        let (&byte, rest) = self.bytes.split_first().ok_or(Error::MalformedPacket)?;
        self.bytes = rest;
        Ok(byte)
    }

    #[inline(always)]
    fn u16(&mut self) -> Result<u16, Error> {
        // Both bytes at once: one length check, one error path.
        match self.bytes.split_first_chunk() {
            Some((&bytes, rest)) => {
                self.bytes = rest;
                Ok(u16::from_be_bytes(bytes))
            }
            None => Err(Error::MalformedPacket),
        }
    }

    #[inline(always)]
    fn packet_id(&mut self) -> Result<u16, Error> {
        match self.u16()? {
            0 => Err(Error::ZeroPacketId),
            id => Ok(id),
        }
    }

    fn binary(&mut self) -> Result<&'a [u8], Error> {
        // Length and bytes as one `Option`: through `u16` its
        // `Result<u16, Error>` was packed and unpacked in registers.
        let (taken, rest) = self
            .bytes
            .split_first_chunk()
            .and_then(|(len, rest)| rest.split_at_checked(usize::from(u16::from_be_bytes(*len))))
            .ok_or(Error::MalformedPacket)?;
        self.bytes = rest;
        Ok(taken)
    }

    fn string(&mut self) -> Result<&'a str, Error> {
        super::mqtt_str(self.binary()?)
    }

    fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.bytes)
    }

    fn finish(&self) -> Result<(), Error> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(Error::MalformedPacket)
        }
    }
}

/// Every packet type's body; those a server sends go to [`decode_server_sent`].
fn decode_body(packet_type: PacketType, flags: u8, body: &[u8]) -> Result<Packet<'_>, Error> {
    debug_assert!(body.len() <= MAX_REMAINING_LENGTH);
    let mut r = Reader { bytes: body };
    let packet = match packet_type {
        PacketType::Connect => Packet::Connect(decode_connect(&mut r)?),
        PacketType::Subscribe => {
            let (packet_id, wire) = filter_list(&mut r, true)?;
            Packet::Subscribe(Subscribe {
                packet_id,
                topics: SubscribeTopics::Wire(wire),
            })
        }
        PacketType::Unsubscribe => {
            let (packet_id, wire) = filter_list(&mut r, false)?;
            Packet::Unsubscribe(Unsubscribe {
                packet_id,
                topics: UnsubscribeTopics::Wire(wire),
            })
        }
        PacketType::PingReq => Packet::PingReq,
        PacketType::Disconnect => Packet::Disconnect,
        _ => return decode_server_sent(packet_type, flags, body),
    };
    r.finish()?;
    Ok(packet)
}

/// A SUBSCRIBE (`with_options`) or UNSUBSCRIBE body: its packet id and
/// its filter list, every filter (and SUBSCRIBE's options byte) checked.
fn filter_list<'a>(r: &mut Reader<'a>, with_options: bool) -> Result<(u16, &'a [u8]), Error> {
    let packet_id = r.packet_id()?;
    let wire = r.rest();
    let mut check = Reader { bytes: wire };
    if check.bytes.is_empty() {
        return Err(Error::NoTopicFilters);
    }
    while !check.bytes.is_empty() {
        topic::validate_topic_filter(check.string()?)?;
        if with_options {
            let options = check.u8()?;
            if options & 0xfc != 0 {
                return Err(Error::InvalidFlags);
            }
            QoS::from_u8(options)?;
        }
    }
    Ok((packet_id, wire))
}

/// The bodies of the packets a server sends to a client: all a client
/// decodes. Any other type is [`Error::UnexpectedPacket`].
fn decode_server_sent(
    packet_type: PacketType,
    flags: u8,
    body: &[u8],
) -> Result<Packet<'_>, Error> {
    debug_assert!(body.len() <= MAX_REMAINING_LENGTH);
    let mut r = Reader { bytes: body };
    let packet = match packet_type {
        PacketType::Publish => return decode_publish(flags, r).map(Packet::Publish),
        PacketType::PingResp => Packet::PingResp,
        PacketType::ConnAck => {
            let [ack_flags, code] = r.u16()?.to_be_bytes();
            if ack_flags & 0xfe != 0 {
                return Err(Error::InvalidConnackFlags);
            }
            let code = ConnectReturnCode::from_u8(code)?;
            let session_present = ack_flags != 0;
            // A refusal never comes with a session [MQTT-3.2.2-4].
            if session_present && code != ConnectReturnCode::Accepted {
                return Err(Error::InvalidConnackFlags);
            }
            Packet::ConnAck(ConnAck {
                session_present,
                code,
            })
        }
        PacketType::PubAck
        | PacketType::PubRec
        | PacketType::PubRel
        | PacketType::PubComp
        | PacketType::SubAck
        | PacketType::UnsubAck => {
            // One read of the packet id for every acknowledgement.
            let packet_id = r.packet_id()?;
            match packet_type {
                PacketType::PubAck => Packet::PubAck(packet_id),
                PacketType::PubRec => Packet::PubRec(packet_id),
                PacketType::PubRel => Packet::PubRel(packet_id),
                PacketType::PubComp => Packet::PubComp(packet_id),
                PacketType::SubAck => {
                    let return_codes = r.rest();
                    if return_codes.is_empty() {
                        return Err(Error::MalformedPacket);
                    }
                    if let Some(&bad) = return_codes
                        .iter()
                        .find(|&&code| code > 2 && code != SUBACK_FAILURE)
                    {
                        return Err(Error::InvalidSubackCode(bad));
                    }
                    Packet::SubAck(SubAck {
                        packet_id,
                        return_codes,
                    })
                }
                // UNSUBACK, the last of the group.
                _ => Packet::UnsubAck(packet_id),
            }
        }
        other => return Err(Error::UnexpectedPacket(other as u8)),
    };
    r.finish()?;
    Ok(packet)
}

/// A PUBLISH body; `flags` passed [`check_flags`].
// Inlined into both callers: out of line, its `Result<Publish>` was
// built in memory and copied, and `decode_server_sent` stayed a call
// of its own (with its `Result<Packet>`) in a client's receive loop.
#[inline(always)]
fn decode_publish(flags: u8, mut r: Reader<'_>) -> Result<Publish<'_>, Error> {
    let qos = QoS::from_u8((flags >> 1) & 0x03)?;
    let topic = r.string()?;
    topic::validate_topic_name(topic)?;
    let packet_id = if qos == QoS::AtMostOnce {
        0
    } else {
        r.packet_id()?
    };
    Ok(Publish {
        dup: flags & 0x08 != 0,
        qos,
        retain: flags & 0x01 != 0,
        topic,
        packet_id,
        payload: r.rest(),
    })
}

fn decode_connect<'a>(r: &mut Reader<'a>) -> Result<Connect<'a>, Error> {
    let name = r.string()?;
    let protocol = ProtocolLevel::from_u8(r.u8()?)?;
    if name != protocol.protocol_name() {
        return Err(Error::InvalidProtocol);
    }
    let flags = r.u8()?;
    let has_username = flags & 0x80 != 0;
    let has_password = flags & 0x40 != 0;
    let will_retain = flags & 0x20 != 0;
    let will_qos = QoS::from_u8((flags >> 3) & 0x03)?;
    let has_will = flags & 0x04 != 0;
    if flags & 0x01 != 0
        || (!has_will && (will_retain || will_qos != QoS::AtMostOnce))
        || (has_password && !has_username)
    {
        return Err(Error::InvalidConnectFlags);
    }
    let keep_alive = r.u16()?;
    let client_id = r.string()?;
    let will = if has_will {
        let topic = r.string()?;
        topic::validate_topic_name(topic)?;
        Some(LastWill {
            topic,
            payload: r.binary()?,
            qos: will_qos,
            retain: will_retain,
        })
    } else {
        None
    };
    let username = if has_username {
        Some(r.string()?)
    } else {
        None
    };
    let password = if has_password {
        Some(r.binary()?)
    } else {
        None
    };
    Ok(Connect {
        protocol,
        clean_session: flags & 0x02 != 0,
        keep_alive,
        client_id,
        will,
        username,
        password,
    })
}
