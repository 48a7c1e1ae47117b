//! The Eclipse Paho embedded-C compatible API (feature `paho`).
//!
//! Firmware written against Paho's `MQTTPacket.h` and `MQTTClient.h` builds
//! against `include/paho/` and links this library. This module is the
//! stateless packet layer (`MQTTSerialize_*`, `MQTTDeserialize_*`,
//! `MQTTPacket_read`/`readnb`, the encoding helpers and `MQTTFormat`), written
//! over embermq's [`codec`](crate::codec) and [`topic`](crate::topic) rules.
//! The blocking client (`MQTTClientInit`, `MQTTConnect`, `MQTTYield`, ...)
//! is `src/paho/c/MQTTClient.c`: it embeds the firmware's own `Timer` and
//! `Network` and uses `MAX_MESSAGE_HANDLERS` from the firmware's flags, so
//! the firmware compiles that one file with its own flags; it calls back into
//! this module for every encode, decode and topic match.
//!
//! The names are Paho's (so `non_snake_case`), every function has C linkage
//! and none is declared in `embermq.h` (cbindgen skips this module). Every
//! pointer and length from C is checked: NULL and short buffers give Paho's
//! error returns. Nothing here can panic on any input except through
//! pointers that lie about the memory behind them, which C can always do.
//! The behaviour is specified in `shared/paho-embedded-api.md`; the places
//! where it deliberately differs from Paho are listed in the README.
#![allow(non_snake_case, non_camel_case_types, non_upper_case_globals)]
// The safety contract of every function is the C one: pointers are NULL or
// valid for the lengths given, as documented in the Paho headers.
#![allow(clippy::missing_safety_doc)]
// `c_char` is `i8` on x86 and `u8` on ARM and RISC-V: a cast from it to
// `u8` is needed on one and flagged as unnecessary on the other.
#![allow(clippy::unnecessary_cast)]

mod client;
mod deserialize;
mod format;
mod read;
mod serialize;

#[cfg(test)]
mod tests;

pub use client::*;
pub use deserialize::*;
pub use format::*;
pub use read::*;
pub use serialize::*;

use core::ffi::{c_char, c_int, c_void, CStr};

/// `enum errors`: a serializer's buffer is too small.
pub const MQTTPACKET_BUFFER_TOO_SHORT: c_int = -2;
/// `enum errors`: a read or decode failed.
pub const MQTTPACKET_READ_ERROR: c_int = -1;

/// `MQTTLenString`: a string given by pointer and length (not NUL-terminated).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MQTTLenString {
    pub len: c_int,
    pub data: *mut c_char,
}

/// `MQTTString`: a C string or a length-delimited string.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MQTTString {
    pub cstring: *mut c_char,
    pub lenstring: MQTTLenString,
}

impl MQTTString {
    /// `MQTTString_initializer`.
    pub const EMPTY: MQTTString = MQTTString {
        cstring: core::ptr::null_mut(),
        lenstring: MQTTLenString {
            len: 0,
            data: core::ptr::null_mut(),
        },
    };

    /// A decoded string: zero copy, pointing into the packet.
    fn borrowed(bytes: &[u8]) -> MQTTString {
        MQTTString {
            cstring: core::ptr::null_mut(),
            lenstring: MQTTLenString {
                len: bytes.len() as c_int,
                data: bytes.as_ptr() as *mut c_char,
            },
        }
    }
}

/// `MQTTPacket_willOptions`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MQTTPacket_willOptions {
    pub struct_id: [c_char; 4],
    pub struct_version: c_int,
    pub topicName: MQTTString,
    pub message: MQTTString,
    pub retained: u8,
    pub qos: c_char,
}

/// `MQTTPacket_connectData`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MQTTPacket_connectData {
    pub struct_id: [c_char; 4],
    pub struct_version: c_int,
    pub MQTTVersion: u8,
    pub clientID: MQTTString,
    pub keepAliveInterval: u16,
    pub cleansession: u8,
    pub willFlag: u8,
    pub will: MQTTPacket_willOptions,
    pub username: MQTTString,
    pub password: MQTTString,
}

