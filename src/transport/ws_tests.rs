//! The WebSocket layer against scripted byte streams: framing both ways,
//! the upgrade's checks, and each bad input a server may send.

use super::*;

/// A scripted server: reads hand out `input` in chunks of at most `chunk`
/// bytes; writes collect in `output` (at most `room` bytes per write).
struct Script {
    input: Vec<u8>,
    at: usize,
    chunk: usize,
    output: Vec<u8>,
    room: usize,
    /// Bytes writes may still take in all.
    budget: usize,
    closed: bool,
}

impl Script {
    fn new(input: Vec<u8>) -> Self {
        Script {
            input,
            at: 0,
            chunk: usize::MAX,
            output: Vec::new(),
            room: usize::MAX,
            budget: usize::MAX,
            closed: false,
        }
    }
}

impl Transport for Script {
    fn read(&mut self, buf: &mut [u8], _timeout_ms: u32) -> Result<usize, Error> {
        if self.at == self.input.len() {
            return Err(Error::ConnectionClosed);
        }
        let n = buf.len().min(self.chunk).min(self.input.len() - self.at);
        buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }

    fn write(&mut self, buf: &[u8], _timeout_ms: u32) -> Result<usize, Error> {
        let n = buf.len().min(self.room).min(self.budget);
        self.budget -= n;
        self.output.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn close(&mut self) {
        self.closed = true;
    }
}

/// Counting bytes: deterministic "random" keys.
struct Counter(u8);

impl Random for Counter {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        for byte in buf {
            self.0 = self.0.wrapping_add(1);
            *byte = self.0;
        }
        Ok(())
    }
}

/// A server frame (unmasked).
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

fn binary(payload: &[u8]) -> Vec<u8> {
    frame(0x82, payload)
}

/// Client frames in `bytes`, unmasked: (first byte, payload) each.
fn client_frames(bytes: &[u8]) -> Frames {
    let mut frames = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let first = bytes[at];
        assert_eq!(bytes[at + 1] & 0x80, 0x80, "client frames are masked");
        let (len, mut i) = match bytes[at + 1] & 0x7f {
            126 => (
                usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]])),
                at + 4,
            ),
            127 => panic!("no 64-bit lengths expected"),
            n => (usize::from(n), at + 2),
        };
        let key = [bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]];
        i += 4;
        let payload = bytes[i..i + len]
            .iter()
            .enumerate()
            .map(|(j, b)| b ^ key[j % 4])
            .collect();
        frames.push((first, payload));
        at = i + len;
    }
    frames
}

/// Reads everything `state` delivers from `script` until it fails.
fn read_all(state: &mut WsState, script: &mut Script, room: usize) -> (Vec<u8>, Error) {
    let mut got = Vec::new();
    let mut rng = Counter(0);
    for _ in 0..10_000 {
        let mut buf = vec![0u8; room];
        match state.read(script, &mut rng, &mut buf, 0) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(err) => return (got, err),
        }
    }
    panic!("the script never ended");
}

const CONNACK: [u8; 4] = [0x20, 2, 0, 0];
const PUBLISH: [u8; 9] = [0x30, 7, 0, 1, b't', b'a', b'b', b'c', b'd'];

