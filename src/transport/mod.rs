//! Moving bytes. The client drives any [`Transport`]: TCP on hosts
//! ([`tcp::TcpTransport`]), C callbacks on firmware.

use crate::Error;

#[cfg(feature = "std")]
pub mod tcp;

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

/// A monotonic millisecond clock.
pub trait Clock {
    /// Milliseconds since an arbitrary fixed start; never goes backwards.
    fn now_ms(&mut self) -> u64;
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
    fn now_ms(&mut self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }
}
