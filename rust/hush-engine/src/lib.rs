//! The Hush engine: the decisions on every packet an app sends, and the relay
//! of what is allowed.
//!
//! Layer: above packets, DNS and rules; below the platform runners (the Linux
//! `hush` binary, the Android JNI bridge). Platform needs reach it only through
//! small traits: [`SocketProtector`] to keep Hush's own sockets out of the tun,
//! [`owner::OwnerLookup`] to name the app behind a flow, [`EventSink`] to
//! hand the activity log its events; and the user's per-app rules arrive as
//! [`AppPolicy`] snapshots.
//!
//! Invariants: the packet path never blocks, on disk or on anything else;
//! every packet that is not answered or relayed is counted in [`Stats`].
//!
//! Never: log names, addresses or app identities above debug level.

pub mod apps;
mod dns_firewall;
mod driver;
mod event;
#[cfg(feature = "fault-injection")]
mod fault;
pub mod owner;
mod policy;
mod relay;
mod stats;

pub use apps::{
    policy_channel, AppMode, AppPolicy, DomainAction, Network, PolicyReceiver, PolicySender,
};
pub use dns_firewall::{DnsConfig, DnsFirewall, Step};
pub use driver::{
    hold_traffic, open_upstream, run_dns_path, EngineError, NoProtection, SocketProtector,
};
pub use event::{DiscardEvents, Event, EventSink, Reason, Verdict};
#[cfg(feature = "fault-injection")]
pub use fault::Faults;
pub use relay::{run_relay, Lists, Platform, RelayConfig, STATS_EVERY};
pub use stats::Stats;
