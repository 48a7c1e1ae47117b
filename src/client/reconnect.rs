//! When to reconnect: the policy an application chooses and the schedule
//! of attempts it produces, on the client's clock. No I/O: the driver asks
//! [`Reconnect::due`] and makes the attempt itself.

#[cfg(feature = "reconnect")]
use super::backoff::Backoff;
#[allow(unused_imports)]
use crate::time::{self, Millis};

/// How a client reconnects after a lost connection or a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Reconnect by itself at all.
    pub enabled: bool,
    /// First retry this long after the loss, in ms.
    pub min_ms: u32,
    /// Retries back off exponentially (with jitter) up to this, in ms;
    /// refusals for bad credentials or authorization wait this long.
    pub max_ms: u32,
    /// Retry every `min_ms` exactly: no doubling, no jitter (NodeMCU's and
    /// LuatOS's fixed reconnect interval).
    pub fixed_interval: bool,
    /// Retry when the very first attempt fails. Off: only a connection that
    /// once got CONNACK is reconnected; a failed first attempt is final.
    pub retry_first_connect: bool,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            enabled: false,
            min_ms: 3_000,
            max_ms: 60_000,
            fixed_interval: false,
            retry_first_connect: true,
        }
    }
}

/// What a disconnected client should do about reconnecting now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Not reconnecting (off, stopped, or connected).
    Idle,
    /// Make an attempt now.
    Now,
    /// The next attempt is due in this many ms.
    Wait(u32),
}

/// Reconnect state: whether the client is reconnecting and when next.
#[cfg(feature = "reconnect")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect {
    policy: ReconnectPolicy,
    /// Reconnecting until the application disconnects.
    active: bool,
    /// When to try next, on the client's clock.
    next_attempt_ms: Option<Millis>,
    backoff: Backoff,
    /// Attempts failed since the last successful connection.
    failures: u32,
    /// A CONNACK accepted a connection since the application asked.
    connected_once: bool,
}

