//! Tests of the fault-injection proxy (tests/support/proxy.rs) against a
//! private mosquitto, with hand-encoded MQTT 3.1.1 packets over raw TCP.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread::sleep;
use std::time::{Duration, Instant};

use embermq::codec::{decode, Decoded, Packet, MAX_PACKET_SIZE};
use support::proxy::{Direction, FaultProxy};
use support::{Broker, BrokerConfig};

const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long "nothing arrives" is watched for.
const SILENCE: Duration = Duration::from_millis(400);

const CONNECT: u8 = 1;
const CONNACK: u8 = 2;
const PUBLISH: u8 = 3;
const SUBSCRIBE: u8 = 8;
const SUBACK: u8 = 9;
const PINGREQ: u8 = 12;
const PINGRESP: u8 = 13;

const CONNACK_OK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
const SUBACK_QOS0: [u8; 5] = [0x90, 0x03, 0x00, 0x01, 0x00];

// ---------------------------------------------------------------- helpers

fn tcp(port: u16) -> TcpStream {
    let addr = (std::net::Ipv4Addr::LOCALHOST, port).into();
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("tcp connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

fn push_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as u16).to_be_bytes());
    buf.extend_from_slice(s.as_bytes());
}

fn with_header(first: u8, body: &[u8]) -> Vec<u8> {
    let mut pkt = vec![first];
    let mut len = body.len();
    loop {
        let mut b = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            b |= 0x80;
        }
        pkt.push(b);
        if len == 0 {
            break;
        }
    }
    pkt.extend_from_slice(body);
    pkt
}

/// CONNECT, MQTT 3.1.1, clean session, keepalive 60.
fn connect_packet(client_id: &str) -> Vec<u8> {
    let mut body = Vec::new();
    push_str(&mut body, "MQTT");
    body.extend_from_slice(&[4, 0x02, 0, 60]);
    push_str(&mut body, client_id);
    with_header(0x10, &body)
}

/// SUBSCRIBE packet id 1, one filter at QoS 0.
fn subscribe_packet(filter: &str) -> Vec<u8> {
    let mut body = vec![0x00, 0x01];
    push_str(&mut body, filter);
    body.push(0);
    with_header(0x82, &body)
}

/// QoS 0 PUBLISH.
fn publish_packet(topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    push_str(&mut body, topic);
    body.extend_from_slice(payload);
    with_header(0x30, &body)
}

/// Reads one whole packet (fixed header, remaining length, body).
fn read_packet(s: &mut TcpStream) -> Vec<u8> {
    let mut pkt = vec![0u8; 1];
    s.read_exact(&mut pkt).expect("read packet type");
    let mut len = 0usize;
    for i in 0..4 {
        let mut b = [0u8; 1];
        s.read_exact(&mut b).expect("read remaining length");
        pkt.push(b[0]);
        len |= ((b[0] & 0x7f) as usize) << (7 * i);
        if b[0] & 0x80 == 0 {
            break;
        }
    }
    let at = pkt.len();
    pkt.resize(at + len, 0);
    s.read_exact(&mut pkt[at..]).expect("read packet body");
    pkt
}

/// TCP connect to `port`, CONNECT, expect a successful CONNACK.
fn session(port: u16, client_id: &str) -> TcpStream {
    let mut s = tcp(port);
    s.write_all(&connect_packet(client_id)).unwrap();
    assert_eq!(read_packet(&mut s), CONNACK_OK, "CONNACK for {client_id}");
    s
}

fn subscribe(s: &mut TcpStream, filter: &str) {
    s.write_all(&subscribe_packet(filter)).unwrap();
    assert_eq!(read_packet(s), SUBACK_QOS0, "SUBACK for {filter}");
}

/// How a stream ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Eof,
    Reset,
    /// Still open when the time was up.
    Open,
}

/// Reads everything until EOF, error or `timeout`.
fn read_to_end_within(s: &mut TcpStream, timeout: Duration) -> (Vec<u8>, End) {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (out, End::Open);
        }
        s.set_read_timeout(Some(left.min(Duration::from_millis(100))))
            .unwrap();
        match s.read(&mut buf) {
            Ok(0) => return (out, End::Eof),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return (out, End::Reset),
            Err(e) => panic!("unexpected read error: {e}"),
        }
    }
}

