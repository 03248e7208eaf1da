//! Packet capture of one app (issue 16): its packets as the tun saw them,
//! both ways, in pcapng files Wireshark and `tshark` read.
//!
//! The relay hands each packet of the captured app to a `Sink` without
//! waiting: the packet is copied into a bounded queue, and a writer thread
//! of the capture's own writes it to disk. A full queue drops the packet
//! and counts it (the file's interface statistics and [`CaptureSummary`]
//! say how many), so a slow disk never slows the app, let alone the others.
//!
//! Files: the segment being written is `FILE.partial`; when it reaches its
//! size limit, or the capture ends, it is renamed to `FILE`, and the
//! segments before it move to `FILE.1`, `FILE.2`... (keeping the extension:
//! `cap.pcapng`, `cap.1.pcapng`), the oldest beyond the count removed. A
//! file that cannot be written (a full disk) ends the capture with a clear
//! error, and the partial segment is removed: no file Hush leaves is cut
//! mid-block. What was rotated before stays.
//!
//! Each packet carries its direction (the pcapng `epb_flags`: inbound is
//! towards the app) and, where Hush decided on the flow at that packet,
//! the decision as a packet comment. The interface's description names the
//! app.

use std::borrow::Cow;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::interface_statistics::{
    InterfaceStatisticsBlock, InterfaceStatisticsOption,
};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::DataLink;

/// Bytes of packets waiting for the writer, at most; past it packets are
/// dropped and counted. Four megabytes is a few milliseconds of a fast
/// download, far longer than a write takes.
pub const QUEUE_BYTES: usize = 4 * 1024 * 1024;

/// Batches waiting for the writer, at most. The relay hands over one batch
/// per turn (what the turn took of the app's packets): one channel send and
/// at most one wake-up of the writer per turn, not per packet.
const QUEUE_BATCHES: usize = 8192;

/// How often a busy writer looks for more ([`Writer::run`]).
const POLL: Duration = Duration::from_millis(5);

/// The writer's buffer: a write call per this many bytes, not per packet.
const WRITE_BUFFER: usize = 1 << 20;

/// The default size of one file: `--capture-size`.
pub const DEFAULT_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The default number of files kept: `--capture-files`.
pub const DEFAULT_FILES: u32 = 4;

/// Numbered files of an earlier capture removed at most (`--capture-files`
/// allows 1,000).
const MAX_EARLIER_FILES: u32 = 1000;

/// The default of [`CaptureSpec::whole_bytes`]: each flow's first 64 KiB
/// each way are captured whole (handshakes, names, requests and their
/// headers); past them a packet keeps its first [`SNAP_BYTES`].
pub const DEFAULT_WHOLE_BYTES: u64 = 64 * 1024;

/// What a packet past its flow's [`CaptureSpec::whole_bytes`] keeps: the IP
/// and TCP headers with their options, and the start of the payload.
pub const SNAP_BYTES: usize = 160;

/// Smallest file limit accepted: room for the headers and a few packets.
pub const MIN_FILE_BYTES: u64 = 64 * 1024;

/// `epb_flags` direction bits (pcapng, section 4.3.1).
const INBOUND: u32 = 0b01;
const OUTBOUND: u32 = 0b10;

/// What to capture, where, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSpec {
    pub uid: u32,
    /// The app's name for the interface description (a label or package);
    /// empty when unknown.
    pub app: String,
    /// The newest complete file; older ones are numbered beside it.
    pub path: PathBuf,
    /// Bytes per file before it rotates.
    pub file_bytes: u64,
    /// Files kept, the one being written included.
    pub files: u32,
    /// The capture ends by itself after this long.
    pub duration: Option<Duration>,
    /// Bytes of each flow, each way, captured whole; past them a packet
    /// keeps its first [`SNAP_BYTES`] (a bulk download's encrypted body
    /// tells nothing, and copying it all costs the app's speed). `None`:
    /// every packet whole.
    pub whole_bytes: Option<u64>,
}

impl CaptureSpec {
    pub fn new(uid: u32, path: PathBuf) -> Self {
        Self {
            uid,
            app: String::new(),
            path,
            file_bytes: DEFAULT_FILE_BYTES,
            files: DEFAULT_FILES,
            duration: None,
            whole_bytes: Some(DEFAULT_WHOLE_BYTES),
        }
    }
}

