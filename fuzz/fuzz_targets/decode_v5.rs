//! Arbitrary bytes into the MQTT 5 decoder of what a server sends
//! (`embermq::codec::v5::decode_from_server`), packet after packet. It must
//! never panic, and for every input:
//! - the Maximum Packet Size only ever turns a result into 0x95 Packet too
//!   large (4096, 256, 16 and 2 bytes against no limit), exactly when the
//!   packet is larger; every error names a reason code;
//! - a packet's `len` is within the input, its bytes decode the same alone,
//!   every shorter prefix of them is `Incomplete` with the right `needed`;
//! - every field borrows from the packet's own bytes, every string is
//!   UTF-8 as `core` sees it and without U+0000, every topic name is valid
//!   (or empty with a Topic Alias), reason codes are the server's own;
//! - the properties walk (`iter`) to the end of their bytes, parse again
//!   for their packet's context, are refused by a context that may not
//!   carry one of them, write back to the same bytes with a
//!   `PropertyWriter`, check as a `Properties::List`, and each is rebuilt
//!   by `Property::from_parts` from its parts (and out-of-range parts are
//!   refused);
//! - the packet written back in its shortest form decodes to itself (byte
//!   for byte where MQTT 5 has one form only), and what a client may send
//!   too encodes with `v5::Encode` to those same bytes.
#![no_main]

use embermq::codec::v5::{
    decode_from_server, frame, AckKind, Auth, ConnAck, Decoded, Disconnect, Encode, FilterAcks,
    Properties, Property, PropertyContext, PropertyId, PropertyType, PropertyWriter, PubResponse,
    Publish, ReasonPacket, Sender, ServerPacket, V5Error, VARINT_MAX,
};
use embermq::codec::QoS;
use libfuzzer_sys::fuzz_target;

/// Maximum Packet Sizes each position is also decoded with.
const LIMITS: [usize; 4] = [4096, 256, 16, 2];

/// Every property context, to check that the others refuse what they may
/// not carry.
const CONTEXTS: [PropertyContext; 11] = [
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

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    // Every packet is at least 2 bytes, so this bounds the loop.
    for _ in 0..=data.len() / 2 {
        let result = decode_from_server(rest, usize::MAX);
        check_limits(rest, &result);
        match result {
            Ok(Decoded::Packet { packet, len }) => {
                assert!(len >= 2 && len <= rest.len(), "len {len} of {}", rest.len());
                check_packet(&rest[..len], &packet);
                rest = &rest[len..];
            }
            Ok(Decoded::Incomplete { needed }) => {
                assert!(needed >= 1);
                return;
            }
            Err(e) => {
                assert!(e.reason_code().is_some(), "{e:?} has no reason code");
                return;
            }
        }
    }
    panic!("more packets than {} bytes can hold", data.len());
});

/// A Maximum Packet Size changes a result into PacketTooLarge, or not at
/// all; for a whole packet exactly when it is larger than the limit.
fn check_limits(buf: &[u8], unlimited: &Result<Decoded<'_>, V5Error>) {
    for max in LIMITS {
        let limited = decode_from_server(buf, max);
        match unlimited {
            Ok(Decoded::Packet { len, .. }) if *len > max => {
                assert_eq!(limited, Err(V5Error::PacketTooLarge), "max {max}")
            }
            Ok(Decoded::Packet { .. }) => assert_eq!(&limited, unlimited, "max {max}"),
            Ok(Decoded::Incomplete { needed }) => {
                if limited != *unlimited {
                    assert_eq!(limited, Err(V5Error::PacketTooLarge), "max {max}");
                    // Refused from the header: the whole packet is larger.
                    assert!(buf.len() + needed > max, "max {max}");
                }
            }
            Err(_) => {
                if limited != *unlimited {
                    assert_eq!(limited, Err(V5Error::PacketTooLarge), "max {max}");
                }
            }
        }
    }
}

