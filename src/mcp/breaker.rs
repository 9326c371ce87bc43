//! Per-server circuit breaker.
//!
//! Responsibilities: the closed → open → half-open → closed state machine, driven by call
//! outcomes: open after N consecutive failures, refuse calls during a cool-down that doubles
//! on every re-open (capped), then let exactly one probe call through.
//! Non-responsibilities: deciding what counts as a failure (the manager does: timeouts and
//! transport failures count; tool errors and JSON-RPC errors do not), emitting events.

use crate::protocol::BreakerState;
use std::time::{Duration, Instant};

/// Breaker settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// First cool-down before a half-open probe.
    pub cooldown: Duration,
    /// Cap of the cool-down, which doubles each time a probe fails.
    pub max_cooldown: Duration,
}

impl Default for BreakerConfig {
    /// MassGen's backend breaker: 3 failures, 30 s, doubling up to 240 s.
    fn default() -> Self {
        Self {
            failure_threshold: 3,
            cooldown: Duration::from_secs(30),
            max_cooldown: Duration::from_secs(240),
        }
    }
}

/// Whether a call may go ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Normal call.
    Allowed,
    /// The half-open probe: its outcome decides the state.
    Probe,
    /// Refused; the breaker is open for this much longer.
    Rejected {
        /// Remaining cool-down.
        retry_in: Duration,
    },
}

/// The breaker of one server.
#[derive(Clone, Debug)]
pub struct Breaker {
    config: BreakerConfig,
    state: BreakerState,
    consecutive_failures: u32,
    opened_at: Option<Instant>,
    cooldown: Duration,
    probe_in_flight: bool,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: BreakerState::Closed,
            consecutive_failures: 0,
            opened_at: None,
            cooldown: config.cooldown,
            probe_in_flight: false,
        }
    }

    /// Current state.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Ask to make a call at `now`. Returns the admission and the new state if it changed.
    pub fn admit(&mut self, now: Instant) -> (Admission, Option<BreakerState>) {
        match self.state {
            BreakerState::Closed => (Admission::Allowed, None),
            BreakerState::Open => {
                let opened = self.opened_at.unwrap_or(now);
                let elapsed = now.saturating_duration_since(opened);
                if elapsed >= self.cooldown {
                    self.state = BreakerState::HalfOpen;
                    self.probe_in_flight = true;
                    (Admission::Probe, Some(BreakerState::HalfOpen))
                } else {
                    (
                        Admission::Rejected {
                            retry_in: self.cooldown - elapsed,
                        },
                        None,
                    )
                }
            }
            BreakerState::HalfOpen => {
                if self.probe_in_flight {
                    (
                        Admission::Rejected {
                            retry_in: Duration::ZERO,
                        },
                        None,
                    )
                } else {
                    self.probe_in_flight = true;
                    (Admission::Probe, None)
                }
            }
        }
    }

    /// Record a success. Returns the new state if it changed.
    pub fn on_success(&mut self) -> Option<BreakerState> {
        self.consecutive_failures = 0;
        self.probe_in_flight = false;
        if self.state != BreakerState::Closed {
            self.state = BreakerState::Closed;
            self.opened_at = None;
            self.cooldown = self.config.cooldown;
            return Some(BreakerState::Closed);
        }
        None
    }

    /// Record a failure at `now`. Returns the new state if it changed.
    pub fn on_failure(&mut self, now: Instant) -> Option<BreakerState> {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        match self.state {
            BreakerState::HalfOpen => {
                self.probe_in_flight = false;
                self.state = BreakerState::Open;
                self.opened_at = Some(now);
                self.cooldown = (self.cooldown * 2).min(self.config.max_cooldown);
                Some(BreakerState::Open)
            }
            BreakerState::Closed
                if self.consecutive_failures >= self.config.failure_threshold.max(1) =>
            {
                self.state = BreakerState::Open;
                self.opened_at = Some(now);
                Some(BreakerState::Open)
            }
            _ => None,
        }
    }

    /// Forget an abandoned probe (the call was cancelled): another probe may go.
    pub fn on_abandoned(&mut self) {
        self.probe_in_flight = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_probes_after_cooldown_and_closes_on_success() {
        let cfg = BreakerConfig {
            failure_threshold: 3,
            cooldown: Duration::from_secs(10),
            max_cooldown: Duration::from_secs(40),
        };
        let mut b = Breaker::new(cfg);
        let t0 = Instant::now();
        assert_eq!(b.on_failure(t0), None);
        assert_eq!(b.on_failure(t0), None);
        assert_eq!(b.on_failure(t0), Some(BreakerState::Open));
        assert!(matches!(
            b.admit(t0 + Duration::from_secs(5)).0,
            Admission::Rejected { .. }
        ));
        let (a, ch) = b.admit(t0 + Duration::from_secs(10));
        assert_eq!((a, ch), (Admission::Probe, Some(BreakerState::HalfOpen)));
        // Only one probe at a time.
        assert!(matches!(
            b.admit(t0 + Duration::from_secs(10)).0,
            Admission::Rejected { .. }
        ));
        // Failed probe: open again with a doubled cool-down.
        let t1 = t0 + Duration::from_secs(11);
        assert_eq!(b.on_failure(t1), Some(BreakerState::Open));
        assert!(matches!(
            b.admit(t1 + Duration::from_secs(15)).0,
            Admission::Rejected { .. }
        ));
        assert_eq!(b.admit(t1 + Duration::from_secs(20)).0, Admission::Probe);
        assert_eq!(b.on_success(), Some(BreakerState::Closed));
        assert_eq!(b.admit(t1 + Duration::from_secs(20)).0, Admission::Allowed);
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let mut b = Breaker::new(BreakerConfig::default());
        let t = Instant::now();
        b.on_failure(t);
        b.on_failure(t);
        b.on_success();
        b.on_failure(t);
        b.on_failure(t);
        assert_eq!(b.state(), BreakerState::Closed);
    }
}
