//! MQTT 5 codec tests: the standard's examples and tables, one test per
//! rule on received data and on what a client may send, truncation at every
//! length, and property tests (round trips, decode never panics).

use super::wire::Reader;
use super::*;
use crate::codec::QoS;

use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A Variable Byte Integer.
fn vbi(value: u32) -> Vec<u8> {
    let mut out = [0u8; 4];
    let len = encode_varint(value, &mut out).unwrap();
    out[..len].to_vec()
}

/// Property bytes (without their length) written by a [`PropertyWriter`].
fn props(list: &[Property<'_>]) -> Vec<u8> {
    let mut buf = vec![0u8; 70_000];
    let mut w = PropertyWriter::new(&mut buf);
    for p in list {
        w.push(p).unwrap();
    }
    let len = w.len();
    buf.truncate(len);
    buf
}

/// A property list with its Property Length.
fn with_len(bytes: &[u8]) -> Vec<u8> {
    let mut out = vbi(bytes.len() as u32);
    out.extend_from_slice(bytes);
    out
}

/// A string or binary field.
fn field(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// A whole packet: byte 0, Remaining Length, body.
fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    out.extend(vbi(body.len() as u32));
    out.extend_from_slice(body);
    out
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Decodes a buffer holding exactly one packet.
fn dec(bytes: &[u8]) -> ServerPacket<'_> {
    match decode_from_server(bytes, usize::MAX) {
        Ok(Decoded::Packet { packet, len }) => {
            assert_eq!(len, bytes.len(), "length of {bytes:02x?}");
            packet
        }
        other => panic!("expected a packet from {bytes:02x?}, got {other:?}"),
    }
}

fn dec_err(bytes: &[u8]) -> V5Error {
    match decode_from_server(bytes, usize::MAX) {
        Err(e) => e,
        Ok(other) => panic!("expected an error from {bytes:02x?}, got {other:?}"),
    }
}

/// Encodes, checking that `encoded_len` and `size` agree with what was written.
fn enc<P: Encode>(p: &P) -> Vec<u8> {
    let len = p.encoded_len().expect("encoded_len");
    assert_eq!(p.size().unwrap().total(), len);
    let mut out = vec![0u8; len];
    assert_eq!(p.encode(&mut out), Ok(len));
    // One byte less does not fit, and writes nothing.
    let mut short = vec![0xa5u8; len - 1];
    assert_eq!(p.encode(&mut short), Err(V5Error::BufferTooSmall));
    assert!(short.iter().all(|&b| b == 0xa5));
    out
}

/// The error encoding gives; nothing is written.
fn enc_err<P: Encode>(p: &P) -> V5Error {
    let mut out = [0xa5u8; 512];
    let e = p.encode(&mut out).expect_err("encode must fail");
    assert_eq!(p.encoded_len(), Err(e));
    assert!(
        out.iter().all(|&b| b == 0xa5),
        "an invalid packet wrote bytes"
    );
    e
}

fn publish<'a>(
    qos: QoS,
    topic: &'a str,
    packet_id: u16,
    properties: Properties<'a>,
) -> Publish<'a> {
    Publish {
        dup: false,
        qos,
        retain: false,
        topic,
        packet_id,
        properties,
        payload: b"hi",
    }
}

fn connect<'a>(properties: Properties<'a>, will: Option<Will<'a>>) -> Connect<'a> {
    Connect {
        clean_start: true,
        keep_alive: 10,
        properties,
        client_id: "c",
        will,
        username: None,
        password: None,
    }
}

/// One example of every property, each valid.
const EVERY_PROPERTY: [Property<'static>; 27] = [
    Property::PayloadFormatIndicator(true),
    Property::MessageExpiryInterval(3600),
    Property::ContentType("text/plain"),
    Property::ResponseTopic("reply/to"),
    Property::CorrelationData(&[1, 2, 3]),
    Property::SubscriptionIdentifier(268_435_455),
    Property::SessionExpiryInterval(u32::MAX),
    Property::AssignedClientIdentifier("auto-1"),
    Property::ServerKeepAlive(30),
    Property::AuthenticationMethod("SCRAM-SHA-1"),
    Property::AuthenticationData(b"challenge"),
    Property::RequestProblemInformation(false),
    Property::WillDelayInterval(5),
    Property::RequestResponseInformation(true),
    Property::ResponseInformation("resp/"),
    Property::ServerReference("other:1883"),
    Property::ReasonString("why"),
    Property::ReceiveMaximum(20),
    Property::TopicAliasMaximum(10),
    Property::TopicAlias(3),
    Property::MaximumQos(QoS::AtLeastOnce),
    Property::RetainAvailable(false),
    Property::UserProperty("name", "value"),
    Property::MaximumPacketSize(1024),
    Property::WildcardSubscriptionAvailable(true),
    Property::SubscriptionIdentifierAvailable(false),
    Property::SharedSubscriptionAvailable(true),
];

const EVERY_CONTEXT: [PropertyContext; 11] = [
    PropertyContext::Connect,
    PropertyContext::Will,
    PropertyContext::ConnAck,
    PropertyContext::Publish,
    PropertyContext::PubResponse,
    PropertyContext::Subscribe,
    PropertyContext::SubAck,
    PropertyContext::Unsubscribe,
    PropertyContext::UnsubAck,
    PropertyContext::Disconnect,
    PropertyContext::Auth,
];

// ---------------------------------------------------------------------------
// Variable Byte Integers (section 1.5.5)
// ---------------------------------------------------------------------------

