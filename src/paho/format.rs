//! `MQTTFormat.h`: packets as text, for debugging. The `int` results follow
//! snprintf: the length of the whole text, which may exceed `strbuflen`;
//! the buffer always ends with a NUL (when `strbuflen` > 0) and is never
//! written past.

use super::*;
use crate::codec::{decode, Decoded, Packet, MAX_PACKET_SIZE};
use core::fmt::{self, Write};

/// Names of the packet types, `MQTTPacket_names[type]`.
#[repr(transparent)]
pub struct NameTable(pub [*const c_char; 15]);

// SAFETY: the table is immutable and points at static string literals.
unsafe impl Sync for NameTable {}

#[no_mangle]
pub static MQTTPacket_names: NameTable = NameTable([
    c"RESERVED".as_ptr(),
    c"CONNECT".as_ptr(),
    c"CONNACK".as_ptr(),
    c"PUBLISH".as_ptr(),
    c"PUBACK".as_ptr(),
    c"PUBREC".as_ptr(),
    c"PUBREL".as_ptr(),
    c"PUBCOMP".as_ptr(),
    c"SUBSCRIBE".as_ptr(),
    c"SUBACK".as_ptr(),
    c"UNSUBSCRIBE".as_ptr(),
    c"UNSUBACK".as_ptr(),
    c"PINGREQ".as_ptr(),
    c"PINGRESP".as_ptr(),
    c"DISCONNECT".as_ptr(),
]);

const NAMES: [&str; 15] = [
    "RESERVED",
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
];

fn name(kind: u16) -> &'static str {
    NAMES.get(kind as usize).copied().unwrap_or("UNKNOWN")
}

/// The name of a packet type (despite the parameter's name); "UNKNOWN"
/// for 15 and above.
#[no_mangle]
pub extern "C" fn MQTTPacket_getName(packetid: u16) -> *const c_char {
    match MQTTPacket_names.0.get(packetid as usize) {
        Some(&name) => name,
        None => c"UNKNOWN".as_ptr(),
    }
}

/// snprintf-like sink: keeps what fits (leaving room for the NUL), counts all.
struct Text<'a> {
    out: &'a mut [u8],
    needed: usize,
}

impl Text<'_> {
    unsafe fn new<'a>(strbuf: *mut c_char, strbuflen: c_int) -> Text<'a> {
        Text {
            // SAFETY: forwarded contract.
            out: unsafe { out_buf(strbuf.cast::<u8>(), strbuflen) },
            needed: 0,
        }
    }

    fn raw(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.needed + 1 < self.out.len() {
                self.out[self.needed] = b;
            }
            self.needed += 1;
        }
    }

    /// Shows at most `max` bytes of `bytes`.
    fn cut(&mut self, bytes: &[u8], max: usize) {
        self.raw(&bytes[..bytes.len().min(max)]);
    }

    fn finish(self) -> c_int {
        if let Some(last) = self.out.len().checked_sub(1) {
            self.out[self.needed.min(last)] = 0;
        }
        self.needed.min(c_int::MAX as usize) as c_int
    }
}

impl Write for Text<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.raw(s.as_bytes());
        Ok(())
    }
}

/// The bytes to show for a string: lenstring when set, else cstring.
unsafe fn shown<'a>(s: &MQTTString) -> &'a [u8] {
    // SAFETY: the MQTTString contract.
    unsafe { wire_bytes(s) }.unwrap_or(&[])
}

#[no_mangle]
pub unsafe extern "C" fn MQTTStringFormat_connect(
    strbuf: *mut c_char,
    strbuflen: c_int,
    data: *mut MQTTPacket_connectData,
) -> c_int {
    // SAFETY: forwarded contract.
    let mut t = unsafe { Text::new(strbuf, strbuflen) };
    // SAFETY: NULL or valid.
    if let Some(d) = unsafe { data.as_ref() } {
        // SAFETY (shown): the MQTTString contract.
        unsafe { format_connect(&mut t, d) };
    }
    t.finish()
}

unsafe fn format_connect(t: &mut Text<'_>, d: &MQTTPacket_connectData) {
    let _ = write!(t, "CONNECT MQTT version {}, client id ", d.MQTTVersion);
    // SAFETY: the MQTTString contract, for every `shown` below.
    t.raw(unsafe { shown(&d.clientID) });
    let _ = write!(
        t,
        ", clean session {}, keep alive {}",
        d.cleansession, d.keepAliveInterval
    );
    if d.willFlag != 0 {
        let _ = write!(
            t,
            ", will QoS {}, will retain {}, will topic ",
            d.will.qos as u8, d.will.retained
        );
        t.raw(unsafe { shown(&d.will.topicName) });
        t.raw(b", will message ");
        t.raw(unsafe { shown(&d.will.message) });
    }
    let username = unsafe { shown(&d.username) };
    if !username.is_empty() {
        t.raw(b", user name ");
        t.raw(username);
    }
    let password = unsafe { shown(&d.password) };
    if !password.is_empty() {
        t.raw(b", password ");
        t.raw(password);
    }
}

