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
    /// Validates the packet and writes it through `w`. One function both
    /// sizes (a sizing [`Writer`] only counts the body) and writes, so
    /// each packet's layout is code once.
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), Error>;
}

/// Writes `packet` into `out` and returns the number of bytes written.
/// Nothing is written when the packet is invalid or does not fit.
fn encode_into<P: Encode + ?Sized>(packet: &P, out: &mut [u8]) -> Result<usize, Error> {
    // The whole size is checked first, so nothing is written on failure.
    encode_sized(packet, sized(packet)?, out)
}

/// A packet validated (and sized) once: its body length and total size.
// Inlined, as `encode_sized`: a caller takes the sizes in registers
// instead of a `Result` built in memory.
#[inline(always)]
pub(crate) fn sized<P: Encode + ?Sized>(packet: &P) -> Result<(usize, usize), Error> {
    let mut w = Writer::sizing();
    packet.emit(&mut w)?;
    let body = w.at;
    if body > MAX_REMAINING_LENGTH {
        return Err(Error::PacketTooLarge);
    }
    // The length field's bytes as a loop over 7-bit groups (the same as
    // `remaining_length_len` up to the maximum): smaller than its ranges.
    let mut needed = 2 + body;
    let mut rest = body >> 7;
    while rest != 0 {
        needed += 1;
        rest >>= 7;
    }
    Ok((body, needed))
}

/// Writes `packet`, whose body length and total size `(body, needed)`
/// came from [`sized`] (so it is not validated, nor its size worked out,
/// again), into `out`.
#[inline(always)]
pub(crate) fn encode_sized<P: Encode + ?Sized>(
    packet: &P,
    (body, needed): (usize, usize),
    out: &mut [u8],
) -> Result<usize, Error> {
    let mut w = Writer::new(out, needed, body)?;
    packet.emit(&mut w)?;
    debug_assert_eq!(w.at, needed);
    Ok(needed)
}

fn require_id(packet_id: u16) -> Result<(), Error> {
    if packet_id == 0 {
        Err(Error::ZeroPacketId)
    } else {
        Ok(())
    }
}

/// `level.protocol_name()`, both names cut from one constant: one address
/// to load instead of two.
fn protocol_name(level: ProtocolLevel) -> &'static [u8] {
    const NAMES: &[u8; 10] = b"MQTTMQIsdp";
    match level {
        ProtocolLevel::V3_1_1 => &NAMES[..4],
        ProtocolLevel::V3_1 => &NAMES[4..],
    }
}

impl Encode for Connect<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.fixed_header(0x10);
        w.prefixed(protocol_name(self.protocol));
        let mut flags = (self.clean_session as u8) << 1;
        if let Some(will) = &self.will {
            flags |= 0x04 | ((will.qos as u8) << 3) | ((will.retain as u8) << 5);
        }
        flags |= (self.password.is_some() as u8) << 6;
        flags |= (self.username.is_some() as u8) << 7;
        // Level, flags and keepalive in one write: three were each inlined.
        let [keep_alive_high, keep_alive_low] = self.keep_alive.to_be_bytes();
        w.bytes(&[self.protocol as u8, flags, keep_alive_high, keep_alive_low]);
        w.string(self.client_id)?;
        if let Some(will) = &self.will {
            // A valid topic name is also a valid MQTT string.
            w.validate(|| topic::validate_topic_name(will.topic))?;
            w.prefixed(will.topic.as_bytes());
            w.binary(will.payload)?;
        }
        if self.password.is_some() && self.username.is_none() {
            return Err(Error::InvalidConnectFlags);
        }
        if let Some(username) = self.username {
            w.string(username)?;
        }
        if let Some(password) = self.password {
            w.binary(password)?;
        }
        Ok(())
    }
}

impl Encode for Publish<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        self.emit_header(w)?;
        w.bytes(self.payload);
        Ok(())
    }
}

/// A SUBSCRIBE, or with `unsubscribe` an UNSUBSCRIBE of the same filters
/// (their QoS unused), as a client sends it: the caller's list. One list
/// type and one encoder serve both requests. Encoding it links no walk of a
/// decoded SUBSCRIBE's wire bytes, which a client never sends.
pub(crate) struct SubscribeRequest<'a> {
    pub packet_id: u16,
    pub unsubscribe: bool,
    pub topics: &'a dyn TopicList,
}