#[test]
fn varint_table_1_1_boundaries() {
    // Table 1-1 Size of Variable Byte Integer: each size's first and last value.
    let cases: [(u32, &[u8]); 8] = [
        (0, &[0x00]),
        (127, &[0x7f]),
        (128, &[0x80, 0x01]),
        (16_383, &[0xff, 0x7f]),
        (16_384, &[0x80, 0x80, 0x01]),
        (2_097_151, &[0xff, 0xff, 0x7f]),
        (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
        (268_435_455, &[0xff, 0xff, 0xff, 0x7f]),
    ];
    for (value, bytes) in cases {
        assert_eq!(vbi(value), bytes, "{value}");
        assert_eq!(varint_len(value), bytes.len());
        assert_eq!(decode_varint(bytes), Ok(Some((value, bytes.len()))));
        // Every shorter prefix is incomplete.
        for cut in 0..bytes.len() {
            assert_eq!(decode_varint(&bytes[..cut]), Ok(None));
        }
    }
}

#[test]
fn varint_five_bytes_is_malformed() {
    assert_eq!(
        decode_varint(&[0xff, 0xff, 0xff, 0xff, 0x7f]),
        Err(V5Error::MalformedVarInt)
    );
    assert_eq!(
        decode_varint(&[0x80, 0x80, 0x80, 0x80]),
        Err(V5Error::MalformedVarInt)
    );
}

#[test]
fn varint_not_minimal_is_malformed() {
    // [MQTT-1.5.5-1]: 0 as two bytes, 127 as two, 128 as three.
    for bytes in [
        &[0x80, 0x00][..],
        &[0xff, 0x00],
        &[0x80, 0x81, 0x00],
        &[0x80, 0x80, 0x80, 0x00],
    ] {
        assert_eq!(
            decode_varint(bytes),
            Err(V5Error::NonMinimalVarInt),
            "{bytes:02x?}"
        );
    }
    assert_eq!(
        V5Error::NonMinimalVarInt.reason_code(),
        Some(ReasonCode::MALFORMED_PACKET)
    );
}

#[test]
fn varint_too_large_or_no_room() {
    let mut out = [0u8; 4];
    assert_eq!(
        encode_varint(VARINT_MAX + 1, &mut out),
        Err(V5Error::VarIntTooLarge)
    );
    assert_eq!(
        encode_varint(128, &mut out[..1]),
        Err(V5Error::BufferTooSmall)
    );
}

// ---------------------------------------------------------------------------
// Reason codes (section 2.4)
// ---------------------------------------------------------------------------

#[test]
fn every_reason_code_has_a_name() {
    let defined: Vec<u8> = (0..=255u8)
        .filter(|&c| ReasonCode(c).as_str() != "unknown reason code")
        .collect();
    // Table 2-6 has 43 distinct values.
    assert_eq!(defined.len(), 43);
    assert_eq!(
        ReasonCode::TOPIC_ALIAS_INVALID.as_str(),
        "topic alias invalid"
    );
    assert_eq!(ReasonCode(0x03).as_str(), "unknown reason code");
    assert!(ReasonCode::UNSPECIFIED_ERROR.is_error());
    assert!(!ReasonCode::NO_SUBSCRIPTION_EXISTED.is_error());
    assert_eq!(format!("{}", ReasonCode::BANNED), "0x8a (banned)");
}

#[test]
fn reason_codes_per_packet_and_sender() {
    use ReasonPacket as P;
    use Sender::{Client, Server};
    let count = |packet, sender| {
        (0..=255u8)
            .filter(|&c| ReasonCode(c).allowed_in(packet, sender))
            .count()
    };
    // The tables' sizes: CONNACK 22, PUBACK/PUBREC 9, PUBREL/PUBCOMP 2,
    // SUBACK 12, UNSUBACK 7, DISCONNECT 29 (28 from the server, 14 from the
    // client), AUTH 3 (2 each side).
    assert_eq!(count(P::ConnAck, Server), 22);
    assert_eq!(count(P::ConnAck, Client), 0);
    assert_eq!(count(P::PubAck, Server), 9);
    assert_eq!(count(P::PubRec, Client), 9);
    assert_eq!(count(P::PubRel, Server), 2);
    assert_eq!(count(P::PubComp, Client), 2);
    assert_eq!(count(P::SubAck, Server), 12);
    assert_eq!(count(P::UnsubAck, Server), 7);
    assert_eq!(count(P::Disconnect, Server), 28);
    assert_eq!(count(P::Disconnect, Client), 14);
    assert_eq!(count(P::Auth, Server), 2);
    assert_eq!(count(P::Auth, Client), 2);
    assert!(ReasonCode::DISCONNECT_WITH_WILL_MESSAGE.allowed_in(P::Disconnect, Client));
    assert!(!ReasonCode::DISCONNECT_WITH_WILL_MESSAGE.allowed_in(P::Disconnect, Server));
    assert!(ReasonCode::SERVER_MOVED.allowed_in(P::Disconnect, Server));
    assert!(!ReasonCode::SERVER_MOVED.allowed_in(P::Disconnect, Client));
    assert!(ReasonCode::RE_AUTHENTICATE.allowed_in(P::Auth, Client));
    assert!(!ReasonCode::RE_AUTHENTICATE.allowed_in(P::Auth, Server));
    assert!(!ReasonCode::SUCCESS.allowed_in(P::Auth, Client));
}

// ---------------------------------------------------------------------------
// Properties (section 2.2.2)
// ---------------------------------------------------------------------------

/// A context that allows `id`.
fn home_of(id: PropertyId) -> PropertyContext {
    *EVERY_CONTEXT.iter().find(|&&c| id.allowed_in(c)).unwrap()
}

#[test]
fn every_property_round_trips_with_its_data_type() {
    for p in EVERY_PROPERTY {
        let id = p.id();
        assert_eq!(PropertyId::from_u8(id as u8), Some(id));
        let bytes = props(&[p]);
        assert_eq!(bytes[0], id as u8);
        assert_eq!(bytes.len(), p.encoded_len().unwrap());
        let value_len = bytes.len() - 1;
        match id.data_type() {
            PropertyType::Byte => assert_eq!(value_len, 1),
            PropertyType::TwoByteInteger => assert_eq!(value_len, 2),
            PropertyType::FourByteInteger => assert_eq!(value_len, 4),
            PropertyType::VariableByteInteger => assert_eq!(value_len, 4),
            PropertyType::Utf8String | PropertyType::BinaryData => {
                assert_eq!(
                    usize::from(u16::from_be_bytes([bytes[1], bytes[2]])),
                    value_len - 2
                )
            }
            PropertyType::Utf8StringPair => assert_eq!(value_len, 2 + 4 + 2 + 5),
        }
        let mut list = vec![p];
        if id == PropertyId::AuthenticationData {
            list.insert(0, Property::AuthenticationMethod("m"));
        }
        let bytes = props(&list);
        let parsed = Properties::parse(&bytes, home_of(id)).unwrap();
        assert_eq!(parsed.iter().collect::<Vec<_>>(), list);
        assert_eq!(parsed.get(id), Some(p));
        assert_eq!(parsed, Properties::List(&list));
    }
    // 27 identifiers, and no other value is one.
    assert_eq!((0..=255u8).filter_map(PropertyId::from_u8).count(), 27);
}

#[test]
fn table_2_4_which_packet_carries_which_property() {
    use PropertyContext as C;
    use PropertyId as I;
    let allowed = |id: I| -> Vec<C> {
        EVERY_CONTEXT
            .iter()
            .copied()
            .filter(|&c| id.allowed_in(c))
            .collect()
    };
    assert_eq!(allowed(I::PayloadFormatIndicator), [C::Will, C::Publish]);
    assert_eq!(
        allowed(I::SubscriptionIdentifier),
        [C::Publish, C::Subscribe]
    );
    assert_eq!(
        allowed(I::SessionExpiryInterval),
        [C::Connect, C::ConnAck, C::Disconnect]
    );
    assert_eq!(
        allowed(I::AuthenticationMethod),
        [C::Connect, C::ConnAck, C::Auth]
    );
    assert_eq!(allowed(I::WillDelayInterval), [C::Will]);
    assert_eq!(allowed(I::ServerReference), [C::ConnAck, C::Disconnect]);
    assert_eq!(
        allowed(I::ReasonString),
        [
            C::ConnAck,
            C::PubResponse,
            C::SubAck,
            C::UnsubAck,
            C::Disconnect,
            C::Auth
        ]
    );
    assert_eq!(allowed(I::ReceiveMaximum), [C::Connect, C::ConnAck]);
    assert_eq!(allowed(I::TopicAlias), [C::Publish]);
    assert_eq!(allowed(I::MaximumQos), [C::ConnAck]);
    assert_eq!(allowed(I::UserProperty), EVERY_CONTEXT);
    assert_eq!(allowed(I::RequestProblemInformation), [C::Connect]);
}

#[test]
fn property_in_the_wrong_packet_is_malformed() {
    // Section 2.2.2.2, for every identifier and every context that lacks it.
    let mut checked = 0;
    for p in EVERY_PROPERTY {
        for context in EVERY_CONTEXT {
            if p.id().allowed_in(context) {
                continue;
            }
            let bytes = props(&[p]);
            let e = Properties::parse(&bytes, context).unwrap_err();
            assert_eq!(e, V5Error::PropertyNotAllowed(p.id()));
            assert_eq!(Properties::List(&[p]).checked_len(context), Err(e));
            checked += 1;
        }
    }
    assert_eq!(
        e_reason(V5Error::PropertyNotAllowed(PropertyId::TopicAlias)),
        0x81
    );
    assert!(checked > 200);
}

fn e_reason(e: V5Error) -> u8 {
    e.reason_code().unwrap().0
}

#[test]
fn property_twice_is_a_protocol_error() {
    for p in EVERY_PROPERTY {
        for context in EVERY_CONTEXT {
            if !p.id().allowed_in(context) {
                continue;
            }
            let mut list = vec![p, p];
            if p.id() == PropertyId::AuthenticationData {
                list.insert(0, Property::AuthenticationMethod("m"));
            }
            let bytes = props(&list);
            let parsed = Properties::parse(&bytes, context);
            if p.id().may_repeat_in(context) {
                assert!(parsed.is_ok(), "{p:?} in {context:?}");
            } else {
                assert_eq!(
                    parsed,
                    Err(V5Error::DuplicateProperty(p.id())),
                    "{context:?}"
                );
                assert_eq!(e_reason(parsed.unwrap_err()), 0x82);
            }
        }
    }
    // Subscription Identifier repeats in PUBLISH only (3.3.2.3.8, 3.8.2.1.2).
    assert!(PropertyId::SubscriptionIdentifier.may_repeat_in(PropertyContext::Publish));
    assert!(!PropertyId::SubscriptionIdentifier.may_repeat_in(PropertyContext::Subscribe));
}

#[test]
fn property_values_out_of_range() {
    use PropertyId as I;
    // (identifier, value bytes, context): each "It is a Protocol Error" of
    // the standard's value rules.
    let cases: [(I, &[u8], PropertyContext); 12] = [
        (I::ReceiveMaximum, &[0, 0], PropertyContext::ConnAck),
        (
            I::MaximumPacketSize,
            &[0, 0, 0, 0],
            PropertyContext::ConnAck,
        ),
        (I::PayloadFormatIndicator, &[2], PropertyContext::Publish),
        (I::MaximumQos, &[2], PropertyContext::ConnAck),
        (I::RetainAvailable, &[2], PropertyContext::ConnAck),
        (
            I::WildcardSubscriptionAvailable,
            &[2],
            PropertyContext::ConnAck,
        ),
        (
            I::SubscriptionIdentifierAvailable,
            &[0xff],
            PropertyContext::ConnAck,
        ),
        (
            I::SharedSubscriptionAvailable,
            &[2],
            PropertyContext::ConnAck,
        ),
        (I::RequestProblemInformation, &[2], PropertyContext::Connect),
        (
            I::RequestResponseInformation,
            &[2],
            PropertyContext::Connect,
        ),
        (I::SubscriptionIdentifier, &[0], PropertyContext::Publish),
        (
            I::ResponseTopic,
            &[0, 3, b'a', b'/', b'#'],
            PropertyContext::Publish,
        ),
    ];
    for (id, value, context) in cases {
        let bytes = concat(&[&[id as u8], value]);
        let e = Properties::parse(&bytes, context).unwrap_err();
        assert_eq!(e, V5Error::InvalidPropertyValue(id), "{id:?}");
        assert_eq!(e_reason(e), 0x82);
    }
    // An empty Response Topic is no topic name either [MQTT-4.7.3-1].
    assert_eq!(
        Properties::parse(&[0x08, 0, 0], PropertyContext::Publish),
        Err(V5Error::InvalidPropertyValue(I::ResponseTopic))
    );
    // Topic Alias 0: 0x94 [MQTT-3.3.2-8].
    let e = Properties::parse(&[0x23, 0, 0], PropertyContext::Publish).unwrap_err();
    assert_eq!(e, V5Error::TopicAliasInvalid);
    assert_eq!(e_reason(e), 0x94);
    // The same values refused when encoding a list.
    for bad in [
        Property::ReceiveMaximum(0),
        Property::MaximumPacketSize(0),
        Property::MaximumQos(QoS::ExactlyOnce),
        Property::SubscriptionIdentifier(0),
        Property::ResponseTopic("+"),
    ] {
        assert_eq!(
            Properties::List(&[bad]).checked_len(home_of(bad.id())),
            Err(V5Error::InvalidPropertyValue(bad.id()))
        );
    }
    assert_eq!(
        Properties::List(&[Property::SubscriptionIdentifier(VARINT_MAX + 1)])
            .checked_len(PropertyContext::Subscribe),
        Err(V5Error::VarIntTooLarge)
    );
    // Topic Alias Maximum 0 in CONNECT is allowed: no aliases wanted.
    assert!(Properties::parse(&[0x22, 0, 0], PropertyContext::Connect).is_ok());
}

#[test]
fn authentication_data_needs_a_method() {
    // 3.1.2.11.10.
    for context in [
        PropertyContext::Connect,
        PropertyContext::ConnAck,
        PropertyContext::Auth,
    ] {
        let bytes = props(&[Property::AuthenticationData(b"x")]);
        let e = Properties::parse(&bytes, context).unwrap_err();
        assert_eq!(e, V5Error::AuthDataWithoutMethod);
        assert_eq!(e_reason(e), 0x82);
    }
}

#[test]
fn property_strings_follow_the_string_rules() {
    let user = |name: &[u8], value: &[u8]| concat(&[&[0x26], &field(name), &field(value)]);
    let ctx = PropertyContext::Publish;
    assert_eq!(
        Properties::parse(&user(b"a", b"\xff"), ctx),
        Err(V5Error::InvalidUtf8)
    );
    assert_eq!(
        Properties::parse(&user(b"\xc3", b"v"), ctx),
        Err(V5Error::InvalidUtf8)
    );
    assert_eq!(
        Properties::parse(&user(b"a\0", b"v"), ctx),
        Err(V5Error::NullCharacter)
    );
    assert_eq!(
        Properties::parse(&concat(&[&[0x03], &field(b"\xed\xa0\x80")]), ctx),
        Err(V5Error::InvalidUtf8)
    );
    assert_eq!(e_reason(V5Error::InvalidUtf8), 0x81);
    // Encoding refuses U+0000 in a string property.
    assert_eq!(
        Property::ContentType("a\0").encoded_len(),
        Err(V5Error::NullCharacter)
    );
    let long = "x".repeat(65_536);
    assert_eq!(
        Property::ReasonString(&long).encoded_len(),
        Err(V5Error::StringTooLong)
    );
}

#[test]
fn unknown_or_cut_properties() {
    let ctx = PropertyContext::Publish;
    assert_eq!(
        Properties::parse(&[0x04, 0], ctx),
        Err(V5Error::UnknownProperty(0x04))
    );
    assert_eq!(
        Properties::parse(&[0x00], ctx),
        Err(V5Error::UnknownProperty(0x00))
    );
    // An identifier is a VBI: 0x80 0x01 is 128, undefined.
    assert_eq!(
        Properties::parse(&[0x80, 0x01], ctx),
        Err(V5Error::UnknownProperty(0x80))
    );
    assert_eq!(
        Properties::parse(&[0x81, 0x00], ctx),
        Err(V5Error::NonMinimalVarInt)
    );
    assert_eq!(e_reason(V5Error::UnknownProperty(4)), 0x81);
    // Every cut of a valid list is malformed, never a panic.
    let bytes = props(&[
        Property::UserProperty("k", "v"),
        Property::MessageExpiryInterval(9),
    ]);
    for cut in 1..bytes.len() {
        if cut == 7 {
            continue; // the first property whole
        }
        assert_eq!(
            Properties::parse(&bytes[..cut], ctx),
            Err(V5Error::MalformedPacket),
            "{cut}"
        );
    }
}

#[test]
fn property_writer_reports_a_full_buffer_and_keeps_what_it_wrote() {
    let mut buf = [0u8; 8];
    let mut w = PropertyWriter::new(&mut buf);
    assert!(w.is_empty());
    w.push(&Property::SessionExpiryInterval(1)).unwrap();
    assert_eq!(
        w.push(&Property::SessionExpiryInterval(2)),
        Err(V5Error::BufferTooSmall)
    );
    assert_eq!(w.len(), 5);
    let p = w.finish();
    assert_eq!(
        p.iter().collect::<Vec<_>>(),
        [Property::SessionExpiryInterval(1)]
    );
    assert_eq!(p.user_properties().count(), 0);
    assert!(Properties::NONE.is_empty());
    assert_eq!(Properties::default(), Properties::List(&[]));
}

// ---------------------------------------------------------------------------
// What a client sends: the standard's examples and every rule
// ---------------------------------------------------------------------------

#[test]
fn connect_variable_header_example_of_3_1_2_12() {
    // Figure 3-7: protocol name, version 5, flags 0xCE (user name,
    // password, will QoS 1, will, clean start), keepalive 10, properties of
    // length 5: Session Expiry Interval 10.
    let c = Connect {
        clean_start: true,
        keep_alive: 10,
        properties: Properties::List(&[Property::SessionExpiryInterval(10)]),
        client_id: "c",
        will: Some(Will {
            properties: Properties::NONE,
            topic: "w",
            payload: b"",
            qos: QoS::AtLeastOnce,
            retain: false,
        }),
        username: Some("u"),
        password: Some(b"p"),
    };
    let bytes = enc(&c);
    let header = [
        0, 4, b'M', b'Q', b'T', b'T', 5, 0xce, 0, 10, 5, 0x11, 0, 0, 0, 10,
    ];
    let payload = concat(&[
        &field(b"c"),
        &[0],
        &field(b"w"),
        &field(b""),
        &field(b"u"),
        &field(b"p"),
    ]);
    assert_eq!(bytes, packet(0x10, &concat(&[&header, &payload])));
}

#[test]
fn connect_minimal_and_password_without_user_name() {
    let bytes = enc(&connect(Properties::NONE, None));
    assert_eq!(
        bytes,
        packet(
            0x10,
            &concat(&[&field(b"MQTT"), &[5, 0x02, 0, 10, 0], &field(b"c")])
        )
    );
    // MQTT 5 allows a password without a user name (3.1.2.9).
    let c = Connect {
        password: Some(b"secret"),
        client_id: "",
        ..connect(Properties::NONE, None)
    };
    assert_eq!(enc(&c)[9], 0x42);
}

#[test]
fn connect_rules() {
    let will = |properties, payload: &'static [u8], topic: &'static str| Will {
        properties,
        topic,
        payload,
        qos: QoS::AtMostOnce,
        retain: true,
    };
    // Will Properties in the will, not in CONNECT's own list.
    let delay = [Property::WillDelayInterval(5)];
    assert_eq!(
        enc_err(&connect(Properties::List(&delay), None)),
        V5Error::PropertyNotAllowed(PropertyId::WillDelayInterval)
    );
    let c = connect(
        Properties::NONE,
        Some(will(Properties::List(&delay), b"x", "w")),
    );
    assert_eq!(enc(&c)[9], 0x26); // will retain, will, clean start
                                  // A UTF-8 will payload must be UTF-8 (3.1.3.2.3).
    let utf8 = [Property::PayloadFormatIndicator(true)];
    let c = connect(
        Properties::NONE,
        Some(will(Properties::List(&utf8), b"\xff", "w")),
    );
    assert_eq!(enc_err(&c), V5Error::PayloadFormatInvalid);
    let c = connect(Properties::NONE, Some(will(Properties::NONE, b"x", "w/+")));
    assert_eq!(enc_err(&c), V5Error::WildcardInTopicName);
    let c = connect(Properties::List(&[Property::ReceiveMaximum(0)]), None);
    assert_eq!(
        enc_err(&c),
        V5Error::InvalidPropertyValue(PropertyId::ReceiveMaximum)
    );
    let twice = [
        Property::SessionExpiryInterval(1),
        Property::SessionExpiryInterval(2),
    ];
    assert_eq!(
        enc_err(&connect(Properties::List(&twice), None)),
        V5Error::DuplicateProperty(PropertyId::SessionExpiryInterval)
    );
    let c = Connect {
        client_id: "a\0",
        ..connect(Properties::NONE, None)
    };
    assert_eq!(enc_err(&c), V5Error::NullCharacter);
}

#[test]
fn publish_variable_header_example_of_3_3_2_3() {
    // Figure 3-9: topic "a/b", packet id 10, no properties.
    let p = Publish {
        payload: b"",
        ..publish(QoS::AtLeastOnce, "a/b", 10, Properties::NONE)
    };
    let body = [0, 3, b'a', b'/', b'b', 0, 10, 0];
    assert_eq!(enc(&p), packet(0x32, &body));
    assert_eq!(dec(&packet(0x32, &body)), ServerPacket::Publish(p));
}

#[test]
fn publish_rules() {
    let alias = [Property::TopicAlias(1)];
    // An empty topic with an alias goes; without one it does not (3.3.2.1).
    let p = publish(QoS::AtMostOnce, "", 0, Properties::List(&alias));
    assert_eq!(enc(&p)[..5], [0x30, 8, 0, 0, 3]);
    assert_eq!(
        enc_err(&publish(QoS::AtMostOnce, "", 0, Properties::NONE)),
        V5Error::EmptyTopicWithoutAlias
    );
    assert_eq!(
        enc_err(&publish(
            QoS::AtMostOnce,
            "t",
            0,
            Properties::List(&[Property::TopicAlias(0)])
        )),
        V5Error::TopicAliasInvalid
    );
    assert_eq!(
        enc_err(&publish(
            QoS::AtMostOnce,
            "t",
            0,
            Properties::List(&[Property::SubscriptionIdentifier(1)])
        )),
        V5Error::SubscriptionIdentifierFromClient
    );
    assert_eq!(
        enc_err(&publish(QoS::ExactlyOnce, "t", 0, Properties::NONE)),
        V5Error::ZeroPacketId
    );
    assert_eq!(
        enc_err(&publish(QoS::AtMostOnce, "t/#", 0, Properties::NONE)),
        V5Error::WildcardInTopicName
    );
    let utf8 = [Property::PayloadFormatIndicator(true)];
    let bad = Publish {
        payload: b"\xc3",
        ..publish(QoS::AtMostOnce, "t", 0, Properties::List(&utf8))
    };
    assert_eq!(enc_err(&bad), V5Error::PayloadFormatInvalid);
    assert_eq!(
        bad.check_payload_format(),
        Err(V5Error::PayloadFormatInvalid)
    );
    assert_eq!(e_reason(V5Error::PayloadFormatInvalid), 0x99);
    // DUP is dropped on QoS 0 [MQTT-3.3.1-2].
    let dup = Publish {
        dup: true,
        ..publish(QoS::AtMostOnce, "t", 0, Properties::NONE)
    };
    assert_eq!(enc(&dup)[0], 0x30);
}

#[test]
fn pub_responses_short_and_long_forms() {
    // Success without properties: Remaining Length 2 (3.4.2.1).
    let ok = PubResponse::success(7);
    assert_eq!(enc(&ClientPacket::PubAck(ok)), [0x40, 2, 0, 7]);
    assert_eq!(enc(&ClientPacket::PubRel(ok)), [0x62, 2, 0, 7]);
    // A reason without properties: Remaining Length 3.
    let not_found = PubResponse {
        reason: ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
        ..ok
    };
    assert_eq!(
        enc(&ClientPacket::PubComp(not_found)),
        [0x70, 3, 0, 7, 0x92]
    );
    // With properties.
    let why = [Property::ReasonString("q")];
    let full = PubResponse {
        reason: ReasonCode::QUOTA_EXCEEDED,
        properties: Properties::List(&why),
        ..ok
    };
    let bytes = enc(&ClientPacket::PubRec(full));
    assert_eq!(bytes, [0x50, 8, 0, 7, 0x97, 4, 0x1f, 0, 1, b'q']);
    assert_eq!(full.size(AckKind::PubRec).unwrap().total(), bytes.len());
    let mut out = [0u8; 16];
    assert_eq!(full.encode(AckKind::PubRec, &mut out), Ok(bytes.len()));
    // Each decodes back.
    for (bytes, kind) in [(enc(&ClientPacket::PubAck(ok)), 4), (bytes, 5)] {
        let expected = if kind == 4 { ok } else { full };
        match dec(&bytes) {
            ServerPacket::PubAck(r) | ServerPacket::PubRec(r) => assert_eq!(r, expected),
            other => panic!("{other:?}"),
        }
    }
    // Codes from the wrong table, a zero id, a property from elsewhere.
    let wrong = PubResponse {
        reason: ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
        ..ok
    };
    assert_eq!(
        enc_err(&ClientPacket::PubAck(wrong)),
        V5Error::ReasonCodeNotAllowed(ReasonCode(0x92))
    );
    assert_eq!(
        enc_err(&ClientPacket::PubAck(PubResponse::success(0))),
        V5Error::ZeroPacketId
    );
    let alias = [Property::TopicAlias(1)];
    let elsewhere = PubResponse {
        properties: Properties::List(&alias),
        ..ok
    };
    assert_eq!(
        enc_err(&ClientPacket::PubAck(elsewhere)),
        V5Error::PropertyNotAllowed(PropertyId::TopicAlias)
    );
}

#[test]
fn subscribe_example_of_3_8_and_its_options() {
    // Figures 3-21 and 3-22: packet id 10, no properties, "a/b" with
    // options 1 and "c/d" with options 2.
    let topics = [
        SubscribeTopic {
            filter: "a/b",
            options: SubscriptionOptions {
                qos: QoS::AtLeastOnce,
                ..Default::default()
            },
        },
        SubscribeTopic {
            filter: "c/d",
            options: SubscriptionOptions {
                qos: QoS::ExactlyOnce,
                ..Default::default()
            },
        },
    ];
    let s = Subscribe {
        packet_id: 10,
        properties: Properties::NONE,
        topics: &topics,
    };
    let body = [
        0, 10, 0, 0, 3, b'a', b'/', b'b', 1, 0, 3, b'c', b'/', b'd', 2,
    ];
    assert_eq!(enc(&s), packet(0x82, &body));
    // Every option bit (3.8.3.1).
    let options = SubscriptionOptions {
        qos: QoS::ExactlyOnce,
        no_local: true,
        retain_as_published: true,
        retain_handling: RetainHandling::DoNotSend,
    };
    assert_eq!(options.to_byte(), 0b0010_1110);
    assert_eq!(
        SubscriptionOptions {
            retain_handling: RetainHandling::SendIfNew,
            ..Default::default()
        }
        .to_byte(),
        0x10
    );
}

fn subscribe_one<'a>(
    topics: &'a [SubscribeTopic<'a>],
    properties: Properties<'a>,
) -> Subscribe<'a> {
    Subscribe {
        packet_id: 1,
        properties,
        topics,
    }
}