#[test]
fn the_rfc_example_key_gets_its_accept() {
    assert_eq!(
        &accept_for(b"dGhlIHNhbXBsZSBub25jZQ=="),
        b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[test]
fn frames_holding_several_packets_and_packets_spanning_frames() {
    // CONNACK and the start of a PUBLISH in one frame, the rest of the
    // PUBLISH split over a fragmented message, a ping in between.
    let mut input = binary(&[&CONNACK[..], &PUBLISH[..3]].concat());
    input.extend(frame(0x02, &PUBLISH[3..5])); // binary, not final
    input.extend(frame(0x89, b"hi")); // ping inside the message
    input.extend(frame(0x80, &PUBLISH[5..])); // final continuation
    input.extend(frame(0x82, &[])); // an empty frame
    for chunk in [1, 2, 3, 7, usize::MAX] {
        for room in [1, 5, 64] {
            let mut script = Script::new(input.clone());
            script.chunk = chunk;
            let mut state = WsState::new(1024);
            let (got, err) = read_all(&mut state, &mut script, room);
            assert_eq!(got, [&CONNACK[..], &PUBLISH[..]].concat(), "{chunk}/{room}");
            assert_eq!(err, Error::ConnectionClosed);
            let frames = client_frames(&script.output);
            assert_eq!(frames, vec![(0x8a, b"hi".to_vec())], "the ping's pong");
        }
    }
}

#[test]
fn long_frames_use_the_extended_lengths() {
    let big = vec![7u8; 70_000];
    let mut input = frame(0x82, &big[..300]);
    input.extend(frame(0x82, &big));
    let mut script = Script::new(input);
    let mut state = WsState::new(100_000);
    let (got, _) = read_all(&mut state, &mut script, 4096);
    assert_eq!(got.len(), 70_300);
}

#[test]
fn writes_are_masked_binary_frames_and_survive_short_writes() {
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7) as u8).collect();
    for (room, scratch) in [(usize::MAX, 16_384), (3, 5), (1000, 7)] {
        let mut script = Script::new(Vec::new());
        script.room = room;
        let mut state = WsState::new(1024);
        let mut rng = Counter(0);
        let mut scratch = vec![0u8; scratch];
        let mut sent = 0;
        for _ in 0..1_000_000 {
            if sent == data.len() {
                break;
            }
            sent += state
                .write(&mut script, &mut rng, &mut scratch, &data[sent..], 0)
                .unwrap();
        }
        assert_eq!(sent, data.len());
        let frames = client_frames(&script.output);
        assert!(frames.iter().all(|(first, _)| *first == 0x82));
        assert!(frames.iter().all(|(_, p)| p.len() <= MAX_OUT_FRAME));
        let joined: Vec<u8> = frames.into_iter().flat_map(|(_, p)| p).collect();
        assert_eq!(joined, data, "room {room}");
    }
}

#[test]
fn every_frame_gets_a_fresh_masking_key() {
    let mut script = Script::new(Vec::new());
    let mut state = WsState::new(1024);
    let mut rng = Counter(0);
    let mut scratch = [0u8; 64];
    for _ in 0..3 {
        state
            .write(&mut script, &mut rng, &mut scratch, b"abc", 0)
            .unwrap();
    }
    let keys: Vec<&[u8]> = script.output.chunks(9).map(|f| &f[2..6]).collect();
    assert_eq!(keys.len(), 3);
    assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2]);
}

#[test]
fn a_pong_waits_for_the_data_frame_under_way() {
    let mut script = Script::new(frame(0x89, b"p"));
    script.budget = 10;
    let mut state = WsState::new(1024);
    let mut rng = Counter(0);
    let mut scratch = [0u8; 4];
    let data = [1u8; 20];
    // 8 header bytes and 2 of payload go out; the frame is half sent.
    let first = state
        .write(&mut script, &mut rng, &mut scratch, &data, 0)
        .unwrap();
    assert!(first < data.len());
    let mut buf = [0u8; 16];
    assert_eq!(state.read(&mut script, &mut rng, &mut buf, 0), Ok(0));
    script.budget = usize::MAX;
    let mut sent = first;
    for _ in 0..100 {
        if sent == data.len() {
            break;
        }
        sent += state
            .write(&mut script, &mut rng, &mut scratch, &data[sent..], 0)
            .unwrap();
    }
    // The pong goes with the next write or read, after the frame.
    let _ = state.write(&mut script, &mut rng, &mut scratch, &[], 0);
    let frames = client_frames(&script.output);
    assert_eq!(frames[0], (0x82, data.to_vec()));
    assert_eq!(frames[1], (0x8a, b"p".to_vec()));
}

/// Feeds `input` to a fresh state; the error reading ends with, the data
/// delivered before it, and the client's frames (its close).
type Frames = Vec<(u8, Vec<u8>)>;

fn fails_with(input: Vec<u8>, max_frame: usize) -> (Error, Vec<u8>, Frames) {
    let mut script = Script::new(input);
    let mut state = WsState::new(max_frame);
    let (got, err) = read_all(&mut state, &mut script, 256);
    state.close(&mut script, &mut Counter(9));
    (err, got, client_frames(&script.output))
}

