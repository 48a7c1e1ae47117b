//! The Rust client against a real mosquitto started per test.

mod support;

use embermq::client::{Client, ClientEvent};
use embermq::codec::{QoS, SubscribeTopic};
use embermq::session::{ConnectOptions, HeapMemory, Session, SessionConfig, State};
use embermq::transport::tcp::{TcpOptions, TcpTransport};
use embermq::transport::StdClock;
use embermq::Error;
use std::time::{Duration, Instant};
use support::{Broker, BrokerConfig};

type TestClient = Client<HeapMemory, TcpTransport, StdClock, Box<[u8]>>;

fn client_with(rx: usize, tx: usize, store: usize) -> TestClient {
    let session = Session::new(HeapMemory::new(40, store, 64, tx), SessionConfig::default());
    Client::new(
        session,
        StdClock::default(),
        vec![0; rx].into_boxed_slice(),
        5_000,
    )
}

fn new_client() -> TestClient {
    client_with(16 * 1024, 16 * 1024, 64 * 1024)
}

fn tcp(broker: &Broker) -> TcpTransport {
    TcpTransport::connect("127.0.0.1", broker.port, &TcpOptions::default()).expect("tcp connect")
}

fn connect(client: &mut TestClient, broker: &Broker, id: &str) {
    let options = ConnectOptions {
        client_id: id,
        keep_alive_secs: 30,
        ..ConnectOptions::default()
    };
    client.connect(tcp(broker), &options).expect("connect");
    assert!(client.is_connected());
}

/// What arrived, with payloads copied out of the receive buffer.
#[derive(Debug, Default)]
struct Seen {
    messages: Vec<(String, Vec<u8>, QoS, bool)>,
    published: Vec<u16>,
    subscribed: Vec<(u16, Vec<u8>)>,
    unsubscribed: Vec<u16>,
    lost: Vec<Error>,
    /// (topic, payload start, whole payload length) of oversized messages.
    overflows: Vec<(String, Vec<u8>, usize)>,
    /// Outcomes of connections started without waiting.
    connected: Vec<Result<bool, Error>>,
    /// Packet ids of first PUBRECs, in order.
    received: Vec<u16>,
    pongs: usize,
}

/// Polls until `done` holds or `limit` passes; returns what was seen.
fn poll_until(
    client: &mut TestClient,
    seen: &mut Seen,
    limit: Duration,
    done: impl Fn(&Seen) -> bool,
) {
    let start = Instant::now();
    while !done(seen) && start.elapsed() < limit {
        let event = match client.poll_event(50) {
            Ok(Some(event)) => event,
            Ok(None) => continue,
            Err(Error::NotConnected) => break,
            Err(other) => panic!("poll: {other:?}"),
        };
        match event {
            ClientEvent::Message {
                topic,
                payload,
                qos,
                retain,
                ..
            } => seen.messages.push((
                String::from_utf8(client.bytes(topic).to_vec()).unwrap(),
                client.bytes(payload).to_vec(),
                qos,
                retain,
            )),
            ClientEvent::Published { packet_id } => seen.published.push(packet_id),
            ClientEvent::Subscribed {
                packet_id,
                return_codes,
            } => seen
                .subscribed
                .push((packet_id, client.bytes(return_codes).to_vec())),
            ClientEvent::Unsubscribed { packet_id } => seen.unsubscribed.push(packet_id),
            ClientEvent::Received { packet_id } => {
                // PUBREC comes before PUBCOMP.
                assert!(!seen.published.contains(&packet_id));
                seen.received.push(packet_id);
            }
            ClientEvent::Pong => seen.pongs += 1,
            // MQTT 5 only (tests/mqtt5.rs); these connections are 3.1.1.
            ClientEvent::PublishFailed { .. }
            | ClientEvent::UnsubscribedCodes { .. }
            | ClientEvent::Auth { .. } => {
                panic!("MQTT 5 event on a 3.1.1 connection: {event:?}")
            }
            ClientEvent::ConnectionLost(reason) => seen.lost.push(reason),
            ClientEvent::Connected { session_present } => seen.connected.push(Ok(session_present)),
            ClientEvent::ConnectFailed(reason) => seen.connected.push(Err(reason)),
            ClientEvent::Overflow { topic, payload, .. } => seen.overflows.push((
                String::from_utf8(client.bytes(topic).to_vec()).unwrap(),
                client.bytes(payload).to_vec(),
                client.overflow_len(payload),
            )),
        }
    }
}

