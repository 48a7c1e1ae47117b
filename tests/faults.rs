//! Staying connected without losing messages: the C API (called from Rust)
//! against mosquitto, through a fault-injecting proxy that cuts the link at
//! packet boundaries and in the middle of packets, stalls it or refuses
//! connections, and across broker restarts and client "reboots".
//!
//! Every stream asserts: each QoS 1 message reaches the subscribing
//! application at least once, each QoS 2 message exactly once, and the
//! outbox ends empty; first deliveries keep the publish order while the
//! broker stays up (across broker restarts, the publisher's resend order is
//! checked on the wire instead). Counts are
//! printed (run with --nocapture to see them).

mod support;

use embermq::ffi::*;
use std::collections::BTreeMap;
use std::ffi::{c_void, CStr, CString};
use std::time::{Duration, Instant};
use support::proxy::{Direction, FaultProxy};
use support::recorder::*;
use support::{Broker, BrokerConfig};

const PUBLISH: u8 = 3;
const PUBACK: u8 = 4;
const PUBREC: u8 = 5;
const PUBREL: u8 = 6;
const PUBCOMP: u8 = 7;

/// A client through the C API, with its recorder (boxed: callbacks hold a
/// pointer to it).
struct CClient {
    ptr: *mut emq_client,
    seen: Box<Seen>,
    _strings: Vec<CString>,
}

struct Setup<'a> {
    id: &'a str,
    clean_session: bool,
    keepalive_secs: u16,
    username: Option<(&'a str, &'a str)>,
    persistence: Option<emq_persistence>,
    reconnect_min_ms: u32,
    reconnect_max_ms: u32,
}

impl<'a> Setup<'a> {
    fn new(id: &'a str) -> Self {
        Setup {
            id,
            clean_session: false,
            keepalive_secs: 30,
            username: None,
            persistence: None,
            reconnect_min_ms: 20,
            reconnect_max_ms: 200,
        }
    }
}

impl CClient {
    fn new(setup: &Setup<'_>) -> Result<CClient, emq_err> {
        let mut strings = vec![CString::new(setup.id).unwrap()];
        let mut options = std::mem::MaybeUninit::<emq_options>::uninit();
        assert_eq!(
            unsafe { emq_options_default(options.as_mut_ptr()) },
            emq_err::EMQ_OK
        );
        let mut options = unsafe { options.assume_init() };
        options.client_id = strings[0].as_ptr();
        options.clean_session = setup.clean_session;
        options.keepalive_secs = setup.keepalive_secs;
        options.auto_reconnect = true;
        options.reconnect_min_ms = setup.reconnect_min_ms;
        options.reconnect_max_ms = setup.reconnect_max_ms;
        options.queue_offline = true;
        options.outbox_max_messages = 2_000;
        options.store_size = 1024 * 1024;
        options.command_timeout_ms = 2_000;
        if let Some((user, pass)) = setup.username {
            strings.push(CString::new(user).unwrap());
            options.username = strings.last().unwrap().as_ptr();
            options.password = pass.as_ptr();
            options.password_len = pass.len();
        }
        if let Some(persistence) = setup.persistence {
            options.persistence = persistence;
        }
        let mut ptr = std::ptr::null_mut();
        let created = unsafe { emq_client_new(&options, &mut ptr) };
        if created != emq_err::EMQ_OK {
            return Err(created);
        }
        let mut client = CClient {
            ptr,
            seen: Box::default(),
            _strings: strings,
        };
        let callbacks = emq_callbacks {
            on_connect: Some(on_connect),
            on_disconnect: Some(on_disconnect),
            on_message: Some(on_message),
            on_published: Some(on_published),
            on_subscribed: Some(on_subscribed),
            ..emq_callbacks::default()
        };
        let seen: *mut Seen = &mut *client.seen;
        assert_eq!(
            unsafe { emq_client_set_callbacks(client.ptr, &callbacks, seen.cast()) },
            emq_err::EMQ_OK
        );
        Ok(client)
    }

    fn connect(&mut self, port: u16) -> emq_err {
        unsafe { emq_client_connect(self.ptr, c"127.0.0.1".as_ptr(), port) }
    }

    fn subscribe(&mut self, filter: &str, qos: u8) {
        let filter = CString::new(filter).unwrap();
        let mut id = 0;
        assert_eq!(
            unsafe { emq_client_subscribe(self.ptr, filter.as_ptr(), qos, &mut id) },
            emq_err::EMQ_OK
        );
        assert_eq!(
            unsafe { emq_client_wait(self.ptr, id, 5_000) },
            emq_err::EMQ_OK
        );
    }