fn close_code(frames: &[(u8, Vec<u8>)]) -> Option<u16> {
    let (_, payload) = frames.iter().find(|(first, _)| *first == 0x88)?;
    Some(u16::from_be_bytes([payload[0], payload[1]]))
}

#[test]
fn a_text_frame_fails_with_1003() {
    let mut input = binary(&CONNACK);
    input.extend(frame(0x81, b"{}"));
    let (err, got, frames) = fails_with(input, 1024);
    assert_eq!(err, Error::WsTextFrame);
    assert_eq!(got, CONNACK, "the data before it is delivered");
    assert_eq!(close_code(&frames), Some(CLOSE_UNSUPPORTED));
}

#[test]
fn a_frame_larger_than_the_receive_buffer_fails_with_1009() {
    let (err, _, frames) = fails_with(binary(&[0u8; 300]), 299);
    assert_eq!(err, Error::WsFrameTooLarge);
    assert_eq!(close_code(&frames), Some(CLOSE_TOO_BIG));
    let (err, got, _) = fails_with(binary(&[0u8; 300]), 300);
    assert_eq!((err, got.len()), (Error::ConnectionClosed, 300));
}

#[test]
fn a_masked_frame_fails_with_1002() {
    let (err, _, frames) = fails_with(vec![0x82, 0x84, 1, 2, 3, 4, 0x21, 2, 3, 4], 1024);
    assert_eq!(err, Error::WsMaskedFrame);
    assert_eq!(close_code(&frames), Some(CLOSE_PROTOCOL));
}

#[test]
fn framing_errors_fail_with_1002() {
    for bad in [
        vec![0xc2, 0],                                   // RSV1
        vec![0x83, 0],                                   // reserved opcode
        vec![0x80, 0],                                   // continuation with nothing to continue
        vec![0x09, 0],                                   // fragmented ping
        frame(0x89, &[0u8; 126]),                        // long ping
        [frame(0x02, b"a"), frame(0x82, b"b")].concat(), // new message mid-message
        frame(0x88, &[3]),                               // a one-byte close
    ] {
        let (err, _, frames) = fails_with(bad.clone(), 1024);
        assert_eq!(err, Error::WsProtocol, "{bad:?}");
        assert_eq!(close_code(&frames), Some(CLOSE_PROTOCOL), "{bad:?}");
    }
}

#[test]
fn a_close_between_packets_is_a_closed_connection_and_is_echoed() {
    let mut input = binary(&CONNACK);
    input.extend(frame(0x88, &1001u16.to_be_bytes()));
    input.extend(binary(&PUBLISH)); // after the close: ignored
    let (err, got, frames) = fails_with(input, 1024);
    assert_eq!(err, Error::ConnectionClosed);
    assert_eq!(got, CONNACK);
    assert_eq!(frames, vec![(0x88, 1001u16.to_be_bytes().to_vec())]);
}

#[test]
fn a_close_mid_packet_is_named() {
    let mut input = binary(&[&CONNACK[..], &PUBLISH[..4]].concat());
    input.extend(frame(0x88, &1000u16.to_be_bytes()));
    let (err, got, frames) = fails_with(input, 1024);
    assert_eq!(err, Error::WsClosedMidPacket);
    assert_eq!(got.len(), 8);
    assert_eq!(close_code(&frames), Some(1000));
}

#[test]
fn our_close_is_normal_and_waits_for_the_servers() {
    let mut script = Script::new(frame(0x88, &1000u16.to_be_bytes()));
    let mut state = WsState::new(1024);
    state.close(&mut script, &mut Counter(0));
    assert_eq!(
        client_frames(&script.output),
        vec![(0x88, 1000u16.to_be_bytes().to_vec())]
    );
    assert_eq!(script.at, script.input.len(), "the server's close was read");
    let mut buf = [0u8; 8];
    assert!(state
        .read(&mut script, &mut Counter(0), &mut buf, 0)
        .is_err());
}