/// Why a capture could not start, or why it ended early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureError {
    /// The spec asks for something that cannot work.
    Invalid(String),
    /// The first file could not be made.
    Create { path: PathBuf, message: String },
    /// A file could not be made, written or renamed; `packets` were
    /// written before it.
    Io {
        path: PathBuf,
        message: String,
        packets: u64,
    },
    /// The disk holds less than one file's worth.
    NoSpace {
        path: PathBuf,
        free: u64,
        needed: u64,
    },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Invalid(why) => write!(f, "capture: {why}"),
            CaptureError::Create { path, message } => write!(
                f,
                "capture not started: could not write {} ({message})",
                path.display()
            ),
            CaptureError::Io {
                path,
                message,
                packets,
            } => write!(
                f,
                "capture stopped: could not write {} ({message}) after {packets} packets; \
                 the unfinished file was removed, files rotated before it are kept",
                path.display()
            ),
            CaptureError::NoSpace { path, free, needed } => write!(
                f,
                "capture not started: {} has {free} bytes free, one capture file needs {needed}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for CaptureError {}

/// How a capture went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSummary {
    pub uid: u32,
    /// Packets written to the files.
    pub packets: u64,
    /// Packets dropped because the writer was behind.
    pub dropped: u64,
    /// Flows of the app not captured: more were open at once than a
    /// capture follows.
    pub flows_missed: u64,
    /// The files kept, newest first.
    pub files: Vec<PathBuf>,
    /// Why it ended early (a full disk), if it did; the files rotated
    /// before that are kept, and listed above.
    pub error: Option<CaptureError>,
}

/// A capture under way, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureStatus {
    pub uid: u32,
    pub packets: u64,
    pub dropped: u64,
    pub flows_missed: u64,
    /// False once it ended by itself (its time was up, or a write failed).
    pub running: bool,
}

/// Starts and stops the capture; the relay and the platform each hold a
/// clone. At most one app is captured at a time.
#[derive(Clone, Default)]
pub struct Capture {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// Bumped at each start and stop, so the relay notices with one load.
    version: AtomicU64,
    running: Mutex<Option<Running>>,
}

struct Running {
    sink: Arc<Sink>,
    sender: SyncSender<Message>,
    writer: JoinHandle<CaptureSummary>,
}

impl fmt::Debug for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capture")
            .field("status", &self.status())
            .finish()
    }
}

impl Capture {
    /// Starts capturing `spec.uid`'s packets, ending any capture under way
    /// first (its summary is returned) and replacing the files an earlier
    /// capture left at the same path. The first file is made (with its
    /// headers) before this returns, so a path that cannot be written is an
    /// error here.
    pub fn start(&self, spec: CaptureSpec) -> Result<Option<CaptureSummary>, CaptureError> {
        if spec.files == 0 {
            return Err(CaptureError::Invalid(
                "at least one file must be kept".into(),
            ));
        }
        if spec.file_bytes < MIN_FILE_BYTES {
            return Err(CaptureError::Invalid(format!(
                "a file must hold at least {MIN_FILE_BYTES} bytes"
            )));
        }
        let previous = self.stop();
        check_space(&spec.path, spec.file_bytes)?;
        let files = Files::new(&spec.path, spec.files);
        // An earlier capture's files at the same path would otherwise rotate
        // into this one's and be counted as its own.
        files.remove_earlier();
        let segment = Segment::create(&files.partial, &spec, 0)?;
        let (sender, receiver) = mpsc::sync_channel(QUEUE_BATCHES);
        let sink = Arc::new(Sink {
            uid: spec.uid,
            whole_bytes: spec.whole_bytes,
            sender: sender.clone(),
            open: AtomicBool::new(true),
            queued_bytes: AtomicUsize::new(0),
            packets: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            flows_missed: AtomicU64::new(0),
            spares: Mutex::new(Vec::new()),
        });
        let writer_sink = Arc::clone(&sink);
        let deadline = spec.duration.map(|d| Instant::now() + d);
        let writer = std::thread::Builder::new()
            .name("hush-capture".into())
            .spawn(move || {
                let mut writer = Writer {
                    spec,
                    files,
                    segment: Some(segment),
                    sink: writer_sink,
                };
                let ended = writer.run(&receiver, deadline);
                writer.sink.open.store(false, Ordering::Release);
                writer.summary(ended.err())
            })
            .map_err(|e| CaptureError::Io {
                path: PathBuf::from("hush-capture thread"),
                message: e.to_string(),
                packets: 0,
            })?;
        *self.lock() = Some(Running {
            sink,
            sender,
            writer,
        });
        self.shared.version.fetch_add(1, Ordering::Release);
        Ok(previous)
    }

    /// Ends the capture under way, if any: what waits in the queue is
    /// written, the last file is renamed into place.
    pub fn stop(&self) -> Option<CaptureSummary> {
        let running = self.lock().take()?;
        self.shared.version.fetch_add(1, Ordering::Release);
        running.sink.open.store(false, Ordering::Release);
        // The writer may have ended by itself (its time was up, a write
        // failed) and dropped its receiver: then there is nobody to tell.
        let _ = running.sender.send(Message::Finish);
        drop(running.sender);
        let sink = &running.sink;
        Some(running.writer.join().unwrap_or_else(|_| CaptureSummary {
            uid: sink.uid,
            packets: sink.packets.load(Ordering::Relaxed),
            dropped: sink.dropped.load(Ordering::Relaxed),
            flows_missed: sink.flows_missed.load(Ordering::Relaxed),
            files: Vec::new(),
            error: Some(CaptureError::Invalid("the capture writer panicked".into())),
        }))
    }