#[test]
fn subscribe_rules() {
    let topic = |filter, no_local| SubscribeTopic {
        filter,
        options: SubscriptionOptions {
            no_local,
            ..Default::default()
        },
    };
    assert_eq!(
        enc_err(&subscribe_one(&[], Properties::NONE)),
        V5Error::NoTopicFilters
    );
    let ok = [topic("$share/g/a/#", false)];
    enc(&subscribe_one(&ok, Properties::NONE));
    // No Local on a shared subscription [MQTT-3.8.3-4].
    let shared = [topic("$share/g/a", true)];
    assert_eq!(
        enc_err(&subscribe_one(&shared, Properties::NONE)),
        V5Error::NoLocalOnSharedSubscription
    );
    // Share names [MQTT-4.8.2-1], [MQTT-4.8.2-2].
    for filter in [
        "$share/",
        "$share//a",
        "$share/g",
        "$share/g/",
        "$share/#/a",
    ] {
        let bad = [topic(filter, false)];
        let e = enc_err(&subscribe_one(&bad, Properties::NONE));
        assert!(
            matches!(
                e,
                V5Error::InvalidSharedSubscription | V5Error::InvalidTopicFilter
            ),
            "{filter}: {e:?}"
        );
    }
    let bad = [topic("a/#/b", false)];
    assert_eq!(
        enc_err(&subscribe_one(&bad, Properties::NONE)),
        V5Error::InvalidTopicFilter
    );
    // One Subscription Identifier, not 0 (3.8.2.1.2).
    let ids = [
        Property::SubscriptionIdentifier(1),
        Property::SubscriptionIdentifier(2),
    ];
    assert_eq!(
        enc_err(&subscribe_one(&ok, Properties::List(&ids))),
        V5Error::DuplicateProperty(PropertyId::SubscriptionIdentifier)
    );
    let id = [Property::SubscriptionIdentifier(128)];
    let bytes = enc(&subscribe_one(&ok, Properties::List(&id)));
    assert_eq!(bytes[4..8], [3, 0x0b, 0x80, 0x01]);
    let s = Subscribe {
        packet_id: 0,
        ..subscribe_one(&ok, Properties::NONE)
    };
    assert_eq!(enc_err(&s), V5Error::ZeroPacketId);
}

