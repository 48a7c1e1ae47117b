//! Codec tests: every packet type against hand-written bytes from the MQTT
//! 3.1.1 field layout, incremental framing, one test per malformed-input rule,
//! and property tests (round trip, decode never panics).

use super::*;
use crate::Error;

use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Encodes `packet`, checking that `encoded_len` agrees with what was written.
fn enc(packet: &Packet<'_>) -> Vec<u8> {
    let len = packet.encoded_len().expect("encoded_len");
    assert_eq!(encoded_len(packet), Ok(len));
    let mut out = vec![0u8; len];
    let written = packet.encode(&mut out).expect("encode");
    assert_eq!(
        written, len,
        "encode wrote a different length than encoded_len"
    );
    out
}

/// Decodes a buffer that must hold exactly one whole packet.
fn dec(bytes: &[u8]) -> Packet<'_> {
    match decode(bytes, MAX_PACKET_SIZE) {
        Ok(Decoded::Packet { packet, len }) => {
            assert_eq!(len, bytes.len(), "decode consumed the wrong length");
            packet
        }
        other => panic!("expected a packet from {bytes:02x?}, got {other:?}"),
    }
}

/// The error `decode` gives for `bytes`.
fn dec_err(bytes: &[u8]) -> Error {
    match decode(bytes, MAX_PACKET_SIZE) {
        Err(e) => e,
        Ok(other) => panic!("expected an error from {bytes:02x?}, got {other:?}"),
    }
}

/// The error `decode_from_server` gives for `bytes`.
fn dec_server_err(bytes: &[u8]) -> Error {
    match decode_from_server(bytes, MAX_PACKET_SIZE) {
        Err(e) => e,
        Ok(other) => panic!("expected an error from {bytes:02x?}, got {other:?}"),
    }
}

/// The error encoding `packet` gives (from both `encoded_len` and `encode`).
fn enc_err(packet: &Packet<'_>) -> Error {
    let mut out = [0xa5u8; 256];
    let e = packet.encode(&mut out).expect_err("encode must fail");
    assert_eq!(
        packet.encoded_len(),
        Err(e),
        "encoded_len and encode disagree"
    );
    assert!(
        out.iter().all(|&b| b == 0xa5),
        "an invalid packet wrote bytes"
    );
    e
}

/// Encodes `packet`, compares with `expected`, decodes `expected` back and
/// compares with `packet` (through `decode` and, when allowed for the
/// direction, `decode_from_server`).
fn both_ways(packet: Packet<'_>, expected: &[u8]) {
    assert_eq!(enc(&packet), expected, "encoding of {packet:?}");
    assert_eq!(dec(expected), packet, "decoding of {expected:02x?}");
    let from_server = decode_from_server(expected, MAX_PACKET_SIZE);
    match packet.packet_type() {
        PacketType::Connect
        | PacketType::Subscribe
        | PacketType::Unsubscribe
        | PacketType::PingReq
        | PacketType::Disconnect => {
            assert_eq!(from_server, Err(Error::UnexpectedPacket(expected[0] >> 4)));
        }
        _ => assert_eq!(
            from_server,
            Ok(Decoded::Packet {
                packet,
                len: expected.len()
            })
        ),
    }
}

/// `[len_hi, len_lo, bytes...]`: an MQTT UTF-8 string or binary field.
fn field(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// A fixed header with the remaining length written by hand (spec 2.2.3).
fn header(first_byte: u8, mut body_len: usize) -> Vec<u8> {
    let mut out = vec![first_byte];
    loop {
        let mut byte = (body_len % 128) as u8;
        body_len /= 128;
        if body_len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if body_len == 0 {
            return out;
        }
    }
}

fn publish<'a>(qos: QoS, topic: &'a str, packet_id: u16, payload: &'a [u8]) -> Publish<'a> {
    Publish {
        dup: false,
        qos,
        retain: false,
        topic,
        packet_id,
        payload,
    }
}

fn minimal_connect() -> Connect<'static> {
    Connect {
        protocol: ProtocolLevel::V3_1_1,
        clean_session: true,
        keep_alive: 60,
        client_id: "abc",
        will: None,
        username: None,
        password: None,
    }
}

const SUB_ENTRIES: [SubscribeTopic<'static>; 3] = [
    SubscribeTopic {
        filter: "a/+",
        qos: QoS::AtMostOnce,
    },
    SubscribeTopic {
        filter: "b/#",
        qos: QoS::AtLeastOnce,
    },
    SubscribeTopic {
        filter: "c",
        qos: QoS::ExactlyOnce,
    },
];

const UNSUB_FILTERS: [&str; 2] = ["a/+", "c"];

/// One valid packet of every type, for tests that loop over all of them.
fn sample_packets() -> Vec<Packet<'static>> {
    vec![
        Packet::Connect(minimal_connect()),
        Packet::Connect(Connect {
            protocol: ProtocolLevel::V3_1_1,
            clean_session: false,
            keep_alive: 10,
            client_id: "c1",
            will: Some(LastWill {
                topic: "w/t",
                payload: b"bye",
                qos: QoS::AtLeastOnce,
                retain: true,
            }),
            username: Some("u"),
            password: Some(b"pw"),
        }),
        Packet::ConnAck(ConnAck {
            session_present: true,
            code: ConnectReturnCode::Accepted,
        }),
        Packet::Publish(publish(QoS::AtMostOnce, "a/b", 0, b"hi")),
        Packet::Publish(publish(QoS::AtLeastOnce, "a/b", 0x1234, b"hello")),
        Packet::Publish(Publish {
            dup: true,
            qos: QoS::ExactlyOnce,
            retain: true,
            topic: "x",
            packet_id: 0xffff,
            payload: &[0, 1, 2],
        }),
        Packet::Publish(publish(QoS::AtMostOnce, "a/b", 0, b"")),
        Packet::PubAck(7),
        Packet::PubRec(8),
        Packet::PubRel(9),
        Packet::PubComp(10),
        Packet::Subscribe(Subscribe {
            packet_id: 10,
            topics: SubscribeTopics::List(&SUB_ENTRIES),
        }),
        Packet::SubAck(SubAck {
            packet_id: 10,
            return_codes: &[0, 1, 2, 0x80],
        }),
        Packet::Unsubscribe(Unsubscribe {
            packet_id: 11,
            topics: UnsubscribeTopics::List(&UNSUB_FILTERS),
        }),
        Packet::UnsubAck(11),
        Packet::PingReq,
        Packet::PingResp,
        Packet::Disconnect,
    ]
}

// ---------------------------------------------------------------------------
// Every packet type both ways
// ---------------------------------------------------------------------------

#[test]
fn connect_3_1_1_minimal() {
    let mut bytes = vec![0x10, 15];
    bytes.extend(field(b"MQTT")); // protocol name
    bytes.push(4); // protocol level
    bytes.push(0x02); // connect flags: clean session
    bytes.extend([0x00, 0x3c]); // keepalive 60
    bytes.extend(field(b"abc")); // client id
    assert_eq!(
        bytes,
        [0x10, 0x0f, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 3, b'a', b'b', b'c']
    );
    both_ways(Packet::Connect(minimal_connect()), &bytes);
}

#[test]
fn connect_with_will_username_password() {
    let packet = Packet::Connect(Connect {
        protocol: ProtocolLevel::V3_1_1,
        clean_session: false,
        keep_alive: 10,
        client_id: "c1",
        will: Some(LastWill {
            topic: "w/t",
            payload: b"bye",
            qos: QoS::AtLeastOnce,
            retain: true,
        }),
        username: Some("u"),
        password: Some(b"pw"),
    });
    let mut body = field(b"MQTT");
    body.push(4);
    // username | password | will retain | will QoS 1 | will flag; no clean session
    body.push(0x80 | 0x40 | 0x20 | (1 << 3) | 0x04);
    body.extend([0, 10]);
    body.extend(field(b"c1"));
    body.extend(field(b"w/t"));
    body.extend(field(b"bye"));
    body.extend(field(b"u"));
    body.extend(field(b"pw"));
    assert_eq!(body.len(), 31);
    let mut bytes = vec![0x10, 31];
    bytes.extend(&body);
    assert_eq!(bytes[9], 0xec);
    both_ways(packet, &bytes);
}