    pub fn status(&self) -> Option<CaptureStatus> {
        self.lock().as_ref().map(|running| CaptureStatus {
            uid: running.sink.uid,
            packets: running.sink.packets.load(Ordering::Relaxed),
            dropped: running.sink.dropped.load(Ordering::Relaxed),
            flows_missed: running.sink.flows_missed.load(Ordering::Relaxed),
            running: running.sink.open.load(Ordering::Acquire),
        })
    }

    /// Changes at each start and stop.
    pub(crate) fn version(&self) -> u64 {
        self.shared.version.load(Ordering::Acquire)
    }

    /// The sink packets go to now, if a capture is under way.
    pub(crate) fn sink(&self) -> Option<Arc<Sink>> {
        self.lock()
            .as_ref()
            .map(|running| Arc::clone(&running.sink))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        // A panic while holding the lock left at worst a stale `Running`,
        // which stop() ends as usual.
        self.shared
            .running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

enum Message {
    Packets(Batch),
    Finish,
}

/// Packets the relay took in one turn, in the order the tun saw them: their
/// bytes one after another in one buffer. Batches go back to the relay
/// once written ([`Sink::spare_batch`]), so steady capture allocates
/// nothing: no allocation a packet, none freed on another thread, and no
/// large buffer mapped and unmapped a turn.
#[derive(Default)]
pub(crate) struct Batch {
    bytes: Vec<u8>,
    pub packets: Vec<Captured>,
}

/// One packet of a [`Batch`].
pub(crate) struct Captured {
    time: SystemTime,
    to_app: bool,
    /// Where its bytes are in the batch's buffer.
    start: usize,
    len: usize,
    /// The packet's length on the tun (more than `len` when cut).
    original_len: usize,
    pub comment: Option<String>,
}

impl Batch {
    /// A copy of `packet`'s first `keep` bytes, taken now; `to_app`: going
    /// to the app.
    pub fn push(&mut self, packet: &[u8], keep: usize, to_app: bool, comment: Option<String>) {
        let kept = &packet[..keep.min(packet.len())];
        self.packets.push(Captured {
            time: SystemTime::now(),
            to_app,
            start: self.bytes.len(),
            len: kept.len(),
            original_len: packet.len(),
            comment,
        });
        self.bytes.extend_from_slice(kept);
    }

    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.packets.clear();
    }

    /// The batch's packets whole, for tests.
    #[cfg(test)]
    pub fn of(packets: &[(&[u8], bool, Option<&str>)]) -> Self {
        let mut batch = Self::default();
        for (packet, to_app, comment) in packets {
            batch.push(packet, packet.len(), *to_app, comment.map(str::to_string));
        }
        batch
    }
}

/// Where the relay hands packets; never waits.
pub(crate) struct Sink {
    pub uid: u32,
    /// [`CaptureSpec::whole_bytes`].
    pub whole_bytes: Option<u64>,
    sender: SyncSender<Message>,
    open: AtomicBool,
    queued_bytes: AtomicUsize,
    packets: AtomicU64,
    dropped: AtomicU64,
    flows_missed: AtomicU64,
    /// Written batches, emptied, for the relay to fill again.
    spares: Mutex<Vec<Batch>>,
}

/// Emptied batches kept for reuse, at most, and the largest buffer kept:
/// at most 8 MiB held while a capture runs.
const SPARE_BATCHES: usize = 8;
const SPARE_BYTES: usize = 1 << 20;

impl Sink {
    /// An empty batch, one written before if there is one.
    pub fn spare_batch(&self) -> Batch {
        self.spares
            .lock()
            .ok()
            .and_then(|mut spares| spares.pop())
            .unwrap_or_default()
    }

    fn return_batch(&self, mut batch: Batch) {
        if batch.bytes.capacity() > SPARE_BYTES {
            return;
        }
        batch.clear();
        if let Ok(mut spares) = self.spares.lock() {
            if spares.len() < SPARE_BATCHES {
                spares.push(batch);
            }
        }
    }

    /// False once the capture ended: the relay lets go of it.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }

