//! Packets to bytes. Every encoder validates what it writes, so a client
//! never puts a packet on the wire that a broker would have to reject.

use super::packet::*;
use super::MAX_REMAINING_LENGTH;
use crate::{topic, Error};

/// Bytes the remaining-length field takes for a body of `len` bytes.
pub const fn remaining_length_len(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Total encoded size of `packet`, after validating it.
pub fn encoded_len(packet: &Packet<'_>) -> Result<usize, Error> {
    Ok(sized(packet)?.1)
}

/// A packet that encodes itself. Implemented by [`Packet`] (any type) and
/// by the packets a client sends, so that a client links only the
/// encoders it calls.
pub(crate) trait Encode {
    /// Validates the packet and returns its body length (the remaining
    /// length), not yet checked against the protocol maximum.
    fn body_len(&self) -> Result<usize, Error>;
    /// Writes the whole packet; `w` has room for exactly it.
    fn write(&self, w: &mut Writer<'_>, body_len: usize);
}

fn checked_body_len<P: Encode + ?Sized>(packet: &P) -> Result<usize, Error> {
    let len = packet.body_len()?;
    if len > MAX_REMAINING_LENGTH {
        return Err(Error::PacketTooLarge);
    }
    Ok(len)
}

/// Writes `packet` into `out` and returns the number of bytes written.
/// Nothing is written when the packet is invalid or does not fit.
fn encode_into<P: Encode + ?Sized>(packet: &P, out: &mut [u8]) -> Result<usize, Error> {
    // The whole size is checked first, so nothing is written on failure.
    encode_sized(packet, checked_body_len(packet)?, out)
}

/// A packet validated (and sized) once: its body length and total size.
pub(crate) fn sized<P: Encode + ?Sized>(packet: &P) -> Result<(usize, usize), Error> {
    let body = checked_body_len(packet)?;
    Ok((body, 1 + remaining_length_len(body) + body))
}

/// Writes `packet`, whose body length `body` came from [`sized`] (so it is
/// not validated again), into `out`.
pub(crate) fn encode_sized<P: Encode + ?Sized>(
    packet: &P,
    body: usize,
    out: &mut [u8],
) -> Result<usize, Error> {
    let needed = 1 + remaining_length_len(body) + body;
    check_room(out, needed)?;
    let mut w = Writer {
        out: &mut out[..needed],
        at: 0,
    };
    packet.write(&mut w, body);
    debug_assert_eq!(w.at, needed);
    Ok(needed)
}

fn string_len(text: &str) -> Result<usize, Error> {
    if text.len() > u16::MAX as usize {
        return Err(Error::StringTooLong);
    }
    // A plain loop: `contains` brings a word-at-a-time search firmware
    // does not need for topics.
    if text.bytes().any(|byte| byte == 0) {
        return Err(Error::NullCharacter);
    }
    Ok(2 + text.len())
}

fn binary_len(bytes: &[u8]) -> Result<usize, Error> {
    if bytes.len() > u16::MAX as usize {
        return Err(Error::StringTooLong);
    }
    Ok(2 + bytes.len())
}

fn require_id(packet_id: u16) -> Result<(), Error> {
    if packet_id == 0 {
        Err(Error::ZeroPacketId)
    } else {
        Ok(())
    }
}

impl Encode for Connect<'_> {
    fn body_len(&self) -> Result<usize, Error> {
        let mut len = string_len(self.protocol.protocol_name())? + 1 + 1 + 2;
        len += string_len(self.client_id)?;
        if let Some(will) = &self.will {
            topic::validate_topic_name(will.topic)?;
            len += string_len(will.topic)? + binary_len(will.payload)?;
        }
        match (self.username, self.password) {
            (None, Some(_)) => return Err(Error::InvalidConnectFlags),
            (username, password) => {
                if let Some(username) = username {
                    len += string_len(username)?;
                }
                if let Some(password) = password {
                    len += binary_len(password)?;
                }
            }
        }
        Ok(len)
    }

    fn write(&self, w: &mut Writer<'_>, body_len: usize) {
        w.fixed_header(0x10, body_len);
        w.binary(self.protocol.protocol_name().as_bytes());
        w.u8(self.protocol as u8);
        let mut flags = (self.clean_session as u8) << 1;
        if let Some(will) = &self.will {
            flags |= 0x04 | ((will.qos as u8) << 3) | ((will.retain as u8) << 5);
        }
        flags |= (self.password.is_some() as u8) << 6;
        flags |= (self.username.is_some() as u8) << 7;
        w.u8(flags);
        w.u16(self.keep_alive);
        w.binary(self.client_id.as_bytes());
        if let Some(will) = &self.will {
            w.binary(will.topic.as_bytes());
            w.binary(will.payload);
        }
        if let Some(username) = self.username {
            w.binary(username.as_bytes());
        }
        if let Some(password) = self.password {
            w.binary(password);
        }
    }
}

impl Encode for Publish<'_> {
    fn body_len(&self) -> Result<usize, Error> {
        Ok(publish_header_body_len(self)? + self.payload.len())
    }

    fn write(&self, w: &mut Writer<'_>, body_len: usize) {
        self.write_header(w, body_len);
        w.bytes(self.payload);
    }
}