#[test]
fn connect_will_qos2_no_retain_username_only_keepalive_0() {
    let packet = Packet::Connect(Connect {
        protocol: ProtocolLevel::V3_1_1,
        clean_session: true,
        keep_alive: 0,
        client_id: "",
        will: Some(LastWill {
            topic: "t",
            payload: b"",
            qos: QoS::ExactlyOnce,
            retain: false,
        }),
        username: Some("user"),
        password: None,
    });
    let mut body = field(b"MQTT");
    body.extend([4, 0x80 | (2 << 3) | 0x04 | 0x02, 0, 0]);
    body.extend(field(b""));
    body.extend(field(b"t"));
    body.extend(field(b""));
    body.extend(field(b"user"));
    let mut bytes = header(0x10, body.len());
    bytes.extend(body);
    both_ways(packet, &bytes);
}

#[test]
fn connect_mqtt_3_1() {
    let packet = Packet::Connect(Connect {
        protocol: ProtocolLevel::V3_1,
        ..minimal_connect()
    });
    let mut bytes = vec![0x10, 17];
    bytes.extend(field(b"MQIsdp"));
    bytes.extend([3, 0x02, 0, 60]);
    bytes.extend(field(b"abc"));
    assert_eq!(bytes.len(), 19);
    both_ways(packet, &bytes);
}

#[test]
fn connack_session_present_accepted() {
    both_ways(
        Packet::ConnAck(ConnAck {
            session_present: true,
            code: ConnectReturnCode::Accepted,
        }),
        &[0x20, 0x02, 0x01, 0x00],
    );
}

#[test]
fn connack_every_code() {
    let codes = [
        ConnectReturnCode::Accepted,
        ConnectReturnCode::UnacceptableProtocolVersion,
        ConnectReturnCode::IdentifierRejected,
        ConnectReturnCode::ServerUnavailable,
        ConnectReturnCode::BadUsernameOrPassword,
        ConnectReturnCode::NotAuthorized,
    ];
    for (wire, code) in codes.into_iter().enumerate() {
        both_ways(
            Packet::ConnAck(ConnAck {
                session_present: false,
                code,
            }),
            &[0x20, 0x02, 0x00, wire as u8],
        );
    }
    // Code 5 explicitly.
    both_ways(
        Packet::ConnAck(ConnAck {
            session_present: false,
            code: ConnectReturnCode::NotAuthorized,
        }),
        &[0x20, 0x02, 0x00, 0x05],
    );
}

#[test]
fn publish_qos0_has_no_packet_id() {
    let mut bytes = vec![0x30, 7];
    bytes.extend(field(b"a/b"));
    bytes.extend(b"hi");
    both_ways(
        Packet::Publish(publish(QoS::AtMostOnce, "a/b", 0, b"hi")),
        &bytes,
    );
}

#[test]
fn publish_qos0_retain() {
    let packet = Packet::Publish(Publish {
        retain: true,
        ..publish(QoS::AtMostOnce, "a", 0, b"x")
    });
    both_ways(packet, &[0x31, 4, 0, 1, b'a', b'x']);
}

#[test]
fn publish_qos1() {
    let mut bytes = vec![0x32, 12];
    bytes.extend(field(b"a/b"));
    bytes.extend([0x12, 0x34]);
    bytes.extend(b"hello");
    both_ways(
        Packet::Publish(publish(QoS::AtLeastOnce, "a/b", 0x1234, b"hello")),
        &bytes,
    );
}

#[test]
fn publish_qos2_dup_retain() {
    let packet = Packet::Publish(Publish {
        dup: true,
        qos: QoS::ExactlyOnce,
        retain: true,
        topic: "x",
        packet_id: 0xffff,
        payload: &[0, 1, 2],
    });
    // 0x30 | DUP 0x08 | QoS 2 << 1 | RETAIN 0x01
    both_ways(packet, &[0x3d, 8, 0, 1, b'x', 0xff, 0xff, 0, 1, 2]);
}

#[test]
fn publish_qos1_dup() {
    let packet = Packet::Publish(Publish {
        dup: true,
        ..publish(QoS::AtLeastOnce, "t", 1, b"")
    });
    both_ways(packet, &[0x3a, 5, 0, 1, b't', 0, 1]);
}

#[test]
fn publish_empty_payload() {
    both_ways(
        Packet::Publish(publish(QoS::AtMostOnce, "a/b", 0, b"")),
        &[0x30, 5, 0, 3, b'a', b'/', b'b'],
    );
    both_ways(
        Packet::Publish(publish(QoS::AtLeastOnce, "a/b", 1, b"")),
        &[0x32, 7, 0, 3, b'a', b'/', b'b', 0, 1],
    );
    both_ways(
        Packet::Publish(publish(QoS::ExactlyOnce, "a/b", 2, b"")),
        &[0x34, 7, 0, 3, b'a', b'/', b'b', 0, 2],
    );
}

#[test]
fn publish_utf8_topic_and_dollar_topic() {
    let topic = "caf\u{e9}/\u{1f600}";
    let mut bytes = header(0x30, 2 + topic.len() + 1);
    bytes.extend(field(topic.as_bytes()));
    bytes.push(9);
    both_ways(
        Packet::Publish(publish(QoS::AtMostOnce, topic, 0, &[9])),
        &bytes,
    );
    // body: 2 + 11 = 13, no payload
    let mut bytes = vec![0x30, 13];
    bytes.extend(field(b"$SYS/uptime"));
    both_ways(
        Packet::Publish(publish(QoS::AtMostOnce, "$SYS/uptime", 0, b"")),
        &bytes,
    );
}

#[test]
fn publish_qos0_dup_is_dropped_when_encoding() {
    // DUP must be 0 for QoS 0 [MQTT-3.3.1-2]; the encoder clears it.
    let packet = Packet::Publish(Publish {
        dup: true,
        ..publish(QoS::AtMostOnce, "a", 0, b"")
    });
    assert_eq!(enc(&packet), [0x30, 3, 0, 1, b'a']);
}

#[test]
fn publish_qos0_packet_id_is_not_written() {
    let packet = Packet::Publish(publish(QoS::AtMostOnce, "a", 77, b"p"));
    assert_eq!(enc(&packet), [0x30, 4, 0, 1, b'a', b'p']);
    assert_eq!(
        dec(&[0x30, 4, 0, 1, b'a', b'p']),
        Packet::Publish(publish(QoS::AtMostOnce, "a", 0, b"p"))
    );
}

#[test]
fn publish_encode_header_then_payload() {
    let payload = [0x5au8; 200];
    let p = publish(QoS::AtLeastOnce, "big/one", 3, &payload);
    let whole = enc(&Packet::Publish(p));
    let mut head = [0u8; 32];
    let n = p.encode_header(&mut head).unwrap();
    assert_eq!(n, whole.len() - payload.len());
    assert_eq!(&head[..n], &whole[..n]);
    assert_eq!(&whole[n..], &payload[..]);
    // Exactly the header size fits; one less does not.
    let mut exact = vec![0u8; n];
    assert_eq!(p.encode_header(&mut exact), Ok(n));
    let mut short = vec![0u8; n - 1];
    assert_eq!(p.encode_header(&mut short), Err(Error::BufferTooSmall));
}

#[test]
fn puback_pubrec_pubrel_pubcomp() {
    both_ways(Packet::PubAck(7), &[0x40, 0x02, 0x00, 0x07]);
    both_ways(Packet::PubRec(0x0102), &[0x50, 0x02, 0x01, 0x02]);
    both_ways(Packet::PubRel(0xfffe), &[0x62, 0x02, 0xff, 0xfe]);
    both_ways(Packet::PubComp(1), &[0x70, 0x02, 0x00, 0x01]);
}

#[test]
fn subscribe_three_filters() {
    let packet = Packet::Subscribe(Subscribe {
        packet_id: 10,
        topics: SubscribeTopics::List(&SUB_ENTRIES),
    });
    let mut body = vec![0, 10];
    body.extend(field(b"a/+"));
    body.push(0);
    body.extend(field(b"b/#"));
    body.push(1);
    body.extend(field(b"c"));
    body.push(2);
    let mut bytes = vec![0x82, 18];
    assert_eq!(body.len(), 18);
    bytes.extend(body);
    both_ways(packet, &bytes);

    // The decoded list reads back entry by entry.
    let Packet::Subscribe(s) = dec(&bytes) else {
        panic!("not a SUBSCRIBE");
    };
    assert!(matches!(s.topics, SubscribeTopics::Wire(_)));
    assert_eq!(s.topics.len(), 3);
    assert!(!s.topics.is_empty());
    assert_eq!(s.topics.iter().collect::<Vec<_>>(), SUB_ENTRIES);
}

