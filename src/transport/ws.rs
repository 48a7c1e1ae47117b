//! MQTT over WebSocket (RFC 6455), client side.
//!
//! The core is sans-IO and no_std, without allocation: [`handshake`] runs
//! the HTTP/1.1 upgrade over any [`Transport`] in a work buffer the caller
//! lends, and [`WsState`] frames what the client writes into masked binary
//! frames and unframes what the server sends in place, in the caller's
//! receive buffer, so no payload is ever buffered here (a host's network
//! thread may wait on the socket without missing bytes held inside).
//! Hosts wrap TCP or TLS in [`WsStream`]; firmware layers the same state
//! over its C transport callbacks.
//!
//! The HTTP answer is parsed by `httparse` and `Sec-WebSocket-Accept` is
//! checked with `sha1` and `base64`. embedded-websocket was not used: it
//! accepts a 101 answer without `Sec-WebSocket-Accept` and masked server
//! frames (both are failures RFC 6455 requires), and it pulls heapless 0.7
//! (with atomic-polyfill on our riscv32imc and thumbv6m targets), futures,
//! base64 0.13 and rand_core 0.6.

use super::{Clock, Transport};
use crate::time;
use crate::Error;

/// Default port of `ws://`.
pub const WS_PORT: u16 = 80;
/// Default port of `wss://`.
pub const WSS_PORT: u16 = 443;
/// Request path when a URI names none (the path Paho, EMQX and HiveMQ use).
pub const DEFAULT_PATH: &str = "/mqtt";

/// Appended to the key to prove the server read it (RFC 6455 section 1.3).
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// Header lines the upgrade answer may have (each costs a slot on the stack).
const MAX_ANSWER_HEADERS: usize = 16;
/// Largest frame we send: its length fits the 16-bit form (8-byte header).
const MAX_OUT_FRAME: usize = 0xffff;
/// Largest control frame payload.
const MAX_CONTROL: usize = 125;
/// How long `close` waits for the server's close frame, in reads of
/// `CLOSE_READ_MS` (a silent server costs at most their product).
const CLOSE_READS: u32 = 10;
const CLOSE_READ_MS: u32 = 50;
/// How long the last frame (our close) may take to go out.
const CLOSE_WRITE_MS: u32 = 200;

/// Close status codes we send.
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_PROTOCOL: u16 = 1002;
const CLOSE_UNSUPPORTED: u16 = 1003;
const CLOSE_TOO_BIG: u16 = 1009;

const OP_CONTINUATION: u8 = 0;
const OP_TEXT: u8 = 1;
const OP_BINARY: u8 = 2;
const OP_CLOSE: u8 = 8;
const OP_PING: u8 = 9;
const OP_PONG: u8 = 10;

/// A source of random bytes for the handshake key and masking keys (RFC
/// 6455 wants them unpredictable).
pub trait Random {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Error>;
}

/// What the upgrade request says.
#[derive(Debug, Clone, Copy)]
pub struct Upgrade<'a> {
    /// Host name or IP address (IPv6 without brackets), for `Host:`.
    pub host: &'a str,
    /// The port connected to; left out of `Host:` when it is the scheme's
    /// default.
    pub port: u16,
    /// `wss://`: the default port is 443, not 80.
    pub tls: bool,
    /// Request path, starting with `/`.
    pub path: &'a str,
    /// Extra header lines (`Name: value`), separated by CRLF or LF.
    pub headers: &'a str,
}

/// Checks a request path: `/` first, then visible ASCII only.
pub fn check_path(path: &str) -> Result<(), Error> {
    let visible = path.bytes().all(|b| b.is_ascii_graphic());
    if !path.starts_with('/') || !visible {
        return Err(Error::InvalidArgument);
    }
    Ok(())
}

/// Header names the upgrade sets itself.
const OWN_HEADERS: [&str; 6] = [
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
];

/// The non-empty lines of `headers`, without their line ends.
fn header_lines(headers: &str) -> impl Iterator<Item = &str> {
    headers
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.is_empty())
}

