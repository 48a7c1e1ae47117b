//! The background network thread: `emq_client_start` / `emq_client_stop`,
//! and which loop (caller-driven poll or the thread) drives a client.

use super::*;
use crate::ffi::client::{connect_to, disconnect, handle, reconnect_turn, run_events, Turn};
use crate::session::State;
use std::cell::Cell;
use std::os::fd::RawFd;
use std::sync::atomic::AtomicU8;
use std::thread::JoinHandle;
use std::time::Instant;

/// Nobody has driven the client yet.
const DRIVER_NONE: u8 = 0;
/// `emq_client_poll` drives it.
const DRIVER_POLL: u8 = 1;
/// The network thread drives it.
const DRIVER_THREAD: u8 = 2;

/// Longest the thread sleeps with nothing to do; it wakes early for the
/// socket, a keepalive deadline, or a call that needs it.
const IDLE_MS: u32 = 1_000;

thread_local! {
    /// On a network thread: the address of the client it drives.
    static NETWORK_THREAD_OF: Cell<usize> = const { Cell::new(0) };
}

/// Which loop drives a client, and its network thread.
#[derive(Default)]
pub(super) struct Runner {
    driver: AtomicU8,
    /// Ask the thread to end after its current turn (or callback).
    stop: AtomicBool,
    /// Send DISCONNECT when the thread ends (stop) or not (free).
    disconnect_on_stop: AtomicBool,
    /// Make one connection attempt at once, whatever `auto_reconnect` says.
    connect_now: AtomicBool,
    /// A burst of publishes left bytes for this thread to write; it has
    /// been woken for them.
    flush_requested: AtomicBool,
    /// True from spawning the thread until it ends. An atomic, not the
    /// `thread` lock, because callbacks on the ending thread ask for it
    /// while stop holds that lock to join.
    alive: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Written to wake the thread from its wait; created at the first start.
    wake: Mutex<Option<WakePipe>>,
}

/// A non-blocking pipe whose read end the thread waits on with its socket.
struct WakePipe {
    read: RawFd,
    write: RawFd,
}

impl WakePipe {
    fn new() -> Option<WakePipe> {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        let made = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
        (made == 0).then_some(WakePipe {
            read: fds[0],
            write: fds[1],
        })
    }

    fn wake(&self) {
        // A full pipe already wakes the thread, so the result does not matter.
        // SAFETY: writes one byte from a valid buffer to our own descriptor.
        let _ = unsafe { libc::write(self.write, [1u8].as_ptr().cast(), 1) };
    }