/// Asserts that nothing arrives (and the stream stays open) for `dur`.
fn assert_silent(s: &mut TcpStream, dur: Duration, what: &str) {
    s.set_read_timeout(Some(dur)).unwrap();
    let mut b = [0u8; 64];
    match s.read(&mut b) {
        Ok(0) => panic!("{what}: stream closed"),
        Ok(n) => panic!("{what}: got {n} bytes: {:02x?}", &b[..n]),
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{what}: {e}"
        ),
    }
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
}

/// Splits `bytes` into packets with embermq's decoder: (type, payload of a
/// PUBLISH or empty). Panics on a malformed or incomplete tail.
fn packets_of(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match decode(&bytes[at..], MAX_PACKET_SIZE).expect("well-formed packets") {
            Decoded::Packet { packet, len } => {
                let payload = match packet {
                    Packet::Publish(p) => p.payload.to_vec(),
                    _ => Vec::new(),
                };
                out.push((packet.packet_type() as u8, payload));
                at += len;
            }
            Decoded::Incomplete { needed } => {
                panic!("incomplete packet at {at}: {needed} more bytes needed")
            }
        }
    }
    out
}

fn start() -> Option<(Broker, FaultProxy)> {
    if !support::require_mosquitto() {
        return None;
    }
    let broker = Broker::start(BrokerConfig::new());
    let proxy = FaultProxy::start(broker.addr());
    Some((broker, proxy))
}

fn wait(proxy: &FaultProxy, what: &str, cond: impl Fn(&FaultProxy) -> bool) {
    assert!(
        proxy.wait_until(IO_TIMEOUT, cond),
        "timed out waiting: {what}"
    );
}

// ---------------------------------------------------------------- tests

#[test]
fn forwards_both_ways_and_counts_bytes_and_packets() {
    let Some((broker, proxy)) = start() else {
        return;
    };
    assert_ne!(proxy.port(), broker.port);

    let mut s = session(proxy.port(), "fwd");
    subscribe(&mut s, "fwd/t");
    let publish = publish_packet("fwd/t", b"hello");
    s.write_all(&publish).unwrap();
    // Our own subscription: the broker sends the same QoS 0 PUBLISH back.
    assert_eq!(read_packet(&mut s), publish);

    let to_broker = connect_packet("fwd").len() + subscribe_packet("fwd/t").len() + publish.len();
    let to_client = CONNACK_OK.len() + SUBACK_QOS0.len() + publish.len();
    assert_eq!(proxy.bytes(Direction::ToBroker), to_broker as u64);
    assert_eq!(proxy.bytes(Direction::ToClient), to_client as u64);
    assert_eq!(proxy.packets(Direction::ToBroker, CONNECT), 1);
    assert_eq!(proxy.packets(Direction::ToBroker, SUBSCRIBE), 1);
    assert_eq!(proxy.packets(Direction::ToBroker, PUBLISH), 1);
    assert_eq!(proxy.packets(Direction::ToClient, CONNACK), 1);
    assert_eq!(proxy.packets(Direction::ToClient, SUBACK), 1);
    assert_eq!(proxy.packets(Direction::ToClient, PUBLISH), 1);
    assert_eq!(proxy.packets(Direction::ToClient, CONNECT), 0);
    assert_eq!(proxy.connections(), 1);
    assert_eq!(proxy.active(), 1);
    assert_eq!(proxy.cuts(), 0);

    // A client that closes is passed on, and the connection goes away.
    s.write_all(&[0xE0, 0x00]).unwrap(); // DISCONNECT
    let (rest, end) = read_to_end_within(&mut s, IO_TIMEOUT);
    assert_eq!((rest.as_slice(), end), (&[][..], End::Eof));
    // Half-closes are passed on: the connection lasts until the client's
    // side closes too.
    assert_eq!(proxy.active(), 1);
    drop(s);
    wait(&proxy, "connection removed", |p| p.active() == 0);
    assert_eq!(proxy.packets(Direction::ToBroker, 14), 1);
    assert_eq!(proxy.cuts(), 0);
}