/// Checks extra header lines: each `Name: value`, a token for a name, no
/// stray CR or control characters, none of the headers the upgrade sets.
pub fn check_headers(headers: &str) -> Result<(), Error> {
    for line in header_lines(headers) {
        let (name, value) = line.split_once(':').ok_or(Error::InvalidArgument)?;
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if name.is_empty()
            || !name.bytes().all(token)
            || value.bytes().any(|b| b.is_ascii_control() && b != b'\t')
            || OWN_HEADERS.iter().any(|own| own.eq_ignore_ascii_case(name))
        {
            return Err(Error::InvalidArgument);
        }
    }
    Ok(())
}

/// Bytes into a caller's buffer; running out of room is remembered.
struct Out<'a> {
    buf: &'a mut [u8],
    len: usize,
    full: bool,
}

impl Out<'_> {
    fn put(&mut self, bytes: &[u8]) {
        match self.buf.get_mut(self.len..self.len + bytes.len()) {
            Some(room) => {
                room.copy_from_slice(bytes);
                self.len += bytes.len();
            }
            None => self.full = true,
        }
    }

    fn put_u16(&mut self, mut value: u16) {
        let mut digits = [0u8; 5];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        self.put(&digits[at..]);
    }
}

/// Writes the upgrade request for `key` into `out`; its length.
/// [`Error::BufferTooSmall`] when it does not fit.
pub fn write_request(out: &mut [u8], up: &Upgrade<'_>, key: &[u8; 24]) -> Result<usize, Error> {
    let mut o = Out {
        buf: out,
        len: 0,
        full: false,
    };
    o.put(b"GET ");
    o.put(up.path.as_bytes());
    o.put(b" HTTP/1.1\r\nHost: ");
    let ipv6 = up.host.contains(':');
    if ipv6 {
        o.put(b"[");
    }
    o.put(up.host.as_bytes());
    if ipv6 {
        o.put(b"]");
    }
    if up.port != if up.tls { WSS_PORT } else { WS_PORT } {
        o.put(b":");
        o.put_u16(up.port);
    }
    o.put(b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    o.put(key);
    o.put(b"\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n");
    for line in header_lines(up.headers) {
        o.put(line.as_bytes());
        o.put(b"\r\n");
    }
    o.put(b"\r\n");
    if o.full {
        return Err(Error::BufferTooSmall);
    }
    Ok(o.len)
}

/// The `Sec-WebSocket-Accept` a server must answer `key` with.
pub fn accept_for(key: &[u8; 24]) -> [u8; 28] {
    use base64::Engine as _;
    use sha1::Digest as _;
    let mut sha = sha1::Sha1::new();
    sha.update(key);
    sha.update(GUID);
    let digest = sha.finalize();
    let mut out = [0u8; 28];
    // 20 bytes are always 28 base64 characters.
    let _ = base64::engine::general_purpose::STANDARD.encode_slice(digest, &mut out);
    out
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes in base64.
fn new_key(rng: &mut impl Random) -> Result<[u8; 24], Error> {
    use base64::Engine as _;
    let mut raw = [0u8; 16];
    rng.fill(&mut raw)?;
    let mut key = [0u8; 24];
    let _ = base64::engine::general_purpose::STANDARD.encode_slice(raw, &mut key);
    Ok(key)
}

fn trimmed(value: &[u8]) -> &[u8] {
    value.trim_ascii()
}

/// Checks the server's answer to the upgrade for `key`. `Ok(None)`: not
/// all of it has arrived; `Ok(Some(len))`: the answer is good and takes
/// the first `len` bytes (frames may follow).
pub fn check_answer(data: &[u8], key: &[u8; 24]) -> Result<Option<usize>, Error> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_ANSWER_HEADERS];
    let mut answer = httparse::Response::new(&mut headers);
    let len = match answer.parse(data) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(Error::WsBadHandshake),
    };
    if answer.code != Some(101) {
        return Err(Error::WsUpgradeRefused);
    }
    let expected = accept_for(key);
    let (mut upgrade, mut connection, mut accept, mut mqtt) = (false, false, false, false);
    for header in answer.headers.iter() {
        let name = header.name;
        let value = trimmed(header.value);
        if name.eq_ignore_ascii_case("upgrade") {
            upgrade = value.eq_ignore_ascii_case(b"websocket");
        } else if name.eq_ignore_ascii_case("connection") {
            connection |= value
                .split(|&b| b == b',')
                .any(|token| trimmed(token).eq_ignore_ascii_case(b"upgrade"));
        } else if name.eq_ignore_ascii_case("sec-websocket-accept") {
            accept = value == expected;
        } else if name.eq_ignore_ascii_case("sec-websocket-protocol") {
            mqtt = value == b"mqtt";
        } else if name.eq_ignore_ascii_case("sec-websocket-extensions") && !value.is_empty() {
            // We offered none.
            return Err(Error::WsBadHandshake);
        }
    }
    if !upgrade || !connection {
        return Err(Error::WsBadHandshake);
    }
    if !accept {
        return Err(Error::WsBadAccept);
    }
    if !mqtt {
        return Err(Error::WsNoSubprotocol);
    }
    Ok(Some(len))
}

