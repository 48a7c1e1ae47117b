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
    let body = body_len(packet)?;
    Ok(1 + remaining_length_len(body) + body)
}

fn string_len(text: &str) -> Result<usize, Error> {
    if text.len() > u16::MAX as usize {
        return Err(Error::StringTooLong);
    }
    if text.as_bytes().contains(&0) {
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

/// Validates the packet and returns the length of its body (the remaining length).
fn body_len(packet: &Packet<'_>) -> Result<usize, Error> {
    let len = match packet {
        Packet::Connect(c) => {
            let mut len = string_len(c.protocol.protocol_name())? + 1 + 1 + 2;
            len += string_len(c.client_id)?;
            if let Some(will) = &c.will {
                topic::validate_topic_name(will.topic)?;
                len += string_len(will.topic)? + binary_len(will.payload)?;
            }
            match (c.username, c.password) {
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
            len
        }
        Packet::ConnAck(ack) => {
            if ack.session_present && ack.code != ConnectReturnCode::Accepted {
                return Err(Error::InvalidConnackFlags);
            }
            2
        }
        Packet::Publish(p) => publish_header_body_len(p)? + p.payload.len(),
        Packet::PubAck(id)
        | Packet::PubRec(id)
        | Packet::PubRel(id)
        | Packet::PubComp(id)
        | Packet::UnsubAck(id) => {
            require_id(*id)?;
            2
        }
        Packet::Subscribe(s) => {
            require_id(s.packet_id)?;
            let mut len = 2;
            for entry in s.topics.iter() {
                topic::validate_topic_filter(entry.filter)?;
                len += string_len(entry.filter)? + 1;
            }
            if len == 2 {
                return Err(Error::NoTopicFilters);
            }
            len
        }
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
            2 + s.return_codes.len()
        }
        Packet::Unsubscribe(u) => {
            require_id(u.packet_id)?;
            let mut len = 2;
            for filter in u.topics.iter() {
                topic::validate_topic_filter(filter)?;
                len += string_len(filter)?;
            }
            if len == 2 {
                return Err(Error::NoTopicFilters);
            }
            len
        }
        Packet::PingReq | Packet::PingResp | Packet::Disconnect => 0,
    };
    if len > MAX_REMAINING_LENGTH {
        return Err(Error::PacketTooLarge);
    }
    Ok(len)
}

/// Body bytes of a PUBLISH before its payload: topic and packet id.
fn publish_header_body_len(p: &Publish<'_>) -> Result<usize, Error> {
    topic::validate_topic_name(p.topic)?;
    let id_len = if p.qos == QoS::AtMostOnce {
        0
    } else {
        require_id(p.packet_id)?;
        2
    };
    Ok(string_len(p.topic)? + id_len)
}

/// Sequential writer into a buffer whose size was checked up front.
struct Writer<'b> {
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
        w.fixed_header(publish_first_byte(self), body);
        w.binary(self.topic.as_bytes());
        if self.qos != QoS::AtMostOnce {
            w.u16(self.packet_id);
        }
        Ok(w.at)
    }
}

impl Packet<'_> {
    /// Total encoded size of this packet, after validating it.
    pub fn encoded_len(&self) -> Result<usize, Error> {
        encoded_len(self)
    }

    /// Writes the packet into `out` and returns the number of bytes written,
    /// or [`Error::BufferTooSmall`] with the size needed. Nothing is written
    /// when the packet is invalid or does not fit.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, Error> {
        // The whole size is checked first, so nothing is written on failure.
        let body = body_len(self)?;
        let needed = 1 + remaining_length_len(body) + body;
        check_room(out, needed)?;
        if let Packet::Publish(p) = self {
            let head = p.encode_header(out)?;
            out[head..needed].copy_from_slice(p.payload);
            return Ok(needed);
        }
        let mut w = Writer { out, at: 0 };
        match self {
            Packet::Connect(c) => {
                w.fixed_header(0x10, body);
                w.binary(c.protocol.protocol_name().as_bytes());
                w.u8(c.protocol as u8);
                let mut flags = (c.clean_session as u8) << 1;
                if let Some(will) = &c.will {
                    flags |= 0x04 | ((will.qos as u8) << 3) | ((will.retain as u8) << 5);
                }
                flags |= (c.password.is_some() as u8) << 6;
                flags |= (c.username.is_some() as u8) << 7;
                w.u8(flags);
                w.u16(c.keep_alive);
                w.binary(c.client_id.as_bytes());
                if let Some(will) = &c.will {
                    w.binary(will.topic.as_bytes());
                    w.binary(will.payload);
                }
                if let Some(username) = c.username {
                    w.binary(username.as_bytes());
                }
                if let Some(password) = c.password {
                    w.binary(password);
                }
            }
            Packet::ConnAck(ack) => {
                w.fixed_header(0x20, body);
                w.u8(ack.session_present as u8);
                w.u8(ack.code as u8);
            }
            // Written by the early return above.
            Packet::Publish(_) => {}
            Packet::PubAck(id) => ack(&mut w, 0x40, *id),
            Packet::PubRec(id) => ack(&mut w, 0x50, *id),
            Packet::PubRel(id) => ack(&mut w, 0x62, *id),
            Packet::PubComp(id) => ack(&mut w, 0x70, *id),
            Packet::UnsubAck(id) => ack(&mut w, 0xb0, *id),
            Packet::Subscribe(s) => {
                w.fixed_header(0x82, body);
                w.u16(s.packet_id);
                for entry in s.topics.iter() {
                    w.binary(entry.filter.as_bytes());
                    w.u8(entry.qos as u8);
                }
            }
            Packet::SubAck(s) => {
                w.fixed_header(0x90, body);
                w.u16(s.packet_id);
                w.bytes(s.return_codes);
            }
            Packet::Unsubscribe(u) => {
                w.fixed_header(0xa2, body);
                w.u16(u.packet_id);
                for filter in u.topics.iter() {
                    w.binary(filter.as_bytes());
                }
            }
            Packet::PingReq => w.fixed_header(0xc0, 0),
            Packet::PingResp => w.fixed_header(0xd0, 0),
            Packet::Disconnect => w.fixed_header(0xe0, 0),
        }
        debug_assert_eq!(w.at, needed);
        Ok(w.at)
    }
}

fn ack(w: &mut Writer<'_>, first_byte: u8, packet_id: u16) {
    w.fixed_header(first_byte, 2);
    w.u16(packet_id);
}
