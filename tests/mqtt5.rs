//! The Rust client over MQTT 5.0: against a real mosquitto (2.0.11 speaks
//! MQTT 5) started per test, and against scripted peers for what mosquitto
//! does not do on demand (a DISCONNECT with a reason code, a Topic Alias
//! the client did not allow, a PUBACK with a failure reason).

mod support;

use embermq::client::{Client, ClientEvent};
use embermq::codec::v5::{
    Properties, Property, PropertyId, RetainHandling, SubscribeTopic, SubscriptionOptions,
};
use embermq::codec::QoS;
use embermq::session::{ConnectOptions, ConnectV5, HeapMemory, Session, SessionConfig, State};
use embermq::transport::tcp::{TcpOptions, TcpTransport};
use embermq::transport::StdClock;
use embermq::Error;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};
use support::{read_packet, Broker, BrokerConfig};

type TestClient = Client<HeapMemory, TcpTransport, StdClock, Box<[u8]>>;

/// An MQTT 5 client (window 20, 16 KiB buffers).
fn new_client() -> TestClient {
    let session = Session::new(
        HeapMemory::new(40, 64 * 1024, 64, 16 * 1024),
        SessionConfig::default(),
    );
    let mut client = Client::new(
        session,
        StdClock::default(),
        vec![0; 16 * 1024].into_boxed_slice(),
        5_000,
    );
    client.select_v5(Some(ConnectV5::DEFAULT)).unwrap();
    client
}

/// An MQTT 5 client that queues publishes while offline (4 KiB buffers).
fn offline_client() -> TestClient {
    let config = SessionConfig {
        queue_offline: true,
        ..SessionConfig::default()
    };
    let session = Session::new(HeapMemory::new(8, 4096, 16, 4096), config);
    let mut client = Client::new(
        session,
        StdClock::default(),
        vec![0; 4096].into_boxed_slice(),
        5_000,
    );
    client.select_v5(Some(ConnectV5::DEFAULT)).unwrap();
    client
}

fn tcp(port: u16) -> TcpTransport {
    TcpTransport::connect("127.0.0.1", port, &TcpOptions::default()).expect("tcp connect")
}

fn options(id: &str) -> ConnectOptions<'_> {
    ConnectOptions {
        client_id: id,
        keep_alive_secs: 30,
        ..ConnectOptions::default()
    }
}

fn connect(client: &mut TestClient, broker: &Broker, id: &str) {
    client
        .connect(tcp(broker.port), &options(id))
        .expect("connect");
    assert!(client.is_connected());
    assert!(client.session().is_v5());
}

fn sub(filter: &str, qos: QoS) -> SubscribeTopic<'_> {
    SubscribeTopic {
        filter,
        options: SubscriptionOptions {
            qos,
            ..SubscriptionOptions::default()
        },
    }
}

/// What arrived, copied out of the receive buffer.
#[derive(Debug, Default)]
struct Seen {
    messages: Vec<(String, Vec<u8>, QoS, bool)>,
    /// The properties of each message, as they came.
    properties: Vec<Vec<u8>>,
    published: Vec<u16>,
    failed: Vec<(u16, u8)>,
    subscribed: Vec<(u16, Vec<u8>)>,
    unsubscribed: Vec<(u16, Vec<u8>)>,
    lost: Vec<Error>,
}

/// Polls until `done` holds or `limit` passes (then panics).
fn poll_until(
    client: &mut TestClient,
    seen: &mut Seen,
    limit: Duration,
    done: impl Fn(&Seen) -> bool,
) {
    let start = Instant::now();
    while !done(seen) {
        assert!(start.elapsed() < limit, "timed out; seen {seen:?}");
        poll_for(client, seen, 50);
    }
}

/// One poll of at most `ms`, recording its event.
fn poll_for(client: &mut TestClient, seen: &mut Seen, ms: u32) {
    let event = match client.poll_event(ms) {
        Ok(Some(event)) => event,
        Ok(None) | Err(Error::NotConnected) => return,
        Err(other) => panic!("poll: {other:?}"),
    };
    match event {
        ClientEvent::Message {
            topic,
            payload,
            qos,
            retain,
            properties,
            ..
        } => {
            seen.messages.push((
                String::from_utf8(client.bytes(topic).to_vec()).unwrap(),
                client.bytes(payload).to_vec(),
                qos,
                retain,
            ));
            seen.properties.push(client.bytes(properties).to_vec());
        }
        ClientEvent::Published { packet_id } => seen.published.push(packet_id),
        ClientEvent::PublishFailed { packet_id, reason } => seen.failed.push((packet_id, reason)),
        ClientEvent::Subscribed {
            packet_id,
            return_codes,
        } => seen
            .subscribed
            .push((packet_id, client.bytes(return_codes).to_vec())),
        ClientEvent::UnsubscribedCodes {
            packet_id,
            reason_codes,
        } => seen
            .unsubscribed
            .push((packet_id, client.bytes(reason_codes).to_vec())),
        ClientEvent::ConnectionLost(reason) => seen.lost.push(reason),
        ClientEvent::Received { .. } | ClientEvent::Pong => {}
        other => panic!("unexpected event {other:?}"),
    }
}

/// Polls for `ms` milliseconds in all (for "nothing arrives" checks).
fn poll_quietly(client: &mut TestClient, seen: &mut Seen, ms: u64) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(ms) {
        poll_for(client, seen, 50);
    }
}

fn subscribe(client: &mut TestClient, seen: &mut Seen, topics: &[SubscribeTopic<'_>]) -> Vec<u8> {
    let id = client.subscribe_v5(topics, Properties::NONE).unwrap();
    let before = seen.subscribed.len();
    poll_until(client, seen, Duration::from_secs(5), |s| {
        s.subscribed.len() > before
    });
    let (got, codes) = seen.subscribed.last().unwrap().clone();
    assert_eq!(got, id);
    codes
}

#[test]
fn round_trips_at_every_qos_over_mqtt5() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let mut client = new_client();
    connect(&mut client, &broker, "v5-rt");
    let mut seen = Seen::default();
    assert_eq!(
        subscribe(&mut client, &mut seen, &[sub("rt/#", QoS::ExactlyOnce)]),
        vec![2]
    );
    // One message per QoS, each with a payload of its own size (the
    // QoS 2 one spans many reads), in the order published.
    let sent: Vec<(String, Vec<u8>, QoS, bool)> =
        [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
            .into_iter()
            .map(|qos| {
                let len = [5, 0, 12_000][qos as usize];
                let payload = (0..len).map(|i| (i % 253) as u8).collect();
                (format!("rt/{qos:?}"), payload, qos, false)
            })
            .collect();
    let ids: Vec<u16> = sent
        .iter()
        .map(|(topic, payload, qos, _)| client.publish(topic, payload, *qos, false).unwrap())
        .collect();
    assert_eq!(ids[0], 0);
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        s.messages.len() == 3 && s.published.len() == 2
    });
    seen.messages.sort_by_key(|m| m.2);
    assert_eq!(seen.messages, sent);
    seen.published.sort();
    assert_eq!(seen.published, ids[1..]);
    assert!(seen.failed.is_empty() && seen.lost.is_empty());
    assert_eq!(client.session().inflight(), 0);
    // A publish with properties goes through too.
    let mut buf = [0u8; 64];
    let mut props = embermq::codec::v5::PropertyWriter::new(&mut buf);
    props
        .push(&embermq::codec::v5::Property::ContentType("text/plain"))
        .unwrap();
    props
        .push(&embermq::codec::v5::Property::UserProperty("k", "v"))
        .unwrap();
    let id = client
        .publish_v5("rt/props", b"p", QoS::AtLeastOnce, false, props.finish())
        .unwrap();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        s.published.contains(&id) && s.messages.len() == 4
    });
    assert_eq!(seen.messages[3].0, "rt/props");
    // The properties arrive with it (mosquitto forwards both).
    assert!(seen.properties[..3].iter().all(Vec::is_empty));
    let props = Properties::Wire(&seen.properties[3]);
    assert_eq!(
        props.get(PropertyId::ContentType),
        Some(Property::ContentType("text/plain"))
    );
    assert_eq!(
        props.user_properties().collect::<Vec<_>>(),
        vec![("k", "v")]
    );
    client.disconnect().unwrap();
    assert_eq!(client.state(), State::Disconnected);
    assert!(broker.wait_for_log("v5-rt", Duration::from_secs(2)));
}