#[no_mangle]
pub unsafe extern "C" fn MQTTStringFormat_connack(
    strbuf: *mut c_char,
    strbuflen: c_int,
    connack_rc: u8,
    sessionPresent: u8,
) -> c_int {
    // SAFETY: forwarded contract.
    let mut t = unsafe { Text::new(strbuf, strbuflen) };
    let _ = write!(
        t,
        "CONNACK session present {sessionPresent}, rc {connack_rc}"
    );
    t.finish()
}

#[no_mangle]
pub unsafe extern "C" fn MQTTStringFormat_publish(
    strbuf: *mut c_char,
    strbuflen: c_int,
    dup: u8,
    qos: c_int,
    retained: u8,
    packetid: u16,
    topicName: MQTTString,
    payload: *mut u8,
    payloadlen: c_int,
) -> c_int {
    // SAFETY: forwarded contract.
    let mut t = unsafe { Text::new(strbuf, strbuflen) };
    // SAFETY: `payloadlen` readable bytes at `payload`.
    let body = unsafe { in_buf(payload, payloadlen) }.unwrap_or(&[]);
    // SAFETY: forwarded contract.
    unsafe { format_publish(&mut t, dup, qos, retained, packetid, &topicName, body) };
    t.finish()
}

unsafe fn format_publish(
    t: &mut Text<'_>,
    dup: u8,
    qos: c_int,
    retained: u8,
    packetid: u16,
    topic: &MQTTString,
    payload: &[u8],
) {
    let _ = write!(
        t,
        "PUBLISH dup {dup}, QoS {qos}, retained {retained}, packet id {packetid}, topic "
    );
    // SAFETY: the MQTTString contract.
    t.cut(unsafe { shown(topic) }, 20);
    let _ = write!(t, ", payload length {}, payload ", payload.len());
    t.cut(payload, 20);
}

#[no_mangle]
pub unsafe extern "C" fn MQTTStringFormat_ack(
    strbuf: *mut c_char,
    strbuflen: c_int,
    packettype: u8,
    dup: u8,
    packetid: u16,
) -> c_int {
    // SAFETY: forwarded contract.
    let mut t = unsafe { Text::new(strbuf, strbuflen) };
    format_ack(&mut t, packettype, dup, packetid);
    t.finish()
}

fn format_ack(t: &mut Text<'_>, packettype: u8, dup: u8, packetid: u16) {
    let _ = write!(t, "{}, packet id {packetid}", name(packettype as u16));
    if dup != 0 {
        let _ = write!(t, ", dup {dup}");
    }
}

#[no_mangle]
pub unsafe extern "C" fn MQTTStringFormat_subscribe(
    strbuf: *mut c_char,
    strbuflen: c_int,
    dup: u8,
    packetid: u16,
    count: c_int,
    topicFilters: *mut MQTTString,
    requestedQoSs: *mut c_int,
) -> c_int {
    // SAFETY: forwarded contract.
    let mut t = unsafe { Text::new(strbuf, strbuflen) };
    let _ = write!(t, "SUBSCRIBE dup {dup}, packet id {packetid} count {count}");
    if count > 0 && !topicFilters.is_null() && !requestedQoSs.is_null() {
        t.raw(b" topic ");
        // SAFETY: arrays of `count` >= 1 elements.
        unsafe {
            t.raw(shown(&*topicFilters));
            let _ = write!(t, " qos {}", *requestedQoSs);
        }
    }
    t.finish()
}

#[no_mangle]
pub unsafe extern "C" fn MQTTStringFormat_suback(
    strbuf: *mut c_char,
    strbuflen: c_int,
    packetid: u16,
    count: c_int,
    grantedQoSs: *mut c_int,
) -> c_int {
    // SAFETY: forwarded contract.
    let mut t = unsafe { Text::new(strbuf, strbuflen) };
    let _ = write!(t, "SUBACK packet id {packetid} count {count}");
    if count > 0 && !grantedQoSs.is_null() {
        // SAFETY: an array of `count` >= 1 elements.
        let _ = write!(t, " granted qos {}", unsafe { *grantedQoSs });
    }
    t.finish()
}

#[no_mangle]
pub unsafe extern "C" fn MQTTStringFormat_unsubscribe(
    strbuf: *mut c_char,
    strbuflen: c_int,
    dup: u8,
    packetid: u16,
    count: c_int,
    topicFilters: *mut MQTTString,
) -> c_int {
    // SAFETY: forwarded contract.
    let mut t = unsafe { Text::new(strbuf, strbuflen) };
    let _ = write!(
        t,
        "UNSUBSCRIBE dup {dup}, packet id {packetid} count {count}"
    );
    if count > 0 && !topicFilters.is_null() {
        t.raw(b" topic ");
        // SAFETY: an array of `count` >= 1 elements.
        t.raw(unsafe { shown(&*topicFilters) });
    }
    t.finish()
}

