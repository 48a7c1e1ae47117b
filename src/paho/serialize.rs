//! `MQTTSerialize_*`: one complete packet into the caller's buffer.
//!
//! Packets with a fixed shape are built as [`codec::Packet`]s and encoded by
//! embermq's codec, which validates them (topic rules, UTF-8, QoS range,
//! packet id 0). SUBSCRIBE, UNSUBSCRIBE and SUBACK, whose lists come as C
//! arrays and cannot become a codec slice without a heap, are validated with
//! the same rules ([`topic::validate_topic_filter`], [`QoS::from_u8`]) and
//! written here. CONNACK is written here too, with any return code, as
//! Paho's serializer writes it (a drop-in must pass Paho's own packet test).
//! All return the total length, [`MQTTPACKET_BUFFER_TOO_SHORT`] when the
//! packet does not fit `buflen` (nothing is then relied on in the buffer),
//! or [`MQTTPACKET_READ_ERROR`] for a packet MQTT forbids.

use super::*;
use crate::codec::{
    remaining_length_len, Connect, LastWill, Packet, ProtocolLevel, Publish, QoS, SUBACK_FAILURE,
};
use crate::{topic, Error};

/// The message types (`enum msgTypes`) used here.
const PUBACK: u8 = 4;
const PUBREC: u8 = 5;
const PUBREL: u8 = 6;
const PUBCOMP: u8 = 7;
const UNSUBACK: u8 = 11;
const PINGREQ: u8 = 12;
const PINGRESP: u8 = 13;
const DISCONNECT: u8 = 14;

fn error_code(err: Error) -> c_int {
    match err {
        Error::BufferTooSmall => MQTTPACKET_BUFFER_TOO_SHORT,
        _ => MQTTPACKET_READ_ERROR,
    }
}

/// Encodes `packet` with the codec into `buf`.
unsafe fn encode(buf: *mut u8, buflen: c_int, packet: &Packet<'_>) -> c_int {
    // SAFETY: forwarded contract.
    let out = unsafe { out_buf(buf, buflen) };
    match packet.encode(out) {
        Ok(len) => len as c_int,
        Err(err) => error_code(err),
    }
}

/// A total size check shared by the hand-written encoders.
fn room(out: &[u8], body: usize) -> Result<usize, c_int> {
    if body > crate::codec::MAX_REMAINING_LENGTH {
        return Err(MQTTPACKET_READ_ERROR);
    }
    let total = 1 + remaining_length_len(body) + body;
    if out.len() < total {
        Err(MQTTPACKET_BUFFER_TOO_SHORT)
    } else {
        Ok(total)
    }
}

/// The `Connect` the options describe, or `None` if they are unusable.
unsafe fn connect_packet(options: &MQTTPacket_connectData) -> Option<Connect<'_>> {
    let protocol = if options.MQTTVersion == 4 {
        ProtocolLevel::V3_1_1
    } else {
        ProtocolLevel::V3_1
    };
    // SAFETY (all wire_* calls below): the strings follow the MQTTString contract.
    let client_id = unsafe { wire_str(&options.clientID) }?;
    let will = if options.willFlag != 0 {
        let w = &options.will;
        Some(LastWill {
            topic: unsafe { wire_str(&w.topicName) }?,
            payload: unsafe { wire_bytes(&w.message) }?,
            qos: QoS::from_u8(w.qos as u8).ok()?,
            retain: w.retained != 0,
        })
    } else {
        None
    };
    let present = |s: &MQTTString| !s.cstring.is_null() || !s.lenstring.data.is_null();
    let username = if present(&options.username) {
        Some(unsafe { wire_str(&options.username) }?)
    } else {
        None
    };
    let password = if present(&options.password) {
        Some(unsafe { wire_bytes(&options.password) }?)
    } else {
        None
    };
    Some(Connect {
        protocol,
        clean_session: options.cleansession != 0,
        keep_alive: options.keepAliveInterval,
        client_id,
        will,
        username,
        password,
    })
}

#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_connect(
    buf: *mut u8,
    buflen: c_int,
    options: *mut MQTTPacket_connectData,
) -> c_int {
    // SAFETY: NULL or a valid MQTTPacket_connectData.
    let Some(options) = (unsafe { options.as_ref() }) else {
        return MQTTPACKET_READ_ERROR;
    };
    // SAFETY: forwarded contract.
    match unsafe { connect_packet(options) } {
        Some(connect) => unsafe { encode(buf, buflen, &Packet::Connect(connect)) },
        None => MQTTPACKET_READ_ERROR,
    }
}