#[test]
fn unsubscribe_example_and_rules() {
    // Figure 3-30: "a/b" and "c/d".
    let u = Unsubscribe {
        packet_id: 10,
        properties: Properties::List(&[Property::UserProperty("k", "v")]),
        filters: &["a/b", "c/d"],
    };
    let body = concat(&[
        &[0, 10, 7, 0x26],
        &field(b"k"),
        &field(b"v"),
        &field(b"a/b"),
        &field(b"c/d"),
    ]);
    assert_eq!(enc(&u), packet(0xa2, &body));
    assert_eq!(
        enc_err(&Unsubscribe { filters: &[], ..u }),
        V5Error::NoTopicFilters
    );
    let why = [Property::ReasonString("x")];
    assert_eq!(
        enc_err(&Unsubscribe {
            properties: Properties::List(&why),
            ..u
        }),
        V5Error::PropertyNotAllowed(PropertyId::ReasonString)
    );
    assert_eq!(
        enc_err(&Unsubscribe {
            filters: &["a+"],
            ..u
        }),
        V5Error::InvalidTopicFilter
    );
}

/// The session's list-type request encodes as the slice encoders do: a
/// SUBSCRIBE as `Subscribe` with default options (and `SubscribeQos`, now
/// built on it, the same), an UNSUBSCRIBE as `Unsubscribe` without
/// properties, with the same errors.
#[test]
fn filter_request_matches_the_slice_encoders() {
    use super::SubscribeTopic as SubscribeTopic5;
    use crate::codec::SubscribeTopic;
    let topics = [
        SubscribeTopic {
            filter: "a/b",
            qos: QoS::AtLeastOnce,
        },
        SubscribeTopic {
            filter: "$share/g/c/#",
            qos: QoS::ExactlyOnce,
        },
    ];
    let list: &[SubscribeTopic<'_>] = &topics;
    let request = |unsubscribe, topics| FilterRequest {
        packet_id: 7,
        unsubscribe,
        topics,
    };
    // The full encoder, with every option but the QoS at its default.
    let with_options = topics.map(|t| SubscribeTopic5 {
        filter: t.filter,
        options: SubscriptionOptions {
            qos: t.qos,
            ..Default::default()
        },
    });
    let subscribe = Subscribe {
        packet_id: 7,
        properties: Properties::NONE,
        topics: &with_options,
    };
    assert_eq!(enc(&request(false, &list)), enc(&subscribe));
    let subscribe_qos = SubscribeQos {
        packet_id: 7,
        topics: &topics,
    };
    assert_eq!(enc(&subscribe_qos), enc(&subscribe));
    let filters = ["a/b", "$share/g/c/#"];
    let unsubscribe = Unsubscribe {
        packet_id: 7,
        properties: Properties::NONE,
        filters: &filters,
    };
    assert_eq!(enc(&request(true, &list)), enc(&unsubscribe));
    let none: &[SubscribeTopic<'_>] = &[];
    let bad: &[SubscribeTopic<'_>] = &[SubscribeTopic {
        filter: "a+",
        qos: QoS::AtMostOnce,
    }];
    for unsubscribe in [false, true] {
        assert_eq!(
            enc_err(&request(unsubscribe, &none)),
            V5Error::NoTopicFilters
        );
        assert_eq!(
            enc_err(&request(unsubscribe, &bad)),
            V5Error::InvalidTopicFilter
        );
        let zero = FilterRequest {
            packet_id: 0,
            ..request(unsubscribe, &list)
        };
        assert_eq!(enc_err(&zero), V5Error::ZeroPacketId);
    }
}

#[test]
fn disconnect_forms_and_rules() {
    let normal = Disconnect {
        reason: ReasonCode::NORMAL_DISCONNECTION,
        properties: Properties::NONE,
    };
    assert_eq!(enc(&normal), [0xe0, 0]);
    let will = Disconnect {
        reason: ReasonCode::DISCONNECT_WITH_WILL_MESSAGE,
        ..normal
    };
    assert_eq!(enc(&will), [0xe0, 1, 4]);
    let expiry = [Property::SessionExpiryInterval(0)];
    let with = Disconnect {
        properties: Properties::List(&expiry),
        ..normal
    };
    assert_eq!(enc(&with), [0xe0, 7, 0, 5, 0x11, 0, 0, 0, 0]);
    // Server-only codes are not the client's [MQTT-3.14.2-1].
    let moved = Disconnect {
        reason: ReasonCode::SERVER_MOVED,
        ..normal
    };
    assert_eq!(
        enc_err(&moved),
        V5Error::ReasonCodeNotAllowed(ReasonCode::SERVER_MOVED)
    );
    assert_eq!(enc(&ClientPacket::PingReq), [0xc0, 0]);
}

#[test]
fn auth_needs_a_method_and_a_client_code() {
    let method = [
        Property::AuthenticationMethod("SCRAM-SHA-1"),
        Property::AuthenticationData(b"n"),
    ];
    let a = Auth {
        reason: ReasonCode::CONTINUE_AUTHENTICATION,
        properties: Properties::List(&method),
    };
    let bytes = enc(&a);
    assert_eq!(bytes[..4], [0xf0, 20, 0x18, 18]);
    assert_eq!(dec(&bytes), ServerPacket::Auth(a));
    let reauth = Auth {
        reason: ReasonCode::RE_AUTHENTICATE,
        ..a
    };
    enc(&reauth);
    assert_eq!(
        enc_err(&Auth {
            properties: Properties::NONE,
            ..a
        }),
        V5Error::MissingAuthMethod
    );
    assert_eq!(
        enc_err(&Auth {
            reason: ReasonCode::SUCCESS,
            ..a
        }),
        V5Error::ReasonCodeNotAllowed(ReasonCode::SUCCESS)
    );
    let data_only = [Property::AuthenticationData(b"n")];
    assert_eq!(
        enc_err(&Auth {
            properties: Properties::List(&data_only),
            ..a
        }),
        V5Error::AuthDataWithoutMethod
    );
}

#[test]
fn packet_size_and_server_maximum() {
    let p = publish(QoS::AtMostOnce, "t", 0, Properties::NONE);
    let size = p.size().unwrap();
    assert_eq!(size.body(), 2 + 1 + 1 + 2);
    assert_eq!(size.total(), 8);
    assert_eq!(size.check_max(None), Ok(()));
    assert_eq!(size.check_max(Some(8)), Ok(()));
    assert_eq!(size.check_max(Some(7)), Err(V5Error::PacketTooLarge));
    let mut out = [0u8; 8];
    assert_eq!(p.encode_sized(&size, &mut out), Ok(8));
    // Beyond what a Remaining Length can say.
    let huge = vec![0u8; VARINT_MAX as usize];
    let big = Publish {
        payload: &huge,
        ..p
    };
    assert_eq!(big.size(), Err(V5Error::PacketTooLarge));
}

// ---------------------------------------------------------------------------
// What a server sends
// ---------------------------------------------------------------------------

fn connack_bytes(flags: u8, reason: u8, properties: &[u8]) -> Vec<u8> {
    packet(0x20, &concat(&[&[flags, reason], &with_len(properties)]))
}

#[test]
fn connack_with_every_connack_property() {
    let list: Vec<Property<'_>> = EVERY_PROPERTY
        .iter()
        .copied()
        .filter(|p| p.id().allowed_in(PropertyContext::ConnAck))
        .collect();
    assert_eq!(list.len(), 17);
    let bytes = connack_bytes(1, 0, &props(&list));
    let ServerPacket::ConnAck(ack) = dec(&bytes) else {
        panic!()
    };
    assert!(ack.session_present);
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
    assert_eq!(ack.properties, Properties::List(&list));
    let limits = ack.limits();
    assert_eq!(limits.session_expiry_interval, Some(u32::MAX));
    assert_eq!(limits.receive_maximum, 20);
    assert_eq!(limits.maximum_qos, QoS::AtLeastOnce);
    assert!(!limits.retain_available);
    assert_eq!(limits.maximum_packet_size, Some(1024));
    assert_eq!(limits.assigned_client_identifier, Some("auto-1"));
    assert_eq!(limits.topic_alias_maximum, 10);
    assert!(limits.wildcard_subscription_available);
    assert!(!limits.subscription_identifier_available);
    assert!(limits.shared_subscription_available);
    assert_eq!(limits.server_keep_alive, Some(30));
}

#[test]
fn connack_defaults_and_refusals() {
    let ServerPacket::ConnAck(ack) = dec(&[0x20, 3, 0, 0, 0]) else {
        panic!()
    };
    let limits = ack.limits();
    // Absent properties take the standard's defaults (3.2.2.3).
    assert_eq!(limits.receive_maximum, 65_535);
    assert_eq!(limits.maximum_qos, QoS::ExactlyOnce);
    assert!(limits.retain_available && limits.wildcard_subscription_available);
    assert_eq!(limits.topic_alias_maximum, 0);
    assert_eq!(limits.maximum_packet_size, None);
    // A refusal with a reason string.
    let refused = connack_bytes(0, 0x86, &props(&[Property::ReasonString("bad")]));
    let ServerPacket::ConnAck(ack) = dec(&refused) else {
        panic!()
    };
    assert_eq!(ack.reason, ReasonCode::BAD_USER_NAME_OR_PASSWORD);
    // Session present with a refusal [MQTT-3.2.2-6], reserved flags
    // [MQTT-3.2.2-1], codes outside Table 3-1 [MQTT-3.2.2-8].
    assert_eq!(
        dec_err(&connack_bytes(1, 0x87, &[])),
        V5Error::SessionPresentOnError
    );
    assert_eq!(
        dec_err(&connack_bytes(2, 0, &[])),
        V5Error::InvalidConnackFlags
    );
    assert_eq!(
        dec_err(&connack_bytes(0, 0x01, &[])),
        V5Error::InvalidReasonCode(ReasonCode(1))
    );
    assert_eq!(
        dec_err(&connack_bytes(0, 0x8b, &[])),
        V5Error::InvalidReasonCode(ReasonCode(0x8b))
    );
    // No Property Length, or one past the end, is malformed (3.2.2.3.1).
    assert_eq!(dec_err(&[0x20, 2, 0, 0]), V5Error::MalformedPacket);
    assert_eq!(dec_err(&[0x20, 3, 0, 0, 1]), V5Error::MalformedPacket);
    // Trailing bytes.
    assert_eq!(dec_err(&[0x20, 4, 0, 0, 0, 0]), V5Error::MalformedPacket);
    // Properties of other packets.
    let topic_alias = props(&[Property::TopicAlias(1)]);
    assert_eq!(
        dec_err(&connack_bytes(0, 0, &topic_alias)),
        V5Error::PropertyNotAllowed(PropertyId::TopicAlias)
    );
}

fn publish_bytes(
    first: u8,
    topic: &[u8],
    id: Option<u16>,
    properties: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let id = id.map(|id| id.to_be_bytes().to_vec()).unwrap_or_default();
    packet(
        first,
        &concat(&[&field(topic), &id, &with_len(properties), payload]),
    )
}

#[test]
fn publish_from_the_server() {
    // Several Subscription Identifiers, a topic alias, user properties in order.
    let list = [
        Property::SubscriptionIdentifier(1),
        Property::UserProperty("a", "1"),
        Property::SubscriptionIdentifier(70_000),
        Property::UserProperty("a", "2"),
        Property::TopicAlias(4),
    ];
    let bytes = publish_bytes(0x3b, b"s/t", Some(9), &props(&list), b"data");
    let ServerPacket::Publish(p) = dec(&bytes) else {
        panic!()
    };
    assert!(p.dup && p.retain);
    assert_eq!(
        (p.qos, p.topic, p.packet_id, p.payload),
        (QoS::AtLeastOnce, "s/t", 9, &b"data"[..])
    );
    assert_eq!(p.properties, Properties::List(&list));
    assert_eq!(
        p.properties.user_properties().collect::<Vec<_>>(),
        [("a", "1"), ("a", "2")]
    );
    assert_eq!(p.topic_alias(), Some(4));
    assert_eq!(p.check_topic_alias(4), Ok(()));
    assert_eq!(p.check_topic_alias(3), Err(V5Error::TopicAliasInvalid));
    // An alias standing for the topic.
    let alias = props(&[Property::TopicAlias(2)]);
    let wire = publish_bytes(0x30, b"", None, &alias, b"");
    let ServerPacket::Publish(p) = dec(&wire) else {
        panic!()
    };
    assert_eq!(p.topic, "");
    assert_eq!(p.check_topic_alias(0), Err(V5Error::TopicAliasInvalid));
}

#[test]
fn publish_rules_on_receipt() {
    let none: &[u8] = &[];
    let cases: [(Vec<u8>, V5Error); 9] = [
        (
            publish_bytes(0x30, b"", None, none, b""),
            V5Error::EmptyTopicWithoutAlias,
        ),
        (
            publish_bytes(0x30, b"a/+", None, none, b""),
            V5Error::WildcardInTopicName,
        ),
        (
            publish_bytes(0x30, b"a\0", None, none, b""),
            V5Error::NullCharacter,
        ),
        (
            publish_bytes(0x30, b"\xc0\x80", None, none, b""),
            V5Error::InvalidUtf8,
        ),
        (
            publish_bytes(0x36, b"a", Some(1), none, b""),
            V5Error::InvalidQos,
        ),
        (
            publish_bytes(0x38, b"a", None, none, b""),
            V5Error::InvalidFlags,
        ),
        (
            publish_bytes(0x32, b"a", Some(0), none, b""),
            V5Error::ZeroPacketId,
        ),
        (
            publish_bytes(0x30, b"a", None, &[0x23, 0, 0], b""),
            V5Error::TopicAliasInvalid,
        ),
        (
            publish_bytes(
                0x30,
                b"a",
                None,
                &props(&[Property::ReasonString("r")]),
                b"",
            ),
            V5Error::PropertyNotAllowed(PropertyId::ReasonString),
        ),
    ];
    for (bytes, expected) in cases {
        assert_eq!(dec_err(&bytes), expected, "{bytes:02x?}");
    }
    assert_eq!(e_reason(V5Error::InvalidQos), 0x81);
    assert_eq!(e_reason(V5Error::EmptyTopicWithoutAlias), 0x82);
    // A payload marked UTF-8 that is not: the receiver MAY refuse it.
    let marked = props(&[Property::PayloadFormatIndicator(true)]);
    let wire = publish_bytes(0x30, b"a", None, &marked, b"\xff");
    let ServerPacket::Publish(p) = dec(&wire) else {
        panic!()
    };
    assert_eq!(p.check_payload_format(), Err(V5Error::PayloadFormatInvalid));
}

#[test]
fn pub_responses_from_the_server() {
    // Remaining Length 2, 3 and 4 (3.4.2.1, 3.4.2.2.1).
    assert_eq!(
        dec(&[0x40, 2, 0, 1]),
        ServerPacket::PubAck(PubResponse::success(1))
    );
    let ServerPacket::PubRec(r) = dec(&[0x50, 3, 0, 1, 0x10]) else {
        panic!()
    };
    assert_eq!(
        (r.reason, r.properties),
        (ReasonCode::NO_MATCHING_SUBSCRIBERS, Properties::NONE)
    );
    let ServerPacket::PubRel(r) = dec(&[0x62, 4, 0, 1, 0x92, 0]) else {
        panic!()
    };
    assert_eq!(r.reason, ReasonCode::PACKET_IDENTIFIER_NOT_FOUND);
    let ServerPacket::PubComp(r) = dec(&[0x70, 4, 0, 1, 0, 0]) else {
        panic!()
    };
    assert_eq!(r, PubResponse::success(1));
    // Flags [MQTT-3.6.1-1], codes from the packet's table, id 0, a
    // Property Length past the end.
    assert_eq!(dec_err(&[0x60, 2, 0, 1]), V5Error::InvalidFlags);
    assert_eq!(dec_err(&[0x41, 2, 0, 1]), V5Error::InvalidFlags);
    assert_eq!(
        dec_err(&[0x40, 3, 0, 1, 0x92]),
        V5Error::InvalidReasonCode(ReasonCode(0x92))
    );
    assert_eq!(
        dec_err(&[0x62, 3, 0, 1, 0x10]),
        V5Error::InvalidReasonCode(ReasonCode(0x10))
    );
    assert_eq!(dec_err(&[0x40, 2, 0, 0]), V5Error::ZeroPacketId);
    assert_eq!(dec_err(&[0x40, 4, 0, 1, 0, 1]), V5Error::MalformedPacket);
    assert_eq!(dec_err(&[0x40, 1, 0]), V5Error::MalformedPacket);
}

#[test]
fn suback_and_unsuback() {
    let body = concat(&[
        &[0, 5],
        &with_len(&props(&[Property::ReasonString("r")])),
        &[0, 1, 2, 0x80, 0xa2],
    ]);
    let wire = packet(0x90, &body);
    let ServerPacket::SubAck(s) = dec(&wire) else {
        panic!()
    };
    assert_eq!(s.packet_id, 5);
    assert_eq!(
        s.codes().collect::<Vec<_>>(),
        [0, 1, 2, 0x80, 0xa2].map(ReasonCode)
    );
    let wire = packet(0xb0, &[0, 5, 0, 0x00, 0x11, 0x87]);
    let ServerPacket::UnsubAck(u) = dec(&wire) else {
        panic!()
    };
    assert_eq!(
        u.codes().collect::<Vec<_>>(),
        [0x00, 0x11, 0x87].map(ReasonCode)
    );
    // [MQTT-3.9.3-2], [MQTT-3.11.3-2]: codes from their own tables.
    assert_eq!(
        dec_err(&packet(0x90, &[0, 5, 0, 0x11])),
        V5Error::InvalidReasonCode(ReasonCode(0x11))
    );
    assert_eq!(
        dec_err(&packet(0xb0, &[0, 5, 0, 0x01])),
        V5Error::InvalidReasonCode(ReasonCode(0x01))
    );
    assert_eq!(dec_err(&packet(0x90, &[0, 5, 0])), V5Error::NoReasonCodes);
    assert_eq!(dec_err(&packet(0xb0, &[0, 5, 0])), V5Error::NoReasonCodes);
    assert_eq!(dec_err(&packet(0x90, &[0, 0, 0, 0])), V5Error::ZeroPacketId);
    assert_eq!(dec_err(&packet(0x92, &[0, 5, 0, 0])), V5Error::InvalidFlags);
}

#[test]
fn disconnect_from_the_server() {
    // Remaining Length 0, 1, and the form of Figure 3-24 (code 0, no properties).
    let normal = Disconnect {
        reason: ReasonCode::NORMAL_DISCONNECTION,
        properties: Properties::NONE,
    };
    assert_eq!(dec(&[0xe0, 0]), ServerPacket::Disconnect(normal));
    assert_eq!(dec(&[0xe0, 2, 0, 0]), ServerPacket::Disconnect(normal));
    let ServerPacket::Disconnect(d) = dec(&[0xe0, 1, 0x8b]) else {
        panic!()
    };
    assert_eq!(d.reason, ReasonCode::SERVER_SHUTTING_DOWN);
    let moved = props(&[
        Property::ServerReference("b:1883"),
        Property::ReasonString("bye"),
    ]);
    let wire = packet(0xe0, &concat(&[&[0x9d], &with_len(&moved)]));
    let ServerPacket::Disconnect(d) = dec(&wire) else {
        panic!()
    };
    assert_eq!(
        d.properties.get(PropertyId::ServerReference),
        Some(Property::ServerReference("b:1883"))
    );
    // [MQTT-3.14.2-2], the client-only 0x04, reserved flags [MQTT-3.14.1-1].
    let expiry = props(&[Property::SessionExpiryInterval(1)]);
    assert_eq!(
        dec_err(&packet(0xe0, &concat(&[&[0], &with_len(&expiry)]))),
        V5Error::SessionExpiryFromServer
    );
    assert_eq!(
        dec_err(&[0xe0, 1, 0x04]),
        V5Error::InvalidReasonCode(ReasonCode(4))
    );
    assert_eq!(dec_err(&[0xe1, 0]), V5Error::InvalidFlags);
}

#[test]
fn auth_from_the_server() {
    assert_eq!(
        dec(&[0xf0, 0]),
        ServerPacket::Auth(Auth {
            reason: ReasonCode::SUCCESS,
            properties: Properties::NONE
        })
    );
    let method = props(&[Property::AuthenticationMethod("m")]);
    let wire = packet(0xf0, &concat(&[&[0x18], &with_len(&method)]));
    let ServerPacket::Auth(a) = dec(&wire) else {
        panic!()
    };
    assert_eq!(a.reason, ReasonCode::CONTINUE_AUTHENTICATION);
    // Authentication Method required (3.15.2.2.2); a reason without a
    // Property Length is malformed; 0x19 is the client's.
    assert_eq!(dec_err(&[0xf0, 2, 0x18, 0]), V5Error::MissingAuthMethod);
    assert_eq!(dec_err(&[0xf0, 1, 0x18]), V5Error::MalformedPacket);
    assert_eq!(
        dec_err(&packet(0xf0, &concat(&[&[0x19], &with_len(&method)]))),
        V5Error::InvalidReasonCode(ReasonCode(0x19))
    );
    assert_eq!(dec_err(&[0xf8, 0]), V5Error::InvalidFlags);
}

#[test]
fn pingresp_and_packet_types() {
    assert_eq!(dec(&[0xd0, 0]), ServerPacket::PingResp);
    assert_eq!(dec_err(&[0xd0, 1, 0]), V5Error::MalformedPacket);
    // Type 0 is reserved; what only a client sends is a Protocol Error,
    // found from the first byte.
    assert_eq!(dec_err(&[0x00]), V5Error::InvalidPacketType(0));
    for kind in [1u8, 8, 10, 12] {
        assert_eq!(dec_err(&[kind << 4]), V5Error::UnexpectedPacket(kind));
        assert_eq!(e_reason(V5Error::UnexpectedPacket(kind)), 0x82);
    }
}

#[test]
fn framing_limits() {
    // Non-minimal Remaining Length [MQTT-1.5.5-1], five length bytes, and
    // the client's Maximum Packet Size (0x95) from the header alone.
    assert_eq!(dec_err(&[0xd0, 0x80, 0x00]), V5Error::NonMinimalVarInt);
    assert_eq!(
        dec_err(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]),
        V5Error::MalformedVarInt
    );
    assert_eq!(
        decode_from_server(&[0x30, 0x80, 0x01], 130),
        Err(V5Error::PacketTooLarge)
    );
    assert_eq!(e_reason(V5Error::PacketTooLarge), 0x95);
    assert_eq!(
        decode_from_server(&[0x30, 0x80, 0x01], 131),
        Ok(Decoded::Incomplete { needed: 128 })
    );
    assert_eq!(
        decode_from_server(&[], 10),
        Ok(Decoded::Incomplete { needed: 1 })
    );
    assert_eq!(
        decode_from_server(&[0x30], 10),
        Ok(Decoded::Incomplete { needed: 1 })
    );
    let f = frame(&[0x30, 0x80, 0x01], usize::MAX).unwrap().unwrap();
    assert_eq!((f.header_len, f.body_len), (3, 128));
    // Two packets back to back: the first is taken alone.
    let two = concat(&[&[0xd0, 0], &[0xe0, 0]]);
    assert_eq!(
        decode_from_server(&two, usize::MAX),
        Ok(Decoded::Packet {
            packet: ServerPacket::PingResp,
            len: 2
        })
    );
}

