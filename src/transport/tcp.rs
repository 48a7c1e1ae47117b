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

/// A TCP connection to a broker.
#[derive(Debug)]
pub struct TcpTransport {
    stream: Option<TcpStream>,
    /// The socket timeouts currently set, so they are changed (one syscall)
    /// only when a caller asks for a different one.
    read_timeout_ms: u32,
    write_timeout_ms: u32,
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

impl TcpTransport {
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
                    return Ok(TcpTransport {
                        stream: Some(stream),
                        read_timeout_ms: 0,
                        write_timeout_ms: 0,
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
        // A zero timeout means "do not wait"; the socket API spells that
        // as non-blocking, which std cannot express as a read timeout.
        let wanted = timeout_ms.max(1);
        if wanted != self.read_timeout_ms {
            let duration = Duration::from_millis(u64::from(wanted));
            self.stream()?
                .set_read_timeout(Some(duration))
                .map_err(|e| io_error(&e))?;
            self.read_timeout_ms = wanted;
        }
        match self.stream()?.read(buf) {
            Ok(0) if !buf.is_empty() => Err(Error::ConnectionClosed),
            Ok(n) => Ok(n),
            Err(err) => match err.kind() {
                ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted => Ok(0),
                _ => Err(io_error(&err)),
            },
        }
    }

    fn write(&mut self, buf: &[u8], timeout_ms: u32) -> Result<usize, Error> {
        let wanted = timeout_ms.max(1);
        if wanted != self.write_timeout_ms {
            let duration = Duration::from_millis(u64::from(wanted));
            self.stream()?
                .set_write_timeout(Some(duration))
                .map_err(|e| io_error(&e))?;
            self.write_timeout_ms = wanted;
        }
        match self.stream()?.write(buf) {
            Ok(0) if !buf.is_empty() => Err(Error::ConnectionClosed),
            Ok(n) => Ok(n),
            Err(err) => match err.kind() {
                ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted => Ok(0),
                _ => Err(io_error(&err)),
            },
        }
    }

    fn close(&mut self) {
        if let Some(stream) = self.stream.take() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}