/// The filters of a SUBSCRIBE or UNSUBSCRIBE request, read by index: a
/// slice, or (firmware C API) the caller's C list read in place, so no
/// copy of it is gathered on the stack under the encoder.
pub(crate) trait TopicList {
    fn len(&self) -> usize;
    /// Entry `index`; `None` from `len` on.
    fn topic(&self, index: usize) -> Option<SubscribeTopic<'_>>;
}

impl TopicList for &[SubscribeTopic<'_>] {
    fn len(&self) -> usize {
        <[_]>::len(self)
    }
    fn topic(&self, index: usize) -> Option<SubscribeTopic<'_>> {
        self.get(index).copied()
    }
}

impl<'l> dyn TopicList + 'l {
    /// The entries, in order (read up to the first `None`, so the
    /// encoder's loop makes no `len` call).
    pub(crate) fn iter(&self) -> impl Iterator<Item = SubscribeTopic<'_>> + '_ {
        (0..).map_while(|index| self.topic(index))
    }
}

/// An UNSUBSCRIBE as a client sends it: the caller's list (see
/// [`SubscribeRequest`]).
pub(crate) struct UnsubscribeRequest<'a> {
    pub packet_id: u16,
    pub filters: &'a [&'a str],
}

impl Encode for Subscribe<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        emit_subscribe(w, self.packet_id, false, self.topics.iter())
    }
}

impl Encode for SubscribeRequest<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        emit_subscribe(w, self.packet_id, self.unsubscribe, self.topics.iter())
    }
}

/// A SUBSCRIBE, or with `unsubscribe` an UNSUBSCRIBE (the same body
/// without the QoS bytes).
fn emit_subscribe<'a>(
    w: &mut Writer<'_>,
    packet_id: u16,
    unsubscribe: bool,
    topics: impl Iterator<Item = SubscribeTopic<'a>>,
) -> Result<(), Error> {
    require_id(packet_id)?;
    w.fixed_header(if unsubscribe { 0xa2 } else { 0x82 });
    w.u16(packet_id);
    let mut none = true;
    for entry in topics {
        // A valid filter is also a valid MQTT string (length, no U+0000).
        w.validate(|| topic::validate_topic_filter(entry.filter))?;
        w.prefixed(entry.filter.as_bytes());
        if !unsubscribe {
            w.u8(entry.qos as u8);
        }
        none = false;
    }
    if none {
        return Err(Error::NoTopicFilters);
    }
    Ok(())
}

impl Encode for Unsubscribe<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        emit_unsubscribe(w, self.packet_id, self.topics.iter())
    }
}

impl Encode for UnsubscribeRequest<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        emit_unsubscribe(w, self.packet_id, self.filters.iter().copied())
    }
}

fn emit_unsubscribe<'a>(
    w: &mut Writer<'_>,
    packet_id: u16,
    filters: impl Iterator<Item = &'a str>,
) -> Result<(), Error> {
    require_id(packet_id)?;
    w.fixed_header(0xa2);
    w.u16(packet_id);
    let mut none = true;
    for filter in filters {
        w.validate(|| topic::validate_topic_filter(filter))?;
        w.prefixed(filter.as_bytes());
        none = false;
    }
    if none {
        return Err(Error::NoTopicFilters);
    }
    Ok(())
}

/// Every packet type, as a server or a test encodes them.
impl Encode for Packet<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        match self {
            Packet::Connect(c) => c.emit(w),
            Packet::ConnAck(ack) => {
                if ack.session_present && ack.code != ConnectReturnCode::Accepted {
                    return Err(Error::InvalidConnackFlags);
                }
                w.fixed_header(0x20);
                w.u8(ack.session_present as u8);
                w.u8(ack.code as u8);
                Ok(())
            }
            Packet::Publish(p) => p.emit(w),
            Packet::PubAck(id) => ack(w, 0x40, *id),
            Packet::PubRec(id) => ack(w, 0x50, *id),
            Packet::PubRel(id) => ack(w, 0x62, *id),
            Packet::PubComp(id) => ack(w, 0x70, *id),
            Packet::UnsubAck(id) => ack(w, 0xb0, *id),
            Packet::Subscribe(s) => s.emit(w),
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
                w.fixed_header(0x90);
                w.u16(s.packet_id);
                w.bytes(s.return_codes);
                Ok(())
            }
            Packet::Unsubscribe(u) => u.emit(w),
            Packet::PingReq => bodiless(w, 0xc0),
            Packet::PingResp => bodiless(w, 0xd0),
            Packet::Disconnect => bodiless(w, 0xe0),
        }
    }
}