/// One valid packet of every type a server sends.
fn server_samples() -> Vec<Vec<u8>> {
    let every_connack: Vec<Property<'_>> = EVERY_PROPERTY
        .iter()
        .copied()
        .filter(|p| p.id().allowed_in(PropertyContext::ConnAck))
        .collect();
    let publish_props = props(&[
        Property::TopicAlias(2),
        Property::SubscriptionIdentifier(300),
        Property::UserProperty("k", "v"),
        Property::CorrelationData(b"id"),
    ]);
    let why = props(&[
        Property::ReasonString("r"),
        Property::UserProperty("k", "v"),
    ]);
    vec![
        connack_bytes(0, 0, &props(&every_connack)),
        connack_bytes(1, 0, &[]),
        publish_bytes(0x35, b"a/b", Some(3), &publish_props, b"payload"),
        publish_bytes(0x30, b"", None, &props(&[Property::TopicAlias(1)]), b""),
        vec![0x40, 2, 0, 1],
        vec![0x50, 3, 0, 1, 0x80],
        packet(0x62, &concat(&[&[0, 1, 0x92], &with_len(&why)])),
        vec![0x70, 4, 0, 1, 0, 0],
        packet(0x90, &concat(&[&[0, 2], &with_len(&why), &[0, 1, 0x80]])),
        packet(0xb0, &[0, 2, 0, 0x11]),
        vec![0xd0, 0],
        vec![0xe0, 0],
        packet(
            0xe0,
            &concat(&[
                &[0x9c],
                &with_len(&props(&[Property::ServerReference("s")])),
            ]),
        ),
        packet(
            0xf0,
            &concat(&[
                &[0x18],
                &with_len(&props(&[Property::AuthenticationMethod("m")])),
            ]),
        ),
    ]
}

