//! Whole exchanges scripted against the session: no sockets, time passed in.

use super::*;
use crate::codec::{decode, Decoded, SubAck, MAX_PACKET_SIZE};

type TestSession = Session<HeapMemory>;

fn session_with(window: u16, slots: usize, store: usize, tx: usize) -> TestSession {
    Session::new(
        HeapMemory::new(slots, store, 8, tx),
        SessionConfig {
            inflight_window: window,
            ..SessionConfig::default()
        },
    )
}

fn new_session() -> TestSession {
    session_with(20, 32, 16 * 1024, 8 * 1024)
}

/// Decodes and drains everything the session wants to send, calling `each`
/// on every packet.
fn drain(session: &mut TestSession, mut each: impl FnMut(Packet<'_>)) -> usize {
    let output = session.pending_output().to_vec();
    let mut at = 0;
    let mut count = 0;
    while at < output.len() {
        match decode(&output[at..], MAX_PACKET_SIZE).expect("session wrote a valid packet") {
            Decoded::Packet { packet, len } => {
                each(packet);
                at += len;
                count += 1;
            }
            Decoded::Incomplete { .. } => panic!("session wrote a partial packet"),
        }
    }
    session.consume_output(output.len());
    count
}

/// Drains output and returns a compact description of each packet.
fn sent(session: &mut TestSession) -> Vec<String> {
    let mut out = Vec::new();
    drain(session, |p| {
        out.push(match p {
            Packet::Publish(p) => format!(
                "PUBLISH {} q{} id{} dup{} {}",
                p.topic,
                p.qos as u8,
                p.packet_id,
                p.dup as u8,
                String::from_utf8_lossy(p.payload)
            ),
            Packet::PubAck(id) => format!("PUBACK {id}"),
            Packet::PubRec(id) => format!("PUBREC {id}"),
            Packet::PubRel(id) => format!("PUBREL {id}"),
            Packet::PubComp(id) => format!("PUBCOMP {id}"),
            Packet::Subscribe(s) => format!("SUBSCRIBE {} n{}", s.packet_id, s.topics.len()),
            Packet::Unsubscribe(u) => format!("UNSUBSCRIBE {} n{}", u.packet_id, u.topics.len()),
            Packet::Connect(c) => format!("CONNECT {} clean{}", c.client_id, c.clean_session as u8),
            Packet::PingReq => "PINGREQ".into(),
            Packet::Disconnect => "DISCONNECT".into(),
            other => format!("{other:?}"),
        })
    });
    out
}

fn connack(session_present: bool) -> Packet<'static> {
    Packet::ConnAck(ConnAck {
        session_present,
        code: ConnectReturnCode::Accepted,
    })
}

fn options(clean_session: bool) -> ConnectOptions<'static> {
    ConnectOptions {
        client_id: "tester",
        keep_alive_secs: 10,
        clean_session,
        ..ConnectOptions::default()
    }
}

fn connected(clean_session: bool) -> TestSession {
    let mut s = new_session();
    s.connect(&options(clean_session), 0).unwrap();
    assert_eq!(
        sent(&mut s),
        vec![format!("CONNECT tester clean{}", clean_session as u8)]
    );
    let event = s.handle_packet(&connack(false), 0).unwrap();
    assert_eq!(
        event,
        Some(Event::Connected {
            session_present: false,
            return_code: ConnectReturnCode::Accepted
        })
    );
    assert_eq!(s.state(), State::Connected);
    s
}

#[test]
fn connect_encodes_every_option() {
    let mut s = new_session();
    let opts = ConnectOptions {
        client_id: "dev-1",
        username: Some("user"),
        password: Some(b"pw"),
        keep_alive_secs: 30,
        clean_session: false,
        protocol: ProtocolLevel::V3_1,
        will: Some(LastWill {
            topic: "dev/1/status",
            payload: b"offline",
            qos: QoS::AtLeastOnce,
            retain: true,
        }),
        ..ConnectOptions::default()
    };
    s.connect(&opts, 5).unwrap();
    assert_eq!(s.state(), State::AwaitingConnAck);
    let mut seen = None;
    drain(&mut s, |p| {
        if let Packet::Connect(c) = p {
            seen = Some((
                c.protocol,
                c.client_id.to_string(),
                c.username.map(str::to_string),
                c.password.map(<[u8]>::to_vec),
                c.keep_alive,
                c.clean_session,
                c.will
                    .map(|w| (w.topic.to_string(), w.payload.to_vec(), w.qos, w.retain)),
            ));
        }
    });
    assert_eq!(
        seen,
        Some((
            ProtocolLevel::V3_1,
            "dev-1".to_string(),
            Some("user".to_string()),
            Some(b"pw".to_vec()),
            30,
            false,
            Some((
                "dev/1/status".to_string(),
                b"offline".to_vec(),
                QoS::AtLeastOnce,
                true
            )),
        ))
    );
    assert_eq!(s.connect(&opts, 6), Err(Error::AlreadyConnected));
}

