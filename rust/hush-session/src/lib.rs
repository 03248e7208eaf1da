//! Hush as one running firewall: the lists, the activity store, the per-app
//! rules and the relay, started on a tun and stopped together.
//!
//! Layer: above the engine and the store, below the platforms. The Linux
//! `hush run` and the Android bridge both start a [`Session`] with what only
//! they can give (a tun, a [`SocketProtector`], an [`OwnerLookup`]) and talk
//! to it through plain method calls: rules, the active network, live counts.
//!
//! The relay runs on a thread of its own with a single-threaded tokio
//! runtime; owner lookups use that runtime's blocking pool. Nothing here
//! blocks the relay: rule changes reach it as a new [`AppPolicy`] snapshot.
//!
//! Never: log names, addresses or app identities above debug level.

pub mod api;
pub mod follow;
pub mod health;

#[cfg(feature = "fault-injection")]
pub use health::Fault;
pub use health::{Filtering, Health, Problem, ProblemKind};

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use hush_dns::BlockMode;
use hush_engine::owner::OwnerLookup;
use hush_engine::{
    policy_channel, AppMode, AppPolicy, DiscardEvents, DnsConfig, DnsFirewall, DomainAction,
    EventSink, Lists, Network, Platform, PolicySender, RelayConfig, SocketProtector, Stats,
};
use hush_rules::{AddressRules, AddressRulesBuilder, ListKind, RuleSet, RuleSetBuilder};
use hush_store::recover::Recovery;
use hush_store::rules;
use hush_store::EventWriter;
use tokio::sync::{oneshot, watch};

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("failed to read list {path}: {source}")]
    List {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to open the database {path}: {source}")]
    Database {
        path: String,
        #[source]
        source: hush_store::StoreError,
    },
    #[error("{0}")]
    Store(#[from] hush_store::StoreError),
    #[error("the MTU is {0}; IPv6 needs at least 1280")]
    Mtu(usize),
    #[error("failed to start the engine: {0}")]
    Start(String),
    #[error("the engine stopped with an error: {0}")]
    Engine(String),
    #[error("rules can only be changed with a database")]
    NoDatabase,
}

/// A list file and what it does.
#[derive(Debug, Clone)]
pub struct ListFile {
    pub path: PathBuf,
    pub kind: ListKind,
}

/// What a session runs with.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The resolver allowed queries go to.
    pub upstream: SocketAddr,
    /// The activity log and the rules; without one, nothing is recorded and
    /// rules live only as long as the session.
    pub database: Option<PathBuf>,
    pub with_default_list: bool,
    pub lists: Vec<ListFile>,
    pub address_lists: Vec<ListFile>,
    pub block_mode: BlockMode,
    pub mtu: usize,
    /// The network the per-app modes are read for at start.
    pub network: Network,
    /// Re-read the stored rules every [`follow::POLL`], for changes made by
    /// another process (`hush rule`) rather than through this session.
    /// Retention is applied either way.
    pub follow_stored_rules: bool,
}

impl SessionConfig {
    pub fn new(upstream: SocketAddr) -> Self {
        Self {
            upstream,
            database: None,
            with_default_list: true,
            lists: Vec::new(),
            address_lists: Vec::new(),
            block_mode: BlockMode::NxDomain,
            mtu: RelayConfig::default().mtu,
            network: Network::Any,
            follow_stored_rules: false,
        }
    }
}

/// What loading one list found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListLoad {
    pub name: String,
    /// `built-in` or the file's path.
    pub origin: String,
    pub addresses: bool,
    pub entries: u64,
    pub duplicates: u64,
    pub rejected: u64,
    /// The first few rejected lines: (line number, why).
    pub first_rejected: Vec<(usize, String)>,
}

impl ListLoad {
    /// What loading a list of names (not addresses) found.
    pub(crate) fn of_names(report: &hush_rules::ListReport, origin: String) -> Self {
        ListLoad {
            name: report.name.clone(),
            origin,
            addresses: false,
            entries: report.entries as u64,
            duplicates: report.duplicates as u64,
            rejected: report.rejected_count as u64,
            first_rejected: first_rejected(&report.rejected),
        }
    }
}

