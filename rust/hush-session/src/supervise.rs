//! The engine's supervisor: runs the relay on the session's tun and starts
//! it again when it fails, so that a fault never leaves apps unfiltered.
//!
//! The session owns the tun; each run of the relay only borrows it. A run
//! that panics or fails (anything but the tun itself failing) is followed
//! by a fresh one on the same tun, with fresh state, within
//! [`RESTART_PAUSE`]: packets wait in the tun's queue meanwhile, and none
//! passes unjudged. Restarts are limited to [`MAX_RESTARTS`] in
//! [`RESTART_WINDOW`]; past that the engine is not trusted to run and
//! traffic is held ([`hush_engine::hold_traffic`]: dropped, DNS answered
//! SERVFAIL) until the window frees. Each period without filtering is
//! recorded as a gap, with why.
//!
//! Counts carry over from run to run, so the owner sees one session.
//!
//! The platform may replace the tun while the session runs ([`crate::tun`]):
//! the run on the old one ends once it has read what was waiting there, and
//! the next starts on the new one at once. That is no failure: no restart
//! is counted and no gap recorded.

use std::collections::VecDeque;
use std::fs::File;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hush_engine::owner::OwnerLookup;
use hush_engine::{
    DnsConfig, DnsFirewall, EventSink, Lists, Platform, PolicyReceiver, PolicySender, RelayConfig,
    SocketProtector, Stats,
};
use hush_store::EventWriter;
use tokio::sync::watch;

use crate::health::{Filtering, HealthCell};

/// Pause before a failed engine is started again: long enough not to spin
/// on a fault that repeats at once, well within the one second an app may
/// wait.
pub(crate) const RESTART_PAUSE: Duration = Duration::from_millis(100);
/// Restarts allowed in [`RESTART_WINDOW`] before traffic is held.
pub(crate) const MAX_RESTARTS: usize = 5;
pub(crate) const RESTART_WINDOW: Duration = Duration::from_secs(60);

/// Everything a run of the engine is made from.
pub(crate) struct Engine {
    /// The tun in use; the platform may replace it ([`crate::tun`]).
    pub tun: watch::Receiver<Arc<File>>,
    pub relay: RelayConfig,
    pub dns: DnsConfig,
    /// The configured resolver.
    pub upstream: hush_engine::Upstream,
    pub protector: Arc<dyn SocketProtector>,
    pub owners: Arc<dyn OwnerLookup>,
    pub policy: PolicySender,
    /// Held for the session's life, so that the rules' channel stays open
    /// between two runs (the follower stops when no one listens).
    pub _policy_kept: PolicyReceiver,
    pub lists: watch::Receiver<Lists>,
    pub events: Arc<dyn EventSink>,
    /// Where the gaps go (with a database).
    pub writer: Option<Arc<EventWriter>>,
    pub live: watch::Sender<Stats>,
    pub network_changes: watch::Receiver<u64>,
    /// The plain resolver the platform named with its last network change
    /// (`None`: the configured one).
    pub upstream_changes: watch::Receiver<Option<SocketAddr>>,
    /// The exempt resolvers, as last set.
    pub resolver_exemptions: watch::Receiver<hush_engine::ResolverExemptions>,
    pub shutdown: watch::Receiver<bool>,
    pub health: Arc<HealthCell>,
    #[cfg(feature = "fault-injection")]
    pub faults: Arc<hush_engine::Faults>,
}

impl Engine {
    /// Runs the engine until the session stops (the final counts) or the
    /// tun fails (why).
    pub(crate) fn supervise(self, runtime: &tokio::runtime::Runtime) -> Result<Stats, String> {
        let mut restarts: VecDeque<Instant> = VecDeque::new();
        loop {
            let run =
                std::panic::catch_unwind(AssertUnwindSafe(|| runtime.block_on(self.run_once())));
            let failure = match run {
                Ok(Ok(stats)) if self.stopping() => return Ok(stats),
                // The run handed over to a new tun: the next one runs on it.
                Ok(Ok(_)) => continue,
                Ok(Err(error)) if error.is_tun_failure() => {
                    self.set_filtering(Filtering::Stopped {
                        reason: error.to_string(),
                    });
                    return Err(error.to_string());
                }
                Ok(Err(error)) => error.to_string(),
                Err(panic) => format!("the engine panicked: {}", panic_message(&*panic)),
            };
            log::error!("{failure}; starting it again");
            let failed_at = SystemTime::now();
            self.set_filtering(Filtering::Restarting {
                reason: failure.clone(),
            });
            let now = Instant::now();
            while restarts
                .front()
                .is_some_and(|&at| now.duration_since(at) >= RESTART_WINDOW)
            {
                restarts.pop_front();
            }
            if restarts.len() >= MAX_RESTARTS {
                let until = restarts[0] + RESTART_WINDOW;
                let reason = format!(
                    "the engine failed {} times within {} s: {failure}",
                    restarts.len() + 1,
                    RESTART_WINDOW.as_secs()
                );
                log::error!("{reason}; holding all traffic until it can run again");
                self.set_filtering(Filtering::Holding {
                    reason: reason.clone(),
                });
                let held = runtime.block_on(self.hold_until(until));
                self.record_gap(failed_at, format!("holding: {reason}"));
                match held {
                    Ok(true) => {}
                    Ok(false) => return Ok(self.live.borrow().clone()),
                    Err(error) => return Err(error),
                }
            } else if self.stopping_within(runtime, RESTART_PAUSE) {
                self.record_gap(failed_at, format!("engine-restart: {failure}"));
                return Ok(self.live.borrow().clone());
            } else {
                self.record_gap(failed_at, format!("engine-restart: {failure}"));
            }
            restarts.push_back(Instant::now());
            self.live.send_modify(|stats| stats.engine_restarts += 1);
            self.health.update(|health| {
                health.restarts += 1;
                health.filtering = Filtering::On;
            });
        }
    }