#[test]
fn refused_connection_reports_the_code_and_disconnects() {
    let mut s = new_session();
    s.connect(&options(true), 0).unwrap();
    sent(&mut s);
    let refusal = Packet::ConnAck(ConnAck {
        session_present: false,
        code: ConnectReturnCode::BadUsernameOrPassword,
    });
    assert_eq!(
        s.handle_packet(&refusal, 1).unwrap(),
        Some(Event::Connected {
            session_present: false,
            return_code: ConnectReturnCode::BadUsernameOrPassword
        })
    );
    assert_eq!(s.state(), State::Disconnected);
    assert_eq!(
        s.publish("a", b"x", QoS::AtMostOnce, false, 2),
        Err(Error::NotConnected)
    );
}

#[test]
fn packets_before_connack_are_a_protocol_violation() {
    let mut s = new_session();
    s.connect(&options(true), 0).unwrap();
    assert_eq!(
        s.handle_packet(&Packet::PingResp, 0),
        Err(Error::ProtocolViolation)
    );
    let mut s = connected(true);
    assert_eq!(
        s.handle_packet(&Packet::PingResp, 0).unwrap(),
        Some(Event::Pong)
    );
    assert_eq!(
        s.handle_packet(&connack(false), 0),
        Err(Error::ProtocolViolation)
    );
}

#[test]
fn qos0_both_ways() {
    let mut s = connected(true);
    assert_eq!(s.publish("t/0", b"hello", QoS::AtMostOnce, false, 1), Ok(0));
    assert_eq!(sent(&mut s), vec!["PUBLISH t/0 q0 id0 dup0 hello"]);
    assert_eq!(s.inflight(), 0);
    let incoming = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: true,
        topic: "in",
        packet_id: 0,
        payload: b"p",
    });
    match s.handle_packet(&incoming, 2).unwrap() {
        Some(Event::Message(m)) => {
            assert_eq!((m.topic, m.payload, m.retain), ("in", &b"p"[..], true))
        }
        other => panic!("expected a message, got {other:?}"),
    }
    assert!(sent(&mut s).is_empty(), "QoS 0 is not acknowledged");
}

#[test]
fn qos1_outbound_completes_on_puback() {
    let mut s = connected(true);
    let id = s
        .publish("t/1", b"one", QoS::AtLeastOnce, false, 1)
        .unwrap();
    assert_ne!(id, 0);
    assert_eq!(
        sent(&mut s),
        vec![format!("PUBLISH t/1 q1 id{id} dup0 one")]
    );
    assert_eq!(s.inflight(), 1);
    assert!(s.is_pending(id));
    assert_eq!(
        s.handle_packet(&Packet::PubAck(id), 2).unwrap(),
        Some(Event::Published { packet_id: id })
    );
    assert_eq!(s.inflight(), 0);
    assert!(!s.is_pending(id));
    assert!(!s.has_stored_messages());
    // A late duplicate ack for the same id is ignored, not an event.
    assert_eq!(s.unknown_acks(), 0);
    assert_eq!(s.handle_packet(&Packet::PubAck(id), 3).unwrap(), None);
    assert_eq!(s.unknown_acks(), 1);
}

#[test]
fn acknowledgements_for_unknown_ids_are_counted_and_a_pubrec_released() {
    let mut s = connected(true);
    let id = s
        .publish("t/1", b"one", QoS::AtLeastOnce, false, 1)
        .unwrap();
    sent(&mut s);
    for (packet, now) in [
        (Packet::PubAck(id + 1), 2),
        (Packet::PubRec(id + 2), 3),
        (Packet::PubComp(id + 3), 4),
    ] {
        assert_eq!(s.handle_packet(&packet, now).unwrap(), None);
    }
    assert_eq!(s.unknown_acks(), 3);
    // Only the PUBREC is answered, so the broker can free its id.
    assert_eq!(sent(&mut s), vec![format!("PUBREL {}", id + 2)]);
    // The message in flight is untouched and completes normally.
    assert!(s.is_pending(id));
    assert_eq!(
        s.handle_packet(&Packet::PubAck(id), 5).unwrap(),
        Some(Event::Published { packet_id: id })
    );
    // An ack of the wrong kind for a known id is still a violation.
    let id2 = s
        .publish("t/2", b"two", QoS::AtLeastOnce, false, 6)
        .unwrap();
    assert_eq!(
        s.handle_packet(&Packet::PubComp(id2), 7),
        Err(Error::ProtocolViolation)
    );
}