/// Runs the upgrade over `inner` within `timeout_ms`: the request is
/// written from `work` and the answer read into it, so `work` must hold
/// both (a few hundred bytes plus extra headers). `max_frame` bounds the
/// data frames the server may send (the receive buffer's size). The caller
/// closes `inner` on failure.
pub fn handshake<T: Transport, C: Clock, R: Random>(
    inner: &mut T,
    clock: &mut C,
    rng: &mut R,
    up: &Upgrade<'_>,
    work: &mut [u8],
    max_frame: usize,
    timeout_ms: u32,
) -> Result<WsState, Error> {
    let deadline = time::after(clock.now_ms(), timeout_ms);
    let key = new_key(rng)?;
    let len = write_request(work, up, &key)?;
    let mut sent = 0;
    // Bounded by the deadline.
    while sent < len {
        let left = time::until(clock.now_ms(), deadline);
        if left == 0 {
            return Err(Error::Timeout);
        }
        sent += inner.write(&work[sent..len], left)?;
    }
    let mut got = 0;
    // Bounded by the deadline and by the buffer filling up.
    loop {
        if got == work.len() {
            return Err(Error::WsBadHandshake);
        }
        let left = time::until(clock.now_ms(), deadline);
        if left == 0 {
            return Err(Error::Timeout);
        }
        got += inner.read(&mut work[got..], left)?;
        if let Some(end) = check_answer(&work[..got], &key)? {
            let mut state = WsState::new(max_frame);
            // Frames right behind the answer: control frames are handled
            // (a ping's pong goes out with the first write); MQTT data
            // cannot come before our CONNECT.
            let (data, result) = state.decode(&mut work[end..got]);
            result?;
            if data > 0 {
                return Err(Error::ProtocolViolation);
            }
            return Ok(state);
        }
    }
}

/// Where the decoder is in the server's byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Header,
    Data,
    Control,
}

/// Follows MQTT packet boundaries in the payload stream (fixed header and
/// remaining length only), to tell a close between packets from one in
/// the middle of a packet.
#[derive(Debug, Clone, Copy, Default)]
struct PacketTracker {
    /// 0: a packet's first byte is next; 1: its remaining length; 2: its body.
    phase: u8,
    shift: u8,
    left: u32,
}