#[test]
fn concurrent_connections_through_one_proxy() {
    let Some((_broker, proxy)) = start() else {
        return;
    };
    let mut sub = session(proxy.port(), "sub");
    subscribe(&mut sub, "multi/#");
    let mut publ = session(proxy.port(), "pub");
    wait(&proxy, "two connections", |p| p.active() == 2);
    for i in 0..3 {
        publ.write_all(&publish_packet("multi/x", format!("m{i}").as_bytes()))
            .unwrap();
    }
    for i in 0..3 {
        assert_eq!(
            read_packet(&mut sub),
            publish_packet("multi/x", format!("m{i}").as_bytes())
        );
    }
    assert_eq!(proxy.connections(), 2);
    assert_eq!(proxy.packets(Direction::ToBroker, CONNECT), 2);
    assert_eq!(proxy.packets(Direction::ToBroker, PUBLISH), 3);
    assert_eq!(proxy.packets(Direction::ToClient, PUBLISH), 3);
    assert_eq!(proxy.packets(Direction::ToClient, CONNACK), 2);
}

#[test]
fn cut_after_whole_packet_to_broker_drops_the_rest_of_the_read() {
    let Some((broker, proxy)) = start() else {
        return;
    };
    let mut watcher = session(broker.port, "watcher");
    subscribe(&mut watcher, "cut/t");

    let mut s = session(proxy.port(), "cutter");
    proxy.cut_after_packet(Direction::ToBroker, PUBLISH, 2, None);
    assert_eq!(proxy.pending_rules(), 1);
    // Three PUBLISHes in one write: the proxy must stop after the second,
    // even though the third came in the same read.
    let pkts: Vec<Vec<u8>> = (1..=3)
        .map(|i| publish_packet("cut/t", format!("m{i}").as_bytes()))
        .collect();
    s.write_all(&pkts.concat()).unwrap();

    let (rest, end) = read_to_end_within(&mut s, IO_TIMEOUT);
    assert!(rest.is_empty(), "client got {rest:02x?}");
    assert_eq!(end, End::Eof);
    assert_eq!(read_packet(&mut watcher), pkts[0]);
    assert_eq!(read_packet(&mut watcher), pkts[1]);
    assert_silent(
        &mut watcher,
        SILENCE,
        "third PUBLISH must not reach the broker",
    );

    assert_eq!(proxy.cuts(), 1);
    assert_eq!(proxy.pending_rules(), 0);
    assert_eq!(proxy.packets(Direction::ToBroker, PUBLISH), 2);
    assert_eq!(
        proxy.bytes(Direction::ToBroker),
        (connect_packet("cutter").len() + pkts[0].len() + pkts[1].len()) as u64
    );
    wait(&proxy, "cut connection removed", |p| p.active() == 0);
}

#[test]
fn cut_after_whole_packet_to_client_then_eof() {
    let Some((broker, proxy)) = start() else {
        return;
    };
    let mut s = session(proxy.port(), "sub");
    subscribe(&mut s, "cut/c");
    proxy.cut_after_packet(Direction::ToClient, PUBLISH, 2, None);

    let mut publ = session(broker.port, "pub");
    let pkts: Vec<Vec<u8>> = (1..=3)
        .map(|i| publish_packet("cut/c", format!("m{i}").as_bytes()))
        .collect();
    publ.write_all(&pkts.concat()).unwrap();

    let (got, end) = read_to_end_within(&mut s, IO_TIMEOUT);
    assert_eq!(end, End::Eof);
    assert_eq!(got, [pkts[0].clone(), pkts[1].clone()].concat());
    assert_eq!(
        packets_of(&got),
        vec![(PUBLISH, b"m1".to_vec()), (PUBLISH, b"m2".to_vec())]
    );
    assert_eq!(proxy.cuts(), 1);
    assert_eq!(proxy.packets(Direction::ToClient, PUBLISH), 2);
    assert_eq!(
        proxy.bytes(Direction::ToClient),
        (CONNACK_OK.len() + SUBACK_QOS0.len() + got.len()) as u64
    );
}