#[test]
fn qos1_inbound_is_acknowledged() {
    let mut s = connected(true);
    let incoming = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: "in",
        packet_id: 77,
        payload: b"",
    });
    assert!(matches!(
        s.handle_packet(&incoming, 1).unwrap(),
        Some(Event::Message(Publish { packet_id: 77, .. }))
    ));
    assert_eq!(sent(&mut s), vec!["PUBACK 77"]);
}

#[test]
fn qos2_outbound_four_step_handshake() {
    let mut s = connected(true);
    let id = s.publish("t/2", b"two", QoS::ExactlyOnce, true, 1).unwrap();
    assert_eq!(
        sent(&mut s),
        vec![format!("PUBLISH t/2 q2 id{id} dup0 two")]
    );
    // The first PUBREC is news (the broker has the message) ...
    assert_eq!(
        s.handle_packet(&Packet::PubRec(id), 2).unwrap(),
        Some(Event::Received { packet_id: id })
    );
    assert_eq!(sent(&mut s), vec![format!("PUBREL {id}")]);
    // PUBACK for a QoS 2 message is a protocol violation.
    assert_eq!(
        s.handle_packet(&Packet::PubAck(id), 2),
        Err(Error::ProtocolViolation)
    );
    // ... a repeated one is answered with PUBREL again, and not reported.
    assert_eq!(s.handle_packet(&Packet::PubRec(id), 3).unwrap(), None);
    assert_eq!(sent(&mut s), vec![format!("PUBREL {id}")]);
    assert_eq!(
        s.handle_packet(&Packet::PubComp(id), 4).unwrap(),
        Some(Event::Published { packet_id: id })
    );
    assert_eq!(s.inflight(), 0);
}

#[test]
fn qos2_inbound_duplicate_is_delivered_once() {
    let mut s = connected(true);
    let first = Publish {
        dup: false,
        qos: QoS::ExactlyOnce,
        retain: false,
        topic: "in/2",
        packet_id: 9,
        payload: b"once",
    };
    assert!(matches!(
        s.handle_packet(&Packet::Publish(first), 1).unwrap(),
        Some(Event::Message(_))
    ));
    assert_eq!(sent(&mut s), vec!["PUBREC 9"]);
    let again = Publish { dup: true, ..first };
    assert_eq!(s.handle_packet(&Packet::Publish(again), 2).unwrap(), None);
    assert_eq!(sent(&mut s), vec!["PUBREC 9"]);
    assert_eq!(s.handle_packet(&Packet::PubRel(9), 3).unwrap(), None);
    assert_eq!(sent(&mut s), vec!["PUBCOMP 9"]);
    // After PUBREL the id is free: a new message with it is delivered.
    assert!(matches!(
        s.handle_packet(&Packet::Publish(first), 4).unwrap(),
        Some(Event::Message(_))
    ));
}

#[test]
fn inbound_qos2_table_full_is_an_error_not_a_duplicate_risk() {
    let mut s = connected(true); // 8 inbound slots
    for id in 1..=8u16 {
        let p = Publish {
            dup: false,
            qos: QoS::ExactlyOnce,
            retain: false,
            topic: "x",
            packet_id: id,
            payload: b"",
        };
        s.handle_packet(&Packet::Publish(p), 1).unwrap();
    }
    let ninth = Publish {
        dup: false,
        qos: QoS::ExactlyOnce,
        retain: false,
        topic: "x",
        packet_id: 9,
        payload: b"",
    };
    assert_eq!(
        s.handle_packet(&Packet::Publish(ninth), 1),
        Err(Error::InboundQos2Full)
    );
}