#[test]
fn publish_and_receive_own_messages_at_every_qos() {
    support::require_mosquitto();
    let broker = Broker::start_default();
    let mut client = new_client();
    connect(&mut client, &broker, "rust-pubsub");
    let sub = client
        .subscribe(&[SubscribeTopic {
            filter: "rt/#",
            qos: QoS::ExactlyOnce,
        }])
        .unwrap();
    let mut seen = Seen::default();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.subscribed.is_empty()
    });
    assert_eq!(seen.subscribed, vec![(sub, vec![2])]);

    let big: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let mut ids = Vec::new();
    for (qos, payload) in [
        (QoS::AtMostOnce, &b"zero"[..]),
        (QoS::AtLeastOnce, &b""[..]),
        (QoS::ExactlyOnce, &big[..]),
    ] {
        let id = client
            .publish(&format!("rt/q{}", qos as u8), payload, qos, false)
            .unwrap();
        assert_eq!(id == 0, qos == QoS::AtMostOnce);
        if id != 0 {
            ids.push(id);
        }
    }
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        s.messages.len() == 3 && s.published.len() == 2
    });
    seen.messages.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen.messages,
        vec![
            (
                "rt/q0".to_string(),
                b"zero".to_vec(),
                QoS::AtMostOnce,
                false
            ),
            ("rt/q1".to_string(), Vec::new(), QoS::AtLeastOnce, false),
            ("rt/q2".to_string(), big, QoS::ExactlyOnce, false),
        ]
    );
    seen.published.sort();
    assert_eq!(seen.published, ids);
    // Only the QoS 2 message has a PUBREC.
    assert_eq!(seen.received, vec![ids[1]]);
    assert_eq!(client.session().inflight(), 0);
    client.disconnect().unwrap();
    assert_eq!(client.state(), State::Disconnected);
}

#[test]
fn bad_credentials_are_refused_with_the_return_code() {
    support::require_mosquitto();
    let broker = Broker::start(BrokerConfig::new().user("alice", "secret"));
    let mut client = new_client();
    let wrong = ConnectOptions {
        client_id: "rust-auth",
        username: Some("alice"),
        password: Some(b"wrong"),
        ..ConnectOptions::default()
    };
    assert_eq!(
        client.connect(tcp(&broker), &wrong),
        Err(Error::ConnectionRefused(5))
    );
    assert_eq!(client.state(), State::Disconnected);
    let right = ConnectOptions {
        password: Some(b"secret"),
        ..wrong
    };
    assert!(client.connect(tcp(&broker), &right).is_ok());
}

#[test]
fn an_oversized_message_is_reported_and_the_connection_goes_on() {
    support::require_mosquitto();
    let broker = Broker::start_default();
    let mut small = client_with(1024, 4096, 8192);
    connect(&mut small, &broker, "rust-small");
    small
        .subscribe(&[SubscribeTopic {
            filter: "big/#",
            qos: QoS::AtLeastOnce,
        }])
        .unwrap();
    let mut seen = Seen::default();
    poll_until(&mut small, &mut seen, Duration::from_secs(5), |s| {
        !s.subscribed.is_empty()
    });

    let mut sender = new_client();
    connect(&mut sender, &broker, "rust-sender");
    sender
        .publish("big/one", &[7u8; 4096], QoS::AtLeastOnce, false)
        .unwrap();
    sender
        .publish("big/two", b"fits", QoS::AtLeastOnce, false)
        .unwrap();
    poll_until(&mut small, &mut seen, Duration::from_secs(5), |s| {
        !s.messages.is_empty()
    });
    assert_eq!(seen.overflows.len(), 1);
    let (topic, start, len) = &seen.overflows[0];
    assert_eq!((topic.as_str(), *len), ("big/one", 4096));
    assert!(!start.is_empty() && start.iter().all(|&b| b == 7));
    assert_eq!(seen.messages[0].0, "big/two");
    assert_eq!(seen.messages[0].1, b"fits");
    assert!(seen.lost.is_empty(), "{:?}", seen.lost);
    assert_eq!(small.state(), State::Connected);
}