#[test]
fn no_local_and_retain_handling_are_honoured() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let mut client = new_client();
    connect(&mut client, &broker, "v5-opts");
    let mut seen = Seen::default();
    let no_local = SubscribeTopic {
        filter: "nl/#",
        options: SubscriptionOptions {
            qos: QoS::AtLeastOnce,
            no_local: true,
            ..SubscriptionOptions::default()
        },
    };
    assert_eq!(subscribe(&mut client, &mut seen, &[no_local]), vec![1]);
    // Our own message is not delivered; another client's is.
    client
        .publish("nl/own", b"mine", QoS::AtLeastOnce, false)
        .unwrap();
    let mut other = new_client();
    connect(&mut other, &broker, "v5-other");
    other
        .publish("nl/other", b"theirs", QoS::AtLeastOnce, false)
        .unwrap();
    let mut other_seen = Seen::default();
    poll_until(&mut other, &mut other_seen, Duration::from_secs(5), |s| {
        s.published.len() == 1
    });
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.messages.is_empty()
    });
    poll_quietly(&mut client, &mut seen, 300);
    let topics: Vec<_> = seen.messages.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(topics, vec!["nl/other"]);

    // A retained message: not sent with Retain Handling 2, sent with 0.
    other
        .publish("rh/x", b"kept", QoS::AtLeastOnce, true)
        .unwrap();
    poll_until(&mut other, &mut other_seen, Duration::from_secs(5), |s| {
        s.published.len() == 2
    });
    seen.messages.clear();
    let never = SubscribeTopic {
        filter: "rh/#",
        options: SubscriptionOptions {
            qos: QoS::AtLeastOnce,
            retain_handling: RetainHandling::DoNotSend,
            ..SubscriptionOptions::default()
        },
    };
    assert_eq!(subscribe(&mut client, &mut seen, &[never]), vec![1]);
    poll_quietly(&mut client, &mut seen, 300);
    assert!(seen.messages.is_empty(), "{:?}", seen.messages);
    let always = SubscribeTopic {
        filter: "rh/+",
        options: SubscriptionOptions {
            qos: QoS::AtLeastOnce,
            retain_handling: RetainHandling::SendAtSubscribe,
            retain_as_published: true,
            ..SubscriptionOptions::default()
        },
    };
    assert_eq!(subscribe(&mut client, &mut seen, &[always]), vec![1]);
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.messages.is_empty()
    });
    assert_eq!(
        seen.messages[0],
        ("rh/x".into(), b"kept".to_vec(), QoS::AtLeastOnce, true)
    );
}

#[test]
fn suback_and_unsuback_reason_codes_per_filter() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start(BrokerConfig::new().extra("max_qos 1"));
    let mut client = new_client();
    connect(&mut client, &broker, "v5-codes");
    let mut seen = Seen::default();
    // QoS 2 asked, 1 granted (the server's maximum); 0 asked, 0 granted.
    assert_eq!(
        subscribe(
            &mut client,
            &mut seen,
            &[sub("a/#", QoS::ExactlyOnce), sub("b", QoS::AtMostOnce)]
        ),
        vec![1, 0]
    );
    // Maximum QoS 1 from the CONNACK: QoS 2 is refused before sending.
    assert_eq!(
        client.publish("a/x", b"2", QoS::ExactlyOnce, false),
        Err(Error::QosNotSupported)
    );
    assert_eq!(client.session().queued(), 0);
    let id = client
        .unsubscribe_v5(&["a/#", "never/subscribed"], Properties::NONE)
        .unwrap();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.unsubscribed.is_empty()
    });
    assert_eq!(seen.unsubscribed, vec![(id, vec![0x00, 0x11])]);
    // The 3.1.1-style calls speak MQTT 5 on an MQTT 5 connection.
    let id = client
        .subscribe(&[embermq::codec::SubscribeTopic {
            filter: "c",
            qos: QoS::ExactlyOnce,
        }])
        .unwrap();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        s.subscribed.len() == 2
    });
    assert_eq!(seen.subscribed[1], (id, vec![1]));
    let id = client.unsubscribe(&["c"]).unwrap();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        s.unsubscribed.len() == 2
    });
    assert_eq!(seen.unsubscribed[1], (id, vec![0x00]));
    assert!(client.is_connected());
}

#[test]
fn retain_unavailable_is_refused_before_sending() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start(BrokerConfig::new().extra("retain_available false"));
    let mut client = new_client();
    connect(&mut client, &broker, "v5-noretain");
    assert_eq!(
        client.publish("r", b"x", QoS::AtLeastOnce, true),
        Err(Error::RetainNotSupported)
    );
    assert_eq!(client.session().queued(), 0);
    let id = client.publish("r", b"x", QoS::AtLeastOnce, false).unwrap();
    let mut seen = Seen::default();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        s.published == vec![id]
    });
}

#[test]
fn receive_maximum_caps_the_inflight_window() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start(BrokerConfig::new().max_inflight(3));
    let mut client = new_client();
    assert_eq!(client.session().config().inflight_window, 20);
    connect(&mut client, &broker, "v5-recvmax");
    let mut ids = Vec::new();
    for i in 0..10u8 {
        ids.push(client.publish("rm", &[i], QoS::AtLeastOnce, false).unwrap());
        // Never more than the server's Receive Maximum on the wire.
        assert!(client.session().inflight() <= 3);
    }
    assert_eq!(client.session().inflight(), 3);
    assert_eq!(client.session().queued(), 10);
    let mut seen = Seen::default();
    let start = Instant::now();
    while seen.published.len() < 10 {
        assert!(start.elapsed() < Duration::from_secs(5), "{seen:?}");
        poll_for(&mut client, &mut seen, 50);
        assert!(client.session().inflight() <= 3);
    }
    seen.published.sort();
    assert_eq!(seen.published, ids);
}