#[test]
fn mid_packet_cut_to_broker_split_across_reads() {
    let Some((broker, proxy)) = start() else {
        return;
    };
    let mut watcher = session(broker.port, "watcher");
    subscribe(&mut watcher, "mid/t");

    // Control: a PUBLISH through the proxy does arrive.
    let control = publish_packet("mid/t", b"control");
    let mut c = session(proxy.port(), "control");
    c.write_all(&control).unwrap();
    assert_eq!(read_packet(&mut watcher), control);
    drop(c);
    wait(&proxy, "control connection gone", |p| p.active() == 0);

    let mut s = session(proxy.port(), "mid");
    let before = proxy.bytes(Direction::ToBroker);
    proxy.cut_after_packet(Direction::ToBroker, PUBLISH, 1, Some(200));
    // 300-byte payload: two remaining-length bytes; written in pieces that
    // split the header and the body across reads. The last piece holds the
    // cut point and the end of the packet: a proxy that forwarded its whole
    // read would deliver the PUBLISH.
    let big = publish_packet("mid/t", &[b'x'; 300]);
    assert_eq!(big[1] & 0x80, 0x80, "two-byte remaining length");
    for piece in [&big[..2], &big[2..150], &big[150..]] {
        if s.write_all(piece).is_err() {
            break; // the proxy may already have cut
        }
        sleep(Duration::from_millis(30));
    }
    let (rest, end) = read_to_end_within(&mut s, IO_TIMEOUT);
    assert!(rest.is_empty());
    assert!(matches!(end, End::Eof | End::Reset), "{end:?}");
    assert_silent(
        &mut watcher,
        SILENCE,
        "half a PUBLISH must not be delivered",
    );
    assert_eq!(proxy.bytes(Direction::ToBroker) - before, 200);
    assert_eq!(proxy.packets(Direction::ToBroker, PUBLISH), 1); // the control
    assert_eq!(proxy.cuts(), 1);
}

#[test]
fn mid_packet_cut_to_client_delivers_exactly_the_prefix() {
    let Some((broker, proxy)) = start() else {
        return;
    };
    let mut s = session(proxy.port(), "sub");
    subscribe(&mut s, "mid/c");
    proxy.cut_after_packet(Direction::ToClient, PUBLISH, 1, Some(3));
    let pkt = publish_packet("mid/c", b"payload");
    session(broker.port, "pub").write_all(&pkt).unwrap();

    let (got, end) = read_to_end_within(&mut s, IO_TIMEOUT);
    assert_eq!(end, End::Eof);
    assert_eq!(got, pkt[..3]);
    assert_eq!(proxy.packets(Direction::ToClient, PUBLISH), 0);
    assert_eq!(proxy.cuts(), 1);
}

#[test]
fn offset_zero_cuts_before_the_packet() {
    let Some((broker, proxy)) = start() else {
        return;
    };
    let mut s = session(proxy.port(), "sub");
    subscribe(&mut s, "zero/c");
    // Armed for the second PUBLISH: the first passes whole.
    proxy.cut_after_packet(Direction::ToClient, PUBLISH, 2, Some(0));
    let a = publish_packet("zero/c", b"a");
    let b = publish_packet("zero/c", b"b");
    session(broker.port, "pub")
        .write_all(&[a.clone(), b].concat())
        .unwrap();
    let (got, end) = read_to_end_within(&mut s, IO_TIMEOUT);
    assert_eq!(end, End::Eof);
    assert_eq!(got, a);
    assert_eq!(proxy.packets(Direction::ToClient, PUBLISH), 1);
}

#[test]
fn cut_after_bytes_to_broker_counts_across_connections() {
    let Some((_broker, proxy)) = start() else {
        return;
    };
    let connect_len = connect_packet("c1").len();
    proxy.cut_after_bytes(Direction::ToBroker, connect_len + 3);

    // First connection: its CONNECT uses up connect_len of the budget.
    drop(session(proxy.port(), "c1"));
    wait(&proxy, "first connection gone", |p| p.active() == 0);
    assert_eq!(proxy.cuts(), 0);

    // Second: only 3 bytes of its CONNECT pass, then the cut. No CONNACK.
    let mut s = tcp(proxy.port());
    s.write_all(&connect_packet("c2")).unwrap();
    let (got, end) = read_to_end_within(&mut s, IO_TIMEOUT);
    assert!(got.is_empty(), "got {got:02x?}");
    assert_eq!(end, End::Eof);
    assert_eq!(proxy.cuts(), 1);
    assert_eq!(proxy.bytes(Direction::ToBroker), (connect_len + 3) as u64);
    assert_eq!(proxy.packets(Direction::ToBroker, CONNECT), 1);

    // The rule fired once: the next connection is fine.
    drop(session(proxy.port(), "c3"));
    assert_eq!(proxy.cuts(), 1);
    assert_eq!(proxy.connections(), 3);
}