impl PacketTracker {
    fn advance(&mut self, mut data: &[u8]) {
        while let Some((&byte, rest)) = data.split_first() {
            match self.phase {
                0 => {
                    (self.phase, self.shift, self.left) = (1, 0, 0);
                    data = rest;
                }
                1 => {
                    data = rest;
                    self.left |= u32::from(byte & 0x7f) << self.shift;
                    self.shift += 7;
                    // A fifth length byte is malformed: the client refuses
                    // the packet itself, this only stops counting.
                    if byte & 0x80 == 0 || self.shift >= 28 {
                        self.phase = if self.left == 0 { 0 } else { 2 };
                    }
                }
                _ => {
                    let take = data.len().min(self.left as usize);
                    self.left -= take as u32;
                    data = &data[take..];
                    if self.left == 0 {
                        self.phase = 0;
                    }
                }
            }
        }
    }

    fn mid_packet(&self) -> bool {
        self.phase != 0
    }
}

/// An outgoing control frame (pong or close), framed in place: payload at
/// 6, header and masking key in front of it when it is about to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ControlOut {
    Empty,
    /// Payload of `len` bytes waiting, unmasked.
    Queued {
        opcode: u8,
        len: u8,
    },
    /// Framed: `frame[start..end]` is still to be written.
    Sending {
        start: u8,
        end: u8,
        close: bool,
    },
}

/// The state of one WebSocket connection after the upgrade: what the
/// decoder has seen of the server's frames, the frame being sent, and
/// control frames to answer.
#[derive(Debug, Clone)]
pub struct WsState {
    /// Data frames longer than this are refused.
    max_frame: usize,
    // ---- receiving ----
    stage: Stage,
    header: [u8; 10],
    header_len: u8,
    fin: bool,
    opcode: u8,
    left: u64,
    /// Inside a binary message whose last frame is still to come.
    fragmented: bool,
    control: [u8; MAX_CONTROL],
    control_len: u8,
    packets: PacketTracker,
    /// Why the connection failed or ended; every later call gets it.
    failed: Option<Error>,
    /// The close status our close frame will carry.
    close_code: u16,
    /// The server sent its close frame.
    peer_closed: bool,
    // ---- sending ----
    /// Payload bytes of the data frame being sent still to go.
    tx_left: usize,
    tx_key: [u8; 4],
    /// Payload bytes of that frame already sent, mod 4 (masking offset).
    tx_pos: u8,
    tx_header: [u8; 8],
    tx_header_len: u8,
    tx_header_sent: u8,
    ctrl: ControlOut,
    ctrl_frame: [u8; 6 + MAX_CONTROL],
    /// A close frame to send after the control frame under way.
    close_pending: Option<u16>,
    close_sent: bool,
}

impl WsState {
    /// The state right after a successful upgrade.
    pub fn new(max_frame: usize) -> Self {
        WsState {
            max_frame,
            stage: Stage::Header,
            header: [0; 10],
            header_len: 0,
            fin: false,
            opcode: 0,
            left: 0,
            fragmented: false,
            control: [0; MAX_CONTROL],
            control_len: 0,
            packets: PacketTracker::default(),
            failed: None,
            close_code: CLOSE_NORMAL,
            peer_closed: false,
            tx_left: 0,
            tx_key: [0; 4],
            tx_pos: 0,
            tx_header: [0; 8],
            tx_header_len: 0,
            tx_header_sent: 0,
            ctrl: ControlOut::Empty,
            ctrl_frame: [0; 6 + MAX_CONTROL],
            close_pending: None,
            close_sent: false,
        }
    }

    /// Bytes the header being read needs in all (masked frames are refused
    /// at the second byte, so a mask key is never part of it).
    fn header_need(&self) -> usize {
        if self.header_len < 2 {
            return 2;
        }
        match self.header[1] & 0x7f {
            126 => 4,
            127 => 10,
            _ => 2,
        }
    }