#[test]
fn every_prefix_is_incomplete_and_every_cut_body_fails_cleanly() {
    for bytes in server_samples() {
        dec(&bytes);
        for cut in 0..bytes.len() {
            match decode_from_server(&bytes[..cut], usize::MAX) {
                Ok(Decoded::Incomplete { needed }) => {
                    assert!(needed >= 1 && cut + needed <= bytes.len())
                }
                other => panic!("prefix {cut} of {bytes:02x?}: {other:?}"),
            }
        }
        // The same bytes with a Remaining Length that stops early: an error
        // or a shorter valid packet (a short form), never a panic.
        let frame = frame(&bytes, usize::MAX).unwrap().unwrap();
        let body = &bytes[frame.header_len..];
        for cut in 0..body.len() {
            let short = packet(bytes[0], &body[..cut]);
            let _ = decode_from_server(&short, usize::MAX);
        }
    }
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

const TEXTS: [&str; 5] = ["a", "b/c", "é", "text/plain; charset=utf-8", "\u{10ffff}"];
const BLOBS: [&[u8]; 4] = [b"", b"\x00", b"\xff\xfe", b"correlation"];

fn text() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&TEXTS[..])
}

fn blob() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(&BLOBS[..])
}

/// Any property with a valid value.
fn property() -> impl Strategy<Value = Property<'static>> {
    use Property as P;
    let qos = prop::sample::select(&[QoS::AtMostOnce, QoS::AtLeastOnce][..]);
    prop_oneof![
        any::<bool>().prop_map(P::PayloadFormatIndicator),
        any::<u32>().prop_map(P::MessageExpiryInterval),
        text().prop_map(P::ContentType),
        text().prop_map(P::ResponseTopic),
        blob().prop_map(P::CorrelationData),
        (1..=VARINT_MAX).prop_map(P::SubscriptionIdentifier),
        any::<u32>().prop_map(P::SessionExpiryInterval),
        text().prop_map(P::AssignedClientIdentifier),
        any::<u16>().prop_map(P::ServerKeepAlive),
        text().prop_map(P::AuthenticationMethod),
        blob().prop_map(P::AuthenticationData),
        any::<bool>().prop_map(P::RequestProblemInformation),
        any::<u32>().prop_map(P::WillDelayInterval),
        any::<bool>().prop_map(P::RequestResponseInformation),
        text().prop_map(P::ResponseInformation),
        text().prop_map(P::ServerReference),
        text().prop_map(P::ReasonString),
        (1..=u16::MAX).prop_map(P::ReceiveMaximum),
        any::<u16>().prop_map(P::TopicAliasMaximum),
        (1..=u16::MAX).prop_map(P::TopicAlias),
        qos.prop_map(P::MaximumQos),
        any::<bool>().prop_map(P::RetainAvailable),
        (text(), text()).prop_map(|(k, v)| P::UserProperty(k, v)),
        (1..=u32::MAX).prop_map(P::MaximumPacketSize),
        any::<bool>().prop_map(P::WildcardSubscriptionAvailable),
        any::<bool>().prop_map(P::SubscriptionIdentifierAvailable),
        any::<bool>().prop_map(P::SharedSubscriptionAvailable),
    ]
}

