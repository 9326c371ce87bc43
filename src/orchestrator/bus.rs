//! The event bus: numbers events, stamps them with run id, time, stage and round, and fans
//! them out to every subscriber in the same order.
//!
//! Responsibilities: the envelope of every event and loss-free delivery (one unbounded mpsc
//! per subscriber, never `broadcast`, which drops events for slow receivers).
//! Non-responsibilities: what subscribers do with events.

use crate::protocol::{Event, EventMsg, EventScope, EventSink, RunId, Stage};
use std::sync::Mutex;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

struct BusState {
    seq: u64,
    stage: Stage,
    round: u32,
    subscribers: Vec<UnboundedSender<Event>>,
}

/// Numbers and fans out the events of one run.
pub struct EventBus {
    run_id: RunId,
    state: Mutex<BusState>,
}

impl EventBus {
    /// A bus for `run_id`, starting in the initialization stage.
    pub fn new(run_id: RunId) -> Self {
        Self {
            run_id,
            state: Mutex::new(BusState {
                seq: 0,
                stage: Stage::Initialization,
                round: 1,
                subscribers: Vec::new(),
            }),
        }
    }

    /// The run id.
    pub fn run_id(&self) -> &RunId {
        &self.run_id
    }

    /// A new subscriber; it receives every event emitted from now on.
    pub fn subscribe(&self) -> UnboundedReceiver<Event> {
        let (tx, rx) = unbounded_channel();
        self.add_subscriber(tx);
        rx
    }

    /// Add an existing sender as a subscriber.
    pub fn add_subscriber(&self, tx: UnboundedSender<Event>) {
        let mut st = self.lock();
        st.subscribers.push(tx);
    }

    /// Set the stage stamped on later events.
    pub fn set_stage(&self, stage: Stage) {
        self.lock().stage = stage;
    }

    /// The current stage.
    pub fn stage(&self) -> Stage {
        self.lock().stage
    }

    /// Set the coordination round stamped on later agent events.
    pub fn set_round(&self, round: u32) {
        self.lock().round = round;
    }

    /// Events emitted so far.
    pub fn emitted(&self) -> u64 {
        self.lock().seq
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BusState> {
        // A poisoned lock only means a subscriber panicked mid-send; the state is still valid.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl EventSink for EventBus {
    fn emit(&self, scope: &EventScope, msg: EventMsg) {
        let mut st = self.lock();
        st.seq += 1;
        let event = Event {
            seq: st.seq,
            run_id: self.run_id.clone(),
            at: chrono::Utc::now(),
            stage: st.stage,
            round: scope.agent.as_ref().map(|_| st.round),
            agent: scope.agent.clone(),
            attempt: scope.attempt,
            call_id: scope.call_id.clone(),
            msg,
        };
        // A closed receiver only means that front end went away; keep the others.
        st.subscribers.retain(|tx| tx.send(event.clone()).is_ok());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::AgentId;

    #[test]
    fn numbers_and_fans_out_in_order() {
        let bus = EventBus::new(RunId::new("r"));
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        for i in 0..100 {
            bus.emit(
                &EventScope::agent(AgentId::new("x"), 1),
                EventMsg::TextDelta {
                    text: i.to_string(),
                },
            );
        }
        for rx in [&mut a, &mut b] {
            for want in 1..=100 {
                let e = rx.try_recv().unwrap();
                assert_eq!(e.seq, want);
                assert_eq!(e.round, Some(1));
            }
        }
    }
}