#[test]
fn cut_after_bytes_to_client() {
    let Some((_broker, proxy)) = start() else {
        return;
    };
    // CONNACK (4 bytes) and the first 2 of the SUBACK.
    proxy.cut_after_bytes(Direction::ToClient, 6);
    let mut s = session(proxy.port(), "bytes");
    s.write_all(&subscribe_packet("b/t")).unwrap();
    let (got, end) = read_to_end_within(&mut s, IO_TIMEOUT);
    assert_eq!(end, End::Eof);
    assert_eq!(got, SUBACK_QOS0[..2]);
    assert_eq!(proxy.bytes(Direction::ToClient), 6);
    assert_eq!(proxy.packets(Direction::ToClient, SUBACK), 0);
    assert_eq!(proxy.cuts(), 1);
}

#[test]
fn cut_now_closes_every_connection() {
    let Some((_broker, proxy)) = start() else {
        return;
    };
    let mut a = session(proxy.port(), "a");
    let mut b = session(proxy.port(), "b");
    wait(&proxy, "two connections", |p| p.active() == 2);
    proxy.cut_now();
    for s in [&mut a, &mut b] {
        let (got, end) = read_to_end_within(s, IO_TIMEOUT);
        assert!(got.is_empty());
        assert_eq!(end, End::Eof);
    }
    assert_eq!(proxy.cuts(), 2);
    wait(&proxy, "connections removed", |p| p.active() == 0);
    drop(session(proxy.port(), "c"));
    assert_eq!(proxy.cuts(), 2);
}

#[test]
fn stall_holds_data_both_ways_then_delivers_it() {
    let Some((broker, proxy)) = start() else {
        return;
    };
    let mut s = session(proxy.port(), "stalled");
    subscribe(&mut s, "stall/t");
    let to_client = proxy.bytes(Direction::ToClient);
    let to_broker = proxy.bytes(Direction::ToBroker);

    proxy.stall(true);
    let pkt = publish_packet("stall/t", b"held");
    session(broker.port, "pub").write_all(&pkt).unwrap();
    s.write_all(&[0xC0, 0x00]).unwrap(); // PINGREQ
    assert_silent(&mut s, SILENCE, "stalled link");
    assert_eq!(proxy.bytes(Direction::ToClient), to_client);
    assert_eq!(proxy.bytes(Direction::ToBroker), to_broker);
    assert_eq!(proxy.active(), 1, "a stall keeps the connection");

    proxy.stall(false);
    let mut got = vec![read_packet(&mut s), read_packet(&mut s)];
    got.sort();
    let mut want = vec![pkt, vec![0xD0, 0x00]];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(proxy.packets(Direction::ToBroker, PINGREQ), 1);
    assert_eq!(proxy.packets(Direction::ToClient, PINGRESP), 1);
    assert_eq!(proxy.cuts(), 0);
}

#[test]
fn refuse_closes_new_connections_only() {
    let Some((_broker, proxy)) = start() else {
        return;
    };
    let mut old = session(proxy.port(), "old");
    proxy.refuse(true);

    let mut s = tcp(proxy.port());
    let _ = s.write_all(&connect_packet("refused")); // may fail: closed
    let (got, end) = read_to_end_within(&mut s, IO_TIMEOUT);
    assert!(got.is_empty(), "got {got:02x?}");
    assert!(matches!(end, End::Eof | End::Reset), "{end:?}");
    assert_eq!(proxy.connections(), 2);
    assert_eq!(proxy.refused(), 1);
    assert_eq!(proxy.packets(Direction::ToBroker, CONNECT), 1);

    // The connection from before still works.
    old.write_all(&[0xC0, 0x00]).unwrap();
    assert_eq!(read_packet(&mut old), [0xD0, 0x00]);

    proxy.refuse(false);
    drop(session(proxy.port(), "again"));
    assert_eq!(proxy.connections(), 3);
    assert_eq!(proxy.refused(), 1);
}