/// Everything that must hold for the packet `packet` decoded from exactly
/// `bytes`.
fn check_packet(bytes: &[u8], packet: &ServerPacket<'_>) {
    let len = bytes.len();
    let decoded = Ok(Decoded::Packet {
        packet: *packet,
        len,
    });
    // Its own bytes, without what followed, and at the limit of its size.
    assert_eq!(decode_from_server(bytes, usize::MAX), decoded);
    assert_eq!(decode_from_server(bytes, len), decoded);
    assert_eq!(
        decode_from_server(bytes, len - 1),
        Err(V5Error::PacketTooLarge)
    );
    let header = frame(bytes, usize::MAX)
        .expect("a decoded packet has a valid header")
        .expect("a decoded packet has a whole header");
    assert_eq!(header.first_byte, bytes[0]);
    assert_eq!(header.total_len(), len);
    assert!((2..=5).contains(&header.header_len));
    // Every prefix is incomplete: by 1 byte at least while the header is
    // cut, by exactly the rest once it is whole.
    for cut in 0..len {
        match decode_from_server(&bytes[..cut], usize::MAX) {
            Ok(Decoded::Incomplete { needed }) if cut >= header.header_len => {
                assert_eq!(needed, len - cut, "prefix {cut}")
            }
            Ok(Decoded::Incomplete { needed }) => {
                assert!(needed >= 1 && needed <= len - cut, "prefix {cut}")
            }
            other => panic!("prefix {cut} of {bytes:02x?} gave {other:?}"),
        }
    }

    let flags = bytes[0] & 0x0f;
    let body = &bytes[header.header_len..];
    match packet {
        ServerPacket::ConnAck(ack) => {
            assert_eq!(bytes[0], 0x20);
            check_connack(bytes, ack);
        }
        ServerPacket::Publish(p) => {
            assert_eq!(bytes[0] >> 4, 3);
            assert_eq!(
                flags,
                (p.dup as u8) << 3 | (p.qos as u8) << 1 | p.retain as u8
            );
            check_publish(bytes, p);
        }
        ServerPacket::PubAck(r) => check_response(bytes, body, r, AckKind::PubAck),
        ServerPacket::PubRec(r) => check_response(bytes, body, r, AckKind::PubRec),
        ServerPacket::PubRel(r) => check_response(bytes, body, r, AckKind::PubRel),
        ServerPacket::PubComp(r) => check_response(bytes, body, r, AckKind::PubComp),
        ServerPacket::SubAck(a) => {
            assert_eq!(bytes[0], 0x90);
            check_filter_acks(bytes, a, ReasonPacket::SubAck);
        }
        ServerPacket::UnsubAck(a) => {
            assert_eq!(bytes[0], 0xb0);
            check_filter_acks(bytes, a, ReasonPacket::UnsubAck);
        }
        ServerPacket::PingResp => assert_eq!(bytes, [0xd0, 0]),
        ServerPacket::Disconnect(d) => {
            assert_eq!(bytes[0], 0xe0);
            check_disconnect(bytes, body, d);
        }
        ServerPacket::Auth(a) => {
            assert_eq!(bytes[0], 0xf0);
            check_auth(bytes, body, a);
        }
    }
    check_canonical(bytes, packet);
}

fn check_connack(bytes: &[u8], ack: &ConnAck<'_>) {
    assert!(ack.reason.allowed_in(ReasonPacket::ConnAck, Sender::Server));
    // [MQTT-3.2.2-6]
    assert!(!ack.session_present || !ack.reason.is_error());
    let list = check_properties(ack.properties, PropertyContext::ConnAck, bytes);
    let limits = ack.limits();
    assert!(limits.receive_maximum >= 1);
    assert_ne!(limits.maximum_packet_size, Some(0));
    let maximum_qos = list.iter().find_map(|p| match p {
        Property::MaximumQos(qos) => Some(*qos),
        _ => None,
    });
    assert_eq!(limits.maximum_qos, maximum_qos.unwrap_or(QoS::ExactlyOnce));
    assert_ne!(maximum_qos, Some(QoS::ExactlyOnce));
    let assigned = ack.properties.get(PropertyId::AssignedClientIdentifier);
    assert_eq!(
        limits
            .assigned_client_identifier
            .map(Property::AssignedClientIdentifier),
        assigned
    );
    let keep_alive = ack.properties.get(PropertyId::ServerKeepAlive);
    assert_eq!(
        limits.server_keep_alive.map(Property::ServerKeepAlive),
        keep_alive
    );
}