impl MQTTPacket_connectData {
    /// `MQTTPacket_connectData_initializer`: MQTT 3.1.1, keepalive 60,
    /// clean session, no will, no credentials.
    pub const INITIALIZER: MQTTPacket_connectData = MQTTPacket_connectData {
        struct_id: [
            b'M' as c_char,
            b'Q' as c_char,
            b'T' as c_char,
            b'C' as c_char,
        ],
        struct_version: 0,
        MQTTVersion: 4,
        clientID: MQTTString::EMPTY,
        keepAliveInterval: 60,
        cleansession: 1,
        willFlag: 0,
        will: MQTTPacket_willOptions {
            struct_id: [
                b'M' as c_char,
                b'Q' as c_char,
                b'T' as c_char,
                b'W' as c_char,
            ],
            struct_version: 0,
            topicName: MQTTString::EMPTY,
            message: MQTTString::EMPTY,
            retained: 0,
            qos: 0,
        },
        username: MQTTString::EMPTY,
        password: MQTTString::EMPTY,
    };
}

/// `getfn` of [`MQTTTransport`]: `int (*)(void* sck, unsigned char* buf, int count)`.
pub type TransportGetFn = unsafe extern "C" fn(*mut c_void, *mut u8, c_int) -> c_int;

/// `MQTTTransport`: the state of [`MQTTPacket_readnb`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MQTTTransport {
    pub getfn: Option<TransportGetFn>,
    pub sck: *mut c_void,
    pub multiplier: c_int,
    pub rem_len: c_int,
    pub len: c_int,
    pub state: c_char,
}

// Layouts from the spec (section 5.2), checked at compile time on every
// target the crate builds for: LP64 hosts and the 32-bit MCU targets.
/// The LP64 figure on 64-bit targets, the ILP32 one on 32-bit targets.
const fn pick(lp64: usize, ilp32: usize) -> usize {
    if core::mem::size_of::<usize>() == 8 {
        lp64
    } else {
        ilp32
    }
}

const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<MQTTLenString>() == pick(16, 8));
    assert!(size_of::<MQTTString>() == pick(24, 12));
    assert!(offset_of!(MQTTString, lenstring) == pick(8, 4));
    assert!(size_of::<MQTTPacket_willOptions>() == pick(64, 36));
    assert!(offset_of!(MQTTPacket_willOptions, message) == pick(32, 20));
    assert!(offset_of!(MQTTPacket_willOptions, retained) == pick(56, 32));
    assert!(offset_of!(MQTTPacket_willOptions, qos) == pick(57, 33));
    assert!(size_of::<MQTTPacket_connectData>() == pick(160, 88));
    assert!(offset_of!(MQTTPacket_connectData, MQTTVersion) == 8);
    assert!(offset_of!(MQTTPacket_connectData, clientID) == pick(16, 12));
    assert!(offset_of!(MQTTPacket_connectData, keepAliveInterval) == pick(40, 24));
    assert!(offset_of!(MQTTPacket_connectData, cleansession) == pick(42, 26));
    assert!(offset_of!(MQTTPacket_connectData, willFlag) == pick(43, 27));
    assert!(offset_of!(MQTTPacket_connectData, will) == pick(48, 28));
    assert!(offset_of!(MQTTPacket_connectData, username) == pick(112, 64));
    assert!(offset_of!(MQTTPacket_connectData, password) == pick(136, 76));
    assert!(size_of::<MQTTTransport>() == pick(32, 24));
    assert!(offset_of!(MQTTTransport, multiplier) == pick(16, 8));
    assert!(offset_of!(MQTTTransport, state) == pick(28, 20));
};

// ---- shared helpers ----------------------------------------------------------

