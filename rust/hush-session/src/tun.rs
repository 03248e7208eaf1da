//! The session's tun, which the platform may replace while the session runs:
//! on Android, a new `VpnService.Builder.establish()` with another set of
//! apps left out of the VPN (an app trusted with "allow all, not inspected").
//!
//! The new tun is handed over before the old one closes. The relay takes it
//! itself ([`hush_engine::Platform::tuns`]): it reads what waits in the old
//! tun, then moves to the new one with its flows, so connections open
//! through Hush go on. Android deactivates the old interface once the new
//! one is up ("A successful handover deactivates the previous VPN
//! interface", `VpnService.Builder.establish`; "The existing interface is
//! deactivated when a new one is created", `VpnService`), so nothing new
//! reaches the old tun after the swap. While traffic is held (the engine
//! between restarts), [`handed_over`] ends the hold's run on the old tun
//! once it has read what was waiting there (bounded by [`DRAIN_BOUND`]),
//! and the hold goes on on the new one.

use std::fs::File;
use std::sync::Arc;
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use tokio::sync::watch;

/// The longest a run on a replaced tun goes on reading it: a tun the
/// kernel still fills (not Android's, whose old interface is deactivated)
/// is left after this.
pub(crate) const DRAIN_BOUND: Duration = Duration::from_millis(250);
/// How often a replaced tun is looked at for packets the run has not read.
const DRAIN_CHECK: Duration = Duration::from_millis(1);

/// Whether `tun` has a packet waiting to be read; an error (a tun gone
/// bad) counts as nothing left.
fn has_packets(tun: &File) -> bool {
    let mut fds = [PollFd::new(tun, PollFlags::IN)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    matches!(poll(&mut fds, Some(&now)), Ok(n) if n > 0) && fds[0].revents().contains(PollFlags::IN)
}

/// Completes once the session's tun has been replaced and the run on
/// `running` has read what was waiting in it (or [`DRAIN_BOUND`] passed).
/// Never completes while the tun stays, nor once no one can replace it.
pub(crate) async fn handed_over(tuns: &mut watch::Receiver<Arc<File>>, running: &File) {
    if tuns.changed().await.is_err() {
        return std::future::pending().await;
    }
    let deadline = tokio::time::Instant::now() + DRAIN_BOUND;
    while has_packets(running) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(DRAIN_CHECK).await;
    }
}