fn check_publish(bytes: &[u8], p: &Publish<'_>) {
    check_str(p.topic);
    within(bytes, p.topic.as_bytes());
    within(bytes, p.payload);
    // The payload is the rest of the packet.
    assert_eq!(
        p.payload.as_ptr() as usize + p.payload.len(),
        bytes.as_ptr() as usize + bytes.len()
    );
    assert_eq!(p.packet_id == 0, p.qos == QoS::AtMostOnce);
    assert!(!p.dup || p.qos != QoS::AtMostOnce); // [MQTT-3.3.1-2]
    check_properties(p.properties, PropertyContext::Publish, bytes);
    let alias = p.topic_alias();
    if p.topic.is_empty() {
        assert!(alias.is_some(), "empty topic without an alias");
    } else {
        // [MQTT-3.3.2-2]: a valid topic name, no wildcards.
        assert!(!p.topic.contains(['+', '#']), "{:?}", p.topic);
        embermq::topic::validate_topic_name(p.topic).expect("a decoded topic is valid");
    }
    match alias {
        Some(alias) => {
            assert_ne!(alias, 0); // [MQTT-3.3.2-8]
            assert_eq!(p.check_topic_alias(alias), Ok(()));
            assert_eq!(
                p.check_topic_alias(alias - 1),
                Err(V5Error::TopicAliasInvalid)
            );
        }
        None => assert_eq!(p.check_topic_alias(0), Ok(())),
    }
    // The crate's UTF-8 check of a payload marked UTF-8 agrees with core's.
    let marked_utf8 = matches!(
        p.properties.get(PropertyId::PayloadFormatIndicator),
        Some(Property::PayloadFormatIndicator(true))
    );
    let format_ok = !marked_utf8 || core::str::from_utf8(p.payload).is_ok();
    assert_eq!(
        p.check_payload_format(),
        if format_ok {
            Ok(())
        } else {
            Err(V5Error::PayloadFormatInvalid)
        }
    );
}

fn check_response(bytes: &[u8], body: &[u8], r: &PubResponse<'_>, kind: AckKind) {
    let first = match kind {
        AckKind::PubAck => 0x40,
        AckKind::PubRec => 0x50,
        AckKind::PubRel => 0x62,
        AckKind::PubComp => 0x70,
    };
    assert_eq!(bytes[0], first);
    assert_ne!(r.packet_id, 0);
    assert_eq!(&body[..2], r.packet_id.to_be_bytes());
    assert!(r.reason.allowed_in(reason_packet(kind), Sender::Server));
    check_properties(r.properties, PropertyContext::PubResponse, bytes);
    if body.len() == 2 {
        assert!(r.reason.0 == 0 && r.properties.is_empty());
    } else {
        assert_eq!(body[2], r.reason.0);
    }
}

fn check_filter_acks(bytes: &[u8], a: &FilterAcks<'_>, kind: ReasonPacket) {
    assert_ne!(a.packet_id, 0);
    let context = match kind {
        ReasonPacket::SubAck => PropertyContext::SubAck,
        _ => PropertyContext::UnsubAck,
    };
    check_properties(a.properties, context, bytes);
    assert!(!a.reason_codes.is_empty());
    // The codes are the rest of the packet.
    assert!(bytes.ends_with(a.reason_codes));
    within(bytes, a.reason_codes);
    assert_eq!(a.codes().count(), a.reason_codes.len());
    for code in a.codes() {
        assert!(code.allowed_in(kind, Sender::Server), "{code}");
    }
}

fn check_disconnect(bytes: &[u8], body: &[u8], d: &Disconnect<'_>) {
    assert!(d
        .reason
        .allowed_in(ReasonPacket::Disconnect, Sender::Server));
    check_properties(d.properties, PropertyContext::Disconnect, bytes);
    // [MQTT-3.14.2-2]
    assert!(d
        .properties
        .get(PropertyId::SessionExpiryInterval)
        .is_none());
    if body.is_empty() {
        assert!(d.reason.0 == 0 && d.properties.is_empty());
    } else {
        assert_eq!(body[0], d.reason.0);
    }
}

fn check_auth(bytes: &[u8], body: &[u8], a: &Auth<'_>) {
    assert!(a.reason.allowed_in(ReasonPacket::Auth, Sender::Server));
    check_properties(a.properties, PropertyContext::Auth, bytes);
    if body.is_empty() {
        assert!(a.reason.0 == 0 && a.properties.is_empty());
    } else {
        assert_eq!(body[0], a.reason.0);
        // 3.15.2.2.2: an AUTH with properties names its method.
        assert!(matches!(
            a.properties.get(PropertyId::AuthenticationMethod),
            Some(Property::AuthenticationMethod(_))
        ));
    }
}

