//! Helpers that `src/paho/c/MQTTClient.c` (the blocking client, compiled
//! with the firmware's flags) calls into, and a codec hook for the C tests.
//! Not part of Paho's API; declared only in that C file and the tests.

use super::*;
use crate::codec::{decode, Decoded, MAX_PACKET_SIZE};
use crate::topic;

/// Whether `filter` matches `name` for message dispatch (spec section 2.6.4):
/// equal bytes, or MQTT 3.1.1 section 4.7 wildcard matching (`+` matches one
/// level, possibly empty; `a/#` matches `a`, `a/` and `a/b/c`). Like Paho,
/// and unlike [`topic::matches`], names starting with `$` get no special
/// treatment: the broker already decided to route them to this client.
pub fn dispatch_matches(filter: &[u8], name: &[u8]) -> bool {
    if filter == name {
        return true;
    }
    let (Ok(f), Ok(n)) = (core::str::from_utf8(filter), core::str::from_utf8(name)) else {
        return false;
    };
    if n.starts_with('$') {
        if f == "#" {
            return true;
        }
        if f == "+" {
            return !n.contains('/');
        }
        if let Some(f_rest) = f.strip_prefix('+') {
            // `+` takes the first level; match the rest, each side keeping
            // its leading '/' so no side starts with `$` or a wildcard.
            if !f_rest.starts_with('/') {
                return false;
            }
            return match n.find('/') {
                Some(slash) => topic::matches(f_rest, &n[slash..]),
                None => f_rest == "/#",
            };
        }
    }
    topic::matches(f, n)
}

/// C entry: 1 if the NUL-terminated `filter` matches the `topic_len` bytes
/// at `topic`, else 0 (also for NULL or a negative length).
#[no_mangle]
pub unsafe extern "C" fn emq_paho_topic_matches(
    filter: *const c_char,
    topic: *const c_char,
    topic_len: c_int,
) -> c_int {
    if filter.is_null() || topic.is_null() || topic_len < 0 {
        return 0;
    }
    // SAFETY: NUL-terminated filter; `topic_len` readable bytes at topic.
    let (filter, name) = unsafe {
        (
            CStr::from_ptr(filter).to_bytes(),
            core::slice::from_raw_parts(topic.cast::<u8>(), topic_len as usize),
        )
    };
    dispatch_matches(filter, name) as c_int
}

/// Test hook: decodes the packet in `in[..inlen]` with embermq's codec and
/// encodes it again into `out`. Returns the length written, or -1 if the
/// codec rejects the packet (or `out` is too small). Lets the C tests check
/// the Paho serializers against embermq's own codec.
#[no_mangle]
pub unsafe extern "C" fn emq_paho_codec_reencode(
    input: *const u8,
    inlen: c_int,
    out: *mut u8,
    outlen: c_int,
) -> c_int {
    // SAFETY: forwarded contract.
    let (Some(bytes), out) = (unsafe { in_buf(input, inlen) }, unsafe {
        out_buf(out, outlen)
    }) else {
        return MQTTPACKET_READ_ERROR;
    };
    match decode(bytes, MAX_PACKET_SIZE) {
        Ok(Decoded::Packet { packet, len }) if len == bytes.len() => match packet.encode(out) {
            Ok(n) => n as c_int,
            Err(_) => MQTTPACKET_READ_ERROR,
        },
        _ => MQTTPACKET_READ_ERROR,
    }
}
