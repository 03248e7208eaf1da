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
//! Ways around the firewall are closed here too (see [`bypass`]): apps'
//! own encrypted DNS (port 853 refused, DoH endpoints blocked by the
//! `hush-doh` list), addresses an app never resolved through Hush (per app,
//! "resolved only"), trackers cloaked behind a CNAME, and ECH keys in
//! HTTPS records.
//!
//! Invariants: the packet path never blocks, on disk or on anything else;
//! every packet that is not answered or relayed is counted in [`Stats`].
//!
//! Never: log names, addresses or app identities above debug level.

pub mod apps;
pub mod bypass;
pub mod capture;
mod dns_firewall;
mod driver;
mod event;
#[cfg(feature = "fault-injection")]
mod fault;
pub mod owner;
mod policy;
mod relay;
mod stats;
pub mod upstream;

pub use apps::{
    policy_channel, AppMode, AppPolicy, DomainAction, Network, PolicyReceiver, PolicySender,
};
pub use bypass::{is_local, ResolvedAddresses, ResolverExemptions};
pub use capture::{Capture, CaptureError, CaptureSpec, CaptureStatus, CaptureSummary};
pub use dns_firewall::{DnsConfig, DnsFirewall, Step};
pub use driver::{
    hold_traffic, open_upstream, run_dns_path, EngineError, NoProtection, SocketProtector,
};
pub use event::{DiscardEvents, Event, EventSink, Reason, Screen, ScreenStamp, Verdict};
#[cfg(feature = "fault-injection")]
pub use fault::Faults;
pub use relay::{
    run_relay, FlowLimits, Lists, Platform, RelayConfig, UpstreamFailure, STATS_EVERY,
};
pub use stats::Stats;
pub use upstream::{EncryptedUpstream, Upstream, UpstreamError};
