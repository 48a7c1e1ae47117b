//! Time as every layer takes it: milliseconds on a wrapping 32-bit clock,
//! as firmware tick counters give it (it wraps after 49.7 days). Times are
//! compared by their wrapping difference, so any span up to
//! [`MAX_SPAN_MS`] (24.8 days) is measured right across a wrap; 32-bit
//! times keep the client struct small and its arithmetic one instruction
//! on 32-bit cores.

/// A point on the wrapping millisecond clock.
pub type Millis = u32;

/// The longest span (a timeout, a keepalive, a reconnect delay) the clock
/// measures; longer ones are cut to it.
pub const MAX_SPAN_MS: u32 = i32::MAX as u32;

/// `span_ms` after `now` (a span cut to [`MAX_SPAN_MS`]).
#[inline]
pub fn after(now: Millis, span_ms: u32) -> Millis {
    now.wrapping_add(span_ms.min(MAX_SPAN_MS))
}

/// Whether `deadline` has come at `now`.
#[inline]
pub fn reached(now: Millis, deadline: Millis) -> bool {
    now.wrapping_sub(deadline) as i32 >= 0
}

/// Milliseconds from `now` until `deadline`: 0 once it has come.
#[inline]
pub fn until(now: Millis, deadline: Millis) -> u32 {
    if reached(now, deadline) {
        0
    } else {
        deadline.wrapping_sub(now)
    }
}

/// Milliseconds from `since` to `now`.
#[inline]
pub fn elapsed(now: Millis, since: Millis) -> u32 {
    now.wrapping_sub(since)
}

/// The earlier of two times (both within [`MAX_SPAN_MS`] of each other).
#[inline]
pub fn earlier(a: Millis, b: Millis) -> Millis {
    if (a.wrapping_sub(b) as i32) < 0 {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_measured_across_the_wrap() {
        let now = u32::MAX - 10;
        let deadline = after(now, 100);
        assert_eq!(deadline, 89);
        assert!(!reached(now, deadline));
        assert_eq!(until(now, deadline), 100);
        assert!(!reached(88, deadline));
        assert!(reached(89, deadline));
        assert!(reached(1000, deadline));
        assert_eq!(until(1000, deadline), 0);
        assert_eq!(elapsed(5, u32::MAX - 4), 10);
        assert_eq!(earlier(u32::MAX - 4, 5), u32::MAX - 4);
        assert_eq!(earlier(5, u32::MAX - 4), u32::MAX - 4);
        assert_eq!(earlier(3, 7), 3);
    }

    #[test]
    fn spans_longer_than_the_clock_measures_are_cut() {
        assert_eq!(after(0, u32::MAX), MAX_SPAN_MS);
        assert!(!reached(1, after(0, u32::MAX)));
    }
}