#[test]
fn keepalive_keeps_an_idle_connection_alive() {
    support::require_mosquitto();
    let broker = Broker::start_default();
    let mut client = new_client();
    let options = ConnectOptions {
        client_id: "rust-idle",
        keep_alive_secs: 1,
        ..ConnectOptions::default()
    };
    client.connect(tcp(&broker), &options).unwrap();
    let mut seen = Seen::default();
    // mosquitto drops a client silent for 1.5 keepalives; stay 2.5 of them.
    poll_until(&mut client, &mut seen, Duration::from_millis(2_600), |_| {
        false
    });
    assert!(seen.lost.is_empty(), "{:?}", seen.lost);
    assert!(client.is_connected());
    // A ping every second, each answered (the last answer may be on its way).
    assert!(seen.pongs >= 1, "no PINGRESP reported");
    assert!(
        broker.wait_for_log("PINGREQ from rust-idle", Duration::from_secs(1)),
        "the broker saw no PINGREQ"
    );
}

#[test]
fn unreachable_and_unresolvable_hosts_are_named_errors() {
    assert_eq!(
        TcpTransport::connect("no-such-host.invalid", 1883, &TcpOptions::default()).err(),
        Some(Error::NameNotResolved)
    );
    // A port nobody listens on: bind, learn the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert_eq!(
        TcpTransport::connect("127.0.0.1", port, &TcpOptions::default()).err(),
        Some(Error::ConnectFailed)
    );
}

#[test]
fn ipv6_loopback_connects_when_the_broker_listens_there() {
    support::require_mosquitto();
    let probe = std::net::TcpListener::bind("[::1]:0");
    let Ok(probe) = probe else {
        eprintln!("no IPv6 loopback on this machine; skipping");
        return;
    };
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let broker = Broker::start(BrokerConfig::new().extra(&format!("listener {port} ::1")));
    let transport = TcpTransport::connect("::1", port, &TcpOptions::default()).unwrap();
    let mut client = new_client();
    let options = ConnectOptions {
        client_id: "rust-v6",
        ..ConnectOptions::default()
    };
    assert!(client.connect(transport, &options).is_ok());
    drop(broker);
}

#[test]
fn a_connect_started_without_waiting_is_reported_by_poll() {
    support::require_mosquitto();
    let broker = Broker::start(BrokerConfig::new().user("alice", "secret"));
    let mut client = new_client();
    let good = ConnectOptions {
        client_id: "rust-start",
        username: Some("alice"),
        password: Some(b"secret"),
        ..ConnectOptions::default()
    };
    client.start_connect(tcp(&broker), &good).unwrap();
    assert_eq!(client.state(), State::AwaitingConnAck);
    assert!(client.is_connecting());
    assert_eq!(
        client.start_connect(tcp(&broker), &good),
        Err(Error::AlreadyConnected),
        "one connection at a time"
    );
    let mut seen = Seen::default();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.connected.is_empty()
    });
    assert_eq!(seen.connected, vec![Ok(false)]);
    assert!(client.is_connected() && !client.is_connecting());
    client.disconnect().unwrap();

    // A refusal arrives the same way, and the client is disconnected.
    let bad = ConnectOptions {
        password: Some(b"wrong"),
        ..good
    };
    client.start_connect(tcp(&broker), &bad).unwrap();
    let mut seen = Seen::default();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.connected.is_empty()
    });
    assert_eq!(seen.connected, vec![Err(Error::ConnectionRefused(5))]);
    assert_eq!(client.state(), State::Disconnected);
}

