//! The data representations of section 1.5, read from a packet body and
//! written into a buffer sized beforehand.

use super::varint::{decode_varint, VARINT_MAX};
use super::V5Error;

/// A cursor over a packet body: a field running past the end is
/// [`V5Error::MalformedPacket`].
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    pub(crate) bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], V5Error> {
        if self.bytes.len() < len {
            return Err(V5Error::MalformedPacket);
        }
        let (taken, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(taken)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, V5Error> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, V5Error> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, V5Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A Variable Byte Integer; one cut short by the body end is malformed.
    pub(crate) fn varint(&mut self) -> Result<u32, V5Error> {
        let (value, len) = decode_varint(self.bytes)?.ok_or(V5Error::MalformedPacket)?;
        self.bytes = &self.bytes[len..];
        Ok(value)
    }

    /// A non-zero Packet Identifier (section 2.2.1).
    pub(crate) fn packet_id(&mut self) -> Result<u16, V5Error> {
        match self.u16()? {
            0 => Err(V5Error::ZeroPacketId),
            id => Ok(id),
        }
    }

    /// Binary Data (section 1.5.6): a two-byte length and that many bytes.
    pub(crate) fn binary(&mut self) -> Result<&'a [u8], V5Error> {
        let len = usize::from(self.u16()?);
        self.take(len)
    }

    /// A UTF-8 Encoded String (section 1.5.4): well-formed, no U+0000.
    pub(crate) fn string(&mut self) -> Result<&'a str, V5Error> {
        Ok(crate::codec::mqtt_str(self.binary()?)?)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.bytes)
    }

    /// Bytes left after the last field are malformed.
    pub(crate) fn finish(&self) -> Result<(), V5Error> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(V5Error::MalformedPacket)
        }
    }
}

/// Length of a UTF-8 string or binary field with its two-byte prefix.
pub(crate) fn binary_len(bytes: &[u8]) -> Result<usize, V5Error> {
    if bytes.len() > usize::from(u16::MAX) {
        return Err(V5Error::StringTooLong);
    }
    Ok(2 + bytes.len())
}

/// Length of an MQTT string field: no U+0000 [MQTT-1.5.4-2] (a `&str` is
/// well-formed UTF-8 already).
pub(crate) fn string_len(text: &str) -> Result<usize, V5Error> {
    // A plain loop: `contains` brings a search firmware does not need.
    if text.bytes().any(|byte| byte == 0) {
        return Err(V5Error::NullCharacter);
    }
    binary_len(text.as_bytes())
}

/// Sequential writer into a buffer whose size was checked up front, so
/// no write can fail.
pub(crate) struct Writer<'b> {
    out: &'b mut [u8],
    pub(crate) at: usize,
}

impl<'b> Writer<'b> {
    pub(crate) fn new(out: &'b mut [u8]) -> Writer<'b> {
        Writer { out, at: 0 }
    }

    pub(crate) fn u8(&mut self, byte: u8) {
        self.out[self.at] = byte;
        self.at += 1;
    }

    pub(crate) fn u16(&mut self, value: u16) {
        self.bytes(&value.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, value: u32) {
        self.bytes(&value.to_be_bytes());
    }

    pub(crate) fn varint(&mut self, mut value: u32) {
        debug_assert!(value <= VARINT_MAX);
        loop {
            let mut byte = (value & 0x7f) as u8;
            value >>= 7;
            if value > 0 {
                byte |= 0x80;
            }
            self.u8(byte);
            if value == 0 {
                break;
            }
        }
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.out[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }

    /// A length-prefixed field; its length was checked when sizing.
    pub(crate) fn binary(&mut self, bytes: &[u8]) {
        self.u16(bytes.len() as u16);
        self.bytes(bytes);
    }
}
