//! The background network thread and calls from many threads, through the
//! C API called from Rust against mosquitto. Sized to run under
//! ThreadSanitizer too (`scripts/tsan.sh`), which checks every access these
//! tests make for data races.

mod support;

use embermq::ffi::*;
use std::ffi::{c_void, CString};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::proxy::FaultProxy;
use support::Broker;

/// What the callbacks saw; shared with the network thread.
#[derive(Default)]
struct Seen {
    connects: AtomicUsize,
    disconnects: AtomicUsize,
    subscribed: AtomicUsize,
    published: AtomicUsize,
    /// Payloads in delivery order.
    messages: Mutex<Vec<Vec<u8>>>,
    /// Echo: where on_message publishes what it receives (empty: no echo).
    echo_topic: Mutex<Option<CString>>,
    echo_failures: AtomicUsize,
    /// Stop from inside the callback after this many messages (0: never).
    stop_after: AtomicUsize,
    stop_result: AtomicU32,
}

unsafe extern "C" fn on_connect(ud: *mut c_void, _: *mut emq_client, _: bool, code: u8) {
    if code == 0 {
        unsafe { &*(ud as *const Seen) }
            .connects
            .fetch_add(1, Ordering::SeqCst);
    }
}

unsafe extern "C" fn on_disconnect(ud: *mut c_void, _: *mut emq_client, _: emq_err) {
    unsafe { &*(ud as *const Seen) }
        .disconnects
        .fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn on_subscribed(
    ud: *mut c_void,
    _: *mut emq_client,
    _: u16,
    _: *const u8,
    _: usize,
) {
    unsafe { &*(ud as *const Seen) }
        .subscribed
        .fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn on_published(ud: *mut c_void, _: *mut emq_client, _: u16) {
    unsafe { &*(ud as *const Seen) }
        .published
        .fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn on_message(ud: *mut c_void, client: *mut emq_client, m: *const emq_message) {
    let seen = unsafe { &*(ud as *const Seen) };
    let m = unsafe { &*m };
    let payload = unsafe { std::slice::from_raw_parts(m.payload, m.payload_len) }.to_vec();
    let count = {
        let mut messages = seen.messages.lock().unwrap();
        messages.push(payload.clone());
        messages.len()
    };
    if let Some(topic) = seen.echo_topic.lock().unwrap().as_ref() {
        let mut id = 0;
        let sent = unsafe {
            emq_client_publish(
                client,
                topic.as_ptr(),
                payload.as_ptr(),
                payload.len(),
                2,
                false,
                &mut id,
            )
        };
        if sent != emq_err::EMQ_OK || id == 0 {
            seen.echo_failures.fetch_add(1, Ordering::SeqCst);
        }
    }
    if seen.stop_after.load(Ordering::SeqCst) == count {
        let stopped = unsafe { emq_client_stop(client) };
        seen.stop_result.store(stopped as u32, Ordering::SeqCst);
    }
}

/// A client handle shared by the test's threads.
struct Shared(*mut emq_client);
// SAFETY: the C API allows every call from any thread.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// The handle (a method, so closures capture the whole `Shared`).
    fn ptr(&self) -> *mut emq_client {
        self.0
    }
}

struct ThreadedClient {
    ptr: *mut emq_client,
    seen: Box<Seen>,
    _id: CString,
}

impl ThreadedClient {
    fn new(name: &str, port: u16, outbox: u16) -> ThreadedClient {
        let id = CString::new(format!("{name}-{}", std::process::id())).unwrap();
        let mut options = default_options();
        options.client_id = id.as_ptr();
        options.outbox_max_messages = outbox;
        options.store_size = usize::from(outbox) * 128 + 4096;
        options.auto_reconnect = true;
        options.reconnect_min_ms = 20;
        options.reconnect_max_ms = 200;
        options.queue_offline = true;
        options.command_timeout_ms = 5_000;
        let mut ptr = std::ptr::null_mut();
        assert_eq!(
            unsafe { emq_client_new(&options, &mut ptr) },
            emq_err::EMQ_OK
        );
        let seen = Box::<Seen>::default();
        let callbacks = emq_callbacks {
            on_connect: Some(on_connect),
            on_disconnect: Some(on_disconnect),
            on_message: Some(on_message),
            on_published: Some(on_published),
            on_subscribed: Some(on_subscribed),
            ..emq_callbacks::default()
        };
        let seen_ptr: *const Seen = &*seen;
        assert_eq!(
            unsafe { emq_client_set_callbacks(ptr, &callbacks, seen_ptr.cast_mut().cast()) },
            emq_err::EMQ_OK
        );
        let uri = CString::new(format!("mqtt://127.0.0.1:{port}")).unwrap();
        assert_eq!(
            unsafe { emq_client_set_server(ptr, uri.as_ptr()) },
            emq_err::EMQ_OK
        );
        ThreadedClient { ptr, seen, _id: id }
    }

    fn start(&self) {
        assert_eq!(unsafe { emq_client_start(self.ptr) }, emq_err::EMQ_OK);
        wait_until("connected", Duration::from_secs(10), || unsafe {
            emq_client_is_connected(self.ptr)
        });
    }

    fn subscribe(&self, filter: &str, qos: u8) {
        let before = self.seen.subscribed.load(Ordering::SeqCst);
        let filter = CString::new(filter).unwrap();
        let mut id = 0;
        assert_eq!(
            unsafe { emq_client_subscribe(self.ptr, filter.as_ptr(), qos, &mut id) },
            emq_err::EMQ_OK
        );
        assert_eq!(
            unsafe { emq_client_wait(self.ptr, id, 10_000) },
            emq_err::EMQ_OK
        );
        wait_until("on_subscribed", Duration::from_secs(10), || {
            self.seen.subscribed.load(Ordering::SeqCst) > before
        });
    }

    fn shared(&self) -> Shared {
        Shared(self.ptr)
    }
}

impl Drop for ThreadedClient {
    fn drop(&mut self) {
        assert_eq!(unsafe { emq_client_free(self.ptr) }, emq_err::EMQ_OK);
    }
}

/// `emq_options_default`'s options.
fn default_options() -> emq_options {
    let mut options = std::mem::MaybeUninit::<emq_options>::uninit();
    assert_eq!(
        unsafe { emq_options_default(options.as_mut_ptr()) },
        emq_err::EMQ_OK
    );
    unsafe { options.assume_init() }
}

/// Sleeps in short steps until `cond` holds; panics after `limit`.
fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn publish(client: &Shared, topic: &CString, payload: &[u8], qos: u8) -> emq_err {
    let mut id = 0;
    unsafe {
        emq_client_publish(
            client.0,
            topic.as_ptr(),
            payload.as_ptr(),
            payload.len(),
            qos,
            false,
            &mut id,
        )
    }
}

/// Payload: publisher thread and sequence number.
fn tagged(thread: u32, seq: u32) -> Vec<u8> {
    [thread.to_be_bytes(), seq.to_be_bytes()].concat()
}

/// Checks that each publisher's messages arrived once each, in order.
fn assert_each_once_in_order(messages: &[Vec<u8>], threads: u32, per_thread: u32) {
    let mut next = vec![0u32; threads as usize];
    for m in messages {
        let thread = u32::from_be_bytes(m[..4].try_into().unwrap());
        let seq = u32::from_be_bytes(m[4..8].try_into().unwrap());
        assert_eq!(
            seq, next[thread as usize],
            "publisher {thread}: order or duplicate"
        );
        next[thread as usize] += 1;
    }
    assert!(next.iter().all(|&n| n == per_thread), "missing: {next:?}");
}

#[test]
fn many_threads_publish_query_and_subscribe_at_once() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let port = broker.addr().port();
    let sub = ThreadedClient::new("thr-rs-sub", port, 64);
    sub.start();
    let base = format!("threads/rs/{}", std::process::id());
    sub.subscribe(&format!("{base}/data/+"), 1);
    let publisher = ThreadedClient::new("thr-rs-pub", port, 200);
    publisher.start();
    const THREADS: u32 = 4;
    const PER_THREAD: u32 = 1_000;
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let client = publisher.shared();
            let topic = CString::new(format!("{base}/data/{thread}")).unwrap();
            scope.spawn(move || {
                for seq in 0..PER_THREAD {
                    let qos = 1;
                    assert_eq!(
                        publish(&client, &topic, &tagged(thread, seq), qos),
                        emq_err::EMQ_OK
                    );
                }
            });
        }
        // Meanwhile: queries and subscription churn on the same client.
        let client = publisher.shared();
        let churn = CString::new(format!("{base}/churn")).unwrap();
        scope.spawn(move || {
            for _ in 0..200 {
                let c = client.ptr();
                unsafe {
                    let _ = emq_client_state(c);
                    let _ = emq_client_inflight(c);
                    let _ = emq_client_queued(c);
                    assert_eq!(
                        emq_client_subscribe(c, churn.as_ptr(), 0, std::ptr::null_mut()),
                        emq_err::EMQ_OK
                    );
                    assert_eq!(
                        emq_client_unsubscribe(c, churn.as_ptr(), std::ptr::null_mut()),
                        emq_err::EMQ_OK
                    );
                }
            }
        });
    });
    let total = (THREADS * PER_THREAD) as usize;
    wait_until("acknowledgements", Duration::from_secs(60), || {
        publisher.seen.published.load(Ordering::SeqCst) == total
    });
    wait_until("deliveries", Duration::from_secs(60), || {
        sub.seen.messages.lock().unwrap().len() >= total
    });
    std::thread::sleep(Duration::from_millis(100));
    let messages = sub.seen.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), total);
    assert_each_once_in_order(&messages, THREADS, PER_THREAD);
    assert_eq!(unsafe { emq_client_queued(publisher.ptr) }, 0);
}

