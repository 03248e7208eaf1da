//! `hush`: the Linux runner of the Hush firewall.
//!
//! `hush run` firewalls a tun device, following the outbound interface's
//! network changes; `hush ctl` talks to a running one; `hush demo` shows it
//! on real traffic in namespaces it builds; `hush lists check` reports on
//! blocklist files; `hush rule` and `hush log` change the rules and read the
//! activity log; `hush report` writes one app's evidence report.

mod demo;
mod records;
mod report;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use hush_dns::BlockMode;
use hush_engine::owner::{NoOwners, OwnerLookup};
use hush_engine::{CaptureSpec, FlowLimits, SocketProtector};
use hush_linux::control::{self, ControlSocket, Request};
use hush_linux::netwatch::{self, Tracker, Watcher};
use hush_linux::{protect::BindToDevice, tun};
use hush_rules::{ListKind, RuleSetBuilder};
use hush_session::{ListFile, Session, SessionConfig};

#[derive(Parser)]
#[command(
    name = "hush",
    version,
    about = "An on-device privacy firewall, on a Linux tun"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Firewall the traffic of a tun device until SIGINT or SIGTERM.
    // Boxed: the largest variant by far.
    Run(Box<RunArgs>),
    /// Talk to a running `hush run --control PATH`.
    Ctl(CtlArgs),
    /// Build isolated namespaces, send real DNS queries through Hush, show what happened.
    Demo,
    /// Work with blocklist files.
    Lists {
        #[command(subcommand)]
        command: ListsCommand,
    },
    /// Set app modes and domain rules in a database.
    Rule {
        #[command(subcommand)]
        command: records::RuleCommand,
    },
    /// Show recent activity from a database, filtered.
    Log(records::LogArgs),
    /// Per-app counts, the most blocked hosts and a day-by-day timeline.
    Stats(report::StatsArgs),
    /// Every app the log or the rules know, with its modes and counts.
    Apps(report::AppsArgs),
    /// Write the activity log as CSV or JSON Lines.
    Export(report::ExportArgs),
    /// Show or set how long the activity log is kept.
    Retention(report::RetentionArgs),
    /// Delete the activity log; rules and settings stay.
    Clear(report::ClearArgs),
    /// When Hush was not filtering (stopped, killed, restarting), newest first.
    Gaps(report::GapsArgs),
    /// One app's evidence report: a self-contained HTML file to keep, share or print.
    Report(hush_linux::evidence::ReportArgs),
}

#[derive(Subcommand)]
enum ListsCommand {
    /// Load list files and report entries, duplicates and rejected lines.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The lists built into Hush: name, entries, licence, source.
    Builtin,
}

/// The upstream as given on the command line; bad input stops the start.
fn upstream_of(args: &RunArgs) -> Result<hush_session::Upstream, String> {
    let ca = match &args.upstream_ca {
        None => None,
        Some(path) => Some(
            std::fs::read(path)
                .map_err(|e| format!("failed to read the upstream CA {}: {e}", path.display()))?,
        ),
    };
    hush_session::Upstream::parse(&args.upstream, &args.upstream_addresses, ca.as_deref())
        .map_err(|e| format!("failed to configure the upstream: {e}"))
}

