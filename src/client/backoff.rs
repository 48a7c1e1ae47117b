//! Reconnect delays: the first retry after a fixed interval, then
//! exponential backoff with ±25 % jitter up to a maximum, so a fleet of
//! devices that lost the same broker does not come back in lockstep.

/// Delay schedule for reconnect attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    min_ms: u32,
    max_ms: u32,
    /// The un-jittered delay before the next attempt; 0 before the first.
    base_ms: u32,
    /// xorshift32 state for the jitter; never 0.
    rng: u32,
}

impl Backoff {
    /// A schedule starting at `min_ms` and growing to at most `max_ms`
    /// (raised to `min_ms` if smaller). `seed` varies the jitter between
    /// devices (a clock reading or a chip id will do).
    pub fn new(min_ms: u32, max_ms: u32, seed: u32) -> Self {
        Backoff {
            min_ms,
            max_ms: max_ms.max(min_ms),
            base_ms: 0,
            rng: seed | 1,
        }
    }

    /// The jitter state, to carry into a new schedule.
    pub fn seed(&self) -> u32 {
        self.rng
    }

    /// Starts over after a successful connection.
    pub fn reset(&mut self) {
        self.base_ms = 0;
    }

    /// The wait before the next attempt: exactly the minimum the first
    /// time, then doubling, jittered by ±25 %, never above the maximum.
    pub fn next_delay(&mut self) -> u32 {
        if self.base_ms == 0 {
            self.base_ms = self.min_ms;
            return self.min_ms;
        }
        self.base_ms = self.base_ms.saturating_mul(2).min(self.max_ms);
        let quarter = self.base_ms / 4;
        let jitter = if quarter == 0 {
            0
        } else {
            self.next_random() % (2 * quarter + 1)
        };
        (self.base_ms - quarter + jitter).min(self.max_ms)
    }

    /// Jumps to the longest delay: for refusals that retrying soon cannot
    /// fix (bad credentials, not authorized).
    pub fn give_up_for_now(&mut self) -> u32 {
        self.base_ms = self.max_ms;
        self.max_ms
    }

    fn next_random(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_retry_is_the_interval_then_doubles_with_jitter_to_the_max() {
        let mut backoff = Backoff::new(3_000, 60_000, 12345);
        assert_eq!(backoff.next_delay(), 3_000);
        let second = backoff.next_delay();
        assert!((4_500..=7_500).contains(&second), "{second}");
        let third = backoff.next_delay();
        assert!((9_000..=15_000).contains(&third), "{third}");
        for _ in 0..20 {
            assert!(backoff.next_delay() <= 60_000);
        }
        // Capped runs stay jittered within 75..100 % of the maximum.
        let capped = backoff.next_delay();
        assert!((45_000..=60_000).contains(&capped), "{capped}");
        backoff.reset();
        assert_eq!(backoff.next_delay(), 3_000);
    }

    #[test]
    fn jitter_differs_between_seeds() {
        let delays = |seed| {
            let mut b = Backoff::new(1_000, 1_000_000, seed);
            (0..8).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_ne!(delays(1), delays(2));
    }

    #[test]
    fn refusals_wait_the_maximum_and_small_maxima_hold() {
        let mut backoff = Backoff::new(3_000, 10_000, 7);
        assert_eq!(backoff.give_up_for_now(), 10_000);
        assert!(backoff.next_delay() <= 10_000);
        let mut tiny = Backoff::new(5_000, 1_000, 7);
        assert_eq!(tiny.next_delay(), 5_000);
        assert!(tiny.next_delay() <= 5_000);
    }
}
