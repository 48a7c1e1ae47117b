//! A [`Client`] kept connected: reconnects with backoff on its clock,
//! subscribes again when the broker lost the session, routes messages to
//! per-filter handlers, and records log events. No heap, no I/O of its own:
//! the driver opens each transport and hands it in, and memory (the
//! subscription table) comes from the caller. This is the client the C API
//! runs, in both builds.

use super::log::{LogCode, LogLevel, LogQueue, LogRecord};
use super::reconnect::{Due, Reconnect, ReconnectPolicy};
use super::subscriptions::{Pending, Subscriptions, TableMemory};
use super::{Client, ClientEvent, Connected, InputWindow};
use crate::codec::{QoS, SubscribeTopic, TopicList};
use crate::session::{ConnectOptions, Memory, State};
use crate::transport::{Clock, Transport};
use crate::Error;

/// Filters per SUBSCRIBE when subscribing again after a session loss
/// (gathered on the stack).
pub(super) const RESUBSCRIBE_CHUNK: usize = 8;

/// MQTT packet types named in log events.
const SUBSCRIBE: u8 = 8;
const PUBLISH: u8 = 3;
const CONNECT: u8 = 1;

/// What a [`Supervisor`] does beyond the client underneath.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Behaviour {
    /// When and whether to reconnect.
    pub reconnect: ReconnectPolicy,
    /// Subscribe again to every remembered filter after a CONNACK without
    /// a session.
    pub resubscribe: bool,
    /// Most verbose log events recorded; `None`: none.
    pub log_level: Option<LogLevel>,
    /// After a lost connection, drop sent and unacknowledged QoS 1/2
    /// messages instead of resending them ([`Supervisor::drop_next_unacked`]).
    pub drop_unacked_on_loss: bool,
    /// Route a message to every matching handler, not only the first.
    pub all_matching_handlers: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            reconnect: ReconnectPolicy::default(),
            resubscribe: true,
            log_level: Some(LogLevel::Info),
            drop_unacked_on_loss: false,
            all_matching_handlers: false,
        }
    }
}

/// The switches of a [`Behaviour`], one bit each (the client struct is
/// firmware memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Flags(u8);

impl Flags {
    const RESUBSCRIBE: u8 = 1;
    const DROP_UNACKED_ON_LOSS: u8 = 2;
    const ALL_MATCHING_HANDLERS: u8 = 4;

    fn of(b: &Behaviour) -> Self {
        Flags(
            (u8::from(b.resubscribe) * Self::RESUBSCRIBE)
                | (u8::from(b.drop_unacked_on_loss) * Self::DROP_UNACKED_ON_LOSS)
                | (u8::from(b.all_matching_handlers) * Self::ALL_MATCHING_HANDLERS),
        )
    }

    fn resubscribe(self) -> bool {
        self.0 & Self::RESUBSCRIBE != 0
    }

    fn drop_unacked_on_loss(self) -> bool {
        self.0 & Self::DROP_UNACKED_ON_LOSS != 0
    }

    fn all_matching_handlers(self) -> bool {
        self.0 & Self::ALL_MATCHING_HANDLERS != 0
    }
}

/// A client with reconnect, resubscribe, handlers and log events.
pub struct Supervisor<M, T, C, R, S, H>
where
    M: Memory,
    T: Transport,
    C: Clock,
    R: AsRef<[u8]> + AsMut<[u8]>,
    S: TableMemory<H>,
    H: Copy,
{
    client: Client<M, T, C, R>,
    pub(super) subscriptions: Subscriptions<S, H>,
    reconnect: Reconnect,
    log: LogQueue,
    /// The behaviour's switches (the policy and log level live in
    /// `reconnect` and `log`).
    flags: Flags,
    last_return_code: u8,
    last_error: Option<Error>,
}