#[derive(clap::Args)]
struct RunArgs {
    /// Name of an existing tun device to attach to.
    #[arg(long, conflicts_with = "tun_fd", required_unless_present = "tun_fd")]
    tun: Option<String>,
    /// An inherited tun file descriptor (raw IP, no packet-information header).
    #[arg(long)]
    tun_fd: Option<i32>,
    /// The resolver allowed queries are forwarded to: IP:PORT (plain DNS),
    /// tls://NAME[:PORT] (DNS over TLS) or https://NAME[:PORT]/PATH (DNS
    /// over HTTPS).
    #[arg(long)]
    upstream: String,
    /// An address of the encrypted upstream's NAME (repeatable): the name is
    /// never looked up in clear text, so tls:// and https:// need one.
    #[arg(long = "upstream-address")]
    upstream_addresses: Vec<std::net::IpAddr>,
    /// A PEM file of certificates trusted for the encrypted upstream beside
    /// the system's store (a private CA).
    #[arg(long)]
    upstream_ca: Option<PathBuf>,
    /// The interface Hush's own sockets leave through (SO_BINDTODEVICE).
    #[arg(long)]
    out_iface: String,
    /// A blocklist file (hosts, domains, adblock, wildcard or dnsmasq format).
    #[arg(long = "list")]
    lists: Vec<PathBuf>,
    /// An allowlist file; it overrides every blocklist.
    #[arg(long = "allow")]
    allows: Vec<PathBuf>,
    /// A file of addresses and CIDR ranges (one per line) to block.
    #[arg(long = "block-addresses")]
    address_lists: Vec<PathBuf>,
    /// A file of addresses and CIDR ranges never blocked by address.
    #[arg(long = "allow-addresses")]
    address_allows: Vec<PathBuf>,
    /// Record every decision in this SQLite database.
    #[arg(long)]
    db: Option<PathBuf>,
    /// How blocked names are answered.
    #[arg(long, value_enum, default_value_t = BlockModeArg::Nxdomain)]
    block_mode: BlockModeArg,
    /// Do not load the built-in list of vendor telemetry hosts.
    #[arg(long)]
    no_default_list: bool,
    /// Do not load the built-in list of DNS-over-HTTPS endpoints (apps'
    /// own encrypted resolvers).
    #[arg(long)]
    no_doh_list: bool,
    /// Also load the built-in AdAway list (ads and trackers in general,
    /// `hush-adaway`, CC BY 3.0). Off by default here: a run blocks only
    /// vendor telemetry and encrypted-DNS endpoints unless asked for more.
    #[arg(long)]
    adaway_list: bool,
    /// Let apps reach DNS over TLS or QUIC (port 853), refused by default.
    #[arg(long)]
    allow_encrypted_dns: bool,
    /// A resolver apps may reach over DNS over TLS, and never refused as an
    /// encrypted-DNS endpoint or an unresolved address (repeatable): a host
    /// name (and every name under it) or an IP address, as Android's strict
    /// Private DNS is exempted on a phone.
    #[arg(long = "exempt-resolver", value_name = "NAME_OR_IP")]
    exempt_resolvers: Vec<String>,
    /// Keep the `ech` parameter in HTTPS/SVCB answers (removed by default,
    /// so that clients send a server name Hush can read).
    #[arg(long)]
    keep_ech: bool,
    /// The tun's MTU (the largest packet Hush sends to the apps). Default:
    /// the MTU of the device named by --tun, or 1500 for --tun-fd.
    #[arg(long)]
    mtu: Option<u32>,
    /// Send the apps TCP segments no larger than the tun's MTU. By default,
    /// once the kernel has answered a probe through the tun, Hush sends up
    /// to 64 KB per segment, which the kernel takes as it takes merged
    /// (GRO) segments: far fewer tun writes for a download.
    #[arg(long)]
    no_big_segments: bool,
    /// Open every flow's socket off the relay's packet task, as Hush does
    /// on Android when its protector (`VpnService.protect`, a binder call)
    /// may block: for trying that path in the lab.
    #[arg(long)]
    protect_off_task: bool,
    /// The network per-app modes are read for: any, wifi or mobile. A phone
    /// tells Hush which is active; here you do.
    #[arg(long, default_value = "any")]
    network: String,
    /// Do not look up which app (Linux user) owns each flow: every flow is
    /// judged as of an unknown owner.
    #[arg(long)]
    no_owners: bool,
    /// MiB of TCP buffers for all flows together (default 64). One app may
    /// hold half of it at full size and three quarters of it in all.
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u32).range(1..=65536))]
    flow_memory: Option<u32>,
    /// Open TCP flows one app may hold (default 4096).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    app_tcp_flows: Option<u32>,
    /// TCP flows of one app whose server connect may be under way at once
    /// (default 256).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    app_connects: Option<u32>,
    /// Open UDP flows one app may hold (default 1024).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    app_udp_flows: Option<u32>,
    /// Listen for `hush ctl` on this Unix socket (created owner-only,
    /// removed at exit).
    #[arg(long)]
    control: Option<PathBuf>,
    /// Capture the packets of this app (Linux user ID), as the tun saw
    /// them, to the pcapng file --capture names.
    #[arg(long, value_name = "UID", requires = "capture")]
    capture_uid: Option<u32>,
    /// The capture's file (pcapng). While it is written it is FILE.partial;
    /// older files rotate to FILE.1, FILE.2... (the extension kept).
    #[arg(long, value_name = "FILE", requires = "capture_uid")]
    capture: Option<PathBuf>,
    /// KiB per capture file before it rotates (default 65536, 64 MiB).
    #[arg(long, value_name = "KIB", value_parser = clap::value_parser!(u64).range(64..=16_777_216), requires = "capture")]
    capture_size: Option<u64>,
    /// Capture files kept, the one being written included (default 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000), requires = "capture")]
    capture_files: Option<u32>,
    /// Capture every packet whole. By default each flow's first 64 KiB each
    /// way are whole (handshakes, names, requests) and later packets keep
    /// their first 160 bytes (headers and the payload's start).
    #[arg(long, requires = "capture")]
    capture_whole: bool,
    /// End the capture after this many seconds (default: when Hush stops).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..), requires = "capture")]
    capture_for: Option<u64>,
}