    fn drain(&self) {
        let mut buf = [0u8; 64];
        // Bounded: the pipe holds at most a few wake-ups between turns.
        for _ in 0..16 {
            // SAFETY: reads into a valid buffer of that size from our own descriptor.
            let n = unsafe { libc::read(self.read, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
        }
    }
}

impl Drop for WakePipe {
    fn drop(&mut self) {
        // SAFETY: our own descriptors, closed once.
        unsafe {
            libc::close(self.read);
            libc::close(self.write);
        }
    }
}

impl emq_client {
    fn runner_lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
        mutex.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// True on this client's network thread.
    pub(super) fn on_network_thread(&self) -> bool {
        let me = self as *const emq_client as usize;
        NETWORK_THREAD_OF.with(|of| of.get() == me)
    }
}

/// Claims the client for `emq_client_poll`.
pub(super) fn claim_poll(c: &emq_client) -> Result<(), emq_err> {
    match c.runner.driver.compare_exchange(
        DRIVER_NONE,
        DRIVER_POLL,
        Ordering::SeqCst,
        Ordering::SeqCst,
    ) {
        Ok(_) | Err(DRIVER_POLL) => Ok(()),
        Err(_) => Err(EMQ_ERR_THREAD_DRIVEN),
    }
}

/// True while the network thread runs and has not been asked to stop.
pub(super) fn running(c: &emq_client) -> bool {
    c.runner.alive.load(Ordering::SeqCst) && !c.runner.stop.load(Ordering::SeqCst)
}

/// Asks the network thread to write what publishes left in the send
/// buffer: wakes it once per burst.
pub(super) fn request_flush(c: &emq_client) {
    if !c.runner.flush_requested.swap(true, Ordering::SeqCst) {
        wake(c);
    }
}

/// True when the running network thread has been asked for a connection
/// attempt it has not begun yet.
pub(super) fn connect_pending(c: &emq_client) -> bool {
    running(c) && c.runner.connect_now.load(Ordering::SeqCst)
}

/// True once the network thread has been asked to stop.
pub(super) fn stop_requested(c: &emq_client) -> bool {
    c.runner.stop.load(Ordering::SeqCst)
}

/// Wakes the network thread from its wait, if it runs.
pub(super) fn wake(c: &emq_client) {
    if let Some(pipe) = emq_client::runner_lock(&c.runner.wake).as_ref() {
        pipe.wake();
    }
}

/// Waits until `fd` is readable, `wake` is written to, or `ms` pass.
pub(super) fn wait_readable(fd: Option<RawFd>, wake: Option<RawFd>, ms: u32) {
    if let Some(fd) = fd.filter(|_| ms > 0) {
        crate::transport::tcp::ack_now(fd);
    }
    let mut fds = [fd, wake].map(|fd| libc::pollfd {
        fd: fd.unwrap_or(-1),
        events: libc::POLLIN,
        revents: 0,
    });
    let timeout = i32::try_from(ms).unwrap_or(i32::MAX);
    // Negative descriptors are ignored by poll(2); errors and signals just
    // end the wait early, and the caller's next turn finds out what happened.
    // SAFETY: two valid pollfd entries for the duration of the call.
    let _ = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
}

/// Waits as `wait_readable`, also waking for the client's wake pipe (once
/// the network thread has made it), which it then drains.
pub(super) fn wait_readable_or_woken(c: &emq_client, fd: Option<RawFd>, ms: u32) {
    if !c.on_network_thread() {
        return wait_readable(fd, None, ms);
    }
    let pipe = emq_client::runner_lock(&c.runner.wake);
    let wake_fd = pipe.as_ref().map(|pipe| pipe.read);
    drop(pipe);
    wait_readable(fd, wake_fd, ms);
    if let Some(pipe) = emq_client::runner_lock(&c.runner.wake).as_ref() {
        pipe.drain();
    }
}

/// Waits for the network thread to acknowledge `packet_id`.
pub(super) fn wait_for_thread(c: &emq_client, packet_id: u16, timeout_ms: u32) -> emq_err {
    let deadline = Instant::now() + Duration::from_millis(u64::from(timeout_ms));
    let mut core = c.core();
    // Bounded by the deadline.
    loop {
        if !core.sup.client_mut().is_pending(packet_id) {
            return EMQ_OK;
        }
        if core.sup.client().state() == State::Disconnected && !core.sup.reconnect().is_active() {
            return EMQ_ERR_NOT_CONNECTED;
        }
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return EMQ_ERR_TIMEOUT;
        };
        core = wait_for_progress(c, core, left.as_millis().min(u128::from(u32::MAX)) as u32);
    }
}

/// Asks the network thread to end and waits for it; `disconnect`: send
/// DISCONNECT first (stop) rather than leave the will armed (free).
pub(super) fn join(c: &emq_client, disconnect: bool) {
    let mut thread = emq_client::runner_lock(&c.runner.thread);
    let Some(handle) = thread.take() else {
        return;
    };
    c.runner
        .disconnect_on_stop
        .store(disconnect, Ordering::SeqCst);
    c.runner.stop.store(true, Ordering::SeqCst);
    wake(c);
    // The thread catches its own panics, so join only fails if it could
    // not run at all; either way it has ended.
    let _ = handle.join();
}

/// Starts the network thread: it connects (to the broker of the last
/// connect or `emq_client_set_server`, if not connected yet), keeps the
/// connection alive, receives, reconnects with `auto_reconnect`, and runs
/// every callback. API calls from any thread go on meanwhile, callbacks
/// included. A failed connection attempt is reported to `on_disconnect`
/// with its reason (a refusal to `on_connect`). Starting a running client
/// is EMQ_OK; a client driven by `emq_client_poll` gives
/// EMQ_ERR_POLL_DRIVEN; EMQ_ERR_THREAD_START if no thread could be made.
///
/// # Safety
/// `client` must be a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_start(client: *mut emq_client) -> emq_err {
    // SAFETY: contract forwarded.
    let c = match unsafe { handle(client) } {
        Ok(c) => c,
        Err(err) => return err,
    };
    if c.on_network_thread() {
        // Started again from one of its own callbacks: keep running.
        c.runner.stop.store(false, Ordering::SeqCst);
        return EMQ_OK;
    }
    match c.runner.driver.compare_exchange(
        DRIVER_NONE,
        DRIVER_THREAD,
        Ordering::SeqCst,
        Ordering::SeqCst,
    ) {
        Ok(_) | Err(DRIVER_THREAD) => {}
        Err(_) => return EMQ_ERR_POLL_DRIVEN,
    }
    guard(|| {
        let mut thread = emq_client::runner_lock(&c.runner.thread);
        if let Some(old) = thread.take() {
            if !old.is_finished() && !c.runner.stop.load(Ordering::SeqCst) {
                *thread = Some(old);
                return Ok(());
            }
            // Stopped from a callback, or stopping: let it finish first.
            let _ = old.join();
        }
        {
            let mut wake = emq_client::runner_lock(&c.runner.wake);
            if wake.is_none() {
                *wake = Some(WakePipe::new().ok_or(EMQ_ERR_THREAD_START)?);
            }
        }
        {
            let mut core = c.core();
            if core.sup.client().state() == State::Disconnected && core.target.get().is_some() {
                core.sup.request_connect();
                c.runner.connect_now.store(true, Ordering::SeqCst);
            }
        }
        c.runner.stop.store(false, Ordering::SeqCst);
        c.runner.disconnect_on_stop.store(true, Ordering::SeqCst);
        c.runner.alive.store(true, Ordering::SeqCst);
        let shared = SharedHandle(c as *const emq_client);
        let spawned = std::thread::Builder::new()
            .name("embermq".into())
            .spawn(move || {
                let shared = shared;
                // SAFETY: the handle outlives the thread: stop, free and
                // start join it before the handle can go away.
                let free = network_thread(unsafe { &*shared.0 });
                if free {
                    // SAFETY: a callback on this thread freed the handle;
                    // nothing else uses it (free is the last call).
                    unsafe { free_from_network_thread(shared.0.cast_mut()) };
                }
            })
            .map_err(|_| {
                c.runner.alive.store(false, Ordering::SeqCst);
                EMQ_ERR_THREAD_START
            })?;
        *thread = Some(spawned);
        Ok(())
    })
}

