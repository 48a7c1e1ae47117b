//! `MQTTDeserialize_*`: one packet from the caller's buffer, decoded by
//! embermq's codec.
//!
//! Parsing is bounded by both the length argument and the packet's own
//! remaining length, and every rule of MQTT 3.1.1 the codec checks applies
//! (flag bits, QoS range, packet id 0, UTF-8 topics, SUBACK codes). Outputs
//! are written only on success, all of them; a truncated or malformed
//! packet is a failure (never "1 with nothing filled in"). Strings and
//! payloads point into `buf`. Return codes and QoS bytes are decoded unsigned.

use super::*;
use crate::codec::{decode, Decoded, Packet, PacketType, QoS, MAX_PACKET_SIZE};

/// The whole packet at the start of `buf[..len]`, decoded by the codec.
unsafe fn packet<'a>(buf: *const u8, len: c_int) -> Option<Packet<'a>> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { in_buf(buf, len) }?;
    match decode(bytes, MAX_PACKET_SIZE) {
        Ok(Decoded::Packet { packet, .. }) => Some(packet),
        _ => None,
    }
}

fn qos_int(qos: QoS) -> c_int {
    qos as u8 as c_int
}

#[no_mangle]
pub unsafe extern "C" fn MQTTDeserialize_connect(
    data: *mut MQTTPacket_connectData,
    buf: *mut u8,
    len: c_int,
) -> c_int {
    // SAFETY: NULL or a valid MQTTPacket_connectData.
    let Some(data) = (unsafe { data.as_mut() }) else {
        return 0;
    };
    // SAFETY: forwarded contract.
    let Some(Packet::Connect(c)) = (unsafe { packet(buf, len) }) else {
        return 0;
    };
    data.cleansession = c.clean_session as u8;
    data.keepAliveInterval = c.keep_alive;
    data.clientID = MQTTString::borrowed(c.client_id.as_bytes());
    data.willFlag = c.will.is_some() as u8;
    if let Some(will) = c.will {
        data.will.qos = will.qos as u8 as c_char;
        data.will.retained = will.retain as u8;
        data.will.topicName = MQTTString::borrowed(will.topic.as_bytes());
        data.will.message = MQTTString::borrowed(will.payload);
    }
    if let Some(username) = c.username {
        data.username = MQTTString::borrowed(username.as_bytes());
    }
    if let Some(password) = c.password {
        data.password = MQTTString::borrowed(password);
    }
    1
}

/// The session-present flag and the return code of the CONNACK at the start
/// of `bytes`. Like Paho, the code is passed on whatever it is, also with a
/// session (what [`MQTTSerialize_connack`] writes reads back); the caller
/// judges it (`MQTTConnectWithResults` takes only 0-5, and a session only
/// with 0). The packet must still be one: type and flags 0x20, remaining
/// length 2, reserved flag bits 0.
pub(super) fn connack_fields(bytes: &[u8]) -> Option<(u8, u8)> {
    match *bytes {
        [0x20, 2, flags, code, ..] if flags & 0xfe == 0 => Some((flags & 1, code)),
        _ => None,
    }
}

#[no_mangle]
pub unsafe extern "C" fn MQTTDeserialize_connack(
    sessionPresent: *mut u8,
    connack_rc: *mut u8,
    buf: *mut u8,
    buflen: c_int,
) -> c_int {
    if !all_set(&[sessionPresent as _, connack_rc as _]) {
        return 0;
    }
    // SAFETY: forwarded contract.
    let Some((present, code)) = (unsafe { in_buf(buf, buflen) }).and_then(connack_fields) else {
        return 0;
    };
    // SAFETY: checked non-NULL above.
    unsafe {
        put(sessionPresent, present);
        put(connack_rc, code);
    }
    1
}

#[no_mangle]
pub unsafe extern "C" fn MQTTDeserialize_publish(
    dup: *mut u8,
    qos: *mut c_int,
    retained: *mut u8,
    packetid: *mut u16,
    topicName: *mut MQTTString,
    payload: *mut *mut u8,
    payloadlen: *mut c_int,
    buf: *mut u8,
    len: c_int,
) -> c_int {
    if !all_set(&[
        dup as _,
        qos as _,
        retained as _,
        packetid as _,
        topicName as _,
        payload as _,
        payloadlen as _,
    ]) {
        return 0;
    }
    // SAFETY: forwarded contract.
    let Some(Packet::Publish(p)) = (unsafe { packet(buf, len) }) else {
        return 0;
    };
    let Ok(plen) = c_int::try_from(p.payload.len()) else {
        return 0;
    };
    // SAFETY: checked non-NULL above.
    unsafe {
        put(dup, p.dup as u8);
        put(qos, qos_int(p.qos));
        put(retained, p.retain as u8);
        if p.qos != QoS::AtMostOnce {
            put(packetid, p.packet_id);
        }
        put(topicName, MQTTString::borrowed(p.topic.as_bytes()));
        put(payload, p.payload.as_ptr() as *mut u8);
        put(payloadlen, plen);
    }
    1
}