/// How many rejected lines of a list are kept to show.
const REJECTED_SHOWN: usize = 5;

/// The events queued for the store at most; past that they are counted as dropped.
const EVENT_QUEUE: usize = 65_536;

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub stats: Stats,
    /// Events the store could not take (its queue was full, or a batch
    /// failed every retry), all told.
    pub events_dropped: u64,
}

/// A running firewall. Dropping it stops it too; [`Session::stop`] says how
/// it went.
pub struct Session {
    engine: Option<JoinHandle<Result<Stats, String>>>,
    shutdown: Option<oneshot::Sender<()>>,
    policy: PolicySender,
    live: watch::Receiver<Stats>,
    writer: Option<Arc<EventWriter>>,
    database: Option<PathBuf>,
    follower: Option<JoinHandle<()>>,
    /// Dropped to stop the follower at once.
    follower_stop: Option<std::sync::mpsc::Sender<()>>,
    lists: watch::Sender<Lists>,
    loads: std::sync::Mutex<Vec<ListLoad>>,
    recovery: Option<Recovery>,
    network_changes: watch::Sender<u64>,
    health: Arc<health::HealthCell>,
    /// Why filtering ends, recorded when the session finishes.
    stop_reason: String,
}

/// The gap reason of a session its owner stopped.
pub const STOPPED_BY_OWNER: &str = "stopped";
/// The gap reason of a session ended because another VPN took over.
pub const REVOKED: &str = "revoked";