#[test]
fn suback_codes() {
    both_ways(
        Packet::SubAck(SubAck {
            packet_id: 10,
            return_codes: &[0, 1, 2, 0x80],
        }),
        &[0x90, 0x06, 0x00, 0x0a, 0x00, 0x01, 0x02, 0x80],
    );
}

#[test]
fn unsubscribe_two_filters() {
    let packet = Packet::Unsubscribe(Unsubscribe {
        packet_id: 11,
        topics: UnsubscribeTopics::List(&UNSUB_FILTERS),
    });
    let mut bytes = vec![0xa2, 10, 0, 11];
    bytes.extend(field(b"a/+"));
    bytes.extend(field(b"c"));
    both_ways(packet, &bytes);

    let Packet::Unsubscribe(u) = dec(&bytes) else {
        panic!("not an UNSUBSCRIBE");
    };
    assert!(matches!(u.topics, UnsubscribeTopics::Wire(_)));
    assert_eq!(u.topics.len(), 2);
    assert_eq!(u.topics.iter().collect::<Vec<_>>(), UNSUB_FILTERS);
}

#[test]
fn unsuback() {
    both_ways(Packet::UnsubAck(11), &[0xb0, 0x02, 0x00, 0x0b]);
}

#[test]
fn pingreq_pingresp_disconnect() {
    both_ways(Packet::PingReq, &[0xc0, 0x00]);
    both_ways(Packet::PingResp, &[0xd0, 0x00]);
    both_ways(Packet::Disconnect, &[0xe0, 0x00]);
}

#[test]
fn packet_type_of_every_sample() {
    let types: Vec<u8> = sample_packets()
        .iter()
        .map(|p| p.packet_type() as u8)
        .collect();
    for t in 1..=14u8 {
        assert!(types.contains(&t), "no sample of packet type {t}");
        assert_eq!(PacketType::from_u8(t).map(|p| p as u8), Ok(t));
    }
    for p in sample_packets() {
        assert_eq!(enc(&p)[0] >> 4, p.packet_type() as u8);
    }
}

// ---------------------------------------------------------------------------
// Remaining length
// ---------------------------------------------------------------------------

#[test]
fn remaining_length_len_boundaries() {
    assert_eq!(remaining_length_len(0), 1);
    assert_eq!(remaining_length_len(127), 1);
    assert_eq!(remaining_length_len(128), 2);
    assert_eq!(remaining_length_len(16_383), 2);
    assert_eq!(remaining_length_len(16_384), 3);
    assert_eq!(remaining_length_len(2_097_151), 3);
    assert_eq!(remaining_length_len(2_097_152), 4);
    assert_eq!(remaining_length_len(MAX_REMAINING_LENGTH), 4);
}