/// A client handle moved into its network thread.
struct SharedHandle(*const emq_client);

// SAFETY: everything in emq_client is behind locks or atomics (Core is
// Send), and the handle lives until the thread is joined.
unsafe impl Send for SharedHandle {}

/// Ends the network thread: it finishes the callback it is in, sends
/// DISCONNECT (`on_disconnect` gets EMQ_OK) and ends; stop returns once it
/// has. Inside one of this client's callbacks, stop returns at once and
/// the thread ends after the callback. Stopping a client that is not
/// running is EMQ_OK. The client stays usable: `emq_client_start` again
/// reconnects.
///
/// # Safety
/// `client` must be a live handle.
#[no_mangle]
pub unsafe extern "C" fn emq_client_stop(client: *mut emq_client) -> emq_err {
    // SAFETY: contract forwarded.
    let c = match unsafe { handle(client) } {
        Ok(c) => c,
        Err(err) => return err,
    };
    if c.on_network_thread() {
        c.runner.disconnect_on_stop.store(true, Ordering::SeqCst);
        c.runner.stop.store(true, Ordering::SeqCst);
        return EMQ_OK;
    }
    guard(|| {
        join(c, true);
        Ok(())
    })
}

/// Sets the broker the network thread connects to, by URI as for
/// `emq_client_connect_uri`, without connecting now: `emq_client_start`
/// connects (at once, if the thread already runs and is disconnected).
///
/// # Safety
/// `client` must be a live handle; `uri` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn emq_client_set_server(
    client: *mut emq_client,
    uri: *const c_char,
) -> emq_err {
    // SAFETY: contract forwarded.
    let result = unsafe { set_target(client, uri) };
    // SAFETY: the call above checked the handle.
    if let (EMQ_OK, Ok(c)) = (result, unsafe { crate::ffi::client::handle(client) }) {
        c.runner.connect_now.store(true, Ordering::SeqCst);
        wake(c);
    }
    result
}

/// Frees a handle whose callback on its own network thread asked for it,
/// once that callback has returned: the thread detaches itself (nobody
/// joins it) and ends.
///
/// # Safety
/// `client` must be the live handle this thread drove, used by nobody else.
unsafe fn free_from_network_thread(client: *mut emq_client) {
    {
        // SAFETY: live per the contract.
        let c = unsafe { &*client };
        // Dropping our own JoinHandle detaches this thread.
        drop(emq_client::runner_lock(&c.runner.thread).take());
        c.runner.alive.store(false, Ordering::SeqCst);
    }
    // SAFETY: a live handle from Box::into_raw, freed once (contract).
    let owned = unsafe { Box::from_raw(client) };
    owned.core().sup.client_mut().abort();
}

