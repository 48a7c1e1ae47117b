//! The C API against a scripted broker on 127.0.0.1, for what a real broker
//! will not do on demand: acknowledgements for packet ids the client never
//! used.

mod support;

use embermq::ffi::*;
use std::ffi::{c_char, c_void, CStr};
use std::io::Write;
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};
use support::read_packet;

/// Log lines at warning level or worse.
#[derive(Default)]
struct Logs {
    warnings: Vec<String>,
}

unsafe extern "C" fn on_log(ud: *mut c_void, level: emq_log_level, line: *const c_char) {
    if level <= emq_log_level::EMQ_LOG_WARNING {
        let line = unsafe { CStr::from_ptr(line) }
            .to_string_lossy()
            .into_owned();
        unsafe { &mut *(ud as *mut Logs) }.warnings.push(line);
    }
}

#[test]
fn acknowledgements_for_unknown_packet_ids_are_logged_and_the_session_goes_on() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let broker = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        assert_eq!(read_packet(&mut s)[0], 0x10, "CONNECT first");
        s.write_all(&[0x20, 2, 0, 0]).unwrap();
        // PUBACK, PUBREC and PUBCOMP for ids the client never used.
        s.write_all(&[
            0x40, 2, 0x12, 0x34, 0x50, 2, 0x12, 0x35, 0x70, 2, 0x12, 0x36,
        ])
        .unwrap();
        // The client answers the PUBREC with PUBREL, then publishes.
        let pubrel = read_packet(&mut s);
        let publish = read_packet(&mut s);
        assert_eq!(publish[0] & 0xf0, 0x30);
        let topic_len = usize::from(u16::from_be_bytes([publish[2], publish[3]]));
        let id = [publish[4 + topic_len], publish[5 + topic_len]];
        s.write_all(&[0x40, 2, id[0], id[1]]).unwrap();
        let disconnect = read_packet(&mut s);
        (pubrel, disconnect)
    });

    let mut options = std::mem::MaybeUninit::<emq_options>::uninit();
    assert_eq!(
        unsafe { emq_options_default(options.as_mut_ptr()) },
        emq_err::EMQ_OK
    );
    let mut options = unsafe { options.assume_init() };
    options.client_id = c"hostile".as_ptr();
    options.log_level = emq_log_level::EMQ_LOG_WARNING as _;
    let mut client = std::ptr::null_mut();
    assert_eq!(
        unsafe { emq_client_new(&options, &mut client) },
        emq_err::EMQ_OK
    );
    let mut logs = Box::<Logs>::default();
    let callbacks = emq_callbacks {
        on_log: Some(on_log),
        ..emq_callbacks::default()
    };
    let logs_ptr: *mut Logs = &mut *logs;
    unsafe { emq_client_set_callbacks(client, &callbacks, logs_ptr.cast()) };
    assert_eq!(
        unsafe { emq_client_connect(client, c"127.0.0.1".as_ptr(), port) },
        emq_err::EMQ_OK
    );
    let start = Instant::now();
    while logs.warnings.is_empty() && start.elapsed() < Duration::from_secs(5) {
        assert_eq!(unsafe { emq_client_poll(client, 20) }, emq_err::EMQ_OK);
    }
    assert!(
        logs.warnings
            .iter()
            .any(|l| l.contains("acknowledgement") && l.contains("not in flight")),
        "{:?}",
        logs.warnings
    );
    assert!(unsafe { emq_client_is_connected(client) });
    // The session goes on: a QoS 1 publish completes.
    let mut id = 0;
    assert_eq!(
        unsafe { emq_client_publish(client, c"t".as_ptr(), b"x".as_ptr(), 1, 1, false, &mut id) },
        emq_err::EMQ_OK
    );
    assert_eq!(
        unsafe { emq_client_wait(client, id, 5_000) },
        emq_err::EMQ_OK
    );
    assert_eq!(unsafe { emq_client_disconnect(client) }, emq_err::EMQ_OK);
    unsafe { emq_client_free(client) };
    let (pubrel, disconnect) = broker.join().unwrap();
    assert_eq!(pubrel, [0x62, 2, 0x12, 0x35]);
    assert_eq!(disconnect, [0xe0, 0]);
}
