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

#![forbid(unsafe_code)]

pub mod api;
pub mod follow;
pub mod health;
mod supervise;
mod tun;

#[cfg(feature = "fault-injection")]
pub use health::Fault;
pub use health::{Filtering, Health, Problem, ProblemKind};
pub use hush_engine::{ResolverExemptions, Upstream, UpstreamError};

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hush_dns::BlockMode;
use hush_engine::owner::OwnerLookup;
use hush_engine::{
    policy_channel, AppMode, AppPolicy, DiscardEvents, DnsConfig, DomainAction, EventSink,
    FlowLimits, Lists, Network, PolicySender, RelayConfig, Screen, ScreenStamp, SocketProtector,
    Stats,
};
use hush_rules::{AddressRules, AddressRulesBuilder, ListKind, RuleSet, RuleSetBuilder};
use hush_store::recover::Recovery;
use hush_store::rules;
use hush_store::EventWriter;
use tokio::sync::watch;

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
    #[error(
        "the MTU is {0}; it must be from 1280 (IPv6's minimum) to 65535 (the largest IP packet)"
    )]
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
    /// The resolver allowed queries go to: plain DNS to an address, DNS
    /// over TLS or DNS over HTTPS ([`Upstream::parse`]).
    pub upstream: Upstream,
    /// The activity log and the rules; without one, nothing is recorded and
    /// rules live only as long as the session.
    pub database: Option<PathBuf>,
    pub with_default_list: bool,
    pub lists: Vec<ListFile>,
    pub address_lists: Vec<ListFile>,
    pub block_mode: BlockMode,
    pub mtu: usize,
    /// Send the apps TCP segments larger than the MTU once the kernel has
    /// shown it takes them ([`RelayConfig::big_segments`]).
    pub big_segments: bool,
    /// The network the per-app modes are read for at start.
    pub network: Network,
    /// Re-read the stored rules when the database changes
    /// ([`follow::Follower`]), for changes made by another process (`hush
    /// rule`) rather than through this session.
    /// Retention is applied either way.
    pub follow_stored_rules: bool,
    /// Hush's own addresses inside the tun (the virtual DNS resolver the
    /// platform gives the apps): DNS to them is answered by Hush, and
    /// anything else sent to them is refused, never relayed out.
    pub own_addresses: Vec<std::net::IpAddr>,
    /// The built-in list of DNS-over-HTTPS endpoints (`hush-doh`), loaded
    /// after every other list: apps' own encrypted resolvers are blocked.
    pub with_encrypted_dns_list: bool,
    /// Let apps reach DNS over TLS or QUIC (port 853); refused by default.
    pub allow_encrypted_dns: bool,
    /// The built-in AdAway list (`hush-adaway`, ads and trackers in
    /// general), loaded after the vendor list. Off unless asked for: its
    /// 6,540 names block more than a firewall started with no options
    /// should (the Android app asks for it by default; `hush run` on
    /// `--adaway-list`).
    pub with_adaway_list: bool,
    /// Remove the `ech` parameter from HTTPS/SVCB answers, so that clients
    /// send a server name Hush can read.
    pub strip_ech: bool,
    /// Resolvers never refused as an app's own encrypted DNS (port 853,
    /// the `hush-doh` list) nor as unresolved addresses: on Android, the
    /// strict Private DNS host and its addresses. Changed while running
    /// with [`Session::set_resolver_exemptions`].
    pub resolver_exemptions: ResolverExemptions,
    /// The platform keeps every socket of Hush's own process out of the tun
    /// (Android: the VPN leaves out Hush's own package), so the session
    /// never calls the protector: no JNI and binder call per new flow.
    /// Why that holds is in [`SocketProtector`]'s documentation.
    pub self_excluded: bool,
    /// What all flows together, and each app, may hold.
    pub limits: FlowLimits,
    /// The device's screen is off as the session starts; changed while it
    /// runs with [`Session::set_screen_off`]. Each event records the state
    /// at its attempt. Off by default: a Linux box has no screen to turn off.
    pub screen_off: bool,
    /// The packet capture of one app: started and stopped through
    /// [`Session::capture`] while the session runs, or before it starts.
    pub capture: hush_engine::Capture,
}