    fn publish(&mut self, topic: &CStr, payload: &[u8], qos: u8) -> Result<u16, emq_err> {
        let mut id = 0;
        match unsafe {
            emq_client_publish(
                self.ptr,
                topic.as_ptr(),
                payload.as_ptr(),
                payload.len(),
                qos,
                false,
                &mut id,
            )
        } {
            emq_err::EMQ_OK => Ok(id),
            err => Err(err),
        }
    }

    fn poll(&mut self, ms: u32) {
        let result = unsafe { emq_client_poll(self.ptr, ms) };
        assert_eq!(result, emq_err::EMQ_OK, "poll with auto reconnect");
    }

    fn queued(&self) -> u16 {
        unsafe { emq_client_queued(self.ptr) }
    }

    fn connected(&self) -> bool {
        unsafe { emq_client_is_connected(self.ptr) }
    }
}

impl Drop for CClient {
    fn drop(&mut self) {
        unsafe { emq_client_free(self.ptr) };
    }
}

/// Polls both clients until `done` or the time limit; false on timeout.
fn pump(
    a: &mut CClient,
    b: &mut CClient,
    limit: Duration,
    done: impl Fn(&CClient, &CClient) -> bool,
) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done(a, b) {
            return true;
        }
        a.poll(5);
        b.poll(5);
    }
    done(a, b)
}

/// What a subscriber got for one topic: per sequence number, how often.
struct Tally {
    counts: Vec<u32>,
    /// Sequence numbers in order of first delivery.
    first_order: Vec<usize>,
}

/// The `N` of a `seq:N` payload.
fn seq_of(payload: &[u8]) -> usize {
    std::str::from_utf8(payload)
        .ok()
        .and_then(|p| p.strip_prefix("seq:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected payload {payload:?}"))
}

fn tally(seen: &Seen, topic: &str, total: usize) -> Tally {
    let mut counts = vec![0u32; total];
    let mut first_order = Vec::new();
    for (t, payload) in &seen.messages {
        if t != topic {
            continue;
        }
        let seq = seq_of(payload);
        assert!(seq < total, "sequence {seq} out of range");
        if counts[seq] == 0 {
            first_order.push(seq);
        }
        counts[seq] += 1;
    }
    Tally {
        counts,
        first_order,
    }
}

/// Checks the delivery guarantees (none lost; QoS 2 never twice) and prints
/// the counts.
fn check_delivery(label: &str, tally: &Tally, qos: u8, cuts: u64, reconnects: usize) {
    let duplicates = check_none_lost(label, tally, cuts, reconnects);
    if qos == 2 {
        assert_eq!(duplicates, 0, "{label}: QoS 2 delivered twice");
    }
}

/// Checks that every message was delivered, prints the counts and returns
/// the number of duplicates.
fn check_none_lost(label: &str, tally: &Tally, cuts: u64, reconnects: usize) -> usize {
    let total = tally.counts.len();
    let delivered: u32 = tally.counts.iter().sum();
    let missing: Vec<usize> = (0..total).filter(|&i| tally.counts[i] == 0).collect();
    let duplicates = delivered as usize - (total - missing.len());
    println!(
        "{label}: sent {total}, delivered {delivered}, duplicates {duplicates}, missing {}, cuts {cuts}, reconnects {reconnects}",
        missing.len()
    );
    assert!(missing.is_empty(), "{label}: lost messages {missing:?}");
    duplicates
}

/// `check_delivery`, and first deliveries in publish order (one publisher,
/// one broker that stays up: MQTT 3.1.1 4.6).
fn check_stream(label: &str, tally: &Tally, qos: u8, cuts: u64, reconnects: usize) {
    check_delivery(label, tally, qos, cuts, reconnects);
    let swapped = tally.first_order.windows(2).position(|w| w[0] >= w[1]);
    assert!(
        swapped.is_none(),
        "{label}: first deliveries out of order: {:?}",
        swapped
            .map(|at| &tally.first_order
                [at.saturating_sub(3)..(at + 5).min(tally.first_order.len())])
    );
}

