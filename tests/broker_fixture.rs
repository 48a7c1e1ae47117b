//! Tests of the private-mosquitto test fixture (tests/support), using
//! hand-written MQTT 3.1.1 packets over a raw TcpStream.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::{Broker, BrokerConfig};

const IO_TIMEOUT: Duration = Duration::from_secs(5);

fn connect_tcp(port: u16) -> TcpStream {
    let addr = (std::net::Ipv4Addr::LOCALHOST, port).into();
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("tcp connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

fn push_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as u16).to_be_bytes());
    buf.extend_from_slice(s.as_bytes());
}

fn push_remaining_length(buf: &mut Vec<u8>, mut len: usize) {
    loop {
        let mut b = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            b |= 0x80;
        }
        buf.push(b);
        if len == 0 {
            break;
        }
    }
}

/// MQTT 3.1.1 CONNECT, keepalive 60. `clean` sets flag 0x02; credentials set
/// 0x80 | 0x40.
fn connect_packet(client_id: &str, clean: bool, creds: Option<(&str, &str)>) -> Vec<u8> {
    let mut flags = 0u8;
    if clean {
        flags |= 0x02;
    }
    if creds.is_some() {
        flags |= 0xC0;
    }
    let mut body = Vec::new();
    push_str(&mut body, "MQTT");
    body.push(4); // protocol level 3.1.1
    body.push(flags);
    body.extend_from_slice(&60u16.to_be_bytes());
    push_str(&mut body, client_id);
    if let Some((user, pass)) = creds {
        push_str(&mut body, user);
        push_str(&mut body, pass);
    }
    let mut pkt = vec![0x10];
    push_remaining_length(&mut pkt, body.len());
    pkt.extend_from_slice(&body);
    pkt
}

/// Send CONNECT and return the 4-byte CONNACK.
fn mqtt_connect(port: u16, client_id: &str, clean: bool, creds: Option<(&str, &str)>) -> [u8; 4] {
    let mut s = connect_tcp(port);
    mqtt_connect_on(&mut s, client_id, clean, creds)
}

fn mqtt_connect_on(
    s: &mut TcpStream,
    client_id: &str,
    clean: bool,
    creds: Option<(&str, &str)>,
) -> [u8; 4] {
    s.write_all(&connect_packet(client_id, clean, creds))
        .expect("write CONNECT");
    let mut ack = [0u8; 4];
    s.read_exact(&mut ack).expect("read CONNACK");
    ack
}

#[test]
fn hand_written_connect_gets_connack() {
    let broker = Broker::start(BrokerConfig::new());
    assert_ne!(broker.port, 0);
    let ack = mqtt_connect(broker.port, "fixture", true, None);
    assert_eq!(ack, [0x20, 0x02, 0x00, 0x00], "log:\n{}", broker.log());
    assert!(
        broker.wait_for_log("fixture", Duration::from_secs(5)),
        "client id not in log:\n{}",
        broker.log()
    );
}

#[test]
fn the_connect_bytes_are_as_specified() {
    let pkt = connect_packet("fixture", true, None);
    let mut expected = vec![
        0x10, 19, 0x00, 0x04, b'M', b'Q', b'T', b'T', 4, 0x02, 0x00, 60,
    ];
    expected.extend_from_slice(&[0x00, 0x07]);
    expected.extend_from_slice(b"fixture");
    assert_eq!(pkt, expected);
}

#[test]
fn password_file_refuses_anonymous_and_accepts_credentials() {
    let broker = Broker::start(
        BrokerConfig::new()
            .user("alice", "s3cret")
            .user("bob", "hunter2"),
    );

    let ack = mqtt_connect(broker.port, "fixture", true, None);
    assert_eq!(
        ack,
        [0x20, 0x02, 0x00, 0x05],
        "anonymous must be refused; log:\n{}",
        broker.log()
    );

    let ack = mqtt_connect(broker.port, "fixture", true, Some(("alice", "wrong")));
    assert_eq!(
        ack,
        [0x20, 0x02, 0x00, 0x05],
        "wrong password must be refused"
    );

    let ack = mqtt_connect(broker.port, "fixture", true, Some(("alice", "s3cret")));
    assert_eq!(ack, [0x20, 0x02, 0x00, 0x00], "log:\n{}", broker.log());

    let ack = mqtt_connect(broker.port, "fixture2", true, Some(("bob", "hunter2")));
    assert_eq!(
        ack,
        [0x20, 0x02, 0x00, 0x00],
        "second user; log:\n{}",
        broker.log()
    );
}