    /// One run of the relay, from the counts the last one published.
    async fn run_once(&self) -> Result<Stats, hush_engine::EngineError> {
        let lists = self.lists.borrow().clone();
        // A restart keeps the exemptions last set, not the first ones.
        let mut exemptions = self.resolver_exemptions.clone();
        let mut dns = self.dns.clone();
        dns.resolver_exemptions = exemptions.borrow_and_update().clone();
        let mut firewall =
            DnsFirewall::new(dns, Arc::clone(&lists.names), Arc::clone(&self.events));
        firewall.set_address_rules(Arc::clone(&lists.addresses));
        firewall.restore_stats(self.live.borrow().clone());
        let mut lists_updates = self.lists.clone();
        lists_updates.mark_unchanged();
        let mut network_changes = self.network_changes.clone();
        network_changes.mark_unchanged();
        // A restart after the platform named another resolver uses it. Read
        // into a local: the borrow must not be held across the run.
        let named = *self.upstream_changes.borrow();
        let upstream = match (named, &self.upstream) {
            (Some(address), hush_engine::Upstream::Plain(_)) => {
                hush_engine::Upstream::Plain(address)
            }
            _ => self.upstream.clone(),
        };
        let mut tuns = self.tun.clone();
        let tun = tuns.borrow_and_update().clone();
        let platform = Platform {
            protector: Arc::clone(&self.protector),
            owners: Arc::clone(&self.owners),
            policy: self.policy.subscribe(),
            live_stats: Some(self.live.clone()),
            lists: Some(lists_updates),
            network_changes: Some(network_changes),
            upstream_changes: Some(self.upstream_changes.clone()),
            resolver_exemptions: Some(exemptions),
            // The relay moves to each new tun itself, flows and all.
            tuns: Some(tuns),
            #[cfg(feature = "fault-injection")]
            faults: Some(Arc::clone(&self.faults)),
        };
        let mut stop = self.shutdown.clone();
        let end = async { stopped_ref(&mut stop).await };
        // Moved, not cloned: once the relay leaves this tun for a new one,
        // nothing holds it open.
        hush_engine::run_relay(tun, self.relay.clone(), firewall, upstream, platform, end).await
    }

    /// Whether the session is told to stop (or is gone).
    fn stopping(&self) -> bool {
        *self.shutdown.borrow() || self.shutdown.has_changed().is_err()
    }

    /// Holds all traffic until `until` (true) or the session stops (false),
    /// on whichever tun is in use.
    async fn hold_until(&self, until: Instant) -> Result<bool, String> {
        let mut stop = self.shutdown.clone();
        let deadline = tokio::time::Instant::from_std(until);
        loop {
            let mut tuns = self.tun.clone();
            let tun = tuns.borrow_and_update().clone();
            let ended = std::cell::Cell::new(None);
            let end = async {
                let why = tokio::select! {
                    () = tokio::time::sleep_until(deadline) => Some(true),
                    () = stopped_ref(&mut stop) => Some(false),
                    () = crate::tun::handed_over(&mut tuns, &tun) => None,
                };
                ended.set(why);
            };
            hush_engine::hold_traffic(Arc::clone(&tun), self.live.clone(), end)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(done) = ended.get() {
                return Ok(done);
            }
        }
    }

    /// Waits `pause`; true if the session is told to stop meanwhile.
    fn stopping_within(&self, runtime: &tokio::runtime::Runtime, pause: Duration) -> bool {
        let mut stop = self.shutdown.clone();
        runtime.block_on(async {
            tokio::select! {
                () = tokio::time::sleep(pause) => false,
                () = stopped_ref(&mut stop) => true,
            }
        })
    }

    fn set_filtering(&self, filtering: Filtering) {
        self.health.update(|health| health.filtering = filtering);
    }

    fn record_gap(&self, start: SystemTime, reason: String) {
        if let Some(writer) = &self.writer {
            writer.record_gap(start, SystemTime::now(), reason);
        }
    }
}

async fn stopped_ref(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// What a panic said, for the owner and the log.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}
