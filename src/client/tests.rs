//! The client over a scripted transport and a fake clock: what a real
//! broker will not do on demand (stalls, trickles).

use super::*;
use crate::session::{HeapMemory, SessionConfig};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

#[derive(Default)]
struct Script {
    now: Cell<u32>,
    reads: RefCell<VecDeque<Vec<u8>>>,
    written: RefCell<Vec<u8>>,
    stalled: Cell<bool>,
}

struct FakeTransport(Rc<Script>);
struct FakeClock(Rc<Script>);

impl Transport for FakeTransport {
    fn read(&mut self, buf: &mut [u8], timeout_ms: u32) -> Result<usize, Error> {
        let script = &self.0;
        let mut reads = script.reads.borrow_mut();
        match reads.pop_front() {
            Some(mut bytes) => {
                script.now.set(script.now.get() + 1);
                // What does not fit waits for the next read.
                if bytes.len() > buf.len() {
                    reads.push_front(bytes.split_off(buf.len()));
                }
                buf[..bytes.len()].copy_from_slice(&bytes);
                Ok(bytes.len())
            }
            None => {
                script.now.set(script.now.get() + timeout_ms.max(1));
                Ok(0)
            }
        }
    }

    fn write(&mut self, buf: &[u8], timeout_ms: u32) -> Result<usize, Error> {
        if self.0.stalled.get() {
            self.0.now.set(self.0.now.get() + timeout_ms.max(1));
            return Ok(0);
        }
        self.0.written.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn close(&mut self) {}
}

impl Clock for FakeClock {
    fn now_ms(&mut self) -> u32 {
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

/// A PUBLISH from the broker with a payload of `payload_len` bytes of `fill`.
fn incoming(topic: &str, qos: QoS, dup: bool, packet_id: u16, payload_len: usize) -> Vec<u8> {
    let payload = vec![b'p'; payload_len];
    let packet = crate::codec::Packet::Publish(Publish {
        dup,
        qos,
        retain: false,
        topic,
        packet_id,
        payload: &payload,
    });
    let mut bytes = vec![0; packet.encoded_len().unwrap()];
    packet.encode(&mut bytes).unwrap();
    bytes
}

/// Every event until the script has no more to read and poll finds none.
fn drain(client: &mut FakeClient, script: &Script) -> Vec<ClientEvent> {
    drain_with_overflow_lens(client, script).0
}

/// Like `drain`, with the whole payload length of each overflow, read
/// when it is reported.
fn drain_with_overflow_lens(
    client: &mut FakeClient,
    script: &Script,
) -> (Vec<ClientEvent>, Vec<usize>) {
    let mut events = Vec::new();
    let mut lens = Vec::new();
    for _ in 0..10_000 {
        match client.poll_event(5).unwrap() {
            Some(event) => {
                if let ClientEvent::Overflow { payload, .. } = event {
                    lens.push(client.overflow_len(payload));
                }
                events.push(event);
            }
            None if script.reads.borrow().is_empty() => return (events, lens),
            None => {}
        }
    }
    panic!("no end to the events: {events:?}");
}

#[test]
fn an_oversized_message_is_read_through_acknowledged_and_reported() {
    let (mut client, script) = connected();
    // 4 KiB through a 1 KiB buffer, then a small message in the same read
    // as its tail: the stream stays in step.
    let mut bytes = incoming("big/one", QoS::AtLeastOnce, false, 7, 4096);
    bytes.extend(incoming("small", QoS::AtLeastOnce, false, 8, 3));
    for chunk in bytes.chunks(700) {
        script.reads.borrow_mut().push_back(chunk.to_vec());
    }
    let (events, overflow_lens) = drain_with_overflow_lens(&mut client, &script);
    assert_eq!(events.len(), 2, "{events:?}");
    let ClientEvent::Overflow {
        topic,
        payload,
        qos,
        packet_id,
        ..
    } = events[0]
    else {
        panic!("{:?}", events[0]);
    };
    assert_eq!(overflow_lens, [4096]);
    assert_eq!((qos, packet_id), (QoS::AtLeastOnce, 7));
    // Topic and the start of the payload lie in the full buffer.
    assert_eq!(topic.len, 7);
    assert_eq!(payload.len, 1024 - 3 - 2 - 7 - 2);
    assert!(matches!(
        events[1],
        ClientEvent::Message {
            packet_id: 8,
            payload: Span { len: 3, .. },
            ..
        }
    ));
    assert_eq!(
        *script.written.borrow(),
        vec![0x40, 2, 0, 7, 0x40, 2, 0, 8],
        "both acknowledged, in order"
    );
    assert!(client.is_connected());
}

#[test]
fn an_oversized_qos2_message_resent_by_the_broker_is_reported_once() {
    let (mut client, script) = connected();
    for dup in [false, true] {
        let bytes = incoming("big/two", QoS::ExactlyOnce, dup, 9, 3000);
        script.reads.borrow_mut().push_back(bytes);
    }
    // PUBREL completes it; a new message with the same id is new.
    script.reads.borrow_mut().push_back(vec![0x62, 2, 0, 9]);
    script
        .reads
        .borrow_mut()
        .push_back(incoming("big/two", QoS::ExactlyOnce, false, 9, 2000));
    let events = drain(&mut client, &script);
    let overflows: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, ClientEvent::Overflow { .. }))
        .collect();
    assert_eq!(overflows.len(), 2, "{events:?}");
    assert_eq!(
        *script.written.borrow(),
        [
            [0x50, 2, 0, 9],
            [0x50, 2, 0, 9],
            [0x70, 2, 0, 9],
            [0x50, 2, 0, 9]
        ]
        .concat()
    );
    assert!(client.is_connected());
}

#[test]
fn an_oversized_message_whose_topic_does_not_fit_is_read_through_one_byte_at_a_time() {
    let (mut client, script) = connected();
    let topic = "t".repeat(1500);
    let mut bytes = incoming(&topic, QoS::AtLeastOnce, false, 300, 10);
    bytes.extend(incoming(&topic, QoS::AtMostOnce, false, 0, 5000));
    bytes.extend(incoming("after", QoS::AtLeastOnce, false, 301, 1));
    for &byte in &bytes {
        script.reads.borrow_mut().push_back(vec![byte]);
    }
    let mut events = Vec::new();
    let mut overflow_lens = Vec::new();
    for _ in 0..bytes.len() {
        if let Some(event) = client.poll_event(0).unwrap() {
            if let ClientEvent::Overflow { payload, .. } = event {
                overflow_lens.push(client.overflow_len(payload));
            }
            events.push(event);
        }
    }
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(overflow_lens, [10, 5000]);
    assert!(matches!(
        events[0],
        ClientEvent::Overflow {
            topic: Span { len: 0, .. },
            payload: Span { len: 0, .. },
            packet_id: 300,
            ..
        }
    ));
    assert!(matches!(
        events[1],
        ClientEvent::Overflow {
            topic: Span { len: 0, .. },
            packet_id: 0,
            qos: QoS::AtMostOnce,
            ..
        }
    ));
    assert!(matches!(
        events[2],
        ClientEvent::Message { packet_id: 301, .. }
    ));
    client.flush().unwrap();
    assert_eq!(
        *script.written.borrow(),
        vec![0x40, 2, 1, 44, 0x40, 2, 1, 45]
    );
}

#[test]
fn an_oversized_packet_that_is_not_a_message_still_closes_the_connection() {
    let (mut client, script) = connected();
    // A SUBACK claiming 2000 return codes cannot be read through.
    let mut suback = vec![0x90, 0xd2, 0x0f, 0, 1];
    suback.resize(5 + 2000, 0);
    script.reads.borrow_mut().push_back(suback);
    assert!(matches!(
        client.poll_event(5),
        Ok(Some(ClientEvent::ConnectionLost(Error::PacketTooLarge)))
    ));
}