#[test]
fn packet_counters_follow_framing_across_reads() {
    let Some((_broker, proxy)) = start() else {
        return;
    };
    let mut s = session(proxy.port(), "frames");
    let base = proxy.bytes(Direction::ToBroker);
    let big = publish_packet("frames/t", &[7u8; 300]);
    // Type byte and the first length byte only.
    s.write_all(&big[..2]).unwrap();
    wait(&proxy, "2 bytes", |p| {
        p.bytes(Direction::ToBroker) == base + 2
    });
    assert_eq!(proxy.packets(Direction::ToBroker, PUBLISH), 0);
    // All but the last byte.
    s.write_all(&big[2..big.len() - 1]).unwrap();
    let almost = base + big.len() as u64 - 1;
    wait(&proxy, "all but one", |p| {
        p.bytes(Direction::ToBroker) == almost
    });
    assert_eq!(proxy.packets(Direction::ToBroker, PUBLISH), 0);
    s.write_all(&big[big.len() - 1..]).unwrap();
    wait(&proxy, "whole PUBLISH", |p| {
        p.packets(Direction::ToBroker, PUBLISH) == 1
    });

    // Five PINGREQs in one write, five PINGRESPs back.
    s.write_all(&[0xC0, 0x00].repeat(5)).unwrap();
    for _ in 0..5 {
        assert_eq!(read_packet(&mut s), [0xD0, 0x00]);
    }
    assert_eq!(proxy.packets(Direction::ToBroker, PINGREQ), 5);
    wait(&proxy, "five PINGRESPs", |p| {
        p.packets(Direction::ToClient, PINGRESP) == 5
    });
    assert_eq!(proxy.packets(Direction::ToClient, PUBLISH), 0);
}

#[cfg(target_os = "linux")]
#[test]
fn reset_on_cut_sends_rst() {
    let Some((_broker, proxy)) = start() else {
        return;
    };
    proxy.set_reset_on_cut(true);
    let mut s = session(proxy.port(), "rst");
    proxy.cut_now();
    let (got, end) = read_to_end_within(&mut s, IO_TIMEOUT);
    assert!(got.is_empty());
    assert_eq!(end, End::Reset);
    assert_eq!(proxy.cuts(), 1);
}

#[test]
fn upstream_down_closes_the_client() {
    // Nothing listens on a port we just released.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let proxy = FaultProxy::start((std::net::Ipv4Addr::LOCALHOST, port).into());
    let mut s = tcp(proxy.port());
    let (got, end) = read_to_end_within(&mut s, IO_TIMEOUT);
    assert!(got.is_empty());
    assert!(matches!(end, End::Eof | End::Reset), "{end:?}");
    assert_eq!(proxy.connections(), 1);
    assert_eq!(proxy.upstream_failures(), 1);
}

#[test]
fn drop_stops_promptly_and_closes_everything() {
    let Some((_broker, proxy)) = start() else {
        return;
    };
    let port = proxy.port();
    let mut s = session(port, "dropped");
    let mut idle = tcp(port); // never sends anything
    wait(&proxy, "two connections", |p| p.active() == 2);
    proxy.stall(true);
    let t = Instant::now();
    drop(proxy);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    for c in [&mut s, &mut idle] {
        let (_, end) = read_to_end_within(c, IO_TIMEOUT);
        assert_eq!(end, End::Eof);
    }
    let refused = TcpStream::connect(("127.0.0.1", port));
    assert!(refused.is_err(), "listener still open");
    let _ = s.shutdown(Shutdown::Both);
}

#[cfg(target_os = "linux")]
#[test]
fn reset_after_packet_keeps_what_was_forwarded() {
    let Some((broker, proxy)) = start() else {
        return;
    };
    proxy.set_reset_on_cut(true);
    let mut s = session(proxy.port(), "sub");
    subscribe(&mut s, "r/c");
    proxy.cut_after_packet(Direction::ToClient, PUBLISH, 2, None);
    let pkts: Vec<Vec<u8>> = (1..=3)
        .map(|i| publish_packet("r/c", format!("m{i}").as_bytes()))
        .collect();
    session(broker.port, "pub")
        .write_all(&pkts.concat())
        .unwrap();
    wait(&proxy, "the cut", |p| p.cuts() == 1 && p.active() == 0);
    // Linux keeps bytes received before the RST readable; then the reset.
    let (got, end) = read_to_end_within(&mut s, IO_TIMEOUT);
    assert_eq!(got, [pkts[0].clone(), pkts[1].clone()].concat());
    assert_eq!(end, End::Reset);
}
