//! Wake-ups from the sockets of individual flows, gathered for the relay's
//! one task.
//!
//! Each flow gets a [`Waker`] that records the flow's id in a shared queue
//! and wakes the relay. The relay then services exactly the flows whose
//! sockets became ready, instead of polling every flow on every event.

use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

use tokio::sync::Notify;

/// Identifies a flow in the relay's slab: slot index and the slot's
/// generation, so a late wake-up for a closed flow cannot reach its successor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FlowRef {
    pub kind: FlowKind,
    pub slot: u32,
    pub generation: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FlowKind {
    Tcp,
    Udp,
    Ping,
}

#[derive(Default)]
pub(crate) struct ReadyQueue {
    ready: Mutex<Vec<FlowRef>>,
    notify: Notify,
}

impl ReadyQueue {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A waker that queues `flow` when its socket becomes ready.
    pub fn waker_for(self: &Arc<Self>, flow: FlowRef) -> Waker {
        Waker::from(Arc::new(FlowWaker {
            flow,
            queue: Arc::clone(self),
        }))
    }

    /// Moves the queued flows into `out`.
    pub fn drain_into(&self, out: &mut Vec<FlowRef>) {
        let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        out.append(&mut ready);
    }

    /// Completes when a flow has been queued since the last call. `Notify`
    /// keeps a permit, so a wake-up between two calls is never lost.
    pub async fn notified(&self) {
        self.notify.notified().await;
    }

    fn push(&self, flow: FlowRef) {
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(flow);
        self.notify.notify_one();
    }
}

struct FlowWaker {
    flow: FlowRef,
    queue: Arc<ReadyQueue>,
}

impl Wake for FlowWaker {
    fn wake(self: Arc<Self>) {
        self.queue.push(self.flow);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.queue.push(self.flow);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wake_before_waiting_is_kept() {
        let queue = ReadyQueue::new();
        let flow = FlowRef {
            kind: FlowKind::Udp,
            slot: 3,
            generation: 7,
        };
        queue.waker_for(flow).wake();
        // Would hang if the permit were lost; the test harness times out.
        queue.notified().await;
        let mut out = Vec::new();
        queue.drain_into(&mut out);
        assert_eq!(out, vec![flow]);
        queue.drain_into(&mut out);
        assert_eq!(out.len(), 1, "drained entries are not repeated");
    }
}