#[test]
fn remaining_length_boundaries_with_real_publish() {
    // (body length, the remaining-length bytes spec table 2.4 gives for it)
    let cases: [(usize, &[u8]); 6] = [
        (127, &[0x7f]),
        (128, &[0x80, 0x01]),
        (16_383, &[0xff, 0x7f]),
        (16_384, &[0x80, 0x80, 0x01]),
        (2_097_151, &[0xff, 0xff, 0x7f]),
        (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
    ];
    for (body_len, length_bytes) in cases {
        // Topic "t" takes 3 body bytes; the payload the rest.
        let payload = vec![0x42u8; body_len - 3];
        let packet = Packet::Publish(publish(QoS::AtMostOnce, "t", 0, &payload));
        let bytes = enc(&packet);
        assert_eq!(bytes.len(), 1 + length_bytes.len() + body_len);
        assert_eq!(bytes[0], 0x30);
        assert_eq!(&bytes[1..1 + length_bytes.len()], length_bytes);
        assert_eq!(header(0x30, body_len), bytes[..1 + length_bytes.len()]);
        assert_eq!(&bytes[1 + length_bytes.len()..][..3], &[0, 1, b't']);
        assert_eq!(dec(&bytes), packet);
        assert_eq!(
            frame(&bytes, MAX_PACKET_SIZE),
            Ok(Some(Frame {
                first_byte: 0x30,
                header_len: 1 + length_bytes.len(),
                body_len,
            }))
        );
    }
}

#[test]
fn frame_of_the_largest_remaining_length() {
    let bytes = [0x30, 0xff, 0xff, 0xff, 0x7f];
    let f = frame(&bytes, MAX_PACKET_SIZE).unwrap().unwrap();
    assert_eq!(f.body_len, MAX_REMAINING_LENGTH);
    assert_eq!(f.header_len, 5);
    assert_eq!(f.total_len(), MAX_PACKET_SIZE);
    assert_eq!(
        decode(&bytes, MAX_PACKET_SIZE),
        Ok(Decoded::Incomplete {
            needed: MAX_REMAINING_LENGTH
        })
    );
}

#[test]
fn frame_incomplete_header() {
    assert_eq!(frame(&[], 100), Ok(None));
    assert_eq!(frame(&[0x30], 100), Ok(None));
    assert_eq!(frame(&[0x30, 0x80], 100_000), Ok(None));
    assert_eq!(frame(&[0x30, 0x80, 0x80, 0x80], MAX_PACKET_SIZE), Ok(None));
}

// ---------------------------------------------------------------------------
// Incremental framing
// ---------------------------------------------------------------------------

#[test]
fn every_prefix_is_incomplete() {
    let payload: Vec<u8> = (0..280u16).map(|i| i as u8).collect();
    let packet = Packet::Publish(publish(QoS::AtLeastOnce, "sensors/temp", 42, &payload));
    let bytes = enc(&packet);
    let len = bytes.len();
    assert!(len > 290 && len < 310, "{len}");
    let header_len = 1 + remaining_length_len(len - 3);
    assert_eq!(header_len, 3);
    for prefix in 0..len {
        for decoder in [decode, decode_from_server] {
            match decoder(&bytes[..prefix], MAX_PACKET_SIZE) {
                Ok(Decoded::Incomplete { needed }) => {
                    assert!(needed >= 1, "prefix {prefix}: needed 0");
                    assert!(needed <= len - prefix, "prefix {prefix}: needed {needed}");
                    if prefix >= header_len {
                        assert_eq!(needed, len - prefix, "prefix {prefix}");
                    }
                }
                other => panic!("prefix {prefix}: {other:?}"),
            }
        }
    }
    assert_eq!(
        decode(&bytes, MAX_PACKET_SIZE),
        Ok(Decoded::Packet { packet, len })
    );
}

#[test]
fn every_prefix_of_every_sample_is_incomplete() {
    for packet in sample_packets() {
        let bytes = enc(&packet);
        for prefix in 0..bytes.len() {
            match decode(&bytes[..prefix], MAX_PACKET_SIZE) {
                Ok(Decoded::Incomplete { needed }) => {
                    assert!(needed >= 1 && needed <= bytes.len() - prefix)
                }
                other => panic!("{packet:?} prefix {prefix}: {other:?}"),
            }
        }
    }
}

#[test]
fn trailing_bytes_are_not_consumed() {
    let payload = [7u8; 300];
    let packet = Packet::Publish(publish(QoS::ExactlyOnce, "a/b/c", 9, &payload));
    let first = enc(&packet);
    let mut stream = first.clone();
    stream.extend([0xd0, 0x00]); // a PINGRESP behind it
    stream.extend([0x40, 0x02]); // and half a PUBACK
    assert_eq!(
        decode(&stream, MAX_PACKET_SIZE),
        Ok(Decoded::Packet {
            packet,
            len: first.len()
        })
    );
    let rest = &stream[first.len()..];
    assert_eq!(
        decode_from_server(rest, MAX_PACKET_SIZE),
        Ok(Decoded::Packet {
            packet: Packet::PingResp,
            len: 2
        })
    );
    assert_eq!(
        decode(&rest[2..], MAX_PACKET_SIZE),
        Ok(Decoded::Incomplete { needed: 2 })
    );
}

#[test]
fn back_to_back_samples_decode_in_order() {
    let samples = sample_packets();
    let mut stream = Vec::new();
    for p in &samples {
        stream.extend(enc(p));
    }
    let mut at = 0;
    for expected in &samples {
        match decode(&stream[at..], MAX_PACKET_SIZE) {
            Ok(Decoded::Packet { packet, len }) => {
                assert_eq!(&packet, expected);
                at += len;
            }
            other => panic!("at {at}: {other:?}"),
        }
    }
    assert_eq!(at, stream.len());
    assert_eq!(
        decode(&stream[at..], MAX_PACKET_SIZE),
        Ok(Decoded::Incomplete { needed: 1 })
    );
}

// ---------------------------------------------------------------------------
// Encoding into caller buffers
// ---------------------------------------------------------------------------

#[test]
fn buffer_too_small_is_one_byte_short_of_encoded_len() {
    let big = [1u8; 1000];
    let mut packets = sample_packets();
    packets.push(Packet::Publish(publish(QoS::AtLeastOnce, "big", 5, &big)));
    for packet in packets {
        let len = packet.encoded_len().unwrap();
        let mut short = vec![0u8; len - 1];
        assert_eq!(
            packet.encode(&mut short),
            Err(Error::BufferTooSmall),
            "{packet:?}"
        );
        let mut exact = vec![0u8; len];
        assert_eq!(packet.encode(&mut exact), Ok(len), "{packet:?}");
        let mut roomy = vec![0u8; len + 10];
        assert_eq!(packet.encode(&mut roomy), Ok(len), "{packet:?}");
        assert_eq!(&roomy[..len], &exact[..]);
        assert!(roomy[len..].iter().all(|&b| b == 0));
    }
}

#[test]
fn buffer_too_small_for_the_header_is_refused() {
    let payload = [1u8; 100];
    let packet = Packet::Publish(publish(QoS::AtLeastOnce, "a/b", 1, &payload));
    assert_eq!(packet.encoded_len(), Ok(109));
    for size in [0usize, 1, 4, 8, 108] {
        let mut out = vec![0u8; size];
        assert_eq!(
            packet.encode(&mut out),
            Err(Error::BufferTooSmall),
            "buffer of {size} bytes"
        );
    }
}

#[test]
fn buffer_too_small_writes_nothing() {
    for packet in sample_packets() {
        let len = packet.encoded_len().unwrap();
        let mut short = vec![0xa5u8; len - 1];
        assert!(packet.encode(&mut short).is_err());
        assert!(
            short.iter().all(|&b| b == 0xa5),
            "{packet:?} wrote {short:02x?} before failing"
        );
    }
}

// ---------------------------------------------------------------------------
// Malformed input: one test per rule
// ---------------------------------------------------------------------------

#[test]
fn five_length_bytes_is_malformed_remaining_length() {
    assert_eq!(
        dec_err(&[0x30, 0x80, 0x80, 0x80, 0x80, 0x01]),
        Error::MalformedRemainingLength
    );
    assert_eq!(
        dec_err(&[0x30, 0xff, 0xff, 0xff, 0xff]),
        Error::MalformedRemainingLength
    );
    assert_eq!(
        frame(&[0xc0, 0x80, 0x80, 0x80, 0x80], MAX_PACKET_SIZE),
        Err(Error::MalformedRemainingLength)
    );
}

#[test]
fn packet_larger_than_max_is_refused_from_the_header() {
    // Remaining length 8192 (0x80 0x40): only the header has arrived.
    assert_eq!(
        decode(&[0x30, 0x80, 0x40], 4096),
        Err(Error::PacketTooLarge)
    );
    assert_eq!(
        decode_from_server(&[0x30, 0x80, 0x40], 4096),
        Err(Error::PacketTooLarge)
    );
    // Exactly at the limit is fine; one over is not.
    let payload = [0u8; 10];
    let bytes = enc(&Packet::Publish(publish(QoS::AtMostOnce, "t", 0, &payload)));
    assert_eq!(bytes.len(), 15);
    assert!(matches!(
        decode(&bytes, 15),
        Ok(Decoded::Packet { len: 15, .. })
    ));
    assert_eq!(decode(&bytes[..2], 14), Err(Error::PacketTooLarge));
}

#[test]
fn reserved_flags_puback() {
    assert_eq!(dec_err(&[0x41, 0x02, 0x00, 0x01]), Error::InvalidFlags);
    for first in [0x48, 0x44, 0x42, 0x4f] {
        assert_eq!(dec_err(&[first, 0x02, 0x00, 0x01]), Error::InvalidFlags);
    }
}

#[test]
fn reserved_flags_pubrel() {
    assert_eq!(dec_err(&[0x60, 0x02, 0x00, 0x01]), Error::InvalidFlags);
    assert_eq!(dec_err(&[0x63, 0x02, 0x00, 0x01]), Error::InvalidFlags);
}

#[test]
fn reserved_flags_subscribe() {
    let mut bytes = vec![0x80, 6, 0, 1];
    bytes.extend(field(b"a"));
    bytes.push(0);
    assert_eq!(dec_err(&bytes), Error::InvalidFlags);
    bytes[0] = 0x82;
    assert!(matches!(dec(&bytes), Packet::Subscribe(_)));
}

#[test]
fn reserved_flags_unsubscribe_and_others() {
    let mut bytes = vec![0xa0, 5, 0, 1];
    bytes.extend(field(b"a"));
    assert_eq!(dec_err(&bytes), Error::InvalidFlags);
    for bad in [
        [0x11u8, 0x00],
        [0x22, 0x00],
        [0x52, 0x00],
        [0x72, 0x00],
        [0x92, 0x00],
        [0xb2, 0x00],
        [0xc1, 0x00],
        [0xd8, 0x00],
        [0xe2, 0x00],
    ] {
        assert_eq!(dec_err(&bad), Error::InvalidFlags, "{bad:02x?}");
    }
}

#[test]
fn publish_qos3_is_invalid_qos() {
    let mut bytes = vec![0x36, 7];
    bytes.extend(field(b"a/b"));
    bytes.extend([0, 1]);
    assert_eq!(dec_err(&bytes), Error::InvalidQos);
    // Detected from the fixed header before the body arrives.
    assert_eq!(dec_err(&bytes[..2]), Error::InvalidQos);
}

#[test]
fn publish_qos0_with_dup_is_invalid_flags() {
    let mut bytes = vec![0x38, 5];
    bytes.extend(field(b"a/b"));
    assert_eq!(dec_err(&bytes), Error::InvalidFlags);
}

#[test]
fn zero_packet_id_publish_qos1_and_qos2() {
    let mut bytes = vec![0x32, 7];
    bytes.extend(field(b"a/b"));
    bytes.extend([0, 0]);
    assert_eq!(dec_err(&bytes), Error::ZeroPacketId);
    bytes[0] = 0x34;
    assert_eq!(dec_err(&bytes), Error::ZeroPacketId);
}

#[test]
fn zero_packet_id_acks() {
    for first in [0x40u8, 0x50, 0x62, 0x70, 0xb0] {
        assert_eq!(
            dec_err(&[first, 0x02, 0x00, 0x00]),
            Error::ZeroPacketId,
            "{first:#04x}"
        );
    }
}

#[test]
fn zero_packet_id_suback_subscribe_unsubscribe() {
    assert_eq!(
        dec_err(&[0x90, 0x03, 0x00, 0x00, 0x00]),
        Error::ZeroPacketId
    );
    let mut sub = vec![0x82, 6, 0, 0];
    sub.extend(field(b"a"));
    sub.push(0);
    assert_eq!(dec_err(&sub), Error::ZeroPacketId);
    let mut unsub = vec![0xa2, 5, 0, 0];
    unsub.extend(field(b"a"));
    assert_eq!(dec_err(&unsub), Error::ZeroPacketId);
}

#[test]
fn invalid_utf8_in_topic() {
    assert_eq!(
        dec_err(&[0x30, 0x04, 0x00, 0x02, 0xff, 0xfe]),
        Error::InvalidUtf8
    );
    // A truncated multi-byte sequence and an encoded surrogate (ED A0 80).
    assert_eq!(
        dec_err(&[0x30, 0x04, 0x00, 0x02, b'a', 0xc3]),
        Error::InvalidUtf8
    );
    assert_eq!(
        dec_err(&[0x30, 0x05, 0x00, 0x03, 0xed, 0xa0, 0x80]),
        Error::InvalidUtf8
    );
}

#[test]
fn invalid_utf8_in_other_strings() {
    // Client id.
    let mut body = field(b"MQTT");
    body.extend([4, 0x02, 0, 60]);
    body.extend(field(&[0xc0, 0x80]));
    let mut bytes = header(0x10, body.len());
    bytes.extend(body);
    assert_eq!(dec_err(&bytes), Error::InvalidUtf8);
    // Subscription filter.
    let mut sub = vec![0x82, 6, 0, 1];
    sub.extend(field(&[0xff]));
    sub.push(0);
    assert_eq!(dec_err(&sub), Error::InvalidUtf8);
}

#[test]
fn null_character_in_topic() {
    assert_eq!(
        dec_err(&[0x30, 0x05, 0x00, 0x03, b'a', 0x00, b'b']),
        Error::NullCharacter
    );
    let mut sub = vec![0x82, 6, 0, 1];
    sub.extend(field(&[0]));
    sub.push(0);
    assert_eq!(dec_err(&sub), Error::NullCharacter);
}

#[test]
fn wildcards_in_publish_topic() {
    for topic in [&b"a/+"[..], b"a/#", b"+", b"#", b"a+b", b"x#"] {
        let mut bytes = header(0x30, 2 + topic.len());
        bytes.extend(field(topic));
        assert_eq!(dec_err(&bytes), Error::WildcardInTopicName, "{topic:?}");
    }
}

#[test]
fn empty_publish_topic() {
    assert_eq!(dec_err(&[0x30, 0x02, 0x00, 0x00]), Error::EmptyTopic);
    assert_eq!(
        dec_err(&[0x32, 0x04, 0x00, 0x00, 0x00, 0x01]),
        Error::EmptyTopic
    );
}

#[test]
fn connack_code_6() {
    assert_eq!(
        dec_err(&[0x20, 0x02, 0x00, 0x06]),
        Error::InvalidConnackCode(6)
    );
    assert_eq!(
        dec_err(&[0x20, 0x02, 0x00, 0xff]),
        Error::InvalidConnackCode(0xff)
    );
}

#[test]
fn connack_reserved_flags() {
    assert_eq!(
        dec_err(&[0x20, 0x02, 0x02, 0x00]),
        Error::InvalidConnackFlags
    );
    assert_eq!(
        dec_err(&[0x20, 0x02, 0x80, 0x00]),
        Error::InvalidConnackFlags
    );
}

#[test]
fn connack_session_present_with_refusal() {
    // [MQTT-3.2.2-4]: a non-zero code comes with session present 0.
    assert_eq!(
        dec_err(&[0x20, 0x02, 0x01, 0x05]),
        Error::InvalidConnackFlags
    );
    assert_eq!(
        enc_err(&Packet::ConnAck(ConnAck {
            session_present: true,
            code: ConnectReturnCode::NotAuthorized,
        })),
        Error::InvalidConnackFlags
    );
}

#[test]
fn suback_invalid_codes() {
    assert_eq!(
        dec_err(&[0x90, 0x03, 0x00, 0x01, 0x03]),
        Error::InvalidSubackCode(3)
    );
    assert_eq!(
        dec_err(&[0x90, 0x04, 0x00, 0x01, 0x00, 0x81]),
        Error::InvalidSubackCode(0x81)
    );
    assert_eq!(
        enc_err(&Packet::SubAck(SubAck {
            packet_id: 1,
            return_codes: &[0, 0x7f],
        })),
        Error::InvalidSubackCode(0x7f)
    );
}

#[test]
fn suback_without_codes_is_malformed() {
    assert_eq!(dec_err(&[0x90, 0x02, 0x00, 0x01]), Error::MalformedPacket);
    assert_eq!(
        enc_err(&Packet::SubAck(SubAck {
            packet_id: 1,
            return_codes: &[],
        })),
        Error::MalformedPacket
    );
}

#[test]
fn decode_from_server_refuses_client_only_packets() {
    let samples = sample_packets();
    for packet in &samples {
        let bytes = enc(packet);
        let kind = packet.packet_type() as u8;
        let client_only = matches!(kind, 1 | 8 | 10 | 12 | 14);
        let result = decode_from_server(&bytes, MAX_PACKET_SIZE);
        if client_only {
            assert_eq!(result, Err(Error::UnexpectedPacket(kind)), "{packet:?}");
            // Reported as soon as the first byte is in.
            assert_eq!(
                decode_from_server(&bytes[..1], MAX_PACKET_SIZE),
                Err(Error::UnexpectedPacket(kind))
            );
        } else {
            assert!(matches!(result, Ok(Decoded::Packet { .. })), "{packet:?}");
        }
    }
    // Spelled out for the five types.
    assert_eq!(dec_server_err(&[0xc0, 0x00]), Error::UnexpectedPacket(12));
    assert_eq!(dec_server_err(&[0xe0, 0x00]), Error::UnexpectedPacket(14));
    assert_eq!(
        dec_server_err(&enc(&Packet::Connect(minimal_connect()))),
        Error::UnexpectedPacket(1)
    );
    assert_eq!(dec_server_err(&[0x82]), Error::UnexpectedPacket(8));
    assert_eq!(dec_server_err(&[0xa2]), Error::UnexpectedPacket(10));
}

#[test]
fn reserved_packet_types() {
    assert_eq!(dec_err(&[0x00, 0x00]), Error::InvalidPacketType(0));
    assert_eq!(dec_err(&[0xf0, 0x00]), Error::InvalidPacketType(15));
    // From the first byte alone.
    assert_eq!(dec_err(&[0x00]), Error::InvalidPacketType(0));
    assert_eq!(dec_err(&[0xff]), Error::InvalidPacketType(15));
    assert_eq!(dec_server_err(&[0x00]), Error::InvalidPacketType(0));
    assert_eq!(dec_server_err(&[0xf0, 0x00]), Error::InvalidPacketType(15));
    assert_eq!(PacketType::from_u8(0), Err(Error::InvalidPacketType(0)));
    assert_eq!(PacketType::from_u8(15), Err(Error::InvalidPacketType(15)));
}

#[test]
fn puback_with_remaining_length_3_is_malformed() {
    assert_eq!(
        dec_err(&[0x40, 0x03, 0x00, 0x01, 0x00]),
        Error::MalformedPacket
    );
    assert_eq!(dec_err(&[0x40, 0x01, 0x00]), Error::MalformedPacket);
    assert_eq!(dec_err(&[0x40, 0x00]), Error::MalformedPacket);
}

#[test]
fn wrong_body_length_for_fixed_size_packets() {
    assert_eq!(dec_err(&[0xc0, 0x01, 0x00]), Error::MalformedPacket);
    assert_eq!(dec_err(&[0xd0, 0x01, 0x00]), Error::MalformedPacket);
    assert_eq!(dec_err(&[0xe0, 0x01, 0x00]), Error::MalformedPacket);
    assert_eq!(
        dec_err(&[0x20, 0x03, 0x00, 0x00, 0x00]),
        Error::MalformedPacket
    );
    assert_eq!(dec_err(&[0x20, 0x01, 0x00]), Error::MalformedPacket);
    assert_eq!(
        dec_err(&[0xb0, 0x03, 0x00, 0x01, 0x00]),
        Error::MalformedPacket
    );
    // CONNECT with a trailing byte.
    let mut bytes = enc(&Packet::Connect(minimal_connect()));
    bytes[1] += 1;
    bytes.push(0);
    assert_eq!(dec_err(&bytes), Error::MalformedPacket);
}

#[test]
fn string_length_past_the_body_is_malformed() {
    // Topic claims 5 bytes, body holds 2.
    assert_eq!(
        dec_err(&[0x30, 0x04, 0x00, 0x05, b'a', b'b']),
        Error::MalformedPacket
    );
    // Only one byte of the length prefix.
    assert_eq!(dec_err(&[0x30, 0x01, 0x00]), Error::MalformedPacket);
    // QoS 1 without room for the packet id.
    assert_eq!(
        dec_err(&[0x32, 0x04, 0x00, 0x02, b'a', b'b']),
        Error::MalformedPacket
    );
    // A subscription filter running past the end, and one missing its QoS byte.
    assert_eq!(
        dec_err(&[0x82, 0x05, 0x00, 0x01, 0x00, 0x09, b'a']),
        Error::MalformedPacket
    );
    assert_eq!(
        dec_err(&[0x82, 0x05, 0x00, 0x01, 0x00, 0x01, b'a']),
        Error::MalformedPacket
    );
    // A password field running past the end of a CONNECT.
    let mut body = field(b"MQTT");
    body.extend([4, 0xc2, 0, 60]);
    body.extend(field(b"id"));
    body.extend(field(b"user"));
    body.extend([0x00, 0x10, b'p']);
    let mut bytes = header(0x10, body.len());
    bytes.extend(body);
    assert_eq!(dec_err(&bytes), Error::MalformedPacket);
}

fn connect_bytes(name: &[u8], level: u8, flags: u8) -> Vec<u8> {
    let mut body = field(name);
    body.extend([level, flags, 0, 60]);
    body.extend(field(b"abc"));
    let mut bytes = header(0x10, body.len());
    bytes.extend(body);
    bytes
}

#[test]
fn connect_bad_protocol_name_or_level() {
    assert!(matches!(
        dec(&connect_bytes(b"MQTT", 4, 0x02)),
        Packet::Connect(_)
    ));
    assert_eq!(
        dec_err(&connect_bytes(b"MQTX", 4, 0x02)),
        Error::InvalidProtocol
    );
    assert_eq!(
        dec_err(&connect_bytes(b"mqtt", 4, 0x02)),
        Error::InvalidProtocol
    );
    assert_eq!(
        dec_err(&connect_bytes(b"MQTT", 5, 0x02)),
        Error::InvalidProtocol
    );
    assert_eq!(
        dec_err(&connect_bytes(b"MQTT", 3, 0x02)),
        Error::InvalidProtocol
    );
    assert_eq!(
        dec_err(&connect_bytes(b"MQIsdp", 4, 0x02)),
        Error::InvalidProtocol
    );
    assert_eq!(
        dec_err(&connect_bytes(b"MQTT", 0, 0x02)),
        Error::InvalidProtocol
    );
}

#[test]
fn connect_invalid_flags() {
    // Reserved bit 0 set [MQTT-3.1.2-3].
    assert_eq!(
        dec_err(&connect_bytes(b"MQTT", 4, 0x03)),
        Error::InvalidConnectFlags
    );
    // Will QoS or will retain without the will flag [MQTT-3.1.2-13], [MQTT-3.1.2-15].
    assert_eq!(
        dec_err(&connect_bytes(b"MQTT", 4, 0x0a)),
        Error::InvalidConnectFlags
    );
    assert_eq!(
        dec_err(&connect_bytes(b"MQTT", 4, 0x22)),
        Error::InvalidConnectFlags
    );
    // Password without username [MQTT-3.1.2-22].
    assert_eq!(
        dec_err(&connect_bytes(b"MQTT", 4, 0x42)),
        Error::InvalidConnectFlags
    );
    // Will QoS 3.
    assert_eq!(dec_err(&connect_bytes(b"MQTT", 4, 0x1e)), Error::InvalidQos);
    // Encode side: password without username.
    assert_eq!(
        enc_err(&Packet::Connect(Connect {
            password: Some(b"pw"),
            ..minimal_connect()
        })),
        Error::InvalidConnectFlags
    );
}

#[test]
fn connect_will_topic_is_a_topic_name() {
    let mut body = field(b"MQTT");
    body.extend([4, 0x06, 0, 60]);
    body.extend(field(b"abc"));
    body.extend(field(b"w/+"));
    body.extend(field(b"x"));
    let mut bytes = header(0x10, body.len());
    bytes.extend(body);
    assert_eq!(dec_err(&bytes), Error::WildcardInTopicName);
    assert_eq!(
        enc_err(&Packet::Connect(Connect {
            will: Some(LastWill {
                topic: "",
                payload: b"",
                qos: QoS::AtMostOnce,
                retain: false,
            }),
            ..minimal_connect()
        })),
        Error::EmptyTopic
    );
}

#[test]
fn subscribe_without_filters() {
    assert_eq!(dec_err(&[0x82, 0x02, 0x00, 0x01]), Error::NoTopicFilters);
    assert_eq!(dec_err(&[0xa2, 0x02, 0x00, 0x01]), Error::NoTopicFilters);
    assert_eq!(
        enc_err(&Packet::Subscribe(Subscribe {
            packet_id: 1,
            topics: SubscribeTopics::List(&[]),
        })),
        Error::NoTopicFilters
    );
    assert_eq!(
        enc_err(&Packet::Unsubscribe(Unsubscribe {
            packet_id: 1,
            topics: UnsubscribeTopics::List(&[]),
        })),
        Error::NoTopicFilters
    );
}

#[test]
fn subscribe_bad_options_and_filters() {
    let sub = |filter: &[u8], options: u8| {
        let mut body = vec![0, 1];
        body.extend(field(filter));
        body.push(options);
        let mut bytes = header(0x82, body.len());
        bytes.extend(body);
        bytes
    };
    assert_eq!(dec_err(&sub(b"a", 3)), Error::InvalidQos);
    assert_eq!(dec_err(&sub(b"a", 0x04)), Error::InvalidFlags);
    assert_eq!(dec_err(&sub(b"a", 0x81)), Error::InvalidFlags);
    assert_eq!(dec_err(&sub(b"a/#/b", 0)), Error::InvalidTopicFilter);
    assert_eq!(dec_err(&sub(b"a+", 0)), Error::InvalidTopicFilter);
    assert_eq!(dec_err(&sub(b"", 0)), Error::EmptyTopic);
    let mut unsub = vec![0xa2, 0x06, 0x00, 0x01];
    unsub.extend(field(b"#/"));
    assert_eq!(dec_err(&unsub), Error::InvalidTopicFilter);
}

// ---------------------------------------------------------------------------
// Encode-side validation
// ---------------------------------------------------------------------------

#[test]
fn encode_publish_topic_with_wildcard() {
    for topic in ["a/+", "a/#", "+", "#", "x+y"] {
        assert_eq!(
            enc_err(&Packet::Publish(publish(QoS::AtMostOnce, topic, 0, b""))),
            Error::WildcardInTopicName,
            "{topic}"
        );
    }
    assert_eq!(
        enc_err(&Packet::Publish(publish(QoS::AtMostOnce, "", 0, b""))),
        Error::EmptyTopic
    );
    assert_eq!(
        enc_err(&Packet::Publish(publish(QoS::AtMostOnce, "a\0b", 0, b""))),
        Error::NullCharacter
    );
}

#[test]
fn encode_topic_of_65536_bytes_is_too_long() {
    let long = "a".repeat(65_536);
    let mut out = vec![0u8; 70_000];
    let packet = Packet::Publish(publish(QoS::AtMostOnce, &long, 0, b""));
    assert_eq!(packet.encode(&mut out), Err(Error::StringTooLong));
    assert_eq!(packet.encoded_len(), Err(Error::StringTooLong));
    // 65,535 bytes is the longest allowed, and round-trips.
    let longest = &long[..65_535];
    let packet = Packet::Publish(publish(QoS::AtLeastOnce, longest, 1, b"z"));
    let bytes = enc(&packet);
    assert_eq!(bytes.len(), 1 + 3 + 2 + 65_535 + 2 + 1);
    assert_eq!(&bytes[4..6], &[0xff, 0xff]);
    assert_eq!(dec(&bytes), packet);
}

#[test]
fn encode_other_strings_too_long() {
    let long = "a".repeat(65_536);
    let mut out = vec![0u8; 70_000];
    let packet = Packet::Connect(Connect {
        client_id: &long,
        ..minimal_connect()
    });
    assert_eq!(packet.encode(&mut out), Err(Error::StringTooLong));
    let packet = Packet::Connect(Connect {
        username: Some("u"),
        password: Some(long.as_bytes()),
        ..minimal_connect()
    });
    assert_eq!(packet.encode(&mut out), Err(Error::StringTooLong));
    let entries = [SubscribeTopic {
        filter: &long,
        qos: QoS::AtMostOnce,
    }];
    let packet = Packet::Subscribe(Subscribe {
        packet_id: 1,
        topics: SubscribeTopics::List(&entries),
    });
    assert_eq!(packet.encode(&mut out), Err(Error::StringTooLong));
}

#[test]
fn encode_zero_packet_ids() {
    assert_eq!(
        enc_err(&Packet::Publish(publish(QoS::AtLeastOnce, "a", 0, b"x"))),
        Error::ZeroPacketId
    );
    assert_eq!(
        enc_err(&Packet::Publish(publish(QoS::ExactlyOnce, "a", 0, b"x"))),
        Error::ZeroPacketId
    );
    for packet in [
        Packet::PubAck(0),
        Packet::PubRec(0),
        Packet::PubRel(0),
        Packet::PubComp(0),
        Packet::UnsubAck(0),
        Packet::SubAck(SubAck {
            packet_id: 0,
            return_codes: &[0],
        }),
        Packet::Subscribe(Subscribe {
            packet_id: 0,
            topics: SubscribeTopics::List(&SUB_ENTRIES),
        }),
        Packet::Unsubscribe(Unsubscribe {
            packet_id: 0,
            topics: UnsubscribeTopics::List(&UNSUB_FILTERS),
        }),
    ] {
        assert_eq!(enc_err(&packet), Error::ZeroPacketId, "{packet:?}");
    }
}

#[test]
fn encode_invalid_filters_and_strings() {
    let bad = [SubscribeTopic {
        filter: "a/#/b",
        qos: QoS::AtMostOnce,
    }];
    assert_eq!(
        enc_err(&Packet::Subscribe(Subscribe {
            packet_id: 1,
            topics: SubscribeTopics::List(&bad),
        })),
        Error::InvalidTopicFilter
    );
    assert_eq!(
        enc_err(&Packet::Unsubscribe(Unsubscribe {
            packet_id: 1,
            topics: UnsubscribeTopics::List(&["ok", ""]),
        })),
        Error::EmptyTopic
    );
    assert_eq!(
        enc_err(&Packet::Connect(Connect {
            client_id: "a\0",
            ..minimal_connect()
        })),
        Error::NullCharacter
    );
    assert_eq!(
        enc_err(&Packet::Connect(Connect {
            username: Some("\0"),
            ..minimal_connect()
        })),
        Error::NullCharacter
    );
}

#[test]
fn lists_compare_by_content() {
    let wire_bytes = enc(&Packet::Subscribe(Subscribe {
        packet_id: 1,
        topics: SubscribeTopics::List(&SUB_ENTRIES),
    }));
    let Packet::Subscribe(decoded) = dec(&wire_bytes) else {
        panic!()
    };
    assert_eq!(decoded.topics, SubscribeTopics::List(&SUB_ENTRIES));
    assert_ne!(decoded.topics, SubscribeTopics::List(&SUB_ENTRIES[..2]));
    let other = [SubscribeTopic {
        filter: "a/+",
        qos: QoS::AtLeastOnce,
    }];
    assert_ne!(decoded.topics, SubscribeTopics::List(&other));
    assert_eq!(SubscribeTopics::List(&[]).len(), 0);
    assert!(SubscribeTopics::List(&[]).is_empty());
    assert!(UnsubscribeTopics::List(&[]).is_empty());
    assert_ne!(
        UnsubscribeTopics::List(&["a"]),
        UnsubscribeTopics::List(&["a", "b"])
    );
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

/// An owned packet, so that strategies can build the borrowed [`Packet`].
#[derive(Debug, Clone)]
enum Owned {
    Connect {
        protocol: ProtocolLevel,
        clean_session: bool,
        keep_alive: u16,
        client_id: String,
        will: Option<(String, Vec<u8>, QoS, bool)>,
        username: Option<String>,
        password: Option<Vec<u8>>,
    },
    ConnAck(ConnAck),
    Publish {
        dup: bool,
        qos: QoS,
        retain: bool,
        topic: String,
        packet_id: u16,
        payload: Vec<u8>,
    },
    PubAck(u16),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    Subscribe(u16, Vec<(String, QoS)>),
    SubAck(u16, Vec<u8>),
    Unsubscribe(u16, Vec<String>),
    UnsubAck(u16),
    PingReq,
    PingResp,
    Disconnect,
}

/// Calls `f` with the borrowed packet `o` describes.
fn with_packet<R>(o: &Owned, f: impl FnOnce(Packet<'_>) -> R) -> R {
    match o {
        Owned::Connect {
            protocol,
            clean_session,
            keep_alive,
            client_id,
            will,
            username,
            password,
        } => f(Packet::Connect(Connect {
            protocol: *protocol,
            clean_session: *clean_session,
            keep_alive: *keep_alive,
            client_id,
            will: will.as_ref().map(|(topic, payload, qos, retain)| LastWill {
                topic,
                payload,
                qos: *qos,
                retain: *retain,
            }),
            username: username.as_deref(),
            password: password.as_deref(),
        })),
        Owned::ConnAck(ack) => f(Packet::ConnAck(*ack)),
        Owned::Publish {
            dup,
            qos,
            retain,
            topic,
            packet_id,
            payload,
        } => f(Packet::Publish(Publish {
            dup: *dup,
            qos: *qos,
            retain: *retain,
            topic,
            packet_id: *packet_id,
            payload,
        })),
        Owned::PubAck(id) => f(Packet::PubAck(*id)),
        Owned::PubRec(id) => f(Packet::PubRec(*id)),
        Owned::PubRel(id) => f(Packet::PubRel(*id)),
        Owned::PubComp(id) => f(Packet::PubComp(*id)),
        Owned::Subscribe(id, list) => {
            let entries: Vec<SubscribeTopic<'_>> = list
                .iter()
                .map(|(filter, qos)| SubscribeTopic { filter, qos: *qos })
                .collect();
            f(Packet::Subscribe(Subscribe {
                packet_id: *id,
                topics: SubscribeTopics::List(&entries),
            }))
        }
        Owned::SubAck(id, codes) => f(Packet::SubAck(SubAck {
            packet_id: *id,
            return_codes: codes,
        })),
        Owned::Unsubscribe(id, list) => {
            let filters: Vec<&str> = list.iter().map(String::as_str).collect();
            f(Packet::Unsubscribe(Unsubscribe {
                packet_id: *id,
                topics: UnsubscribeTopics::List(&filters),
            }))
        }
        Owned::UnsubAck(id) => f(Packet::UnsubAck(*id)),
        Owned::PingReq => f(Packet::PingReq),
        Owned::PingResp => f(Packet::PingResp),
        Owned::Disconnect => f(Packet::Disconnect),
    }
}

fn qos_strategy() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

fn packet_id_strategy() -> impl Strategy<Value = u16> {
    1..=u16::MAX
}

/// Characters for topic levels: ASCII, some multi-byte UTF-8, never `/`,
/// `+`, `#` or NUL.
fn level_strategy() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _$.\\-\u{e9}\u{20ac}\u{1f600}]{0,8}"
}

/// Valid topic names: levels joined by `/`, never empty.
fn topic_name_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(level_strategy(), 1..5)
            .prop_map(|levels| levels.join("/"))
            .prop_filter("non-empty", |t| !t.is_empty()),
        // Any string without the forbidden characters.
        "[^+#\u{0}]{1,40}",
    ]
}

