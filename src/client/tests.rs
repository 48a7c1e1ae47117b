//! The client over a scripted transport and a fake clock: what a real
//! broker will not do on demand (stalls, trickles).

use super::*;
use crate::session::{HeapMemory, SessionConfig};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

#[derive(Default)]
struct Script {
    now: Cell<u64>,
    reads: RefCell<VecDeque<Vec<u8>>>,
    written: RefCell<Vec<u8>>,
    stalled: Cell<bool>,
}

struct FakeTransport(Rc<Script>);
struct FakeClock(Rc<Script>);

impl Transport for FakeTransport {
    fn read(&mut self, buf: &mut [u8], timeout_ms: u32) -> Result<usize, Error> {
        let script = &self.0;
        match script.reads.borrow_mut().pop_front() {
            Some(bytes) => {
                script.now.set(script.now.get() + 1);
                buf[..bytes.len()].copy_from_slice(&bytes);
                Ok(bytes.len())
            }
            None => {
                script
                    .now
                    .set(script.now.get() + u64::from(timeout_ms.max(1)));
                Ok(0)
            }
        }
    }

    fn write(&mut self, buf: &[u8], timeout_ms: u32) -> Result<usize, Error> {
        if self.0.stalled.get() {
            self.0
                .now
                .set(self.0.now.get() + u64::from(timeout_ms.max(1)));
            return Ok(0);
        }
        self.0.written.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn close(&mut self) {}
}

impl Clock for FakeClock {
    fn now_ms(&mut self) -> u64 {
        self.0.now.get()
    }
}

type FakeClient = Client<HeapMemory, FakeTransport, FakeClock, Vec<u8>>;

fn connected() -> (FakeClient, Rc<Script>) {
    let script = Rc::new(Script::default());
    script.reads.borrow_mut().push_back(vec![0x20, 2, 0, 0]);
    let session = Session::new(HeapMemory::new(24, 4096, 8, 1024), SessionConfig::default());
    let mut client = Client::new(session, FakeClock(script.clone()), vec![0; 1024], 1_000);
    let options = ConnectOptions {
        client_id: "fake",
        ..ConnectOptions::default()
    };
    client
        .connect(FakeTransport(script.clone()), &options)
        .unwrap();
    script.written.borrow_mut().clear();
    (client, script)
}

#[test]
fn poll_returns_by_its_deadline_while_eventless_packets_trickle_in() {
    let (mut client, script) = connected();
    // Acknowledgements for ids never sent: handled, no event each.
    for _ in 0..5_000 {
        script
            .reads
            .borrow_mut()
            .push_back(vec![0x40, 2, 0x12, 0x34]);
    }
    let start = script.now.get();
    assert_eq!(client.poll_event(10).unwrap(), None);
    let spent = script.now.get() - start;
    assert!(spent <= 20, "poll(10) took {spent} ms");
    assert!(
        script.reads.borrow().len() > 4_900,
        "it stopped reading at the deadline"
    );
}

#[test]
fn a_stored_publish_keeps_its_id_when_the_write_fails() {
    let (mut client, script) = connected();
    script.stalled.set(true);
    let id = client.publish("t", b"hello", QoS::ExactlyOnce, false);
    let id = id.expect("a stored QoS 2 message is the client's: no error to retry on");
    assert_ne!(id, 0);
    assert!(client.session().has_stored_messages());
    assert_eq!(client.state(), State::Disconnected);
    // The loss is reported once, by the next poll.
    assert_eq!(
        client.poll_event(0),
        Ok(Some(ClientEvent::ConnectionLost(Error::Timeout)))
    );
    assert_eq!(client.poll_event(0), Err(Error::NotConnected));
    // QoS 0 is not stored, so its failed write is the caller's error.
    let (mut client, script) = connected();
    script.stalled.set(true);
    assert_eq!(
        client.publish("t", b"x", QoS::AtMostOnce, false),
        Err(Error::Timeout)
    );
}

#[test]
fn acknowledgements_are_batched_and_flushed_before_poll_returns() {
    let (mut client, script) = connected();
    // Three QoS 1 messages in one read.
    let mut burst = Vec::new();
    for id in 1..=3u8 {
        burst.extend_from_slice(&[0x32, 6, 0, 1, b'm', 0, id, b'x']);
    }
    script.reads.borrow_mut().push_back(burst);
    let mut messages = 0;
    while let Some(event) = client.poll_event(5).unwrap() {
        assert!(matches!(event, ClientEvent::Message { .. }));
        messages += 1;
        assert!(
            script.written.borrow().is_empty(),
            "acks wait for the batch"
        );
    }
    assert_eq!(messages, 3);
    assert_eq!(
        *script.written.borrow(),
        vec![0x40, 2, 0, 1, 0x40, 2, 0, 2, 0x40, 2, 0, 3]
    );
}

#[test]
fn a_transport_claiming_too_many_bytes_cannot_overrun_the_buffer() {
    struct Liar;
    impl Transport for Liar {
        fn read(&mut self, buf: &mut [u8], _: u32) -> Result<usize, Error> {
            buf.fill(0xc0);
            Ok(buf.len() + 100)
        }
        fn write(&mut self, buf: &[u8], _: u32) -> Result<usize, Error> {
            Ok(buf.len())
        }
        fn close(&mut self) {}
    }
    let script = Rc::new(Script::default());
    let session = Session::new(HeapMemory::new(4, 256, 4, 256), SessionConfig::default());
    let mut client = Client::new(session, FakeClock(script), vec![0; 128], 100);
    let options = ConnectOptions {
        client_id: "x",
        ..ConnectOptions::default()
    };
    // 0xc0 is PINGREQ, which a client must never receive; the lie about
    // the length is clamped instead of moving past the buffer.
    assert_eq!(
        client.connect(Liar, &options),
        Err(Error::UnexpectedPacket(12))
    );
}