fn reason_packet(kind: AckKind) -> ReasonPacket {
    match kind {
        AckKind::PubAck => ReasonPacket::PubAck,
        AckKind::PubRec => ReasonPacket::PubRec,
        AckKind::PubRel => ReasonPacket::PubRel,
        AckKind::PubComp => ReasonPacket::PubComp,
    }
}

/// `part` lies within `whole` (an empty part may be anywhere).
fn within(whole: &[u8], part: &[u8]) {
    if part.is_empty() {
        return;
    }
    let start = whole.as_ptr() as usize;
    let at = part.as_ptr() as usize;
    assert!(
        at >= start && at + part.len() <= start + whole.len(),
        "a field borrows outside its packet"
    );
}

/// A decoded string: UTF-8 as `core` sees it, no U+0000 [MQTT-1.5.4-1/2].
fn check_str(s: &str) {
    assert!(core::str::from_utf8(s.as_bytes()).is_ok(), "{s:?}");
    assert!(!s.as_bytes().contains(&0), "{s:?}");
}

/// Walks a decoded property list and checks it every way it can be read,
/// written and rebuilt; returns its properties.
fn check_properties<'a>(
    properties: Properties<'a>,
    context: PropertyContext,
    packet: &[u8],
) -> Vec<Property<'a>> {
    let Properties::Wire(wire) = properties else {
        panic!("decoded properties not as wire bytes: {properties:?}");
    };
    within(packet, wire);
    assert_eq!(Properties::parse(wire, context), Ok(properties));
    assert_eq!(properties.checked_len(context), Ok(wire.len()));

    let mut iter = properties.iter();
    let mut list = Vec::new();
    let mut seen = 0u64;
    let mut encoded = 0;
    for p in iter.by_ref() {
        let id = p.id();
        assert_eq!(PropertyId::from_u8(id as u8), Some(id));
        assert!(id.allowed_in(context), "{id:?} in {context:?}");
        if seen & 1 << id as u8 != 0 {
            assert!(id.may_repeat_in(context), "{id:?} twice in {context:?}");
        }
        seen |= 1 << id as u8;
        check_property(&p);
        encoded += p.encoded_len().expect("a decoded property encodes");
        list.push(p);
    }
    // A validated list is read to its end.
    assert!(
        iter.rest().is_empty(),
        "walk stopped at {:02x?}",
        iter.rest()
    );
    assert_eq!(encoded, wire.len());
    assert_eq!(properties.is_empty(), list.is_empty());
    for p in &list {
        // get() finds the first of an identifier.
        let first = list.iter().find(|q| q.id() == p.id()).copied();
        assert_eq!(properties.get(p.id()), first);
    }
    let users: Vec<_> = list
        .iter()
        .filter_map(|p| match *p {
            Property::UserProperty(name, value) => Some((name, value)),
            _ => None,
        })
        .collect();
    assert!(properties.user_properties().eq(users));

    // Written again: the same bytes (every property has one encoding).
    let mut buf = vec![0u8; wire.len()];
    let mut writer = PropertyWriter::new(&mut buf);
    for p in &list {
        writer
            .push(p)
            .expect("a decoded property fits its own size");
    }
    assert_eq!(writer.len(), wire.len());
    match writer.finish() {
        Properties::Wire(again) => assert_eq!(again, wire),
        other => panic!("PropertyWriter gave {other:?}"),
    }
    if let Some(last) = list.last() {
        // One byte short: the last one does not fit, and says so.
        let mut short = vec![0u8; wire.len() - 1];
        let mut writer = PropertyWriter::new(&mut short);
        for p in &list[..list.len() - 1] {
            writer.push(p).unwrap();
        }
        assert_eq!(writer.push(last), Err(V5Error::BufferTooSmall));
    }

    // The same properties as a caller's list pass the same rules.
    let as_list = Properties::List(&list);
    assert_eq!(as_list.checked_len(context), Ok(wire.len()));
    assert_eq!(as_list, properties);

    // Another context takes them only if it may carry each of them.
    for other in CONTEXTS {
        let fits = list.iter().all(|p| p.id().allowed_in(other));
        let parsed = Properties::parse(wire, other);
        if !fits {
            assert!(parsed.is_err(), "{list:?} parsed for {other:?}");
        }
        if other == context {
            assert!(parsed.is_ok());
        }
    }
    list
}