impl<M, T, C, R, S, H> Supervisor<M, T, C, R, S, H>
where
    M: Memory,
    T: Transport,
    C: Clock,
    R: AsRef<[u8]> + AsMut<[u8]>,
    S: TableMemory<H>,
    H: Copy,
{
    /// Supervises `client`, remembering subscriptions in `subscriptions`.
    /// `seed` varies reconnect jitter between devices.
    // Inlined so firmware can construct it in place (see Session::new).
    #[inline(always)]
    pub fn new(
        client: Client<M, T, C, R>,
        subscriptions: Subscriptions<S, H>,
        behaviour: Behaviour,
        seed: u32,
    ) -> Self {
        Supervisor {
            client,
            subscriptions,
            reconnect: Reconnect::new(behaviour.reconnect, seed),
            log: LogQueue::new(behaviour.log_level),
            flags: Flags::of(&behaviour),
            last_return_code: 0,
            last_error: None,
        }
    }

    /// The client underneath.
    pub fn client(&self) -> &Client<M, T, C, R> {
        &self.client
    }

    /// The client underneath, to publish or read received bytes.
    pub fn client_mut(&mut self) -> &mut Client<M, T, C, R> {
        &mut self.client
    }

    /// The remembered subscriptions.
    pub fn subscriptions(&self) -> &Subscriptions<S, H> {
        &self.subscriptions
    }

    /// The reconnect state.
    pub fn reconnect(&self) -> &Reconnect {
        &self.reconnect
    }

    /// What it does beyond the client.
    pub fn behaviour(&self) -> Behaviour {
        Behaviour {
            reconnect: self.reconnect.policy(),
            resubscribe: self.flags.resubscribe(),
            log_level: self.log.level(),
            drop_unacked_on_loss: self.flags.drop_unacked_on_loss(),
            all_matching_handlers: self.flags.all_matching_handlers(),
        }
    }

    /// Changes what it does beyond the client (the reconnect schedule
    /// starts over).
    pub fn set_behaviour(&mut self, behaviour: Behaviour) {
        self.flags = Flags::of(&behaviour);
        self.reconnect.set_policy(behaviour.reconnect);
        self.log.set_level(behaviour.log_level);
    }

    /// The log queue's level.
    pub fn set_log_level(&mut self, level: Option<LogLevel>) {
        self.log.set_level(level);
    }

    /// True when an event at `level` would be recorded.
    pub fn logs(&self, level: LogLevel) -> bool {
        self.log.enabled(level)
    }

    /// The oldest log event not yet handed out.
    pub fn take_log(&mut self) -> Option<LogRecord> {
        self.log.pop()
    }

    /// True when log events wait.
    pub fn has_logs(&self) -> bool {
        !self.log.is_empty()
    }

    /// Records a log event.
    pub fn record(
        &mut self,
        level: LogLevel,
        code: LogCode,
        packet_type: u8,
        packet_id: u16,
        value: u32,
        error: Option<Error>,
    ) {
        self.log.push(LogRecord {
            level,
            code,
            packet_type,
            packet_id,
            value,
            error,
        });
    }

    /// The return code of the last CONNACK (0 accepted).
    pub fn last_return_code(&self) -> u8 {
        self.last_return_code
    }

    /// Why the last attempt failed or the last connection ended; `None`
    /// after a successful connect.
    pub fn last_error(&self) -> Option<Error> {
        self.last_error
    }

    /// The application asked to connect: automatic reconnecting starts (if
    /// the policy enables it) from here until [`disconnect`](Self::disconnect).
    pub fn request_connect(&mut self) {
        self.reconnect.requested();
        self.reconnecting();
    }

    /// Whether a reconnect attempt is due: only while disconnected.
    pub fn reconnect_due(&mut self) -> Due {
        if self.client.state() != State::Disconnected {
            return Due::Idle;
        }
        let now = self.client.now_ms();
        self.reconnect.due(now)
    }

    /// Logs the start of an automatic attempt.
    pub fn reconnecting(&mut self) {
        let failures = self.reconnect.failures();
        self.record(
            LogLevel::Info,
            LogCode::Connecting,
            CONNECT,
            0,
            failures,
            None,
        );
    }

    /// Connects over an open `transport` (see [`Client::connect`]); on
    /// success resubscribes if the broker lost the session, on failure
    /// schedules the next attempt.
    pub fn connect(
        &mut self,
        transport: T,
        options: &ConnectOptions<'_>,
    ) -> Result<Connected, Error> {
        let result = self.client.connect(transport, options);
        match result {
            Ok(connected) => self.connected(connected.session_present),
            Err(err) => self.attempt_failed(err),
        }
        result
    }

    /// Starts a connection over an open `transport` without waiting (see
    /// [`Client::start_connect`]): [`poll_event`](Self::poll_event) reports
    /// the outcome, and resubscribes or schedules the next attempt.
    pub fn start_connect(
        &mut self,
        transport: T,
        options: &ConnectOptions<'_>,
    ) -> Result<(), Error> {
        let result = self.client.start_connect(transport, options);
        if let Err(err) = result {
            self.attempt_failed(err);
        }
        result
    }

    /// An attempt failed (the transport did not open, or CONNECT failed):
    /// logs it and schedules the next attempt when reconnecting.
    pub fn attempt_failed(&mut self, err: Error) {
        let refused = match err {
            Error::ConnectionRefused(code) => {
                self.last_return_code = code;
                let value = u32::from(code);
                self.record(
                    LogLevel::Error,
                    LogCode::ConnectRefused,
                    CONNECT,
                    0,
                    value,
                    None,
                );
                Some(code)
            }
            _ => {
                self.record(
                    LogLevel::Error,
                    LogCode::ConnectFailed,
                    CONNECT,
                    0,
                    0,
                    Some(err),
                );
                None
            }
        };
        self.last_error = Some(err);
        self.schedule_next(refused, false);
    }

    fn connected(&mut self, session_present: bool) {
        self.last_return_code = 0;
        self.last_error = None;
        self.reconnect.connected();
        let present = u32::from(session_present);
        self.record(LogLevel::Info, LogCode::Connected, 0, 0, present, None);
        if !session_present && self.flags.resubscribe() {
            self.subscribe_again();
        } else if self.subscriptions.has_pending() {
            self.send_pending(Pending::Subscribe);
        }
        if session_present && self.subscriptions.has_pending() {
            self.send_pending(Pending::Unsubscribe);
        }
        self.subscriptions.settle_pending();
    }

    /// Sends what was subscribed or unsubscribed while offline.
    fn send_pending(&mut self, kind: Pending) {
        self.send_table(Some(kind));
    }

    /// Subscribes again to every remembered filter.
    fn subscribe_again(&mut self) {
        self.send_table(None);
    }

    /// Sends table entries a few per packet: with `None` a SUBSCRIBE for
    /// every subscription in force (after a session loss), otherwise a
    /// SUBSCRIBE or UNSUBSCRIBE for what is pending of that kind. Out of
    /// line and cold: its filter arrays and the encoder stay off the frames
    /// of the receive path.
    #[inline(never)]
    #[cold]
    fn send_table(&mut self, which: Option<Pending>) {
        // Without `subscriptions` no table holds anything, so nothing is
        // sent: said at compile time, the call folds away (the filter
        // array's setup was left behind as an empty loop, and a call).
        if !cfg!(feature = "subscriptions") {
            return;
        }
        let mut start = 0;
        // Bounded by the table's length: every turn takes at least one entry.
        loop {
            let mut topics = [NO_TOPIC; RESUBSCRIBE_CHUNK];
            let count = match which {
                None => self.subscriptions.fill_topics(start, &mut topics),
                Some(kind) => self.subscriptions.fill_pending(kind, start, &mut topics),
            };
            if count == 0 {
                return;
            }
            let result = if which == Some(Pending::Unsubscribe) {
                self.client.request_filters(&&topics[..count], true)
            } else {
                #[cfg(feature = "mqtt5")]
                if self.client.session().is_v5() {
                    super::v5::resubscribe(&mut self.client, &self.subscriptions, &topics[..count])
                } else {
                    self.client.subscribe(&topics[..count])
                }
                #[cfg(not(feature = "mqtt5"))]
                self.client.subscribe(&topics[..count])
            };
            let sent = start as u32;
            match result {
                Ok(id) if which.is_none() => self.log.push(LogRecord {
                    level: LogLevel::Info,
                    code: LogCode::Resubscribing,
                    packet_type: SUBSCRIBE,
                    packet_id: id,
                    value: count as u32,
                    error: None,
                }),
                Ok(_) => {}
                Err(err) => {
                    self.record(
                        LogLevel::Error,
                        LogCode::ResubscribeFailed,
                        SUBSCRIBE,
                        0,
                        sent,
                        Some(err),
                    );
                    return;
                }
            }
            start += count;
        }
    }

    /// Subscribes to `topics` (see [`Client::subscribe`]) and remembers
    /// them for resubscribing. With `handler` (one topic), messages that
    /// match it go to the handler; a full table is then an error and
    /// nothing is sent. Without, a filter the table has no room for is
    /// still subscribed, and logged as not remembered.
    pub fn subscribe(
        &mut self,
        topics: &[SubscribeTopic<'_>],
        handler: Option<H>,
    ) -> Result<u16, Error> {
        self.request_filters(&topics, handler, false)
    }

    /// [`subscribe`](Self::subscribe), or with `unsubscribe`
    /// [`unsubscribe`](Self::unsubscribe) from the filters of `topics`
    /// (their QoS and `handler` unused): one path and the C API's list
    /// type for both requests, at either protocol level.
    pub(crate) fn request_filters(
        &mut self,
        topics: &dyn TopicList,
        handler: Option<H>,
        unsubscribe: bool,
    ) -> Result<u16, Error> {
        if self.offline_changes() {
            if !unsubscribe {
                return self.subscribe_offline(topics, handler);
            }
            for topic in topics.iter() {
                crate::topic::validate_topic_filter(topic.filter)?;
            }
            for topic in topics.iter() {
                self.subscriptions.forget_offline(topic.filter)?;
            }
            return Ok(0);
        }
        let mut added = None;
        // The first entry read only for a handler (a read of the caller's
        // list is a call).
        if let (false, Some(handler)) = (unsubscribe, handler) {
            if let Some(first) = topics.topic(0) {
                let known = self.subscriptions.iter().any(|(f, _, _)| f == first.filter);
                self.subscriptions
                    .remember(first.filter, first.qos, Some(handler))?;
                added = (!known).then_some(first.filter);
            }
        }
        let id = match self.client.request_filters(topics, unsubscribe) {
            Ok(id) => id,
            Err(err) => {
                if let Some(filter) = added {
                    self.subscriptions.forget(filter);
                }
                return Err(err);
            }
        };
        if unsubscribe {
            // Without a table there is nothing to forget: the list is not
            // read again.
            if self.subscriptions.capacity().0 != 0 {
                for topic in topics.iter() {
                    self.subscriptions.forget(topic.filter);
                }
            }
        } else {
            self.remember_subscribed(topics.iter().map(|t| (t.filter, t.qos)), id);
        }
        Ok(id)
    }

    /// Remembers the filters of SUBSCRIBE `id` for resubscribing; one the
    /// table has no room for is logged as not remembered.
    pub(super) fn remember_subscribed<'t>(
        &mut self,
        topics: impl Iterator<Item = (&'t str, QoS)>,
        id: u16,
    ) {
        if self.subscriptions.capacity().0 == 0 {
            return;
        }
        for (filter, qos) in topics {
            if self.subscriptions.remember(filter, qos, None).is_err() {
                self.record(
                    LogLevel::Warning,
                    LogCode::SubscriptionNotRemembered,
                    SUBSCRIBE,
                    id,
                    0,
                    Some(Error::SubscriptionsFull),
                );
            }
        }
    }

    /// True when a subscribe or unsubscribe now is remembered for the next
    /// CONNACK rather than sent: with the session's `queue_offline`, the
    /// flag offline publishes follow too.
    fn offline_changes(&self) -> bool {
        self.client.session().config().queue_offline
            && self.client.state() != State::Connected
            && self.subscriptions.capacity().0 > 0
    }

    /// Subscribes while offline: remembered, and sent after the next
    /// CONNACK. Returns packet id 0 (the SUBSCRIBE gets its id when sent).
    /// A full table is an error and nothing changes.
    fn subscribe_offline(
        &mut self,
        topics: &dyn TopicList,
        handler: Option<H>,
    ) -> Result<u16, Error> {
        let (entries, bytes) = self.subscriptions.capacity();
        let room = entries - self.subscriptions.len();
        let needed: usize = topics.iter().map(|t| t.filter.len()).sum();
        let used: usize = self.subscriptions.iter().map(|(f, _, _)| f.len()).sum();
        if topics.len() > room || needed > bytes.saturating_sub(used) {
            return Err(Error::SubscriptionsFull);
        }
        for topic in topics.iter() {
            crate::topic::validate_topic_filter(topic.filter)?;
        }
        for topic in topics.iter() {
            self.subscriptions
                .remember_offline(topic.filter, topic.qos, handler)?;
        }
        Ok(0)
    }

    /// Unsubscribes from `filters` and forgets them and their handlers.
    /// While offline (with a subscription table), the UNSUBSCRIBE goes out
    /// after the next CONNACK if the broker kept the session; returns 0.
    pub fn unsubscribe(&mut self, filters: &[&str]) -> Result<u16, Error> {
        if self.offline_changes() {
            for filter in filters {
                crate::topic::validate_topic_filter(filter)?;
            }
            for filter in filters {
                self.subscriptions.forget_offline(filter)?;
            }
            return Ok(0);
        }
        let id = self.client.unsubscribe(filters)?;
        self.forget_unsubscribed(filters);
        Ok(id)
    }

    /// Forgets `filters` and their handlers.
    pub(super) fn forget_unsubscribed(&mut self, filters: &[&str]) {
        for filter in filters {
            self.subscriptions.forget(filter);
        }
    }

    /// The handler for a message on `topic`: the first remembered filter
    /// with a handler that matches. The topic is checked as UTF-8 only
    /// when some handler exists.
    pub fn handler_for(&self, topic: &[u8]) -> Option<H> {
        if !self.subscriptions.has_handlers() {
            return None;
        }
        let topic = crate::codec::from_utf8(topic)?;
        self.subscriptions.handler_for(topic)
    }

    /// The `n`th handler (from 0) a message on `topic` goes to: only the
    /// first matching one, or every one with
    /// [`Behaviour::all_matching_handlers`].
    pub fn nth_handler_for(&self, topic: &[u8], n: usize) -> Option<H> {
        if n == 0 {
            return self.handler_for(topic);
        }
        if !self.flags.all_matching_handlers() || !self.subscriptions.has_handlers() {
            return None;
        }
        let topic = crate::codec::from_utf8(topic)?;
        let mut seen = 0;
        let mut found = None;
        self.subscriptions.each_handler_for(topic, |handler| {
            if seen == n {
                found = Some(handler);
            }
            seen += 1;
        });
        found
    }

    /// True when a message goes to every matching handler, not only the
    /// first ([`Behaviour::all_matching_handlers`]).
    pub fn routes_to_every_handler(&self) -> bool {
        self.flags.all_matching_handlers()
    }

    /// After a lost connection with [`Behaviour::drop_unacked_on_loss`]:
    /// drops one sent, unacknowledged QoS 1/2 message and returns its
    /// packet id; `None` when none is left (or the option is off).
    pub fn drop_next_unacked(&mut self) -> Option<u16> {
        if !self.flags.drop_unacked_on_loss() {
            return None;
        }
        self.client.drop_next_sent()
    }

    /// Publishes (see [`Client::publish`]).
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<u16, Error> {
        self.client.publish(topic, payload, qos, retain)
    }

    /// Publishes, writing as `write` says (see [`Client::publish_with`]).
    pub fn publish_with(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        write: super::Write,
    ) -> Result<(u16, bool), Error> {
        self.client.publish_with(topic, payload, qos, retain, write)
    }

    /// One turn of the loop (see [`Client::poll_event`]); a lost
    /// connection schedules the next reconnect attempt.
    // Without `subscriptions`: out of line, with the client's turn
    // inlined (one frame, the decoder's, kept off the callers' loops,
    // which make the callbacks). With it, the client's turn stays a call:
    // resubscribing (from `observe`) then runs after that frame is gone,
    // not under it.
    #[cfg_attr(not(feature = "subscriptions"), inline(never))]
    pub fn poll_event(&mut self, timeout_ms: u32) -> Result<Option<ClientEvent>, Error> {
        #[cfg(not(feature = "subscriptions"))]
        let event = self.client.poll_event_inlined(timeout_ms);
        #[cfg(feature = "subscriptions")]
        let event = self.client.poll_event(timeout_ms);
        self.note_unknown_acks();
        if let Ok(Some(event)) = &event {
            self.observe(event);
        }
        event
    }

    /// Hands in what a read outside the client gave (see
    /// [`Client::input_arrived`]); a lost connection schedules the next
    /// reconnect attempt.
    pub fn input_arrived(
        &mut self,
        window: InputWindow,
        read: Result<usize, Error>,
    ) -> Option<ClientEvent> {
        let event = self.client.input_arrived(window, read)?;
        self.observe(&event);
        Some(event)
    }

    /// What the supervisor does about an event before the application
    /// hears of it.
    fn observe(&mut self, event: &ClientEvent) {
        match *event {
            ClientEvent::ConnectionLost(reason) => self.connection_lost(reason),
            ClientEvent::Connected { session_present } => self.connected(session_present),
            ClientEvent::ConnectFailed(err) => self.attempt_failed(err),
            ClientEvent::Overflow {
                payload, packet_id, ..
            } => {
                let payload_len = self.client.overflow_len(payload);
                let len = u32::try_from(payload_len).unwrap_or(u32::MAX);
                self.record(
                    LogLevel::Warning,
                    LogCode::MessageOverflow,
                    PUBLISH,
                    packet_id,
                    len,
                    None,
                );
            }
            _ => {}
        }
    }

    /// Takes the reason a write closed the connection (see
    /// [`Client::take_unreported_loss`]), scheduling the next attempt.
    pub fn take_unreported_loss(&mut self) -> Option<Error> {
        let reason = self.client.take_unreported_loss()?;
        self.connection_lost(reason);
        Some(reason)
    }

    fn connection_lost(&mut self, reason: Error) {
        self.last_error = Some(reason);
        self.record(
            LogLevel::Error,
            LogCode::ConnectionLost,
            0,
            0,
            0,
            Some(reason),
        );
        self.schedule_next(None, true);
    }

    /// Schedules the next reconnect attempt after a failed one (`refused`:
    /// its CONNACK code) or a lost connection, and logs the delay.
    fn schedule_next(&mut self, refused: Option<u8>, lost: bool) {
        // Without `reconnect` there is no attempt to schedule.
        if !cfg!(feature = "reconnect") {
            return;
        }
        let now = self.client.now_ms();
        if let Some(delay) = self.reconnect.schedule(now, refused, lost) {
            let level = if lost {
                LogLevel::Info
            } else {
                LogLevel::Warning
            };
            self.record(level, LogCode::ReconnectScheduled, 0, 0, delay, None);
        }
    }

    fn note_unknown_acks(&mut self) {
        if !self.log.enabled(LogLevel::Warning) {
            return;
        }
        let new = self
            .log
            .new_unknown_acks(self.client.session().unknown_acks());
        if new > 0 {
            let new = u32::from(new);
            self.record(LogLevel::Warning, LogCode::UnknownAcks, 0, 0, new, None);
        }
    }

    /// Sends DISCONNECT and closes the transport (see
    /// [`Client::disconnect`]); automatic reconnecting stops.
    pub fn disconnect(&mut self) -> Result<(), Error> {
        self.reconnect.stop();
        let result = self.client.disconnect();
        if result.is_ok() {
            self.record(LogLevel::Info, LogCode::Disconnected, 0, 0, 0, None);
        }
        result
    }

    /// Stops reconnecting without touching the connection.
    pub fn stop_reconnecting(&mut self) {
        self.reconnect.stop();
    }
}

/// An empty SUBSCRIBE entry, to initialise the arrays `fill_topics` fills.
const NO_TOPIC: SubscribeTopic<'static> = SubscribeTopic {
    filter: "",
    qos: QoS::AtMostOnce,
};