#[test]
fn subscribe_many_and_unsubscribe() {
    let mut s = connected(true);
    let topics = [
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
    let id = s.subscribe(&topics, 1).unwrap();
    assert_eq!(sent(&mut s), vec![format!("SUBSCRIBE {id} n3")]);
    let short = Packet::SubAck(SubAck {
        packet_id: id,
        return_codes: &[0, 1],
    });
    assert_eq!(s.handle_packet(&short, 2), Err(Error::SubackCountMismatch));
    let ack = Packet::SubAck(SubAck {
        packet_id: id,
        return_codes: &[0, 1, 0x80],
    });
    assert_eq!(
        s.handle_packet(&ack, 2).unwrap(),
        Some(Event::Subscribed {
            packet_id: id,
            return_codes: &[0, 1, 0x80]
        })
    );
    // A second SUBACK for the same id has no request behind it.
    assert_eq!(s.handle_packet(&ack, 2), Err(Error::ProtocolViolation));
    let uid = s.unsubscribe(&["a/+", "b/#"], 3).unwrap();
    assert_eq!(sent(&mut s), vec![format!("UNSUBSCRIBE {uid} n2")]);
    assert_eq!(
        s.handle_packet(&Packet::UnsubAck(uid), 4).unwrap(),
        Some(Event::Unsubscribed { packet_id: uid })
    );
    assert_eq!(s.subscribe(&[], 5), Err(Error::NoTopicFilters));
    let bad = [SubscribeTopic {
        filter: "a#",
        qos: QoS::AtMostOnce,
    }];
    assert_eq!(s.subscribe(&bad, 5), Err(Error::InvalidTopicFilter));
    assert!(
        sent(&mut s).is_empty(),
        "nothing queued for refused requests"
    );
}

#[test]
fn packet_ids_are_never_shared_between_kinds() {
    let mut s = session_with(4, 6, 16 * 1024, 8 * 1024);
    s.connect(&options(true), 0).unwrap();
    s.handle_packet(&connack(false), 0).unwrap();
    let mut in_use = std::collections::HashSet::new();
    let sub = [SubscribeTopic {
        filter: "s",
        qos: QoS::AtMostOnce,
    }];
    // Cycle many times through the id space with a mix of request kinds
    // kept outstanding, completing the oldest each round.
    let mut outstanding: std::collections::VecDeque<(u16, &str)> = Default::default();
    for round in 0..200_000u32 {
        let id = match round % 3 {
            0 => s.publish("p", b"x", QoS::AtLeastOnce, false, 0),
            1 => s.subscribe(&sub, 0),
            _ => s.unsubscribe(&["s"], 0),
        };
        match id {
            Ok(id) => {
                assert!(in_use.insert(id), "id {id} handed out twice");
                outstanding.push_back((id, ["pub", "sub", "unsub"][round as usize % 3]));
            }
            Err(Error::InflightFull) => {}
            Err(other) => panic!("{other:?}"),
        }
        sent(&mut s);
        if outstanding.len() >= 5 || round % 7 == 0 {
            if let Some((id, kind)) = outstanding.pop_front() {
                let ack = match kind {
                    "pub" => Packet::PubAck(id),
                    "sub" => Packet::SubAck(SubAck {
                        packet_id: id,
                        return_codes: &[0],
                    }),
                    _ => Packet::UnsubAck(id),
                };
                assert!(s.handle_packet(&ack, 0).unwrap().is_some());
                in_use.remove(&id);
            }
        }
    }
}

#[test]
fn a_full_window_queues_in_order_and_sends_on_acknowledgement() {
    let mut s = session_with(2, 8, 16 * 1024, 8 * 1024);
    s.connect(&options(true), 0).unwrap();
    s.handle_packet(&connack(false), 0).unwrap();
    sent(&mut s);
    let a = s.publish("w", b"1", QoS::AtLeastOnce, false, 0).unwrap();
    let b = s.publish("w", b"2", QoS::ExactlyOnce, false, 0).unwrap();
    let c = s.publish("w", b"3", QoS::AtLeastOnce, false, 0).unwrap();
    assert_eq!((s.inflight(), s.queued()), (2, 3));
    // QoS 0 does not count against the window and is written at once.
    assert_eq!(s.publish("w", b"0", QoS::AtMostOnce, false, 0), Ok(0));
    assert_eq!(
        sent(&mut s),
        vec![
            format!("PUBLISH w q1 id{a} dup0 1"),
            format!("PUBLISH w q2 id{b} dup0 2"),
            "PUBLISH w q0 id0 dup0 0".to_string(),
        ]
    );
    s.handle_packet(&Packet::PubAck(a), 0).unwrap();
    assert_eq!(sent(&mut s), vec![format!("PUBLISH w q1 id{c} dup0 3")]);
    assert_eq!((s.inflight(), s.queued()), (2, 2));
}

#[test]
fn send_buffer_and_store_limits_are_named_errors() {
    let mut s = session_with(20, 32, 256, 128);
    s.connect(&options(true), 0).unwrap();
    s.handle_packet(&connack(false), 0).unwrap();
    sent(&mut s);
    let big = [7u8; 200];
    assert_eq!(
        s.publish("t", &big, QoS::AtMostOnce, false, 0),
        Err(Error::PacketTooLarge)
    );
    assert_eq!(
        s.publish("t", &big, QoS::AtLeastOnce, false, 0),
        Err(Error::PacketTooLarge)
    );
    let mid = [7u8; 100];
    let first = s.publish("t", &mid, QoS::AtLeastOnce, false, 0).unwrap();
    // The second waits in the outbox for room in the send buffer...
    let second = s.publish("t", &mid, QoS::AtLeastOnce, false, 0).unwrap();
    // ...while QoS 0, which is not kept, says the buffer is full.
    assert_eq!(
        s.publish("t", &mid, QoS::AtMostOnce, false, 0),
        Err(Error::SendBufferFull)
    );
    let ids: Vec<u16> = sent_publish_ids(&mut s);
    assert_eq!(ids, vec![first]);
    assert_eq!(sent_publish_ids(&mut s), vec![second]);
    // Two 108-byte entries fill the 256-byte store.
    assert_eq!(
        s.publish("t", &mid, QoS::AtLeastOnce, false, 0),
        Err(Error::StoreFull)
    );
    assert_eq!(s.queued(), 2, "failed publishes hold nothing");
}

fn sent_publish_ids(s: &mut TestSession) -> Vec<u16> {
    let mut ids = Vec::new();
    drain(s, |p| {
        if let Packet::Publish(p) = p {
            ids.push(p.packet_id);
        }
    });
    ids
}

#[test]
fn the_outbox_count_limit_is_a_named_error() {
    let mut s = Session::new(
        HeapMemory::new(32, 16 * 1024, 8, 8 * 1024),
        SessionConfig {
            outbox_limit: 3,
            inflight_window: 1,
            ..SessionConfig::default()
        },
    );
    s.connect(&options(true), 0).unwrap();
    s.handle_packet(&connack(false), 0).unwrap();
    for _ in 0..3 {
        s.publish("o", b"x", QoS::AtLeastOnce, false, 0).unwrap();
    }
    assert_eq!(
        s.publish("o", b"x", QoS::AtLeastOnce, false, 0),
        Err(Error::StoreFull)
    );
    assert_eq!((s.inflight(), s.queued()), (1, 3));
}

fn offline_session(queue_qos0: bool) -> TestSession {
    Session::new(
        HeapMemory::new(32, 16 * 1024, 8, 8 * 1024),
        SessionConfig {
            inflight_window: 2,
            queue_offline: true,
            queue_qos0_offline: queue_qos0,
            ..SessionConfig::default()
        },
    )
}

#[test]
fn publishing_offline_needs_the_outbox_and_goes_out_after_connack() {
    let mut plain = new_session();
    assert_eq!(
        plain.publish("o", b"x", QoS::AtLeastOnce, false, 0),
        Err(Error::NotConnected)
    );
    let mut s = offline_session(false);
    assert_eq!(
        s.publish("o", b"q0", QoS::AtMostOnce, false, 0),
        Err(Error::NotConnected)
    );
    let a = s.publish("o", b"a", QoS::AtLeastOnce, false, 0).unwrap();
    let b = s.publish("o", b"b", QoS::ExactlyOnce, false, 0).unwrap();
    let c = s.publish("o", b"c", QoS::AtLeastOnce, false, 0).unwrap();
    assert_eq!(s.queued(), 3);
    assert!(s.pending_output().is_empty());
    s.connect(&options(false), 1).unwrap();
    sent(&mut s);
    // Never sent before, so no DUP even though the session is present.
    s.handle_packet(&connack(true), 2).unwrap();
    assert_eq!(
        sent(&mut s),
        vec![
            format!("PUBLISH o q1 id{a} dup0 a"),
            format!("PUBLISH o q2 id{b} dup0 b"),
        ]
    );
    s.handle_packet(&Packet::PubAck(a), 3).unwrap();
    assert_eq!(sent(&mut s), vec![format!("PUBLISH o q1 id{c} dup0 c")]);
}

#[test]
fn queued_offline_qos0_is_sent_once_and_not_kept() {
    let mut s = offline_session(true);
    assert_eq!(s.publish("o", b"zero", QoS::AtMostOnce, false, 0), Ok(0));
    let a = s.publish("o", b"one", QoS::AtLeastOnce, false, 0).unwrap();
    assert_eq!(s.queued(), 2);
    s.connect(&options(true), 1).unwrap();
    sent(&mut s);
    s.handle_packet(&connack(false), 2).unwrap();
    assert_eq!(
        sent(&mut s),
        vec![
            "PUBLISH o q0 id0 dup0 zero".to_string(),
            format!("PUBLISH o q1 id{a} dup0 one"),
        ]
    );
    assert_eq!(s.queued(), 1);
    s.connection_closed();
    s.connect(&options(true), 3).unwrap();
    sent(&mut s);
    s.handle_packet(&connack(false), 4).unwrap();
    assert_eq!(sent(&mut s), vec![format!("PUBLISH o q1 id{a} dup0 one")]);
}

#[test]
fn resend_after_reconnect_respects_the_window() {
    let mut s = offline_session(false);
    s.connect(&options(false), 0).unwrap();
    sent(&mut s);
    s.handle_packet(&connack(false), 0).unwrap();
    let ids: Vec<u16> = (0..5)
        .map(|i| {
            s.publish("r", &[b'a' + i], QoS::AtLeastOnce, false, 0)
                .unwrap()
        })
        .collect();
    assert_eq!(sent_publish_ids(&mut s), ids[..2].to_vec());
    s.connection_closed();
    s.connect(&options(false), 1).unwrap();
    sent(&mut s);
    s.handle_packet(&connack(true), 1).unwrap();
    assert_eq!(
        sent(&mut s),
        vec![
            format!("PUBLISH r q1 id{} dup1 a", ids[0]),
            format!("PUBLISH r q1 id{} dup1 b", ids[1]),
        ]
    );
    for (i, id) in ids.iter().enumerate() {
        s.handle_packet(&Packet::PubAck(*id), 2).unwrap();
        let expected: Vec<u16> = ids.get(i + 2).copied().into_iter().collect();
        assert_eq!(sent_publish_ids(&mut s), expected);
    }
    assert_eq!(s.queued(), 0);
}

#[test]
fn a_stored_packet_restores_into_a_new_session() {
    let mut s = connected(false);
    let a = s.publish("p", b"keep", QoS::ExactlyOnce, true, 0).unwrap();
    sent(&mut s);
    let saved = s.stored_packet(a).expect("stored").to_vec();
    assert_eq!(s.stored_packet(a + 1), None);
    // A new process: the same message comes back with its id.
    let mut fresh = new_session();
    assert_eq!(fresh.restore(&saved), Ok(a));
    assert_eq!(fresh.restore(&saved), Err(Error::InvalidArgument));
    assert_eq!(fresh.restore(b"\x30\x03\x00\x01a"), Err(Error::InvalidQos));
    assert_eq!(
        fresh.restore(&saved[..saved.len() - 1]),
        Err(Error::MalformedPacket)
    );
    fresh.connect(&options(false), 1).unwrap();
    assert_eq!(fresh.restore(&saved), Err(Error::AlreadyConnected));
    sent(&mut fresh);
    fresh.handle_packet(&connack(true), 2).unwrap();
    assert_eq!(
        sent(&mut fresh),
        vec![format!("PUBLISH p q2 id{a} dup1 keep")]
    );
    fresh.handle_packet(&Packet::PubRec(a), 3).unwrap();
    assert_eq!(sent(&mut fresh), vec![format!("PUBREL {a}")]);
    assert_eq!(
        fresh.handle_packet(&Packet::PubComp(a), 4).unwrap(),
        Some(Event::Published { packet_id: a })
    );
}

#[test]
fn keepalive_pings_and_times_out() {
    let mut s = connected(true); // keepalive 10 s, ping timeout 5 s
    assert_eq!(s.next_deadline(), Some(10_000));
    assert_eq!(s.handle_timers(9_999).unwrap(), None);
    assert!(sent(&mut s).is_empty());
    assert_eq!(s.handle_timers(10_000).unwrap(), None);
    assert_eq!(sent(&mut s), vec!["PINGREQ"]);
    assert_eq!(s.next_deadline(), Some(15_000));
    s.handle_packet(&Packet::PingResp, 12_000).unwrap();
    assert_eq!(s.next_deadline(), Some(20_000));
    // Sending alone does not postpone the ping past a keepalive of silence
    // from the broker (last receive at 12 s).
    s.publish("k", b"", QoS::AtMostOnce, false, 18_000).unwrap();
    assert_eq!(sent(&mut s), vec!["PUBLISH k q0 id0 dup0 "]);
    assert_eq!(s.next_deadline(), Some(22_000));
    // A packet from the broker moves it to a keepalive after the last send.
    s.handle_packet(&Packet::PubAck(999), 19_000).unwrap();
    assert_eq!(s.next_deadline(), Some(28_000));
    s.handle_timers(28_000).unwrap();
    assert_eq!(sent(&mut s), vec!["PINGREQ"]);
    assert_eq!(s.handle_timers(32_999).unwrap(), None);
    assert_eq!(
        s.handle_timers(33_000).unwrap(),
        Some(Event::ConnectionLost(Error::KeepaliveTimeout))
    );
    assert_eq!(s.state(), State::Disconnected);
    assert_eq!(s.next_deadline(), None);
}

/// Publishes QoS 1 and QoS 2 messages, acknowledges some partway, and
/// drops the connection. Returns the session and the ids.
fn interrupted_session() -> (TestSession, [u16; 4]) {
    let mut s = connected(false);
    let a = s.publish("r", b"a", QoS::AtLeastOnce, false, 1).unwrap();
    let b = s.publish("r", b"b", QoS::ExactlyOnce, false, 1).unwrap();
    let c = s.publish("r", b"c", QoS::ExactlyOnce, false, 1).unwrap();
    let d = s.publish("r", b"d", QoS::AtLeastOnce, false, 1).unwrap();
    sent(&mut s);
    s.handle_packet(&Packet::PubRec(c), 2).unwrap(); // c is released
    s.handle_packet(&Packet::PubAck(d), 2).unwrap(); // d done
    sent(&mut s);
    s.connection_closed();
    assert_eq!(s.state(), State::Disconnected);
    assert_eq!((s.inflight(), s.queued()), (0, 3));
    (s, [a, b, c, d])
}

#[test]
fn resend_after_reconnect_with_session_present() {
    let (mut s, [a, b, c, _]) = interrupted_session();
    s.connect(&options(false), 100).unwrap();
    sent(&mut s);
    s.handle_packet(&connack(true), 101).unwrap();
    assert_eq!(
        sent(&mut s),
        vec![
            format!("PUBLISH r q1 id{a} dup1 a"),
            format!("PUBLISH r q2 id{b} dup1 b"),
            format!("PUBREL {c}"),
        ]
    );
    s.handle_packet(&Packet::PubAck(a), 102).unwrap();
    s.handle_packet(&Packet::PubRec(b), 102).unwrap();
    s.handle_packet(&Packet::PubComp(c), 102).unwrap();
    assert_eq!(sent(&mut s), vec![format!("PUBREL {b}")]);
    s.handle_packet(&Packet::PubComp(b), 103).unwrap();
    assert_eq!(s.inflight(), 0);
    assert!(!s.has_stored_messages());
}

#[test]
fn resend_after_reconnect_without_session_publishes_as_new() {
    let (mut s, [a, b, c, _]) = interrupted_session();
    // Inbound QoS 2 state from before is forgotten with the session.
    let inbound = Publish {
        dup: false,
        qos: QoS::ExactlyOnce,
        retain: false,
        topic: "in",
        packet_id: 5,
        payload: b"",
    };
    s.connect(&options(false), 100).unwrap();
    sent(&mut s);
    s.handle_packet(&connack(false), 101).unwrap();
    assert_eq!(
        sent(&mut s),
        vec![
            format!("PUBLISH r q1 id{a} dup0 a"),
            format!("PUBLISH r q2 id{b} dup0 b"),
            format!("PUBREL {c}"),
        ]
    );
    assert!(matches!(
        s.handle_packet(&Packet::Publish(inbound), 102).unwrap(),
        Some(Event::Message(_))
    ));
}

#[test]
fn resend_larger_than_send_buffer_continues_after_flush() {
    let mut s = session_with(20, 32, 4096, 64);
    s.connect(&options(false), 0).unwrap();
    sent(&mut s);
    s.handle_packet(&connack(false), 0).unwrap();
    let mut ids = Vec::new();
    for i in 0..6u8 {
        ids.push(
            s.publish("r", &[b'0' + i; 40], QoS::AtLeastOnce, false, 0)
                .unwrap(),
        );
        sent(&mut s);
    }
    s.connection_closed();
    s.connect(&options(false), 1).unwrap();
    sent(&mut s);
    s.handle_packet(&connack(true), 1).unwrap();
    assert!(s.resend_pending());
    // New messages wait until the old ones are out.
    let new = s.publish("r", b"new", QoS::AtLeastOnce, false, 1).unwrap();
    let mut resent = Vec::new();
    for _ in 0..10 {
        for line in sent(&mut s) {
            resent.push(line);
        }
    }
    assert!(!s.resend_pending());
    let mut expected: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            format!(
                "PUBLISH r q1 id{id} dup1 {}",
                String::from_utf8(vec![b'0' + i as u8; 40]).unwrap()
            )
        })
        .collect();
    expected.push(format!("PUBLISH r q1 id{new} dup0 new"));
    assert_eq!(resent, expected);
}

