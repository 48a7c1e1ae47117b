//! Log and trace events without formatting: a level, an event code, the
//! packet type and id, a number and an error. The client records them in a
//! small queue; the application formats them (hosts turn them into text
//! lines, firmware may print the code or count them).

use crate::Error;

/// How much an event matters; lower is more severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum LogLevel {
    /// Failures: connection lost, a failed attempt, a failed hook.
    Error = 1,
    /// Unusual but handled conditions.
    Warning = 2,
    /// Connection lifecycle.
    Info = 3,
    /// Every request and acknowledgement.
    Debug = 4,
}

/// What happened. The meaning of [`LogRecord::value`] is given per code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LogCode {
    /// A connection attempt starts; value: failed attempts before it.
    Connecting = 1,
    /// CONNACK accepted the connection; value: 1 if the session was present.
    Connected = 2,
    /// An attempt failed before CONNACK; error: why.
    ConnectFailed = 3,
    /// The broker refused the connection; value: the CONNACK return code.
    ConnectRefused = 4,
    /// The connection was lost; error: why.
    ConnectionLost = 5,
    /// The next reconnect attempt is scheduled; value: the delay in ms.
    ReconnectScheduled = 6,
    /// A SUBSCRIBE sent again after the broker lost the session; packet
    /// id: its id; value: how many filters it holds.
    Resubscribing = 7,
    /// Resubscribing stopped; value: filters sent again before it; error: why.
    ResubscribeFailed = 8,
    /// A subscription could not be remembered for resubscribing (the
    /// subscription table is full); it is not made again after a session loss.
    SubscriptionNotRemembered = 9,
    /// Acknowledgements for packet ids not in flight were ignored; value: how many.
    UnknownAcks = 10,
    /// A message larger than the receive buffer was read through; packet
    /// id: its id; value: its payload length (saturated at 2^32 - 1).
    MessageOverflow = 11,
    /// The persistence hook failed to save a message; packet id: its id.
    PersistFailed = 12,
    /// A saved message was put back into the outbox; packet id: its id.
    Restored = 13,
    /// A DISCONNECT was sent; the connection is closed.
    Disconnected = 14,
    /// Log events were dropped because the queue was full; value: how many.
    LogOverflow = 15,
    /// A TLS connection was made without a verified certificate (verify
    /// mode none or optional); error: why it is not verified.
    TlsNotVerified = 16,
}

/// One log event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRecord {
    pub level: LogLevel,
    pub code: LogCode,
    /// The MQTT packet type concerned (3 PUBLISH, 8 SUBSCRIBE, ...), or 0.
    pub packet_type: u8,
    /// The packet id concerned, or 0.
    pub packet_id: u16,
    /// A number whose meaning depends on `code`.
    pub value: u32,
    /// The error concerned, if any.
    pub error: Option<Error>,
}

/// Most events the queue holds between two calls that hand them out (none
/// without the `log-events` feature).
pub const LOG_QUEUE_LEN: usize = if cfg!(feature = "log-events") { 4 } else { 0 };

/// An index one past the ring's end wraps to its start.
#[cfg(feature = "log-events")]
fn wrap(index: usize) -> usize {
    if index >= LOG_QUEUE_LEN {
        index - LOG_QUEUE_LEN
    } else {
        index
    }
}

/// A small ring of log events waiting to be handed to the application.
/// When full, new events are counted, not kept, and reported as
/// [`LogCode::LogOverflow`] once there is room.
#[cfg(feature = "log-events")]
#[derive(Debug, Clone, Copy)]
pub struct LogQueue {
    records: [Option<LogRecord>; LOG_QUEUE_LEN],
    head: u8,
    len: u8,
    /// Most verbose level recorded; `None`: nothing is.
    level: Option<LogLevel>,
    dropped: u16,
    /// The session's unknown-acknowledgement count when last logged.
    unknown_acks_logged: u16,
}

#[cfg(feature = "log-events")]
impl LogQueue {
    /// An empty queue recording events at `level` or more severe.
    pub const fn new(level: Option<LogLevel>) -> Self {
        LogQueue {
            records: [None; LOG_QUEUE_LEN],
            head: 0,
            len: 0,
            level,
            dropped: 0,
            unknown_acks_logged: 0,
        }
    }