/// One property: its strings, and its rebuild from parts.
fn check_property(p: &Property<'_>) {
    use Property as P;
    let id = p.id();
    let (number, data, value) = parts(p);
    // The crate's own inverse of from_parts agrees with this one.
    assert_eq!(p.parts(), (number, data, value));
    assert_eq!(Property::from_parts(id, number, data, value), Ok(*p));
    match id.data_type() {
        PropertyType::Utf8String => check_str(core::str::from_utf8(data).unwrap()),
        PropertyType::Utf8StringPair => {
            check_str(core::str::from_utf8(data).unwrap());
            check_str(core::str::from_utf8(value).unwrap());
        }
        _ => {}
    }
    // Parts another representation could hold that are out of range.
    let invalid = Err(V5Error::InvalidPropertyValue(id));
    match id.data_type() {
        PropertyType::Byte => {
            // Every byte property is a flag, or Maximum QoS 0/1.
            assert_eq!(Property::from_parts(id, 2, &[], &[]), invalid);
            assert_eq!(Property::from_parts(id, 256, &[], &[]), invalid);
        }
        PropertyType::TwoByteInteger => {
            assert_eq!(Property::from_parts(id, 0x1_0000, &[], &[]), invalid)
        }
        PropertyType::VariableByteInteger => {
            assert_eq!(Property::from_parts(id, VARINT_MAX + 1, &[], &[]), invalid)
        }
        PropertyType::Utf8String => {
            let mut nul = data.to_vec();
            nul.push(0);
            assert_eq!(
                Property::from_parts(id, 0, &nul, &[]),
                Err(V5Error::NullCharacter)
            );
            let mut bad = data.to_vec();
            bad.push(0xff);
            assert_eq!(
                Property::from_parts(id, 0, &bad, &[]),
                Err(V5Error::InvalidUtf8)
            );
        }
        PropertyType::Utf8StringPair => {
            let mut bad = value.to_vec();
            bad.push(0xc0);
            assert_eq!(
                Property::from_parts(id, 0, data, &bad),
                Err(V5Error::InvalidUtf8)
            );
        }
        PropertyType::FourByteInteger | PropertyType::BinaryData => {}
    }
    // The typed values the parser promises.
    match *p {
        P::ReceiveMaximum(0) | P::MaximumPacketSize(0) | P::SubscriptionIdentifier(0) => {
            panic!("{p:?} decoded")
        }
        P::TopicAlias(0) | P::MaximumQos(QoS::ExactlyOnce) => panic!("{p:?} decoded"),
        P::SubscriptionIdentifier(v) => assert!(v <= VARINT_MAX),
        P::ResponseTopic(topic) => embermq::topic::validate_topic_name(topic).unwrap(),
        _ => {}
    }
}

/// A property as the number and byte strings `Property::from_parts` takes,
/// written out independently of `Property::parts` to check it.
fn parts<'a>(p: &Property<'a>) -> (u32, &'a [u8], &'a [u8]) {
    use Property as P;
    match *p {
        P::PayloadFormatIndicator(b)
        | P::RequestProblemInformation(b)
        | P::RequestResponseInformation(b)
        | P::RetainAvailable(b)
        | P::WildcardSubscriptionAvailable(b)
        | P::SubscriptionIdentifierAvailable(b)
        | P::SharedSubscriptionAvailable(b) => (b.into(), &[], &[]),
        P::MaximumQos(qos) => (qos as u32, &[], &[]),
        P::ServerKeepAlive(v)
        | P::ReceiveMaximum(v)
        | P::TopicAliasMaximum(v)
        | P::TopicAlias(v) => (v.into(), &[], &[]),
        P::MessageExpiryInterval(v)
        | P::SessionExpiryInterval(v)
        | P::WillDelayInterval(v)
        | P::MaximumPacketSize(v)
        | P::SubscriptionIdentifier(v) => (v, &[], &[]),
        P::ContentType(s)
        | P::ResponseTopic(s)
        | P::AssignedClientIdentifier(s)
        | P::AuthenticationMethod(s)
        | P::ResponseInformation(s)
        | P::ServerReference(s)
        | P::ReasonString(s) => (0, s.as_bytes(), &[]),
        P::CorrelationData(b) | P::AuthenticationData(b) => (0, b, &[]),
        P::UserProperty(name, value) => (0, name.as_bytes(), value.as_bytes()),
    }
}

