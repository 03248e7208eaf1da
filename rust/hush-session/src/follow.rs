//! Keeps a running engine in step with its database: the rules, which `hush
//! rule` (or the app's UI) writes from elsewhere, and the retention limits.
//!
//! A thread re-reads the rules every [`POLL`] and sends a new policy only
//! when it differs, so the engine re-judges its flows only on a real
//! change. Polling, not a notification: SQLite has no cross-process change
//! hook, and reading a few rows four times a second costs nothing. The same
//! thread applies the retention limits at start and every [`RETENTION_EVERY`].

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hush_engine::{AppPolicy, Network, PolicySender};

use crate::health::{HealthCell, ProblemKind};

/// How often the stored rules are read again; a change is in force within this.
pub const POLL: Duration = Duration::from_millis(250);
/// How often old activity is deleted, as the retention settings say.
pub const RETENTION_EVERY: Duration = Duration::from_secs(600);

/// Reads the policy stored in the database at `path`, for `network`.
pub fn load(path: &Path, network: Network) -> Result<AppPolicy, String> {
    let mut connection = hush_store::open(path)
        .map_err(|e| format!("failed to open the database {}: {e}", path.display()))?;
    let mut policy = hush_store::rules::app_policy(&mut connection)
        .map_err(|e| format!("failed to read the rules in {}: {e}", path.display()))?;
    policy.set_active_network(network);
    Ok(policy)
}

/// What [`Follower`] does besides retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// Re-read the stored rules every [`POLL`]: another process changes them.
    Follow,
    /// Leave them: every change comes through the session, which reloads.
    Leave,
    /// They could not be read at start: read them every [`RETRY`] until
    /// they can, then leave them.
    UntilRead,
}

/// How often rules that could not be read at start are tried again.
pub const RETRY: Duration = Duration::from_secs(5);

/// The thread that keeps an engine in step with its database.
pub(crate) struct Follower {
    pub path: PathBuf,
    pub sender: PolicySender,
    pub rules: Rules,
    /// Where a failure to read the rules is shown, and cleared once they
    /// can be read again.
    pub health: Arc<HealthCell>,
    /// Set to panic the next turn, for tests of its containment.
    #[cfg(feature = "fault-injection")]
    pub fault: Arc<std::sync::atomic::AtomicBool>,
}

impl Follower {
    /// Keeps the engine in step with the database until `stop` is dropped
    /// (or sent to) or the engine drops its end of `sender`: applies
    /// retention at start and every [`RETENTION_EVERY`], and sends the
    /// stored rules when they change, as [`Rules`] says, for the network in
    /// force. A read that fails (the database locked for longer than its
    /// busy timeout, say) keeps the rules in force and is tried again. A
    /// panic in a turn is caught and the next turn comes as usual. The
    /// thread sleeps between its tasks, so a phone is not woken for nothing.
    pub fn spawn(mut self, stop: Receiver<()>) -> std::io::Result<JoinHandle<()>> {
        std::thread::Builder::new()
            .name("hush-store-sync".into())
            .spawn(move || {
                let mut failures = 0u32;
                let mut retention_due = Instant::now();
                while !self.sender.is_closed() {
                    let now = Instant::now();
                    if now >= retention_due {
                        apply_retention(&self.path);
                        retention_due = now + RETENTION_EVERY;
                    }
                    let wake = match self.rules {
                        Rules::Follow => retention_due.min(now + POLL),
                        Rules::UntilRead => retention_due.min(now + RETRY),
                        Rules::Leave => retention_due,
                    };
                    match stop.recv_timeout(wake.saturating_duration_since(now)) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                    if self.rules == Rules::Leave {
                        continue;
                    }
                    let turn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.read_rules(&mut failures)
                    }));
                    if turn.is_err() {
                        log::error!("the rule follower panicked; it goes on at its next turn");
                    }
                }
            })
    }

    fn read_rules(&mut self, failures: &mut u32) {
        #[cfg(feature = "fault-injection")]
        if self.fault.swap(false, std::sync::atomic::Ordering::SeqCst) {
            panic!("injected fault: the rule follower");
        }
        // The platform may have switched networks since the start.
        let network = self.sender.borrow().active_network();
        match load(&self.path, network) {
            Ok(policy) => {
                if *failures > 0 || self.rules == Rules::UntilRead {
                    self.health.set_problems(ProblemKind::Rules, Vec::new());
                }
                *failures = 0;
                if self.rules == Rules::UntilRead {
                    self.rules = Rules::Leave;
                }
                self.sender.send_if_modified(|current| {
                    let changed = **current != policy;
                    if changed {
                        *current = Arc::new(policy);
                        log::info!("rules changed; now in force");
                    }
                    changed
                });
            }
            Err(error) => {
                *failures += 1;
                if *failures == 1 || failures.is_power_of_two() {
                    log::warn!("{error} (the rules in force stay; tried {failures} times)");
                }
            }
        }
    }
}

