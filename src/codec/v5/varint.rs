//! Variable Byte Integers (section 1.5.5): seven bits a byte, low group
//! first, the high bit saying another byte follows; at most four bytes.

use super::wire::Writer;
use super::V5Error;

/// The largest value a Variable Byte Integer can hold (four bytes).
pub const VARINT_MAX: u32 = 268_435_455;

/// Bytes the Variable Byte Integer encoding of `value` takes (1 to 4; a
/// value above [`VARINT_MAX`] is counted as 4 and refused when written).
pub const fn varint_len(value: u32) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Decodes the Variable Byte Integer at the start of `bytes`: its value
/// and length, or `Ok(None)` when `bytes` ends before its last byte.
///
/// A fifth byte is [`V5Error::MalformedVarInt`]; an encoding longer than
/// the value needs (`80 00` for 0) is [`V5Error::NonMinimalVarInt`], since
/// [MQTT-1.5.5-1] requires the shortest form.
pub fn decode_varint(bytes: &[u8]) -> Result<Option<(u32, usize)>, V5Error> {
    let mut value = 0u32;
    for i in 0..4 {
        let Some(&byte) = bytes.get(i) else {
            return Ok(None);
        };
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            // The last byte holds the highest group: zero there means a
            // shorter encoding existed.
            if i > 0 && byte == 0 {
                return Err(V5Error::NonMinimalVarInt);
            }
            return Ok(Some((value, i + 1)));
        }
    }
    Err(V5Error::MalformedVarInt)
}

/// Writes `value` as a Variable Byte Integer at the start of `out` and
/// returns the bytes written: [`V5Error::VarIntTooLarge`] above
/// [`VARINT_MAX`], [`V5Error::BufferTooSmall`] when `out` is too short
/// (nothing is written then).
pub fn encode_varint(value: u32, out: &mut [u8]) -> Result<usize, V5Error> {
    if value > VARINT_MAX {
        return Err(V5Error::VarIntTooLarge);
    }
    let len = varint_len(value);
    let out = out.get_mut(..len).ok_or(V5Error::BufferTooSmall)?;
    Writer::new(out).varint(value);
    Ok(len)
}