    /// Checks the first two bytes of a frame.
    fn check_start(&mut self) -> Result<(), Error> {
        let [b0, b1, ..] = self.header;
        if b0 & 0x70 != 0 {
            return Err(Error::WsProtocol);
        }
        if b1 & 0x80 != 0 {
            return Err(Error::WsMaskedFrame);
        }
        self.fin = b0 & 0x80 != 0;
        self.opcode = b0 & 0x0f;
        match self.opcode {
            OP_TEXT => Err(Error::WsTextFrame),
            OP_CONTINUATION if !self.fragmented => Err(Error::WsProtocol),
            OP_BINARY if self.fragmented => Err(Error::WsProtocol),
            OP_CONTINUATION | OP_BINARY => Ok(()),
            OP_CLOSE | OP_PING | OP_PONG if self.fin && usize::from(b1 & 0x7f) <= MAX_CONTROL => {
                Ok(())
            }
            _ => Err(Error::WsProtocol),
        }
    }

    /// The header is complete: on to its payload.
    fn begin_payload(&mut self) -> Result<(), Error> {
        let h = &self.header;
        let len = match h[1] & 0x7f {
            126 => u64::from(u16::from_be_bytes([h[2], h[3]])),
            127 => {
                let len = u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]);
                if len >> 63 != 0 {
                    return Err(Error::WsProtocol);
                }
                len
            }
            short => u64::from(short),
        };
        self.header_len = 0;
        self.left = len;
        if self.opcode == OP_BINARY || self.opcode == OP_CONTINUATION {
            if len > self.max_frame as u64 {
                return Err(Error::WsFrameTooLarge);
            }
            self.fragmented = !self.fin;
            self.stage = Stage::Data;
        } else {
            self.control_len = 0;
            self.stage = Stage::Control;
        }
        Ok(())
    }

    /// A whole control frame has arrived.
    fn control_done(&mut self) -> Result<(), Error> {
        let payload = &self.control[..usize::from(self.control_len)];
        match self.opcode {
            OP_PING => {
                // A pong already going out is finished first; a queued one
                // is replaced, as only the latest ping needs an answer.
                if !matches!(self.ctrl, ControlOut::Sending { .. }) {
                    self.ctrl_frame[6..6 + payload.len()].copy_from_slice(payload);
                    self.ctrl = ControlOut::Queued {
                        opcode: OP_PONG,
                        len: self.control_len,
                    };
                }
                Ok(())
            }
            OP_CLOSE => {
                self.peer_closed = true;
                // Echo its status (none if it had none); a lone byte is no
                // status at all.
                let code = match payload {
                    [_] => CLOSE_PROTOCOL,
                    [high, low, ..] => u16::from_be_bytes([*high, *low]),
                    [] => 0,
                };
                if !self.close_sent {
                    self.close_pending = Some(code);
                }
                if payload.len() == 1 {
                    return Err(Error::WsProtocol);
                }
                Err(if self.packets.mid_packet() {
                    Error::WsClosedMidPacket
                } else {
                    Error::ConnectionClosed
                })
            }
            // Unsolicited pongs need nothing.
            _ => Ok(()),
        }
    }

    /// Decodes the server's bytes `buf` in place: the data payload they
    /// hold is moved to the front. Returns its length, and the error that
    /// stopped decoding (the payload before it is still good).
    fn decode(&mut self, buf: &mut [u8]) -> (usize, Result<(), Error>) {
        let (mut i, mut o) = (0, 0);
        while i < buf.len() {
            match self.stage {
                Stage::Header => {
                    let have = usize::from(self.header_len);
                    let take = (self.header_need() - have).min(buf.len() - i);
                    self.header[have..have + take].copy_from_slice(&buf[i..i + take]);
                    i += take;
                    self.header_len += take as u8;
                    if have < 2 && self.header_len >= 2 {
                        if let Err(err) = self.check_start() {
                            return (o, Err(err));
                        }
                    }
                    if usize::from(self.header_len) < self.header_need() {
                        continue;
                    }
                    if let Err(err) = self.begin_payload() {
                        return (o, Err(err));
                    }
                }
                Stage::Data => {
                    let take =
                        (buf.len() - i).min(usize::try_from(self.left).unwrap_or(usize::MAX));
                    buf.copy_within(i..i + take, o);
                    self.packets.advance(&buf[o..o + take]);
                    (i, o) = (i + take, o + take);
                    self.left -= take as u64;
                }
                Stage::Control => {
                    let have = usize::from(self.control_len);
                    let take = (buf.len() - i).min(self.left as usize);
                    self.control[have..have + take].copy_from_slice(&buf[i..i + take]);
                    i += take;
                    self.control_len += take as u8;
                    self.left -= take as u64;
                }
            }
            if self.stage != Stage::Header && self.left == 0 {
                let control = self.stage == Stage::Control;
                self.stage = Stage::Header;
                if control {
                    if let Err(err) = self.control_done() {
                        return (o, Err(err));
                    }
                }
            }
        }
        (o, Ok(()))
    }

    /// Records why the connection ends and the close status that says so.
    fn fail(&mut self, err: Error) {
        if self.failed.is_none() {
            self.failed = Some(err);
            self.close_code = match err {
                Error::WsTextFrame => CLOSE_UNSUPPORTED,
                Error::WsFrameTooLarge => CLOSE_TOO_BIG,
                Error::WsMaskedFrame | Error::WsProtocol => CLOSE_PROTOCOL,
                _ => self.close_code,
            };
        }
    }

    /// True between data frames, when a control frame may go out.
    fn between_frames(&self) -> bool {
        self.tx_left == 0 && self.tx_header_sent == self.tx_header_len
    }

    /// Writes the control frames that wait (a pong, a close), if no data
    /// frame is half sent. `Ok(true)`: none is left.
    fn flush_control<T: Transport, R: Random>(
        &mut self,
        inner: &mut T,
        rng: &mut R,
        timeout_ms: u32,
    ) -> Result<bool, Error> {
        if !self.between_frames() {
            return Ok(self.ctrl == ControlOut::Empty && self.close_pending.is_none());
        }
        // At most two frames: a pong, then a close.
        for _ in 0..2 {
            if self.ctrl == ControlOut::Empty {
                match self.close_pending.take() {
                    Some(code) if !self.close_sent => {
                        let len = if code == 0 { 0 } else { 2 };
                        self.ctrl_frame[6..8].copy_from_slice(&code.to_be_bytes());
                        self.ctrl = ControlOut::Queued {
                            opcode: OP_CLOSE,
                            len,
                        };
                    }
                    _ => return Ok(true),
                }
            }
            if let ControlOut::Queued { opcode, len } = self.ctrl {
                let mut key = [0u8; 4];
                rng.fill(&mut key)?;
                let payload = &mut self.ctrl_frame[6..6 + usize::from(len)];
                for (j, byte) in payload.iter_mut().enumerate() {
                    *byte ^= key[j & 3];
                }
                self.ctrl_frame[..2].copy_from_slice(&[0x80 | opcode, 0x80 | len]);
                self.ctrl_frame[2..6].copy_from_slice(&key);
                self.ctrl = ControlOut::Sending {
                    start: 0,
                    end: 6 + len,
                    close: opcode == OP_CLOSE,
                };
            }
            if let ControlOut::Sending { start, end, close } = self.ctrl {
                let frame = &self.ctrl_frame[usize::from(start)..usize::from(end)];
                let written = inner.write(frame, timeout_ms)?;
                if written < frame.len() {
                    self.ctrl = ControlOut::Sending {
                        start: start + written as u8,
                        end,
                        close,
                    };
                    return Ok(false);
                }
                self.ctrl = ControlOut::Empty;
                self.close_sent |= close;
            }
        }
        Ok(self.ctrl == ControlOut::Empty && self.close_pending.is_none())
    }

    /// Reads from `inner` into `buf` and unframes in place: the MQTT bytes
    /// that arrived, waiting at most `timeout_ms`. `Ok(0)` also when only
    /// control frames or frame headers came (the caller reads again). Pings
    /// are answered here.
    pub fn read<T: Transport, R: Random>(
        &mut self,
        inner: &mut T,
        rng: &mut R,
        buf: &mut [u8],
        timeout_ms: u32,
    ) -> Result<usize, Error> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        let n = match self
            .flush_control(inner, rng, 0)
            .and_then(|_| inner.read(buf, timeout_ms))
        {
            Ok(n) => n,
            Err(err) => {
                self.fail(err);
                return Err(err);
            }
        };
        let (data, result) = self.decode(&mut buf[..n]);
        if let Err(err) = result {
            self.fail(err);
        }
        let wait = if self.peer_closed { CLOSE_WRITE_MS } else { 0 };
        if let Err(err) = self.flush_control(inner, rng, wait) {
            self.fail(err);
        }
        match self.failed {
            Some(err) if data == 0 => Err(err),
            _ => Ok(data),
        }
    }

    /// Writes a prefix of `buf` as the payload of binary frames (one at a
    /// time, masked through `scratch`); returns its length, 0 when no room
    /// came within `timeout_ms`. The caller hands the unwritten rest again,
    /// as the Transport contract has it.
    pub fn write<T: Transport, R: Random>(
        &mut self,
        inner: &mut T,
        rng: &mut R,
        scratch: &mut [u8],
        buf: &[u8],
        timeout_ms: u32,
    ) -> Result<usize, Error> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        let flushed = self
            .flush_control(inner, rng, timeout_ms)
            .inspect_err(|&err| self.fail(err))?;
        // A control frame waits only between data frames.
        if (self.between_frames() && !flushed) || buf.is_empty() || scratch.is_empty() {
            return Ok(0);
        }
        if self.between_frames() {
            let len = buf.len().min(MAX_OUT_FRAME);
            rng.fill(&mut self.tx_key)?;
            let h = &mut self.tx_header;
            h[0] = 0x80 | OP_BINARY;
            let at = if len <= MAX_CONTROL {
                h[1] = 0x80 | len as u8;
                2
            } else {
                h[1] = 0x80 | 126;
                h[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            };
            h[at..at + 4].copy_from_slice(&self.tx_key);
            (self.tx_header_len, self.tx_header_sent) = (at as u8 + 4, 0);
            (self.tx_left, self.tx_pos) = (len, 0);
        }
        while self.tx_header_sent < self.tx_header_len {
            let rest =
                &self.tx_header[usize::from(self.tx_header_sent)..usize::from(self.tx_header_len)];
            let written = inner
                .write(rest, timeout_ms)
                .inspect_err(|&err| self.fail(err))?;
            if written == 0 {
                return Ok(0);
            }
            self.tx_header_sent += written as u8;
        }
        let mut done = 0;
        // Bounded by the frame's length; only the first chunk waits.
        while self.tx_left > 0 && done < buf.len() {
            let chunk = self.tx_left.min(buf.len() - done).min(scratch.len());
            for (j, (out, byte)) in scratch[..chunk].iter_mut().zip(&buf[done..]).enumerate() {
                *out = byte ^ self.tx_key[(usize::from(self.tx_pos) + j) & 3];
            }
            let wait = if done == 0 { timeout_ms } else { 0 };
            let written = match inner.write(&scratch[..chunk], wait) {
                Ok(written) => written.min(chunk),
                Err(err) => {
                    self.fail(err);
                    return Err(err);
                }
            };
            done += written;
            self.tx_left -= written;
            self.tx_pos = ((usize::from(self.tx_pos) + written) & 3) as u8;
            if written < chunk {
                break;
            }
        }
        Ok(done)
    }

    /// Ends the WebSocket: our close frame (normal closure, or the status
    /// of the failure), then, after a normal closure, the server's close
    /// frame is awaited briefly, as RFC 6455 wants the server to close the
    /// TCP connection first. The caller closes `inner` afterwards.
    pub fn close<T: Transport, R: Random>(&mut self, inner: &mut T, rng: &mut R) {
        let normal = self.failed.is_none();
        if !self.close_sent && !self.peer_closed {
            self.close_pending = Some(self.close_code);
        }
        self.fail(Error::ConnectionClosed);
        if !matches!(self.flush_control(inner, rng, CLOSE_WRITE_MS), Ok(true))
            || !normal
            || !self.close_sent
        {
            return;
        }
        let mut scrap = [0u8; 64];
        // Bounded: CLOSE_READS reads of at most CLOSE_READ_MS each.
        for _ in 0..CLOSE_READS {
            if self.peer_closed {
                break;
            }
            match inner.read(&mut scrap, CLOSE_READ_MS) {
                Ok(0) => {}
                Ok(n) => {
                    // Whatever the server still sends is dropped.
                    if self.decode(&mut scrap[..n]).1.is_err() && !self.peer_closed {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    }
}

/// Random bytes from the operating system (getrandom(2)), drawn in
/// batches so that a frame's masking key does not cost a system call.
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct OsRandom {
    pool: [u8; 256],
    used: usize,
}

#[cfg(feature = "std")]
impl Default for OsRandom {
    fn default() -> Self {
        OsRandom {
            pool: [0; 256],
            used: 256,
        }
    }
}

#[cfg(feature = "std")]
impl Random for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        for byte in buf {
            if self.used == self.pool.len() {
                let mut filled = 0;
                // Bounded: getrandom returns short only when interrupted.
                for _ in 0..16 {
                    let rest = &mut self.pool[filled..];
                    // SAFETY: writes at most `rest.len()` bytes into `rest`.
                    let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
                    if n > 0 {
                        filled += n as usize;
                    }
                    if filled == self.pool.len() {
                        break;
                    }
                }
                if filled < self.pool.len() {
                    return Err(Error::Io);
                }
                self.used = 0;
            }
            *byte = self.pool[self.used];
            self.used += 1;
        }
        Ok(())
    }
}

/// Masking chunk of a host connection: what one write hands the socket.
#[cfg(feature = "std")]
const HOST_SCRATCH: usize = 16 * 1024;

/// MQTT over WebSocket over a host transport (TCP, or TLS for `wss://`).
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct WsStream<T: Transport> {
    inner: T,
    state: WsState,
    rng: OsRandom,
    scratch: Box<[u8]>,
}

#[cfg(feature = "std")]
impl<T: Transport> WsStream<T> {
    /// Runs the upgrade over `inner` (closed on failure) within `timeout_ms`.
    pub fn connect(
        mut inner: T,
        up: &Upgrade<'_>,
        max_frame: usize,
        timeout_ms: u32,
    ) -> Result<Self, Error> {
        let mut rng = OsRandom::default();
        // The request, and room for an answer with a fair number of headers.
        let size = 4096 + up.path.len() + up.headers.len() + up.host.len();
        let mut work = vec![0u8; size];
        let mut clock = super::StdClock::default();
        let state = handshake(
            &mut inner, &mut clock, &mut rng, up, &mut work, max_frame, timeout_ms,
        )
        .inspect_err(|_| inner.close())?;
        Ok(WsStream {
            inner,
            state,
            rng,
            scratch: vec![0u8; HOST_SCRATCH].into_boxed_slice(),
        })
    }

    /// The transport underneath.
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

#[cfg(feature = "std")]
impl<T: Transport> Transport for WsStream<T> {
    fn read(&mut self, buf: &mut [u8], timeout_ms: u32) -> Result<usize, Error> {
        self.state
            .read(&mut self.inner, &mut self.rng, buf, timeout_ms)
    }

    fn write(&mut self, buf: &[u8], timeout_ms: u32) -> Result<usize, Error> {
        self.state.write(
            &mut self.inner,
            &mut self.rng,
            &mut self.scratch,
            buf,
            timeout_ms,
        )
    }

    fn close(&mut self) {
        self.state.close(&mut self.inner, &mut self.rng);
        self.inner.close();
    }
}

#[cfg(test)]
#[path = "ws_tests.rs"]
mod tests;