    /// Queues the packets for the writer, as many as the queue has room
    /// for; the rest are dropped and counted.
    pub fn offer(&self, mut batch: Batch) {
        if !self.is_open() || batch.is_empty() {
            return;
        }
        let room = QUEUE_BYTES.saturating_sub(self.queued_bytes.load(Ordering::Relaxed));
        // Packets lie in the buffer in order: those that fit end within it.
        let fits = batch
            .packets
            .iter()
            .take_while(|packet| packet.start + packet.len <= room)
            .count();
        if fits < batch.packets.len() {
            let dropped = batch.packets.len() - fits;
            self.dropped.fetch_add(dropped as u64, Ordering::Relaxed);
            batch.packets.truncate(fits);
            if fits == 0 {
                return;
            }
        }
        let bytes = batch.packets.last().map_or(0, |last| last.start + last.len);
        batch.bytes.truncate(bytes);
        let count = batch.packets.len() as u64;
        self.queued_bytes.fetch_add(bytes, Ordering::Relaxed);
        match self.sender.try_send(Message::Packets(batch)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
                self.dropped.fetch_add(count, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {
                self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
                self.open.store(false, Ordering::Relaxed);
            }
        }
    }

    /// A flow of the app's was not followed (too many at once).
    pub fn count_missed_flow(&self) {
        self.flows_missed.fetch_add(1, Ordering::Relaxed);
    }
}

/// The names of a capture's files.
struct Files {
    partial: PathBuf,
    /// Newest first: `FILE`, `FILE.1`...
    kept: Vec<PathBuf>,
}

impl Files {
    fn new(path: &Path, count: u32) -> Self {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let kept = (0..count).map(|n| numbered(path, n)).collect();
        Self {
            partial: PathBuf::from(partial),
            kept,
        }
    }

    /// Moves the finished segment into place, the older ones one down,
    /// and removes the oldest beyond the count.
    fn rotate_in(&self) -> io::Result<()> {
        for pair in (1..self.kept.len()).rev() {
            match fs::rename(&self.kept[pair - 1], &self.kept[pair]) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        fs::rename(&self.partial, &self.kept[0])
    }

    /// Removes the files of an earlier capture at the same path: the one
    /// being written, the newest, and the numbered ones as far as they go.
    fn remove_earlier(&self) {
        let _ = fs::remove_file(&self.partial);
        let newest = &self.kept[0];
        let _ = fs::remove_file(newest);
        for n in 1..=MAX_EARLIER_FILES {
            if fs::remove_file(numbered(newest, n)).is_err() {
                break;
            }
        }
    }

    fn existing(&self) -> Vec<PathBuf> {
        self.kept.iter().filter(|p| p.exists()).cloned().collect()
    }
}

/// `cap.pcapng` → `cap.N.pcapng` (`N` > 0); a name without an extension
/// gets `.N` at its end.
fn numbered(path: &Path, n: u32) -> PathBuf {
    if n == 0 {
        return path.to_path_buf();
    }
    match (path.file_stem(), path.extension()) {
        (Some(stem), Some(extension)) => {
            let mut name = stem.to_owned();
            name.push(format!(".{n}."));
            name.push(extension);
            path.with_file_name(name)
        }
        _ => {
            let mut name = path.as_os_str().to_owned();
            name.push(format!(".{n}"));
            PathBuf::from(name)
        }
    }
}

/// One file being written.
struct Segment {
    writer: PcapNgWriter<BufWriter<File>>,
    bytes: u64,
    /// Packets dropped before this segment began, for its statistics.
    dropped_at_start: u64,
}

impl Segment {
    fn create(
        path: &Path,
        spec: &CaptureSpec,
        dropped_at_start: u64,
    ) -> Result<Self, CaptureError> {
        let io_error = |e: &dyn fmt::Display| CaptureError::Create {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| io_error(&e))?;
        let headers = PcapNgWriter::new(BufWriter::with_capacity(WRITE_BUFFER, file)).and_then(
            |mut writer| {
                let bytes = writer.write_pcapng_block(interface_description(spec))?;
                writer
                    .get_mut()
                    .flush()
                    .map_err(pcap_file::PcapError::IoError)?;
                Ok((writer, bytes))
            },
        );
        let (writer, bytes) = headers.map_err(|e| {
            let _ = fs::remove_file(path);
            io_error(&pcap_message(&e))
        })?;
        Ok(Self {
            writer,
            // The section header the writer wrote, and the interface.
            bytes: bytes as u64 + 28,
            dropped_at_start,
        })
    }
}

fn interface_description(spec: &CaptureSpec) -> InterfaceDescriptionBlock<'static> {
    let app = if spec.app.is_empty() {
        format!("uid {}", spec.uid)
    } else {
        format!("{} (uid {})", spec.app, spec.uid)
    };
    InterfaceDescriptionBlock {
        linktype: DataLink::RAW,
        snaplen: 0,
        options: vec![
            InterfaceDescriptionOption::Comment(Cow::Owned(match spec.whole_bytes {
                Some(whole) => format!(
                    "each flow's first {whole} bytes each way whole; past them a packet keeps its first {SNAP_BYTES} bytes"
                ),
                None => "every packet whole".to_string(),
            })),
            InterfaceDescriptionOption::IfName(Cow::Borrowed("hush-tun")),
            InterfaceDescriptionOption::IfDescription(Cow::Owned(format!(
                "{app}: its packets as Hush's tun saw them"
            ))),
            // Timestamps in nanoseconds, as pcap-file writes them.
            InterfaceDescriptionOption::IfTsResol(9),
        ],
    }
}

/// The writer thread's state.
struct Writer {
    spec: CaptureSpec,
    files: Files,
    segment: Option<Segment>,
    sink: Arc<Sink>,
}

impl Writer {
    fn run(
        &mut self,
        receiver: &Receiver<Message>,
        deadline: Option<Instant>,
    ) -> Result<(), CaptureError> {
        // Whether the last look found packets: while they come, the writer
        // looks again every `POLL` instead of sleeping on the queue, since
        // waking a sleeping writer costs the relay a system call per batch.
        // After a quiet `POLL` it sleeps until a batch wakes it.
        let mut busy = false;
        loop {
            if deadline.is_some_and(|end| Instant::now() >= end) {
                return self.finish();
            }
            let message = match receiver.try_recv() {
                Ok(message) => message,
                Err(TryRecvError::Disconnected) => return self.finish(),
                Err(TryRecvError::Empty) => {
                    // What was written reaches the file while it is quiet.
                    self.flush()?;
                    if busy {
                        busy = false;
                        std::thread::sleep(POLL);
                        continue;
                    }
                    let next = match deadline {
                        None => receiver.recv().ok(),
                        Some(end) => receiver
                            .recv_timeout(end.saturating_duration_since(Instant::now()))
                            .ok(),
                    };
                    // Its time is up, or every sender is gone.
                    next.unwrap_or(Message::Finish)
                }
            };
            match message {
                Message::Packets(mut batch) => {
                    busy = true;
                    let bytes = std::mem::take(&mut batch.bytes);
                    let written = batch.packets.drain(..).try_for_each(|packet| {
                        let data = &bytes[packet.start..packet.start + packet.len];
                        self.write(packet_block(packet, data))
                    });
                    self.sink
                        .queued_bytes
                        .fetch_sub(bytes.len(), Ordering::Relaxed);
                    batch.bytes = bytes;
                    self.sink.return_batch(batch);
                    written?;
                }
                Message::Finish => return self.finish(),
            }
        }
    }

