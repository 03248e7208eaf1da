//! The log writer: takes events from the engine without blocking it, and
//! writes them in batches on its own thread, whatever state the database is
//! in.
//!
//! Layer: between the engine (an [`EventSink`]) and SQLite. The thread owns
//! the database: it opens it (recovering a damaged file,
//! [`open_or_recover`](crate::recover::open_or_recover)), and if it cannot
//! (a newer schema after a downgrade, a lock held beyond the busy timeout, a
//! read-only directory, a full disk), or a batch cannot be written, it holds
//! the events in memory and tries again 1 s later, then 2, 4... up to every
//! 60 s, for as long as it takes. The state is in
//! [`EventWriter::status`] for the UI.
//!
//! Invariants:
//! - [`EventWriter::record`](EventSink::record) never blocks.
//! - Every event is written, or counted as dropped: beyond `capacity`
//!   events held or [`MAX_HELD_BYTES`] of them (in the channel and held
//!   together), or (at most) the events of one batch that made the writer
//!   panic three times running, or those still held when it stops on a
//!   database it cannot write. The count is stored, cumulative over runs.
//! - Every event given gets a sequence number, dropped ones too. Each commit
//!   stores, in its transaction, how many were given, written and dropped
//!   so far in this run; the next run counts the difference (events queued
//!   when the process was killed) as lost, adds it to the dropped count and
//!   reports it ([`EventWriter::lost_at_last_kill`]). This is a lower bound:
//!   events given after the last commit, or in a run that never committed,
//!   leave no trace. (One writer per file: two at once would mix their
//!   counts.)
//! - A panic while writing is caught; the connection is opened again and
//!   the batch tried again.
//! - Idle, the thread wakes once a minute (for the heartbeat, [`crate::gaps`]).
//! - An event waits at most [`COMMIT_DELAY`] for others to share its commit
//!   (none once [`BATCH_KEPT`] are held, or when stopping): a trickle of
//!   events, an app retrying a blocked name as fast as it is answered, is
//!   a few commits a second, not one per event.
//! - A blocked attempt made again within [`REPEAT_WINDOW`] of the last
//!   (same app, host, address, port, protocol, detail and reason), with no
//!   other attempt by that app at that host and detail in between, is
//!   counted in the row of the first (`repeats`, `last_ms`), not written
//!   as a row of its own: an app retrying in a loop is one row with a
//!   count. The aggregates count every attempt. A row takes repeats only
//!   within the hour of its first attempt (the hour its aggregates are
//!   kept by); then a new one starts. A repeat made with the screen in the
//!   other state (off, or on) than the row's first attempt starts a row of
//!   its own: a row's `screen_off` holds for each attempt it counts.
//! - Attempts made with the screen off are also counted per app and action
//!   each hour (`screen_off_hourly`), in the same transaction.
//!
//! Never: log names or addresses above debug level.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{
    channel, sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError,
};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use hush_engine::{Event, EventSink, Verdict};
use rusqlite::{
    params, Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior,
};
use std::collections::HashMap;

use crate::gaps::{self, Gap};
use crate::recover::{open_or_recover_with, Recovery};
use crate::{StoreError, BUSY_TIMEOUT, HOUR_MS, RARE_HOST_EVENTS};

/// Most events written in one transaction. Large, for a writer that falls
/// behind: each commit writes every page it touched (an index leaf per busy
/// host, say) once, however many events it carries, so a bigger batch costs
/// less per event. At a phone's usual pace a batch holds the handful of
/// events that came in while the last one was written.
const BATCH: usize = 65_536;
/// The held events' buffer is kept at most this large between batches.
const BATCH_KEPT: usize = 1024;
/// The most memory the events waiting to be written may take, channel and
/// held events together, whatever their count: a name can be long, and an
/// app that makes thousands of attempts a second while the database is
/// locked must not take the phone's memory with it.
pub const MAX_HELD_BYTES: usize = 32 << 20;

/// How long after a blocked attempt the same one again is counted in its
/// row rather than written as a row of its own (see the module's docs).
pub const REPEAT_WINDOW: Duration = Duration::from_secs(10);
/// Rows kept open to repeats at most: the distinct blocked attempts of the
/// last [`REPEAT_WINDOW`]. Past it they are forgotten (repeats then start
/// new rows), so memory stays bounded whatever an app does.
const OPEN_REPEATS: usize = 4096;

/// How long the first event held waits for others before their commit.
const COMMIT_DELAY: Duration = Duration::from_millis(100);

/// The heartbeat's period: how often an idle writer wakes.
const HEARTBEAT: Duration = Duration::from_secs(60);
/// The wait after a first failure to open or write; it doubles each time.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
const LAST_RETRY: Duration = Duration::from_secs(60);
/// A batch that makes the writer panic this many times running is dropped.
const PANICS_PER_BATCH: u32 = 3;
/// Gaps held while the database cannot be written; more are only logged.
const GAPS_HELD: usize = 1024;
/// How long the last attempt at stopping may wait for a lock.
const FINAL_BUSY: Duration = Duration::from_secs(2);
/// How long [`EventWriter::finish`] waits for the thread at most, should
/// the file system itself hang; past it the thread is left to end alone.
const FINISH_WAIT: Duration = Duration::from_secs(10);

/// What the writer is doing, for the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriterStatus {
    /// The database is being opened, the first time.
    Starting,
    /// The database is open and the last write succeeded.
    Ready,
    /// The database cannot be opened or written since `since_ms` (Unix
    /// milliseconds), for `reason`; `held` events wait in memory, and the
    /// writer tries again (every minute at most).
    Unavailable {
        reason: String,
        since_ms: i64,
        held: usize,
    },
    /// The writer has stopped.
    Stopped,
}

/// What the writer and its handle share.
struct Shared {
    /// Sequence numbers given so far: every event recorded, dropped or not.
    assigned: AtomicU64,
    /// Events written in this run.
    written: AtomicU64,
    /// Events dropped in this run.
    dropped: Arc<AtomicU64>,
    /// Bytes of the events in the channel and held ([`Event::memory`]).
    held_bytes: AtomicUsize,
    status: Mutex<WriterStatus>,
    recovery: Mutex<Option<Recovery>>,
    lost_at_last_kill: Mutex<Option<u64>>,
    /// Gaps given by [`EventWriter::record_gap`], not yet taken by the thread.
    gaps: Mutex<Vec<Gap>>,
    stop_reason: Mutex<String>,
    /// Commits still to panic ([`EventWriter::inject_panic`]).
    #[cfg(feature = "fault-injection")]
    inject_panics: std::sync::atomic::AtomicU32,
}

impl Shared {
    /// A writer's state before its thread has opened anything.
    fn new() -> Arc<Self> {
        Arc::new(Shared {
            assigned: AtomicU64::new(0),
            written: AtomicU64::new(0),
            dropped: Arc::new(AtomicU64::new(0)),
            held_bytes: AtomicUsize::new(0),
            status: Mutex::new(WriterStatus::Starting),
            recovery: Mutex::new(None),
            lost_at_last_kill: Mutex::new(None),
            gaps: Mutex::new(Vec::new()),
            stop_reason: Mutex::new(gaps::STOPPED.into()),
            #[cfg(feature = "fault-injection")]
            inject_panics: std::sync::atomic::AtomicU32::new(0),
        })
    }
}