#[test]
fn maximum_packet_size_is_respected_before_sending() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start(BrokerConfig::new().extra("max_packet_size 200"));
    let mut client = new_client();
    connect(&mut client, &broker, "v5-maxpkt");
    let big = [7u8; 300];
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
        assert_eq!(
            client.publish("mp", &big, qos, false),
            Err(Error::PacketTooLargeForServer)
        );
    }
    assert_eq!(client.session().queued(), 0);
    assert!(client.session().pending_output().is_empty());
    // The connection is fine: a small message goes through.
    let id = client
        .publish("mp", &big[..100], QoS::AtLeastOnce, false)
        .unwrap();
    let mut seen = Seen::default();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        s.published == vec![id]
    });
    assert!(seen.lost.is_empty());
}

#[test]
fn server_keep_alive_and_assigned_client_id() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start(BrokerConfig::new().extra("max_keepalive 10"));
    let mut client = new_client();
    // Keepalive 30 asked, 10 imposed; an empty id gets one assigned.
    connect(&mut client, &broker, "");
    assert_eq!(client.session().keep_alive_secs(), 10);
    let id = client.session().assigned_client_id().expect("assigned id");
    assert!(id.starts_with("auto-"), "{id}");
    let deadline = client.next_deadline().unwrap();
    let now = client.now_ms();
    assert!(
        deadline.wrapping_sub(now) <= 10_000,
        "{}",
        deadline.wrapping_sub(now)
    );
}

#[test]
fn refusal_carries_the_v5_reason_code() {
    if !support::require_mosquitto() || !support::mosquitto_passwd_available() {
        return;
    }
    let broker = Broker::start(BrokerConfig::new().user("alice", "secret"));
    let mut client = new_client();
    let wrong = ConnectOptions {
        username: Some("alice"),
        password: Some(b"wrong"),
        ..options("v5-refused")
    };
    match client.connect(tcp(broker.port), &wrong) {
        Err(Error::ConnectionRefused(code)) => {
            assert!(code == 0x86 || code == 0x87, "{code:#x}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(client.state(), State::Disconnected);
    let right = ConnectOptions {
        password: Some(b"secret"),
        ..wrong
    };
    client.connect(tcp(broker.port), &right).unwrap();
    assert!(client.is_connected());
}

// ---- scripted peers ----

/// A peer that accepts one MQTT 5 CONNECT (checked) with a plain CONNACK,
/// then runs `script`; returns what the script returns.
fn scripted<R: Send + 'static>(
    script: impl FnOnce(&mut TcpStream) -> R + Send + 'static,
) -> (u16, thread::JoinHandle<R>) {
    scripted_after(&[0x20, 3, 0, 0, 0], move |s, _| script(s))
}

/// `scripted` answering with `connack`, its script also given the CONNECT.
fn scripted_after<R: Send + 'static>(
    connack: &'static [u8],
    script: impl FnOnce(&mut TcpStream, Vec<u8>) -> R + Send + 'static,
) -> (u16, thread::JoinHandle<R>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let connect = read_packet(&mut s);
        assert_eq!(connect[0], 0x10, "CONNECT first");
        // Protocol name "MQTT" then version 5.
        assert_eq!(&connect[2..9], b"\x00\x04MQTT\x05");
        s.write_all(connack).unwrap();
        script(&mut s, connect)
    });
    (port, peer)
}

/// A client with topic aliases: `incoming` from the server, `outgoing` of
/// its own, 16 bytes of topic each.
fn aliasing_client(incoming: u16, outgoing: u16) -> TestClient {
    let mut client = new_client();
    client
        .select_v5(Some(ConnectV5 {
            topic_alias_maximum: incoming,
            topic_alias_outgoing: outgoing,
            topic_alias_length: 16,
            ..ConnectV5::DEFAULT
        }))
        .unwrap();
    client
}

/// A QoS 0 PUBLISH from a server: `topic`, Topic Alias `alias`, `payload`.
fn aliased_publish(topic: &str, alias: u16, payload: &[u8]) -> Vec<u8> {
    let mut body = vec![0, topic.len() as u8];
    body.extend_from_slice(topic.as_bytes());
    body.extend_from_slice(&[3, 0x23, (alias >> 8) as u8, alias as u8]);
    body.extend_from_slice(payload);
    let mut packet = vec![0x30, body.len() as u8];
    packet.extend(body);
    packet
}

#[test]
fn topic_aliases_from_the_server_are_mapped_back_to_their_topics() {
    let (port, peer) = scripted_after(&[0x20, 3, 0, 0, 0], |s, connect| {
        for (topic, alias, payload) in [
            ("t/one", 1, "1"),
            ("", 1, "2"),
            ("t/two", 2, "3"),
            ("", 2, "4"),
            ("t/three", 1, "5"),
            ("", 1, "6"),
            ("", 2, "7"),
        ] {
            s.write_all(&aliased_publish(topic, alias, payload.as_bytes()))
                .unwrap();
        }
        // Alias 3 is above the announced maximum of 2: 0x94.
        s.write_all(&aliased_publish("", 3, b"x")).unwrap();
        let disconnect = read_packet(s);
        (connect, disconnect)
    });
    let mut client = aliasing_client(2, 0);
    client.connect(tcp(port), &options("v5-in-alias")).unwrap();
    let mut seen = Seen::default();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.lost.is_empty()
    });
    let got: Vec<(&str, &[u8])> = seen
        .messages
        .iter()
        .map(|m| (m.0.as_str(), m.1.as_slice()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("t/one", &b"1"[..]),
            ("t/one", b"2"),
            ("t/two", b"3"),
            ("t/two", b"4"),
            ("t/three", b"5"),
            ("t/three", b"6"),
            ("t/two", b"7"),
        ]
    );
    assert_eq!(seen.lost, vec![Error::ProtocolViolation]);
    let (connect, disconnect) = peer.join().unwrap();
    // CONNECT announced Topic Alias Maximum 2.
    assert!(
        connect.windows(3).any(|w| w == [0x22, 0, 2]),
        "{connect:x?}"
    );
    assert_eq!((disconnect[0], disconnect[2]), (0xE0, 0x94));
}

#[test]
fn an_alias_never_set_or_too_long_closes_the_connection() {
    // An alias alone that this connection never set: 0x82; a topic longer
    // than a slot: 0x83. Each on a fresh connection, so earlier ones'
    // aliases do not carry over either.
    for (publish, reason, error) in [
        (aliased_publish("", 2, b"x"), 0x82, Error::ProtocolViolation),
        (
            aliased_publish("a/topic/of/17/byt", 1, b"x"),
            0x83,
            Error::TopicAliasTooLong,
        ),
    ] {
        let (port, peer) = scripted(move |s| {
            s.write_all(&aliased_publish("t/kept", 1, b"k")).unwrap();
            s.write_all(&publish).unwrap();
            read_packet(s)
        });
        let mut client = aliasing_client(4, 0);
        client.connect(tcp(port), &options("v5-bad-alias")).unwrap();
        let mut seen = Seen::default();
        poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
            !s.lost.is_empty()
        });
        let disconnect = peer.join().unwrap();
        assert_eq!((disconnect[0], disconnect[2]), (0xE0, reason));
        assert_eq!(seen.lost, vec![error]);
        assert_eq!(seen.messages.len(), 1);
        // The next connection starts with no aliases: alias 1 alone is
        // refused there too.
        let (port, peer) = scripted(|s| {
            s.write_all(&aliased_publish("", 1, b"x")).unwrap();
            read_packet(s)
        });
        client.connect(tcp(port), &options("v5-bad-alias")).unwrap();
        let mut seen = Seen::default();
        poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
            !s.lost.is_empty()
        });
        assert_eq!(peer.join().unwrap()[2], 0x82);
    }
}