/// Any packet whose body starts with a packet id: the five acks read
/// through the codec, other types by their fixed header and first two body
/// bytes (as Paho accepts them).
#[no_mangle]
pub unsafe extern "C" fn MQTTDeserialize_ack(
    packettype: *mut u8,
    dup: *mut u8,
    packetid: *mut u16,
    buf: *mut u8,
    buflen: c_int,
) -> c_int {
    if !all_set(&[packettype as _, dup as _, packetid as _]) {
        return 0;
    }
    // SAFETY: forwarded contract.
    let Some(bytes) = (unsafe { in_buf(buf, buflen) }) else {
        return 0;
    };
    let Ok(Some(frame)) = crate::codec::frame(bytes, MAX_PACKET_SIZE) else {
        return 0;
    };
    if frame.total_len() > bytes.len() || frame.body_len < 2 {
        return 0;
    }
    let id = match PacketType::from_u8(frame.first_byte >> 4) {
        Ok(
            PacketType::PubAck
            | PacketType::PubRec
            | PacketType::PubRel
            | PacketType::PubComp
            | PacketType::UnsubAck,
        ) => match decode(bytes, MAX_PACKET_SIZE) {
            Ok(Decoded::Packet {
                packet:
                    Packet::PubAck(id)
                    | Packet::PubRec(id)
                    | Packet::PubRel(id)
                    | Packet::PubComp(id)
                    | Packet::UnsubAck(id),
                ..
            }) => id,
            _ => return 0,
        },
        Ok(_) => match bytes.get(frame.header_len..frame.header_len + 2) {
            Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
            _ => return 0,
        },
        Err(_) => return 0,
    };
    // SAFETY: checked non-NULL above.
    unsafe {
        put(packettype, frame.first_byte >> 4);
        put(dup, (frame.first_byte >> 3) & 1);
        put(packetid, id);
    }
    1
}

/// Server side. 1, or -1 on any failure (also for more than `maxcount` filters).
#[no_mangle]
pub unsafe extern "C" fn MQTTDeserialize_subscribe(
    dup: *mut u8,
    packetid: *mut u16,
    maxcount: c_int,
    count: *mut c_int,
    topicFilters: *mut MQTTString,
    requestedQoSs: *mut c_int,
    buf: *mut u8,
    len: c_int,
) -> c_int {
    if !all_set(&[
        dup as _,
        packetid as _,
        count as _,
        topicFilters as _,
        requestedQoSs as _,
    ]) {
        return MQTTPACKET_READ_ERROR;
    }
    // SAFETY: forwarded contract.
    let Some(Packet::Subscribe(s)) = (unsafe { packet(buf, len) }) else {
        return MQTTPACKET_READ_ERROR;
    };
    let n = s.topics.len();
    if maxcount < 0 || n > maxcount as usize {
        return MQTTPACKET_READ_ERROR;
    }
    for (i, entry) in s.topics.iter().enumerate() {
        // SAFETY: i < n <= maxcount, the arrays' length.
        unsafe {
            put(
                topicFilters.add(i),
                MQTTString::borrowed(entry.filter.as_bytes()),
            );
            put(requestedQoSs.add(i), qos_int(entry.qos));
        }
    }
    // SAFETY: checked non-NULL above.
    unsafe {
        put(dup, 0);
        put(packetid, s.packet_id);
        put(count, n as c_int);
    }
    1
}

/// 1; 0 for the wrong type or a short or malformed packet; -1 when the
/// packet has more than `maxcount` return codes (nothing is then stored).
#[no_mangle]
pub unsafe extern "C" fn MQTTDeserialize_suback(
    packetid: *mut u16,
    maxcount: c_int,
    count: *mut c_int,
    grantedQoSs: *mut c_int,
    buf: *mut u8,
    len: c_int,
) -> c_int {
    if !all_set(&[packetid as _, count as _, grantedQoSs as _]) {
        return 0;
    }
    // SAFETY: forwarded contract.
    let Some(Packet::SubAck(ack)) = (unsafe { packet(buf, len) }) else {
        return 0;
    };
    if maxcount < 0 || ack.return_codes.len() > maxcount as usize {
        return MQTTPACKET_READ_ERROR;
    }
    for (i, &code) in ack.return_codes.iter().enumerate() {
        // SAFETY: i < maxcount, the array's length.
        unsafe { put(grantedQoSs.add(i), code as c_int) };
    }
    // SAFETY: checked non-NULL above.
    unsafe {
        put(packetid, ack.packet_id);
        put(count, ack.return_codes.len() as c_int);
    }
    1
}

/// Server side. 1, or 0 on failure, including more than `max_count` filters.
#[no_mangle]
pub unsafe extern "C" fn MQTTDeserialize_unsubscribe(
    dup: *mut u8,
    packetid: *mut u16,
    max_count: c_int,
    count: *mut c_int,
    topicFilters: *mut MQTTString,
    buf: *mut u8,
    len: c_int,
) -> c_int {
    if !all_set(&[dup as _, packetid as _, count as _, topicFilters as _]) {
        return 0;
    }
    // SAFETY: forwarded contract.
    let Some(Packet::Unsubscribe(u)) = (unsafe { packet(buf, len) }) else {
        return 0;
    };
    let n = u.topics.len();
    if max_count < 0 || n > max_count as usize {
        return 0;
    }
    for (i, filter) in u.topics.iter().enumerate() {
        // SAFETY: i < n <= max_count, the array's length.
        unsafe { put(topicFilters.add(i), MQTTString::borrowed(filter.as_bytes())) };
    }
    // SAFETY: checked non-NULL above.
    unsafe {
        put(dup, 0);
        put(packetid, u.packet_id);
        put(count, n as c_int);
    }
    1
}

/// 1 for an UNSUBACK (and only for an UNSUBACK), else 0.
#[no_mangle]
pub unsafe extern "C" fn MQTTDeserialize_unsuback(
    packetid: *mut u16,
    buf: *mut u8,
    len: c_int,
) -> c_int {
    if packetid.is_null() {
        return 0;
    }
    // SAFETY: forwarded contract.
    let Some(Packet::UnsubAck(id)) = (unsafe { packet(buf, len) }) else {
        return 0;
    };
    // SAFETY: checked non-NULL above.
    unsafe { put(packetid, id) };
    1
}