/// Valid topic filters: levels that are `+` or plain, optionally ending in `#`.
fn topic_filter_strategy() -> impl Strategy<Value = String> {
    let level = prop_oneof![3 => level_strategy(), 1 => Just("+".to_string())];
    (proptest::collection::vec(level, 0..5), any::<bool>())
        .prop_map(|(mut levels, hash)| {
            if hash || levels.is_empty() {
                levels.push("#".to_string());
            }
            levels.join("/")
        })
        .prop_filter("non-empty", |f| !f.is_empty())
}

fn string_strategy() -> impl Strategy<Value = String> {
    "[^\u{0}]{0,30}"
}

fn payload_strategy() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..2048)
}

fn connect_strategy() -> impl Strategy<Value = Owned> {
    let will = proptest::option::of((
        topic_name_strategy(),
        proptest::collection::vec(any::<u8>(), 0..64),
        qos_strategy(),
        any::<bool>(),
    ));
    (
        prop_oneof![Just(ProtocolLevel::V3_1), Just(ProtocolLevel::V3_1_1)],
        any::<bool>(),
        any::<u16>(),
        string_strategy(),
        will,
        proptest::option::of(string_strategy()),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..32)),
    )
        .prop_map(
            |(protocol, clean_session, keep_alive, client_id, will, username, password)| {
                // A password needs a username [MQTT-3.1.2-22].
                let password = if username.is_some() { password } else { None };
                Owned::Connect {
                    protocol,
                    clean_session,
                    keep_alive,
                    client_id,
                    will,
                    username,
                    password,
                }
            },
        )
}