impl SessionConfig {
    pub fn new(upstream: impl Into<Upstream>) -> Self {
        Self {
            upstream: upstream.into(),
            database: None,
            with_default_list: true,
            lists: Vec::new(),
            address_lists: Vec::new(),
            block_mode: BlockMode::NxDomain,
            mtu: RelayConfig::default().mtu,
            big_segments: true,
            network: Network::Any,
            follow_stored_rules: false,
            own_addresses: Vec::new(),
            with_encrypted_dns_list: true,
            allow_encrypted_dns: false,
            with_adaway_list: false,
            strip_ech: true,
            resolver_exemptions: ResolverExemptions::default(),
            self_excluded: false,
            limits: FlowLimits::default(),
            screen_off: false,
            capture: hush_engine::Capture::default(),
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

/// The smallest MTU IPv6 allows.
pub const MIN_MTU: usize = 1280;
/// The largest IP packet.
pub const MAX_MTU: usize = 65_535;
/// How long a start waits for the database's first opening (a recovery
/// reads the whole file) before it goes on without it.
const START_WAIT: Duration = Duration::from_secs(3);

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
    /// Set to true to stop the engine (each of its runs watches it).
    shutdown: watch::Sender<bool>,
    policy: PolicySender,
    live: watch::Receiver<Stats>,
    writer: Option<Arc<EventWriter>>,
    database: Option<PathBuf>,
    follower: Option<JoinHandle<()>>,
    /// Dropped to stop the follower at once.
    follower_stop: Option<follow::FollowerStop>,
    lists: watch::Sender<Lists>,
    loads: std::sync::Mutex<Vec<ListLoad>>,
    recovery: Option<Recovery>,
    network_changes: watch::Sender<u64>,
    /// The tun in use: [`Session::replace_tun`] hands the engine another.
    tun: watch::Sender<Arc<std::fs::File>>,
    /// The resolver allowed queries go to, as the platform last named it.
    /// `None`: the configured one.
    upstream: watch::Sender<Option<SocketAddr>>,
    /// The exempt resolvers in force.
    resolver_exemptions: watch::Sender<ResolverExemptions>,
    health: Arc<health::HealthCell>,
    /// The encrypted upstream's failures at the last [`Session::health`]:
    /// new ones since are a problem.
    upstream_failures_seen: std::sync::Mutex<u64>,
    /// Whether the screen is off: read by the sink every event goes
    /// through, at each attempt.
    screen: Screen,
    /// Why filtering ends, recorded when the session finishes.
    stop_reason: String,
    capture: hush_engine::Capture,
    #[cfg(feature = "fault-injection")]
    faults: Arc<hush_engine::Faults>,
    #[cfg(feature = "fault-injection")]
    follower_fault: Arc<std::sync::atomic::AtomicBool>,
}

/// Restarts allowed within a minute before traffic is held (for tests).
pub const MAX_RESTARTS_FOR_TESTS: usize = supervise::MAX_RESTARTS;

/// The gap reason of a session its owner stopped.
pub const STOPPED_BY_OWNER: &str = "stopped";
/// The gap reason of a session ended because another VPN took over.
pub const REVOKED: &str = "revoked";

impl Session {
    /// Loads the lists, opens the store (moving a broken one aside), reads
    /// the rules, and starts the relay on `tun`. Returns once the relay runs.
    ///
    /// Only a configuration that cannot work (an MTU out of range) or a
    /// platform that cannot run a thread stops the start. Anything else is
    /// started around and reported in [`Session::health`]: a list that
    /// cannot be read is left out (the built-in list and the readable ones
    /// apply), a database that cannot be opened or written keeps its events
    /// in a bounded memory log until it can, and unreadable rules leave the
    /// defaults in force until they can be read.
    pub fn start(
        tun: OwnedFd,
        config: SessionConfig,
        protector: Arc<dyn SocketProtector>,
        owners: Arc<dyn OwnerLookup>,
    ) -> Result<Session, SessionError> {
        if !(MIN_MTU..=MAX_MTU).contains(&config.mtu) {
            return Err(SessionError::Mtu(config.mtu));
        }
        let protector = match config.self_excluded {
            true => Arc::new(hush_engine::NoProtection),
            false => protector,
        };
        let (lists, loads, mut problems) = read_lists_leniently(&config);

        let (events, writer): (Arc<dyn EventSink>, Option<Arc<EventWriter>>) =
            match &config.database {
                Some(path) => {
                    let writer = Arc::new(EventWriter::open(path, EVENT_QUEUE)?);
                    (writer.clone(), Some(writer))
                }
                None => (Arc::new(DiscardEvents), None),
            };
        let screen = Screen::new(config.screen_off);
        let events: Arc<dyn EventSink> = Arc::new(ScreenStamp::new(events, screen.clone()));
        let mut recovery = None;
        let initial = match &config.database {
            Some(path) => {
                // The writer's thread has opened (or recovered) the file by
                // the time the rules are read, or has found it unusable.
                if let Some(writer) = &writer {
                    wait_for_store(writer, START_WAIT);
                    recovery = writer.recovery();
                }
                match record_loads_at(path, &loads)
                    .and_then(|()| follow::load(path, config.network).map_err(SessionError::Start))
                {
                    Ok(policy) => Some(policy),
                    Err(error) => {
                        problems.push(Problem {
                            kind: ProblemKind::Rules,
                            message: format!(
                                "the stored rules could not be read, so the defaults apply \
                                 until they can: {error}"
                            ),
                        });
                        None
                    }
                }
            }
            None => None,
        };
        let rules_loaded = initial.is_some() || config.database.is_none();
        let initial = initial.unwrap_or_else(|| {
            let mut policy = AppPolicy::default();
            policy.set_active_network(config.network);
            policy
        });
        let (policy, policy_kept) = policy_channel(initial);
        let (lists, lists_updates) = watch::channel(lists);
        let health = Arc::new(health::HealthCell::new(problems));
        #[cfg(feature = "fault-injection")]
        let follower_fault = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // With a store, a thread applies retention, and follows the rules
        // when another process may change them (or until they can be read).
        let (follower_stop, follower) = match &config.database {
            Some(path) => {
                let rules = if config.follow_stored_rules {
                    follow::Rules::Follow
                } else if rules_loaded {
                    follow::Rules::Leave
                } else {
                    follow::Rules::UntilRead
                };
                let (stop, follower) = follow::Follower {
                    path: path.clone(),
                    sender: policy.clone(),
                    rules,
                    health: Arc::clone(&health),
                    #[cfg(feature = "fault-injection")]
                    fault: Arc::clone(&follower_fault),
                }
                .spawn()
                .map_err(|e| SessionError::Start(format!("cannot follow the store: {e}")))?;
                (Some(stop), Some(follower))
            }
            None => (None, None),
        };

        let (tun, tun_rx) = watch::channel(Arc::new(std::fs::File::from(tun)));
        let (live_stats, live) = watch::channel(Stats::default());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (network_changes, network_rx) = watch::channel(0u64);
        let (upstream, upstream_rx) = watch::channel(None);
        let (resolver_exemptions, exemptions_rx) =
            watch::channel(config.resolver_exemptions.clone());
        #[cfg(feature = "fault-injection")]
        let faults = hush_engine::Faults::new();
        let engine = supervise::Engine {
            tun: tun_rx,
            relay: RelayConfig {
                mtu: config.mtu,
                big_segments: config.big_segments,
                own_addresses: config.own_addresses.clone(),
                allow_encrypted_dns: config.allow_encrypted_dns,
                limits: config.limits,
                capture: config.capture.clone(),
                ..RelayConfig::default()
            },
            dns: DnsConfig {
                block_mode: config.block_mode,
                strip_ech: config.strip_ech,
                ..DnsConfig::default()
            },
            upstream_changes: upstream_rx,
            resolver_exemptions: exemptions_rx,
            upstream: config.upstream.clone(),
            protector,
            owners,
            policy: policy.clone(),
            _policy_kept: policy_kept,
            lists: lists_updates,
            events,
            writer: writer.clone(),
            live: live_stats,
            network_changes: network_rx,
            shutdown: shutdown_rx,
            health: Arc::clone(&health),
            #[cfg(feature = "fault-injection")]
            faults: Arc::clone(&faults),
        };
        let (started, started_rx) = std::sync::mpsc::sync_channel::<Result<(), String>>(1);
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
                let _ = started.send(Ok(()));
                engine.supervise(&runtime)
            })
            .map_err(|e| SessionError::Start(e.to_string()))?;
        let mut session = Session {
            engine: Some(engine),
            shutdown,
            policy,
            live,
            writer,
            database: config.database.clone(),
            follower,
            follower_stop,
            lists,
            loads: std::sync::Mutex::new(loads),
            recovery,
            network_changes,
            tun,
            upstream,
            resolver_exemptions,
            health,
            upstream_failures_seen: std::sync::Mutex::new(0),
            screen,
            stop_reason: STOPPED_BY_OWNER.to_string(),
            capture: config.capture.clone(),
            #[cfg(feature = "fault-injection")]
            faults,
            #[cfg(feature = "fault-injection")]
            follower_fault,
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
    /// Starts and stops the capture of one app's packets; it follows the
    /// engine through restarts.
    pub fn capture(&self) -> &hush_engine::Capture {
        &self.capture
    }

    pub fn is_running(&self) -> bool {
        self.engine
            .as_ref()
            .is_some_and(|engine| !engine.is_finished())
    }

    /// Events the store could not take so far.
    pub fn events_dropped(&self) -> u64 {
        self.writer.as_ref().map_or(0, |w| w.dropped())
    }

    /// The platform says the device's screen went off (`true`) or on: the
    /// attempts made from now on record it. One atomic store; the packet
    /// path reads it with a relaxed load.
    pub fn set_screen_off(&self, off: bool) {
        self.screen.set_off(off);
    }

    /// Whether the screen is off, as the platform last said.
    pub fn screen_off(&self) -> bool {
        self.screen.is_off()
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

    /// Hands the engine a new tun in place of the one it runs on (Android:
    /// the VPN established again with another set of apps left out). The
    /// session owns it from here. The run on the old tun reads what is
    /// waiting there (a quarter second at most), then the old tun is closed
    /// and the engine runs on the new one; flows the relay held are reset,
    /// as after a restart ([`tun`]). Refused once the engine has ended.
    pub fn replace_tun(&self, tun: OwnedFd) -> Result<(), SessionError> {
        if !self.is_running() {
            return Err(SessionError::Engine(
                "the engine has ended; there is nothing to hand a new tun to".into(),
            ));
        }
        self.tun.send_replace(Arc::new(std::fs::File::from(tun)));
        Ok(())
    }

    /// The platform says the network changed (another network, or new
    /// addresses on the same one): the engine reopens its outside sockets
    /// at once, resets the TCP flows whose socket died, and moves UDP flows
    /// to the new network.
    pub fn network_changed(&self) {
        self.network_changes
            .send_modify(|generation| *generation += 1);
    }

    /// [`Session::network_changed`], with the resolver allowed queries go
    /// to from now on: the new network's own, when the owner chose to
    /// follow the network's resolvers. Queries still waiting are sent again
    /// to it.
    ///
    /// Plain DNS only: with an encrypted upstream configured, queries stay
    /// on it (never swapped for clear text); the change is still a network
    /// change.
    /// Replaces the exempt resolvers (see
    /// [`SessionConfig::resolver_exemptions`]); in force for new lookups
    /// and flows within one turn of the engine, and kept across its restarts.
    /// Flows already open are left as they are.
    pub fn set_resolver_exemptions(&self, exemptions: ResolverExemptions) {
        self.resolver_exemptions.send_replace(exemptions);
    }

    /// The exempt resolvers in force.
    pub fn resolver_exemptions(&self) -> ResolverExemptions {
        self.resolver_exemptions.borrow().clone()
    }

    pub fn network_changed_to(&self, upstream: SocketAddr) {
        self.upstream.send_replace(Some(upstream));
        self.network_changed();
    }

    /// The plain resolver the platform last named ([`Session::network_changed_to`]),
    /// if any.
    pub fn named_resolver(&self) -> Option<SocketAddr> {
        *self.upstream.borrow()
    }

    /// Makes `fault` happen in the running session, for tests of its
    /// containment. Not in builds that ship.
    #[cfg(feature = "fault-injection")]
    pub fn inject_fault(&self, fault: Fault) {
        match fault {
            Fault::PacketPath => self.faults.panic_at_next_packet(),
            Fault::DnsPath => self.faults.panic_at_next_dns_query(),
            Fault::Writer => {
                if let Some(writer) = &self.writer {
                    writer.inject_panic();
                }
            }
            Fault::Follower => self
                .follower_fault
                .store(true, std::sync::atomic::Ordering::SeqCst),
        }
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
        if let Some(writer) = &self.writer {
            if let Some(lost @ 1..) = writer.lost_at_last_kill() {
                health.problems.push(Problem {
                    kind: ProblemKind::Database,
                    message: format!(
                        "at least {lost} events were lost when Hush was last ended without \
                         stopping (killed); they are counted as dropped"
                    ),
                });
            }
            if let hush_store::WriterStatus::Unavailable { reason, held, .. } = writer.status() {
                health.problems.push(Problem {
                    kind: ProblemKind::Database,
                    message: format!(
                        "the activity log cannot be written ({reason}); {held} events wait \
                         in memory and are written when it can be"
                    ),
                });
            }
        }
        if let Some(recovery) = &self.recovery {
            health.problems.push(Problem {
                kind: ProblemKind::Database,
                message: recovery.to_string(),
            });
        }
        let stats = self.stats();
        let failures = stats.upstream_failures();
        let mut seen = self
            .upstream_failures_seen
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if failures > *seen {
            health.problems.push(Problem {
                kind: ProblemKind::Upstream,
                message: upstream_problem(&stats, failures - *seen),
            });
        }
        *seen = failures;
        drop(seen);
        if !self.is_running() && health.filtering.is_on() {
            health.filtering = Filtering::Stopped {
                reason: "the engine ended".into(),
            };
        }
        health
    }

    fn finish(&mut self) -> Result<Finished, SessionError> {
        self.shutdown.send_replace(true);
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
        // A capture the platform left running ends with the engine, its
        // last file renamed into place.
        if let Some(error) = self.capture.stop().and_then(|summary| summary.error) {
            log::warn!("{error}");
        }
        let mut events_dropped = 0;
        if let Some(writer) = self.writer.take() {
            match Arc::try_unwrap(writer) {
                Ok(writer) => {
                    // The queue is closed: the count is final once written.
                    let dropped = Arc::clone(&writer.dropped_counter());
                    let reason = match &outcome {
                        Err(error) => format!("engine-stopped: {error}"),
                        Ok(_) => self.stop_reason.clone(),
                    };
                    match writer.finish_with(&reason) {
                        Ok(()) => {}
                        // The firewall itself ended well; the events the
                        // database never took are counted as dropped (and
                        // were shown as a problem while it ran).
                        Err(hush_store::StoreError::Lost { events, source }) => {
                            log::warn!("{events} events could not be written at the end: {source}");
                        }
                        Err(error) => return Err(error.into()),
                    }
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

/// Waits until the writer has tried the database once (opened, recovered,
/// or found it unusable), for at most `wait`.
fn wait_for_store(writer: &EventWriter, wait: Duration) {
    let deadline = Instant::now() + wait;
    while writer.status() == hush_store::WriterStatus::Starting && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
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

/// Records what loading each list found in the database at `path`.
fn record_loads_at(path: &Path, loads: &[ListLoad]) -> Result<(), SessionError> {
    let connection = hush_store::open(path).map_err(|source| database_error(path, source))?;
    record_loads(&connection, loads)
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

/// [`read_lists`] for a start: a list that cannot be read is left out and
/// reported, never a reason not to filter with the others.
fn read_lists_leniently(config: &SessionConfig) -> (Lists, Vec<ListLoad>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut readable = config.clone();
    let mut keep = |list: &ListFile| match std::fs::File::open(&list.path) {
        Ok(_) => true,
        Err(source) => {
            problems.push(Problem {
                kind: ProblemKind::List,
                message: SessionError::List {
                    path: list.path.display().to_string(),
                    source,
                }
                .to_string()
                    + "; it is left out until it can be read",
            });
            false
        }
    };
    readable.lists.retain(&mut keep);
    readable.address_lists.retain(&mut keep);
    match read_lists(&readable) {
        Ok((lists, loads)) => (lists, loads, problems),
        // A file that opened but could not be read through: the built-in
        // list alone rather than nothing.
        Err(error) => {
            problems.push(Problem {
                kind: ProblemKind::List,
                message: format!("{error}; only the built-in list applies"),
            });
            readable.lists.clear();
            readable.address_lists.clear();
            readable.with_default_list = true;
            readable.with_encrypted_dns_list = true;
            let (lists, loads) = read_lists(&readable).unwrap_or_else(|_| {
                (
                    Lists {
                        names: Arc::new(RuleSetBuilder::new().build()),
                        addresses: Arc::new(AddressRules::empty()),
                    },
                    Vec::new(),
                )
            });
            (lists, loads, problems)
        }
    }
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
    if config.with_adaway_list {
        note(builder.add_adaway_list(), "built-in".into());
    }
    for list in &config.lists {
        let text = read_list(&list.path)?;
        note(
            builder.add_list(&list_name(&list.path), list.kind, &text),
            list.path.display().to_string(),
        );
    }
    // Last: where several lists hold a name, the first loaded is named, and
    // a match of this one's is the one an exempt resolver may override.
    if config.with_encrypted_dns_list {
        note(builder.add_encrypted_dns_list(), "built-in".into());
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

/// What the health says when the encrypted upstream failed queries: how
/// many since the last look, and the reasons so far.
fn upstream_problem(stats: &Stats, new: u64) -> String {
    let reasons = [
        ("unreachable", stats.upstream_connect_failed),
        ("certificate not trusted", stats.upstream_bad_certificate),
        (
            "TLS or HTTP/2 handshake failed",
            stats.upstream_handshake_failed,
        ),
        ("no answer in time", stats.upstream_timeouts),
        ("HTTP error", stats.upstream_http_errors),
        ("answer not DNS", stats.upstream_bad_answers),
        ("connection closed", stats.upstream_closed),
        ("too many queries", stats.upstream_overload),
        ("no trust store readable", stats.upstream_no_trust_store),
    ];
    let said: Vec<String> = reasons
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(why, n)| format!("{why}: {n}"))
        .collect();
    format!(
        "the encrypted DNS resolver failed {new} lookups (answered SERVFAIL, never sent in \
         clear text); since start, {}",
        said.join(", ")
    )
}