impl Encode for Subscribe<'_> {
    fn body_len(&self) -> Result<usize, Error> {
        require_id(self.packet_id)?;
        let mut len = 2;
        for entry in self.topics.iter() {
            // A valid filter is also a valid MQTT string (length, no U+0000).
            topic::validate_topic_filter(entry.filter)?;
            len += 2 + entry.filter.len() + 1;
        }
        if len == 2 {
            return Err(Error::NoTopicFilters);
        }
        Ok(len)
    }

    fn write(&self, w: &mut Writer<'_>, body_len: usize) {
        w.fixed_header(0x82, body_len);
        w.u16(self.packet_id);
        for entry in self.topics.iter() {
            w.binary(entry.filter.as_bytes());
            w.u8(entry.qos as u8);
        }
    }
}

impl Encode for Unsubscribe<'_> {
    fn body_len(&self) -> Result<usize, Error> {
        require_id(self.packet_id)?;
        let mut len = 2;
        for filter in self.topics.iter() {
            topic::validate_topic_filter(filter)?;
            len += 2 + filter.len();
        }
        if len == 2 {
            return Err(Error::NoTopicFilters);
        }
        Ok(len)
    }

    fn write(&self, w: &mut Writer<'_>, body_len: usize) {
        w.fixed_header(0xa2, body_len);
        w.u16(self.packet_id);
        for filter in self.topics.iter() {
            w.binary(filter.as_bytes());
        }
    }
}

/// Every packet type, as a server or a test encodes them.
impl Encode for Packet<'_> {
    fn body_len(&self) -> Result<usize, Error> {
        match self {
            Packet::Connect(c) => c.body_len(),
            Packet::ConnAck(ack) => {
                if ack.session_present && ack.code != ConnectReturnCode::Accepted {
                    return Err(Error::InvalidConnackFlags);
                }
                Ok(2)
            }
            Packet::Publish(p) => p.body_len(),
            Packet::PubAck(id)
            | Packet::PubRec(id)
            | Packet::PubRel(id)
            | Packet::PubComp(id)
            | Packet::UnsubAck(id) => {
                require_id(*id)?;
                Ok(2)
            }
            Packet::Subscribe(s) => s.body_len(),
            Packet::SubAck(s) => {
                require_id(s.packet_id)?;
                if s.return_codes.is_empty() {
                    return Err(Error::MalformedPacket);
                }
                if let Some(&bad) = s
                    .return_codes
                    .iter()
                    .find(|&&code| code > 2 && code != SUBACK_FAILURE)
                {
                    return Err(Error::InvalidSubackCode(bad));
                }
                Ok(2 + s.return_codes.len())
            }
            Packet::Unsubscribe(u) => u.body_len(),
            Packet::PingReq | Packet::PingResp | Packet::Disconnect => Ok(0),
        }
    }

    fn write(&self, w: &mut Writer<'_>, body_len: usize) {
        match self {
            Packet::Connect(c) => c.write(w, body_len),
            Packet::ConnAck(ack) => {
                w.fixed_header(0x20, body_len);
                w.u8(ack.session_present as u8);
                w.u8(ack.code as u8);
            }
            Packet::Publish(p) => p.write(w, body_len),
            Packet::PubAck(id) => ack(w, 0x40, *id),
            Packet::PubRec(id) => ack(w, 0x50, *id),
            Packet::PubRel(id) => ack(w, 0x62, *id),
            Packet::PubComp(id) => ack(w, 0x70, *id),
            Packet::UnsubAck(id) => ack(w, 0xb0, *id),
            Packet::Subscribe(s) => s.write(w, body_len),
            Packet::SubAck(s) => {
                w.fixed_header(0x90, body_len);
                w.u16(s.packet_id);
                w.bytes(s.return_codes);
            }
            Packet::Unsubscribe(u) => u.write(w, body_len),
            Packet::PingReq => w.fixed_header(0xc0, 0),
            Packet::PingResp => w.fixed_header(0xd0, 0),
            Packet::Disconnect => w.fixed_header(0xe0, 0),
        }
    }
}