/// A lock that a panic elsewhere does not make unusable: the values kept
/// under these locks are whole at every moment.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

enum Message {
    Event(Event),
    /// Look at the shared gaps.
    Wake,
}

/// Takes events from the engine without blocking it, and writes them in
/// batches on its own thread.
pub struct EventWriter {
    sender: Option<SyncSender<Message>>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// The thread's result (a `Mutex` only to make the writer `Sync`).
    done: Mutex<Option<Receiver<Result<(), StoreError>>>>,
}

impl EventWriter {
    /// Starts a writer for the database at `path`, queueing at most
    /// `capacity` events and holding at most `capacity` more while the
    /// database cannot be written.
    ///
    /// Opening is the thread's job: this returns at once, and fails only if
    /// the thread cannot start. A file that is not a usable Hush database is
    /// kept aside and replaced
    /// ([`open_or_recover`](crate::recover::open_or_recover); see
    /// [`Self::recovery`]); one that cannot be opened yet is tried again
    /// until it can ([`Self::status`]).
    pub fn open(path: &Path, capacity: usize) -> Result<Self, StoreError> {
        Self::spawn(
            Source {
                path: Some(path.to_path_buf()),
                recover: true,
            },
            None,
            capacity,
        )
    }

    /// Starts the writer on an open `connection`, queueing at most
    /// `capacity` events. Should the connection fail it is opened again by
    /// its path, without recovery.
    pub fn start(connection: Connection, capacity: usize) -> Result<Self, StoreError> {
        configure(&connection)?;
        let path = connection
            .path()
            .filter(|path| !path.is_empty())
            .map(PathBuf::from);
        Self::spawn(
            Source {
                path,
                recover: false,
            },
            Some(connection),
            capacity,
        )
    }

    fn spawn(
        source: Source,
        connection: Option<Connection>,
        capacity: usize,
    ) -> Result<Self, StoreError> {
        let capacity = capacity.max(1);
        let (sender, receiver) = sync_channel(capacity);
        let (done_sender, done) = channel();
        let shared = Shared::new();
        let worker = Worker {
            source,
            connection,
            receiver,
            shared: Arc::clone(&shared),
            capacity,
            held: VecDeque::new(),
            gaps: Vec::new(),
            started_ms: crate::unix_ms(SystemTime::now()),
            begun: false,
            written: 0,
            dropped_stored: 0,
            failing: None,
            retry_at: None,
            backoff: FIRST_RETRY,
            panics: 0,
            heartbeat_at: Instant::now() + HEARTBEAT,
            open_repeats: HashMap::new(),
            batch_since: None,
        };
        let thread = std::thread::Builder::new()
            .name("hush-log-writer".into())
            .spawn(move || {
                let result = worker.run();
                let _ = done_sender.send(result);
            })
            .map_err(StoreError::Thread)?;
        Ok(Self {
            sender: Some(sender),
            shared,
            thread: Some(thread),
            done: Mutex::new(Some(done)),
        })
    }

    /// What the writer is doing now.
    pub fn status(&self) -> WriterStatus {
        lock(&self.shared.status).clone()
    }

    /// What [`open_or_recover`](crate::recover::open_or_recover) moved
    /// aside when it opened the database, once it has (only for
    /// [`Self::open`]).
    pub fn recovery(&self) -> Option<Recovery> {
        lock(&self.shared.recovery).clone()
    }

    /// Events the previous run was given but had neither written nor
    /// counted at its last commit: queued when it was killed. `None` until
    /// the database is open. A lower bound (see the module's docs); it is
    /// also added to the stored dropped count.
    pub fn lost_at_last_kill(&self) -> Option<u64> {
        *lock(&self.shared.lost_at_last_kill)
    }

    /// Events given to this writer so far (the next sequence number).
    pub fn assigned(&self) -> u64 {
        self.shared.assigned.load(Ordering::SeqCst)
    }

    /// Events written by this writer so far.
    pub fn written(&self) -> u64 {
        self.shared.written.load(Ordering::SeqCst)
    }

    /// Events this writer has dropped so far: the queue or the memory held
    /// was full, a batch panicked too often, or they could not be written
    /// at the end.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::SeqCst)
    }

    /// The live drop count, which stays readable after [`Self::finish`]
    /// (events that could not be written at the end are added to it there).
    pub fn dropped_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.shared.dropped)
    }

    /// Queues a period when Hush was not filtering (an engine restart,
    /// say), without blocking; it is written with the next batch.
    pub fn record_gap(&self, start: SystemTime, end: SystemTime, reason: String) {
        let (start_ms, end_ms) = (crate::unix_ms(start), crate::unix_ms(end));
        lock(&self.shared.gaps).push(Gap {
            start_ms,
            end_ms: Some(end_ms.max(start_ms)),
            reason,
        });
        if let Some(sender) = &self.sender {
            // A full queue wakes the thread anyway.
            let _ = sender.try_send(Message::Wake);
        }
    }

    /// Makes the next batch write panic, once (called `n` times, the next
    /// `n`), for tests of the writer's containment. Not in builds that ship.
    #[cfg(feature = "fault-injection")]
    pub fn inject_panic(&self) {
        self.shared.inject_panics.fetch_add(1, Ordering::SeqCst);
    }

    /// [`Self::finish_with`] for a stop by the owner ([`gaps::STOPPED`]).
    pub fn finish(self) -> Result<(), StoreError> {
        self.finish_with(gaps::STOPPED)
    }

    /// Writes what is held, opens a gap for `reason` ([`gaps::on_stop`]),
    /// stores the counts and stops the thread. The last attempt waits at
    /// most about 2 s for a lock (after an attempt already under way, which
    /// may wait out [`BUSY_TIMEOUT`](crate::BUSY_TIMEOUT)); if it fails (or
    /// the database never opened) the events still held are counted as
    /// dropped and the error ([`StoreError::Lost`]) says how many. Should the
    /// thread not answer within 10 s (a file system that hangs), it is left
    /// to end alone and the error says so.
    pub fn finish_with(mut self, reason: &str) -> Result<(), StoreError> {
        *lock(&self.shared.stop_reason) = reason.to_string();
        self.stop()
    }

    fn stop(&mut self) -> Result<(), StoreError> {
        self.sender.take();
        let (Some(done), Some(thread)) = (lock(&self.done).take(), self.thread.take()) else {
            return Ok(());
        };
        match done.recv_timeout(FINISH_WAIT) {
            Ok(result) => {
                let _ = thread.join();
                result
            }
            Err(RecvTimeoutError::Timeout) => {
                // Left to end on its own; what it holds is reported lost.
                let held = match self.status() {
                    WriterStatus::Unavailable { held, .. } => held as u64,
                    _ => 0,
                };
                Err(StoreError::Lost {
                    events: held,
                    source: Box::new(StoreError::Thread(std::io::Error::other(
                        "the log writer did not stop in time",
                    ))),
                })
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = thread.join();
                Err(StoreError::Thread(std::io::Error::other(
                    "the log writer panicked",
                )))
            }
        }
    }
}

