//! Keeps a running engine in step with its database: the rules, which `hush
//! rule` (or the app's UI) writes from elsewhere, and the retention limits.
//!
//! A thread sleeps until the database's files change (inotify on its
//! directory: SQLite has no cross-process change hook), reads the rules
//! once the changes have settled, and sends a new policy only when it
//! differs, so the engine re-judges its flows only on a real change. Idle,
//! nothing writes the files but the log writer's heartbeat, so the thread
//! wakes about once a minute, not four times a second as a poll would.
//! Where inotify cannot be had, it polls every [`POLL`]. The same thread
//! applies the retention limits at start and every [`RETENTION_EVERY`], and
//! reads the rules then too, in case a change went unheard.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hush_engine::{AppPolicy, Network, PolicySender};
use inotify::{EventMask, Inotify, WatchMask};
use rustix::event::{poll, PollFd, PollFlags, Timespec};

use crate::health::{HealthCell, ProblemKind};

/// How often the stored rules are read again when the files cannot be
/// watched, and at most how long a stream of writes (the log writer's,
/// under traffic) holds a read off.
pub const POLL: Duration = Duration::from_millis(250);
/// How long the files must be quiet after a change before the rules are
/// read: a commit's last write to the log comes just before its index is
/// updated, and one command may commit several times.
pub const SETTLE: Duration = Duration::from_millis(50);
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
    /// Re-read the stored rules when the database changes: another process
    /// changes them.
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

/// The session's end of a follower's thread: dropped, it stops the thread
/// at once, whatever it waits on.
pub struct FollowerStop(#[allow(dead_code)] UnixStream);

impl Follower {
    /// Keeps the engine in step with the database until the returned
    /// [`FollowerStop`] is dropped or the engine drops its end of `sender`:
    /// applies retention at start and every [`RETENTION_EVERY`], and sends
    /// the stored rules when they change, as [`Rules`] says, for the network
    /// in force. A read that fails (the database locked for longer than its
    /// busy timeout, say) keeps the rules in force and is tried again. A
    /// panic in a turn is caught and the next turn comes as usual. The
    /// thread sleeps between its tasks, so a phone is not woken for nothing.
    pub fn spawn(mut self) -> std::io::Result<(FollowerStop, JoinHandle<()>)> {
        let (stop, stopped) = UnixStream::pair()?;
        let mut watch = match self.rules {
            Rules::Follow => Watch::open(&self.path),
            Rules::Leave | Rules::UntilRead => None,
        };
        let thread = std::thread::Builder::new()
            .name("hush-store-sync".into())
            .spawn(move || {
                let mut failures = 0u32;
                let mut retention_due = Instant::now();
                // When the files first changed, and last, since the last read.
                let mut changed: Option<(Instant, Instant)> = None;
                // The next read, for rules read on a timer (not watched).
                let mut poll_due = Instant::now();
                while !self.sender.is_closed() {
                    let now = Instant::now();
                    let polled = match self.rules {
                        Rules::Leave => None,
                        Rules::UntilRead => Some(RETRY),
                        Rules::Follow if watch.is_none() => Some(POLL),
                        Rules::Follow => None,
                    };
                    let mut read = false;
                    if now >= retention_due {
                        apply_retention(&self.path);
                        retention_due = now + RETENTION_EVERY;
                        // A change inotify lost (its queue overflowed, say)
                        // is caught up with here.
                        read = self.rules != Rules::Leave;
                    }
                    if let Some((first, last)) = changed {
                        read |= now >= settled(first, last);
                    }
                    if let Some(every) = polled {
                        if now >= poll_due {
                            read = true;
                            poll_due = now + every;
                        }
                    }
                    if read {
                        changed = None;
                        let turn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            self.read_rules(&mut failures)
                        }));
                        if turn.is_err() {
                            log::error!("the rule follower panicked; it goes on at its next turn");
                        }
                    }
                    let mut wake = retention_due;
                    if let Some((first, last)) = changed {
                        wake = wake.min(settled(first, last));
                    }
                    if self.rules != Rules::Leave && polled.is_some() {
                        wake = wake.min(poll_due);
                    }
                    let timeout = wake.saturating_duration_since(Instant::now());
                    match wait(stopped.as_fd(), watch.as_mut(), timeout) {
                        Woken::Stop => return,
                        Woken::Changed => {
                            let now = Instant::now();
                            changed = Some((changed.map_or(now, |(first, _)| first), now));
                        }
                        Woken::Timeout => {}
                        Woken::Lost => {
                            log::warn!(
                                "the database's directory is no longer watched; \
                                 the rules are read every {POLL:?}"
                            );
                            watch = None;
                            poll_due = Instant::now();
                        }
                    }
                }
            })?;
        Ok((FollowerStop(stop), thread))
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
) -> std::io::Result<(FollowerStop, JoinHandle<()>)> {
    Follower {
        path,
        sender,
        rules,
        health: Arc::new(HealthCell::new(Vec::new())),
        #[cfg(feature = "fault-injection")]
        fault: Arc::default(),
    }
    .spawn()
}