#[derive(clap::Args)]
struct CtlArgs {
    /// The control socket `hush run --control` listens on.
    #[arg(long)]
    control: PathBuf,
    #[command(subcommand)]
    command: CtlCommand,
}

#[derive(Subcommand)]
enum CtlCommand {
    /// Leave through another interface from now on (a phone moving from
    /// Wi-Fi to mobile data); open sockets are moved or reset.
    OutIface { name: String },
    /// Tell the firewall its network changed; with RESOLVER (IP or
    /// IP:PORT), allowed queries go there from now on (the new network's
    /// own resolver).
    NetworkChanged { resolver: Option<String> },
    /// Print whether it filters, its restarts and problems, as JSON.
    Health,
    /// Inject a fault: packet, dns, writer or follower (test builds only).
    Fault { word: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum BlockModeArg {
    /// NXDOMAIN: the name does not exist.
    Nxdomain,
    /// 0.0.0.0 for A, :: for AAAA.
    Unspecified,
}

fn main() -> ExitCode {
    map_flow_buffers_fresh();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(*args),
        Command::Ctl(args) => ctl(args),
        Command::Demo => demo::run(),
        Command::Lists {
            command: ListsCommand::Check { files },
        } => lists_check(&files),
        Command::Lists {
            command: ListsCommand::Builtin,
        } => {
            lists_builtin();
            Ok(())
        }
        Command::Rule { command } => records::rule(command),
        Command::Log(args) => records::log(args),
        Command::Stats(args) => report::stats(args),
        Command::Apps(args) => report::apps(args),
        Command::Export(args) => report::export(args),
        Command::Retention(args) => report::retention(args),
        Command::Clear(args) => report::clear(args),
        Command::Gaps(args) => report::gaps(args),
        Command::Report(args) => hush_linux::evidence::report(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hush: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Each relayed TCP flow owns two ring buffers of a few hundred KiB. Left to
/// itself, glibc raises its mmap threshold after the first such buffer is
/// freed and serves later ones from the heap, where `calloc` must zero them
/// (a memset of the whole buffer per connection) and freed memory stays
/// resident. A fixed threshold keeps every flow buffer a fresh mapping: its
/// pages cost memory only once touched, and go back to the system when the
/// flow ends. Android's allocator maps large blocks this way by itself.
fn map_flow_buffers_fresh() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; it is called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Loads the rules a run uses, printing one summary line per list.
fn list_name(path: &std::path::Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn lists_check(files: &[PathBuf]) -> Result<(), String> {
    let mut failed = false;
    for path in files {
        match std::fs::read(path) {
            Ok(text) => {
                let report =
                    RuleSetBuilder::new().add_list(&list_name(path), ListKind::Block, &text);
                println!("{report}");
            }
            Err(e) => {
                eprintln!("hush: failed to read {}: {e}", path.display());
                failed = true;
            }
        }
    }
    if failed {
        Err("some lists could not be read".into())
    } else {
        Ok(())
    }
}

/// One line per built-in list, its entries counted by the parser; the
/// flag that turns it on or off in `hush run`.
fn lists_builtin() {
    for list in &hush_rules::BUILTIN_LISTS {
        let report = list.report();
        let switch = match list.name {
            hush_rules::ADAWAY_LIST_NAME => "off; on with --adaway-list",
            hush_rules::ENCRYPTED_DNS_LIST_NAME => "on; off with --no-doh-list",
            _ => "on; off with --no-default-list",
        };
        println!(
            "{}\t{} entries\t{}\t{} ({switch})\n  source: {}",
            list.name, report.entries, list.licence, list.title, list.source
        );
    }
}

fn run(args: RunArgs) -> Result<(), String> {
    let lists = |paths: &[PathBuf], kind| -> Vec<ListFile> {
        paths
            .iter()
            .map(|path| ListFile {
                path: path.clone(),
                kind,
            })
            .collect()
    };
    // Bad input stops here, before anything is touched.
    let upstream = upstream_of(&args)?;
    // First, so that a second `hush run` on the same control path is
    // refused before it touches the tun.
    let mut control = args
        .control
        .as_deref()
        .map(ControlSocket::bind)
        .transpose()?;
    let tun_fd = match (&args.tun, args.tun_fd) {
        (Some(name), _) => tun::attach(name),
        (None, Some(fd)) => tun::from_inherited_fd(fd),
        (None, None) => unreachable!("clap requires --tun or --tun-fd"),
    }
    .map_err(|e| e.to_string())?;
    let mtu = match (args.mtu, &args.tun) {
        (Some(mtu), _) => mtu as usize,
        (None, Some(name)) => tun::mtu(name).map_err(|e| e.to_string())? as usize,
        (None, None) => 1500,
    };
    if mtu < 1280 {
        return Err(format!(
            "the tun's MTU is {mtu}; IPv6 needs at least 1280 (set it with `ip link set dev NAME mtu 9000`)"
        ));
    }
    let mut config = SessionConfig::new(upstream);
    config.database = args.db.clone();
    config.with_default_list = !args.no_default_list;
    config.with_encrypted_dns_list = !args.no_doh_list;
    config.with_adaway_list = args.adaway_list;
    config.allow_encrypted_dns = args.allow_encrypted_dns;
    for resolver in &args.exempt_resolvers {
        match resolver.parse() {
            Ok(address) => config.resolver_exemptions.add_address(address),
            Err(_) => config
                .resolver_exemptions
                .add_host_name(resolver)
                .map_err(|e| format!("--exempt-resolver: {e} nor an IP address"))?,
        }
    }
    config.strip_ech = !args.keep_ech;
    if let Some(mib) = args.flow_memory {
        config.limits = FlowLimits::with_buffer_budget(mib as usize * (1 << 20));
    }
    for (limit, value) in [
        (&mut config.limits.app_tcp_flows, args.app_tcp_flows),
        (&mut config.limits.app_connects, args.app_connects),
        (&mut config.limits.app_udp_flows, args.app_udp_flows),
    ] {
        if let Some(value) = value {
            *limit = value as usize;
        }
    }
    config.lists = lists(&args.lists, ListKind::Block);
    config.lists.extend(lists(&args.allows, ListKind::Allow));
    config.address_lists = lists(&args.address_lists, ListKind::Block);
    config
        .address_lists
        .extend(lists(&args.address_allows, ListKind::Allow));
    config.block_mode = match args.block_mode {
        BlockModeArg::Nxdomain => BlockMode::NxDomain,
        BlockModeArg::Unspecified => BlockMode::Unspecified,
    };
    config.mtu = mtu;
    config.big_segments = !args.no_big_segments;
    config.network = hush_store::rules::parse_word(&args.network).map_err(|e| e.to_string())?;
    // `hush rule` changes the rules from another process.
    config.follow_stored_rules = true;
    let capture = args
        .capture_uid
        .zip(args.capture.as_ref())
        .map(|(uid, path)| {
            let mut spec = CaptureSpec::new(uid, path.clone());
            spec.app = report::user_name(uid).unwrap_or_default();
            if let Some(kib) = args.capture_size {
                spec.file_bytes = kib * 1024;
            }
            if let Some(files) = args.capture_files {
                spec.files = files;
            }
            spec.duration = args.capture_for.map(std::time::Duration::from_secs);
            if args.capture_whole {
                spec.whole_bytes = None;
            }
            spec
        });
    let protector = Arc::new(
        BindToDevice::new(&args.out_iface)
            .map_err(|e| e.to_string())?
            .off_task(args.protect_off_task),
    );
    let owners: Arc<dyn OwnerLookup> = if args.no_owners {
        Arc::new(NoOwners)
    } else {
        Arc::new(hush_linux::sock_diag::LinuxOwners::new())
    };
    // Watched before the engine starts, so no signal and no network change
    // goes unheard.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("failed to start the runtime: {e}"))?;
    let shutdown = runtime
        .block_on(async { shutdown_signal() })
        .map_err(|e| format!("failed to watch signals: {e}"))?;
    let watcher = runtime.block_on(async { Watcher::open() });
    let tracker = RefCell::new(Tracker::default());
    tracker.borrow_mut().update(
        &args.out_iface,
        netwatch::read_state(&args.out_iface).ok().flatten(),
    );
    let session = Session::start(
        tun_fd,
        config,
        Arc::clone(&protector) as Arc<dyn SocketProtector>,
        owners,
    )
    .map_err(|e| e.to_string())?;
    if let Some(spec) = capture {
        // A file that cannot be made stops Hush here, before it says ready.
        if let Err(error) = session.capture().start(spec) {
            let _ = session.stop_because(hush_session::STOPPED_BY_OWNER);
            return Err(error.to_string());
        }
    }
    for load in session.list_loads() {
        let kind = if load.addresses {
            "address list"
        } else {
            "list"
        };
        eprintln!(
            "hush: {kind} {}: {} entries, {} duplicates, {} rejected lines",
            load.name, load.entries, load.duplicates, load.rejected
        );
        for (line, reason) in &load.first_rejected {
            eprintln!("hush:   line {line}: {reason}");
        }
    }
    let problems = session.health().problems;
    if let Some(recovery) = session.recovery() {
        let recovery = recovery.to_string();
        // Said once: as a problem if the session lists it as one.
        if !problems.iter().any(|p| p.message == recovery) {
            eprintln!("hush: {recovery}");
        }
    }
    for problem in problems {
        eprintln!("hush: problem: {}", problem.message);
    }
    let watcher = match watcher {
        Ok(watcher) => Some(watcher),
        Err(e) => {
            eprintln!("hush: problem: failed to watch the network (changes go unseen): {e}");
            None
        }
    };
    eprintln!("hush: ready, relaying all traffic (stop with Ctrl-C)");
    let running = Running {
        session: &session,
        protector: &protector,
        tracker: &tracker,
    };
    runtime.block_on(async {
        let watch = async {
            match watcher {
                Some(watcher) => running.follow_network(watcher).await,
                None => std::future::pending().await,
            }
        };
        let serve = async {
            match control.as_mut() {
                Some(control) => {
                    if let Err(e) = control.serve(&running).await {
                        eprintln!("hush: problem: the control socket failed: {e}");
                    }
                    std::future::pending::<()>().await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown => {}
            _ = watch => {}
            _ = serve => {}
        }
    });
    drop(control);
    if let Some(summary) = session.capture().stop() {
        if let Some(error) = &summary.error {
            eprintln!("hush: {error}");
        }
        let files: Vec<String> = summary
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        let files = if files.is_empty() {
            "no file".to_string()
        } else {
            files.join(", ")
        };
        eprintln!(
            "hush: capture of uid {}: {} packets written, {} dropped (the writer was behind), {} flows missed, in {files}",
            summary.uid, summary.packets, summary.dropped, summary.flows_missed,
        );
    }
    let finished = session
        .stop_because(hush_session::STOPPED_BY_OWNER)
        .map_err(|e| e.to_string())?;
    eprintln!("hush: stopped.\n{}", finished.stats);
    if args.db.is_some() {
        eprintln!("activity events dropped  {}", finished.events_dropped);
    }
    Ok(())
}

/// What a running `hush run` answers and watches with.
struct Running<'a> {
    session: &'a Session,
    protector: &'a BindToDevice,
    /// The out-interface's last state, shared by the watcher and `out-iface`.
    tracker: &'a RefCell<Tracker>,
}

impl Running<'_> {
    /// Tells the session each time the out-interface's state changes.
    async fn follow_network(&self, mut watcher: Watcher) {
        loop {
            if let Err(e) = watcher.next_burst().await {
                eprintln!("hush: problem: stopped watching the network: {e}");
                return;
            }
            let interface = self.protector.interface();
            let state = match netwatch::read_state(&interface) {
                Ok(state) => state,
                Err(e) => {
                    log::warn!("failed to read the interfaces: {e}");
                    continue;
                }
            };
            let gone = state.is_none();
            if self.tracker.borrow_mut().update(&interface, state) {
                if gone {
                    eprintln!("hush: network changed: {interface} is gone");
                } else {
                    eprintln!("hush: network changed on {interface}");
                }
                self.session.network_changed();
            }
        }
    }
}

impl control::Control for Running<'_> {
    fn out_iface(&self, name: &str) -> Result<String, String> {
        self.protector.switch_to(name).map_err(|e| e.to_string())?;
        self.tracker
            .borrow_mut()
            .update(name, netwatch::read_state(name).ok().flatten());
        eprintln!("hush: network changed: now leaving through {name}");
        self.session.network_changed();
        Ok(format!("leaving through {name}"))
    }

    fn network_changed(&self, resolver: Option<SocketAddr>) {
        eprintln!("hush: network changed (hush ctl)");
        match resolver {
            Some(resolver) => self.session.network_changed_to(resolver),
            None => self.session.network_changed(),
        }
    }

    fn health_json(&self) -> Result<String, String> {
        serde_json::to_string(&self.session.health())
            .map_err(|e| format!("failed to write the health: {e}"))
    }

    fn fault(&self, word: &str) -> Result<(), String> {
        eprintln!("hush: injecting the fault {word}");
        self.session.inject_fault_by_name(word)
    }
}

fn ctl(args: CtlArgs) -> Result<(), String> {
    let request = match args.command {
        CtlCommand::OutIface { name } => Request::OutIface(name),
        CtlCommand::NetworkChanged { resolver } => Request::NetworkChanged(
            resolver
                .map(|text| hush_session::api::resolver_address(&text))
                .transpose()
                .map_err(|e| e.to_string())?,
        ),
        CtlCommand::Health => Request::Health,
        CtlCommand::Fault { word } => Request::Fault(word),
    };
    let text = control::send(Path::new(&args.control), &request)?;
    if !text.is_empty() {
        println!("{text}");
    }
    Ok(())
}

/// Completes on the first SIGINT or SIGTERM.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
