//! The dev clock: the server's "now" is real time plus an offset that only
//! moves forward (`POST /dev/v1/clock/advance`, [`crate::LocalHarbor::advance_clock`]).
//! JWT expiry, capability-token and intent deadlines, and reservation holds
//! are all measured on it, so tests expire things without sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The most the clock can be moved ahead in total (100 years).
pub const MAX_OFFSET_SECS: u64 = 100 * 365 * 86_400;

/// Real time plus a forward-only offset (whole seconds).
#[derive(Debug, Default)]
pub struct DevClock {
    offset_secs: AtomicU64,
}

/// The clock would move past [`MAX_OFFSET_SECS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockOverflow;

impl std::fmt::Display for ClockOverflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the dev clock cannot move more than {MAX_OFFSET_SECS} seconds ahead in total"
        )
    }
}

impl std::error::Error for ClockOverflow {}

impl DevClock {
    /// How far ahead of real time the clock is.
    pub fn offset(&self) -> Duration {
        Duration::from_secs(self.offset_secs.load(Ordering::SeqCst))
    }

    /// The server's now.
    pub fn now(&self) -> SystemTime {
        let real = SystemTime::now();
        real.checked_add(self.offset()).unwrap_or(real)
    }

    /// The server's now in unix seconds.
    pub fn now_unix(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// Moves the clock ahead by `by` (rounded down to whole seconds); returns the new offset.
    pub fn advance(&self, by: Duration) -> Result<Duration, ClockOverflow> {
        let add = by.as_secs();
        self.offset_secs
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |cur| {
                cur.checked_add(add).filter(|n| *n <= MAX_OFFSET_SECS)
            })
            .map(|prev| Duration::from_secs(prev + add))
            .map_err(|_| ClockOverflow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_forward_and_refuses_overflow() {
        let c = DevClock::default();
        let before = c.now_unix();
        assert_eq!(
            c.advance(Duration::from_secs(3600)),
            Ok(Duration::from_secs(3600))
        );
        assert!(c.now_unix() >= before + 3600);
        assert_eq!(c.advance(Duration::MAX), Err(ClockOverflow));
        assert_eq!(c.offset(), Duration::from_secs(3600));
    }
}
