//! TCP for hosts: name resolution (IPv4 and IPv6), connect/read/write
//! timeouts, and TCP_NODELAY on by default so a QoS 1 round trip does not
//! wait ~40 ms for Nagle and delayed ACK.

use super::Transport;
use crate::Error;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How to open a TCP connection.
#[derive(Debug, Clone, Copy)]
pub struct TcpOptions {
    /// Bound on establishing the connection, per address tried.
    pub connect_timeout_ms: u32,
    /// Disable Nagle's algorithm (recommended for MQTT).
    pub nodelay: bool,
}

impl Default for TcpOptions {
    fn default() -> Self {
        TcpOptions {
            connect_timeout_ms: 10_000,
            nodelay: true,
        }
    }
}

/// A TCP connection to a broker. The socket is non-blocking; waiting is
/// done with poll(2) only when the kernel has nothing (or no room) yet, so
/// the common case costs one syscall and a zero timeout never blocks.
#[derive(Debug)]
pub struct TcpTransport {
    stream: Option<TcpStream>,
}

fn io_error(err: &std::io::Error) -> Error {
    match err.kind() {
        ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::BrokenPipe
        | ErrorKind::UnexpectedEof => Error::ConnectionClosed,
        ErrorKind::TimedOut | ErrorKind::WouldBlock => Error::Timeout,
        _ => Error::Io,
    }
}

/// Sends the ACK for what was read now instead of delaying it. Called
/// before waiting for the peer: no reply of ours is coming to carry it, and
/// a broker whose Nagle algorithm holds its next small packet until that
/// ACK (mosquitto's default, `set_tcp_nodelay false`) would otherwise wait
/// out Linux's delayed ACK, up to 40 ms per exchange: QoS 2 at 4 KiB ran at
/// a tenth of its speed.
pub(crate) fn ack_now(fd: std::os::fd::RawFd) {
    #[cfg(target_os = "linux")]
    {
        let on: libc::c_int = 1;
        // SAFETY: a valid option value of the size given; a bad or closed
        // descriptor only makes the call fail, which changes nothing.
        let _ = unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                (&on as *const libc::c_int).cast(),
                core::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = fd;
}

/// Waits until `stream` is readable (or writable), at most `timeout_ms`.
/// `Ok(false)`: the time ran out (or a signal came).
fn wait_for(stream: &TcpStream, writable: bool, timeout_ms: u32) -> Result<bool, Error> {
    use std::os::fd::AsRawFd;
    if !writable {
        ack_now(stream.as_raw_fd());
    }
    let mut fd = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: if writable {
            libc::POLLOUT
        } else {
            libc::POLLIN
        },
        revents: 0,
    };
    let timeout = i32::try_from(timeout_ms).unwrap_or(i32::MAX);
    // SAFETY: one valid pollfd for the duration of the call.
    let ready = unsafe { libc::poll(&mut fd, 1, timeout) };
    if ready < 0 {
        let err = std::io::Error::last_os_error();
        return match err.kind() {
            ErrorKind::Interrupted => Ok(false),
            _ => Err(io_error(&err)),
        };
    }
    // Errors and hang-ups show as ready: the next read or write reports them.
    Ok(ready > 0)
}

impl TcpTransport {
    /// The socket's descriptor, for a caller waiting on several sources
    /// at once (the network thread); None once closed.
    pub fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        self.stream.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Resolves `host` (a name, an IPv4 address or an IPv6 address) and
    /// connects to the first address that accepts.
    pub fn connect(host: &str, port: u16, options: &TcpOptions) -> Result<Self, Error> {
        // Accept "[::1]" as well as "::1".
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs = (host, port)
            .to_socket_addrs()
            .map_err(|_| Error::NameNotResolved)?;
        let timeout = Duration::from_millis(u64::from(options.connect_timeout_ms.max(1)));
        let mut last_error = Error::NameNotResolved;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => {
                    stream
                        .set_nodelay(options.nodelay)
                        .map_err(|e| io_error(&e))?;
                    stream.set_nonblocking(true).map_err(|e| io_error(&e))?;
                    return Ok(TcpTransport {
                        stream: Some(stream),
                    });
                }
                Err(err) => {
                    last_error = match io_error(&err) {
                        Error::Timeout => Error::Timeout,
                        _ => Error::ConnectFailed,
                    }
                }
            }
        }
        Err(last_error)
    }

    fn stream(&mut self) -> Result<&mut TcpStream, Error> {
        self.stream.as_mut().ok_or(Error::ConnectionClosed)
    }
}

impl Transport for TcpTransport {
    fn read(&mut self, buf: &mut [u8], timeout_ms: u32) -> Result<usize, Error> {
        let stream = self.stream()?;
        let mut waited = false;
        loop {
            match stream.read(buf) {
                Ok(0) if !buf.is_empty() => return Err(Error::ConnectionClosed),
                Ok(n) => return Ok(n),
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) if err.kind() == ErrorKind::WouldBlock => {
                    if waited || timeout_ms == 0 || !wait_for(stream, false, timeout_ms)? {
                        return Ok(0);
                    }
                    waited = true;
                }
                Err(err) => return Err(io_error(&err)),
            }
        }
    }

    fn write(&mut self, buf: &[u8], timeout_ms: u32) -> Result<usize, Error> {
        let stream = self.stream()?;
        let mut waited = false;
        loop {
            match stream.write(buf) {
                Ok(0) if !buf.is_empty() => return Err(Error::ConnectionClosed),
                Ok(n) => return Ok(n),
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) if err.kind() == ErrorKind::WouldBlock => {
                    if waited || timeout_ms == 0 || !wait_for(stream, true, timeout_ms)? {
                        return Ok(0);
                    }
                    waited = true;
                }
                Err(err) => return Err(io_error(&err)),
            }
        }
    }

    fn close(&mut self) {
        if let Some(stream) = self.stream.take() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}