impl EventSink for EventWriter {
    fn record(&self, event: Event) {
        self.shared.assigned.fetch_add(1, Ordering::SeqCst);
        let bytes = event.memory();
        let held = self.shared.held_bytes.fetch_add(bytes, Ordering::SeqCst);
        let queued = held + bytes <= MAX_HELD_BYTES
            && match &self.sender {
                Some(sender) => sender.try_send(Message::Event(event)).is_ok(),
                None => false,
            };
        if !queued {
            self.shared.held_bytes.fetch_sub(bytes, Ordering::SeqCst);
            self.shared.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Drop for EventWriter {
    /// Stops as [`Self::finish`] would, the result unseen.
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Where the thread (re)opens its database.
struct Source {
    path: Option<PathBuf>,
    /// Open with [`open_or_recover`](crate::recover::open_or_recover) until
    /// the first success.
    recover: bool,
}

/// Settings for the writing connection.
fn configure(connection: &Connection) -> Result<(), StoreError> {
    // The pages a batch touches (the tail of each index, one leaf per
    // app in the per-app index, the current hour's aggregates) stay in
    // memory: with SQLite's default 2 MB they are read back again and
    // again. Memory is taken only as pages are used.
    connection.pragma_update(None, "cache_size", -16_384)?;
    // Checkpoint (and fsync) every 64 MB of log rather than every 4 MB:
    // the same pages are written either way, with a sixteenth of the syncs.
    connection.pragma_update(None, "wal_autocheckpoint", 16_384)?;
    // ...and keep no more than that after one (a reader can hold a
    // checkpoint off and let the log grow): storage is the phone's.
    connection.pragma_update(None, "journal_size_limit", 64 << 20)?;
    // Statement journals (each multi-row INSERT and upsert keeps one, to
    // undo itself alone) in memory, not in temporary files.
    connection.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// Why a commit did not happen.
enum Failure {
    Error(StoreError),
    Panic,
}

/// What a commit wrote.
struct Committed {
    events: usize,
    dropped: u64,
    lost: Option<u64>,
    /// The rows of blocked attempts this batch wrote or added to.
    repeats: RepeatChanges,
}

/// The writer's thread and all it holds.
struct Worker {
    source: Source,
    connection: Option<Connection>,
    receiver: Receiver<Message>,
    shared: Arc<Shared>,
    capacity: usize,
    /// Events taken from the queue and not yet written, oldest first.
    held: VecDeque<Event>,
    /// Gaps not yet written.
    gaps: Vec<Gap>,
    /// When this run started: the end of the gap before it.
    started_ms: i64,
    /// Whether this run's start (the last run's counts, [`gaps::on_start`])
    /// is written.
    begun: bool,
    written: u64,
    /// The drop count as of the last commit.
    dropped_stored: u64,
    /// Why, and since when, the database cannot be written.
    failing: Option<(String, i64)>,
    /// When the next attempt is due, after a failure.
    retry_at: Option<Instant>,
    backoff: Duration,
    /// Panics running on the current batch.
    panics: u32,
    heartbeat_at: Instant,
    /// Since when events (or gaps) wait to be written.
    batch_since: Option<Instant>,
    /// The rows written lately for blocked attempts, which a repeat of the
    /// same attempt adds to.
    open_repeats: OpenRepeats,
}

impl Worker {
    fn run(mut self) -> Result<(), StoreError> {
        loop {
            let now = Instant::now();
            let wait = self.next_wake(now).saturating_duration_since(now);
            if self.batch_since.is_some() && self.retry_at.is_none() && !wait.is_zero() {
                // A batch waits for its commit: asleep, not on the queue,
                // so an event given meanwhile costs its giver (the packet
                // path) no wake-up of this thread. A stop is seen after it.
                std::thread::sleep(wait);
                let mut stopped = false;
                for _ in 0..BATCH {
                    match self.receiver.try_recv() {
                        Ok(message) => self.take(message),
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => {
                            stopped = true;
                            break;
                        }
                    }
                }
                if stopped {
                    break;
                }
            } else {
                match self.receiver.recv_timeout(wait) {
                    Ok(message) => {
                        self.take(message);
                        // What else is queued, up to a batch, without waiting.
                        for _ in 1..BATCH {
                            match self.receiver.try_recv() {
                                Ok(message) => self.take(message),
                                Err(_) => break,
                            }
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            self.take_gaps();
            let now = Instant::now();
            if self.batch_since.is_none() && (!self.held.is_empty() || !self.gaps.is_empty()) {
                self.batch_since = Some(now);
            }
            if now >= self.next_wake(now) {
                self.attempt();
            }
            self.publish();
        }
        self.take_gaps();
        let result = self.last_attempt();
        *lock(&self.shared.status) = WriterStatus::Stopped;
        result
    }

    /// When there is something to do: an attempt after a failure when its
    /// wait is over, else the first start at once, else a batch once
    /// [`COMMIT_DELAY`] has passed since its first event (at once when it
    /// is large), else the heartbeat.
    fn next_wake(&self, now: Instant) -> Instant {
        if let Some(at) = self.retry_at {
            return at;
        }
        if !self.begun || self.held.len() >= BATCH_KEPT {
            return now;
        }
        match self.batch_since {
            Some(since) if !self.held.is_empty() || !self.gaps.is_empty() => since + COMMIT_DELAY,
            _ => self.heartbeat_at,
        }
    }

    fn take(&mut self, message: Message) {
        match message {
            Message::Event(event) if self.held.len() < self.capacity => self.held.push_back(event),
            Message::Event(event) => {
                self.shared
                    .held_bytes
                    .fetch_sub(event.memory(), Ordering::SeqCst);
                self.shared.dropped.fetch_add(1, Ordering::SeqCst);
            }
            Message::Wake => {}
        }
    }

    /// Lets go of the first `count` events held (written, or counted as
    /// dropped by the caller) and of the memory they are counted for.
    fn forget(&mut self, count: usize) {
        let bytes: usize = self.held.drain(..count).map(|e| e.memory()).sum();
        self.shared.held_bytes.fetch_sub(bytes, Ordering::SeqCst);
    }

    fn take_gaps(&mut self) {
        let given = std::mem::take(&mut *lock(&self.shared.gaps));
        for gap in given {
            if self.gaps.len() < GAPS_HELD {
                self.gaps.push(gap);
            } else {
                log::warn!("a gap could not be kept: {} already wait", GAPS_HELD);
            }
        }
    }

    fn publish(&self) {
        let status = match &self.failing {
            Some((reason, since_ms)) => WriterStatus::Unavailable {
                reason: reason.clone(),
                since_ms: *since_ms,
                held: self.held.len(),
            },
            None if !self.begun => WriterStatus::Starting,
            None => WriterStatus::Ready,
        };
        *lock(&self.shared.status) = status;
    }

    /// Opens the database if it is not open; an error leaves it closed.
    fn connect(&mut self, busy: Duration) -> Result<(), StoreError> {
        if self.connection.is_some() {
            return Ok(());
        }
        let Some(path) = self.source.path.clone() else {
            return Err(StoreError::Thread(std::io::Error::other(
                "the log's connection failed and it has no path to open again",
            )));
        };
        let connection = if self.source.recover {
            let (connection, recovery) = open_or_recover_with(&path, busy)?;
            self.source.recover = false;
            if let Some(recovery) = recovery {
                log::warn!("{recovery}");
                *lock(&self.shared.recovery) = Some(recovery);
            }
            connection
        } else {
            crate::open_with(&path, busy)?
        };
        configure(&connection)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        self.connection = Some(connection);
        Ok(())
    }

    /// Opens the database if needed and commits the next batch; on failure
    /// sets the next attempt's time.
    fn attempt(&mut self) {
        if let Err(error) = self.connect(BUSY_TIMEOUT) {
            self.failed(error);
            return;
        }
        let events = self.held.len().min(BATCH);
        match self.commit(events, None) {
            Ok(committed) => self.committed(committed),
            Err(Failure::Error(error)) => self.failed(error),
            Err(Failure::Panic) => self.panicked(events),
        }
    }

    /// The attempt when stopping: whatever is held, then the stop itself,
    /// waiting at most [`FINAL_BUSY`] for a lock. What cannot be written is
    /// counted as dropped.
    fn last_attempt(&mut self) -> Result<(), StoreError> {
        let reason = lock(&self.shared.stop_reason).clone();
        let deadline = Instant::now() + FINAL_BUSY;
        let result = loop {
            if let Err(error) = self.connect(FINAL_BUSY / 4) {
                break Err(error);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if let Some(connection) = &self.connection {
                if let Err(error) = connection.busy_timeout(left.max(Duration::from_millis(1))) {
                    break Err(error.into());
                }
            }
            let events = self.held.len().min(BATCH);
            let last = events == self.held.len();
            match self.commit(events, last.then_some(reason.as_str())) {
                Ok(committed) => {
                    self.committed(committed);
                    if last {
                        break Ok(());
                    }
                }
                Err(Failure::Error(error)) => break Err(error),
                Err(Failure::Panic) => {
                    self.panicked(events);
                    if Instant::now() >= deadline {
                        break Err(StoreError::Thread(std::io::Error::other(
                            "the log writer panicked while stopping",
                        )));
                    }
                }
            }
        };
        result.map_err(|source| {
            let events = self.held.len() as u64;
            self.forget(self.held.len());
            self.shared.dropped.fetch_add(events, Ordering::SeqCst);
            log::warn!("the activity log could not be written at the end: {events} events lost");
            StoreError::Lost {
                events,
                source: Box::new(source),
            }
        })
    }

    /// One transaction: this run's start if not yet written, the gaps held,
    /// the first `events` events held, the counts, the heartbeat, and the
    /// stop if `stop` says why.
    fn commit(&mut self, events: usize, stop: Option<&str>) -> Result<Committed, Failure> {
        let Some(connection) = self.connection.as_mut() else {
            return Err(Failure::Error(StoreError::Thread(std::io::Error::other(
                "the database is not open",
            ))));
        };
        let shared = &self.shared;
        let written = self.written + events as u64;
        let dropped_stored = self.dropped_stored;
        let (begun, started_ms, gaps) = (self.begun, self.started_ms, &self.gaps);
        let open_repeats = &self.open_repeats;
        #[cfg(feature = "fault-injection")]
        let inject = self
            .shared
            .inject_panics
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        #[cfg(not(feature = "fault-injection"))]
        let inject = false;
        let batch = &self.held.make_contiguous()[..events];
        let now_ms = crate::unix_ms(SystemTime::now());
        let result = catch_unwind(AssertUnwindSafe(|| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let lost = if begun {
                None
            } else {
                let lost = settle_last_run(&transaction)?;
                gaps::on_start(&transaction, started_ms)?;
                Some(lost)
            };
            for gap in gaps {
                gaps::record(
                    &transaction,
                    gap.start_ms,
                    gap.end_ms.unwrap_or(gap.start_ms),
                    &gap.reason,
                )?;
            }
            if inject {
                panic!("a panic injected into the log writer");
            }
            let repeats = write_events(&transaction, batch, open_repeats)?;
            // The counts as late as possible, for the events given while
            // this batch was written to be counted queued; and given before
            // dropped, so a drop counted between the two loads makes the
            // "given but neither written nor dropped" smaller, never larger.
            let assigned = shared.assigned.load(Ordering::SeqCst);
            let dropped = shared.dropped.load(Ordering::SeqCst);
            let dropped_since = dropped.saturating_sub(dropped_stored);
            transaction.execute(
                "INSERT INTO counters (name, value) VALUES ('dropped_events', ?1)
                 ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                params![dropped_since as i64],
            )?;
            gaps::set_counter(&transaction, "run_assigned", assigned as i64)?;
            gaps::set_counter(&transaction, "run_written", written as i64)?;
            gaps::set_counter(&transaction, "run_dropped", dropped as i64)?;
            gaps::heartbeat(&transaction, now_ms)?;
            if let Some(reason) = stop {
                gaps::on_stop(&transaction, now_ms, reason)?;
            }
            transaction.commit()?;
            Ok::<_, StoreError>((lost, dropped, repeats))
        }));
        match result {
            Ok(Ok((lost, dropped, repeats))) => Ok(Committed {
                events,
                dropped,
                lost,
                repeats,
            }),
            Ok(Err(error)) => Err(Failure::Error(error)),
            Err(_) => Err(Failure::Panic),
        }
    }

    fn committed(&mut self, committed: Committed) {
        self.forget(committed.events);
        self.batch_since = None;
        let newest = committed
            .repeats
            .iter()
            .filter_map(|(_, open)| open.as_ref().map(|(_, row)| row.last_ms))
            .max();
        for (slot, open) in committed.repeats {
            match open {
                Some(open) => self.open_repeats.insert(slot, open),
                None => self.open_repeats.remove(&slot),
            };
        }
        if let Some(newest) = newest {
            let window = REPEAT_WINDOW.as_millis() as i64;
            self.open_repeats
                .retain(|_, (_, row)| newest.saturating_sub(row.last_ms) <= window);
        }
        if self.open_repeats.len() > OPEN_REPEATS {
            self.open_repeats.clear();
        }
        if self.held.is_empty() {
            self.held.shrink_to(BATCH_KEPT);
        }
        self.gaps.clear();
        self.written += committed.events as u64;
        self.shared.written.store(self.written, Ordering::SeqCst);
        self.dropped_stored = committed.dropped;
        if let Some(lost) = committed.lost {
            self.begun = true;
            *lock(&self.shared.lost_at_last_kill) = Some(lost);
            if lost > 0 {
                log::warn!(
                    "{lost} events were lost when Hush last stopped without finishing; \
                     counted as dropped"
                );
            }
        }
        if self.failing.take().is_some() {
            log::info!("the activity log is written again");
        }
        self.retry_at = None;
        self.backoff = FIRST_RETRY;
        self.panics = 0;
        self.heartbeat_at = Instant::now() + HEARTBEAT;
    }

    fn failed(&mut self, error: StoreError) {
        let reason = error.to_string();
        match &mut self.failing {
            Some((known, _)) => {
                log::debug!("the activity log still cannot be written: {reason}");
                *known = reason;
            }
            None => {
                log::warn!(
                    "the activity log cannot be written ({} events held; trying again): {reason}",
                    self.held.len()
                );
                self.failing = Some((reason, crate::unix_ms(SystemTime::now())));
            }
        }
        // A lock passes on its own; for anything else the next attempt
        // starts from a new connection.
        if !is_busy(&error) {
            self.connection = None;
        }
        self.retry_at = Some(Instant::now() + self.backoff);
        self.backoff = (self.backoff * 2).min(LAST_RETRY);
    }

    /// A commit panicked: its transaction was rolled back as the panic
    /// unwound. The connection is opened again and the batch tried again at
    /// once, but a batch that panics [`PANICS_PER_BATCH`] times running is
    /// dropped (counted), with the gaps held, and the writer waits.
    fn panicked(&mut self, events: usize) {
        self.panics += 1;
        log::error!(
            "the log writer panicked writing {events} events (time {} of {PANICS_PER_BATCH})",
            self.panics
        );
        self.connection = None;
        if self.failing.is_none() {
            self.failing = Some((
                "the log writer panicked".into(),
                crate::unix_ms(SystemTime::now()),
            ));
        }
        if self.panics >= PANICS_PER_BATCH {
            self.forget(events);
            self.shared
                .dropped
                .fetch_add(events as u64, Ordering::SeqCst);
            if !self.gaps.is_empty() {
                log::warn!("{} gaps could not be written", self.gaps.len());
                self.gaps.clear();
            }
            self.panics = 0;
            self.retry_at = Some(Instant::now() + self.backoff);
            self.backoff = (self.backoff * 2).min(LAST_RETRY);
        }
    }
}

/// Whether `error` is another connection's lock.
fn is_busy(error: &StoreError) -> bool {
    let code = match error {
        StoreError::Sql(error)
        | StoreError::CannotOpen { source: error, .. }
        | StoreError::ReadOnly { source: error, .. }
        | StoreError::DiskFull { source: error, .. } => error.sqlite_error_code(),
        _ => None,
    };
    matches!(
        code,
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Counts the events the last run was given but neither wrote nor dropped
/// as of its last commit as dropped, and returns how many; clears the run's
/// counts for this one.
fn settle_last_run(transaction: &Transaction<'_>) -> Result<u64, StoreError> {
    let count = |name| -> Result<u64, StoreError> {
        Ok(gaps::counter(transaction, name)?.unwrap_or(0).max(0) as u64)
    };
    let lost = count("run_assigned")?
        .saturating_sub(count("run_written")?)
        .saturating_sub(count("run_dropped")?);
    transaction.execute(
        "INSERT INTO counters (name, value) VALUES ('dropped_events', ?1)
         ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
        params![lost as i64],
    )?;
    for name in ["run_assigned", "run_written", "run_dropped"] {
        gaps::set_counter(transaction, name, 0)?;
    }
    Ok(lost)
}

/// What makes two blocked attempts the same, for [`REPEAT_WINDOW`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RepeatKey {
    uid: Option<u32>,
    host: String,
    ip: String,
    port: u16,
    protocol: &'static str,
    detail: String,
    reason: String,
    screen_off: bool,
}

impl RepeatKey {
    fn of(row: &EventRow<'_>) -> Self {
        RepeatKey {
            uid: row.uid,
            host: row.event.host.clone(),
            ip: row.ip.clone(),
            port: row.event.port,
            protocol: row.event.protocol,
            detail: row.event.detail.clone(),
            reason: row.reason.clone(),
            screen_off: row.event.screen_off,
        }
    }
}

/// Where an app's attempts at a host are counted, by a hash of (app, host,
/// protocol, detail): a repeat is folded only while it is the last attempt
/// of its slot, so an attempt that went otherwise between two blocked ones
/// (allowed after a rule change, say) keeps them apart, in order. A lookup's
/// A and AAAA queries are slots of their own, so an app that retries both
/// is two rows. (Two slots sharing a hash only end a row early.)
fn slot_of(row: &EventRow<'_>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (
        row.uid,
        row.event.host.as_str(),
        row.event.protocol,
        row.event.detail.as_str(),
    )
        .hash(&mut hasher);
    hasher.finish()
}

/// The rows open to repeats, by slot ([`slot_of`]).
type OpenRepeats = HashMap<u64, (RepeatKey, OpenRow)>;
/// What a batch did to them: a slot's row now open, or `None`, closed.
type RepeatChanges = Vec<(u64, Option<(RepeatKey, OpenRow)>)>;

/// A stored row that repeats may be added to.
#[derive(Debug, Clone, Copy)]
struct OpenRow {
    /// Its id, once known (a row inserted in a batch is looked up by its
    /// columns when a repeat first comes for it).
    id: Option<i64>,
    first_ms: i64,
    last_ms: i64,
}

impl OpenRow {
    /// Whether an attempt at `time_ms` is a repeat counted in this row.
    fn takes(&self, time_ms: i64) -> bool {
        time_ms >= self.first_ms
            && time_ms - self.last_ms <= REPEAT_WINDOW.as_millis() as i64
            && time_ms.div_euclid(HOUR_MS) == self.first_ms.div_euclid(HOUR_MS)
    }
}

/// Where repeats in a batch go.
enum RepeatTarget {
    /// A row stored before: an entry of the batch's updates.
    Stored(usize),
    /// A row this batch inserts: its index in the batch.
    New(usize),
}

/// The id of `open`'s row for `key`, if it is still stored (retention, or
/// a clear, may have deleted it).
fn stored_row(
    transaction: &Transaction<'_>,
    key: &RepeatKey,
    open: &OpenRow,
) -> Result<Option<i64>, StoreError> {
    if let Some(id) = open.id {
        let mut exists = transaction.prepare_cached("SELECT id FROM events WHERE id = ?1")?;
        return Ok(exists.query_row(params![id], |r| r.get(0)).optional()?);
    }
    let mut find = transaction.prepare_cached(
        "SELECT id FROM events WHERE time_ms = ?1 AND uid IS ?2 AND host = ?3 AND ip = ?4
           AND port = ?5 AND protocol = ?6 AND detail = ?7 AND action = 'blocked'
           AND reason = ?8 AND screen_off = ?9
         ORDER BY id DESC LIMIT 1",
    )?;
    Ok(find
        .query_row(
            params![
                open.first_ms,
                key.uid,
                key.host,
                key.ip,
                key.port,
                key.protocol,
                key.detail,
                key.reason,
                key.screen_off
            ],
            |r| r.get(0),
        )
        .optional()?)
}

/// Marks the repeats among `rows` (see [`REPEAT_WINDOW`] and [`slot_of`]):
/// each is folded into the row of its first attempt, a row of this batch
/// (whose count grows before it is inserted) or one stored before and
/// still in `open` (whose count is updated here). Returns what the batch
/// changed in the rows open to repeats.
fn fold_repeats(
    transaction: &Transaction<'_>,
    rows: &mut [EventRow<'_>],
    open: &OpenRepeats,
) -> Result<RepeatChanges, StoreError> {
    // Per slot seen in this batch: its open row, or `None` once closed.
    let mut batch: HashMap<u64, Option<(RepeatKey, OpenRow, RepeatTarget)>> = HashMap::new();
    // (id, attempts added, last time) per stored row.
    let mut updates: Vec<(i64, i64, i64)> = Vec::new();
    for index in 0..rows.len() {
        let slot = slot_of(&rows[index]);
        if rows[index].action != Verdict::Blocked.as_str() {
            batch.insert(slot, None);
            continue;
        }
        let time_ms = rows[index].time_ms;
        let key = RepeatKey::of(&rows[index]);
        match batch.get_mut(&slot) {
            Some(Some((open_key, row, target))) if *open_key == key && row.takes(time_ms) => {
                row.last_ms = row.last_ms.max(time_ms);
                match *target {
                    RepeatTarget::Stored(update) => {
                        updates[update].1 += 1;
                        updates[update].2 = updates[update].2.max(time_ms);
                    }
                    RepeatTarget::New(first) => {
                        rows[first].repeats += 1;
                        rows[first].last_ms = Some(row.last_ms);
                    }
                }
                rows[index].merged = true;
                continue;
            }
            Some(_) => {}
            None => {
                let stored = open
                    .get(&slot)
                    .filter(|(open_key, row)| *open_key == key && row.takes(time_ms));
                if let Some((_, row)) = stored {
                    if let Some(id) = stored_row(transaction, &key, row)? {
                        updates.push((id, 1, time_ms));
                        let row = OpenRow {
                            id: Some(id),
                            first_ms: row.first_ms,
                            last_ms: row.last_ms.max(time_ms),
                        };
                        let target = RepeatTarget::Stored(updates.len() - 1);
                        batch.insert(slot, Some((key, row, target)));
                        rows[index].merged = true;
                        continue;
                    }
                }
            }
        }
        let row = OpenRow {
            id: None,
            first_ms: time_ms,
            last_ms: time_ms,
        };
        batch.insert(slot, Some((key, row, RepeatTarget::New(index))));
    }
    let mut update = transaction.prepare_cached(
        "UPDATE events SET repeats = repeats + ?2,
             last_ms = max(coalesce(last_ms, time_ms), ?3)
         WHERE id = ?1",
    )?;
    for (id, added, last_ms) in updates {
        update.execute(params![id, added, last_ms])?;
    }
    Ok(batch
        .into_iter()
        .map(|(slot, open)| (slot, open.map(|(key, row, _)| (key, row))))
        .collect())
}

/// (hour, uid or -1, host, action, reason): one row of `hourly`.
type HourlyKey<'a> = (i64, i64, &'a str, &'static str, &'a str);

/// Events per multi-row INSERT: one statement step for many rows costs far
/// less than a step per row (SQLite allows 32,766 parameters; 9 per row).
const ROWS_PER_INSERT: usize = 64;
const EVENT_COLUMNS: usize = 13;

/// An event's columns, as they are stored.
struct EventRow<'a> {
    time_ms: i64,
    uid: Option<u32>,
    event: &'a Event,
    ip: String,
    action: &'static str,
    reason: String,
    /// Among its host's first [`RARE_HOST_EVENTS`]: indexed by host.
    rare: bool,
    /// Attempts the row stands for, itself included.
    repeats: i64,
    /// When the last of them was made, if after `time_ms`.
    last_ms: Option<i64>,
    /// Counted in another row (a repeat): folded, not inserted.
    merged: bool,
}

impl EventRow<'_> {
    fn push_params<'r>(&'r self, out: &mut Vec<&'r dyn rusqlite::ToSql>) {
        out.extend_from_slice(&[
            &self.time_ms as &dyn rusqlite::ToSql,
            &self.uid,
            &self.event.host,
            &self.ip,
            &self.event.port,
            &self.event.protocol,
            &self.event.detail,
            &self.action,
            &self.reason,
            &self.rare,
            &self.repeats,
            &self.last_ms,
            &self.event.screen_off,
        ]);
    }
}

fn insert_events_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO events (time_ms, uid, host, ip, port, protocol, detail, action, reason, rare, repeats, last_ms, screen_off) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 0..EVENT_COLUMNS {
            if column > 0 {
                sql.push(',');
            }
            sql.push('?');
        }
        sql.push(')');
    }
    sql
}

/// Counts folded from one batch, one entry per row of each aggregate table.
#[derive(Default)]
struct Folded<'a> {
    hourly: HashMap<HourlyKey<'a>, (i64, i64, i64)>,
    /// (hour, uid or -1, action) -> (count, first, last).
    app_hourly: HashMap<(i64, i64, &'static str), (i64, i64, i64)>,
    /// (day, uid or -1, host, action, reason) -> (count, first, last).
    host_daily: HashMap<HourlyKey<'a>, (i64, i64, i64)>,
    /// As `app_hourly`, for the attempts made with the screen off.
    screen_off_hourly: HashMap<(i64, i64, &'static str), (i64, i64, i64)>,
}

impl<'a> Folded<'a> {
    fn add(&mut self, row: &'a EventRow<'a>) {
        let (time_ms, uid) = (row.time_ms, row.uid.map_or(-1, i64::from));
        let hour = time_ms.div_euclid(HOUR_MS);
        let span = |entry: &mut (i64, i64, i64)| {
            entry.0 += 1;
            entry.1 = entry.1.min(time_ms);
            entry.2 = entry.2.max(time_ms);
        };
        let key = (
            hour,
            uid,
            row.event.host.as_str(),
            row.action,
            row.reason.as_str(),
        );
        span(self.hourly.entry(key).or_insert((0, time_ms, time_ms)));
        span(
            self.app_hourly
                .entry((hour, uid, row.action))
                .or_insert((0, time_ms, time_ms)),
        );
        if row.event.screen_off {
            span(
                self.screen_off_hourly
                    .entry((hour, uid, row.action))
                    .or_insert((0, time_ms, time_ms)),
            );
        }
        let day = hour.div_euclid(24);
        span(
            self.host_daily
                .entry((day, uid, key.2, key.3, key.4))
                .or_insert((0, time_ms, time_ms)),
        );
    }
}

/// Marks the events among their host's first [`RARE_HOST_EVENTS`] as rare,
/// from the counts stored in `hosts`; returns, per host, the count stored
/// before and the events this batch adds.
fn mark_rare<'a>(
    transaction: &Transaction<'_>,
    rows: &mut [EventRow<'a>],
) -> Result<HashMap<&'a str, (i64, i64)>, StoreError> {
    let mut counts: HashMap<&'a str, (i64, i64)> = HashMap::new();
    let mut stored = transaction.prepare_cached("SELECT events FROM hosts WHERE host = ?1")?;
    for row in rows.iter_mut().filter(|row| !row.merged) {
        let host = row.event.host.as_str();
        let (before, added) = match counts.get_mut(host) {
            Some(entry) => entry,
            None => {
                let before: i64 = stored
                    .query_row(params![host], |r| r.get(0))
                    .optional()?
                    .unwrap_or(0);
                counts.entry(host).or_insert((before, 0))
            }
        };
        row.rare = *before + *added < RARE_HOST_EVENTS;
        *added += 1;
    }
    Ok(counts)
}

/// Writes `batch` and folds it into the aggregates, inside `transaction`;
/// repeats of blocked attempts in rows still `open` (or of this batch) are
/// counted there. Returns the rows open to repeats after this batch.
fn write_events(
    transaction: &Transaction<'_>,
    batch: &[Event],
    open: &OpenRepeats,
) -> Result<RepeatChanges, StoreError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<EventRow<'_>> = batch
        .iter()
        .map(|event| EventRow {
            time_ms: crate::unix_ms(event.time),
            uid: event.uid,
            event,
            ip: event.address.to_string(),
            action: event.verdict.as_str(),
            reason: event.reason.code(),
            rare: false,
            repeats: 1,
            last_ms: None,
            merged: false,
        })
        .collect();
    // The aggregates are kept in the same transaction as the events, so a
    // crash loses neither alone. They are folded in memory first: a batch
    // repeats the same few hosts, and one upsert per distinct row is much
    // cheaper than one per event.
    let mut rows = rows;
    let repeats = fold_repeats(transaction, &mut rows, open)?;
    let host_events = mark_rare(transaction, &mut rows)?;
    let mut folded = Folded::default();
    for row in &rows {
        folded.add(row);
    }
    {
        let mut params: Vec<&dyn rusqlite::ToSql> =
            Vec::with_capacity(ROWS_PER_INSERT * EVENT_COLUMNS);
        // Every attempt counts in the aggregates; a repeat is no row.
        let kept: Vec<&EventRow<'_>> = rows.iter().filter(|row| !row.merged).collect();
        let mut chunks = kept.chunks_exact(ROWS_PER_INSERT);
        let mut insert_many = transaction.prepare_cached(&insert_events_sql(ROWS_PER_INSERT))?;
        for chunk in &mut chunks {
            params.clear();
            chunk.iter().for_each(|row| row.push_params(&mut params));
            insert_many.execute(params.as_slice())?;
        }
        let mut insert_one = transaction.prepare_cached(&insert_events_sql(1))?;
        for row in chunks.remainder() {
            params.clear();
            row.push_params(&mut params);
            insert_one.execute(params.as_slice())?;
        }
        let mut hourly = transaction.prepare_cached(
            "INSERT INTO hourly (hour, uid, host, action, reason, count, first_ms, last_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT DO UPDATE SET count = count + excluded.count,
                 first_ms = min(first_ms, excluded.first_ms),
                 last_ms = max(last_ms, excluded.last_ms)",
        )?;
        for ((hour, uid, host, action, reason), (count, first, last)) in &folded.hourly {
            hourly.execute(params![hour, uid, host, action, reason, count, first, last])?;
        }
        let mut app_hourly = transaction.prepare_cached(
            "INSERT INTO app_hourly (hour, uid, action, count, first_ms, last_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT DO UPDATE SET count = count + excluded.count,
                 first_ms = min(first_ms, excluded.first_ms),
                 last_ms = max(last_ms, excluded.last_ms)",
        )?;
        for ((hour, uid, action), (count, first, last)) in &folded.app_hourly {
            app_hourly.execute(params![hour, uid, action, count, first, last])?;
        }
        if !folded.screen_off_hourly.is_empty() {
            let mut screen_off = transaction.prepare_cached(
                "INSERT INTO screen_off_hourly (hour, uid, action, count, first_ms, last_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT DO UPDATE SET count = count + excluded.count,
                     first_ms = min(first_ms, excluded.first_ms),
                     last_ms = max(last_ms, excluded.last_ms)",
            )?;
            for ((hour, uid, action), (count, first, last)) in &folded.screen_off_hourly {
                screen_off.execute(params![hour, uid, action, count, first, last])?;
            }
        }
        let mut host_daily = transaction.prepare_cached(
            "INSERT INTO host_daily (day, uid, host, action, reason, count, first_ms, last_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT DO UPDATE SET count = count + excluded.count,
                 first_ms = min(first_ms, excluded.first_ms),
                 last_ms = max(last_ms, excluded.last_ms)",
        )?;
        for ((day, uid, host, action, reason), (count, first, last)) in &folded.host_daily {
            host_daily.execute(params![day, uid, host, action, reason, count, first, last])?;
        }
        let mut seen_host = transaction.prepare_cached(
            "INSERT INTO hosts (host, events) VALUES (?1, ?2)
             ON CONFLICT DO UPDATE SET events = events + excluded.events",
        )?;
        for (host, (_, added)) in &host_events {
            seen_host.execute(params![host, added])?;
        }
    }
    Ok(repeats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{dropped_events, events, hourly_counts, open};
    use hush_engine::{Reason, Verdict};
    use std::os::unix::fs::PermissionsExt;

    /// The attempts stored: a row of repeats counts each.
    fn attempts(connection: &Connection) -> u64 {
        events(connection).unwrap().iter().map(|e| e.repeats).sum()
    }

    fn event(host: &str) -> Event {
        Event {
            time: SystemTime::now(),
            uid: None,
            host: host.into(),
            address: "198.18.0.53".parse().unwrap(),
            port: 53,
            protocol: "dns",
            detail: "A".into(),
            verdict: Verdict::Blocked,
            reason: Reason::Blocklist("hush-default".into()),
            screen_off: false,
        }
    }

    #[test]
    fn creates_an_owner_only_wal_database_and_stores_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hush.db");
        let writer = EventWriter::start(open(&path).unwrap(), 100).unwrap();
        writer.record(event("tracking.miui.com"));
        writer.record(event("api.ad.xiaomi.com"));
        writer.finish().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let connection = open(&path).unwrap();
        let mode: String = connection
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let stored = events(&connection).unwrap();
        let hosts: Vec<_> = stored.iter().map(|e| e.host.as_str()).collect();
        assert_eq!(hosts, ["tracking.miui.com", "api.ad.xiaomi.com"]);
        assert_eq!(stored[0].reason, "list:hush-default");
        assert_eq!(stored[0].action, "blocked");
        // Each event is folded into its hour's aggregate in the same batch.
        let hourly = hourly_counts(&connection).unwrap();
        assert_eq!(hourly.iter().map(|h| h.count).sum::<u64>(), 2);
        assert!(hourly
            .iter()
            .all(|h| h.uid.is_none() && h.action == "blocked"));
    }

    #[test]
    fn a_full_queue_counts_and_stores_the_drops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hush.db");
        // Hold the write lock so the writer cannot drain, then overfill the queue.
        let writer = EventWriter::start(open(&path).unwrap(), 4).unwrap();
        let blocker = open(&path).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
        for i in 0..100 {
            writer.record(event(&format!("n{i}.example")));
        }
        let dropped = writer.dropped();
        assert!(
            dropped >= 50,
            "the queue of 4 cannot have taken most of 100: dropped {dropped}"
        );
        assert_eq!(writer.assigned(), 100, "dropped events are numbered too");
        // The writer thread may still drop some it took off the channel
        // into a full batch: the count is read again once it has stopped.
        let counter = writer.dropped_counter();
        blocker.execute_batch("ROLLBACK").unwrap();
        writer.finish().unwrap();
        let dropped = counter.load(Ordering::SeqCst);
        let connection = open(&path).unwrap();
        let stored = attempts(&connection);
        assert_eq!(stored + dropped, 100, "every event is stored or counted");
        assert_eq!(dropped_events(&connection).unwrap(), dropped);
    }

    #[test]
    fn waiting_events_are_bounded_in_bytes_not_only_in_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hush.db");
        // Room for 10,000 events, but each is a megabyte: the byte bound
        // must stop the queue long before the count does.
        let writer = EventWriter::start(open(&path).unwrap(), 10_000).unwrap();
        let blocker = open(&path).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
        let huge = "h".repeat(1 << 20);
        for _ in 0..100 {
            writer.record(event(&huge));
        }
        let held = writer.shared.held_bytes.load(Ordering::SeqCst);
        assert!(held <= MAX_HELD_BYTES, "{held} bytes held");
        let dropped = writer.dropped();
        let kept = 100 - dropped;
        assert!(
            (28..=32).contains(&kept),
            "about 32 MiB of 1 MiB events wait: {kept} kept, {dropped} dropped"
        );
        blocker.execute_batch("ROLLBACK").unwrap();
        writer.finish().unwrap();
        let connection = open(&path).unwrap();
        let stored = attempts(&connection);
        assert_eq!(stored, kept, "what was kept is written");
        assert_eq!(stored + dropped, 100, "every event is stored or counted");
    }

    #[test]
    fn repeated_events_fold_into_one_hourly_row_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hush.db");
        let mut connection = open(&path).unwrap();
        let batch = [event("a.example"), event("a.example"), event("b.example")];
        for events in [&batch[..], &batch[..1]] {
            let transaction = connection.transaction().unwrap();
            write_events(&transaction, events, &OpenRepeats::new()).unwrap();
            transaction.commit().unwrap();
        }
        let counts: Vec<(String, u64)> = hourly_counts(&connection)
            .unwrap()
            .into_iter()
            .map(|h| (h.host, h.count))
            .collect();
        assert_eq!(counts, [("a.example".into(), 3), ("b.example".into(), 1)]);
    }