/// A valid property list for `context` drawn from `candidates`: those it
/// allows, each non-repeatable one once, Authentication Data with a method.
fn valid_for(
    context: PropertyContext,
    candidates: Vec<Property<'static>>,
) -> Vec<Property<'static>> {
    let mut list: Vec<Property<'static>> = Vec::new();
    for p in candidates {
        let id = p.id();
        if id.allowed_in(context)
            && (id.may_repeat_in(context) || list.iter().all(|q| q.id() != id))
        {
            list.push(p);
        }
    }
    let has = |list: &[Property<'_>], id| list.iter().any(|p| p.id() == id);
    if has(&list, PropertyId::AuthenticationData) && !has(&list, PropertyId::AuthenticationMethod) {
        list.push(Property::AuthenticationMethod("m"));
    }
    list
}

fn context() -> impl Strategy<Value = PropertyContext> {
    prop::sample::select(&EVERY_CONTEXT[..])
}

fn qos() -> impl Strategy<Value = QoS> {
    prop::sample::select(&[QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][..])
}

/// A test-only reader of CONNECT, SUBSCRIBE and UNSUBSCRIBE (the codec has
/// no decoder for what a client sends): checks an encoding field by field.
fn read_client_packet(bytes: &[u8]) -> (u8, Reader<'_>) {
    let f = frame(bytes, usize::MAX).unwrap().unwrap();
    assert_eq!(f.total_len(), bytes.len());
    (bytes[0], Reader::new(&bytes[f.header_len..]))
}

/// Properties held elsewhere, read through [`PropertySource`].
#[derive(Debug)]
struct Held(Vec<Property<'static>>);

impl PropertySource for Held {
    fn property(&self, index: usize) -> Option<Property<'_>> {
        self.0.get(index).copied()
    }
}

#[test]
fn from_parts_refuses_values_out_of_their_type() {
    use PropertyId as I;
    let bad = V5Error::InvalidPropertyValue;
    assert_eq!(
        Property::from_parts(I::PayloadFormatIndicator, 2, &[], &[]),
        Err(bad(I::PayloadFormatIndicator))
    );
    assert_eq!(
        Property::from_parts(I::MaximumQos, 2, &[], &[]),
        Err(bad(I::MaximumQos))
    );
    assert_eq!(
        Property::from_parts(I::ReceiveMaximum, 65_536, &[], &[]),
        Err(bad(I::ReceiveMaximum))
    );
    assert_eq!(
        Property::from_parts(I::SubscriptionIdentifier, VARINT_MAX + 1, &[], &[]),
        Err(bad(I::SubscriptionIdentifier))
    );
    assert_eq!(
        Property::from_parts(I::ContentType, 0, b"\xff", &[]),
        Err(V5Error::InvalidUtf8)
    );
    assert_eq!(
        Property::from_parts(I::ReasonString, 0, b"a\0b", &[]),
        Err(V5Error::NullCharacter)
    );
    assert_eq!(
        Property::from_parts(I::UserProperty, 0, b"k", b"\xc0\x80"),
        Err(V5Error::InvalidUtf8)
    );
    let long = vec![b'a'; 65_536];
    assert_eq!(
        Property::from_parts(I::CorrelationData, 0, &long, &[]),
        Err(V5Error::StringTooLong)
    );
    // Binary data is any bytes; what a type does not use is ignored.
    assert_eq!(
        Property::from_parts(I::CorrelationData, 7, b"\xff\0", b"x"),
        Ok(Property::CorrelationData(b"\xff\0"))
    );
}