/// Sequential writer of a packet. A sizing writer (no buffer) only counts
/// the body's bytes; a writing one has room for exactly the packet, whose
/// body length it knows, and writes the fixed header too.
pub(crate) struct Writer<'b> {
    /// The packet's bytes; empty while sizing.
    out: &'b mut [u8],
    /// Bytes written, or counted while sizing.
    at: usize,
    /// The remaining length the fixed header announces.
    body_len: usize,
}

impl Writer<'_> {
    fn sizing() -> Writer<'static> {
        Writer {
            out: &mut [],
            at: 0,
            body_len: 0,
        }
    }

    /// A writer of the `needed` bytes of a packet with a `body_len` body
    /// at the start of `out`, or [`Error::BufferTooSmall`].
    fn new(out: &mut [u8], needed: usize, body_len: usize) -> Result<Writer<'_>, Error> {
        Ok(Writer {
            out: out.get_mut(..needed).ok_or(Error::BufferTooSmall)?,
            at: 0,
            body_len,
        })
    }

    fn is_sizing(&self) -> bool {
        self.out.is_empty()
    }

    /// Runs a validation while sizing only: the writing pass repeats a
    /// packet that sizing validated.
    fn validate(&self, check: impl FnOnce() -> Result<(), Error>) -> Result<(), Error> {
        if self.is_sizing() {
            check()
        } else {
            Ok(())
        }
    }

    fn u8(&mut self, byte: u8) {
        // Through `bytes`: its own bounds check was inlined at every call.
        self.bytes(&[byte]);
    }

    fn u16(&mut self, value: u16) {
        self.bytes(&value.to_be_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        if let Some(room) = self.out.get_mut(self.at..self.at + bytes.len()) {
            super::copy_bytes(room, bytes);
        }
        self.at += bytes.len();
    }

    /// A length-prefixed field whose length was validated.
    fn prefixed(&mut self, bytes: &[u8]) {
        self.u16(bytes.len() as u16);
        self.bytes(bytes);
    }

    /// Binary data: a length-prefixed field of at most 65,535 bytes.
    // Inlined: a length check and a call of `prefixed` at its two callers.
    #[inline(always)]
    fn binary(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if bytes.len() > u16::MAX as usize {
            return Err(Error::StringTooLong);
        }
        self.prefixed(bytes);
        Ok(())
    }

    /// An MQTT string: binary data without U+0000 (`text` is UTF-8).
    fn string(&mut self, text: &str) -> Result<(), Error> {
        if text.len() > u16::MAX as usize {
            return Err(Error::StringTooLong);
        }
        // A plain loop: `contains` brings a word-at-a-time search firmware
        // does not need.
        if text.bytes().any(|byte| byte == 0) {
            return Err(Error::NullCharacter);
        }
        self.prefixed(text.as_bytes());
        Ok(())
    }

    /// The fixed header; a sizing writer counts only the body.
    fn fixed_header(&mut self, first_byte: u8) {
        if self.is_sizing() {
            return;
        }
        self.u8(first_byte);
        let mut body_len = self.body_len;
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
        let mut sizing = Writer::sizing();
        self.emit_header(&mut sizing)?;
        let head = sizing.at;
        let body = head + self.payload.len();
        if body > MAX_REMAINING_LENGTH {
            return Err(Error::PacketTooLarge);
        }
        let needed = 1 + remaining_length_len(body) + head;
        let mut w = Writer::new(out, needed, body)?;
        self.emit_header(&mut w)?;
        Ok(needed)
    }

    /// The fixed header, topic and packet id.
    fn emit_header(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        // A valid topic name is also a valid MQTT string (length, no U+0000).
        w.validate(|| topic::validate_topic_name(self.topic))?;
        w.fixed_header(publish_first_byte(self));
        w.prefixed(self.topic.as_bytes());
        if self.qos != QoS::AtMostOnce {
            require_id(self.packet_id)?;
            w.u16(self.packet_id);
        }
        Ok(())
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

fn bodiless(w: &mut Writer<'_>, first_byte: u8) -> Result<(), Error> {
    w.fixed_header(first_byte);
    Ok(())
}

fn ack(w: &mut Writer<'_>, first_byte: u8, packet_id: u16) -> Result<(), Error> {
    require_id(packet_id)?;
    w.fixed_header(first_byte);
    w.u16(packet_id);
    Ok(())
}