#[test]
fn restart_keeps_the_port_and_accepts_again() {
    let mut broker = Broker::start(BrokerConfig::new());
    let port = broker.port;
    assert_eq!(
        mqtt_connect(port, "fixture", true, None),
        [0x20, 0x02, 0x00, 0x00]
    );

    broker.restart();
    assert_eq!(broker.port, port);
    assert_eq!(
        mqtt_connect(port, "fixture", true, None),
        [0x20, 0x02, 0x00, 0x00]
    );

    // And once more after an abrupt kill.
    broker.kill();
    assert!(!broker.is_running());
    broker.start_again();
    assert_eq!(broker.port, port);
    assert_eq!(
        mqtt_connect(port, "fixture", true, None),
        [0x20, 0x02, 0x00, 0x00]
    );
}

#[test]
fn persistence_keeps_a_session_across_restart() {
    let mut broker = Broker::start(BrokerConfig::new().persistence(true));
    let port = broker.port;

    // Persistent session (clean session 0) with one QoS 1 subscription.
    let mut s = connect_tcp(port);
    assert_eq!(
        mqtt_connect_on(&mut s, "persist", false, None),
        [0x20, 0x02, 0x00, 0x00]
    );
    let mut sub = vec![0x82];
    let mut body = vec![0x00, 0x01];
    push_str(&mut body, "fixture/t");
    body.push(1);
    push_remaining_length(&mut sub, body.len());
    sub.extend_from_slice(&body);
    s.write_all(&sub).unwrap();
    let mut suback = [0u8; 5];
    s.read_exact(&mut suback).expect("read SUBACK");
    assert_eq!(suback, [0x90, 0x03, 0x00, 0x01, 0x01]);
    s.write_all(&[0xE0, 0x00]).unwrap(); // DISCONNECT
    drop(s);
    assert!(broker.wait_for_log("persist", Duration::from_secs(5)));

    broker.restart();
    assert_eq!(broker.port, port);
    assert!(
        broker.dir().join("mosquitto.db").exists(),
        "no persistence db; log:\n{}",
        broker.log()
    );

    // Session present (0x01) after the restart.
    let ack = mqtt_connect(port, "persist", false, None);
    assert_eq!(ack, [0x20, 0x02, 0x01, 0x00], "log:\n{}", broker.log());
}

#[test]
fn brokers_are_independent_and_cleaned_up() {
    let a = Broker::start(BrokerConfig::new());
    let b = Broker::start(
        BrokerConfig::new()
            .max_inflight(5)
            .extra("max_keepalive 120"),
    );
    assert_ne!(a.port, b.port);
    assert_ne!(a.dir(), b.dir());
    let conf = std::fs::read_to_string(b.dir().join("mosquitto.conf")).unwrap();
    assert!(conf.contains("listener "), "{conf}");
    assert!(conf.contains(" 127.0.0.1\n"), "{conf}");
    assert!(conf.contains("max_inflight_messages 5\n"), "{conf}");
    assert!(conf.contains("max_keepalive 120\n"), "{conf}");
    assert_eq!(
        mqtt_connect(b.port, "fixture", true, None),
        [0x20, 0x02, 0x00, 0x00]
    );

    let dir = a.dir().to_path_buf();
    drop(a);
    assert!(!dir.exists(), "temp dir not removed");
}

#[test]
fn availability_checks() {
    assert!(support::mosquitto_available());
    assert!(support::mosquitto_passwd_available());
    assert!(support::require_mosquitto());
}