/// Streams `total` messages at `qos` from a publisher behind `proxy`,
/// arming one fault from `faults` every `every` messages.
fn stream_through_cuts(qos: u8, total: usize, faults: &[Fault], every: usize) {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let proxy = FaultProxy::start(broker.addr());
    let topic = format!("faults/q{qos}");
    let ctopic = CString::new(topic.clone()).unwrap();

    let mut subscriber = CClient::new(&Setup::new(&format!("sub-q{qos}"))).unwrap();
    assert_eq!(subscriber.connect(broker.port), emq_err::EMQ_OK);
    subscriber.subscribe(&topic, 2);
    let mut publisher = CClient::new(&Setup::new(&format!("pub-q{qos}"))).unwrap();
    assert_eq!(publisher.connect(proxy.port()), emq_err::EMQ_OK);

    let start = Instant::now();
    let mut armed = 0u64;
    for seq in 0..total {
        if seq % every == every / 2 {
            // The previous fault fires first, so each lands where it aims.
            let fired = pump(
                &mut publisher,
                &mut subscriber,
                Duration::from_secs(5),
                |_, _| proxy.pending_rules() == 0,
            );
            assert!(fired, "fault before message {seq} never fired");
            faults[(seq / every) % faults.len()].arm(&proxy, seq);
            armed += 1;
        }
        let payload = format!("seq:{seq}");
        loop {
            match publisher.publish(&ctopic, payload.as_bytes(), qos) {
                Ok(_) => break,
                // A full outbox is a named error, never a drop: wait for room.
                Err(emq_err::EMQ_ERR_STORE_FULL) => publisher.poll(5),
                Err(other) => panic!("publish {seq}: {other:?}"),
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "stuck publishing"
            );
        }
        publisher.poll(0);
        subscriber.poll(0);
    }
    let delivered = pump(
        &mut publisher,
        &mut subscriber,
        Duration::from_secs(60),
        |p, s| p.queued() == 0 && tally(&s.seen, &topic, total).counts.iter().all(|&c| c > 0),
    );
    proxy.clear_rules();
    // Late duplicates (QoS 1) have a moment to show up and be counted.
    pump(
        &mut publisher,
        &mut subscriber,
        Duration::from_millis(300),
        |_, _| false,
    );
    let tally = tally(&subscriber.seen, &topic, total);
    let reconnects = publisher.seen.connects.len() - 1;
    check_stream(
        &format!("QoS {qos} through cuts"),
        &tally,
        qos,
        proxy.cuts(),
        reconnects,
    );
    assert!(delivered, "not everything arrived");
    assert_eq!(publisher.queued(), 0, "outbox not empty");
    assert!(
        proxy.cuts() >= armed - 1,
        "{armed} faults armed, {} cuts",
        proxy.cuts()
    );
    assert!(reconnects > 0);
    // Every disconnect was reported with its reason, and every publish
    // was acknowledged exactly once.
    assert_eq!(publisher.seen.disconnects.len(), reconnects);
    let mut acked = publisher.seen.published.clone();
    acked.sort_unstable();
    acked.dedup();
    assert_eq!(
        publisher.seen.published.len(),
        total,
        "acknowledgements reported"
    );
    assert_eq!(acked.len(), total, "an acknowledgement reported twice");
}

/// One fault to inject.
#[derive(Clone, Copy)]
enum Fault {
    /// After the nth packet of a type in a direction (offset: mid-packet).
    Packet(Direction, u8, Option<usize>),
    /// After some bytes towards the broker.
    Bytes(Direction),
}

impl Fault {
    fn arm(self, proxy: &FaultProxy, seq: usize) {
        match self {
            Fault::Packet(dir, kind, offset) => {
                // Vary the cut point inside the packet with the sequence.
                let offset = offset.map(|k| 1 + (k + seq) % 9);
                proxy.cut_after_packet(dir, kind, 1, offset);
            }
            Fault::Bytes(dir) => proxy.cut_after_bytes(dir, 7 + seq % 23),
        }
    }
}

#[test]
fn qos1_stream_survives_cuts_at_every_boundary_and_mid_packet() {
    use Direction::*;
    stream_through_cuts(
        1,
        1_000,
        &[
            Fault::Packet(ToBroker, PUBLISH, None),
            Fault::Packet(ToClient, PUBACK, None),
            Fault::Packet(ToBroker, PUBLISH, Some(0)),
            Fault::Packet(ToClient, PUBACK, Some(0)),
            Fault::Bytes(ToBroker),
            Fault::Bytes(ToClient),
        ],
        25,
    );
}

#[test]
fn qos2_stream_survives_cuts_at_every_boundary_and_mid_packet() {
    use Direction::*;
    stream_through_cuts(
        2,
        1_000,
        &[
            Fault::Packet(ToBroker, PUBLISH, None),
            Fault::Packet(ToClient, PUBREC, None),
            Fault::Packet(ToBroker, PUBREL, None),
            Fault::Packet(ToClient, PUBCOMP, None),
            Fault::Packet(ToBroker, PUBLISH, Some(0)),
            Fault::Packet(ToClient, PUBREC, Some(0)),
            Fault::Packet(ToBroker, PUBREL, Some(0)),
            Fault::Packet(ToClient, PUBCOMP, Some(0)),
            Fault::Bytes(ToBroker),
            Fault::Bytes(ToClient),
        ],
        20,
    );
}

