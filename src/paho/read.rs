//! Packet readers (`MQTTPacket_read`, `MQTTPacket_readnb`) and the encoding
//! helpers of `MQTTPacket.h`.

use super::*;
use crate::codec::{remaining_length_len, MAX_REMAINING_LENGTH};
use core::sync::atomic::{AtomicPtr, Ordering};

/// `getfn` of [`MQTTPacket_read`] and `getcharfn` of [`MQTTPacket_decode`].
pub type GetFn = unsafe extern "C" fn(*mut u8, c_int) -> c_int;

/// Accumulates one remaining-length byte. `Ok(None)`: more bytes follow.
fn length_step(value: &mut usize, index: usize, byte: u8) -> Result<Option<usize>, ()> {
    if index >= 4 {
        return Err(());
    }
    *value |= ((byte & 0x7f) as usize) << (7 * index);
    if byte & 0x80 == 0 {
        Ok(Some(index + 1))
    } else if index == 3 {
        Err(())
    } else {
        Ok(None)
    }
}

/// Blocking read of one packet through `getfn`. Returns the packet type or
/// -1. A packet larger than `buflen` is read to its end (through `buf`, in
/// pieces) before -1 is returned, so the stream stays in step.
#[no_mangle]
pub unsafe extern "C" fn MQTTPacket_read(
    buf: *mut u8,
    buflen: c_int,
    getfn: Option<GetFn>,
) -> c_int {
    let Some(getfn) = getfn else {
        return MQTTPACKET_READ_ERROR;
    };
    // SAFETY: forwarded contract.
    let out = unsafe { out_buf(buf, buflen) };
    if out.len() < 2 {
        return MQTTPACKET_READ_ERROR;
    }
    // SAFETY: `out` has room for one byte; getfn writes at most `count`.
    if unsafe { getfn(out.as_mut_ptr(), 1) } != 1 {
        return MQTTPACKET_READ_ERROR;
    }
    let mut rem_len: c_int = 0;
    // SAFETY: getfn is the caller's reader.
    if unsafe { MQTTPacket_decode(Some(getfn), &mut rem_len) } <= 0 {
        return MQTTPACKET_READ_ERROR;
    }
    let body = rem_len as usize;
    let header = 1 + remaining_length_len(body);
    if header + body > out.len() {
        // Too big: consume the body so the next read starts at a packet.
        let mut left = body;
        while left > 0 {
            let chunk = left.min(out.len());
            // SAFETY: `chunk` <= out.len().
            if unsafe { getfn(out.as_mut_ptr(), chunk as c_int) } != chunk as c_int {
                break;
            }
            left -= chunk;
        }
        return MQTTPACKET_READ_ERROR;
    }
    if write_varint(&mut out[1..], body).is_none() {
        return MQTTPACKET_READ_ERROR;
    }
    // SAFETY: header + body <= out.len().
    if body > 0 && unsafe { getfn(out.as_mut_ptr().add(header), rem_len) } != rem_len {
        return MQTTPACKET_READ_ERROR;
    }
    (out[0] >> 4) as c_int
}

/// Non-blocking, resumable read. Returns the packet type once the whole
/// packet is in `buf`, 0 for "call again", -1 on failure (state reset).
#[no_mangle]
pub unsafe extern "C" fn MQTTPacket_readnb(
    buf: *mut u8,
    buflen: c_int,
    trp: *mut MQTTTransport,
) -> c_int {
    // SAFETY: NULL or a valid MQTTTransport.
    let Some(trp) = (unsafe { trp.as_mut() }) else {
        return MQTTPACKET_READ_ERROR;
    };
    // SAFETY: forwarded contract.
    let out = unsafe { out_buf(buf, buflen) };
    let result = match trp.getfn {
        Some(getfn) if out.len() >= 2 => readnb_step(out, trp, getfn),
        _ => Err(()),
    };
    match result {
        Ok(Some(kind)) => {
            trp.state = 0;
            kind
        }
        Ok(None) => 0,
        Err(()) => {
            trp.state = 0;
            MQTTPACKET_READ_ERROR
        }
    }
}