fn connack_strategy() -> impl Strategy<Value = Owned> {
    (any::<bool>(), 0u8..=5).prop_map(|(session_present, code)| {
        let code = ConnectReturnCode::from_u8(code).unwrap();
        Owned::ConnAck(ConnAck {
            // Only an accepted connection can have a session.
            session_present: session_present && code == ConnectReturnCode::Accepted,
            code,
        })
    })
}

fn publish_strategy() -> impl Strategy<Value = Owned> {
    (
        any::<bool>(),
        qos_strategy(),
        any::<bool>(),
        topic_name_strategy(),
        packet_id_strategy(),
        payload_strategy(),
    )
        .prop_map(|(dup, qos, retain, topic, packet_id, payload)| {
            let qos0 = qos == QoS::AtMostOnce;
            Owned::Publish {
                dup: dup && !qos0,
                qos,
                retain,
                topic,
                packet_id: if qos0 { 0 } else { packet_id },
                payload,
            }
        })
}

fn suback_code_strategy() -> impl Strategy<Value = u8> {
    prop_oneof![Just(0u8), Just(1), Just(2), Just(SUBACK_FAILURE)]
}

fn owned_packet_strategy() -> impl Strategy<Value = Owned> {
    let id = packet_id_strategy;
    prop_oneof![
        2 => connect_strategy(),
        1 => connack_strategy(),
        4 => publish_strategy(),
        1 => id().prop_map(Owned::PubAck),
        1 => id().prop_map(Owned::PubRec),
        1 => id().prop_map(Owned::PubRel),
        1 => id().prop_map(Owned::PubComp),
        2 => (
            id(),
            proptest::collection::vec((topic_filter_strategy(), qos_strategy()), 1..6)
        )
            .prop_map(|(id, list)| Owned::Subscribe(id, list)),
        1 => (id(), proptest::collection::vec(suback_code_strategy(), 1..10))
            .prop_map(|(id, codes)| Owned::SubAck(id, codes)),
        2 => (
            id(),
            proptest::collection::vec(topic_filter_strategy(), 1..6)
        )
            .prop_map(|(id, list)| Owned::Unsubscribe(id, list)),
        1 => id().prop_map(Owned::UnsubAck),
        1 => Just(Owned::PingReq),
        1 => Just(Owned::PingResp),
        1 => Just(Owned::Disconnect),
    ]
}