    /// A worker on `path` as [`EventWriter::open`] makes it, on this thread.
    fn worker(path: &Path, capacity: usize) -> (Worker, SyncSender<Message>) {
        let (sender, receiver) = sync_channel(capacity);
        let shared = Shared::new();
        let worker = Worker {
            source: Source {
                path: Some(path.to_path_buf()),
                recover: true,
            },
            connection: None,
            receiver,
            shared,
            capacity,
            held: VecDeque::new(),
            gaps: Vec::new(),
            started_ms: crate::unix_ms(SystemTime::now()),
            begun: false,
            written: 0,
            dropped_stored: 0,
            failing: None,
            retry_at: None,
            backoff: FIRST_RETRY,
            panics: 0,
            heartbeat_at: Instant::now() + HEARTBEAT,
            open_repeats: HashMap::new(),
            batch_since: None,
        };
        (worker, sender)
    }

    #[test]
    fn events_queued_at_a_kill_are_counted_lost_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hush.db");
        let (mut worker, _sender) = worker(&path, 1000);
        // 100 given, 3 of them dropped, 97 held; a commit of 60 of them...
        for i in 0..97 {
            worker.held.push_back(event(&format!("n{i}.example")));
        }
        worker.shared.assigned.store(100, Ordering::SeqCst);
        worker.shared.dropped.store(3, Ordering::SeqCst);
        worker.connect(BUSY_TIMEOUT).unwrap();
        let committed = worker.commit(60, None).ok().unwrap();
        worker.committed(committed);
        assert_eq!(worker.shared.lost_at_last_kill.lock().unwrap().unwrap(), 0);
        // ...and then the process dies: nothing more is written.
        drop(worker);