/// When the rules are read after changes to the files that began at
/// `first` and were last seen at `last`: once they have been quiet for
/// [`SETTLE`], or [`POLL`] after the first, whichever is sooner.
fn settled(first: Instant, last: Instant) -> Instant {
    (last + SETTLE).min(first + POLL)
}

/// What ended a wait.
enum Woken {
    /// The session dropped its [`FollowerStop`].
    Stop,
    /// The database's files changed.
    Changed,
    Timeout,
    /// The directory can no longer be watched (removed, or its file system
    /// unmounted).
    Lost,
}

/// An inotify watch on the database's directory, for changes to the
/// database and its write-ahead log (or rollback journal).
struct Watch {
    inotify: Inotify,
    /// The database file's name; its log and journal add a suffix.
    name: OsString,
    buffer: Vec<u8>,
}

impl Watch {
    /// `None` (and a warning) where inotify cannot be had: out of watches,
    /// say. The rules are then polled.
    fn open(path: &Path) -> Option<Watch> {
        match Self::try_open(path) {
            Ok(watch) => Some(watch),
            Err(error) => {
                log::warn!(
                    "cannot watch the database for rule changes ({error}); \
                     the rules are read every {POLL:?}"
                );
                None
            }
        }
    }

    fn try_open(path: &Path) -> std::io::Result<Watch> {
        let name = path
            .file_name()
            .ok_or_else(|| std::io::Error::other("the database path names no file"))?
            .to_owned();
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        // Non-blocking: `wait` polls it beside the stop socket.
        let inotify = Inotify::init()?;
        // Writes only: every open of the store (this thread's own reads
        // too) opens the file for writing, and a reader that is the last
        // to close removes the log, so closes, creations and removals would
        // wake the thread for its own reads. A file moved in (a restored
        // backup) is a change.
        inotify
            .watches()
            .add(directory, WatchMask::MODIFY | WatchMask::MOVED_TO)?;
        Ok(Watch {
            inotify,
            name,
            buffer: vec![0; 4096],
        })
    }

    /// Reads every queued event: whether one was about the database's
    /// files, or the watch is gone.
    fn drain(&mut self) -> Woken {
        let mut woken = Woken::Timeout;
        loop {
            let events = match self.inotify.read_events(&mut self.buffer) {
                Ok(events) => events,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                // WouldBlock: all read.
                Err(_) => return woken,
            };
            for event in events {
                if event.mask.contains(EventMask::IGNORED) {
                    return Woken::Lost;
                }
                let ours = event.name.is_some_and(|name| is_database(&self.name, name));
                if event.mask.contains(EventMask::Q_OVERFLOW) || ours {
                    woken = Woken::Changed;
                }
            }
        }
    }
}

/// Whether `name` is the database `database`, its write-ahead log or its
/// journal (not its shared-memory index, which readers write too).
fn is_database(database: &OsStr, name: &OsStr) -> bool {
    match name.as_bytes().strip_prefix(database.as_bytes()) {
        Some(suffix) => matches!(suffix, b"" | b"-wal" | b"-journal"),
        None => false,
    }
}

/// Sleeps until `stop`'s other end is dropped, `watch` sees the database
/// change, or `timeout` passes.
fn wait(stop: BorrowedFd<'_>, watch: Option<&mut Watch>, timeout: Duration) -> Woken {
    // Rounded up to the millisecond, so a wake-up never comes just before
    // its time.
    let millis = timeout.as_nanos().div_ceil(1_000_000);
    let timeout = Timespec {
        tv_sec: i64::try_from(millis / 1000).unwrap_or(i64::MAX),
        tv_nsec: (millis % 1000 * 1_000_000) as _,
    };
    let (stopped, changed) = match &watch {
        Some(watch) => {
            let mut fds = [
                PollFd::new(&stop, PollFlags::IN),
                PollFd::new(&watch.inotify, PollFlags::IN),
            ];
            // An error (EINTR, a signal) is a wake-up like a timeout: the
            // caller looks at the time again.
            if !matches!(poll(&mut fds, Some(&timeout)), Ok(ready) if ready > 0) {
                return Woken::Timeout;
            }
            (!fds[0].revents().is_empty(), !fds[1].revents().is_empty())
        }
        None => {
            let mut fds = [PollFd::new(&stop, PollFlags::IN)];
            if !matches!(poll(&mut fds, Some(&timeout)), Ok(ready) if ready > 0) {
                return Woken::Timeout;
            }
            (!fds[0].revents().is_empty(), false)
        }
    };
    // The other end never writes: anything readable is its close.
    if stopped {
        return Woken::Stop;
    }
    match watch {
        Some(watch) if changed => watch.drain(),
        _ => Woken::Timeout,
    }
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
        let (stop, sync) = follow(path.clone(), sender, Rules::Follow).unwrap();

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
        let (stop, sync) = follow(path, sender, Rules::Leave).unwrap();
        std::thread::sleep(POLL * 2);
        assert!(!receiver.has_changed().unwrap());
        let asked = Instant::now();
        drop(stop);
        sync.join().unwrap();
        assert!(asked.elapsed() < Duration::from_secs(1), "stopped at once");
    }
}