#[test]
fn a_source_that_converts_nothing_is_an_empty_list() {
    let empty = Held(Vec::new());
    assert!(Properties::Source(&empty).is_empty());
    assert_eq!(
        Properties::Source(&empty).checked_len(PropertyContext::Publish),
        Ok(0)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn prop_from_parts_round_trips_every_property(p in property()) {
        let (number, data, value) = p.parts();
        prop_assert_eq!(Property::from_parts(p.id(), number, data, value), Ok(p));
    }

    #[test]
    fn prop_a_source_and_a_joined_list_encode_as_the_list(
        context in context(),
        first in prop::collection::vec(property(), 0..6),
        second in prop::collection::vec(property(), 0..6),
    ) {
        let whole = valid_for(context, first.iter().chain(&second).copied().collect());
        let split = whole.len().min(first.len());
        let (a, b) = whole.split_at(split);
        let held = Held(whole.clone());
        let joined = Joined(Properties::List(a), Properties::List(b));
        let as_list = Properties::List(&whole);
        for other in [Properties::Source(&held), Properties::Source(&joined)] {
            prop_assert_eq!(other.checked_len(context), as_list.checked_len(context));
            prop_assert_eq!(other, as_list);
            let len = as_list.checked_len(context).unwrap();
            let mut want = vec![0u8; len + 4];
            let mut got = vec![0u8; len + 4];
            as_list.write(&mut wire::Writer::new(&mut want), len);
            other.write(&mut wire::Writer::new(&mut got), len);
            prop_assert_eq!(got, want);
        }
        // A repeat of a property that may not repeat is refused either way.
        if let Some(once) = whole.iter().find(|p| !p.id().may_repeat_in(context)) {
            let twice = Joined(Properties::List(&whole), Properties::List(core::slice::from_ref(once)));
            prop_assert_eq!(
                Properties::Source(&twice).checked_len(context),
                Err(V5Error::DuplicateProperty(once.id()))
            );
        }
    }

    #[test]
    fn prop_varint_round_trip(value in 0..=VARINT_MAX) {
        let bytes = vbi(value);
        prop_assert_eq!(bytes.len(), varint_len(value));
        prop_assert_eq!(decode_varint(&bytes), Ok(Some((value, bytes.len()))));
    }

    #[test]
    fn prop_properties_round_trip(context in context(), candidates in prop::collection::vec(property(), 0..12)) {
        let list = valid_for(context, candidates);
        let len = Properties::List(&list).checked_len(context).unwrap();
        let bytes = props(&list);
        prop_assert_eq!(bytes.len(), len);
        let parsed = Properties::parse(&bytes, context).unwrap();
        prop_assert_eq!(parsed.iter().collect::<Vec<_>>(), list);
    }

    #[test]
    fn prop_publish_round_trip(
        qos in qos(),
        dup in any::<bool>(),
        retain in any::<bool>(),
        topic in text().prop_filter("a topic name", |t| !t.contains('+')),
        packet_id in 1..=u16::MAX,
        candidates in prop::collection::vec(property(), 0..8),
        payload in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let list: Vec<_> = valid_for(PropertyContext::Publish, candidates)
            .into_iter()
            .filter(|p| p.id() != PropertyId::SubscriptionIdentifier)
            .filter(|p| *p != Property::PayloadFormatIndicator(true))
            .collect();
        let p = Publish {
            dup: dup && qos != QoS::AtMostOnce,
            qos,
            retain,
            topic,
            packet_id: if qos == QoS::AtMostOnce { 0 } else { packet_id },
            properties: Properties::List(&list),
            payload: &payload,
        };
        let bytes = enc(&p);
        prop_assert_eq!(dec(&bytes), ServerPacket::Publish(p));
    }

    #[test]
    fn prop_responses_round_trip(
        kind in 0..4usize,
        packet_id in 1..=u16::MAX,
        code in any::<u8>(),
        candidates in prop::collection::vec(property(), 0..4),
    ) {
        let kinds = [AckKind::PubAck, AckKind::PubRec, AckKind::PubRel, AckKind::PubComp];
        let list = valid_for(PropertyContext::PubResponse, candidates);
        let r = PubResponse { packet_id, reason: ReasonCode(code), properties: Properties::List(&list) };
        let mut out = [0u8; 512];
        match r.encode(kinds[kind], &mut out) {
            Ok(len) => {
                let expected = match kind {
                    0 => ServerPacket::PubAck(r),
                    1 => ServerPacket::PubRec(r),
                    2 => ServerPacket::PubRel(r),
                    _ => ServerPacket::PubComp(r),
                };
                prop_assert_eq!(dec(&out[..len]), expected);
            }
            Err(e) => prop_assert_eq!(e, V5Error::ReasonCodeNotAllowed(ReasonCode(code))),
        }
    }

    #[test]
    fn prop_disconnect_and_auth_round_trip(
        code in any::<u8>(),
        candidates in prop::collection::vec(property(), 0..6),
    ) {
        let reason = ReasonCode(code);
        let list = valid_for(PropertyContext::Disconnect, candidates.clone())
            .into_iter()
            .filter(|p| p.id() != PropertyId::SessionExpiryInterval)
            .collect::<Vec<_>>();
        let d = Disconnect { reason, properties: Properties::List(&list) };
        match d.encoded_len() {
            Ok(_) if reason.allowed_in(ReasonPacket::Disconnect, Sender::Server) => {
                let wire = enc(&d);
                prop_assert_eq!(dec(&wire), ServerPacket::Disconnect(d));
            }
            Ok(_) => prop_assert!(dec_err(&enc(&d)) == V5Error::InvalidReasonCode(reason)),
            Err(e) => prop_assert_eq!(e, V5Error::ReasonCodeNotAllowed(reason)),
        }
        let mut list = valid_for(PropertyContext::Auth, candidates);
        if !list.iter().any(|p| p.id() == PropertyId::AuthenticationMethod) {
            list.push(Property::AuthenticationMethod("m"));
        }
        let a = Auth { reason, properties: Properties::List(&list) };
        if reason == ReasonCode::CONTINUE_AUTHENTICATION {
            let wire = enc(&a);
            prop_assert_eq!(dec(&wire), ServerPacket::Auth(a));
        }
    }

    #[test]
    fn prop_connect_fields_in_order(
        clean_start in any::<bool>(),
        keep_alive in any::<u16>(),
        candidates in prop::collection::vec(property(), 0..8),
        will_candidates in prop::collection::vec(property(), 0..8),
        with_will in any::<bool>(),
        will_qos in qos(),
        username in prop::option::of(text()),
        password in prop::option::of(blob()),
    ) {
        let list = valid_for(PropertyContext::Connect, candidates);
        let will_list: Vec<_> = valid_for(PropertyContext::Will, will_candidates)
            .into_iter()
            .filter(|p| *p != Property::PayloadFormatIndicator(true))
            .collect();
        let will = with_will.then_some(Will {
            properties: Properties::List(&will_list),
            topic: "w/t",
            payload: b"gone",
            qos: will_qos,
            retain: true,
        });
        let c = Connect { clean_start, keep_alive, properties: Properties::List(&list), client_id: "id", will, username, password };
        let bytes = enc(&c);
        let (first, mut r) = read_client_packet(&bytes);
        prop_assert_eq!(first, 0x10);
        prop_assert_eq!(r.string().unwrap(), "MQTT");
        prop_assert_eq!(r.u8().unwrap(), 5);
        let flags = r.u8().unwrap();
        prop_assert_eq!(flags & 0x01, 0);
        prop_assert_eq!(flags & 0x02 != 0, clean_start);
        prop_assert_eq!(r.u16().unwrap(), keep_alive);
        prop_assert_eq!(Properties::read(&mut r, PropertyContext::Connect).unwrap(), c.properties);
        prop_assert_eq!(r.string().unwrap(), "id");
        if let Some(will) = will {
            prop_assert_eq!(flags & 0x3c, 0x04 | (will_qos as u8) << 3 | 0x20);
            prop_assert_eq!(Properties::read(&mut r, PropertyContext::Will).unwrap(), will.properties);
            prop_assert_eq!(r.string().unwrap(), "w/t");
            prop_assert_eq!(r.binary().unwrap(), b"gone");
        } else {
            prop_assert_eq!(flags & 0x3c, 0);
        }
        prop_assert_eq!(flags & 0x80 != 0, username.is_some());
        if let Some(username) = username {
            prop_assert_eq!(r.string().unwrap(), username);
        }
        prop_assert_eq!(flags & 0x40 != 0, password.is_some());
        if let Some(password) = password {
            prop_assert_eq!(r.binary().unwrap(), password);
        }
        prop_assert!(r.finish().is_ok());
    }

    #[test]
    fn prop_subscribe_and_unsubscribe_fields_in_order(
        packet_id in 1..=u16::MAX,
        entries in prop::collection::vec((prop::sample::select(&["a", "a/+", "#", "$share/g/x/#", "+/b"][..]), qos(), any::<bool>(), any::<bool>(), 0..3u8), 1..5),
        candidates in prop::collection::vec(property(), 0..6),
    ) {
        let handling = [RetainHandling::SendAtSubscribe, RetainHandling::SendIfNew, RetainHandling::DoNotSend];
        let topics: Vec<SubscribeTopic<'_>> = entries
            .iter()
            .map(|&(filter, qos, no_local, rap, rh)| SubscribeTopic {
                filter,
                options: SubscriptionOptions {
                    qos,
                    no_local: no_local && !filter.starts_with("$share/"),
                    retain_as_published: rap,
                    retain_handling: handling[rh as usize],
                },
            })
            .collect();
        let list = valid_for(PropertyContext::Subscribe, candidates.clone());
        let s = Subscribe { packet_id, properties: Properties::List(&list), topics: &topics };
        let bytes = enc(&s);
        let (first, mut r) = read_client_packet(&bytes);
        prop_assert_eq!(first, 0x82);
        prop_assert_eq!(r.packet_id().unwrap(), packet_id);
        prop_assert_eq!(Properties::read(&mut r, PropertyContext::Subscribe).unwrap(), s.properties);
        for topic in &topics {
            prop_assert_eq!(r.string().unwrap(), topic.filter);
            let options = r.u8().unwrap();
            prop_assert_eq!(options, topic.options.to_byte());
            prop_assert_eq!(options & 0xc0, 0);
            prop_assert!(options >> 4 & 3 != 3);
        }
        prop_assert!(r.finish().is_ok());

        let filters: Vec<&str> = topics.iter().map(|t| t.filter).collect();
        let list = valid_for(PropertyContext::Unsubscribe, candidates);
        let u = Unsubscribe { packet_id, properties: Properties::List(&list), filters: &filters };
        let bytes = enc(&u);
        let (first, mut r) = read_client_packet(&bytes);
        prop_assert_eq!(first, 0xa2);
        prop_assert_eq!(r.packet_id().unwrap(), packet_id);
        prop_assert_eq!(Properties::read(&mut r, PropertyContext::Unsubscribe).unwrap(), u.properties);
        for filter in &filters {
            prop_assert_eq!(r.string().unwrap(), *filter);
        }
        prop_assert!(r.finish().is_ok());
    }

    #[test]
    fn prop_decode_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check_decode(&bytes);
    }

    #[test]
    fn prop_decode_mutated_samples_never_panics(
        sample in 0..14usize,
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = server_samples()[sample].clone();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        check_decode(&bytes);
    }
}

/// Decoding never panics, never claims more than the input, and what it
/// returns iterates and decodes again the same from exactly its bytes.
fn check_decode(bytes: &[u8]) {
    match decode_from_server(bytes, 4096) {
        Ok(Decoded::Packet { packet, len }) => {
            assert!(len >= 2 && len <= bytes.len());
            assert_eq!(
                decode_from_server(&bytes[..len], 4096),
                Ok(Decoded::Packet { packet, len })
            );
            if let ServerPacket::Publish(p) = packet {
                let _ = p.properties.iter().count();
            }
        }
        Ok(Decoded::Incomplete { needed }) => assert!(needed >= 1),
        Err(e) => assert!(e.reason_code().is_some(), "{e:?} from decoding"),
    }
}