impl Session {
    /// Loads the lists, opens the store (moving a broken one aside), reads
    /// the rules, and starts the relay on `tun`. Returns once the relay runs.
    pub fn start(
        tun: OwnedFd,
        config: SessionConfig,
        protector: Arc<dyn SocketProtector>,
        owners: Arc<dyn OwnerLookup>,
    ) -> Result<Session, SessionError> {
        if config.mtu < 1280 {
            return Err(SessionError::Mtu(config.mtu));
        }
        let (lists, loads) = read_lists(&config)?;

        let mut recovery = None;
        let (events, writer): (Arc<dyn EventSink>, Option<Arc<EventWriter>>) =
            match &config.database {
                Some(path) => {
                    let (connection, recovered) = hush_store::recover::open_or_recover(path)
                        .map_err(|source| database_error(path, source))?;
                    recovery = recovered;
                    record_loads(&connection, &loads)?;
                    let writer = Arc::new(EventWriter::start(connection, EVENT_QUEUE)?);
                    (writer.clone(), Some(writer))
                }
                None => (Arc::new(DiscardEvents), None),
            };
        let mut firewall = DnsFirewall::new(
            DnsConfig {
                block_mode: config.block_mode,
                ..DnsConfig::default()
            },
            Arc::clone(&lists.names),
            events,
        );
        firewall.set_address_rules(Arc::clone(&lists.addresses));
        let (lists, lists_updates) = watch::channel(lists);

        let initial = match &config.database {
            Some(path) => follow::load(path, config.network).map_err(SessionError::Start)?,
            None => {
                let mut policy = AppPolicy::default();
                policy.set_active_network(config.network);
                policy
            }
        };
        let (policy, policy_updates) = policy_channel(initial);
        // With a store, a thread applies retention, and follows the rules
        // when another process may change them.
        let (follower_stop, follower) = match &config.database {
            Some(path) => {
                let (stop, stopped) = std::sync::mpsc::channel();
                let rules = if config.follow_stored_rules {
                    follow::Rules::Follow
                } else {
                    follow::Rules::Leave
                };
                let follower = follow::follow(path.clone(), policy.clone(), rules, stopped)
                    .map_err(|e| SessionError::Start(format!("cannot follow the store: {e}")))?;
                (Some(stop), Some(follower))
            }
            None => (None, None),
        };

        let (live_stats, live) = watch::channel(Stats::default());
        let (shutdown, shutdown_rx) = oneshot::channel::<()>();
        let (started, started_rx) = std::sync::mpsc::sync_channel::<Result<(), String>>(1);
        let relay = RelayConfig {
            mtu: config.mtu,
            ..RelayConfig::default()
        };
        let upstream = config.upstream;
        let platform = Platform {
            protector: Arc::clone(&protector),
            owners,
            policy: policy_updates,
            live_stats: Some(live_stats),
            lists: Some(lists_updates),
        };
        let engine = std::thread::Builder::new()
            .name("hush-engine".into())
            .spawn(move || {
                // The blocking pool serves owner lookups only: short calls
                // (a netlink request, a JNI call), so a few threads keep up,
                // and on Android each is one more thread attached to the JVM.
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .max_blocking_threads(4)
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let error = format!("failed to start the runtime: {e}");
                        let _ = started.send(Err(error.clone()));
                        return Err(error);
                    }
                };
                runtime.block_on(async move {
                    let upstream = match hush_engine::open_upstream(upstream, protector.as_ref()) {
                        Ok(upstream) => upstream,
                        Err(e) => {
                            let _ = started.send(Err(e.to_string()));
                            return Err(e.to_string());
                        }
                    };
                    let _ = started.send(Ok(()));
                    let shutdown = async {
                        let _ = shutdown_rx.await;
                    };
                    hush_engine::run_relay(tun, relay, firewall, upstream, platform, shutdown)
                        .await
                        .map_err(|e| e.to_string())
                })
            })
            .map_err(|e| SessionError::Start(e.to_string()))?;
        let mut session = Session {
            engine: Some(engine),
            shutdown: Some(shutdown),
            policy,
            live,
            writer,
            database: config.database.clone(),
            follower,
            follower_stop,
            lists,
            loads: std::sync::Mutex::new(loads),
            recovery,
            network_changes: watch::channel(0).0,
            health: Arc::new(health::HealthCell::new(Vec::new())),
            stop_reason: STOPPED_BY_OWNER.to_string(),
        };
        match started_rx.recv() {
            Ok(Ok(())) => Ok(session),
            Ok(Err(error)) => {
                let _ = session.finish();
                Err(SessionError::Start(error))
            }
            Err(_) => {
                let error = session.finish().err().map_or_else(
                    || "the engine thread ended at once".to_string(),
                    |e| e.to_string(),
                );
                Err(SessionError::Start(error))
            }
        }
    }

    /// What loading each list found, at start or at the last reload.
    pub fn list_loads(&self) -> Vec<ListLoad> {
        self.loads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Reads the lists `config` names again (`with_default_list`, `lists`,
    /// `address_lists`; the rest of it is ignored) and puts them in force
    /// for new flows and queries. The lists are read on the caller's thread,
    /// not the relay's. If one cannot be read, nothing changes.
    pub fn reload_lists(&self, config: &SessionConfig) -> Result<Vec<ListLoad>, SessionError> {
        let (lists, loads) = read_lists(config)?;
        if let Some(path) = &self.database {
            let connection =
                hush_store::open(path).map_err(|source| database_error(path, source))?;
            record_loads(&connection, &loads)?;
        }
        self.lists.send_replace(lists);
        *self
            .loads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = loads.clone();
        Ok(loads)
    }

    /// Set when the database was not usable and was moved aside at start.
    pub fn recovery(&self) -> Option<&Recovery> {
        self.recovery.as_ref()
    }

    /// The counts so far (published by the relay every quarter second at most).
    pub fn stats(&self) -> Stats {
        self.live.borrow().clone()
    }

    /// Whether the relay still runs: false once it ended on its own (the
    /// tun failed), which [`Session::stop`] then reports.
    pub fn is_running(&self) -> bool {
        self.engine
            .as_ref()
            .is_some_and(|engine| !engine.is_finished())
    }

    /// Events the store could not take so far.
    pub fn events_dropped(&self) -> u64 {
        self.writer.as_ref().map_or(0, |w| w.dropped())
    }

    /// The platform says which network is active now.
    pub fn set_network(&self, network: Network) {
        self.policy.send_if_modified(|policy| {
            if policy.active_network() == network {
                return false;
            }
            let mut changed = AppPolicy::clone(policy);
            changed.set_active_network(network);
            *policy = Arc::new(changed);
            true
        });
    }

    /// Sets an app's mode on a network; in force for new flows at once, and
    /// the app's open flows it now blocks are ended.
    pub fn set_app_mode(
        &self,
        uid: u32,
        network: Network,
        mode: AppMode,
    ) -> Result<(), SessionError> {
        self.change_rules(|connection| rules::set_app_mode(connection, uid, network, mode))
    }

    /// Removes an app's mode on a network; returns whether it had one.
    pub fn clear_app_mode(&self, uid: u32, network: Network) -> Result<bool, SessionError> {
        self.change_rules(|connection| rules::clear_app_mode(connection, uid, network))
    }

    /// Adds a domain rule (for one app, or every app); returns the domain as
    /// stored (normalised).
    pub fn add_domain_rule(
        &self,
        uid: Option<u32>,
        domain: &str,
        action: DomainAction,
    ) -> Result<String, SessionError> {
        self.change_rules(|connection| rules::add_domain_rule(connection, uid, domain, action))
    }

    /// Removes a domain rule; returns whether there was one.
    pub fn remove_domain_rule(&self, uid: Option<u32>, domain: &str) -> Result<bool, SessionError> {
        self.change_rules(|connection| rules::remove_domain_rule(connection, uid, domain))
    }

    /// Reads the stored rules again and puts them in force if they changed.
    pub fn reload_rules(&self) -> Result<(), SessionError> {
        let path = self.database.as_ref().ok_or(SessionError::NoDatabase)?;
        let network = self.policy.borrow().active_network();
        let policy = follow::load(path, network).map_err(SessionError::Start)?;
        self.policy.send_if_modified(|current| {
            let changed = **current != policy;
            if changed {
                *current = Arc::new(policy);
            }
            changed
        });
        Ok(())
    }

    fn change_rules<T>(
        &self,
        change: impl FnOnce(&hush_store::Connection) -> Result<T, hush_store::StoreError>,
    ) -> Result<T, SessionError> {
        let path = self.database.as_ref().ok_or(SessionError::NoDatabase)?;
        let connection = hush_store::open(path).map_err(|source| database_error(path, source))?;
        let result = change(&connection)?;
        drop(connection);
        self.reload_rules()?;
        Ok(result)
    }

    /// Stops the relay, writes what the store still holds, and returns the
    /// final counts. The time until the next start is recorded as a gap,
    /// stopped by the owner.
    pub fn stop(self) -> Result<Finished, SessionError> {
        self.stop_because(STOPPED_BY_OWNER)
    }

    /// [`Session::stop`], recording why filtering ends: [`STOPPED_BY_OWNER`],
    /// [`REVOKED`] (another VPN took over), or the platform's own words.
    pub fn stop_because(mut self, reason: &str) -> Result<Finished, SessionError> {
        self.stop_reason = reason.to_string();
        self.finish()
    }

    /// The platform says the network changed (another network, or new
    /// addresses on the same one): the engine reopens its outside sockets
    /// at once, resets the TCP flows whose socket died, and moves UDP flows
    /// to the new network.
    pub fn network_changed(&self) {
        self.network_changes.send_modify(|generation| *generation += 1);
    }

    /// Makes `fault` happen in the running session, for tests of its
    /// containment. Not in builds that ship.
    #[cfg(feature = "fault-injection")]
    pub fn inject_fault(&self, fault: Fault) {
        let _ = fault;
    }

    /// [`Session::inject_fault`] by its word (`packet`, `dns`, `writer`,
    /// `follower`), for a runner's test command; an error in builds without
    /// the `fault-injection` feature, which is every build that ships.
    pub fn inject_fault_by_name(&self, word: &str) -> Result<(), String> {
        #[cfg(feature = "fault-injection")]
        {
            self.inject_fault(word.parse()?);
            Ok(())
        }
        #[cfg(not(feature = "fault-injection"))]
        {
            Err(format!(
                "cannot inject the fault '{word}': this build has no fault injection"
            ))
        }
    }

    /// Whether the session filters now, and what is wrong with it.
    pub fn health(&self) -> Health {
        let mut health = self.health.get();
        if !self.is_running() && health.filtering.is_on() {
            health.filtering = Filtering::Stopped {
                reason: "the engine ended".into(),
            };
        }
        health
    }

    fn finish(&mut self) -> Result<Finished, SessionError> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let outcome = match self.engine.take().map(JoinHandle::join) {
            Some(Ok(Ok(stats))) => Ok(stats),
            Some(Ok(Err(error))) => Err(SessionError::Engine(error)),
            Some(Err(_)) => Err(SessionError::Engine("the engine thread panicked".into())),
            None => Ok(self.stats()),
        };
        self.follower_stop.take();
        if let Some(follower) = self.follower.take() {
            let _ = follower.join();
        }
        let mut events_dropped = 0;
        if let Some(writer) = self.writer.take() {
            match Arc::try_unwrap(writer) {
                Ok(writer) => {
                    // The queue is closed: the count is final once written.
                    let dropped = Arc::clone(&writer.dropped_counter());
                    writer.finish()?;
                    events_dropped = dropped.load(std::sync::atomic::Ordering::Relaxed);
                }
                Err(_) => {
                    return Err(SessionError::Engine(
                        "the activity log is still in use at exit".into(),
                    ))
                }
            }
        }
        outcome.map(|stats| Finished {
            stats,
            events_dropped,
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.engine.is_some() {
            if let Err(error) = self.finish() {
                log::warn!("the session ended with an error: {error}");
            }
        }
    }
}

fn database_error(path: &Path, source: hush_store::StoreError) -> SessionError {
    SessionError::Database {
        path: path.display().to_string(),
        source,
    }
}

/// A list's name: its file name.
pub fn list_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn read_list(path: &Path) -> Result<Vec<u8>, SessionError> {
    std::fs::read(path).map_err(|source| SessionError::List {
        path: path.display().to_string(),
        source,
    })
}

/// The first rejected lines of a list, to show: (line number, why).
fn first_rejected(rejected: &[hush_rules::RejectedLine]) -> Vec<(usize, String)> {
    rejected
        .iter()
        .take(REJECTED_SHOWN)
        .map(|r| (r.line, r.reason.to_string()))
        .collect()
}

/// Every list `config` names, read and built, with what loading each found.
fn read_lists(config: &SessionConfig) -> Result<(Lists, Vec<ListLoad>), SessionError> {
    let (names, mut loads) = load_lists(config)?;
    let (addresses, address_loads) = load_address_lists(config)?;
    loads.extend(address_loads);
    let lists = Lists {
        names: Arc::new(names),
        addresses: Arc::new(addresses),
    };
    Ok((lists, loads))
}

fn record_loads(
    connection: &hush_store::Connection,
    loads: &[ListLoad],
) -> Result<(), SessionError> {
    for load in loads {
        rules::record_list_load(connection, &load.name, &load.origin, load.entries)?;
    }
    Ok(())
}

fn load_lists(config: &SessionConfig) -> Result<(RuleSet, Vec<ListLoad>), SessionError> {
    let mut builder = RuleSetBuilder::new();
    let mut loads = Vec::new();
    let mut note = |report: hush_rules::ListReport, origin: String| {
        loads.push(ListLoad::of_names(&report, origin));
    };
    if config.with_default_list {
        note(builder.add_default_list(), "built-in".into());
    }
    for list in &config.lists {
        let text = read_list(&list.path)?;
        note(
            builder.add_list(&list_name(&list.path), list.kind, &text),
            list.path.display().to_string(),
        );
    }
    Ok((builder.build(), loads))
}

fn load_address_lists(
    config: &SessionConfig,
) -> Result<(AddressRules, Vec<ListLoad>), SessionError> {
    let mut builder = AddressRulesBuilder::new();
    let mut loads = Vec::new();
    for list in &config.address_lists {
        let text = read_list(&list.path)?;
        let report = builder.add_list(&list_name(&list.path), list.kind, &text);
        loads.push(ListLoad {
            name: report.name.clone(),
            origin: list.path.display().to_string(),
            addresses: true,
            entries: report.entries as u64,
            duplicates: 0,
            rejected: report.rejected_count as u64,
            first_rejected: first_rejected(&report.rejected),
        });
    }
    Ok((builder.build(), loads))
}