/// Remaining length of the CONNECT these options give, computed from exactly
/// what [`MQTTSerialize_connect`] writes; -1 for unusable options.
#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_connectLength(
    options: *mut MQTTPacket_connectData,
) -> c_int {
    // SAFETY: NULL or a valid MQTTPacket_connectData.
    let Some(options) = (unsafe { options.as_ref() }) else {
        return MQTTPACKET_READ_ERROR;
    };
    // SAFETY: forwarded contract.
    match unsafe { connect_packet(options) }.map(|c| Packet::Connect(c).encoded_len()) {
        Some(Ok(total)) => body_of(total),
        _ => MQTTPACKET_READ_ERROR,
    }
}

/// The remaining length of a packet of `total` bytes.
fn body_of(total: usize) -> c_int {
    let mut body = total.saturating_sub(2);
    while body > 0 && 1 + remaining_length_len(body) + body != total {
        body -= 1;
    }
    body as c_int
}

/// Written here, not by the codec: like Paho's, it writes any return code
/// (Paho's own packet test sends 77 with a session) as given. The codec,
/// which checks what embermq's client receives, refuses codes above 5 and a
/// session with a refusal; `MQTTConnectWithResults` still does.
#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_connack(
    buf: *mut u8,
    buflen: c_int,
    connack_rc: u8,
    sessionPresent: u8,
) -> c_int {
    // SAFETY: forwarded contract.
    let out = unsafe { out_buf(buf, buflen) };
    let total = match room(out, 2) {
        Ok(total) => total,
        Err(code) => return code,
    };
    let mut w = Cursor { out, at: 0 };
    let written = (|| {
        w.header(0x20, 2)?;
        w.u8((sessionPresent != 0) as u8)?;
        w.u8(connack_rc)?;
        Some(w.at)
    })();
    match written {
        Some(len) if len == total => len as c_int,
        _ => MQTTPACKET_READ_ERROR,
    }
}

#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_zero(buf: *mut u8, buflen: c_int, packettype: u8) -> c_int {
    let packet = match packettype {
        PINGREQ => Packet::PingReq,
        PINGRESP => Packet::PingResp,
        DISCONNECT => Packet::Disconnect,
        _ => return MQTTPACKET_READ_ERROR,
    };
    // SAFETY: forwarded contract.
    unsafe { encode(buf, buflen, &packet) }
}

#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_disconnect(buf: *mut u8, buflen: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { MQTTSerialize_zero(buf, buflen, DISCONNECT) }
}

#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_pingreq(buf: *mut u8, buflen: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { MQTTSerialize_zero(buf, buflen, PINGREQ) }
}

#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_publish(
    buf: *mut u8,
    buflen: c_int,
    dup: u8,
    qos: c_int,
    retained: u8,
    packetid: u16,
    topicName: MQTTString,
    payload: *mut u8,
    payloadlen: c_int,
) -> c_int {
    let Ok(qos) = u8::try_from(qos)
        .map_err(|_| ())
        .and_then(|q| QoS::from_u8(q).map_err(|_| ()))
    else {
        return MQTTPACKET_READ_ERROR;
    };
    // SAFETY: the MQTTString contract.
    let Some(topic) = (unsafe { wire_str(&topicName) }) else {
        return MQTTPACKET_READ_ERROR;
    };
    let payload: &[u8] = match (payload.is_null(), payloadlen) {
        (_, 0) => &[],
        (false, len) if len > 0 => {
            // SAFETY: C promises `payloadlen` readable bytes.
            unsafe { core::slice::from_raw_parts(payload, len as usize) }
        }
        _ => return MQTTPACKET_READ_ERROR,
    };
    let packet = Packet::Publish(Publish {
        dup: dup != 0,
        qos,
        retain: retained != 0,
        topic,
        packet_id: if qos == QoS::AtMostOnce { 0 } else { packetid },
        payload,
    });
    // SAFETY: forwarded contract.
    unsafe { encode(buf, buflen, &packet) }
}