fn readnb_step(
    out: &mut [u8],
    trp: &mut MQTTTransport,
    getfn: TransportGetFn,
) -> Result<Option<c_int>, ()> {
    let sck = trp.sck;
    let read = |dst: &mut [u8]| -> Result<usize, ()> {
        // SAFETY: getfn writes at most `dst.len()` bytes into `dst`.
        let rc = unsafe { getfn(sck, dst.as_mut_ptr(), dst.len() as c_int) };
        match usize::try_from(rc) {
            Ok(n) if n <= dst.len() => Ok(n),
            _ => Err(()),
        }
    };
    loop {
        match trp.state {
            0 => {
                if read(&mut out[..1])? == 0 {
                    return Ok(None);
                }
                trp.rem_len = 0;
                trp.len = 0; // length bytes so far
                trp.multiplier = 1;
                trp.state = 1;
            }
            1 => {
                let mut byte = [0u8];
                if read(&mut byte)? == 0 {
                    return Ok(None);
                }
                let mut value = trp.rem_len as usize;
                let done = length_step(&mut value, trp.len as usize, byte[0])?;
                trp.rem_len = value as c_int;
                trp.len += 1;
                trp.multiplier = trp.multiplier.saturating_mul(128);
                if done.is_some() {
                    let body = value;
                    let header = 1 + remaining_length_len(body);
                    if header + body > out.len() {
                        return Err(());
                    }
                    write_varint(&mut out[1..], body).ok_or(())?;
                    trp.len = 0; // body bytes so far
                    trp.state = 2;
                }
            }
            2 => {
                let body = trp.rem_len as usize;
                let header = 1 + remaining_length_len(body);
                let got = trp.len as usize;
                if got >= body {
                    return Ok(Some((out[0] >> 4) as c_int));
                }
                let dst = out.get_mut(header + got..header + body).ok_or(())?;
                let n = read(dst)?;
                if n == 0 {
                    return Ok(None);
                }
                trp.len += n as c_int;
            }
            _ => return Err(()),
        }
    }
}

/// Reads a remaining length one byte per `getcharfn` call. Returns the
/// number of bytes consumed, or -1 (on a read failure or a fifth byte).
#[no_mangle]
pub unsafe extern "C" fn MQTTPacket_decode(getcharfn: Option<GetFn>, value: *mut c_int) -> c_int {
    let (Some(getcharfn), false) = (getcharfn, value.is_null()) else {
        return MQTTPACKET_READ_ERROR;
    };
    let mut total = 0usize;
    for index in 0..4 {
        let mut byte = 0u8;
        // SAFETY: one byte of room.
        if unsafe { getcharfn(&mut byte, 1) } != 1 {
            return MQTTPACKET_READ_ERROR;
        }
        match length_step(&mut total, index, byte) {
            Ok(Some(used)) => {
                // SAFETY: checked non-NULL.
                unsafe { put(value, total as c_int) };
                return used as c_int;
            }
            Ok(None) => {}
            Err(()) => return MQTTPACKET_READ_ERROR,
        }
    }
    MQTTPACKET_READ_ERROR
}

/// Where [`bufchar`] reads next: set by each [`MQTTPacket_decodeBuf`] call
/// (which itself never reads it, so decodeBuf stays re-entrant).
static BUFCHAR_AT: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());

/// Decodes a remaining length from memory (at most 4 bytes are read).
/// Re-entrant. Returns the bytes consumed, or -1 for a malformed length.
#[no_mangle]
pub unsafe extern "C" fn MQTTPacket_decodeBuf(buf: *mut u8, value: *mut c_int) -> c_int {
    if buf.is_null() || value.is_null() {
        return MQTTPACKET_READ_ERROR;
    }
    BUFCHAR_AT.store(buf, Ordering::Relaxed);
    let mut total = 0usize;
    for index in 0..4 {
        // SAFETY: the caller's buffer holds the length field, which ends
        // at the first byte without the continuation bit (at most 4).
        let byte = unsafe { *buf.add(index) };
        match length_step(&mut total, index, byte) {
            Ok(Some(used)) => {
                // SAFETY: checked non-NULL.
                unsafe { put(value, total as c_int) };
                return used as c_int;
            }
            Ok(None) => {}
            Err(()) => return MQTTPACKET_READ_ERROR,
        }
    }
    MQTTPACKET_READ_ERROR
}