/// One PUBLISH the publisher wrote, as the proxy saw it on the wire.
struct WirePublish {
    connection: u64,
    dup: bool,
    qos: u8,
    seq: usize,
}

/// The fields of a PUBLISH packet: (QoS, DUP, topic, packet id (0 for
/// QoS 0), payload).
fn publish_fields(p: &[u8]) -> (u8, bool, &str, u16, &[u8]) {
    let qos = (p[0] >> 1) & 3;
    // Fixed header: one type byte, then a 1-4 byte remaining length.
    let header = 1 + p[1..].iter().position(|b| b & 0x80 == 0).unwrap() + 1;
    let topic_len = u16::from_be_bytes([p[header], p[header + 1]]) as usize;
    let topic = std::str::from_utf8(&p[header + 2..header + 2 + topic_len]).unwrap();
    let at = header + 2 + topic_len;
    let (id, payload_at) = match qos {
        0 => (0, at),
        _ => (u16::from_be_bytes([p[at], p[at + 1]]), at + 2),
    };
    (qos, p[0] & 0x08 != 0, topic, id, &p[payload_at..])
}

/// Parses the captured packets towards the broker into the PUBLISHes of a
/// `seq:N` stream (other packet types are skipped).
fn wire_publishes(captured: &[(u64, Vec<u8>)]) -> Vec<WirePublish> {
    captured
        .iter()
        .filter(|(_, p)| p[0] >> 4 == PUBLISH)
        .map(|(connection, p)| {
            let (qos, dup, _, _, payload) = publish_fields(p);
            WirePublish {
                connection: *connection,
                dup,
                qos,
                seq: seq_of(payload),
            }
        })
        .collect()
}

/// What embermq controls across reconnects, on the wire: on each connection
/// its PUBLISHes go out in publish order (resends first, each with DUP, then
/// messages never sent before), and every message went out.
fn check_resend_order(publishes: &[WirePublish], total: usize) {
    let mut sent = std::collections::BTreeSet::new();
    let mut previous: Option<&WirePublish> = None;
    for p in publishes {
        let key = (p.seq, p.qos);
        if let Some(prev) = previous.filter(|prev| prev.connection == p.connection) {
            assert!(
                (prev.seq, prev.qos) < key,
                "connection {}: seq {} QoS {} written after seq {} QoS {}",
                p.connection,
                p.seq,
                p.qos,
                prev.seq,
                prev.qos
            );
            assert!(
                !p.dup || prev.dup,
                "connection {}: resend of seq {} after a new message",
                p.connection,
                p.seq
            );
        }
        // A resend carries DUP. (DUP on a message first seen here is fine:
        // the client wrote it before the broker went, but the proxy never
        // got to forward it.)
        assert!(
            p.dup || !sent.contains(&key),
            "seq {} QoS {} resent on connection {} without DUP",
            p.seq,
            p.qos,
            p.connection
        );
        sent.insert(key);
        previous = Some(p);
    }
    assert_eq!(sent.len(), 2 * total, "messages never written");
}