/// Keeps the engine in step with the database at `path` (see [`Follower`]),
/// with no one to tell of problems.
pub fn follow(
    path: PathBuf,
    sender: PolicySender,
    rules: Rules,
    stop: Receiver<()>,
) -> std::io::Result<JoinHandle<()>> {
    Follower {
        path,
        sender,
        rules,
        health: Arc::new(HealthCell::new(Vec::new())),
        #[cfg(feature = "fault-injection")]
        fault: Arc::default(),
    }
    .spawn(stop)
}

fn apply_retention(path: &Path) {
    let result = hush_store::open(path)
        .and_then(|connection| hush_store::query::apply_retention_settings(&connection));
    match result {
        Ok(report) if report.events_deleted + report.hourly_deleted > 0 => log::info!(
            "retention: deleted {} events and {} hourly counts",
            report.events_deleted,
            report.hourly_deleted
        ),
        Ok(_) => {}
        Err(error) => log::warn!("retention could not run: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hush_engine::{policy_channel, AppMode, DomainAction};
    use hush_store::rules;

    #[test]
    fn a_stored_change_reaches_the_engine_and_an_unchanged_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hush.db");
        let connection = hush_store::open(&path).unwrap();
        rules::set_app_mode(&connection, 10_001, Network::Wifi, AppMode::BlockAll).unwrap();
        let initial = load(&path, Network::Wifi).unwrap();
        assert_eq!(initial.mode(Some(10_001)), AppMode::BlockAll);
        let (sender, mut receiver) = policy_channel(initial);
        let (stop, stopped) = std::sync::mpsc::channel();
        let sync = follow(path.clone(), sender, Rules::Follow, stopped).unwrap();

        std::thread::sleep(POLL * 3);
        assert!(
            !receiver.has_changed().unwrap(),
            "nothing changed, nothing sent"
        );

        rules::add_domain_rule(
            &connection,
            Some(10_001),
            "api.example",
            DomainAction::Allow,
        )
        .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !receiver.has_changed().unwrap() {
            assert!(
                std::time::Instant::now() < deadline,
                "the change never arrived"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let policy = receiver.borrow_and_update().clone();
        let hit = policy.domain_rule(Some(10_001), "v2.api.example").unwrap();
        assert_eq!(hit.action, DomainAction::Allow);
        assert_eq!(policy.active_network(), Network::Wifi);

        drop(stop);
        sync.join().unwrap();
        drop(receiver);
    }

    #[test]
    fn a_follower_that_leaves_the_rules_sleeps_until_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hush.db");
        hush_store::open(&path).unwrap();
        let (sender, receiver) = policy_channel(AppPolicy::default());
        let (stop, stopped) = std::sync::mpsc::channel();
        let sync = follow(path, sender, Rules::Leave, stopped).unwrap();
        std::thread::sleep(POLL * 2);
        assert!(!receiver.has_changed().unwrap());
        let asked = Instant::now();
        drop(stop);
        sync.join().unwrap();
        assert!(asked.elapsed() < Duration::from_secs(1), "stopped at once");
    }
}