#[test]
fn outgoing_topic_aliases_are_set_once_then_sent_alone() {
    // Topic Alias Maximum 2 in the CONNACK.
    static CONNACK: [u8; 8] = [0x20, 6, 0, 0, 3, 0x22, 0, 2];
    let (port, peer) = scripted_after(&CONNACK, |s, _| {
        (0..6).map(|_| read_packet(s)).collect::<Vec<_>>()
    });
    let mut client = aliasing_client(0, 8);
    client.connect(tcp(port), &options("v5-out-alias")).unwrap();
    for topic in ["o/a", "o/a", "o/b", "o/a", "o/c", "o/a/much/longer/topic"] {
        client
            .publish_v5(topic, b"p", QoS::AtMostOnce, false, Properties::NONE)
            .unwrap();
    }
    let packets = peer.join().unwrap();
    // (topic sent, alias) per PUBLISH: the server allows 2, so "o/c" goes
    // plain; the long topic does not fit a 16-byte slot.
    let seen: Vec<(String, Option<u16>)> = packets
        .iter()
        .map(|p| {
            let decoded = embermq::codec::v5::decode_from_server(p, usize::MAX);
            match decoded {
                Ok(embermq::codec::v5::Decoded::Packet {
                    packet: embermq::codec::v5::ServerPacket::Publish(publish),
                    ..
                }) => (publish.topic.to_string(), publish.topic_alias()),
                other => panic!("{other:?}"),
            }
        })
        .collect();
    let want = [
        ("o/a", Some(1)),
        ("", Some(1)),
        ("o/b", Some(2)),
        ("", Some(1)),
        ("o/c", None),
        ("o/a/much/longer/topic", None),
    ];
    let want: Vec<(String, Option<u16>)> = want.iter().map(|(t, a)| (t.to_string(), *a)).collect();
    assert_eq!(seen, want);
}

#[test]
fn outgoing_aliases_reach_subscribers_through_mosquitto() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let mut listener = new_client();
    connect(&mut listener, &broker, "v5-alias-sub");
    let mut seen = Seen::default();
    assert_eq!(
        subscribe(&mut listener, &mut seen, &[sub("al/#", QoS::AtMostOnce)]),
        vec![0]
    );
    let mut client = aliasing_client(0, 4);
    connect(&mut client, &broker, "v5-alias-pub");
    assert!(client.session().server_topic_alias_maximum() > 0);
    let topics = ["al/x", "al/y", "al/x", "al/x", "al/y"];
    for (n, topic) in topics.iter().enumerate() {
        client
            .publish_v5(topic, &[n as u8], QoS::AtMostOnce, false, Properties::NONE)
            .unwrap();
    }
    poll_until(&mut listener, &mut seen, Duration::from_secs(5), |s| {
        s.messages.len() == topics.len()
    });
    for (n, topic) in topics.iter().enumerate() {
        assert_eq!(seen.messages[n].0, *topic);
        assert_eq!(seen.messages[n].1, vec![n as u8]);
    }
}

#[test]
fn server_disconnect_is_reported_with_its_reason_code() {
    let (port, peer) = scripted(|s| {
        // 0x9D Server moved, with a Reason String and a Server Reference.
        let mut d = vec![0xE0, 0, 0x9D, 19, 0x1F, 0, 3];
        d.extend_from_slice(b"bye");
        d.extend_from_slice(&[0x1C, 0, 10]);
        d.extend_from_slice(b"other:1883");
        d[1] = (d.len() - 2) as u8;
        s.write_all(&d).unwrap();
        // The client sends nothing back and closes.
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        rest
    });
    let mut client = new_client();
    client.connect(tcp(port), &options("v5-sd")).unwrap();
    let mut seen = Seen::default();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.lost.is_empty()
    });
    assert_eq!(seen.lost, vec![Error::ServerDisconnected(0x9D)]);
    assert_eq!(client.state(), State::Disconnected);
    let d = client.server_disconnect().expect("the DISCONNECT is kept");
    assert_eq!(d.reason.0, 0x9D);
    assert_eq!(client.bytes(d.reason_string), b"bye");
    assert_eq!(client.bytes(d.server_reference), b"other:1883");
    assert_eq!(peer.join().unwrap(), Vec::<u8>::new());
}

#[test]
fn topic_alias_from_the_server_is_answered_with_disconnect_0x94() {
    let (port, peer) = scripted(|s| {
        // PUBLISH QoS 0, topic "t", properties: Topic Alias 1.
        s.write_all(&[0x30, 8, 0, 1, b't', 3, 0x23, 0, 1, b'x'])
            .unwrap();
        let disconnect = read_packet(s);
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        (disconnect, rest)
    });
    let mut client = new_client();
    client.connect(tcp(port), &options("v5-alias")).unwrap();
    let mut seen = Seen::default();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.lost.is_empty()
    });
    assert!(seen.messages.is_empty());
    assert_eq!(seen.lost, vec![Error::ProtocolViolation]);
    let (disconnect, rest) = peer.join().unwrap();
    assert_eq!(disconnect[0], 0xE0);
    assert_eq!(disconnect[2], 0x94, "{disconnect:x?}");
    assert!(rest.is_empty());
}

#[test]
fn malformed_packet_is_answered_with_disconnect_0x81() {
    let (port, peer) = scripted(|s| {
        // PUBACK whose property length runs past the packet.
        s.write_all(&[0x40, 4, 0, 1, 0x00, 9]).unwrap();
        read_packet(s)
    });
    let mut client = new_client();
    client.connect(tcp(port), &options("v5-malformed")).unwrap();
    let mut seen = Seen::default();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.lost.is_empty()
    });
    let disconnect = peer.join().unwrap();
    assert_eq!(disconnect[0], 0xE0);
    assert_eq!(disconnect[2], 0x81, "{disconnect:x?}");
}

#[test]
fn bad_properties_from_the_server_get_their_reason_codes() {
    // Each on a connection of its own: the DISCONNECT the client sends and
    // the error it reports.
    let cases: [(&[u8], u8, Error); 4] = [
        // Content Type twice: a Protocol Error (section 2.2.2.2).
        (
            &[0x30, 12, 0, 1, b't', 8, 0x03, 0, 1, b'a', 0x03, 0, 1, b'b'],
            0x82,
            Error::ProtocolViolation,
        ),
        // Session Expiry Interval in PUBLISH: a property that packet may
        // not carry is malformed.
        (
            &[0x30, 10, 0, 1, b't', 5, 0x11, 0, 0, 0, 1, b'x'],
            0x81,
            Error::MalformedPacket,
        ),
        // An unknown property identifier.
        (
            &[0x30, 7, 0, 1, b't', 2, 0x05, 1, b'x'],
            0x81,
            Error::MalformedPacket,
        ),
        // Payload Format Indicator 2: a value out of range.
        (
            &[0x30, 7, 0, 1, b't', 2, 0x01, 2, b'x'],
            0x82,
            Error::ProtocolViolation,
        ),
    ];
    for (packet, reason, error) in cases {
        let (port, peer) = scripted(move |s| {
            s.write_all(packet).unwrap();
            read_packet(s)
        });
        let mut client = new_client();
        client.connect(tcp(port), &options("v5-bad-props")).unwrap();
        let mut seen = Seen::default();
        poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
            !s.lost.is_empty()
        });
        assert!(seen.messages.is_empty());
        assert_eq!(seen.lost, vec![error], "{packet:x?}");
        let disconnect = peer.join().unwrap();
        assert_eq!(
            (disconnect[0], disconnect[2]),
            (0xE0, reason),
            "{packet:x?}"
        );
    }
}