/// Checks what any successful decode must satisfy: the consumed length fits
/// the input, every shorter prefix is incomplete, the packet re-encodes to
/// the same body and re-decodes to itself.
fn check_decoded(input: &[u8], packet: &Packet<'_>, len: usize) -> Result<(), TestCaseError> {
    prop_assert!(len >= 2 && len <= input.len());
    let bytes = enc(packet);
    prop_assert_eq!(
        decode(&bytes, MAX_PACKET_SIZE),
        Ok(Decoded::Packet {
            packet: *packet,
            len: bytes.len()
        })
    );
    // The encoder writes the same first byte and body; only a non-minimal
    // remaining-length encoding in the input may differ.
    let original = frame(input, MAX_PACKET_SIZE).unwrap().unwrap();
    let again = frame(&bytes, MAX_PACKET_SIZE).unwrap().unwrap();
    prop_assert_eq!(original.first_byte, again.first_byte);
    prop_assert_eq!(&input[original.header_len..len], &bytes[again.header_len..]);
    // Decoding just the packet's bytes gives the same result, and every
    // shorter prefix is incomplete.
    prop_assert_eq!(
        decode(&input[..len], MAX_PACKET_SIZE),
        Ok(Decoded::Packet {
            packet: *packet,
            len
        })
    );
    for prefix in 0..len {
        match decode(&input[..prefix], MAX_PACKET_SIZE) {
            Ok(Decoded::Incomplete { needed }) => {
                prop_assert!(needed >= 1 && needed <= len - prefix)
            }
            other => prop_assert!(false, "prefix {} gave {:?}", prefix, other),
        }
    }
    Ok(())
}