#[test]
fn echo_from_the_network_thread_and_stop_inside_a_callback() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let port = broker.addr().port();
    let base = format!("threads/rs-echo/{}", std::process::id());
    const ECHOES: u32 = 1_000;
    let echo = ThreadedClient::new("thr-rs-echo", port, ECHOES as u16);
    *echo.seen.echo_topic.lock().unwrap() = Some(CString::new(format!("{base}/out")).unwrap());
    echo.start();
    echo.subscribe(&format!("{base}/in"), 2);
    let tester = ThreadedClient::new("thr-rs-tester", port, ECHOES as u16);
    tester.start();
    tester.subscribe(&format!("{base}/out"), 2);
    // The tester stops its own thread from inside the last message's callback.
    tester
        .seen
        .stop_after
        .store(ECHOES as usize, Ordering::SeqCst);
    let topic = CString::new(format!("{base}/in")).unwrap();
    let client = tester.shared();
    for seq in 0..ECHOES {
        assert_eq!(
            publish(&client, &topic, &tagged(0, seq), 2),
            emq_err::EMQ_OK
        );
    }
    wait_until("echoes", Duration::from_secs(60), || {
        tester.seen.messages.lock().unwrap().len() >= ECHOES as usize
    });
    assert_eq!(echo.seen.echo_failures.load(Ordering::SeqCst), 0);
    wait_until("stop from the callback", Duration::from_secs(10), || {
        tester.seen.disconnects.load(Ordering::SeqCst) == 1
    });
    assert_eq!(
        tester.seen.stop_result.load(Ordering::SeqCst),
        emq_err::EMQ_OK as u32
    );
    assert!(!unsafe { emq_client_is_connected(tester.ptr) });
    assert_eq!(
        unsafe { emq_client_poll(tester.ptr, 0) },
        emq_err::EMQ_ERR_THREAD_DRIVEN
    );
    let messages = tester.seen.messages.lock().unwrap().clone();
    assert_each_once_in_order(&messages, 1, ECHOES);
}

