//! Unit tests of the Paho layer against embermq's codec. The C programs in
//! tests/c/paho/ test the same functions through the C headers.

extern crate std;

use super::*;
use crate::codec::{decode, Decoded, Packet, MAX_PACKET_SIZE};
use core::ptr::{null_mut, NonNull};

fn cstr(s: &core::ffi::CStr) -> MQTTString {
    MQTTString {
        cstring: s.as_ptr() as *mut c_char,
        ..MQTTString::EMPTY
    }
}

fn lenstr(bytes: &[u8]) -> MQTTString {
    MQTTString::borrowed(bytes)
}

fn connect_data() -> MQTTPacket_connectData {
    MQTTPacket_connectData::INITIALIZER
}

fn codec(bytes: &[u8]) -> Packet<'_> {
    match decode(bytes, MAX_PACKET_SIZE) {
        Ok(Decoded::Packet { packet, len }) => {
            assert_eq!(len, bytes.len());
            packet
        }
        other => panic!("codec rejects {bytes:02x?}: {other:?}"),
    }
}

unsafe fn text(s: &MQTTString) -> &[u8] {
    unsafe { wire_bytes(s) }.unwrap()
}

#[test]
fn connect_matches_codec_and_round_trips() {
    let mut d = connect_data();
    d.clientID = cstr(c"dev-1");
    d.keepAliveInterval = 30;
    d.willFlag = 1;
    d.will.topicName = lenstr(b"status/dev-1");
    d.will.message = lenstr(b"gone");
    d.will.qos = 1;
    d.will.retained = 1;
    d.username = cstr(c"user");
    d.password = lenstr(b"p\0w");
    let mut buf = [0u8; 128];
    let n = unsafe { MQTTSerialize_connect(buf.as_mut_ptr(), buf.len() as c_int, &mut d) };
    assert!(n > 0);
    let bytes = &buf[..n as usize];
    let Packet::Connect(c) = codec(bytes) else {
        panic!()
    };
    assert_eq!(c.client_id, "dev-1");
    assert_eq!(c.keep_alive, 30);
    assert_eq!(c.will.unwrap().topic, "status/dev-1");
    assert_eq!(c.password, Some(&b"p\0w"[..]));
    assert_eq!(
        unsafe { MQTTSerialize_connectLength(&mut d) } as usize,
        bytes.len() - 2
    );

    let mut out = connect_data();
    assert_eq!(
        unsafe { MQTTDeserialize_connect(&mut out, buf.as_mut_ptr(), n) },
        1
    );
    unsafe {
        assert_eq!(text(&out.clientID), b"dev-1");
        assert_eq!(text(&out.will.topicName), b"status/dev-1");
        assert_eq!(text(&out.will.message), b"gone");
        assert_eq!(text(&out.username), b"user");
        assert_eq!(text(&out.password), b"p\0w");
    }
    assert_eq!((out.willFlag, out.will.qos, out.will.retained), (1, 1, 1));
    // One byte short: too short, not a partial packet.
    assert_eq!(
        unsafe { MQTTSerialize_connect(buf.as_mut_ptr(), n - 1, &mut d) },
        MQTTPACKET_BUFFER_TOO_SHORT
    );
    assert_eq!(
        unsafe { MQTTDeserialize_connect(&mut out, buf.as_mut_ptr(), n - 1) },
        0
    );
}

#[test]
fn publish_spec_bytes() {
    // MQTT 3.1.1 section 3.3.2.3 example topic "a/b", packet id 10.
    let mut buf = [0u8; 32];
    let payload = *b"hi";
    let n = unsafe {
        MQTTSerialize_publish(
            buf.as_mut_ptr(),
            32,
            0,
            1,
            1,
            10,
            cstr(c"a/b"),
            payload.as_ptr() as *mut u8,
            2,
        )
    };
    assert_eq!(
        &buf[..n as usize],
        &[0x33, 9, 0, 3, b'a', b'/', b'b', 0, 10, b'h', b'i']
    );
    let (mut dup, mut qos, mut ret, mut id) = (9u8, 9, 9u8, 0u16);
    let mut topic = MQTTString::EMPTY;
    let mut pl: *mut u8 = null_mut();
    let mut plen = 0;
    let rc = unsafe {
        MQTTDeserialize_publish(
            &mut dup,
            &mut qos,
            &mut ret,
            &mut id,
            &mut topic,
            &mut pl,
            &mut plen,
            buf.as_mut_ptr(),
            n,
        )
    };
    assert_eq!((rc, dup, qos, ret, id, plen), (1, 0, 1, 1, 10, 2));
    assert_eq!(unsafe { text(&topic) }, b"a/b");
    assert_eq!(NonNull::new(pl).unwrap().as_ptr(), buf[9..].as_mut_ptr());
    // Wildcards are refused, as MQTT requires.
    assert_eq!(
        unsafe {
            MQTTSerialize_publish(
                buf.as_mut_ptr(),
                32,
                0,
                0,
                0,
                0,
                cstr(c"a/#"),
                null_mut(),
                0,
            )
        },
        MQTTPACKET_READ_ERROR
    );
}