#[test]
fn puback_with_a_failure_reason_completes_the_message_as_failed() {
    let (port, peer) = scripted(|s| {
        let mut ids = Vec::new();
        for _ in 0..2 {
            let publish = read_packet(s);
            assert_eq!(publish[0] & 0xf6, 0x32, "QoS 1 PUBLISH");
            // Topic "f" (3 bytes with its length), then the packet id.
            ids.push([publish[5], publish[6]]);
        }
        // The first refused (0x87 Not authorized), the second accepted
        // in the short form.
        s.write_all(&[0x40, 3, ids[0][0], ids[0][1], 0x87]).unwrap();
        s.write_all(&[0x40, 2, ids[1][0], ids[1][1]]).unwrap();
        read_packet(s)
    });
    let mut client = new_client();
    client.connect(tcp(port), &options("v5-fail")).unwrap();
    let a = client.publish("f", b"1", QoS::AtLeastOnce, false).unwrap();
    let b = client.publish("f", b"2", QoS::AtLeastOnce, false).unwrap();
    let mut seen = Seen::default();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        s.failed.len() + s.published.len() == 2
    });
    assert_eq!(seen.failed, vec![(a, 0x87)]);
    assert_eq!(seen.published, vec![b]);
    assert_eq!(client.session().queued(), 0);
    assert!(!client.is_pending(a));
    client.disconnect().unwrap();
    // A normal DISCONNECT: the two bytes of both versions.
    assert_eq!(peer.join().unwrap(), vec![0xE0, 0]);
}

#[test]
fn session_expiry_keeps_the_session_across_connections() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let mut client = new_client();
    let keep = ConnectV5 {
        session_expiry_interval: 300,
        ..ConnectV5::DEFAULT
    };
    client.select_v5(Some(keep)).unwrap();
    let resume = ConnectOptions {
        clean_session: false,
        ..options("v5-expiry")
    };
    let first = client.connect(tcp(broker.port), &resume).unwrap();
    assert!(!first.session_present);
    let mut seen = Seen::default();
    assert_eq!(
        subscribe(&mut client, &mut seen, &[sub("se/#", QoS::AtLeastOnce)]),
        vec![1]
    );
    client.disconnect().unwrap();
    // Published while the client is away: the server queues it in the
    // session it keeps for 300 s.
    let mut other = new_client();
    connect(&mut other, &broker, "v5-expiry-pub");
    let id = other
        .publish("se/x", b"queued", QoS::AtLeastOnce, false)
        .unwrap();
    let mut other_seen = Seen::default();
    poll_until(&mut other, &mut other_seen, Duration::from_secs(5), |s| {
        s.published == vec![id]
    });
    let again = client.connect(tcp(broker.port), &resume).unwrap();
    assert!(again.session_present);
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.messages.is_empty()
    });
    assert_eq!(
        seen.messages,
        vec![("se/x".into(), b"queued".to_vec(), QoS::AtLeastOnce, false)]
    );
}

#[test]
fn qos2_after_pubrec_resends_only_pubrel_on_the_next_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let connect = read_packet(&mut s);
        assert_eq!(connect[9] & 0x02, 0, "Clean Start 0");
        s.write_all(&[0x20, 3, 0, 0, 0]).unwrap();
        let publish = read_packet(&mut s);
        assert_eq!(publish[0], 0x34, "QoS 2 PUBLISH, DUP clear");
        let id = [publish[5], publish[6]];
        s.write_all(&[0x50, 2, id[0], id[1]]).unwrap();
        assert_eq!(read_packet(&mut s), vec![0x62, 2, id[0], id[1]]);
        // The link dies before PUBCOMP.
        drop(s);
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        assert_eq!(read_packet(&mut s)[0], 0x10);
        // Session present.
        s.write_all(&[0x20, 3, 1, 0, 0]).unwrap();
        // Only PUBREL again, never the message.
        assert_eq!(read_packet(&mut s), vec![0x62, 2, id[0], id[1]]);
        s.write_all(&[0x70, 2, id[0], id[1]]).unwrap();
        read_packet(&mut s)
    });
    let mut client = new_client();
    let resume = ConnectOptions {
        clean_session: false,
        ..options("v5-qos2")
    };
    client.connect(tcp(port), &resume).unwrap();
    let id = client
        .publish("q", b"once", QoS::ExactlyOnce, false)
        .unwrap();
    let mut seen = Seen::default();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.lost.is_empty()
    });
    assert!(seen.published.is_empty());
    assert_eq!(client.session().queued(), 1);
    let again = client.connect(tcp(port), &resume).unwrap();
    assert!(again.session_present);
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.published.is_empty()
    });
    assert_eq!(seen.published, vec![id]);
    assert_eq!(client.session().queued(), 0);
    client.disconnect().unwrap();
    assert_eq!(peer.join().unwrap(), vec![0xE0, 0]);
}

#[test]
fn pubrec_with_a_failure_reason_ends_the_exchange_without_pubrel() {
    let (port, peer) = scripted(|s| {
        let publish = read_packet(s);
        assert_eq!(publish[0] & 0xf6, 0x34, "QoS 2 PUBLISH");
        // 0x97 Quota exceeded.
        s.write_all(&[0x50, 3, publish[5], publish[6], 0x97])
            .unwrap();
        // Next comes the DISCONNECT, no PUBREL.
        read_packet(s)
    });
    let mut client = new_client();
    client.connect(tcp(port), &options("v5-pubrec")).unwrap();
    let id = client.publish("q", b"2", QoS::ExactlyOnce, false).unwrap();
    let mut seen = Seen::default();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.failed.is_empty()
    });
    assert_eq!(seen.failed, vec![(id, 0x97)]);
    assert_eq!(client.session().queued(), 0);
    client.disconnect().unwrap();
    assert_eq!(peer.join().unwrap(), vec![0xE0, 0]);
}

#[test]
fn offline_and_restored_messages_go_out_in_their_v5_form() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let mut listener = new_client();
    connect(&mut listener, &broker, "v5-off-sub");
    let mut seen = Seen::default();
    assert_eq!(
        subscribe(&mut listener, &mut seen, &[sub("off/#", QoS::AtLeastOnce)]),
        vec![1]
    );
    // Queued before any connection, with a property: encoded for MQTT 5.
    let mut before = offline_client();
    let mut buf = [0u8; 32];
    let mut props = embermq::codec::v5::PropertyWriter::new(&mut buf);
    props
        .push(&embermq::codec::v5::Property::MessageExpiryInterval(60))
        .unwrap();
    let id = before
        .publish_v5("off/a", b"saved", QoS::AtLeastOnce, false, props.finish())
        .unwrap();
    let saved = before.stored_packet(id).unwrap().to_vec();
    // As a persistence hook would: put back in a new client after a restart.
    let mut after = offline_client();
    assert_eq!(after.restore(&saved), Ok(id));
    // The protocol of an outbox that holds messages cannot change.
    assert_eq!(after.select_v5(None), Err(Error::InvalidArgument));
    after.connect(tcp(broker.port), &options("v5-off")).unwrap();
    let mut after_seen = Seen::default();
    poll_until(&mut after, &mut after_seen, Duration::from_secs(5), |s| {
        s.published == vec![id]
    });
    poll_until(&mut listener, &mut seen, Duration::from_secs(5), |s| {
        !s.messages.is_empty()
    });
    assert_eq!(
        seen.messages,
        vec![("off/a".into(), b"saved".to_vec(), QoS::AtLeastOnce, false)]
    );
}