/// What embermq controls as the receiver of the broker's QoS 2 stream
/// (MQTT 3.1.1 4.3.3, method B): once it has delivered a PUBLISH and sent
/// PUBREC, it holds the packet id until a PUBREL for it comes and does not
/// deliver a PUBLISH with that id again meanwhile, however often the broker
/// resends it. After the PUBREL (and its PUBCOMP) a PUBLISH with that id is
/// a new publication and is delivered.
///
/// `to_client` is what the broker sent the subscriber, in the order the
/// subscriber read it. Each delivery on `topic` (with the packet id and DUP
/// the client passed up) is matched to the earliest PUBLISH with that id,
/// DUP and payload that came after the first PUBREL for the id following
/// the PUBLISH the previous delivery of the id came from. Returns, for
/// printing, the sequence numbers delivered more than once with how each
/// copy came.
fn check_qos2_receiver(to_client: &[(u64, Vec<u8>)], seen: &Seen, topic: &str) -> Vec<String> {
    /// Per packet id, in wire order: (connection, Some((seq, DUP)) for a
    /// PUBLISH on `topic`, None for a PUBREL).
    type Wire = BTreeMap<u16, Vec<(u64, Option<(usize, bool)>)>>;
    let mut by_id = Wire::new();
    for (connection, p) in to_client {
        match p[0] >> 4 {
            PUBLISH => {
                let (qos, dup, t, id, payload) = publish_fields(p);
                if qos == 2 && t == topic {
                    let publish = Some((seq_of(payload), dup));
                    by_id.entry(id).or_default().push((*connection, publish));
                }
            }
            PUBREL => {
                let id = u16::from_be_bytes([p[2], p[3]]);
                by_id.entry(id).or_default().push((*connection, None));
            }
            _ => {}
        }
    }
    // Per packet id, the wire index of the PUBLISH last delivered under it.
    let mut last = BTreeMap::<u16, usize>::new();
    // Per sequence number, each copy delivered: (packet id, DUP, connection).
    let mut copies = BTreeMap::<usize, Vec<(u16, bool, u64)>>::new();
    for ((t, payload), &(id, dup)) in seen.messages.iter().zip(&seen.message_ids) {
        if t != topic {
            continue;
        }
        let seq = seq_of(payload);
        let wire = by_id.get(&id).map_or(&[][..], |w| &w[..]);
        // Held since its last delivery: only a PUBLISH after the next
        // PUBREL for the id may be delivered.
        let from = match last.get(&id) {
            None => 0,
            Some(&previous) => wire[previous + 1..]
                .iter()
                .position(|(_, w)| w.is_none())
                .map(|pubrel| previous + 1 + pubrel + 1)
                .unwrap_or(wire.len()),
        };
        let at = (from..wire.len())
            .find(|&at| wire[at].1 == Some((seq, dup)))
            .unwrap_or_else(|| {
                panic!(
                    "QoS 2 seq {seq} delivered as m{id} d{}, but no such PUBLISH came \
                     while m{id} was free (after a PUBREL since its last delivery)",
                    dup as u8
                )
            });
        last.insert(id, at);
        copies.entry(seq).or_default().push((id, dup, wire[at].0));
    }
    copies
        .iter()
        .filter(|(_, c)| c.len() > 1)
        .map(|(seq, c)| {
            let how: Vec<String> = c
                .iter()
                .map(|(id, dup, connection)| {
                    format!("m{id} d{} on connection {connection}", *dup as u8)
                })
                .collect();
            let why = match c.windows(2).all(|w| w[0].0 == w[1].0) {
                true => "the same packet id again after its PUBREL",
                false => "under a new packet id",
            };
            format!("seq {seq}: {} ({why})", how.join(", then "))
        })
        .collect()
}