/// Paho's internal reader: copies `count` bytes from where the last
/// [`MQTTPacket_decodeBuf`] started (advancing) into `c`. Not re-entrant, as
/// in Paho; embermq itself never uses it.
#[no_mangle]
pub unsafe extern "C" fn bufchar(c: *mut u8, count: c_int) -> c_int {
    let at = BUFCHAR_AT.load(Ordering::Relaxed);
    if c.is_null() || at.is_null() || count < 0 {
        return MQTTPACKET_READ_ERROR;
    }
    // SAFETY: Paho's contract: the buffer given to decodeBuf holds these bytes.
    unsafe { core::ptr::copy(at, c, count as usize) };
    BUFCHAR_AT.store(at.wrapping_add(count as usize), Ordering::Relaxed);
    count
}

/// Writes the remaining-length encoding of `length`; returns its size
/// (1 to 4), or 0 when `buf` is NULL or `length` is out of range.
#[no_mangle]
pub unsafe extern "C" fn MQTTPacket_encode(buf: *mut u8, length: c_int) -> c_int {
    if buf.is_null() || length < 0 || length as usize > MAX_REMAINING_LENGTH {
        return 0;
    }
    let size = remaining_length_len(length as usize);
    // SAFETY: the caller's buffer has room for the 1 to 4 length bytes.
    let out = unsafe { core::slice::from_raw_parts_mut(buf, size) };
    write_varint(out, length as usize).map_or(0, |n| n as c_int)
}

/// Total packet size for a remaining length: exact (Paho's is one byte too
/// large at 127, 16383 and 2097151).
#[no_mangle]
pub extern "C" fn MQTTPacket_len(rem_len: c_int) -> c_int {
    let body = rem_len.max(0) as usize;
    (1 + remaining_length_len(body) + body).min(c_int::MAX as usize) as c_int
}

/// Length by the MQTTstrlen rule: strlen(cstring), else lenstring.len.
#[no_mangle]
pub unsafe extern "C" fn MQTTstrlen(mqttstring: MQTTString) -> c_int {
    if mqttstring.cstring.is_null() {
        mqttstring.lenstring.len
    } else {
        // SAFETY: a non-NULL cstring is NUL-terminated.
        let len = unsafe { CStr::from_ptr(mqttstring.cstring) }
            .to_bytes()
            .len();
        len.min(c_int::MAX as usize) as c_int
    }
}

/// 1 if `a` (its cstring, else its lenstring) has the bytes of C string `b`.
#[no_mangle]
pub unsafe extern "C" fn MQTTPacket_equals(a: *mut MQTTString, b: *mut c_char) -> c_int {
    // SAFETY: NULL or valid.
    let (Some(a), false) = (unsafe { a.as_ref() }, b.is_null()) else {
        return 0;
    };
    let left: &[u8] = if !a.cstring.is_null() {
        // SAFETY: NUL-terminated.
        unsafe { CStr::from_ptr(a.cstring) }.to_bytes()
    } else if a.lenstring.len > 0 && !a.lenstring.data.is_null() {
        // SAFETY: `len` bytes at `data`.
        unsafe {
            core::slice::from_raw_parts(a.lenstring.data as *const u8, a.lenstring.len as usize)
        }
    } else {
        &[]
    };
    // SAFETY: NUL-terminated.
    (left == unsafe { CStr::from_ptr(b) }.to_bytes()) as c_int
}

/// 1 for (MQIsdp, 3) or (MQTT, 4).
#[no_mangle]
pub unsafe extern "C" fn MQTTPacket_checkVersion(
    protocol: *mut MQTTString,
    version: c_int,
) -> c_int {
    // SAFETY: NULL or valid.
    let Some(protocol) = (unsafe { protocol.as_ref() }) else {
        return 0;
    };
    // SAFETY: the MQTTString contract.
    let name = unsafe { wire_bytes(protocol) };
    matches!((name, version), (Some(b"MQIsdp"), 3) | (Some(b"MQTT"), 4)) as c_int
}

/// The big-endian 16-bit value at `ptr`.
#[no_mangle]
pub unsafe extern "C" fn getLenStringLen(ptr: *mut c_char) -> c_int {
    if ptr.is_null() {
        return 0;
    }
    // SAFETY: two readable bytes at ptr.
    let bytes = unsafe { [*ptr as u8, *ptr.add(1) as u8] };
    u16::from_be_bytes(bytes) as c_int
}

/// Reads a big-endian 16-bit value and advances `*pptr` by 2.
#[no_mangle]
pub unsafe extern "C" fn readInt(pptr: *mut *mut u8) -> c_int {
    // SAFETY: NULL or valid; two readable bytes at *pptr.
    unsafe {
        let Some(p) = pptr.as_mut().filter(|p| !p.is_null()) else {
            return 0;
        };
        let value = u16::from_be_bytes([**p, *p.add(1)]);
        *p = p.add(2);
        value as c_int
    }
}

