//! Firmware transport and clock over C callbacks: the firmware owns the
//! network stack (lwIP, a modem, a UART) and the clock, as with Paho's
//! `Network` and `Timer`.
#![allow(non_camel_case_types)]

use super::{Clock, Transport};
use crate::time::Millis;
use crate::Error;
use core::ffi::{c_char, c_int, c_void};
use core::ptr::NonNull;

/// Opens the connection to `host` (NULL when the caller passed none, e.g. a
/// UART or a modem that already knows its peer) on `port`, within
/// `timeout_ms`. Returns 0 on success, a negative value on failure, or
/// EMQ_TRANSPORT_IN_PROGRESS when the connection is under way without
/// blocking: embermq then calls `connect` again (same host and port,
/// timeout 0 from `emq_client_poll`, the time left from a blocking
/// connect) until it returns 0 or fails, within `command_timeout_ms`.
pub type emq_transport_connect = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        host: *const c_char,
        port: u16,
        timeout_ms: u32,
    ) -> c_int,
>;

/// Writes up to `len` bytes of `buf`, waiting at most `timeout_ms` for room.
/// Returns the bytes written (a short write is fine), 0 when nothing could
/// be written in time, negative on error (the connection is then closed).
/// Paho's `Network.mqttwrite` contract.
pub type emq_transport_send = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        buf: *const u8,
        len: usize,
        timeout_ms: u32,
    ) -> c_int,
>;

/// Reads up to `len` bytes into `buf`, waiting at most `timeout_ms` for the
/// first byte (0: do not wait). Returns the bytes read, 0 when nothing
/// arrived in time, negative on error or when the peer closed the stream.
/// Paho's `Network.mqttread` contract.
pub type emq_transport_recv = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        buf: *mut u8,
        len: usize,
        timeout_ms: u32,
    ) -> c_int,
>;

/// Closes the connection. Called once per successful `connect`.
pub type emq_transport_close = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// A millisecond tick (e.g. `HAL_GetTick`, `esp_timer_get_time() / 1000`).
/// It may wrap around at 2^32: embermq extends it to 64 bits, provided it
/// is called at least once every 49 days (any poll does).
pub type emq_clock_ms = Option<unsafe extern "C" fn() -> u32>;

/// The firmware's byte stream, as C callbacks. `send` and `recv` are
/// required; `connect` and `close` may be NULL (a stream that is always
/// open). The struct must stay valid and unchanged while the client uses it.
/// The callbacks (and the clock) run inside embermq calls and must not
/// call embermq functions on the same client.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct emq_transport {
    /// Opens the stream; may be NULL.
    pub connect: emq_transport_connect,
    /// Writes bytes; required.
    pub send: emq_transport_send,
    /// Reads bytes; required.
    pub recv: emq_transport_recv,
    /// Closes the stream; may be NULL.
    pub close: emq_transport_close,
    /// Passed first to every callback.
    pub user_data: *mut c_void,
}

/// A [`Transport`] over an [`emq_transport`] the firmware keeps alive.
#[derive(Debug, Clone, Copy)]
pub struct CallbackTransport {
    callbacks: NonNull<emq_transport>,
}

impl CallbackTransport {
    /// Wraps `callbacks`, which must have `send` and `recv` set.
    ///
    /// # Safety
    /// `callbacks` must stay valid and unchanged for as long as this value
    /// (or a copy) is used, and its callbacks must honour their contracts.
    pub unsafe fn new(callbacks: NonNull<emq_transport>) -> Result<Self, Error> {
        // SAFETY: valid per the contract.
        let c = unsafe { callbacks.as_ref() };
        if c.send.is_none() || c.recv.is_none() {
            return Err(Error::InvalidArgument);
        }
        Ok(CallbackTransport { callbacks })
    }

    fn callbacks(&self) -> &emq_transport {
        // SAFETY: valid for this value's life (contract of `new`).
        unsafe { self.callbacks.as_ref() }
    }

    /// Opens the stream with the `connect` callback, if any: `Ok(true)`
    /// when open, `Ok(false)` while the callback says it is in progress.
    ///
    /// # Safety
    /// `host` must be NULL or NUL-terminated.
    pub unsafe fn open(
        &self,
        host: *const c_char,
        port: u16,
        timeout_ms: u32,
    ) -> Result<bool, Error> {
        let c = self.callbacks();
        let Some(connect) = c.connect else {
            return Ok(true);
        };
        // SAFETY: firmware callback; `host` is NULL or NUL-terminated (caller).
        match unsafe { connect(c.user_data, host, port, timeout_ms) } {
            0 => Ok(true),
            result if result == emq_transport_status::EMQ_TRANSPORT_IN_PROGRESS as c_int => {
                Ok(false)
            }
            _ => Err(Error::ConnectFailed),
        }
    }
}

/// What `emq_transport.connect` may return besides 0 and a negative error.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum emq_transport_status {
    /// Connected.
    EMQ_TRANSPORT_CONNECTED = 0,
    /// Under way: call again later.
    EMQ_TRANSPORT_IN_PROGRESS = 1,
}

/// The callbacks take an `int` count: ask for at most this much at once.
const MAX_CHUNK: usize = c_int::MAX as usize;

/// A callback's result: bytes moved (never more than asked), or an error.
fn moved(result: c_int, asked: usize) -> Result<usize, Error> {
    if result < 0 {
        return Err(Error::Io);
    }
    // A callback claiming more than it was given is clamped.
    Ok((result as usize).min(asked))
}

impl Transport for CallbackTransport {
    fn read(&mut self, buf: &mut [u8], timeout_ms: u32) -> Result<usize, Error> {
        let c = self.callbacks();
        let Some(recv) = c.recv else {
            return Err(Error::Io);
        };
        let len = buf.len().min(MAX_CHUNK);
        // SAFETY: firmware callback; `buf` is writable for `len` bytes.
        moved(
            unsafe { recv(c.user_data, buf.as_mut_ptr(), len, timeout_ms) },
            len,
        )
    }

    // Inlined into the client's flush: out of line, its frame sat between
    // the client's and the firmware's `send`, on the deepest path.
    #[inline(always)]
    fn write(&mut self, buf: &[u8], timeout_ms: u32) -> Result<usize, Error> {
        let c = self.callbacks();
        let Some(send) = c.send else {
            return Err(Error::Io);
        };
        let len = buf.len().min(MAX_CHUNK);
        // SAFETY: firmware callback; `buf` is readable for `len` bytes.
        moved(
            unsafe { send(c.user_data, buf.as_ptr(), len, timeout_ms) },
            len,
        )
    }

    fn close(&mut self) {
        let c = self.callbacks();
        if let Some(close) = c.close {
            // SAFETY: firmware callback.
            unsafe { close(c.user_data) };
        }
    }
}

/// A [`Clock`] over the firmware's 32-bit millisecond tick.
#[derive(Debug, Clone, Copy)]
pub struct CallbackClock {
    tick: unsafe extern "C" fn() -> u32,
}

impl CallbackClock {
    /// Wraps the firmware's tick function.
    pub fn new(tick: unsafe extern "C" fn() -> u32) -> Self {
        CallbackClock { tick }
    }
}

impl Clock for CallbackClock {
    fn now_ms(&mut self) -> Millis {
        // SAFETY: firmware callback without arguments.
        unsafe { (self.tick)() }
    }
}