/// The upgrade against a scripted answer.
fn upgrade_with(answer: impl Fn(&str) -> String) -> Result<WsState, Error> {
    // The key the handshake will send: Counter(0)'s first 16 bytes.
    let mut raw = [0u8; 16];
    Counter(0).fill(&mut raw).unwrap();
    let key = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(raw)
    };
    let accept =
        String::from_utf8(accept_for(key.as_bytes().try_into().unwrap()).to_vec()).unwrap();
    let mut script = Script::new(answer(&accept).into_bytes());
    let up = Upgrade {
        host: "broker",
        port: 8080,
        tls: false,
        path: "/mqtt",
        headers: "Authorization: Bearer x\n",
    };
    let mut work = [0u8; 1024];
    let result = handshake(
        &mut script,
        &mut super::super::StdClock::default(),
        &mut Counter(0),
        &up,
        &mut work,
        1024,
        1000,
    );
    let request = String::from_utf8(script.output.clone()).unwrap();
    assert!(request.starts_with("GET /mqtt HTTP/1.1\r\nHost: broker:8080\r\n"));
    assert!(request.contains(&format!("\r\nSec-WebSocket-Key: {key}\r\n")));
    assert!(request.contains("\r\nSec-WebSocket-Protocol: mqtt\r\n"));
    assert!(request.ends_with("\r\nAuthorization: Bearer x\r\n\r\n"));
    result
}

fn good(accept: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
    )
}

#[test]
fn the_upgrade_checks_the_answer() {
    assert!(upgrade_with(good).is_ok());
    let err = |answer: &dyn Fn(&str) -> String| upgrade_with(answer).err();
    assert_eq!(
        err(&|_| "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into()),
        Some(Error::WsUpgradeRefused)
    );
    assert_eq!(
        err(&|a| good(a).replace("Sec-WebSocket-Accept", "X-Accept")),
        Some(Error::WsBadAccept)
    );
    assert_eq!(
        err(&|a| good(&format!(
            "{}{}",
            if a.starts_with('A') { 'B' } else { 'A' },
            &a[1..]
        ))),
        Some(Error::WsBadAccept)
    );
    assert_eq!(
        err(&|a| good(a).replace("Sec-WebSocket-Protocol: mqtt\r\n", "")),
        Some(Error::WsNoSubprotocol)
    );
    assert_eq!(
        err(&|a| good(a).replace(": mqtt", ": mqttv3.1")),
        Some(Error::WsNoSubprotocol)
    );
    assert_eq!(
        err(&|a| good(a).replace("Upgrade: websocket\r\n", "")),
        Some(Error::WsBadHandshake)
    );
    assert_eq!(
        err(&|_| "SSH-2.0-OpenSSH\r\n\r\n".into()),
        Some(Error::WsBadHandshake)
    );
    // The answer and a ping in one read: the ping is answered later.
    let state = upgrade_with(|a| {
        let mut answer = good(a).into_bytes();
        answer.extend(frame(0x89, b""));
        unsafe { String::from_utf8_unchecked(answer) }
    });
    assert!(state.is_ok());
    // MQTT data before our CONNECT is not possible.
    let early = upgrade_with(|a| {
        let mut answer = good(a).into_bytes();
        answer.extend(binary(&CONNACK));
        unsafe { String::from_utf8_unchecked(answer) }
    });
    assert_eq!(early.err(), Some(Error::ProtocolViolation));
}

#[test]
fn requests_that_do_not_fit_are_refused() {
    let up = Upgrade {
        host: "::1",
        port: 80,
        tls: false,
        path: "/",
        headers: "",
    };
    let mut out = [0u8; 512];
    let len = write_request(&mut out, &up, &[b'k'; 24]).unwrap();
    assert!(out[..len].starts_with(b"GET / HTTP/1.1\r\nHost: [::1]\r\n"));
    assert_eq!(
        write_request(&mut out[..len - 1], &up, &[b'k'; 24]),
        Err(Error::BufferTooSmall)
    );
}

#[test]
fn headers_and_paths_are_checked() {
    assert!(check_headers("A: b\r\nC-d: e f\nX:").is_ok());
    for bad in [
        "no colon",
        ": empty name",
        "A b: c",
        "Host: x",
        "A: b\rc",
        "upgrade: x",
    ] {
        assert_eq!(check_headers(bad), Err(Error::InvalidArgument), "{bad}");
    }
    assert!(check_path("/mqtt?x=1").is_ok());
    for bad in ["mqtt", "/a b", "/\u{e9}", ""] {
        assert_eq!(check_path(bad), Err(Error::InvalidArgument), "{bad}");
    }
}