/// Publishes QoS 1 and 2 streams while mosquitto (with persistence) stops
/// gracefully and comes back three times. MQTT 3.1.1 (4.6) orders messages
/// per connection only: messages a restarted broker restores from its
/// database may reach the subscriber out of order with ones the publisher
/// resends, so the subscriber's order is not asserted. What the spec
/// guarantees (no message lost) and what embermq controls are: the
/// publisher's resend order, and that it never sends a message twice as new
/// (seen on the wire through a proxy), and that the subscriber never
/// delivers a QoS 2 PUBLISH whose packet id it holds (through a second proxy).
///
/// QoS 2 "exactly once" is not asserted end to end, because mosquitto 2.0.11
/// breaks it across a restart: it restores at most `max_inflight_messages`
/// (20) of a client's in-flight messages as in flight and puts the rest in
/// its queue (`persist__client_msg_restore`), and on reconnect resets every
/// queued QoS 2 message to "publish" (`db__message_reconnect_reset_outgoing`)
/// even when it had already got the PUBREC and sent the PUBREL. Those
/// messages come again as PUBLISH (DUP, same packet id) instead of PUBREL,
/// against 4.3.3 ("MUST NOT re-send the PUBLISH once it has sent the
/// corresponding PUBREL"). The subscriber had released the id on the PUBREL
/// and answered PUBCOMP, so by 4.3.3 the PUBLISH is a new publication and it
/// delivers it again. Seen in about 1 run in 20 with the subscriber on the
/// broker directly and 13 in 80 through its proxy: after a restart mosquitto
/// sent exactly 20 PUBRELs, then PUBLISH d1 for the next ids whose PUBREL it
/// had logged sending before it stopped (their PUBCOMPs still unread); every
/// duplicate was such a PUBLISH after a PUBREL. They are printed, not failed.
#[test]
fn streams_survive_broker_restarts_with_persistence() {
    if !support::require_mosquitto() {
        return;
    }
    // The database is written only by the graceful stop, so what is
    // restored does not depend on when an autosave happened to run.
    let mut broker = Broker::start(
        BrokerConfig::new()
            .persistence(true)
            .extra("autosave_interval 0"),
    );
    let proxy = FaultProxy::start(broker.addr());
    proxy.capture(Direction::ToBroker);
    let total = 1_000;
    // What the broker sends the subscriber, to tell its resends from
    // embermq delivering twice.
    let sub_proxy = FaultProxy::start(broker.addr());
    sub_proxy.capture(Direction::ToClient);
    let mut subscriber = CClient::new(&Setup::new("restart-sub")).unwrap();
    assert_eq!(subscriber.connect(sub_proxy.port()), emq_err::EMQ_OK);
    subscriber.subscribe("restart/#", 2);
    let mut publisher = CClient::new(&Setup::new("restart-pub")).unwrap();
    assert_eq!(publisher.connect(proxy.port()), emq_err::EMQ_OK);
    let topics = [c"restart/q1", c"restart/q2"];
    let mut restarts = 0;
    let start = Instant::now();
    for seq in 0..total {
        for (i, topic) in topics.iter().enumerate() {
            let payload = format!("seq:{seq}");
            loop {
                match publisher.publish(topic, payload.as_bytes(), i as u8 + 1) {
                    Ok(_) => break,
                    Err(emq_err::EMQ_ERR_STORE_FULL) => publisher.poll(5),
                    Err(other) => panic!("publish {seq}: {other:?}"),
                }
                assert!(
                    start.elapsed() < Duration::from_secs(90),
                    "stuck publishing"
                );
            }
        }
        publisher.poll(0);
        subscriber.poll(0);
        if seq % 300 == 150 {
            // Graceful stop: mosquitto saves its state, then comes back on
            // the same port; both clients reconnect by themselves.
            broker.restart();
            restarts += 1;
            // Publishing goes on while both clients find their way back.
            let back = pump(
                &mut publisher,
                &mut subscriber,
                Duration::from_secs(10),
                |p, s| {
                    p.seen.disconnects.len() == restarts as usize
                        && s.seen.disconnects.len() == restarts as usize
                        && p.connected()
                        && s.connected()
                },
            );
            assert!(back, "clients did not reconnect after restart {restarts}");
        }
    }
    let done = pump(
        &mut publisher,
        &mut subscriber,
        Duration::from_secs(60),
        |p, s| {
            p.queued() == 0
                && (0..2).all(|i| {
                    tally(&s.seen, &format!("restart/q{}", i + 1), total)
                        .counts
                        .iter()
                        .all(|&c| c > 0)
                })
        },
    );
    pump(
        &mut publisher,
        &mut subscriber,
        Duration::from_millis(300),
        |_, _| false,
    );
    let reconnects = publisher.seen.connects.len() - 1;
    check_delivery(
        &format!("QoS 1 across {restarts} broker restarts"),
        &tally(&subscriber.seen, "restart/q1", total),
        1,
        restarts,
        reconnects,
    );
    check_none_lost(
        &format!("QoS 2 across {restarts} broker restarts"),
        &tally(&subscriber.seen, "restart/q2", total),
        restarts,
        reconnects,
    );
    let to_subscriber = sub_proxy.captured(Direction::ToClient);
    for twice in check_qos2_receiver(&to_subscriber, &subscriber.seen, "restart/q2") {
        println!("QoS 2 delivered twice, as mosquitto sent it again: {twice}");
    }
    assert!(done);
    let publishes = wire_publishes(&proxy.captured(Direction::ToBroker));
    check_resend_order(&publishes, total);
    let resent = publishes.iter().filter(|p| p.dup).count();
    println!(
        "publisher wrote {} PUBLISHes, {resent} of them resends, in order",
        publishes.len()
    );
    assert_eq!(restarts, 3);
    assert_eq!(
        publisher.seen.connects.len(),
        4,
        "one reconnect per restart"
    );
    assert_eq!(proxy.connections(), 4, "one connection per restart");
    assert_eq!(sub_proxy.connections(), 4, "one connection per restart");
    // Both clients resumed their sessions.
    assert!(publisher
        .seen
        .connects
        .iter()
        .skip(1)
        .all(|&(present, _)| present));
    assert!(subscriber
        .seen
        .connects
        .iter()
        .skip(1)
        .all(|&(present, _)| present));
}

/// An in-memory "flash" for the persistence hook: survives the client.
#[derive(Default)]
struct Flash {
    /// Insertion order -> (packet id, packet).
    entries: BTreeMap<u64, (u16, Vec<u8>)>,
    next: u64,
    stores: usize,
    removes: usize,
}

unsafe extern "C" fn flash_store(
    ud: *mut c_void,
    id: u16,
    packet: *const u8,
    len: usize,
) -> emq_err {
    let flash = unsafe { &mut *(ud as *mut Flash) };
    let bytes = unsafe { std::slice::from_raw_parts(packet, len) }.to_vec();
    flash.entries.insert(flash.next, (id, bytes));
    flash.next += 1;
    flash.stores += 1;
    emq_err::EMQ_OK
}

unsafe extern "C" fn flash_remove(ud: *mut c_void, id: u16) {
    let flash = unsafe { &mut *(ud as *mut Flash) };
    flash.entries.retain(|_, (held, _)| *held != id);
    flash.removes += 1;
}