/// The packet written back in its shortest form decodes to itself; where
/// MQTT 5 allows one form only, those are the bytes it came from. What a
/// client may send as well, the crate's encoder writes the same way.
fn check_canonical(bytes: &[u8], packet: &ServerPacket<'_>) {
    let canonical = write_canonical(packet);
    match decode_from_server(&canonical, usize::MAX) {
        Ok(Decoded::Packet { packet: again, len }) => {
            assert_eq!(len, canonical.len());
            assert_eq!(&again, packet);
        }
        other => panic!("{canonical:02x?} (from {bytes:02x?}) gave {other:?}"),
    }
    assert!(canonical.len() <= bytes.len());
    let one_form = matches!(
        packet,
        ServerPacket::ConnAck(_)
            | ServerPacket::Publish(_)
            | ServerPacket::SubAck(_)
            | ServerPacket::UnsubAck(_)
            | ServerPacket::PingResp
    );
    if one_form {
        assert_eq!(canonical, bytes);
    }

    let mut buf = vec![0u8; canonical.len() + 8];
    let (size, written) = match packet {
        ServerPacket::Publish(p) => {
            let expected = if p
                .properties
                .get(PropertyId::SubscriptionIdentifier)
                .is_some()
            {
                // [MQTT-3.3.4-6]: the server's only.
                Err(V5Error::SubscriptionIdentifierFromClient)
            } else {
                // The payload format is checked when sending.
                p.check_payload_format().map(|()| canonical.len())
            };
            assert_eq!(p.encoded_len(), expected);
            if expected.is_err() {
                return;
            }
            (p.size().unwrap(), p.encode(&mut buf))
        }
        ServerPacket::PubAck(r) => response(r, AckKind::PubAck, &mut buf),
        ServerPacket::PubRec(r) => response(r, AckKind::PubRec, &mut buf),
        ServerPacket::PubRel(r) => response(r, AckKind::PubRel, &mut buf),
        ServerPacket::PubComp(r) => response(r, AckKind::PubComp, &mut buf),
        ServerPacket::Disconnect(d) => {
            if !d
                .reason
                .allowed_in(ReasonPacket::Disconnect, Sender::Client)
            {
                assert!(d.encode(&mut buf).is_err());
                return;
            }
            (d.size().unwrap(), d.encode(&mut buf))
        }
        ServerPacket::Auth(a) => {
            // An AUTH without properties (Success) has no method to send.
            if !a.reason.allowed_in(ReasonPacket::Auth, Sender::Client) || a.properties.is_empty() {
                assert!(a.encode(&mut buf).is_err());
                return;
            }
            (a.size().unwrap(), a.encode(&mut buf))
        }
        ServerPacket::ConnAck(_)
        | ServerPacket::SubAck(_)
        | ServerPacket::UnsubAck(_)
        | ServerPacket::PingResp => return,
    };
    assert_eq!(written, Ok(canonical.len()));
    assert_eq!(size.total(), canonical.len());
    assert_eq!(&buf[..canonical.len()], canonical);
    // One byte short: nothing is written.
    let mut short = vec![0xa5u8; canonical.len() - 1];
    let again = match packet {
        ServerPacket::Publish(p) => p.encode_sized(&size, &mut short),
        ServerPacket::PubAck(r) => r.encode(AckKind::PubAck, &mut short),
        ServerPacket::PubRec(r) => r.encode(AckKind::PubRec, &mut short),
        ServerPacket::PubRel(r) => r.encode(AckKind::PubRel, &mut short),
        ServerPacket::PubComp(r) => r.encode(AckKind::PubComp, &mut short),
        ServerPacket::Disconnect(d) => d.encode_sized(&size, &mut short),
        ServerPacket::Auth(a) => a.encode_sized(&size, &mut short),
        _ => unreachable!(),
    };
    assert_eq!(again, Err(V5Error::BufferTooSmall));
    assert!(short.iter().all(|&b| b == 0xa5));
}

