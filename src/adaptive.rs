//! Adaptive concurrency for part uploads: how many parts may be in flight now, and whether new
//! part starts must wait after the service throttled us.
//!
//! Additive increase, multiplicative decrease: a throttled answer (429) halves the limit (once
//! per throttling episode, however many parts in flight are refused together) and stops new
//! part starts until the `Retry-After` (or backoff) delay has passed; every `limit` successes in
//! a row raise it by one, back up to the configured maximum. Pure state with the clock passed
//! in, so it is tested natively.

/// What a caller that wants to start a part must do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Start {
    /// Start now; the slot is taken (call [`Adaptive::finish`] once the attempt ends).
    Go,
    /// New starts are paused after throttling until this time (ms, same clock as `now_ms`).
    WaitUntil(f64),
    /// Every slot is busy: wait for an attempt to finish.
    Full,
}

/// How an attempt that held a slot ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// The server confirmed the part.
    Success,
    /// The server throttled (429); no new part starts for `pause_ms`.
    Throttled {
        /// The `Retry-After` delay, or the backoff delay when the server gave none.
        pause_ms: u64,
    },
    /// Any other failure (server error, network, stall): the limit stays.
    Failed,
    /// The attempt was cut short by pause or abort: it says nothing about the service.
    Cancelled,
}

/// The controller's state.
#[derive(Debug, Clone)]
pub struct Adaptive {
    max: u32,
    limit: u32,
    in_flight: u32,
    paused_until_ms: f64,
    successes: u32,
    throttle_events: u32,
}

impl Adaptive {
    /// A controller allowing up to `max` parts in flight (at least 1), starting at `max`.
    pub fn new(max: u32) -> Self {
        let max = max.max(1);
        Adaptive { max, limit: max, in_flight: 0, paused_until_ms: 0.0, successes: 0, throttle_events: 0 }
    }

    /// Parts allowed in flight now.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Parts in flight now.
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// How many throttling episodes lowered the limit so far.
    pub fn throttle_events(&self) -> u32 {
        self.throttle_events
    }

    /// Asks for a slot at time `now_ms`.
    pub fn try_start(&mut self, now_ms: f64) -> Start {
        if now_ms < self.paused_until_ms {
            return Start::WaitUntil(self.paused_until_ms);
        }
        if self.in_flight >= self.limit {
            return Start::Full;
        }
        self.in_flight += 1;
        Start::Go
    }

    /// Releases the slot of an attempt that ended with `outcome` at `now_ms`.
    pub fn finish(&mut self, outcome: Outcome, now_ms: f64) {
        self.in_flight = self.in_flight.saturating_sub(1);
        match outcome {
            Outcome::Success => {
                self.successes += 1;
                if self.successes >= self.limit && self.limit < self.max {
                    self.limit += 1;
                    self.successes = 0;
                }
            }
            Outcome::Throttled { pause_ms } => {
                // Parts refused together in one episode lower the limit once.
                if now_ms >= self.paused_until_ms {
                    self.limit = (self.limit / 2).max(1);
                    self.throttle_events += 1;
                }
                self.successes = 0;
                self.paused_until_ms = self.paused_until_ms.max(now_ms + pause_ms as f64);
            }
            Outcome::Failed | Outcome::Cancelled => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_the_maximum_and_refuses_beyond_it() {
        let mut a = Adaptive::new(3);
        assert_eq!((0..3).map(|_| a.try_start(0.0)).collect::<Vec<_>>(), vec![Start::Go; 3]);
        assert_eq!(a.try_start(0.0), Start::Full);
        a.finish(Outcome::Failed, 1.0);
        assert_eq!(a.try_start(1.0), Start::Go);
        assert_eq!(a.limit(), 3);
    }

    #[test]
    fn throttling_halves_the_limit_once_per_episode_and_pauses_new_starts_for_retry_after() {
        let mut a = Adaptive::new(8);
        for _ in 0..8 {
            assert_eq!(a.try_start(0.0), Start::Go);
        }
        // Three parts in flight are refused in the same second: one episode.
        a.finish(Outcome::Throttled { pause_ms: 1000 }, 100.0);
        a.finish(Outcome::Throttled { pause_ms: 1000 }, 120.0);
        a.finish(Outcome::Throttled { pause_ms: 1000 }, 130.0);
        assert_eq!(a.limit(), 4);
        assert_eq!(a.throttle_events(), 1);
        assert_eq!(a.try_start(500.0), Start::WaitUntil(1130.0));
        // After the pause, still 5 in flight and a limit of 4: no start until two finish.
        assert_eq!(a.try_start(1200.0), Start::Full);
        a.finish(Outcome::Success, 1200.0);
        a.finish(Outcome::Success, 1200.0);
        assert_eq!(a.try_start(1200.0), Start::Go);
        // A later episode lowers it again, never below one.
        for t in [2000.0, 4000.0, 6000.0, 8000.0] {
            a.finish(Outcome::Throttled { pause_ms: 1000 }, t);
        }
        assert_eq!(a.limit(), 1);
        assert_eq!(a.throttle_events(), 5);
    }

    #[test]
    fn successes_raise_the_limit_back_to_the_maximum_and_no_further() {
        let mut a = Adaptive::new(4);
        a.try_start(0.0);
        a.finish(Outcome::Throttled { pause_ms: 0 }, 0.0);
        a.try_start(0.0);
        a.finish(Outcome::Throttled { pause_ms: 0 }, 1.0);
        assert_eq!(a.limit(), 1);
        let mut limits = Vec::new();
        for i in 0..20 {
            assert_eq!(a.try_start(10.0 + i as f64), Start::Go);
            a.finish(Outcome::Success, 10.0 + i as f64);
            limits.push(a.limit());
        }
        // One success at limit 1 -> 2; two at 2 -> 3; three at 3 -> 4; then it stays.
        assert_eq!(&limits[..7], &[2, 2, 3, 3, 3, 4, 4]);
        assert_eq!(*limits.last().unwrap(), 4);
    }

    #[test]
    fn failures_and_cancelled_attempts_release_the_slot_without_changing_the_limit() {
        let mut a = Adaptive::new(2);
        a.try_start(0.0);
        a.try_start(0.0);
        a.finish(Outcome::Cancelled, 0.0);
        a.finish(Outcome::Failed, 0.0);
        assert_eq!(a.in_flight(), 0);
        assert_eq!(a.limit(), 2);
        assert_eq!(Adaptive::new(0).limit(), 1, "a limit of zero would never start anything");
    }
}