unsafe extern "C" fn flash_load(ud: *mut c_void, client: *mut emq_client) -> emq_err {
    let flash = unsafe { &mut *(ud as *mut Flash) };
    for (_, packet) in flash.entries.values() {
        let restored = unsafe { emq_client_restore(client, packet.as_ptr(), packet.len()) };
        if restored != emq_err::EMQ_OK {
            return restored;
        }
    }
    emq_err::EMQ_OK
}

#[test]
fn the_outbox_survives_a_reboot_through_the_persistence_hook() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let proxy = FaultProxy::start(broker.addr());
    let mut flash = Box::<Flash>::default();
    let hooks = emq_persistence {
        store: Some(flash_store),
        remove: Some(flash_remove),
        load: Some(flash_load),
        user_data: (&mut *flash as *mut Flash).cast(),
    };
    let mut subscriber = CClient::new(&Setup::new("reboot-sub")).unwrap();
    assert_eq!(subscriber.connect(broker.port), emq_err::EMQ_OK);
    subscriber.subscribe("reboot/#", 2);

    let total = 100;
    {
        let mut setup = Setup::new("reboot-pub");
        setup.persistence = Some(hooks);
        let mut publisher = CClient::new(&setup).unwrap();
        assert_eq!(publisher.connect(proxy.port()), emq_err::EMQ_OK);
        // The link goes dead: half the messages are written but never
        // acknowledged, the rest are published while offline.
        proxy.stall(true);
        for seq in 0..total / 2 {
            publisher
                .publish(c"reboot/q1", format!("seq:{seq}").as_bytes(), 1)
                .unwrap();
        }
        proxy.cut_now();
        proxy.refuse(true);
        proxy.stall(false);
        let offline = pump(
            &mut publisher,
            &mut subscriber,
            Duration::from_secs(5),
            |p, _| !p.connected(),
        );
        assert!(offline);
        for seq in total / 2..total {
            publisher
                .publish(c"reboot/q1", format!("seq:{seq}").as_bytes(), 1)
                .unwrap();
        }
        assert_eq!(usize::from(publisher.queued()), total);
        // "Power off": the client goes away with its RAM.
    }
    assert_eq!(flash.entries.len(), total, "every message reached flash");
    proxy.refuse(false);

    let mut setup = Setup::new("reboot-pub");
    setup.persistence = Some(hooks);
    let mut publisher = CClient::new(&setup).unwrap();
    assert_eq!(
        usize::from(publisher.queued()),
        total,
        "restored from flash"
    );
    assert_eq!(publisher.connect(proxy.port()), emq_err::EMQ_OK);
    let done = pump(
        &mut publisher,
        &mut subscriber,
        Duration::from_secs(20),
        |p, s| {
            p.queued() == 0
                && tally(&s.seen, "reboot/q1", total)
                    .counts
                    .iter()
                    .all(|&c| c > 0)
        },
    );
    let tally = tally(&subscriber.seen, "reboot/q1", total);
    check_stream("QoS 1 across a client reboot", &tally, 1, proxy.cuts(), 1);
    assert!(done);
    assert!(
        flash.entries.is_empty(),
        "acknowledged entries left in flash"
    );
    assert_eq!(flash.removes, total);
    // A broken entry in flash is refused by name, and creation reports it.
    flash.entries.insert(0, (1, b"not a packet".to_vec()));
    let err = CClient::new(&setup).err();
    assert_eq!(err, Some(emq_err::EMQ_ERR_MALFORMED_PACKET));
}

#[test]
fn a_dead_link_is_found_within_one_and_a_half_keepalives_and_reconnected() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let proxy = FaultProxy::start(broker.addr());
    let mut setup = Setup::new("dead-link");
    setup.keepalive_secs = 2;
    setup.reconnect_min_ms = 100;
    let mut client = CClient::new(&setup).unwrap();
    assert_eq!(client.connect(proxy.port()), emq_err::EMQ_OK);
    client.poll(50);
    proxy.stall(true);
    let stalled = Instant::now();
    let start = Instant::now();
    while client.seen.disconnects.is_empty() && start.elapsed() < Duration::from_secs(10) {
        client.poll(20);
    }
    let detected = stalled.elapsed();
    println!("dead link detected after {detected:?} (keepalive 2 s)");
    assert_eq!(
        client.seen.disconnects.first(),
        Some(&emq_err::EMQ_ERR_KEEPALIVE_TIMEOUT)
    );
    // 1.5 x keepalive = 3 s, plus scheduling slack on a loaded machine.
    assert!(
        detected <= Duration::from_millis(3_500),
        "took {detected:?}"
    );
    proxy.stall(false);
    let start = Instant::now();
    while !client.connected() && start.elapsed() < Duration::from_secs(10) {
        client.poll(20);
    }
    assert!(client.connected(), "did not reconnect");
}