/// Remaining length of a PUBLISH, from exactly what is written; -1 if unusable.
#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_publishLength(
    qos: c_int,
    topicName: MQTTString,
    payloadlen: c_int,
) -> c_int {
    // SAFETY: the MQTTString contract.
    match unsafe { wire_bytes(&topicName) } {
        Some(topic) if payloadlen >= 0 => {
            let id = if qos > 0 { 2 } else { 0 };
            (2 + topic.len() as i64 + id + payloadlen as i64).min(c_int::MAX as i64) as c_int
        }
        _ => MQTTPACKET_READ_ERROR,
    }
}

/// Any of the five 4-byte acks. DUP is never set: MQTT 3.1.1 fixes the flag
/// bits of these packets (section 2.2.2) and brokers reject other values.
#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_ack(
    buf: *mut u8,
    buflen: c_int,
    packettype: u8,
    _dup: u8,
    packetid: u16,
) -> c_int {
    let packet = match packettype {
        PUBACK => Packet::PubAck(packetid),
        PUBREC => Packet::PubRec(packetid),
        PUBREL => Packet::PubRel(packetid),
        PUBCOMP => Packet::PubComp(packetid),
        UNSUBACK => Packet::UnsubAck(packetid),
        _ => return MQTTPACKET_READ_ERROR,
    };
    // SAFETY: forwarded contract.
    unsafe { encode(buf, buflen, &packet) }
}

#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_puback(buf: *mut u8, buflen: c_int, packetid: u16) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { MQTTSerialize_ack(buf, buflen, PUBACK, 0, packetid) }
}

#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_pubrel(
    buf: *mut u8,
    buflen: c_int,
    dup: u8,
    packetid: u16,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { MQTTSerialize_ack(buf, buflen, PUBREL, dup, packetid) }
}

#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_pubcomp(
    buf: *mut u8,
    buflen: c_int,
    packetid: u16,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { MQTTSerialize_ack(buf, buflen, PUBCOMP, 0, packetid) }
}

#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_unsuback(
    buf: *mut u8,
    buflen: c_int,
    packetid: u16,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { MQTTSerialize_ack(buf, buflen, UNSUBACK, 0, packetid) }
}

/// The C array `ptr[0..count]`, or `None` for NULL or a count below 1.
unsafe fn c_array<'a, T>(ptr: *const T, count: c_int) -> Option<&'a [T]> {
    if ptr.is_null() || count <= 0 {
        None
    } else {
        // SAFETY: C promises `count` elements at `ptr`.
        Some(unsafe { core::slice::from_raw_parts(ptr, count as usize) })
    }
}

/// The filters of a SUBSCRIBE or UNSUBSCRIBE, validated as topic filters.
unsafe fn filter_bytes(filter: &MQTTString) -> Option<&[u8]> {
    // SAFETY: the MQTTString contract.
    let text = unsafe { wire_str(filter) }?;
    topic::validate_topic_filter(text).ok()?;
    Some(text.as_bytes())
}

fn qos_byte(qos: c_int) -> Option<u8> {
    let q = u8::try_from(qos).ok()?;
    QoS::from_u8(q).ok().map(|q| q as u8)
}

#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_subscribe(
    buf: *mut u8,
    buflen: c_int,
    _dup: u8,
    packetid: u16,
    count: c_int,
    topicFilters: *mut MQTTString,
    requestedQoSs: *mut c_int,
) -> c_int {
    // SAFETY: C arrays of `count` elements.
    let (Some(filters), Some(qoss)) = (unsafe { c_array(topicFilters, count) }, unsafe {
        c_array(requestedQoSs, count)
    }) else {
        return MQTTPACKET_READ_ERROR;
    };
    if packetid == 0 {
        return MQTTPACKET_READ_ERROR;
    }
    let mut body = 2usize;
    for (filter, &qos) in filters.iter().zip(qoss) {
        // SAFETY: the MQTTString contract.
        match (unsafe { filter_bytes(filter) }, qos_byte(qos)) {
            (Some(bytes), Some(_)) => body += 2 + bytes.len() + 1,
            _ => return MQTTPACKET_READ_ERROR,
        }
    }
    // SAFETY: forwarded contract.
    let out = unsafe { out_buf(buf, buflen) };
    let total = match room(out, body) {
        Ok(total) => total,
        Err(code) => return code,
    };
    let mut w = Cursor { out, at: 0 };
    let written = (|| {
        w.header(0x82, body)?;
        w.u16(packetid)?;
        for (filter, &qos) in filters.iter().zip(qoss) {
            // SAFETY: validated above.
            w.string(unsafe { filter_bytes(filter) }?)?;
            w.u8(qos_byte(qos)?)?;
        }
        Some(w.at)
    })();
    match written {
        Some(len) if len == total => len as c_int,
        _ => MQTTPACKET_READ_ERROR,
    }
}

