//! Whether a session filters, and what is wrong with it: the state the
//! platform shows its owner ("Hush stopped filtering: reason").
//!
//! A session never fails open. It is [`Filtering::On`], or its engine is
//! being restarted after a fault ([`Filtering::Restarting`]), or restarts
//! failed too often and traffic is held ([`Filtering::Holding`]: dropped,
//! DNS answered SERVFAIL), or it ended ([`Filtering::Stopped`]). Problems
//! that do not stop filtering (a list that could not be read, a database
//! that cannot be written) are listed beside it.

use std::sync::Mutex;

use serde::Serialize;

/// Whether traffic is filtered now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Filtering {
    /// Every packet is judged and relayed.
    On,
    /// The engine failed and is being started again on the same tun; packets
    /// wait in the tun's queue meanwhile (nothing passes unjudged).
    Restarting { reason: String },
    /// The engine failed too often: packets are dropped and DNS answered
    /// SERVFAIL until a restart succeeds.
    Holding { reason: String },
    /// The session ended (the tun failed, or it was stopped).
    Stopped { reason: String },
}

impl Filtering {
    pub fn is_on(&self) -> bool {
        matches!(self, Filtering::On)
    }
}

/// What a problem concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// The activity log and rules database.
    Database,
    /// A block or allow list.
    List,
    /// The stored rules.
    Rules,
    /// The configuration the session was started with.
    Config,
    /// The encrypted upstream resolver (DoT, DoH) failed lookups.
    Upstream,
}

/// Something wrong that does not stop filtering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
}

/// A session's state for its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub filtering: Filtering,
    /// How often the engine was restarted after a fault.
    pub restarts: u32,
    pub problems: Vec<Problem>,
}

/// The part of [`Health`] the engine's supervisor and the session update.
#[derive(Debug)]
pub(crate) struct HealthCell(Mutex<Health>);

impl HealthCell {
    pub(crate) fn new(problems: Vec<Problem>) -> Self {
        HealthCell(Mutex::new(Health {
            filtering: Filtering::On,
            restarts: 0,
            problems,
        }))
    }

    pub(crate) fn get(&self) -> Health {
        self.lock().clone()
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut Health)) {
        change(&mut self.lock());
    }

    /// Replaces the problems of `kind` with `problems`.
    pub(crate) fn set_problems(&self, kind: ProblemKind, problems: Vec<Problem>) {
        self.update(|health| {
            health.problems.retain(|p| p.kind != kind);
            health.problems.extend(problems);
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Health> {
        // Each update is a whole assignment: a poisoned lock holds a
        // consistent value.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A fault to inject into a running session, to test that it is contained.
/// Only in builds with the `fault-injection` feature: never in what ships.
#[cfg(feature = "fault-injection")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A panic at the next packet from the tun.
    PacketPath,
    /// A panic at the next DNS query.
    DnsPath,
    /// A panic in the log writer's next batch.
    Writer,
    /// A panic in the rule follower's next turn.
    Follower,
}

#[cfg(feature = "fault-injection")]
impl std::str::FromStr for Fault {
    type Err = String;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        match word {
            "packet" => Ok(Fault::PacketPath),
            "dns" => Ok(Fault::DnsPath),
            "writer" => Ok(Fault::Writer),
            "follower" => Ok(Fault::Follower),
            other => Err(format!(
                "unknown fault '{other}' (packet, dns, writer or follower)"
            )),
        }
    }
}