#[test]
fn the_thread_reconnects_while_other_threads_publish() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let proxy = FaultProxy::start(broker.addr());
    let base = format!("threads/rs-cut/{}", std::process::id());
    let sub = ThreadedClient::new("thr-rs-cut-sub", broker.addr().port(), 64);
    sub.start();
    sub.subscribe(&format!("{base}/+"), 1);
    let publisher = ThreadedClient::new("thr-rs-cut-pub", proxy.port(), 2_000);
    publisher.start();
    const THREADS: u32 = 2;
    const PER_THREAD: u32 = 500;
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let client = publisher.shared();
            let topic = CString::new(format!("{base}/{thread}")).unwrap();
            scope.spawn(move || {
                for seq in 0..PER_THREAD {
                    assert_eq!(
                        publish(&client, &topic, &tagged(thread, seq), 1),
                        emq_err::EMQ_OK
                    );
                    if seq % 50 == 0 {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
            });
        }
        // Cut the link a few times while they publish.
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(40));
            proxy.cut_now();
        }
    });
    let total = (THREADS * PER_THREAD) as usize;
    wait_until(
        "every message acknowledged",
        Duration::from_secs(60),
        || unsafe { emq_client_queued(publisher.ptr) == 0 },
    );
    wait_until("deliveries", Duration::from_secs(60), || {
        let messages = sub.seen.messages.lock().unwrap();
        let mut firsts = std::collections::BTreeSet::new();
        firsts.extend(messages.iter().cloned());
        firsts.len() >= total
    });
    assert!(publisher.seen.connects.load(Ordering::SeqCst) >= 2);
    // QoS 1 may repeat after a cut; first deliveries keep each publisher's order.
    let messages = sub.seen.messages.lock().unwrap().clone();
    let mut next = [0u32; THREADS as usize];
    for m in &messages {
        let thread = u32::from_be_bytes(m[..4].try_into().unwrap()) as usize;
        let seq = u32::from_be_bytes(m[4..8].try_into().unwrap());
        assert!(seq <= next[thread], "publisher {thread} skipped to {seq}");
        if seq == next[thread] {
            next[thread] += 1;
        }
    }
    assert!(next.iter().all(|&n| n == PER_THREAD), "missing: {next:?}");
}