#[cfg(feature = "reconnect")]
impl Reconnect {
    /// Idle reconnect state for `policy`; `seed` varies the jitter between
    /// devices.
    pub fn new(policy: ReconnectPolicy, seed: u32) -> Self {
        Reconnect {
            policy,
            active: false,
            next_attempt_ms: None,
            backoff: Backoff::new(policy.min_ms, policy.max_ms, seed),
            failures: 0,
            connected_once: false,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> ReconnectPolicy {
        self.policy
    }

    /// Changes the policy; the schedule starts over.
    pub fn set_policy(&mut self, policy: ReconnectPolicy) {
        let seed = self.backoff.seed();
        self.policy = policy;
        self.backoff = Backoff::new(policy.min_ms, policy.max_ms, seed);
        if !policy.enabled {
            self.stop();
        }
    }

    /// True while reconnecting automatically (until disconnect).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Attempts failed since the last successful connection.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The application asked to connect: reconnecting starts if enabled.
    pub fn requested(&mut self) {
        self.active = self.policy.enabled;
        self.next_attempt_ms = None;
        self.connected_once = false;
        self.failures = 0;
        self.backoff.reset();
    }

    /// A CONNACK accepted the connection.
    pub fn connected(&mut self) {
        self.backoff.reset();
        self.failures = 0;
        self.next_attempt_ms = None;
        self.connected_once = true;
    }

    /// An attempt failed (`refused_code`: the CONNACK code of a refusal) or
    /// the connection was lost (`lost`) at `now_ms`. Returns the delay
    /// before the next attempt, or `None` when not reconnecting.
    pub fn schedule(
        &mut self,
        now_ms: Millis,
        refused_code: Option<u8>,
        lost: bool,
    ) -> Option<u32> {
        if !lost {
            self.failures = self.failures.saturating_add(1);
        }
        if !lost && !self.connected_once && !self.policy.retry_first_connect {
            self.active = false;
        }
        if !self.active {
            return None;
        }
        let delay = if self.policy.fixed_interval {
            self.policy.min_ms
        } else {
            // 4: bad user name or password, 5: not authorized. Retrying
            // soon cannot help; keep trying, but slowly.
            match refused_code {
                Some(4 | 5) => self.backoff.give_up_for_now(),
                _ => self.backoff.next_delay(),
            }
        };
        self.next_attempt_ms = Some(time::after(now_ms, delay));
        Some(delay)
    }

    /// Stops reconnecting (the application disconnected).
    pub fn stop(&mut self) {
        self.active = false;
        self.next_attempt_ms = None;
    }

    /// Whether a disconnected client should make an attempt at `now_ms`.
    pub fn due(&self, now_ms: Millis) -> Due {
        if !self.active {
            return Due::Idle;
        }
        match self.next_attempt_ms {
            Some(at) if !time::reached(now_ms, at) => Due::Wait(time::until(now_ms, at)),
            _ => Due::Now,
        }
    }
}

/// Without the `reconnect` feature: never reconnecting, and no room or
/// code for it.
#[cfg(not(feature = "reconnect"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconnect;

#[cfg(not(feature = "reconnect"))]
#[allow(missing_docs)]
impl Reconnect {
    pub fn new(_: ReconnectPolicy, _: u32) -> Self {
        Reconnect
    }
    pub fn policy(&self) -> ReconnectPolicy {
        ReconnectPolicy::default()
    }
    pub fn set_policy(&mut self, _: ReconnectPolicy) {}
    pub fn is_active(&self) -> bool {
        false
    }
    pub fn failures(&self) -> u32 {
        0
    }
    pub fn requested(&mut self) {}
    pub fn connected(&mut self) {}
    pub fn schedule(&mut self, _: Millis, _: Option<u8>, _: bool) -> Option<u32> {
        None
    }
    pub fn stop(&mut self) {}
    pub fn due(&self, _: Millis) -> Due {
        Due::Idle
    }
}

#[cfg(all(test, feature = "reconnect"))]
mod tests {
    use super::*;

    fn enabled() -> ReconnectPolicy {
        ReconnectPolicy {
            enabled: true,
            min_ms: 1_000,
            max_ms: 8_000,
            ..ReconnectPolicy::default()
        }
    }

    #[test]
    fn idle_until_requested_and_after_stop() {
        let mut r = Reconnect::new(enabled(), 1);
        assert_eq!(r.due(0), Due::Idle);
        r.requested();
        assert_eq!(r.due(0), Due::Now);
        assert_eq!(r.schedule(100, None, true), Some(1_000));
        assert_eq!(r.due(600), Due::Wait(500));
        assert_eq!(r.due(1_100), Due::Now);
        r.stop();
        assert_eq!(r.due(5_000), Due::Idle);
        assert_eq!(r.schedule(5_000, None, true), None);
    }

    #[test]
    fn disabled_policy_never_schedules() {
        let mut r = Reconnect::new(ReconnectPolicy::default(), 1);
        r.requested();
        assert_eq!(r.due(0), Due::Idle);
        assert_eq!(r.schedule(0, None, true), None);
    }

    #[test]
    fn fixed_interval_neither_doubles_nor_jitters() {
        let mut r = Reconnect::new(
            ReconnectPolicy {
                fixed_interval: true,
                ..enabled()
            },
            7,
        );
        r.requested();
        for n in 0..10 {
            assert_eq!(r.schedule(n * 10_000, None, false), Some(1_000));
        }
        assert_eq!(r.schedule(0, Some(5), false), Some(1_000));
        assert_eq!(r.failures(), 11);
    }

    #[test]
    fn no_retry_before_the_first_connack_when_asked() {
        let mut r = Reconnect::new(
            ReconnectPolicy {
                retry_first_connect: false,
                ..enabled()
            },
            7,
        );
        r.requested();
        assert_eq!(r.schedule(0, None, false), None, "first attempt failed");
        assert_eq!(r.due(10_000), Due::Idle);
        r.requested();
        r.connected();
        assert_eq!(r.schedule(0, None, true), Some(1_000), "lost after CONNACK");
        assert!(r.schedule(2_000, None, false).is_some(), "retries go on");
    }

    #[test]
    fn refusals_wait_the_maximum_and_success_starts_over() {
        let mut r = Reconnect::new(enabled(), 3);
        r.requested();
        assert_eq!(r.schedule(0, Some(4), false), Some(8_000));
        r.connected();
        assert_eq!(r.failures(), 0);
        assert_eq!(r.schedule(0, None, true), Some(1_000));
    }
}
