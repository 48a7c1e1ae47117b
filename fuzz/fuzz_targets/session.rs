//! The session fed arbitrary broker bytes, interleaved with user requests,
//! time steps and reconnects chosen by the input. It must never panic, and
//! everything it asks to send must decode as valid MQTT.
#![no_main]

use embermq::codec::{decode, decode_from_server, Decoded, QoS, SubscribeTopic, MAX_PACKET_SIZE};
use embermq::session::{ArrayMemory, ConnectOptions, Session, SessionConfig};
use libfuzzer_sys::fuzz_target;

type FuzzSession = Session<ArrayMemory<12, 2048, 8, 1024>>;

fn drain(session: &mut FuzzSession) {
    let out = session.pending_output().to_vec();
    let mut at = 0;
    while at < out.len() {
        match decode(&out[at..], MAX_PACKET_SIZE) {
            Ok(Decoded::Packet { len, .. }) => at += len,
            other => panic!("session wrote an invalid packet: {other:?}"),
        }
    }
    session.consume_output(out.len());
}

fn connect(session: &mut FuzzSession, now: u32) {
    let options = ConnectOptions {
        client_id: "fuzz",
        clean_session: false,
        keep_alive_secs: 5,
        ..ConnectOptions::default()
    };
    let _ = session.connect(&options, now);
    drain(session);
}

fuzz_target!(|data: &[u8]| {
    let config = SessionConfig {
        inflight_window: 8,
        ping_timeout_ms: None,
        outbox_limit: 12,
        queue_offline: true,
        queue_qos0_offline: true,
    };
    let mut session: FuzzSession = Session::new(ArrayMemory::new(), config);
    let mut now = 0u32;
    let mut rx: Vec<u8> = Vec::new();
    connect(&mut session, now);
    let mut input = data;
    while let Some((&op, rest)) = input.split_first() {
        input = rest;
        match op % 6 {
            // Broker bytes: the next (op / 6) bytes join the receive stream.
            0 | 1 => {
                let take = usize::from(op / 6).min(input.len());
                rx.extend_from_slice(&input[..take]);
                input = &input[take..];
                loop {
                    let (len, result) = match decode_from_server(&rx, 512) {
                        Ok(Decoded::Packet { packet, len }) => {
                            (len, session.handle_packet(&packet, now).map(|_| ()))
                        }
                        Ok(Decoded::Incomplete { .. }) => break,
                        Err(err) => (rx.len(), Err(err)),
                    };
                    rx.drain(..len);
                    drain(&mut session);
                    if result.is_err() {
                        session.connection_closed();
                        rx.clear();
                        connect(&mut session, now);
                        break;
                    }
                }
            }
            2 => {
                let qos = QoS::from_u8(op % 3).unwrap_or(QoS::AtMostOnce);
                let len = input.first().copied().unwrap_or(0) as usize;
                let _ = session.publish("f/t", &vec![op; len], qos, op & 0x40 != 0, now);
            }
            3 => {
                let topics = [
                    SubscribeTopic { filter: "f/#", qos: QoS::ExactlyOnce },
                    SubscribeTopic { filter: "+/x", qos: QoS::AtMostOnce },
                ];
                let _ = session.subscribe(&topics[..1 + usize::from(op & 1)], now);
                let _ = session.unsubscribe(&["f/#"], now);
            }
            4 => {
                now = now.wrapping_add(u32::from(op) * 100);
                let _ = session.handle_timers(now);
            }
            _ => {
                session.connection_closed();
                rx.clear();
                connect(&mut session, now);
            }
        }
        drain(&mut session);
        // Every message counted on the wire is in the outbox. Not bounded by
        // the window of 8 itself: a broker's PUBREC for a message not yet
        // resent on this connection puts its PUBREL in flight at once.
        assert!(session.inflight() <= session.queued());
    }
});