#[test]
fn will_properties_go_with_every_connection() {
    if !support::require_mosquitto() {
        return;
    }
    static WILL_PROPERTIES: [Property<'static>; 1] = [Property::UserProperty("why", "gone")];
    let broker = Broker::start_default();
    let mut listener = new_client();
    connect(&mut listener, &broker, "v5-will-sub");
    let mut seen = Seen::default();
    assert_eq!(
        subscribe(&mut listener, &mut seen, &[sub("will/#", QoS::AtLeastOnce)]),
        vec![1]
    );
    let mut client = new_client();
    client.select_v5(Some(ConnectV5::DEFAULT)).unwrap();
    let with_will = ConnectOptions {
        will_properties: Properties::List(&WILL_PROPERTIES),
        will: Some(embermq::codec::LastWill {
            topic: "will/x",
            payload: b"bye",
            qos: QoS::AtLeastOnce,
            retain: false,
        }),
        ..options("v5-will")
    };
    for round in 1..=2 {
        client.connect(tcp(broker.port), &with_will).unwrap();
        // Closed without DISCONNECT: the server publishes the will.
        client.abort();
        poll_until(&mut listener, &mut seen, Duration::from_secs(5), |s| {
            s.messages.len() == round
        });
        let props = Properties::Wire(&seen.properties[round - 1]);
        assert_eq!(
            props.user_properties().collect::<Vec<_>>(),
            vec![("why", "gone")],
            "connection {round}"
        );
    }
    assert!(seen
        .messages
        .iter()
        .all(|m| m.0 == "will/x" && m.1 == b"bye"));
}

/// An AUTH from a server: `reason`, Authentication Method "TOKEN" and
/// `data` (none when empty).
fn auth_packet(reason: u8, data: &[u8]) -> Vec<u8> {
    let mut props = vec![0x15, 0, 5];
    props.extend_from_slice(b"TOKEN");
    if !data.is_empty() {
        props.extend_from_slice(&[0x16, 0, data.len() as u8]);
        props.extend_from_slice(data);
    }
    let mut packet = vec![0xF0, (2 + props.len()) as u8, reason, props.len() as u8];
    packet.extend(props);
    packet
}

/// The Authentication Data of a client's AUTH, checking its reason and
/// method.
fn auth_data_of(packet: &[u8], reason: u8) -> Vec<u8> {
    assert_eq!(packet[0], 0xF0, "{packet:x?}");
    assert_eq!(packet[2], reason, "{packet:x?}");
    let props = Properties::parse(&packet[4..], embermq::codec::v5::PropertyContext::Auth)
        .expect("AUTH properties");
    assert_eq!(
        props.get(PropertyId::AuthenticationMethod),
        Some(Property::AuthenticationMethod("TOKEN"))
    );
    match props.get(PropertyId::AuthenticationData) {
        Some(Property::AuthenticationData(data)) => data.to_vec(),
        _ => Vec::new(),
    }
}

/// The next event, waiting at most five seconds for one.
fn next_event(client: &mut TestClient) -> ClientEvent {
    let start = Instant::now();
    loop {
        assert!(start.elapsed() < Duration::from_secs(5), "no event");
        if let Some(event) = client.poll_event(50).unwrap() {
            return event;
        }
    }
}

/// The Authentication Data of the AUTH whose event was just reported.
fn received_auth_data(client: &TestClient) -> Vec<u8> {
    let props = client.properties(client.received_properties());
    match props.get(PropertyId::AuthenticationData) {
        Some(Property::AuthenticationData(data)) => data.to_vec(),
        other => panic!("no data: {other:?}"),
    }
}

#[test]
fn enhanced_authentication_and_reauthentication() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let connect = read_packet(&mut s);
        assert!(connect.windows(8).any(|w| w == b"\x15\x00\x05TOKEN"));
        assert!(connect.windows(6).any(|w| w == b"\x16\x00\x03one"));
        // The challenge, answered before the CONNACK.
        s.write_all(&auth_packet(0x18, b"challenge")).unwrap();
        let answer = auth_data_of(&read_packet(&mut s), 0x18);
        s.write_all(&[0x20, 3, 0, 0, 0]).unwrap();
        // Re-authentication: 0x19, one more round, then 0x00.
        let again = auth_data_of(&read_packet(&mut s), 0x19);
        s.write_all(&auth_packet(0x18, b"more?")).unwrap();
        let more = auth_data_of(&read_packet(&mut s), 0x18);
        s.write_all(&auth_packet(0x00, b"")).unwrap();
        (answer, again, more)
    });
    let method = Property::AuthenticationMethod("TOKEN");
    let mut client = new_client();
    let first = [method, Property::AuthenticationData(b"one")];
    let options = ConnectOptions {
        properties: Properties::List(&first),
        ..options("v5-auth")
    };
    client.start_connect(tcp(port), &options).unwrap();
    assert_eq!(next_event(&mut client), ClientEvent::Auth { reason: 0x18 });
    assert_eq!(received_auth_data(&client), b"challenge");
    let reply = [method, Property::AuthenticationData(b"answer")];
    client
        .auth(
            embermq::codec::v5::ReasonCode(0x18),
            Properties::List(&reply),
        )
        .unwrap();
    assert_eq!(
        next_event(&mut client),
        ClientEvent::Connected {
            session_present: false
        }
    );
    // Only a re-authentication may start now.
    let code = embermq::codec::v5::ReasonCode;
    assert_eq!(
        client.auth(code(0x18), Properties::List(&reply)),
        Err(Error::InvalidArgument)
    );
    let again = [method, Property::AuthenticationData(b"again")];
    client.auth(code(0x19), Properties::List(&again)).unwrap();
    assert_eq!(
        client.auth(code(0x19), Properties::List(&again)),
        Err(Error::InvalidArgument),
        "one re-authentication at a time"
    );
    assert_eq!(next_event(&mut client), ClientEvent::Auth { reason: 0x18 });
    assert_eq!(received_auth_data(&client), b"more?");
    let more = [method, Property::AuthenticationData(b"more")];
    client.auth(code(0x18), Properties::List(&more)).unwrap();
    assert_eq!(next_event(&mut client), ClientEvent::Auth { reason: 0x00 });
    assert!(client.is_connected());
    // An AUTH must name the method.
    assert_eq!(
        client.auth(code(0x19), Properties::NONE),
        Err(Error::InvalidProperty)
    );
    let (answer, again, more) = peer.join().unwrap();
    assert_eq!(
        (answer, again, more),
        (b"answer".to_vec(), b"again".to_vec(), b"more".to_vec())
    );
}