/// Reads one byte (as plain `char`) and advances `*pptr` by 1.
#[no_mangle]
pub unsafe extern "C" fn readChar(pptr: *mut *mut u8) -> c_char {
    // SAFETY: NULL or valid; one readable byte at *pptr.
    unsafe {
        let Some(p) = pptr.as_mut().filter(|p| !p.is_null()) else {
            return 0;
        };
        let value = **p as c_char;
        *p = p.add(1);
        value
    }
}

/// Writes one byte and advances `*pptr` by 1.
#[no_mangle]
pub unsafe extern "C" fn writeChar(pptr: *mut *mut u8, c: c_char) {
    // SAFETY: NULL or valid; one writable byte at *pptr.
    unsafe {
        if let Some(p) = pptr.as_mut().filter(|p| !p.is_null()) {
            **p = c as u8;
            *p = p.add(1);
        }
    }
}

/// Writes a big-endian 16-bit value and advances `*pptr` by 2.
#[no_mangle]
pub unsafe extern "C" fn writeInt(pptr: *mut *mut u8, anInt: c_int) {
    // SAFETY: NULL or valid; two writable bytes at *pptr.
    unsafe {
        if let Some(p) = pptr.as_mut().filter(|p| !p.is_null()) {
            let [hi, lo] = (anInt as u16).to_be_bytes();
            **p = hi;
            *p.add(1) = lo;
            *p = p.add(2);
        }
    }
}

/// Writes a 2-byte length and the bytes of a C string; advances `*pptr`.
#[no_mangle]
pub unsafe extern "C" fn writeCString(pptr: *mut *mut u8, string: *const c_char) {
    let bytes: &[u8] = if string.is_null() {
        &[]
    } else {
        // SAFETY: NUL-terminated.
        unsafe { CStr::from_ptr(string) }.to_bytes()
    };
    // SAFETY: forwarded contract.
    unsafe { write_len_bytes(pptr, bytes) }
}

/// Writes an MQTTString by the serializers' rule; advances `*pptr`.
#[no_mangle]
pub unsafe extern "C" fn writeMQTTString(pptr: *mut *mut u8, mqttstring: MQTTString) {
    // SAFETY: the MQTTString contract.
    let bytes = unsafe { wire_bytes(&mqttstring) }.unwrap_or(&[]);
    // SAFETY: forwarded contract.
    unsafe { write_len_bytes(pptr, bytes) }
}

unsafe fn write_len_bytes(pptr: *mut *mut u8, bytes: &[u8]) {
    let bytes = &bytes[..bytes.len().min(u16::MAX as usize)];
    // SAFETY: NULL or valid; 2 + len writable bytes at *pptr.
    unsafe {
        if let Some(p) = pptr.as_mut().filter(|p| !p.is_null()) {
            let [hi, lo] = (bytes.len() as u16).to_be_bytes();
            **p = hi;
            *p.add(1) = lo;
            core::ptr::copy_nonoverlapping(bytes.as_ptr(), p.add(2), bytes.len());
            *p = p.add(2 + bytes.len());
        }
    }
}

/// Reads a length-prefixed string that ends at or before `enddata`: 1, with
/// the string pointing into the buffer and `*pptr` advanced; else 0.
#[no_mangle]
pub unsafe extern "C" fn readMQTTLenString(
    mqttstring: *mut MQTTString,
    pptr: *mut *mut u8,
    enddata: *mut u8,
) -> c_int {
    // SAFETY: NULL or valid pointers; [*pptr, enddata) is readable.
    unsafe {
        let (Some(s), Some(p)) = (mqttstring.as_mut(), pptr.as_mut()) else {
            return 0;
        };
        *s = MQTTString::EMPTY;
        if p.is_null() || enddata.is_null() || (enddata as usize) < (*p as usize) {
            return 0;
        }
        let avail = enddata as usize - *p as usize;
        if avail < 2 {
            return 0;
        }
        let len = u16::from_be_bytes([**p, *p.add(1)]) as usize;
        if avail - 2 < len {
            return 0;
        }
        s.lenstring = MQTTLenString {
            len: len as c_int,
            data: p.add(2) as *mut c_char,
        };
        *p = p.add(2 + len);
        1
    }
}