/// Runs both decoders on `input` and checks every answer.
fn check_arbitrary(input: &[u8]) -> Result<(), TestCaseError> {
    let client = decode(input, MAX_PACKET_SIZE);
    let server = decode_from_server(input, MAX_PACKET_SIZE);
    for result in [client, server] {
        match result {
            Ok(Decoded::Packet { packet, len }) => check_decoded(input, &packet, len)?,
            Ok(Decoded::Incomplete { needed }) => prop_assert!(needed >= 1),
            Err(_) => {}
        }
    }
    // decode_from_server agrees with decode except for client-only types
    // (which variant two errors carry may differ: the server variant checks
    // the type nibble first).
    match (server, client) {
        (Err(Error::UnexpectedPacket(kind)), _) => {
            prop_assert!(matches!(kind, 1 | 8 | 10 | 12 | 14));
            prop_assert_eq!(kind, input[0] >> 4);
        }
        (Err(_), Err(_)) => {}
        (server, client) => prop_assert_eq!(server, client),
    }
    // A small limit never panics either.
    let _ = decode(input, 64);
    let _ = decode_from_server(input, 2);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn prop_roundtrip(owned in owned_packet_strategy()) {
        with_packet(&owned, |packet| -> Result<(), TestCaseError> {
            let len = packet.encoded_len().map_err(|e| TestCaseError::fail(format!("{e:?} for {packet:?}")))?;
            let mut out = vec![0u8; len + 3];
            let written = packet.encode(&mut out).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert_eq!(written, len);
            prop_assert_eq!(
                decode(&out[..written], MAX_PACKET_SIZE),
                Ok(Decoded::Packet { packet, len })
            );
            // Trailing bytes are left alone.
            prop_assert_eq!(
                decode(&out, MAX_PACKET_SIZE),
                Ok(Decoded::Packet { packet, len })
            );
            // One byte short of room is refused.
            let mut short = vec![0u8; len - 1];
            prop_assert_eq!(packet.encode(&mut short), Err(Error::BufferTooSmall));
            check_decoded(&out, &packet, len)?;
            Ok(())
        })?;
    }

    #[test]
    fn prop_decode_arbitrary_bytes_never_panics(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_arbitrary(&input)?;
    }

    #[test]
    fn prop_decode_plausible_headers_never_panics(
        first in prop_oneof![
            Just(0x10u8), Just(0x20), 0x30u8..=0x3d, Just(0x40), Just(0x50),
            Just(0x62), Just(0x70), Just(0x82), Just(0x90), Just(0xa2),
            Just(0xb0), Just(0xc0), Just(0xd0), Just(0xe0)
        ],
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut input = header(first, body.len());
        input.extend(&body);
        check_arbitrary(&input)?;
    }

    #[test]
    fn prop_decode_mutated_packets_never_panics(
        owned in owned_packet_strategy(),
        mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = with_packet(&owned, |packet| enc(&packet));
        for (at, value) in mutations {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        check_arbitrary(&bytes)?;
    }
}

/// What a client's request form of a packet encodes to: the bytes, or the
/// error of sizing it.
fn enc_request(packet: &dyn Encode) -> Result<Vec<u8>, Error> {
    let (body, len) = sized(packet)?;
    let mut out = vec![0u8; len];
    assert_eq!(encode_sized(packet, (body, len), &mut out), Ok(len));
    Ok(out)
}

#[test]
fn request_forms_encode_as_the_packets() {
    let qos = |filter, qos| SubscribeTopic { filter, qos };
    let lists: [&[SubscribeTopic<'_>]; 5] = [
        &[qos("a/b", QoS::AtLeastOnce)],
        &[qos("+/x", QoS::AtMostOnce), qos("#", QoS::ExactlyOnce)],
        &[],
        &[qos("a#", QoS::AtMostOnce)],
        &[qos("a\0", QoS::AtMostOnce)],
    ];
    for packet_id in [0, 1, 0xffff] {
        for topics in lists {
            let packet = Packet::Subscribe(Subscribe {
                packet_id,
                topics: SubscribeTopics::List(topics),
            });
            let expected = packet.encoded_len().map(|_| enc(&packet));
            assert_eq!(
                enc_request(&SubscribeRequest {
                    packet_id,
                    unsubscribe: false,
                    topics: &topics
                }),
                expected
            );
            let filters: Vec<&str> = topics.iter().map(|t| t.filter).collect();
            let packet = Packet::Unsubscribe(Unsubscribe {
                packet_id,
                topics: UnsubscribeTopics::List(&filters),
            });
            let expected = packet.encoded_len().map(|_| enc(&packet));
            assert_eq!(
                enc_request(&UnsubscribeRequest {
                    packet_id,
                    filters: &filters
                }),
                expected
            );
            // The same filters as the C API's list type, QoS unused.
            assert_eq!(
                enc_request(&SubscribeRequest {
                    packet_id,
                    unsubscribe: true,
                    topics: &topics
                }),
                expected
            );
        }
    }
}