/// Body bytes of a PUBLISH before its payload: topic and packet id.
fn publish_header_body_len(p: &Publish<'_>) -> Result<usize, Error> {
    // A valid topic name is also a valid MQTT string (length, no U+0000).
    topic::validate_topic_name(p.topic)?;
    let id_len = if p.qos == QoS::AtMostOnce {
        0
    } else {
        require_id(p.packet_id)?;
        2
    };
    Ok(2 + p.topic.len() + id_len)
}

/// Sequential writer into a buffer whose size was checked up front.
pub(crate) struct Writer<'b> {
    out: &'b mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn u8(&mut self, byte: u8) {
        self.out[self.at] = byte;
        self.at += 1;
    }

    fn u16(&mut self, value: u16) {
        self.bytes(&value.to_be_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.out[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }

    /// A length-prefixed field; lengths were validated by `body_len`.
    fn binary(&mut self, bytes: &[u8]) {
        self.u16(bytes.len() as u16);
        self.bytes(bytes);
    }

    fn fixed_header(&mut self, first_byte: u8, mut body_len: usize) {
        self.u8(first_byte);
        loop {
            let mut byte = (body_len & 0x7f) as u8;
            body_len >>= 7;
            if body_len > 0 {
                byte |= 0x80;
            }
            self.u8(byte);
            if body_len == 0 {
                break;
            }
        }
    }
}

fn check_room(out: &[u8], needed: usize) -> Result<(), Error> {
    if out.len() < needed {
        Err(Error::BufferTooSmall)
    } else {
        Ok(())
    }
}

fn publish_first_byte(p: &Publish<'_>) -> u8 {
    // DUP is meaningless on QoS 0 and must be 0 there [MQTT-3.3.1-2].
    let dup = p.dup && p.qos != QoS::AtMostOnce;
    0x30 | ((dup as u8) << 3) | ((p.qos as u8) << 1) | p.retain as u8
}

impl Publish<'_> {
    /// Writes everything of this PUBLISH but the payload, so a large payload
    /// can go to the transport straight from the caller's memory. Returns the
    /// header length; the payload must follow it on the wire.
    pub fn encode_header(&self, out: &mut [u8]) -> Result<usize, Error> {
        let head = publish_header_body_len(self)?;
        let body = head + self.payload.len();
        if body > MAX_REMAINING_LENGTH {
            return Err(Error::PacketTooLarge);
        }
        let needed = 1 + remaining_length_len(body) + head;
        check_room(out, needed)?;
        let mut w = Writer { out, at: 0 };
        self.write_header(&mut w, body);
        Ok(w.at)
    }

    fn write_header(&self, w: &mut Writer<'_>, body_len: usize) {
        w.fixed_header(publish_first_byte(self), body_len);
        w.binary(self.topic.as_bytes());
        if self.qos != QoS::AtMostOnce {
            w.u16(self.packet_id);
        }
    }
}

impl Packet<'_> {
    /// Total encoded size of this packet, after validating it.
    pub fn encoded_len(&self) -> Result<usize, Error> {
        encoded_len(self)
    }

    /// Writes the packet into `out` and returns the number of bytes written,
    /// or [`Error::BufferTooSmall`] when it does not fit (its size is
    /// [`encoded_len`](Self::encoded_len)). Nothing is written when the
    /// packet is invalid or does not fit.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, Error> {
        encode_into(self, out)
    }
}

fn ack(w: &mut Writer<'_>, first_byte: u8, packet_id: u16) {
    w.fixed_header(first_byte, 2);
    w.u16(packet_id);
}