/// The bytes a serializer writes for `s` (section 4.3): `lenstring` when its
/// length is positive, else `cstring`, else nothing. `None` when `lenstring`
/// claims bytes behind a NULL pointer.
unsafe fn wire_bytes<'a>(s: &MQTTString) -> Option<&'a [u8]> {
    if s.lenstring.len > 0 {
        if s.lenstring.data.is_null() {
            return None;
        }
        // SAFETY: C promises `len` readable bytes at `data`.
        Some(unsafe {
            core::slice::from_raw_parts(s.lenstring.data as *const u8, s.lenstring.len as usize)
        })
    } else if !s.cstring.is_null() {
        // SAFETY: a non-NULL cstring is NUL-terminated.
        Some(unsafe { CStr::from_ptr(s.cstring) }.to_bytes())
    } else {
        Some(&[])
    }
}

/// [`wire_bytes`] as UTF-8 text, which MQTT requires of topics, ids and names.
unsafe fn wire_str<'a>(s: &MQTTString) -> Option<&'a str> {
    // SAFETY: forwarded contract.
    core::str::from_utf8(unsafe { wire_bytes(s) }?).ok()
}

/// A caller's output buffer; NULL or a negative length is an empty one.
unsafe fn out_buf<'a>(buf: *mut u8, buflen: c_int) -> &'a mut [u8] {
    if buf.is_null() || buflen <= 0 {
        &mut []
    } else {
        // SAFETY: C promises `buflen` writable bytes at `buf`.
        unsafe { core::slice::from_raw_parts_mut(buf, buflen as usize) }
    }
}

/// A caller's input buffer; NULL or a length of zero or less is `None`.
unsafe fn in_buf<'a>(buf: *const u8, len: c_int) -> Option<&'a [u8]> {
    if buf.is_null() || len <= 0 {
        None
    } else {
        // SAFETY: C promises `len` readable bytes at `buf`.
        Some(unsafe { core::slice::from_raw_parts(buf, len as usize) })
    }
}

/// Writes the MQTT variable-length integer for `value` and returns its
/// length, or `None` when it does not fit `out` or exceeds the maximum.
fn write_varint(out: &mut [u8], mut value: usize) -> Option<usize> {
    if value > crate::codec::MAX_REMAINING_LENGTH {
        return None;
    }
    let mut at = 0;
    loop {
        let mut byte = (value & 0x7f) as u8;
        value >>= 7;
        if value > 0 {
            byte |= 0x80;
        }
        *out.get_mut(at)? = byte;
        at += 1;
        if value == 0 {
            return Some(at);
        }
    }
}

/// A sequential writer over a buffer whose total size was checked first;
/// every write is still bounds-checked (a short write is a bug, never UB).
struct Cursor<'b> {
    out: &'b mut [u8],
    at: usize,
}

impl Cursor<'_> {
    fn u8(&mut self, byte: u8) -> Option<()> {
        *self.out.get_mut(self.at)? = byte;
        self.at += 1;
        Some(())
    }

    fn u16(&mut self, value: u16) -> Option<()> {
        self.bytes(&value.to_be_bytes())
    }

    fn bytes(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.at.checked_add(bytes.len())?;
        self.out.get_mut(self.at..end)?.copy_from_slice(bytes);
        self.at = end;
        Some(())
    }

    fn string(&mut self, bytes: &[u8]) -> Option<()> {
        self.u16(u16::try_from(bytes.len()).ok()?)?;
        self.bytes(bytes)
    }

    fn header(&mut self, first_byte: u8, body_len: usize) -> Option<()> {
        self.u8(first_byte)?;
        let rest = self.out.get_mut(self.at..)?;
        self.at += write_varint(rest, body_len)?;
        Some(())
    }
}

/// Stores `value` through `ptr` if it is not NULL.
unsafe fn put<T>(ptr: *mut T, value: T) {
    if !ptr.is_null() {
        // SAFETY: a non-NULL output pointer is valid for writes.
        unsafe { ptr.write(value) };
    }
}

/// True if every pointer is non-NULL.
fn all_set(ptrs: &[*const c_void]) -> bool {
    ptrs.iter().all(|p| !p.is_null())
}