#[test]
fn disconnect_queues_disconnect_and_keeps_the_store() {
    let mut s = connected(false);
    s.publish("d", b"x", QoS::AtLeastOnce, false, 0).unwrap();
    sent(&mut s);
    s.disconnect(1).unwrap();
    assert_eq!(s.state(), State::Disconnecting);
    assert_eq!(sent(&mut s), vec!["DISCONNECT"]);
    s.connection_closed();
    assert!(s.has_stored_messages());
    assert_eq!(s.disconnect(2), Err(Error::NotConnected));
}

#[test]
fn array_memory_runs_without_a_heap() {
    let mut s: Session<ArrayMemory<8, 512, 4, 256>> =
        Session::new(ArrayMemory::new(), SessionConfig::default());
    s.connect(&options(true), 0).unwrap();
    s.consume_output(s.pending_output().len());
    s.handle_packet(&connack(false), 0).unwrap();
    let id = s.publish("a", b"b", QoS::AtLeastOnce, false, 0).unwrap();
    assert_eq!(
        s.handle_packet(&Packet::PubAck(id), 0).unwrap(),
        Some(Event::Published { packet_id: id })
    );
}

#[test]
fn a_sender_still_pings_when_the_broker_goes_quiet() {
    let mut s = connected(true); // keepalive 10 s, CONNACK at t=0
                                 // Publishing every second keeps "last sent" fresh...
    for t in 1..=12u32 {
        s.publish("k", b"", QoS::AtMostOnce, false, t * 1_000)
            .unwrap();
        s.handle_timers(t * 1_000).unwrap();
    }
    // ...but nothing came back for 10 s, so a PINGREQ went out.
    assert!(sent(&mut s).contains(&"PINGREQ".to_string()));
    assert_eq!(
        s.handle_timers(15_000).unwrap(),
        Some(Event::ConnectionLost(Error::KeepaliveTimeout))
    );
}

