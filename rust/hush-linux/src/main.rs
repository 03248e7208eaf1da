//! `hush`: the Linux runner of the Hush firewall.
//!
//! `hush run` firewalls a tun device; `hush demo` shows it on real traffic in
//! namespaces it builds; `hush lists check` reports on blocklist files;
//! `hush rule` and `hush log` change the rules and read the activity log.

mod demo;
mod records;
mod report;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use hush_dns::BlockMode;
use hush_engine::owner::{NoOwners, OwnerLookup};
use hush_engine::{
    policy_channel, AppPolicy, DiscardEvents, DnsConfig, DnsFirewall, EventSink, Network, Platform,
    RelayConfig, SocketProtector,
};
use hush_linux::{protect::BindToDevice, store_sync, tun};
use hush_rules::{AddressRules, AddressRulesBuilder, ListKind, RuleSet, RuleSetBuilder};

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
    Run(RunArgs),
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
}

#[derive(Subcommand)]
enum ListsCommand {
    /// Load list files and report entries, duplicates and rejected lines.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Name of an existing tun device to attach to.
    #[arg(long, conflicts_with = "tun_fd", required_unless_present = "tun_fd")]
    tun: Option<String>,
    /// An inherited tun file descriptor (raw IP, no packet-information header).
    #[arg(long)]
    tun_fd: Option<i32>,
    /// The resolver allowed queries are forwarded to.
    #[arg(long)]
    upstream: SocketAddr,
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
    /// The tun's MTU (the largest packet Hush sends to the apps). Default:
    /// the MTU of the device named by --tun, or 1500 for --tun-fd.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1280..))]
    mtu: Option<u16>,
    /// The network per-app modes are read for: any, wifi or mobile. A phone
    /// tells Hush which is active; here you do.
    #[arg(long, default_value = "any")]
    network: String,
    /// Do not look up which app (Linux user) owns each flow: every flow is
    /// judged as of an unknown owner.
    #[arg(long)]
    no_owners: bool,
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
        Command::Run(args) => run(args),
        Command::Demo => demo::run(),
        Command::Lists {
            command: ListsCommand::Check { files },
        } => lists_check(&files),
        Command::Rule { command } => records::rule(command),
        Command::Log(args) => records::log(args),
        Command::Stats(args) => report::stats(args),
        Command::Apps(args) => report::apps(args),
        Command::Export(args) => report::export(args),
        Command::Retention(args) => report::retention(args),
        Command::Clear(args) => report::clear(args),
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
/// A list a run loaded: its name, where it came from, how many entries.
type Loaded = (String, String, u64);

/// Loads the lists a run uses, printing one summary line per list; returns
/// them with what was loaded from each.
fn load_rules(
    lists: &[PathBuf],
    allows: &[PathBuf],
    with_default: bool,
) -> Result<(RuleSet, Vec<Loaded>), String> {
    let mut builder = RuleSetBuilder::new();
    let mut loaded = Vec::new();
    let mut note = |report: hush_rules::ListReport, origin: String| {
        eprintln!(
            "hush: list {}: {} entries, {} duplicates, {} rejected lines",
            report.name, report.entries, report.duplicates, report.rejected_count
        );
        loaded.push((report.name.clone(), origin, report.entries as u64));
    };
    if with_default {
        note(builder.add_default_list(), "built-in".into());
    }
    for (paths, kind) in [(lists, ListKind::Block), (allows, ListKind::Allow)] {
        for path in paths {
            let text = std::fs::read(path)
                .map_err(|e| format!("failed to read list {}: {e}", path.display()))?;
            note(
                builder.add_list(&list_name(path), kind, &text),
                path.display().to_string(),
            );
        }
    }
    Ok((builder.build(), loaded))
}

/// Loads the address rules a run uses, printing one summary line per list.
fn load_address_rules(lists: &[PathBuf], allows: &[PathBuf]) -> Result<AddressRules, String> {
    let mut builder = AddressRulesBuilder::new();
    for (paths, kind) in [(lists, ListKind::Block), (allows, ListKind::Allow)] {
        for path in paths {
            let text = std::fs::read(path)
                .map_err(|e| format!("failed to read address list {}: {e}", path.display()))?;
            let report = builder.add_list(&list_name(path), kind, &text);
            eprintln!(
                "hush: address list {}: {} entries, {} rejected lines",
                report.name, report.entries, report.rejected_count
            );
            for rejected in report.rejected.iter().take(5) {
                eprintln!("hush:   line {}: {}", rejected.line, rejected.reason);
            }
        }
    }
    Ok(builder.build())
}

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

fn run(args: RunArgs) -> Result<(), String> {
    let (rules, loaded) = load_rules(&args.lists, &args.allows, !args.no_default_list)?;
    let rules = Arc::new(rules);
    let address_rules = load_address_rules(&args.address_lists, &args.address_allows)?;
    let tun_fd = match (&args.tun, args.tun_fd) {
        (Some(name), _) => tun::attach(name),
        (None, Some(fd)) => tun::from_inherited_fd(fd),
        (None, None) => unreachable!("clap requires --tun or --tun-fd"),
    }
    .map_err(|e| e.to_string())?;
    let mtu = match (args.mtu, &args.tun) {
        (Some(mtu), _) => usize::from(mtu),
        (None, Some(name)) => tun::mtu(name).map_err(|e| e.to_string())? as usize,
        (None, None) => 1500,
    };
    if mtu < 1280 {
        return Err(format!(
            "the tun's MTU is {mtu}; IPv6 needs at least 1280 (set it with `ip link set dev NAME mtu 9000`)"
        ));
    }
    let protector: Arc<dyn SocketProtector> =
        Arc::new(BindToDevice::new(&args.out_iface).map_err(|e| e.to_string())?);
    let (events, writer): (Arc<dyn EventSink>, Option<Arc<hush_store::EventWriter>>) = match &args
        .db
    {
        Some(path) => {
            // Hush is the file's only writer here, so a broken file can be
            // moved aside (the CLI's readers use plain `open`).
            let (connection, recovery) = hush_store::recover::open_or_recover(path)
                .map_err(|e| format!("failed to open the database {}: {e}", path.display()))?;
            if let Some(recovery) = recovery {
                eprintln!("hush: {recovery}");
            }
            for (name, origin, entries) in &loaded {
                hush_store::rules::record_list_load(&connection, name, origin, *entries)
                    .map_err(|e| format!("failed to record list {name}: {e}"))?;
            }
            let writer = Arc::new(
                hush_store::EventWriter::start(connection, 65_536).map_err(|e| e.to_string())?,
            );
            (writer.clone(), Some(writer))
        }
        None => (Arc::new(DiscardEvents), None),
    };
    let config = DnsConfig {
        block_mode: match args.block_mode {
            BlockModeArg::Nxdomain => BlockMode::NxDomain,
            BlockModeArg::Unspecified => BlockMode::Unspecified,
        },
        ..DnsConfig::default()
    };
    let mut firewall = DnsFirewall::new(config, rules, events.clone());
    firewall.set_address_rules(Arc::new(address_rules));
    drop(events);
    let network: Network =
        hush_store::rules::parse_word(&args.network).map_err(|e| e.to_string())?;
    let (policy_sender, policy) = match &args.db {
        Some(path) => policy_channel(store_sync::load(path, network)?),
        None => {
            let mut policy = AppPolicy::default();
            policy.set_active_network(network);
            policy_channel(policy)
        }
    };
    let rules_sync = match &args.db {
        Some(path) => Some(
            store_sync::follow(path.clone(), network, policy_sender)
                .map_err(|e| format!("failed to start following the rules: {e}"))?,
        ),
        None => None,
    };
    let owners: Arc<dyn OwnerLookup> = if args.no_owners {
        Arc::new(NoOwners)
    } else {
        Arc::new(hush_linux::sock_diag::LinuxOwners::new())
    };
    let platform = Platform {
        protector: Arc::clone(&protector),
        owners,
        policy,
        live_stats: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("failed to start the runtime: {e}"))?;
    let stats = runtime.block_on(async {
        let upstream = hush_engine::open_upstream(args.upstream, protector.as_ref())
            .map_err(|e| e.to_string())?;
        let shutdown = shutdown_signal().map_err(|e| format!("failed to watch signals: {e}"))?;
        eprintln!("hush: ready, relaying all traffic (stop with Ctrl-C)");
        let relay = RelayConfig {
            mtu,
            ..RelayConfig::default()
        };
        hush_engine::run_relay(tun_fd, relay, firewall, upstream, platform, shutdown)
            .await
            .map_err(|e| e.to_string())
    })?;
    eprintln!("hush: stopped.\n{stats}");
    if let Some(sync) = rules_sync {
        let _ = sync.join();
    }
    if let Some(writer) = writer {
        let dropped = writer.dropped();
        eprintln!("activity events dropped  {dropped}");
        match Arc::try_unwrap(writer) {
            Ok(writer) => writer.finish().map_err(|e| e.to_string())?,
            Err(_) => return Err("the activity log is still in use at exit".into()),
        }
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