#[test]
fn auth_without_a_method_in_connect_is_a_protocol_error() {
    let (port, peer) = scripted(|s| {
        s.write_all(&auth_packet(0x18, b"?")).unwrap();
        read_packet(s)
    });
    let mut client = new_client();
    client.connect(tcp(port), &options("v5-no-auth")).unwrap();
    let mut seen = Seen::default();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.lost.is_empty()
    });
    assert_eq!(seen.lost, vec![Error::ProtocolViolation]);
    assert_eq!(
        client.auth(embermq::codec::v5::ReasonCode(0x19), Properties::NONE),
        Err(Error::NotConnected)
    );
    let disconnect = peer.join().unwrap();
    assert_eq!((disconnect[0], disconnect[2]), (0xE0, 0x82));
}

#[test]
fn shared_subscription_gives_each_message_to_one_member() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let mut members = [new_client(), new_client()];
    let mut seen = [Seen::default(), Seen::default()];
    for (n, (member, seen)) in members.iter_mut().zip(seen.iter_mut()).enumerate() {
        connect(member, &broker, &format!("v5-share-{n}"));
        let codes = subscribe(
            member,
            seen,
            &[sub("$share/group/work/+", QoS::AtLeastOnce)],
        );
        assert_eq!(codes, vec![1]);
    }
    let mut publisher = new_client();
    connect(&mut publisher, &broker, "v5-share-pub");
    for n in 0..20u8 {
        publisher
            .publish_v5("work/item", &[n], QoS::AtLeastOnce, false, Properties::NONE)
            .unwrap();
    }
    let start = Instant::now();
    while seen[0].messages.len() + seen[1].messages.len() < 20 {
        assert!(start.elapsed() < Duration::from_secs(10), "{seen:?}");
        for (member, seen) in members.iter_mut().zip(seen.iter_mut()) {
            poll_for(member, seen, 20);
        }
    }
    for (member, seen) in members.iter_mut().zip(seen.iter_mut()) {
        poll_quietly(member, seen, 200);
    }
    let mut all: Vec<u8> = seen
        .iter()
        .flat_map(|s| s.messages.iter().map(|m| m.1[0]))
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..20).collect::<Vec<u8>>(), "each message once");
    assert!(
        seen.iter().all(|s| !s.messages.is_empty()),
        "both members served"
    );
}

#[test]
fn request_response_with_correlation_data() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let mut responder = new_client();
    let mut requester = new_client();
    let (mut rs, mut qs) = (Seen::default(), Seen::default());
    connect(&mut responder, &broker, "v5-responder");
    connect(&mut requester, &broker, "v5-requester");
    subscribe(
        &mut responder,
        &mut rs,
        &[sub("svc/request", QoS::AtLeastOnce)],
    );
    subscribe(
        &mut requester,
        &mut qs,
        &[sub("svc/reply/me", QoS::AtLeastOnce)],
    );
    let request = [
        Property::ResponseTopic("svc/reply/me"),
        Property::CorrelationData(b"\x00req-7\xff"),
    ];
    requester
        .publish_v5(
            "svc/request",
            b"ping",
            QoS::AtLeastOnce,
            false,
            Properties::List(&request),
        )
        .unwrap();
    poll_until(&mut responder, &mut rs, Duration::from_secs(5), |s| {
        !s.messages.is_empty()
    });
    // The responder answers where it was asked to, with the same data.
    let props = Properties::Wire(&rs.properties[0]);
    let Some(Property::ResponseTopic(reply_to)) = props.get(PropertyId::ResponseTopic) else {
        panic!("no response topic: {props:?}");
    };
    let Some(correlation) = props.get(PropertyId::CorrelationData) else {
        panic!("no correlation data");
    };
    let reply_to = reply_to.to_string();
    responder
        .publish_v5(
            &reply_to,
            b"pong",
            QoS::AtLeastOnce,
            false,
            Properties::List(&[correlation]),
        )
        .unwrap();
    poll_until(&mut requester, &mut qs, Duration::from_secs(5), |s| {
        !s.messages.is_empty()
    });
    assert_eq!(qs.messages[0].0, "svc/reply/me");
    assert_eq!(qs.messages[0].1, b"pong");
    assert_eq!(
        Properties::Wire(&qs.properties[0]).get(PropertyId::CorrelationData),
        Some(Property::CorrelationData(b"\x00req-7\xff"))
    );
}