#[test]
fn raw_packets_match_the_codec() {
    let encode = |packet: Packet<'_>| {
        let mut out = [0u8; 8];
        let len = packet.encode(&mut out).unwrap();
        out[..len].to_vec()
    };
    for id in [1u16, 0x1234, u16::MAX] {
        assert_eq!(ack(PUBACK, id).to_vec(), encode(Packet::PubAck(id)));
        assert_eq!(ack(PUBREC, id).to_vec(), encode(Packet::PubRec(id)));
        assert_eq!(ack(PUBREL, id).to_vec(), encode(Packet::PubRel(id)));
        assert_eq!(ack(PUBCOMP, id).to_vec(), encode(Packet::PubComp(id)));
    }
    for (first_byte, packet) in [
        (PUBACK, Packet::PubAck(0x1234)),
        (PUBREL, Packet::PubRel(0x1234)),
        (PINGREQ, Packet::PingReq),
        (DISCONNECT, Packet::Disconnect),
    ] {
        let (bytes, len) = fixed_packet(first_byte, 0x1234);
        assert_eq!(bytes[..len].to_vec(), encode(packet));
    }
}

#[test]
fn dropping_sent_messages_after_a_loss_keeps_the_unsent_ones() {
    // A window of 1: the second QoS 1 message waits unsent behind the first.
    let mut s = session_with(1, 8, 4096, 1024);
    s.connect(&options(true), 0).unwrap();
    s.handle_packet(&connack(false), 0).unwrap();
    let first = s.publish("t", b"1", QoS::AtLeastOnce, false, 0).unwrap();
    let second = s.publish("t", b"2", QoS::ExactlyOnce, false, 0).unwrap();
    drain(&mut s, |_| {});
    assert_eq!(s.drop_next_sent(), None, "only while disconnected");
    s.connection_closed();
    assert_eq!(s.drop_next_sent(), Some(first));
    assert_eq!(s.drop_next_sent(), None, "the unsent message stays");
    assert_eq!(s.queued(), 1);
    assert!(!s.is_pending(first));
    assert!(s.is_pending(second));
    // After the next CONNACK only the kept message goes out, as new.
    s.connect(&options(true), 0).unwrap();
    s.handle_packet(&connack(false), 0).unwrap();
    let mut ids = Vec::new();
    drain(&mut s, |p| {
        if let Packet::Publish(p) = p {
            ids.push((p.packet_id, p.dup));
        }
    });
    assert_eq!(ids, [(second, false)]);
}