    /// How many of the session's `count` unknown acknowledgements are new
    /// since the last call: those are logged.
    pub fn new_unknown_acks(&mut self, count: u16) -> u16 {
        let new = count.wrapping_sub(self.unknown_acks_logged);
        self.unknown_acks_logged = count;
        new
    }

    /// The most verbose level recorded.
    pub fn level(&self) -> Option<LogLevel> {
        self.level
    }

    /// Changes the most verbose level recorded.
    pub fn set_level(&mut self, level: Option<LogLevel>) {
        self.level = level;
    }

    /// True when an event at `level` would be recorded.
    pub fn enabled(&self, level: LogLevel) -> bool {
        self.level.is_some_and(|max| level <= max)
    }

    /// True when events wait.
    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.dropped == 0
    }

    /// Records `record` if its level is enabled.
    #[inline]
    pub fn push(&mut self, record: LogRecord) {
        if !self.enabled(record.level) {
            return;
        }
        if usize::from(self.len) == LOG_QUEUE_LEN {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        let at = wrap(usize::from(self.head) + usize::from(self.len));
        if let Some(slot) = self.records.get_mut(at) {
            *slot = Some(record);
            self.len += 1;
        }
    }

    /// The oldest event, or the count of dropped ones once the queue ran empty.
    pub fn pop(&mut self) -> Option<LogRecord> {
        if self.len == 0 {
            if self.dropped == 0 {
                return None;
            }
            let dropped = core::mem::take(&mut self.dropped);
            return Some(LogRecord {
                level: LogLevel::Warning,
                code: LogCode::LogOverflow,
                packet_type: 0,
                packet_id: 0,
                value: u32::from(dropped),
                error: None,
            });
        }
        let at = usize::from(self.head);
        self.head = wrap(at + 1) as u8;
        self.len -= 1;
        self.records.get_mut(at).and_then(Option::take)
    }
}

/// Without the `log-events` feature: records nothing, and has no room or
/// code for it.
#[cfg(not(feature = "log-events"))]
#[derive(Debug, Clone, Copy)]
pub struct LogQueue;

#[cfg(not(feature = "log-events"))]
#[allow(missing_docs)]
impl LogQueue {
    pub const fn new(_: Option<LogLevel>) -> Self {
        LogQueue
    }
    pub fn level(&self) -> Option<LogLevel> {
        None
    }
    pub fn set_level(&mut self, _: Option<LogLevel>) {}
    pub fn enabled(&self, _: LogLevel) -> bool {
        false
    }
    pub fn is_empty(&self) -> bool {
        true
    }
    #[inline]
    pub fn push(&mut self, _: LogRecord) {}
    pub fn pop(&mut self) -> Option<LogRecord> {
        None
    }
    pub fn new_unknown_acks(&mut self, _: u16) -> u16 {
        0
    }
}

#[cfg(all(test, feature = "log-events"))]
mod tests {
    use super::*;

    fn record(level: LogLevel, value: u32) -> LogRecord {
        LogRecord {
            level,
            code: LogCode::Connecting,
            packet_type: 0,
            packet_id: 0,
            value,
            error: None,
        }
    }

    #[test]
    fn keeps_order_filters_by_level_and_counts_what_did_not_fit() {
        let mut q = LogQueue::new(Some(LogLevel::Info));
        q.push(record(LogLevel::Debug, 99));
        assert!(q.is_empty(), "debug is above info");
        for n in 0..LOG_QUEUE_LEN as u32 + 3 {
            q.push(record(LogLevel::Info, n));
        }
        for n in 0..LOG_QUEUE_LEN as u32 {
            assert_eq!(q.pop().unwrap().value, n);
        }
        let overflow = q.pop().unwrap();
        assert_eq!((overflow.code, overflow.value), (LogCode::LogOverflow, 3));
        assert!(q.pop().is_none());
        q.push(record(LogLevel::Error, 7));
        assert_eq!(q.pop().unwrap().value, 7, "wraps around");
        q.set_level(None);
        q.push(record(LogLevel::Error, 8));
        assert!(q.is_empty());
    }
}