fn response(
    r: &PubResponse<'_>,
    kind: AckKind,
    buf: &mut [u8],
) -> (embermq::codec::v5::PacketSize, Result<usize, V5Error>) {
    // The four acknowledgements have the same codes from either side.
    let size = r.size(kind).expect("a decoded acknowledgement encodes");
    (size, r.encode(kind, buf))
}

/// The shortest encoding of `packet`, written here independently of the
/// crate's encoder.
fn write_canonical(packet: &ServerPacket<'_>) -> Vec<u8> {
    let mut body = Vec::new();
    let first = match packet {
        ServerPacket::ConnAck(a) => {
            body.push(a.session_present as u8);
            body.push(a.reason.0);
            push_properties(&mut body, &a.properties);
            0x20
        }
        ServerPacket::Publish(p) => {
            push_binary(&mut body, p.topic.as_bytes());
            if p.qos != QoS::AtMostOnce {
                body.extend_from_slice(&p.packet_id.to_be_bytes());
            }
            push_properties(&mut body, &p.properties);
            body.extend_from_slice(p.payload);
            0x30 | (p.dup as u8) << 3 | (p.qos as u8) << 1 | p.retain as u8
        }
        ServerPacket::PubAck(r) => ack(&mut body, r, 0x40),
        ServerPacket::PubRec(r) => ack(&mut body, r, 0x50),
        ServerPacket::PubRel(r) => ack(&mut body, r, 0x62),
        ServerPacket::PubComp(r) => ack(&mut body, r, 0x70),
        ServerPacket::SubAck(a) | ServerPacket::UnsubAck(a) => {
            body.extend_from_slice(&a.packet_id.to_be_bytes());
            push_properties(&mut body, &a.properties);
            body.extend_from_slice(a.reason_codes);
            if matches!(packet, ServerPacket::SubAck(_)) {
                0x90
            } else {
                0xb0
            }
        }
        ServerPacket::PingResp => 0xd0,
        ServerPacket::Disconnect(d) => {
            // Normal disconnection without properties: no body; a reason
            // without properties: no Property Length (3.14.2.2.1).
            if d.reason.0 != 0 || !d.properties.is_empty() {
                body.push(d.reason.0);
                if !d.properties.is_empty() {
                    push_properties(&mut body, &d.properties);
                }
            }
            0xe0
        }
        ServerPacket::Auth(a) => {
            // AUTH has no form with a reason and no Property Length.
            if a.reason.0 != 0 || !a.properties.is_empty() {
                body.push(a.reason.0);
                push_properties(&mut body, &a.properties);
            }
            0xf0
        }
    };
    let mut out = vec![first];
    push_varint(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

fn ack(body: &mut Vec<u8>, r: &PubResponse<'_>, first: u8) -> u8 {
    body.extend_from_slice(&r.packet_id.to_be_bytes());
    if r.reason.0 != 0 || !r.properties.is_empty() {
        body.push(r.reason.0);
        if !r.properties.is_empty() {
            push_properties(body, &r.properties);
        }
    }
    first
}

fn push_varint(out: &mut Vec<u8>, mut value: usize) {
    assert!(value <= VARINT_MAX as usize);
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn push_binary(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// A property list with its Property Length, each property written here
/// from its typed value.
fn push_properties(out: &mut Vec<u8>, properties: &Properties<'_>) {
    let mut list = Vec::new();
    for p in properties.iter() {
        list.push(p.id() as u8);
        match p.id().data_type() {
            PropertyType::Byte => list.push(parts(&p).0 as u8),
            PropertyType::TwoByteInteger => {
                list.extend_from_slice(&(parts(&p).0 as u16).to_be_bytes())
            }
            PropertyType::FourByteInteger => list.extend_from_slice(&parts(&p).0.to_be_bytes()),
            PropertyType::VariableByteInteger => push_varint(&mut list, parts(&p).0 as usize),
            PropertyType::Utf8String | PropertyType::BinaryData => {
                push_binary(&mut list, parts(&p).1)
            }
            PropertyType::Utf8StringPair => {
                let (_, name, value) = parts(&p);
                push_binary(&mut list, name);
                push_binary(&mut list, value);
            }
        }
    }
    push_varint(out, list.len());
    out.extend_from_slice(&list);
}
