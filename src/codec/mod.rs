//! MQTT 3.1 / 3.1.1 packets to bytes and back.
//!
//! Decoding borrows from the caller's receive buffer: topics, payloads and
//! lists point into it, nothing is copied and nothing is allocated. Framing is
//! incremental: [`decode`] on a partial buffer answers
//! [`Decoded::Incomplete`] with the number of bytes still missing, so a packet
//! that arrives one byte per read still decodes.
//!
//! Encoding writes into a caller's `&mut [u8]` and returns the length
//! written, or [`crate::Error::BufferTooSmall`].

mod decode;
mod encode;
mod packet;
mod utf8;
#[cfg(feature = "mqtt5")]
pub mod v5;

pub use decode::{decode, decode_from_server, frame, publish_head, Decoded, Frame, PublishHead};
pub(crate) use encode::{
    encode_sized, sized, Encode, SubscribeRequest, TopicList, UnsubscribeRequest,
};
pub use encode::{encoded_len, remaining_length_len};
pub use packet::*;
pub use utf8::{from_utf8, mqtt_str};
#[cfg(feature = "std")]
pub(crate) use utf8::{skip_words, zero_bytes};

/// The largest remaining length MQTT can express (four length bytes).
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// The largest whole packet: one type byte, four length bytes and the body.
pub const MAX_PACKET_SIZE: usize = MAX_REMAINING_LENGTH + 5;

/// Copies `src` into `dst`, which its caller made the same length (a
/// shorter one bounds the copy). Straight to `memcpy`: `copy_from_slice`
/// stayed an out-of-line call with a length-mismatch panic path, which
/// LLVM could not see was never taken.
#[inline(always)]
pub(crate) fn copy_bytes(dst: &mut [u8], src: &[u8]) {
    debug_assert_eq!(dst.len(), src.len());
    let len = dst.len().min(src.len());
    // SAFETY: `len` bytes are in both; `&mut` and `&` never overlap.
    unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr(), len) };
}

#[cfg(test)]
mod tests;