        let writer = EventWriter::open(&path, 100).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while writer.lost_at_last_kill().is_none() {
            assert!(Instant::now() < deadline, "{:?}", writer.status());
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(writer.lost_at_last_kill(), Some(37));
        writer.finish().unwrap();
        let connection = open(&path).unwrap();
        assert_eq!(events(&connection).unwrap().len(), 60);
        assert_eq!(dropped_events(&connection).unwrap(), 3 + 37);
        // Counted once: a clean run after it finds nothing more lost.
        let writer = EventWriter::open(&path, 100).unwrap();
        writer.finish().unwrap();
        assert_eq!(dropped_events(&open(&path).unwrap()).unwrap(), 40);
    }

    #[test]
    fn an_idle_writer_sleeps_until_the_heartbeat() {
        let dir = tempfile::tempdir().unwrap();
        let (mut worker, _sender) = worker(&dir.path().join("hush.db"), 10);
        let now = Instant::now();
        assert_eq!(worker.next_wake(now), now, "the start is due");
        worker.attempt();
        assert!(worker.begun);
        let now = Instant::now();
        assert!(
            worker.next_wake(now) >= now + HEARTBEAT - Duration::from_secs(1),
            "idle, it wakes for the heartbeat only"
        );
        // An event waits a little for others to share its commit...
        worker.held.push_back(event("a.example"));
        worker.batch_since = Some(now);
        assert_eq!(worker.next_wake(now), now + COMMIT_DELAY);
        // ...but a large batch goes at once.
        for _ in 1..BATCH_KEPT {
            worker.held.push_back(event("a.example"));
        }
        assert_eq!(worker.next_wake(now), now);
    }

    #[test]
    fn failures_back_off_from_one_second_to_a_minute() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hush.db");
        let connection = Connection::open(&path).unwrap();
        connection.pragma_update(None, "user_version", 999).unwrap();
        drop(connection);
        let (mut worker, _sender) = worker(&path, 10);
        let mut waits = Vec::new();
        for _ in 0..9 {
            let before = Instant::now();
            worker.attempt();
            let wait = worker.retry_at.unwrap() - before;
            waits.push(wait.as_secs_f64().round() as u64);
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert!(matches!(
            worker.failing.as_ref(),
            Some((reason, _)) if reason.contains("newer")
        ));
    }
}