/// Formats the packet in `buf`; `client` selects the packets a client
/// receives, else those a server receives. Other packets leave strbuf alone.
unsafe fn format_packet(
    strbuf: *mut c_char,
    strbuflen: c_int,
    buf: *mut u8,
    buflen: c_int,
    client: bool,
) -> *mut c_char {
    // SAFETY: forwarded contract.
    let Some(bytes) = (unsafe { in_buf(buf, buflen) }) else {
        return strbuf;
    };
    // A CONNACK reads as MQTTDeserialize_connack reads it: any return code.
    if let (true, Some((present, code))) = (client, super::deserialize::connack_fields(bytes)) {
        // SAFETY: forwarded contract.
        unsafe { MQTTStringFormat_connack(strbuf, strbuflen, code, present) };
        return strbuf;
    }
    let Ok(Decoded::Packet { packet, .. }) = decode(bytes, MAX_PACKET_SIZE) else {
        return strbuf;
    };
    // SAFETY: forwarded contract.
    let mut t = unsafe { Text::new(strbuf, strbuflen) };
    let kind = packet.packet_type() as u8;
    match packet {
        Packet::Connect(c) if !client => {
            let mut data = MQTTPacket_connectData {
                MQTTVersion: c.protocol as u8,
                clientID: MQTTString::borrowed(c.client_id.as_bytes()),
                keepAliveInterval: c.keep_alive,
                cleansession: c.clean_session as u8,
                willFlag: c.will.is_some() as u8,
                ..MQTTPacket_connectData::INITIALIZER
            };
            if let Some(will) = c.will {
                data.will.topicName = MQTTString::borrowed(will.topic.as_bytes());
                data.will.message = MQTTString::borrowed(will.payload);
                data.will.qos = will.qos as u8 as c_char;
                data.will.retained = will.retain as u8;
            }
            if let Some(u) = c.username {
                data.username = MQTTString::borrowed(u.as_bytes());
            }
            if let Some(p) = c.password {
                data.password = MQTTString::borrowed(p);
            }
            // SAFETY: the strings point into `bytes`.
            unsafe { format_connect(&mut t, &data) };
        }
        Packet::Publish(p) => {
            let topic = MQTTString::borrowed(p.topic.as_bytes());
            // SAFETY: the topic points into `bytes`.
            unsafe {
                format_publish(
                    &mut t,
                    p.dup as u8,
                    p.qos as c_int,
                    p.retain as u8,
                    p.packet_id,
                    &topic,
                    p.payload,
                )
            };
        }
        Packet::PubAck(id)
        | Packet::PubRec(id)
        | Packet::PubRel(id)
        | Packet::PubComp(id)
        | Packet::UnsubAck(id) => {
            if kind == 11 && !client {
                return strbuf;
            }
            format_ack(&mut t, kind, 0, id);
        }
        Packet::SubAck(ack) if client => {
            let _ = write!(
                t,
                "SUBACK packet id {} count {}",
                ack.packet_id,
                ack.return_codes.len()
            );
            if let Some(&first) = ack.return_codes.first() {
                let _ = write!(t, " granted qos {first}");
            }
        }
        Packet::Subscribe(s) if !client => {
            let _ = write!(
                t,
                "SUBSCRIBE dup 0, packet id {} count {}",
                s.packet_id,
                s.topics.len()
            );
            if let Some(first) = s.topics.iter().next() {
                t.raw(b" topic ");
                t.raw(first.filter.as_bytes());
                let _ = write!(t, " qos {}", first.qos as u8);
            }
        }
        Packet::Unsubscribe(u) if !client => {
            let _ = write!(
                t,
                "UNSUBSCRIBE dup 0, packet id {} count {}",
                u.packet_id,
                u.topics.len()
            );
            if let Some(first) = u.topics.iter().next() {
                t.raw(b" topic ");
                t.raw(first.as_bytes());
            }
        }
        Packet::PingReq | Packet::PingResp | Packet::Disconnect => {
            t.raw(name(kind as u16).as_bytes());
        }
        _ => return strbuf,
    }
    t.finish();
    strbuf
}

#[no_mangle]
pub unsafe extern "C" fn MQTTFormat_toClientString(
    strbuf: *mut c_char,
    strbuflen: c_int,
    buf: *mut u8,
    buflen: c_int,
) -> *mut c_char {
    // SAFETY: forwarded contract.
    unsafe { format_packet(strbuf, strbuflen, buf, buflen, true) }
}

#[no_mangle]
pub unsafe extern "C" fn MQTTFormat_toServerString(
    strbuf: *mut c_char,
    strbuflen: c_int,
    buf: *mut u8,
    buflen: c_int,
) -> *mut c_char {
    // SAFETY: forwarded contract.
    unsafe { format_packet(strbuf, strbuflen, buf, buflen, false) }
}