    fn write(&mut self, block: EnhancedPacketBlock<'_>) -> Result<(), CaptureError> {
        let size = block_size(&block);
        if self
            .segment
            .as_ref()
            .is_some_and(|s| s.bytes + size > self.spec.file_bytes)
        {
            self.close_segment(false)?;
            let dropped = self.sink.dropped.load(Ordering::Relaxed);
            self.segment = Some(
                Segment::create(&self.files.partial, &self.spec, dropped)
                    .map_err(|e| self.failed_with(e))?,
            );
        }
        let Some(segment) = self.segment.as_mut() else {
            return Ok(());
        };
        match segment.writer.write_pcapng_block(block) {
            Ok(written) => {
                segment.bytes += written as u64;
                self.sink.packets.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => Err(self.fail(&pcap_message(&e))),
        }
    }

    fn flush(&mut self) -> Result<(), CaptureError> {
        match self.segment.as_mut().map(|s| s.writer.get_mut().flush()) {
            Some(Err(e)) => Err(self.fail(&e)),
            _ => Ok(()),
        }
    }

    /// Ends the file being written with its statistics and renames it into
    /// place. Only the last file is synced to disk: a sync at each rotation
    /// would stall the writer while the queue fills.
    fn close_segment(&mut self, last: bool) -> Result<(), CaptureError> {
        let Some(mut segment) = self.segment.take() else {
            return Ok(());
        };
        let dropped = self.sink.dropped.load(Ordering::Relaxed);
        let statistics = InterfaceStatisticsBlock {
            interface_id: 0,
            timestamp: statistics_timestamp(unix_nanos(SystemTime::now())),
            options: vec![InterfaceStatisticsOption::IsbIfDrop(
                dropped.saturating_sub(segment.dropped_at_start),
            )],
        };
        let closed = segment
            .writer
            .write_pcapng_block(statistics)
            .map_err(|e| pcap_message(&e))
            .and_then(|_| segment.writer.get_mut().flush().map_err(|e| e.to_string()))
            .and_then(|()| {
                if !last {
                    return Ok(());
                }
                let file = segment.writer.get_ref().get_ref();
                file.sync_data().map_err(|e| e.to_string())
            });
        drop(segment);
        if let Err(message) = closed {
            return Err(self.fail(&message));
        }
        self.files.rotate_in().map_err(|e| self.fail(&e))
    }

    fn finish(&mut self) -> Result<(), CaptureError> {
        self.sink.open.store(false, Ordering::Release);
        self.close_segment(true)
    }

    fn summary(&self, error: Option<CaptureError>) -> CaptureSummary {
        CaptureSummary {
            uid: self.spec.uid,
            packets: self.sink.packets.load(Ordering::Relaxed),
            dropped: self.sink.dropped.load(Ordering::Relaxed),
            flows_missed: self.sink.flows_missed.load(Ordering::Relaxed),
            files: self.files.existing(),
            error,
        }
    }

    /// A write failed: the capture ends, and its unfinished file goes.
    fn fail(&mut self, error: &dyn fmt::Display) -> CaptureError {
        self.failed_with(CaptureError::Io {
            path: self.files.partial.clone(),
            message: error.to_string(),
            packets: 0,
        })
    }

    fn failed_with(&mut self, error: CaptureError) -> CaptureError {
        self.sink.open.store(false, Ordering::Release);
        self.segment = None;
        let _ = fs::remove_file(&self.files.partial);
        let packets = self.sink.packets.load(Ordering::Relaxed);
        match error {
            CaptureError::Io { path, message, .. } | CaptureError::Create { path, message } => {
                CaptureError::Io {
                    path,
                    message,
                    packets,
                }
            }
            other => other,
        }
    }
}

/// pcap-file says "Error reading bytes" for every I/O error, writes
/// included: the OS's own words say what happened (a full disk).
fn pcap_message(error: &pcap_file::PcapError) -> String {
    match error {
        pcap_file::PcapError::IoError(io) => io.to_string(),
        other => other.to_string(),
    }
}

fn packet_block(packet: Captured, data: &[u8]) -> EnhancedPacketBlock<'_> {
    let flags = if packet.to_app { INBOUND } else { OUTBOUND };
    let mut options = vec![EnhancedPacketOption::Flags(flags)];
    if let Some(comment) = packet.comment {
        options.push(EnhancedPacketOption::Comment(Cow::Owned(comment)));
    }
    EnhancedPacketBlock {
        interface_id: 0,
        timestamp: unix_nanos(packet.time),
        original_len: packet.original_len as u32,
        data: Cow::Borrowed(data),
        options,
    }
}

/// The bytes `block` takes in the file: header and trailer, the packet
/// padded to 32 bits, and its options with their end marker.
fn block_size(block: &EnhancedPacketBlock<'_>) -> u64 {
    let padded = |len: usize| len.div_ceil(4) * 4;
    let options: usize = block
        .options
        .iter()
        .map(|option| match option {
            EnhancedPacketOption::Comment(text) => 4 + padded(text.len()),
            _ => 8,
        })
        .sum::<usize>()
        + 4;
    (12 + 20 + padded(block.data.len()) + options) as u64
}

/// An Interface Statistics Block's timestamp as pcap-file 2.0 wants it:
/// it writes the field as one `u64` in the file's byte order, where pcapng
/// has the high 32 bits first, then the low 32, each in that order. On a
/// little-endian file the halves are swapped to come out right.
fn statistics_timestamp(since_epoch: Duration) -> u64 {
    let nanos = since_epoch.as_nanos() as u64;
    if cfg!(target_endian = "little") {
        nanos.rotate_left(32)
    } else {
        nanos
    }
}

fn unix_nanos(time: SystemTime) -> Duration {
    time.duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Refuses to start on a disk without room for one file.
fn check_space(path: &Path, needed: u64) -> Result<(), CaptureError> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let Some(free) = free_bytes(directory) else {
        // Unknown (no such directory yet, say): creating the file says why.
        return Ok(());
    };
    if free < needed {
        return Err(CaptureError::NoSpace {
            path: directory.to_path_buf(),
            free,
            needed,
        });
    }
    Ok(())
}

fn free_bytes(directory: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(directory.as_os_str().as_bytes()).ok()?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `name` is a NUL-terminated path that outlives the call, and
    // `stats` is memory for one `statvfs`, which the call fills on success
    // (only then is it read).
    let status = unsafe { libc::statvfs(name.as_ptr(), stats.as_mut_ptr()) };
    if status != 0 {
        return None;
    }
    // SAFETY: the call succeeded, so it filled `stats`.
    let stats = unsafe { stats.assume_init() };
    #[allow(clippy::unnecessary_cast)] // the field widths differ by target
    Some(stats.f_bavail as u64 * stats.f_frsize as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcapng::{Block, PcapNgReader};

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hush-capture-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The packets of a file: (flags, comment, bytes).
    fn read(path: &Path) -> Vec<(u32, Option<String>, Vec<u8>)> {
        let mut reader = PcapNgReader::new(File::open(path).unwrap()).unwrap();
        let mut packets = Vec::new();
        while let Some(block) = reader.next_block() {
            if let Block::EnhancedPacket(packet) = block.unwrap() {
                let mut flags = 0;
                let mut comment = None;
                for option in &packet.options {
                    match option {
                        EnhancedPacketOption::Flags(f) => flags = *f,
                        EnhancedPacketOption::Comment(c) => comment = Some(c.to_string()),
                        _ => {}
                    }
                }
                packets.push((flags, comment, packet.data.to_vec()));
            }
        }
        packets
    }

    #[test]
    fn numbered_files_keep_their_extension() {
        let path = Path::new("/d/cap.pcapng");
        assert_eq!(numbered(path, 0), Path::new("/d/cap.pcapng"));
        assert_eq!(numbered(path, 2), Path::new("/d/cap.2.pcapng"));
        assert_eq!(numbered(Path::new("/d/cap"), 1), Path::new("/d/cap.1"));
    }

    #[test]
    fn packets_come_back_with_their_direction_and_comment() {
        let dir = temp_dir("roundtrip");
        let path = dir.join("cap.pcapng");
        let capture = Capture::default();
        capture
            .start(CaptureSpec::new(10_001, path.clone()))
            .unwrap();
        let sink = capture.sink().unwrap();
        let comment = Some("hush: blocked x (list:l)".to_string());
        sink.offer(Batch::of(&[
            (&[0x45, 1, 2, 3, 4], false, comment.as_deref()),
            (&[0x60, 5, 6], true, None),
        ]));
        assert!(dir.join("cap.pcapng.partial").exists());
        let summary = capture.stop().unwrap();
        assert_eq!((summary.packets, summary.dropped), (2, 0));
        assert_eq!(summary.files, vec![path.clone()]);
        assert!(!dir.join("cap.pcapng.partial").exists());
        assert!(!sink.is_open(), "a stopped capture still takes packets");
        let packets = read(&path);
        assert_eq!(
            packets,
            vec![
                (
                    OUTBOUND,
                    Some("hush: blocked x (list:l)".into()),
                    vec![0x45, 1, 2, 3, 4]
                ),
                (INBOUND, None, vec![0x60, 5, 6]),
            ]
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn files_rotate_within_their_size_and_count() {
        let dir = temp_dir("rotate");
        let path = dir.join("cap.pcapng");
        let capture = Capture::default();
        let spec = CaptureSpec {
            file_bytes: MIN_FILE_BYTES,
            files: 3,
            ..CaptureSpec::new(1, path.clone())
        };
        capture.start(spec).unwrap();
        let sink = capture.sink().unwrap();
        // 400 packets of 1,000 bytes: about six files' worth.
        for n in 0..400u32 {
            let mut packet = vec![0u8; 1000];
            packet[..4].copy_from_slice(&n.to_be_bytes());
            sink.offer(Batch::of(&[(&packet, false, None)]));
            if n % 50 == 0 {
                // Lets the writer keep up: the queue holds 4 MiB at most.
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let summary = capture.stop().unwrap();
        assert_eq!(summary.packets + summary.dropped, 400);
        let names: Vec<PathBuf> = (0..3).map(|n| numbered(&path, n)).collect();
        assert_eq!(summary.files, names);
        assert!(!numbered(&path, 3).exists(), "more files kept than asked");
        let mut numbers = Vec::new();
        for file in names.iter().rev() {
            assert!(
                fs::metadata(file).unwrap().len() <= MIN_FILE_BYTES,
                "{file:?}"
            );
            for (_, _, data) in read(file) {
                numbers.push(u32::from_be_bytes(data[..4].try_into().unwrap()));
            }
        }
        // Oldest file first: the newest packets, in order, the last one last.
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
        assert_eq!(numbers.last(), Some(&399));
        assert!(numbers.len() < 400, "nothing rotated out");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_packet_past_the_queue_bound_is_dropped_and_counted() {
        let dir = temp_dir("bound");
        let capture = Capture::default();
        capture
            .start(CaptureSpec::new(1, dir.join("cap.pcapng")))
            .unwrap();
        let sink = capture.sink().unwrap();
        // Of a batch, what fits is kept, in order; the rest is counted.
        let big = vec![0; QUEUE_BYTES];
        sink.offer(Batch::of(&[
            (&[0x45; 20], false, None),
            (&big, false, None),
            (&[0x45; 20], false, None),
        ]));
        let summary = capture.stop().unwrap();
        assert_eq!((summary.packets, summary.dropped), (1, 2));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_specs_and_paths_are_refused_and_leave_no_file() {
        let dir = temp_dir("refused");
        let capture = Capture::default();
        let path = dir.join("none").join("cap.pcapng");
        match capture.start(CaptureSpec::new(1, path.clone())) {
            Err(CaptureError::Create { path: named, .. }) => {
                assert_eq!(named, dir.join("none").join("cap.pcapng.partial"))
            }
            other => panic!("{other:?}"),
        }
        assert!(capture.status().is_none());
        let no_files = CaptureSpec {
            files: 0,
            ..CaptureSpec::new(1, dir.join("cap.pcapng"))
        };
        assert!(matches!(
            capture.start(no_files),
            Err(CaptureError::Invalid(_))
        ));
        let tiny = CaptureSpec {
            file_bytes: 100,
            ..CaptureSpec::new(1, dir.join("cap.pcapng"))
        };
        assert!(matches!(capture.start(tiny), Err(CaptureError::Invalid(_))));
        let huge = CaptureSpec {
            file_bytes: u64::MAX / 2,
            ..CaptureSpec::new(1, dir.join("cap.pcapng"))
        };
        let refused = capture.start(huge).unwrap_err();
        assert!(
            matches!(refused, CaptureError::NoSpace { .. }),
            "{refused:?}"
        );
        assert!(
            refused.to_string().contains("capture not started"),
            "{refused}"
        );
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_capture_with_a_duration_ends_by_itself_and_keeps_its_file() {
        let dir = temp_dir("duration");
        let path = dir.join("cap.pcapng");
        let capture = Capture::default();
        let spec = CaptureSpec {
            duration: Some(Duration::from_millis(50)),
            ..CaptureSpec::new(7, path.clone())
        };
        capture.start(spec).unwrap();
        let sink = capture.sink().unwrap();
        sink.offer(Batch::of(&[(&[0x45; 20], false, None)]));
        let deadline = Instant::now() + Duration::from_secs(5);
        while capture.status().is_some_and(|s| s.running) {
            assert!(Instant::now() < deadline, "the capture never ended");
            std::thread::sleep(Duration::from_millis(10));
        }
        // Too late: the capture is over.
        sink.offer(Batch::of(&[(&[0x45; 20], false, None)]));
        let summary = capture.stop().unwrap();
        assert_eq!(summary.packets, 1);
        assert_eq!(read(&path).len(), 1);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_earlier_captures_files_at_the_same_path_are_replaced() {
        let dir = temp_dir("earlier");
        let path = dir.join("cap.pcapng");
        for name in [
            "cap.pcapng",
            "cap.1.pcapng",
            "cap.2.pcapng",
            "cap.pcapng.partial",
        ] {
            fs::write(dir.join(name), b"earlier").unwrap();
        }
        fs::write(dir.join("other.pcapng"), b"not ours").unwrap();
        let capture = Capture::default();
        capture.start(CaptureSpec::new(1, path.clone())).unwrap();
        let summary = capture.stop().unwrap();
        assert_eq!(summary.files, vec![path.clone()]);
        assert!(!dir.join("cap.1.pcapng").exists() && !dir.join("cap.2.pcapng").exists());
        assert_ne!(fs::read(&path).unwrap(), b"earlier");
        assert_eq!(fs::read(dir.join("other.pcapng")).unwrap(), b"not ours");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_capture_ends_on_time_while_packets_keep_coming() {
        let dir = temp_dir("busy");
        let capture = Capture::default();
        let spec = CaptureSpec {
            duration: Some(Duration::from_millis(100)),
            ..CaptureSpec::new(7, dir.join("cap.pcapng"))
        };
        capture.start(spec).unwrap();
        let sink = capture.sink().unwrap();
        let started = Instant::now();
        while capture.status().is_some_and(|s| s.running) {
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "a busy capture never ended"
            );
            sink.offer(Batch::of(&[(&[0x45; 20], false, None)]));
            std::thread::sleep(Duration::from_millis(1));
        }
        let summary = capture.stop().unwrap();
        assert!(
            summary.packets > 0 && summary.error.is_none(),
            "{summary:?}"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn starting_again_ends_the_capture_under_way() {
        let dir = temp_dir("again");
        let capture = Capture::default();
        let before = capture.version();
        capture
            .start(CaptureSpec::new(1, dir.join("a.pcapng")))
            .unwrap();
        let first = capture.sink().unwrap();
        let previous = capture
            .start(CaptureSpec::new(2, dir.join("b.pcapng")))
            .unwrap();
        assert_eq!(
            previous.map(|p| p.uid),
            Some(1),
            "the first capture's summary"
        );
        assert!(!first.is_open());
        assert!(
            dir.join("a.pcapng").exists(),
            "the first capture's file was not finished"
        );
        assert_eq!(capture.status().map(|s| s.uid), Some(2));
        assert_ne!(capture.version(), before);
        capture.stop();
        assert!(capture.status().is_none());
        let _ = fs::remove_dir_all(&dir);
    }
}