/// The network thread's body. Returns true when a callback asked to free
/// the handle (the caller frees it once this frame is gone).
fn network_thread(c: &emq_client) -> bool {
    let me = c as *const emq_client as usize;
    NETWORK_THREAD_OF.with(|of| of.set(me));
    let wake_fd = emq_client::runner_lock(&c.runner.wake)
        .as_ref()
        .map(|pipe| pipe.read);
    // Runs until stopped; every turn is bounded by IDLE_MS.
    while !stop_requested(c) {
        if c.free_requested.load(Ordering::SeqCst) {
            return true;
        }
        let (fd, wait_ms) = match catch_unwind(AssertUnwindSafe(|| network_turn(c))) {
            Ok(wait) => wait,
            Err(_) => {
                // A bug contained: drop the connection and carry on.
                c.core().sup.client_mut().abort();
                (None, IDLE_MS)
            }
        };
        c.progress.notify_all();
        if stop_requested(c) {
            break;
        }
        if wait_ms > 0 {
            wait_readable(fd, wake_fd, wait_ms);
            if let Some(pipe) = emq_client::runner_lock(&c.runner.wake).as_ref() {
                pipe.drain();
            }
        }
    }
    if !c.runner.disconnect_on_stop.load(Ordering::SeqCst) {
        // Freed without DISCONNECT: still write what publishes left for
        // this thread, as they would have been had it gone on.
        let _link = c.link();
        let _ = guard(|| c.core().sup.client_mut().flush().map_err(emq_err::from));
    }
    if c.runner.disconnect_on_stop.load(Ordering::SeqCst) {
        let _link = c.link();
        let _ = guard(|| {
            let connected = c.core().sup.client().state() != State::Disconnected;
            if connected {
                disconnect(c);
            } else {
                c.core().sup.stop_reconnecting();
            }
            Ok(())
        });
    }
    c.runner.alive.store(false, Ordering::SeqCst);
    c.progress.notify_all();
    false
}

/// One turn: connect or reconnect when due, else dispatch what arrived.
/// Returns what to wait on next and for how long.
fn network_turn(c: &emq_client) -> (Option<RawFd>, u32) {
    let mut link = c.link();
    if c.runner.connect_now.load(Ordering::SeqCst) {
        let target = {
            let core = c.core();
            let wanted =
                core.sup.client().state() == State::Disconnected && core.target.get().is_some();
            // Hand "connecting" over from the request to the attempt
            // without a gap `emq_client_state` could see.
            c.connecting.store(wanted, Ordering::SeqCst);
            c.runner.connect_now.store(false, Ordering::SeqCst);
            wanted
        };
        if target {
            let result = connect_to(c, &mut link, None, None);
            report_failed_attempt(c, result);
            return (None, 0);
        }
    }
    match reconnect_turn(c, &mut link) {
        Turn::Attempted(result) => {
            report_failed_attempt(c, result);
            return (None, 0);
        }
        Turn::Wait(ms) => return (None, ms.min(IDLE_MS)),
        Turn::Idle => {}
    }
    if c.core().sup.client().state() == State::Disconnected {
        return (None, IDLE_MS);
    }
    // Cleared before run_events writes: a publish after this asks again.
    c.runner.flush_requested.store(false, Ordering::SeqCst);
    let _ = run_events(c, 0);
    let mut core = c.core();
    let client = core.sup.client_mut();
    if client.state() == State::Disconnected {
        return (None, 0);
    }
    let now = client.now_ms();
    let wait = client
        .next_deadline()
        .map_or(IDLE_MS, |at| crate::time::until(now, at).min(IDLE_MS));
    let fd = client.transport().and_then(HostTransport::raw_fd);
    (fd, wait)
}

/// Tells `on_disconnect` why an attempt of the thread's failed (refusals
/// went to `on_connect` already).
fn report_failed_attempt(c: &emq_client, result: emq_err) {
    if result == EMQ_OK || result == EMQ_ERR_CONNECTION_REFUSED {
        return;
    }
    let cb = c.core().callback(|cb| cb.on_disconnect);
    if let Some((cb, user_data)) = cb {
        // SAFETY: user callback with valid arguments.
        in_callback(c, || unsafe { cb(user_data, c.as_ptr(), result) });
    }
}