/// Remaining length of a SUBSCRIBE, from exactly what is written; -1 if unusable.
#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_subscribeLength(
    count: c_int,
    topicFilters: *mut MQTTString,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { list_length(count, topicFilters, 3) }
}

/// Remaining length of an UNSUBSCRIBE, from exactly what is written; -1 if unusable.
#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_unsubscribeLength(
    count: c_int,
    topicFilters: *mut MQTTString,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { list_length(count, topicFilters, 2) }
}

unsafe fn list_length(count: c_int, filters: *mut MQTTString, per_entry: usize) -> c_int {
    // SAFETY: a C array of `count` elements.
    let Some(filters) = (unsafe { c_array(filters, count) }) else {
        return MQTTPACKET_READ_ERROR;
    };
    let mut body = 2usize;
    for filter in filters {
        // SAFETY: the MQTTString contract.
        match unsafe { wire_bytes(filter) } {
            Some(bytes) => body = body.saturating_add(per_entry + bytes.len()),
            None => return MQTTPACKET_READ_ERROR,
        }
    }
    body.min(c_int::MAX as usize) as c_int
}

#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_unsubscribe(
    buf: *mut u8,
    buflen: c_int,
    _dup: u8,
    packetid: u16,
    count: c_int,
    topicFilters: *mut MQTTString,
) -> c_int {
    // SAFETY: a C array of `count` elements.
    let Some(filters) = (unsafe { c_array(topicFilters, count) }) else {
        return MQTTPACKET_READ_ERROR;
    };
    if packetid == 0 {
        return MQTTPACKET_READ_ERROR;
    }
    let mut body = 2usize;
    for filter in filters {
        // SAFETY: the MQTTString contract.
        match unsafe { filter_bytes(filter) } {
            Some(bytes) => body += 2 + bytes.len(),
            None => return MQTTPACKET_READ_ERROR,
        }
    }
    // SAFETY: forwarded contract.
    let out = unsafe { out_buf(buf, buflen) };
    let total = match room(out, body) {
        Ok(total) => total,
        Err(code) => return code,
    };
    let mut w = Cursor { out, at: 0 };
    let written = (|| {
        w.header(0xa2, body)?;
        w.u16(packetid)?;
        for filter in filters {
            // SAFETY: validated above.
            w.string(unsafe { filter_bytes(filter) }?)?;
        }
        Some(w.at)
    })();
    match written {
        Some(len) if len == total => len as c_int,
        _ => MQTTPACKET_READ_ERROR,
    }
}

#[no_mangle]
pub unsafe extern "C" fn MQTTSerialize_suback(
    buf: *mut u8,
    buflen: c_int,
    packetid: u16,
    count: c_int,
    grantedQoSs: *mut c_int,
) -> c_int {
    // SAFETY: a C array of `count` elements.
    let Some(codes) = (unsafe { c_array(grantedQoSs, count) }) else {
        return MQTTPACKET_READ_ERROR;
    };
    let code_byte = |c: c_int| match c {
        0..=2 => Some(c as u8),
        c if c == SUBACK_FAILURE as c_int => Some(SUBACK_FAILURE),
        _ => None,
    };
    if packetid == 0 || codes.iter().any(|&c| code_byte(c).is_none()) {
        return MQTTPACKET_READ_ERROR;
    }
    let body = 2 + codes.len();
    // SAFETY: forwarded contract.
    let out = unsafe { out_buf(buf, buflen) };
    let total = match room(out, body) {
        Ok(total) => total,
        Err(code) => return code,
    };
    let mut w = Cursor { out, at: 0 };
    let written = (|| {
        w.header(0x90, body)?;
        w.u16(packetid)?;
        for &c in codes {
            w.u8(code_byte(c)?)?;
        }
        Some(w.at)
    })();
    match written {
        Some(len) if len == total => len as c_int,
        _ => MQTTPACKET_READ_ERROR,
    }
}