/// Paho embedded-C's `MQTTPacket/test/test1.c` test 6: a CONNACK with
/// return code 77 (and a session) serializes and reads back as written,
/// like Paho's; embermq's codec still refuses it.
#[test]
fn connack_any_code_round_trips_like_paho() {
    for present in [0u8, 1] {
        let mut buf = [0xeeu8; 100];
        let n = unsafe { MQTTSerialize_connack(buf.as_mut_ptr(), buf.len() as c_int, 77, present) };
        assert_eq!(&buf[..n as usize], &[0x20, 2, present, 77]);
        assert_eq!(buf[4], 0xee);
        let (mut sp, mut rc) = (9u8, 0u8);
        let got = unsafe {
            MQTTDeserialize_connack(&mut sp, &mut rc, buf.as_mut_ptr(), buf.len() as c_int)
        };
        assert_eq!((got, sp, rc), (1, present, 77));
        assert!(decode(&buf[..4], MAX_PACKET_SIZE).is_err());
    }
    for code in 0..=255u8 {
        for present in [0u8, 1] {
            let mut buf = [0u8; 4];
            assert_eq!(
                unsafe { MQTTSerialize_connack(buf.as_mut_ptr(), 4, code, present) },
                4
            );
            assert_eq!(deserialize::connack_fields(&buf), Some((present, code)));
        }
    }
    // Still a CONNACK of exactly 4 bytes with its reserved bits clear.
    let mut buf = [0u8; 4];
    assert_eq!(
        unsafe { MQTTSerialize_connack(buf.as_mut_ptr(), 3, 77, 1) },
        MQTTPACKET_BUFFER_TOO_SHORT
    );
    for bad in [
        &[0x20, 2, 0x02, 0][..],
        &[0x21, 2, 0, 0],
        &[0x20, 3, 0, 0, 0],
        &[0x20, 2, 0],
        &[0x40, 2, 0, 1],
    ] {
        assert_eq!(deserialize::connack_fields(bad), None, "{bad:02x?}");
    }
}

#[test]
fn suback_stays_inside_its_array() {
    let mut buf = [0x90, 5, 0, 7, 0, 0x80, 2];
    let mut codes = [-1, -1, 12345];
    let (mut id, mut count) = (0u16, 0);
    let rc = unsafe {
        MQTTDeserialize_suback(
            &mut id,
            2,
            &mut count,
            codes.as_mut_ptr(),
            buf.as_mut_ptr(),
            7,
        )
    };
    assert_eq!(rc, MQTTPACKET_READ_ERROR);
    assert_eq!(codes, [-1, -1, 12345]);
    let rc = unsafe {
        MQTTDeserialize_suback(
            &mut id,
            3,
            &mut count,
            codes.as_mut_ptr(),
            buf.as_mut_ptr(),
            7,
        )
    };
    assert_eq!((rc, id, count), (1, 7, 3));
    assert_eq!(codes, [0, 0x80, 2]);
}

#[test]
fn truncated_acks_fail() {
    let mut connack = [0x20, 2, 0, 0];
    let (mut sp, mut rc) = (9u8, 9u8);
    for len in 0..4 {
        assert_eq!(
            unsafe { MQTTDeserialize_connack(&mut sp, &mut rc, connack.as_mut_ptr(), len) },
            0
        );
    }
    assert_eq!((sp, rc), (9, 9));
    let mut bodyless = [0x20, 0];
    assert_eq!(
        unsafe { MQTTDeserialize_connack(&mut sp, &mut rc, bodyless.as_mut_ptr(), 2) },
        0
    );
    let mut puback = [0x40, 2, 0, 5];
    assert_eq!(
        unsafe { MQTTDeserialize_unsuback(&mut 0, puback.as_mut_ptr(), 4) },
        0
    );
}

#[test]
fn length_helpers() {
    let mut buf = [0u8; 4];
    for (value, bytes) in [
        (0, &[0u8][..]),
        (127, &[0x7f]),
        (128, &[0x80, 1]),
        (16_383, &[0xff, 0x7f]),
        (16_384, &[0x80, 0x80, 1]),
        (268_435_455, &[0xff, 0xff, 0xff, 0x7f]),
    ] {
        let n = unsafe { MQTTPacket_encode(buf.as_mut_ptr(), value) };
        assert_eq!(&buf[..n as usize], bytes);
        let mut out = -1;
        assert_eq!(
            unsafe { MQTTPacket_decodeBuf(buf.as_mut_ptr(), &mut out) },
            n
        );
        assert_eq!(out, value);
        assert_eq!(MQTTPacket_len(value), 1 + n + value);
    }
    let mut bad = [0xff, 0xff, 0xff, 0xff, 0x01];
    let mut out = 0;
    assert_eq!(
        unsafe { MQTTPacket_decodeBuf(bad.as_mut_ptr(), &mut out) },
        MQTTPACKET_READ_ERROR
    );
}

#[test]
fn dispatch_matching() {
    let yes = [
        ("a/#", "a"),
        ("a/#", "a/"),
        ("a/#", "a/b/c"),
        ("+/b", "/b"),
        ("a/+", "a/"),
        ("#", "$SYS/x"),
        ("+/x", "$SYS/x"),
        ("+/#", "$SYS"),
        ("+", "$SYS"),
        ("a/b", "a/b"),
    ];
    for (f, n) in yes {
        assert!(
            client::dispatch_matches(f.as_bytes(), n.as_bytes()),
            "{f} {n}"
        );
    }
    let no = [
        ("a/+", "a"),
        ("a/b", "a/c"),
        ("+", "$SYS/x"),
        ("+/x", "$SYS/y"),
        ("a/#", "b"),
    ];
    for (f, n) in no {
        assert!(
            !client::dispatch_matches(f.as_bytes(), n.as_bytes()),
            "{f} {n}"
        );
    }
}