#[test]
fn refused_logins_and_refused_connections_back_off_and_disconnect_stops() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start(BrokerConfig::new().user("right", "password"));
    let proxy = FaultProxy::start(broker.addr());
    let mut setup = Setup::new("bad-login");
    setup.username = Some(("right", "wrong"));
    setup.reconnect_min_ms = 10;
    setup.reconnect_max_ms = 1_000;
    let mut client = CClient::new(&setup).unwrap();
    assert_eq!(
        client.connect(proxy.port()),
        emq_err::EMQ_ERR_CONNECTION_REFUSED
    );
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2_500) {
        client.poll(20);
    }
    let attempts = proxy.connections();
    println!("bad credentials: {attempts} attempts in 2.5 s");
    // 10 ms doubling would make ~8 attempts; refusals wait the maximum.
    assert!((2..=4).contains(&attempts), "{attempts} attempts");
    assert!(client
        .seen
        .connects
        .iter()
        .all(|&(_, code)| code == 4 || code == 5));

    // A broker that is down: attempts back off exponentially.
    let mut setup = Setup::new("refused");
    setup.username = Some(("right", "password"));
    setup.reconnect_min_ms = 10;
    setup.reconnect_max_ms = 400;
    let mut client = CClient::new(&setup).unwrap();
    proxy.refuse(true);
    let before = proxy.connections();
    assert_ne!(client.connect(proxy.port()), emq_err::EMQ_OK);
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1_500) {
        client.poll(20);
    }
    let attempts = proxy.connections() - before;
    println!("broker down: {attempts} attempts in 1.5 s");
    // 10, ~20, ~40, ~80, ~160, ~320, then ~400 each: about 8, never dozens.
    assert!((4..=12).contains(&attempts), "{attempts} attempts");
    // The broker is back: the client connects by itself; disconnect stops.
    proxy.refuse(false);
    let start = Instant::now();
    while !client.connected() && start.elapsed() < Duration::from_secs(5) {
        client.poll(20);
    }
    assert!(client.connected());
    assert_eq!(
        unsafe { emq_client_disconnect(client.ptr) },
        emq_err::EMQ_OK
    );
    let after = proxy.connections();
    assert_eq!(
        unsafe { emq_client_poll(client.ptr, 300) },
        emq_err::EMQ_ERR_NOT_CONNECTED
    );
    assert_eq!(proxy.connections(), after, "reconnected after disconnect");
}

#[test]
fn subscriptions_are_made_again_when_the_session_is_lost() {
    if !support::require_mosquitto() {
        return;
    }
    let broker = Broker::start_default();
    let proxy = FaultProxy::start(broker.addr());
    let mut setup = Setup::new("resub");
    setup.clean_session = true;
    let mut subscriber = CClient::new(&setup).unwrap();
    assert_eq!(subscriber.connect(proxy.port()), emq_err::EMQ_OK);
    subscriber.subscribe("resub/a", 1);
    subscriber.subscribe("resub/b/#", 2);
    let mut publisher = CClient::new(&Setup::new("resub-pub")).unwrap();
    assert_eq!(publisher.connect(broker.port), emq_err::EMQ_OK);
    proxy.cut_now();
    let back = pump(
        &mut subscriber,
        &mut publisher,
        Duration::from_secs(5),
        |s, _| s.seen.connects.len() == 2 && s.seen.subscribed == 3,
    );
    assert!(back, "no automatic resubscribe");
    assert_eq!(subscriber.seen.connects[1], (false, 0));
    publisher.publish(c"resub/a", b"seq:0", 1).unwrap();
    publisher.publish(c"resub/b/c", b"seq:0", 2).unwrap();
    let got = pump(
        &mut subscriber,
        &mut publisher,
        Duration::from_secs(5),
        |s, _| s.seen.messages.len() == 2,
    );
    assert!(
        got,
        "messages after resubscribe: {:?}",
        subscriber.seen.messages.len()
    );
}

#[test]
fn qos0_while_offline_needs_asking_and_a_full_outbox_is_named() {
    let mut plain = CClient::new(&Setup::new("offline-q0")).unwrap();
    assert_eq!(
        plain.publish(c"t", b"x", 0),
        Err(emq_err::EMQ_ERR_NOT_CONNECTED)
    );
    assert!(plain.publish(c"t", b"x", 1).is_ok());
    // Fill the outbox (2,000 messages) and see the named error.
    let mut last = Ok(0);
    for _ in 0..2_100 {
        last = plain.publish(c"t", b"x", 1);
        if last.is_err() {
            break;
        }
    }
    assert_eq!(last, Err(emq_err::EMQ_ERR_STORE_FULL));
    assert_eq!(plain.queued(), 2_000);
}
