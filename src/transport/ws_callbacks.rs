//! Firmware MQTT over WebSocket: the sans-IO WebSocket layer over the C
//! transport callbacks, its state in memory the firmware lends
//! (`emq_ws_options.buffer`), its masking keys from the firmware's random
//! source.

use super::callbacks::CallbackTransport;
use super::ws::{self, Random, Upgrade, WsState};
use super::{Clock, Transport};
use crate::Error;
use core::ffi::{c_int, c_void};
use core::ptr::NonNull;

/// The firmware's random source (`emq_random`, checked non-NULL).
#[derive(Debug, Clone, Copy)]
pub struct CallbackRandom {
    /// Fills `len` bytes at `buf`; 0 on success.
    pub fill: unsafe extern "C" fn(user_data: *mut c_void, buf: *mut u8, len: usize) -> c_int,
    /// Passed to `fill`.
    pub user_data: *mut c_void,
}

impl Random for CallbackRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        // SAFETY: firmware callback; `buf` is writable for its length.
        match unsafe { (self.fill)(self.user_data, buf.as_mut_ptr(), buf.len()) } {
            0.. => Ok(()),
            _ => Err(Error::Io),
        }
    }
}

/// A client's WebSocket layer, placed at the start of the firmware's
/// work memory; the rest of that memory is `work`.
#[derive(Debug)]
pub struct WsLink {
    state: WsState,
    random: CallbackRandom,
    /// Request path (the caller's string, checked).
    pub path: &'static str,
    /// Extra header lines (the caller's string, checked).
    pub headers: &'static str,
    /// The receive buffer's size: the longest frame accepted.
    max_frame: usize,
    work: NonNull<u8>,
    work_len: usize,
}

/// Smallest work memory after the `WsLink`: a request without extra
/// headers and a short answer.
pub const MIN_WORK: usize = 256;

impl WsLink {
    /// Places a `WsLink` in `buffer` (any alignment) and returns it, after
    /// checking `path` and `headers`.
    ///
    /// # Safety
    /// `buffer` must be writable for `len` bytes, and belong to the client
    /// for as long as the result is used.
    pub unsafe fn place(
        buffer: *mut u8,
        len: usize,
        random: CallbackRandom,
        path: &'static str,
        headers: &'static str,
        max_frame: usize,
    ) -> Result<NonNull<WsLink>, Error> {
        ws::check_path(path)?;
        ws::check_headers(headers)?;
        let start = buffer as usize;
        let align = core::mem::align_of::<WsLink>();
        let at = start.checked_add(align - 1).ok_or(Error::InvalidArgument)? / align * align;
        let used = at - start + core::mem::size_of::<WsLink>();
        if buffer.is_null() || len < used + MIN_WORK {
            return Err(Error::BufferTooSmall);
        }
        let link = at as *mut WsLink;
        // SAFETY: within the buffer and aligned (checked above), writable
        // per the contract; `work` is the rest of it.
        unsafe {
            link.write(WsLink {
                state: WsState::new(max_frame),
                random,
                path,
                headers,
                max_frame,
                work: NonNull::new_unchecked(buffer.add(used)),
                work_len: len - used,
            });
            Ok(NonNull::new_unchecked(link))
        }
    }

    /// Runs the upgrade over the freshly opened `cb`.
    pub fn handshake<C: Clock>(
        &mut self,
        cb: &mut CallbackTransport,
        clock: &mut C,
        up: &Upgrade<'_>,
        timeout_ms: u32,
    ) -> Result<(), Error> {
        let max_frame = self.max_frame;
        let mut random = self.random;
        let (work, work_len) = (self.work, self.work_len);
        // SAFETY: as in `work` (not borrowed through self, which the state
        // needs at the same time).
        let work = unsafe { core::slice::from_raw_parts_mut(work.as_ptr(), work_len) };
        self.state = ws::handshake(cb, clock, &mut random, up, work, max_frame, timeout_ms)?;
        Ok(())
    }
}

/// The firmware client's transport: the callbacks, with WebSocket framing
/// when the client has a `WsLink`. Copyable, as the callbacks are: the
/// WebSocket state stays in the `WsLink`, which only the task holding the
/// client (or its lock) touches.
#[derive(Debug, Clone, Copy)]
pub struct MaybeWs {
    /// The stream underneath.
    pub cb: CallbackTransport,
    /// The WebSocket layer, if this connection speaks WebSocket.
    pub ws: Option<NonNull<WsLink>>,
}

impl MaybeWs {
    fn link(&mut self) -> Option<&mut WsLink> {
        // SAFETY: the WsLink lives in the client's work memory for the
        // client's life, and is used by one task at a time (see above).
        self.ws.map(|mut link| unsafe { link.as_mut() })
    }
}

impl Transport for MaybeWs {
    fn read(&mut self, buf: &mut [u8], timeout_ms: u32) -> Result<usize, Error> {
        let mut cb = self.cb;
        match self.link() {
            Some(link) => {
                let mut random = link.random;
                link.state.read(&mut cb, &mut random, buf, timeout_ms)
            }
            None => cb.read(buf, timeout_ms),
        }
    }

    fn write(&mut self, buf: &[u8], timeout_ms: u32) -> Result<usize, Error> {
        let mut cb = self.cb;
        match self.link() {
            Some(link) => {
                let mut random = link.random;
                let (work, work_len) = (link.work, link.work_len);
                // SAFETY: as in `WsLink::work`.
                let scratch = unsafe { core::slice::from_raw_parts_mut(work.as_ptr(), work_len) };
                link.state
                    .write(&mut cb, &mut random, scratch, buf, timeout_ms)
            }
            None => cb.write(buf, timeout_ms),
        }
    }

    fn close(&mut self) {
        let mut cb = self.cb;
        if let Some(link) = self.link() {
            let mut random = link.random;
            link.state.close(&mut cb, &mut random);
        }
        cb.close();
    }
}
