//! MQTT over WebSocket through the C API (called from Rust): round trips
//! over `ws://` and `wss://` against mosquitto behind websockify
//! (scripts/ws-bridge.py), a reconnect through the fault proxy, and each
//! bad answer or frame a server may send, from scripted servers.
#![cfg(feature = "tls")]

#[path = "support/certs.rs"]
#[allow(dead_code)]
mod certs;
mod support;

use embermq::ffi::*;
use embermq::transport::ws::accept_for;
use std::ffi::CString;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use support::proxy::{Direction, FaultProxy};
use support::recorder::*;
use support::{Broker, BrokerConfig};

// ---- the WebSocket bridge in front of the test broker ----------------------

/// websockify (scripts/ws-bridge.py) on a free 127.0.0.1 port, bridging to
/// a broker port; its process group is killed on drop.
struct WsBridge {
    port: u16,
    child: Child,
}

fn bridge_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import websockify"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found && std::env::var("EMQ_ALLOW_NO_BROKER").as_deref() != Ok("1") {
        panic!("websockify not found; run scripts/install-deps.sh (or set EMQ_ALLOW_NO_BROKER=1 to skip)");
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl WsBridge {
    fn start(target: u16, tls: Option<(&Path, &Path)>) -> WsBridge {
        use std::os::unix::process::CommandExt;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ws-bridge.py");
        // Bounded: a few ports, each waited for a few seconds.
        for _ in 0..5 {
            let port = free_port();
            let mut cmd = Command::new("python3");
            cmd.arg(&script);
            if let Some((cert, key)) = tls {
                cmd.arg(format!("--cert={}", cert.display()))
                    .arg(format!("--key={}", key.display()))
                    .arg("--ssl-only");
            }
            cmd.arg(format!("127.0.0.1:{port}"))
                .arg(format!("127.0.0.1:{target}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0);
            let mut child = cmd.spawn().expect("starting scripts/ws-bridge.py");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(5) {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return WsBridge { port, child };
                }
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("the WebSocket bridge did not start");
    }
}

impl Drop for WsBridge {
    fn drop(&mut self) {
        // The bridge and its per-connection children, by process group.
        let group = self.child.id() as i32;
        // SAFETY: kill(2) on the process group this test started.
        unsafe { libc::kill(-group, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

// ---- a client through the C API -----------------------------------------------

struct CClient {
    ptr: *mut emq_client,
    seen: Box<Seen>,
}

/// Buffers for 256 KiB messages (websockify's frames are up to 64 KiB).
const BIG: usize = 300 * 1024;

struct Setup {
    id: &'static str,
    ca_pem: Option<Vec<u8>>,
    headers: Option<&'static str>,
    auto_reconnect: bool,
    rx_buffer: usize,
}

impl Setup {
    fn new(id: &'static str) -> Self {
        Setup {
            id,
            ca_pem: None,
            headers: None,
            auto_reconnect: false,
            rx_buffer: BIG,
        }
    }
}

impl CClient {
    fn new(setup: &Setup) -> CClient {
        let id = CString::new(setup.id).unwrap();
        let ca = setup.ca_pem.clone().map(|pem| CString::new(pem).unwrap());
        let headers = setup.headers.map(|h| CString::new(h).unwrap());
        let mut options = std::mem::MaybeUninit::<emq_options>::uninit();
        assert_eq!(
            unsafe { emq_options_default(options.as_mut_ptr()) },
            emq_err::EMQ_OK
        );
        let mut options = unsafe { options.assume_init() };
        options.client_id = id.as_ptr();
        options.rx_buffer_size = setup.rx_buffer;
        options.tx_buffer_size = BIG;
        options.store_size = 4 * BIG;
        options.command_timeout_ms = 5_000;
        options.auto_reconnect = setup.auto_reconnect;
        options.reconnect_min_ms = 20;
        options.reconnect_max_ms = 200;
        options.clean_session = !setup.auto_reconnect;
        options.queue_offline = setup.auto_reconnect;
        let mut tls = std::mem::MaybeUninit::<emq_tls_options>::uninit();
        assert_eq!(
            unsafe { emq_tls_options_default(tls.as_mut_ptr()) },
            emq_err::EMQ_OK
        );
        let mut tls = unsafe { tls.assume_init() };
        if let Some(ca) = &ca {
            tls.ca_pem = ca.as_ptr();
            options.tls = &tls;
        }
        let mut ws = std::mem::MaybeUninit::<emq_ws_options>::uninit();
        assert_eq!(
            unsafe { emq_ws_options_default(ws.as_mut_ptr()) },
            emq_err::EMQ_OK
        );
        let mut ws = unsafe { ws.assume_init() };
        if let Some(headers) = &headers {
            ws.headers = headers.as_ptr();
            options.ws = &ws;
        }
        let mut ptr = std::ptr::null_mut();
        assert_eq!(
            unsafe { emq_client_new(&options, &mut ptr) },
            emq_err::EMQ_OK
        );
        let mut client = CClient {
            ptr,
            seen: Box::default(),
        };
        let callbacks = emq_callbacks {
            on_disconnect: Some(on_disconnect),
            on_message: Some(on_message),
            on_published: Some(on_published),
            ..emq_callbacks::default()
        };
        let seen: *mut Seen = &mut *client.seen;
        assert_eq!(
            unsafe { emq_client_set_callbacks(client.ptr, &callbacks, seen.cast()) },
            emq_err::EMQ_OK
        );
        client
    }

    fn connect(&mut self, uri: &str) -> emq_err {
        let uri = CString::new(uri).unwrap();
        unsafe { emq_client_connect_uri(self.ptr, uri.as_ptr()) }
    }

    fn subscribe(&mut self, filter: &str, qos: u8) {
        let filter = CString::new(filter).unwrap();
        let mut id = 0;
        assert_eq!(
            unsafe { emq_client_subscribe(self.ptr, filter.as_ptr(), qos, &mut id) },
            emq_err::EMQ_OK
        );
        assert_eq!(
            unsafe { emq_client_wait(self.ptr, id, 5_000) },
            emq_err::EMQ_OK
        );
    }

    fn publish(&mut self, topic: &str, payload: &[u8], qos: u8) -> Result<u16, emq_err> {
        let topic = CString::new(topic).unwrap();
        let mut id = 0;
        match unsafe {
            emq_client_publish(
                self.ptr,
                topic.as_ptr(),
                payload.as_ptr(),
                payload.len(),
                qos,
                false,
                &mut id,
            )
        } {
            emq_err::EMQ_OK => Ok(id),
            err => Err(err),
        }
    }

    fn poll(&mut self, ms: u32) -> emq_err {
        unsafe { emq_client_poll(self.ptr, ms) }
    }

    /// Polls until `done` or 20 s; false on timeout.
    fn poll_until(&mut self, done: impl Fn(&Seen) -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if done(&self.seen) {
                return true;
            }
            self.poll(10);
        }
        done(&self.seen)
    }

    fn disconnect(&mut self) -> emq_err {
        unsafe { emq_client_disconnect(self.ptr) }
    }
}

impl Drop for CClient {
    fn drop(&mut self) {
        unsafe { emq_client_free(self.ptr) };
    }
}

fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

/// Publishes QoS 0, 1 and 2 messages of several sizes (256 KiB included)
/// to itself through `uri` and checks they come back intact.
fn round_trips(uri: &str, setup: Setup) {
    let mut client = CClient::new(&setup);
    assert_eq!(client.connect(uri), emq_err::EMQ_OK, "{uri}");
    client.subscribe("ws/#", 2);
    let mut sent = Vec::new();
    for qos in 0..=2u8 {
        for (n, len) in [0, 1, 125, 126, 65_535, 65_536, 256 * 1024]
            .into_iter()
            .enumerate()
        {
            let topic = format!("ws/q{qos}/{n}");
            let body = payload(len, qos * 16 + n as u8);
            client.publish(&topic, &body, qos).expect("publish");
            sent.push((topic, body));
            // QoS 0 is not stored: let each go before the next is written.
            assert!(client.poll_until(|seen| seen.messages.len() == sent.len()));
        }
    }
    // QoS 1 and 2 acknowledged (QoS 0 reports id 0 once written).
    let acked = |seen: &Seen| seen.published.iter().filter(|id| **id != 0).count();
    assert!(client.poll_until(|seen| acked(seen) == 2 * 7));
    let got = &client.seen.messages;
    assert_eq!(got.len(), sent.len());
    for ((topic, body), (t, p)) in sent.iter().zip(got) {
        assert_eq!(t, topic);
        assert!(p == body, "{topic}: payload differs");
    }
    assert_eq!(client.disconnect(), emq_err::EMQ_OK);
    assert!(client
        .seen
        .disconnects
        .iter()
        .all(|r| *r == emq_err::EMQ_OK));
}

#[test]
fn qos_round_trips_over_ws() {
    if !support::require_mosquitto() || !bridge_available() {
        return;
    }
    let broker = Broker::start(BrokerConfig::new().extra("message_size_limit 0"));
    let bridge = WsBridge::start(broker.port, None);
    round_trips(
        &format!("ws://127.0.0.1:{}/mqtt", bridge.port),
        Setup::new("ws-round-trips"),
    );
    // Extra headers and the default path.
    let mut setup = Setup::new("ws-headers");
    setup.headers = Some("Authorization: Bearer test\r\nX-Client: embermq");
    let mut client = CClient::new(&setup);
    let uri = format!("ws://127.0.0.1:{}", bridge.port);
    assert_eq!(client.connect(&uri), emq_err::EMQ_OK);
    assert_eq!(client.disconnect(), emq_err::EMQ_OK);
}

#[test]
fn qos_round_trips_over_wss() {
    if !support::require_mosquitto() || !bridge_available() {
        return;
    }
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "embermq-wss-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let pki = certs::generate(&dir);
    let broker = Broker::start(BrokerConfig::new().extra("message_size_limit 0"));
    let bridge = WsBridge::start(broker.port, Some((&pki.server_cert, &pki.server_key)));
    let mut setup = Setup::new("wss-round-trips");
    setup.ca_pem = Some(std::fs::read(&pki.ca).unwrap());
    round_trips(&format!("wss://127.0.0.1:{}/mqtt", bridge.port), setup);
    // Without the test CA the certificate is not trusted.
    let mut untrusting = CClient::new(&Setup::new("wss-untrusting"));
    let uri = format!("wss://127.0.0.1:{}/mqtt", bridge.port);
    assert_eq!(
        untrusting.connect(&uri),
        emq_err::EMQ_ERR_TLS_CERT_NOT_TRUSTED
    );
    drop(bridge);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reconnect_through_the_fault_proxy_loses_no_qos1_message() {
    if !support::require_mosquitto() || !bridge_available() {
        return;
    }
    let broker = Broker::start_default();
    let bridge = WsBridge::start(broker.port, None);
    let proxy = FaultProxy::start(([127, 0, 0, 1], bridge.port).into());
    let mut subscriber = CClient::new(&Setup::new("ws-fault-sub"));
    let uri = format!("ws://127.0.0.1:{}/mqtt", bridge.port);
    assert_eq!(subscriber.connect(&uri), emq_err::EMQ_OK);
    subscriber.subscribe("faults/ws", 1);
    let mut setup = Setup::new("ws-fault-pub");
    setup.auto_reconnect = true;
    let mut publisher = CClient::new(&setup);
    let uri = format!("ws://127.0.0.1:{}/mqtt", proxy.port());
    assert_eq!(publisher.connect(&uri), emq_err::EMQ_OK);

    const TOTAL: usize = 200;
    let mut cuts = 0;
    for seq in 0..TOTAL {
        if seq % 40 == 20 {
            // Cut mid-frame one way or the other, a few hundred bytes on.
            let dir = if cuts % 2 == 0 {
                Direction::ToBroker
            } else {
                Direction::ToClient
            };
            proxy.cut_after_bytes(dir, 150 + 37 * cuts);
            cuts += 1;
        }
        let body = format!("seq:{seq}");
        // Bounded: the outbox takes it at once or after a few polls.
        let mut accepted = false;
        for _ in 0..1_000 {
            if publisher.publish("faults/ws", body.as_bytes(), 1).is_ok() {
                accepted = true;
                break;
            }
            publisher.poll(5);
            subscriber.poll(0);
        }
        assert!(accepted, "message {seq} not accepted");
        publisher.poll(1);
        subscriber.poll(1);
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        let got: std::collections::BTreeSet<_> = subscriber
            .seen
            .messages
            .iter()
            .map(|(_, p)| p.clone())
            .collect();
        if got.len() == TOTAL && unsafe { emq_client_queued(publisher.ptr) } == 0 {
            break;
        }
        publisher.poll(5);
        subscriber.poll(5);
    }
    let got: std::collections::BTreeSet<_> = subscriber
        .seen
        .messages
        .iter()
        .map(|(_, p)| String::from_utf8(p.clone()).unwrap())
        .collect();
    let missing: Vec<usize> = (0..TOTAL)
        .filter(|seq| !got.contains(&format!("seq:{seq}")))
        .collect();
    println!(
        "ws through cuts: sent {TOTAL}, delivered {}, cuts {}, reconnects {}",
        subscriber.seen.messages.len(),
        proxy.cuts(),
        publisher.seen.disconnects.len()
    );
    assert!(proxy.cuts() >= 3, "the link was cut");
    assert!(missing.is_empty(), "lost QoS 1 messages: {missing:?}");
    assert_eq!(unsafe { emq_client_queued(publisher.ptr) }, 0);
}

// ---- scripted servers ------------------------------------------------------------

/// Reads the upgrade request; its Sec-WebSocket-Key and the whole text.
fn read_request(stream: &mut TcpStream) -> (String, String) {
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("request");
        request.push(byte[0]);
    }
    let text = String::from_utf8(request).unwrap();
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("a key")
        .to_owned();
    (key, text)
}

fn accept(key: &str) -> String {
    String::from_utf8(accept_for(key.as_bytes().try_into().unwrap()).to_vec()).unwrap()
}

fn good_answer(key: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n",
        accept(key)
    )
}

/// A frame from the server: FIN/opcode byte, payload (unmasked).
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    match payload.len() {
        n if n <= 125 => out.push(n as u8),
        n if n <= 0xffff => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// One frame from the client, unmasked: (first byte, payload). None at EOF.
fn read_frame(stream: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).ok()?;
    assert_eq!(head[1] & 0x80, 0x80, "client frames are masked");
    let len = match head[1] & 0x7f {
        126 => {
            let mut ext = [0u8; 2];
            stream.read_exact(&mut ext).ok()?;
            usize::from(u16::from_be_bytes(ext))
        }
        127 => {
            let mut ext = [0u8; 8];
            stream.read_exact(&mut ext).ok()?;
            u64::from_be_bytes(ext) as usize
        }
        n => usize::from(n),
    };
    let mut key = [0u8; 4];
    stream.read_exact(&mut key).ok()?;
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).ok()?;
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
    Some((head[0], payload))
}

/// Reads client frames until one with an MQTT packet of `packet_type`
/// (first nibble) starts; its payload.
fn expect_packet(stream: &mut TcpStream, packet_type: u8) -> Vec<u8> {
    for _ in 0..100 {
        let (first, payload) = read_frame(stream).expect("a frame");
        if first == 0x82 && payload.first().map(|b| b >> 4) == Some(packet_type) {
            return payload;
        }
    }
    panic!("no packet of type {packet_type}");
}

const CONNACK: [u8; 4] = [0x20, 2, 0, 0];

/// What a scripted server saw of the client after its script.
struct Record {
    request: String,
    /// The client's frames after the script, up to its close (or EOF).
    after: Vec<(u8, Vec<u8>)>,
}

/// A server on a free port that answers the upgrade with `answer(key)`
/// and then runs `script` (after the client's CONNECT when `mqtt`).
fn scripted(
    answer: impl FnOnce(&str) -> String + Send + 'static,
    mqtt: bool,
    script: impl FnOnce(&mut TcpStream) + Send + 'static,
) -> (u16, JoinHandle<Record>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let (key, request) = read_request(&mut stream);
        stream.write_all(answer(&key).as_bytes()).unwrap();
        if mqtt {
            expect_packet(&mut stream, 1);
        }
        script(&mut stream);
        let mut after = Vec::new();
        // Bounded: the client closes within its timeouts.
        for _ in 0..100 {
            match read_frame(&mut stream) {
                Some(f) => {
                    let close = f.0 == 0x88;
                    if close {
                        // Complete the close handshake.
                        let _ = stream.write_all(&frame(0x88, &f.1));
                    }
                    after.push(f);
                    if close {
                        break;
                    }
                }
                None => break,
            }
        }
        Record { request, after }
    });
    (port, handle)
}

fn close_code(record: &Record) -> Option<u16> {
    let (_, payload) = record.after.iter().find(|(first, _)| *first == 0x88)?;
    Some(u16::from_be_bytes([payload[0], payload[1]]))
}

fn connect_scripted(port: u16) -> (CClient, emq_err) {
    let mut setup = Setup::new("ws-scripted");
    setup.rx_buffer = 1024;
    let mut client = CClient::new(&setup);
    let result = client.connect(&format!("ws://127.0.0.1:{port}/mqtt"));
    (client, result)
}

#[test]
fn bad_upgrade_answers_are_named() {
    type Answer = Box<dyn FnOnce(&str) -> String + Send>;
    let cases: Vec<(Answer, emq_err)> = vec![
        (
            Box::new(|_| "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into()),
            emq_err::EMQ_ERR_WS_UPGRADE_REFUSED,
        ),
        (
            Box::new(|_| "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".into()),
            emq_err::EMQ_ERR_WS_UPGRADE_REFUSED,
        ),
        (
            Box::new(|k| good_answer(k).replace(&accept(k), "dGhlIHNhbXBsZSBub25jZQ==")),
            emq_err::EMQ_ERR_WS_BAD_ACCEPT,
        ),
        (
            Box::new(|k| good_answer(k).replace("Sec-WebSocket-Accept", "X-Nothing")),
            emq_err::EMQ_ERR_WS_BAD_ACCEPT,
        ),
        (
            Box::new(|k| good_answer(k).replace("Sec-WebSocket-Protocol: mqtt\r\n", "")),
            emq_err::EMQ_ERR_WS_NO_SUBPROTOCOL,
        ),
        (
            Box::new(|_| "not http at all\r\n\r\n".into()),
            emq_err::EMQ_ERR_WS_BAD_HANDSHAKE,
        ),
    ];
    for (answer, want) in cases {
        let (port, server) = scripted(answer, false, |_| {});
        let (client, result) = connect_scripted(port);
        assert_eq!(result, want);
        drop(client);
        let record = server.join().unwrap();
        assert!(record.request.contains("Sec-WebSocket-Protocol: mqtt\r\n"));
        assert!(record.after.is_empty(), "no frames after a failed upgrade");
    }
}

/// Connects to a server that sends CONNACK then `bad`; the reason the
/// connection ended and what the server saw.
fn fails_after_connack(bad: Vec<u8>) -> (emq_err, Record) {
    let (port, server) = scripted(good_answer, true, move |s| {
        s.write_all(&frame(0x82, &CONNACK)).unwrap();
        s.write_all(&bad).unwrap();
    });
    let (mut client, result) = connect_scripted(port);
    assert_eq!(result, emq_err::EMQ_OK);
    assert!(client.poll_until(|seen| !seen.disconnects.is_empty()));
    let reason = client.seen.disconnects[0];
    drop(client);
    (reason, server.join().unwrap())
}

#[test]
fn bad_frames_are_named_and_closed_cleanly() {
    let publish_start = [0x30u8, 10, 0, 1, b't'];
    let cases = [
        (
            frame(0x81, b"{}"),
            emq_err::EMQ_ERR_WS_TEXT_FRAME,
            Some(1003),
        ),
        (
            frame(0x82, &[0u8; 1025]),
            emq_err::EMQ_ERR_WS_FRAME_TOO_LARGE,
            Some(1009),
        ),
        (
            vec![0x82, 0x82, 1, 2, 3, 4, 0xd1, 2],
            emq_err::EMQ_ERR_WS_MASKED_FRAME,
            Some(1002),
        ),
        (
            [
                frame(0x82, &publish_start),
                frame(0x88, &1000u16.to_be_bytes()),
            ]
            .concat(),
            emq_err::EMQ_ERR_WS_CLOSED_MID_PACKET,
            Some(1000),
        ),
        (vec![0xc2, 0], emq_err::EMQ_ERR_WS_PROTOCOL, Some(1002)),
        (
            frame(0x88, &1001u16.to_be_bytes()),
            emq_err::EMQ_ERR_CONNECTION_CLOSED,
            Some(1001),
        ),
    ];
    for (bad, want, code) in cases {
        let (reason, record) = fails_after_connack(bad);
        assert_eq!(reason, want);
        assert_eq!(close_code(&record), code, "{want:?}: the close frame");
    }
}

#[test]
fn pings_get_pongs_and_packets_cross_frame_boundaries() {
    let (port, server) = scripted(good_answer, true, |s| {
        // CONNACK and SUBACK in one frame.
        let suback = [0x90, 3, 0, 1, 1];
        s.write_all(&frame(0x82, &[&CONNACK[..], &suback[..]].concat()))
            .unwrap();
        expect_packet(s, 8);
        s.write_all(&frame(0x89, b"are you there")).unwrap();
        let (first, payload) = read_frame(s).expect("a pong");
        assert_eq!((first, payload.as_slice()), (0x8a, &b"are you there"[..]));
        // A QoS 0 PUBLISH over a fragmented message with a ping inside.
        let publish = [0x30, 8, 0, 3, b'a', b'/', b'b', b'x', b'y', b'z'];
        s.write_all(&frame(0x02, &publish[..1])).unwrap();
        s.write_all(&frame(0x00, &publish[1..5])).unwrap();
        s.write_all(&frame(0x89, b"")).unwrap();
        s.write_all(&frame(0x80, &publish[5..])).unwrap();
        let (first, payload) = read_frame(s).expect("a pong");
        assert_eq!((first, payload.len()), (0x8a, 0));
        // Then its DISCONNECT and close handshake.
        expect_packet(s, 14);
    });
    let (mut client, result) = connect_scripted(port);
    assert_eq!(result, emq_err::EMQ_OK);
    let mut id = 0;
    let filter = CString::new("a/#").unwrap();
    assert_eq!(
        unsafe { emq_client_subscribe(client.ptr, filter.as_ptr(), 1, &mut id) },
        emq_err::EMQ_OK
    );
    assert!(client.poll_until(|seen| !seen.messages.is_empty()));
    assert_eq!(client.seen.messages[0], ("a/b".to_owned(), b"xyz".to_vec()));
    assert_eq!(client.disconnect(), emq_err::EMQ_OK);
    let record = server.join().unwrap();
    assert_eq!(
        close_code(&record),
        Some(1000),
        "a normal close after DISCONNECT"
    );
}