#[test]
fn a_connect_without_connack_fails_after_the_command_timeout() {
    // A listener that accepts and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut client = new_client();
    client.set_command_timeout(300);
    let transport =
        TcpTransport::connect("127.0.0.1", port, &TcpOptions::default()).expect("tcp connect");
    let _peer = listener.accept().unwrap();
    let options = ConnectOptions {
        client_id: "rust-silent",
        ..ConnectOptions::default()
    };
    let started = Instant::now();
    client.start_connect(transport, &options).unwrap();
    let mut seen = Seen::default();
    poll_until(&mut client, &mut seen, Duration::from_secs(5), |s| {
        !s.connected.is_empty()
    });
    assert_eq!(seen.connected, vec![Err(Error::Timeout)]);
    // Not before the timeout, less the clock's one-millisecond granularity.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(299), "{took:?}");
    assert_eq!(client.state(), State::Disconnected);
}

/// The supervised client as a Rust program gets it (the one the C API
/// runs): a handler per filter, and the subscriptions made again after a
/// reconnect that found no session.
#[test]
fn the_supervisor_routes_to_handlers_and_resubscribes_after_a_session_loss() {
    use embermq::client::log::LogCode;
    use embermq::client::subscriptions::{HeapTable, Subscriptions};
    use embermq::client::supervisor::{Behaviour, Supervisor};

    support::require_mosquitto();
    let broker = Broker::start_default();
    let table = HeapTable::<u32>::try_new(8, 256).unwrap();
    let mut sup = Supervisor::new(
        new_client(),
        Subscriptions::new(table),
        Behaviour::default(),
        1,
    );
    let options = ConnectOptions {
        client_id: "rust-supervised",
        ..ConnectOptions::default()
    };
    sup.request_connect();
    sup.connect(tcp(&broker), &options).unwrap();
    let handled = SubscribeTopic {
        filter: "sup/handled/#",
        qos: QoS::AtLeastOnce,
    };
    let plain = SubscribeTopic {
        filter: "sup/plain",
        qos: QoS::AtMostOnce,
    };
    sup.subscribe(&[handled], Some(7)).unwrap();
    sup.subscribe(&[plain], None).unwrap();

    // Messages: the handler's filter routes to 7, the other to none.
    let mut routed = Vec::new();
    let mut subacks = 0;
    let publish_and_route = |sup: &mut Supervisor<_, _, _, _, _, u32>,
                             routed: &mut Vec<(String, Option<u32>)>,
                             subacks: &mut usize| {
        for topic in ["sup/handled/a", "sup/plain"] {
            sup.publish(topic, b"x", QoS::AtLeastOnce, false).unwrap();
        }
        let start = Instant::now();
        while routed.len() < 2 && start.elapsed() < Duration::from_secs(5) {
            match sup.poll_event(50) {
                Ok(Some(ClientEvent::Message { topic, .. })) => {
                    let name = sup.client().bytes(topic).to_vec();
                    let handler = sup.handler_for(&name);
                    routed.push((String::from_utf8(name).unwrap(), handler));
                }
                Ok(Some(ClientEvent::Subscribed { .. })) => *subacks += 1,
                Ok(_) => {}
                Err(err) => panic!("poll: {err:?}"),
            }
        }
        routed.sort();
        assert_eq!(
            *routed,
            [
                ("sup/handled/a".to_string(), Some(7)),
                ("sup/plain".to_string(), None)
            ]
        );
    };
    publish_and_route(&mut sup, &mut routed, &mut subacks);

    // The link goes; the broker keeps no session (clean session): the
    // reconnect subscribes again to both filters, handler kept.
    assert_eq!(subacks, 2, "a SUBACK for each SUBSCRIBE");
    while sup.take_log().is_some() {}
    sup.client_mut().abort();
    sup.request_connect();
    sup.connect(tcp(&broker), &options).unwrap();
    let mut resubscribed = false;
    while let Some(record) = sup.take_log() {
        resubscribed |= record.code == LogCode::Resubscribing && record.value == 2;
    }
    assert!(resubscribed, "one SUBSCRIBE for both filters");
    routed.clear();
    publish_and_route(&mut sup, &mut routed, &mut subacks);
    assert_eq!(subacks, 3, "the resubscribe's SUBACK");
    sup.disconnect().unwrap();
}