#[test]
fn message_expiry_drops_a_retained_message_in_time() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let mut publisher = new_client();
    connect(&mut publisher, &broker, "v5-expiry-pub");
    let mut ps = Seen::default();
    for (topic, secs) in [("exp/short", 1), ("exp/long", 600)] {
        let expiry = [Property::MessageExpiryInterval(secs)];
        publisher
            .publish_v5(
                topic,
                b"r",
                QoS::AtLeastOnce,
                true,
                Properties::List(&expiry),
            )
            .unwrap();
    }
    poll_until(&mut publisher, &mut ps, Duration::from_secs(5), |s| {
        s.published.len() == 2
    });
    thread::sleep(Duration::from_millis(2_500));
    let mut late = new_client();
    let mut seen = Seen::default();
    connect(&mut late, &broker, "v5-expiry-late");
    subscribe(&mut late, &mut seen, &[sub("exp/#", QoS::AtLeastOnce)]);
    poll_until(&mut late, &mut seen, Duration::from_secs(5), |s| {
        !s.messages.is_empty()
    });
    poll_quietly(&mut late, &mut seen, 300);
    let topics: Vec<_> = seen.messages.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(topics, vec!["exp/long"], "the 1 s message expired");
    // What is left of its lifetime comes with it.
    match Properties::Wire(&seen.properties[0]).get(PropertyId::MessageExpiryInterval) {
        Some(Property::MessageExpiryInterval(left)) => assert!((590..=600).contains(&left)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn will_delay_holds_the_will_back_and_a_quick_return_cancels_it() {
    if !support::require_mosquitto() {
        return;
    }
    static DELAY: [Property<'static>; 1] = [Property::WillDelayInterval(2)];
    let broker = Broker::start_default();
    let mut listener = new_client();
    let mut seen = Seen::default();
    connect(&mut listener, &broker, "v5-delay-sub");
    subscribe(
        &mut listener,
        &mut seen,
        &[sub("delay/#", QoS::AtLeastOnce)],
    );
    let mut client = new_client();
    client
        .select_v5(Some(ConnectV5 {
            session_expiry_interval: 60,
            ..ConnectV5::DEFAULT
        }))
        .unwrap();
    let with_will = ConnectOptions {
        will: Some(embermq::codec::LastWill {
            topic: "delay/gone",
            payload: b"bye",
            qos: QoS::AtLeastOnce,
            retain: false,
        }),
        will_properties: Properties::List(&DELAY),
        clean_session: false,
        ..options("v5-delay")
    };
    // Gone, and back within the delay: no will.
    client.connect(tcp(broker.port), &with_will).unwrap();
    client.abort();
    thread::sleep(Duration::from_millis(500));
    client.connect(tcp(broker.port), &with_will).unwrap();
    poll_quietly(&mut listener, &mut seen, 3_000);
    assert!(seen.messages.is_empty(), "{:?}", seen.messages);
    // Gone for good: the will comes, not at once.
    client.abort();
    poll_quietly(&mut listener, &mut seen, 1_000);
    assert!(
        seen.messages.is_empty(),
        "before the delay: {:?}",
        seen.messages
    );
    poll_until(&mut listener, &mut seen, Duration::from_secs(10), |s| {
        !s.messages.is_empty()
    });
    assert_eq!(seen.messages[0].0, "delay/gone");
}

#[test]
fn a_publish_the_acl_denies_is_refused_with_0x87() {
    if !support::require_mosquitto() {
        return;
    }
    let acl = std::env::temp_dir().join(format!("embermq-v5-acl-{}", std::process::id()));
    std::fs::write(&acl, "user writer\ntopic write open/#\n").unwrap();
    let broker = Broker::start(
        BrokerConfig::new()
            .user("writer", "pw")
            .extra(&format!("acl_file {}", acl.display())),
    );
    let mut client = new_client();
    let login = ConnectOptions {
        username: Some("writer"),
        password: Some(b"pw"),
        ..options("v5-acl")
    };
    client.connect(tcp(broker.port), &login).unwrap();
    let mut seen = Seen::default();
    let allowed = client
        .publish_v5("open/x", b"ok", QoS::AtLeastOnce, false, Properties::NONE)
        .unwrap();
    let denied = client
        .publish_v5("closed/x", b"no", QoS::AtLeastOnce, false, Properties::NONE)
        .unwrap();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        s.published.len() + s.failed.len() == 2
    });
    let _ = std::fs::remove_file(acl);
    assert_eq!(seen.published, vec![allowed]);
    assert_eq!(seen.failed, vec![(denied, 0x87)]);
}

#[test]
fn stored_messages_a_stricter_server_refuses_are_failed_not_sent() {
    // CONNACK: Maximum QoS 1, Retain Available 0, Maximum Packet Size 40.
    static CONNACK: [u8; 14] = [0x20, 12, 0, 0, 9, 0x24, 1, 0x25, 0, 0x27, 0, 0, 0, 40];
    let (port, peer) = scripted_after(&CONNACK, |s, _| {
        // Only the message within the limits arrives.
        let publish = read_packet(s);
        s.write_all(&[0x40, 2, publish[8], publish[9]]).unwrap();
        // Nothing else comes until the client closes.
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        (publish, rest)
    });
    let mut client = offline_client();
    let q2 = client
        .publish_v5("s/q2", b"x", QoS::ExactlyOnce, false, Properties::NONE)
        .unwrap();
    let retained = client
        .publish_v5("s/r", b"x", QoS::AtLeastOnce, true, Properties::NONE)
        .unwrap();
    let large = client
        .publish_v5("s/big", &[7; 64], QoS::AtLeastOnce, false, Properties::NONE)
        .unwrap();
    let fine = client
        .publish_v5("s/ok", b"x", QoS::AtLeastOnce, false, Properties::NONE)
        .unwrap();
    client
        .start_connect(tcp(port), &options("v5-stricter"))
        .unwrap();
    let mut seen = Seen::default();
    let mut connected = false;
    let start = Instant::now();
    while seen.failed.len() < 3 || seen.published.is_empty() {
        assert!(start.elapsed() < Duration::from_secs(5), "{seen:?}");
        match client.poll_event(50).unwrap() {
            Some(ClientEvent::Connected { .. }) => connected = true,
            Some(ClientEvent::PublishFailed { packet_id, reason }) => {
                seen.failed.push((packet_id, reason))
            }
            Some(ClientEvent::Published { packet_id }) => seen.published.push(packet_id),
            Some(other) => panic!("{other:?}"),
            None => {}
        }
    }
    assert!(connected);
    assert_eq!(
        seen.failed,
        vec![(q2, 0x9B), (retained, 0x9A), (large, 0x95)]
    );
    assert_eq!(seen.published, vec![fine]);
    client.abort();
    let (publish, rest) = peer.join().unwrap();
    assert!(rest.is_empty(), "{rest:x?}");
    assert_eq!(publish[0] & 0xF0, 0x30);
    assert!(publish.windows(4).any(|w| w == b"s/ok"), "{publish:x?}");
    assert_eq!(client.session().queued(), 0);
}

#[test]
fn a_refused_disconnect_leaves_the_connection_as_it_was() {
    // CONNACK: Receive Maximum 1, so the second message waits.
    static CONNACK: [u8; 8] = [0x20, 6, 0, 0, 3, 0x21, 0, 1];
    let (port, peer) = scripted_after(&CONNACK, |s, _| {
        let first = read_packet(s);
        s.write_all(&[0x40, 2, first[7], first[8]]).unwrap();
        let second = read_packet(s);
        s.write_all(&[0x40, 2, second[7], second[8]]).unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        (first, second)
    });
    let mut client = new_client();
    client.connect(tcp(port), &options("v5-keep")).unwrap();
    let a = client
        .publish_v5("k/a", b"1", QoS::AtLeastOnce, false, Properties::NONE)
        .unwrap();
    let b = client
        .publish_v5("k/b", b"2", QoS::AtLeastOnce, false, Properties::NONE)
        .unwrap();
    // 0x19 is not a DISCONNECT reason a client may send.
    let code = embermq::codec::v5::ReasonCode;
    assert_eq!(
        client.disconnect_v5(code(0x19), Properties::NONE),
        Err(Error::InvalidArgument)
    );
    assert!(client.is_connected());
    let mut seen = Seen::default();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        s.published.len() == 2
    });
    assert_eq!(seen.published, vec![a, b]);
    client.disconnect_v5(code(0), Properties::NONE).unwrap();
    let (first, second) = peer.join().unwrap();
    assert!(first.windows(3).any(|w| w == b"k/a"));
    assert!(second.windows(3).any(|w| w == b"k/b"));
}

#[test]
fn acknowledgements_for_unknown_ids_answer_0x92() {
    let (port, peer) = scripted(|s| {
        // PUBREL for a QoS 2 message never received; PUBREC for a publish
        // never sent.
        s.write_all(&[0x62, 2, 0, 7]).unwrap();
        let pubcomp = read_packet(s);
        s.write_all(&[0x50, 2, 0, 9]).unwrap();
        let pubrel = read_packet(s);
        // A QoS 2 message, then its PUBREL: PUBCOMP Success (short form).
        s.write_all(&[0x34, 6, 0, 1, b'q', 0, 5, 0]).unwrap();
        let pubrec = read_packet(s);
        s.write_all(&[0x62, 2, 0, 5]).unwrap();
        let done = read_packet(s);
        (pubcomp, pubrel, pubrec, done)
    });
    let mut client = new_client();
    client.connect(tcp(port), &options("v5-0x92")).unwrap();
    let mut seen = Seen::default();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.messages.is_empty()
    });
    poll_quietly(&mut client, &mut seen, 200);
    let (pubcomp, pubrel, pubrec, done) = peer.join().unwrap();
    assert_eq!(pubcomp, vec![0x70, 3, 0, 7, 0x92]);
    assert_eq!(pubrel, vec![0x62, 3, 0, 9, 0x92]);
    assert_eq!(pubrec, vec![0x50, 2, 0, 5]);
    assert_eq!(done, vec![0x70, 2, 0, 5]);
    // Only the peer's own close ended it (no protocol error on our side).
    assert!(
        seen.lost.iter().all(|e| *e == Error::ConnectionClosed),
        "{:?}",
        seen.lost
    );
}