#[test]
fn start_stop_free_cycles_from_several_threads() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let port = broker.addr().port();
    for cycle in 0..50 {
        let client = ThreadedClient::new("thr-rs-cycle", port, 16);
        assert_eq!(unsafe { emq_client_start(client.ptr) }, emq_err::EMQ_OK);
        if cycle % 5 == 0 {
            wait_until("connected", Duration::from_secs(10), || unsafe {
                emq_client_is_connected(client.ptr)
            });
        }
        // Two threads stop at once; both return after the thread ended.
        std::thread::scope(|scope| {
            for _ in 0..2 {
                let shared = client.shared();
                scope.spawn(move || {
                    assert_eq!(unsafe { emq_client_stop(shared.ptr()) }, emq_err::EMQ_OK);
                });
            }
        });
        assert!(!unsafe { emq_client_is_connected(client.ptr) });
        if cycle % 2 == 0 {
            assert_eq!(unsafe { emq_client_start(client.ptr) }, emq_err::EMQ_OK);
        }
        // Drop frees, stopping a running thread first.
    }
}

/// Set by `free_self` after it freed its client from inside its callback.
static FREED_FROM_CALLBACK: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn free_self(_: *mut c_void, client: *mut emq_client, _: *const emq_message) {
    // Deferred: the client stays usable until this callback returns.
    let freed = unsafe { emq_client_free(client) };
    let still_there = unsafe { emq_client_is_connected(client) };
    if freed == emq_err::EMQ_OK && still_there {
        FREED_FROM_CALLBACK.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn free_from_a_callback_on_the_network_thread_takes_effect_after_it() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let id = CString::new(format!("thr-free-{}", std::process::id())).unwrap();
    let mut options = default_options();
    options.client_id = id.as_ptr();
    let mut ptr = std::ptr::null_mut();
    assert_eq!(
        unsafe { emq_client_new(&options, &mut ptr) },
        emq_err::EMQ_OK
    );
    let callbacks = emq_callbacks {
        on_message: Some(free_self),
        ..emq_callbacks::default()
    };
    assert_eq!(
        unsafe { emq_client_set_callbacks(ptr, &callbacks, std::ptr::null_mut()) },
        emq_err::EMQ_OK
    );
    let uri = CString::new(format!("mqtt://127.0.0.1:{}", broker.addr().port())).unwrap();
    assert_eq!(
        unsafe { emq_client_set_server(ptr, uri.as_ptr()) },
        emq_err::EMQ_OK
    );
    assert_eq!(unsafe { emq_client_start(ptr) }, emq_err::EMQ_OK);
    wait_until("connected", Duration::from_secs(10), || unsafe {
        emq_client_is_connected(ptr)
    });
    let topic = CString::new(format!("threads/free/{}", std::process::id())).unwrap();
    let mut sub = 0;
    assert_eq!(
        unsafe { emq_client_subscribe(ptr, topic.as_ptr(), 1, &mut sub) },
        emq_err::EMQ_OK
    );
    assert_eq!(
        unsafe { emq_client_wait(ptr, sub, 10_000) },
        emq_err::EMQ_OK
    );
    // The last call this thread makes on the handle: the callback frees it.
    assert_eq!(publish(&Shared(ptr), &topic, b"bye", 1), emq_err::EMQ_OK);
    wait_until("freed from the callback", Duration::from_secs(10), || {
        FREED_FROM_CALLBACK.load(Ordering::SeqCst) == 1
    });
    // The thread ended and freed the handle (tsan.sh runs this test under
    // ThreadSanitizer); the broker is still there for other clients.
    let other = ThreadedClient::new("thr-free-other", broker.addr().port(), 16);
    other.start();
}
