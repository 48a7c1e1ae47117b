//! Moving bytes. The client drives any [`Transport`]: TCP on hosts
//! (`tcp::TcpTransport`), C callbacks on firmware (`callbacks`), either
//! one under WebSocket framing (`ws`).

use crate::time::Millis;
use crate::Error;

#[cfg(not(feature = "std"))]
pub mod callbacks;
#[cfg(feature = "std")]
pub mod tcp;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(feature = "std")]
pub mod uri;
#[cfg(feature = "websocket")]
pub mod ws;
#[cfg(all(feature = "websocket", not(feature = "std")))]
pub mod ws_callbacks;

/// A connected byte stream.
pub trait Transport {
    /// Reads what has arrived into `buf`, waiting at most `timeout_ms`
    /// (0: do not wait). `Ok(0)` means nothing arrived in time;
    /// [`Error::ConnectionClosed`] means the peer closed the stream.
    fn read(&mut self, buf: &mut [u8], timeout_ms: u32) -> Result<usize, Error>;

    /// Writes a prefix of `buf`, waiting at most `timeout_ms` for room, and
    /// returns its length. `Ok(0)` means no room came in time.
    fn write(&mut self, buf: &[u8], timeout_ms: u32) -> Result<usize, Error>;

    /// Closes the stream. Further reads and writes fail.
    fn close(&mut self);
}

/// A monotonic millisecond clock (wrapping at 32 bits: see [`crate::time`]).
pub trait Clock {
    /// Milliseconds since an arbitrary fixed start, modulo 2^32.
    fn now_ms(&mut self) -> Millis;
}

/// The host's monotonic clock.
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy)]
pub struct StdClock {
    start: std::time::Instant,
}

#[cfg(feature = "std")]
impl Default for StdClock {
    fn default() -> Self {
        StdClock {
            start: std::time::Instant::now(),
        }
    }
}

#[cfg(feature = "std")]
impl Clock for StdClock {
    #[cfg(unix)]
    fn now_ms(&mut self) -> Millis {
        // CLOCK_MONOTONIC read directly (through the vDSO, no syscall):
        // `Instant::elapsed` cost every publish about 100 instructions
        // more. Truncated: the clock wraps, as a firmware tick does.
        let _ = self.start;
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid timespec to write; CLOCK_MONOTONIC always exists.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
        (now.tv_sec as Millis)
            .wrapping_mul(1000)
            .wrapping_add((now.tv_nsec / 1_000_000) as Millis)
    }

    #[cfg(not(unix))]
    fn now_ms(&mut self) -> Millis {
        // Truncated: the clock wraps, as a firmware tick does.
        self.start.elapsed().as_millis() as Millis
    }
}

/// The host client's transport: plain TCP or TLS over TCP.
#[cfg(feature = "std")]
#[derive(Debug)]
pub enum HostTransport {
    /// MQTT over plain TCP.
    Tcp(tcp::TcpTransport),
    /// MQTT over TLS (boxed: rustls' connection state is large).
    #[cfg(feature = "tls")]
    Tls(Box<tls::TlsTransport>),
    /// MQTT over WebSocket, over TCP (`ws://`) or TLS (`wss://`).
    Ws(Box<ws::WsStream<HostTransport>>),
}

#[cfg(feature = "std")]
impl HostTransport {
    /// The socket's descriptor, to wait for it together with other sources.
    pub fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        match self {
            HostTransport::Tcp(tcp) => tcp.raw_fd(),
            #[cfg(feature = "tls")]
            HostTransport::Tls(tls) => tls.raw_fd(),
            HostTransport::Ws(ws) => ws.inner().raw_fd(),
        }
    }
}

#[cfg(feature = "std")]
impl Transport for HostTransport {
    fn read(&mut self, buf: &mut [u8], timeout_ms: u32) -> Result<usize, Error> {
        match self {
            HostTransport::Tcp(tcp) => tcp.read(buf, timeout_ms),
            #[cfg(feature = "tls")]
            HostTransport::Tls(tls) => tls.read(buf, timeout_ms),
            HostTransport::Ws(ws) => ws.read(buf, timeout_ms),
        }
    }

    fn write(&mut self, buf: &[u8], timeout_ms: u32) -> Result<usize, Error> {
        match self {
            HostTransport::Tcp(tcp) => tcp.write(buf, timeout_ms),
            #[cfg(feature = "tls")]
            HostTransport::Tls(tls) => tls.write(buf, timeout_ms),
            HostTransport::Ws(ws) => ws.write(buf, timeout_ms),
        }
    }

    fn close(&mut self) {
        match self {
            HostTransport::Tcp(tcp) => tcp.close(),
            #[cfg(feature = "tls")]
            HostTransport::Tls(tls) => tls.close(),
            HostTransport::Ws(ws) => ws.close(),
        }
    }
}
