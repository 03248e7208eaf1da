//! Shared by the `queries` and `ingest` benches: a seeded generator of
//! realistic activity, and the cached ten-million-event database.
//!
//! The model: 200 apps (uids 10000..10199) whose activity follows a Zipf law
//! (s = 1), plus 2% of attempts whose owner is unknown; 5,000 hosts with a
//! Zipf popularity (s = 1), 35% of them on a blocklist. Each app talks to its
//! own set of hosts (600 for the busiest app down to 25 for the quietest,
//! drawn by popularity, so the big trackers are shared by most apps) and
//! picks among them by a Zipf law (s = 1.1). Per hour, activity follows the
//! day (a third as much at night). 60% DNS (A, AAAA, HTTPS), 35% TCP (SNI),
//! 5% QUIC; 0.5% of allowed attempts fail (timeout or unreachable).

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use hush_engine::{Event, Reason, Verdict};
use rusqlite::params;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// The generated log ends at 2025-02-01T00:00:00Z.
pub const END_MS: i64 = 1_738_368_000_000;
pub const APPS: usize = 200;
pub const FIRST_UID: u32 = 10_000;
pub const HOSTS: usize = 5_000;

/// SplitMix64: small, fast and seeded.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Draws ranks 0..n with probability proportional to 1 / (rank + 1)^s.
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|rank| {
                total += 1.0 / ((rank + 1) as f64).powf(s);
                total
            })
            .collect::<Vec<_>>();
        let cumulative = cumulative.into_iter().map(|c| c / total).collect();
        Zipf { cumulative }
    }
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cumulative
            .partition_point(|&c| c < u)
            .min(self.cumulative.len() - 1)
    }
}

pub struct HostInfo {
    pub name: String,
    /// The blocklist it is on, if any.
    pub list: Option<&'static str>,
    pub address: Ipv4Addr,
}

/// The 5,000 hosts, most popular first.
pub fn hosts() -> Vec<HostInfo> {
    const WORDS: [&str; 16] = [
        "api", "cdn", "metrics", "ads", "img", "static", "graph", "events", "push", "sync", "log",
        "track", "config", "media", "auth", "beacon",
    ];
    const SITES: [&str; 12] = [
        "google",
        "facebook",
        "xiaomi",
        "appsflyer",
        "adjust",
        "doubleclick",
        "branch",
        "onesignal",
        "unity3d",
        "amazon",
        "example",
        "tiktok",
    ];
    const TLDS: [&str; 5] = ["com", "net", "io", "co.uk", "com.br"];
    let mut rng = Rng::new(7);
    (0..HOSTS)
        .map(|rank| {
            let tracker = rng.below(100) < 35;
            let list = tracker.then(|| {
                if rng.below(10) < 7 {
                    "hush-default"
                } else {
                    "easyprivacy"
                }
            });
            HostInfo {
                name: format!(
                    "{}{}.{}.{}",
                    WORDS[rng.below(16) as usize],
                    rank,
                    SITES[rng.below(12) as usize],
                    TLDS[rng.below(5) as usize]
                ),
                list,
                address: Ipv4Addr::from(0x2D00_0000 + rank as u32 * 7),
            }
        })
        .collect()
}

/// One generated attempt, by index into the tables above.
#[derive(Clone, Copy)]
pub struct Sample {
    pub time_ms: i64,
    pub uid: Option<u32>,
    pub host: u16,
    /// 0 DNS A, 1 DNS AAAA, 2 DNS HTTPS, 3 TCP SNI, 4 QUIC.
    pub kind: u8,
    /// Whether an allowed attempt failed.
    pub failed: bool,
}

pub struct Generator {
    rng: Rng,
    apps: Zipf,
    app_hosts: Vec<(Vec<u16>, Zipf)>,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let popularity = Zipf::new(HOSTS, 1.0);
        let app_hosts = (0..APPS)
            .map(|app| {
                let size = (600.0 / ((app + 1) as f64).powf(0.6)).clamp(25.0, 600.0) as usize;
                let mut chosen = Vec::with_capacity(size);
                let mut seen = vec![false; HOSTS];
                while chosen.len() < size {
                    let host = popularity.sample(&mut rng);
                    if !std::mem::replace(&mut seen[host], true) {
                        chosen.push(host as u16);
                    }
                }
                (chosen, Zipf::new(size, 1.1))
            })
            .collect();
        Generator {
            rng,
            apps: Zipf::new(APPS, 1.0),
            app_hosts,
        }
    }

    pub fn sample(&mut self, time_ms: i64) -> Sample {
        let rng = &mut self.rng;
        let app = self.apps.sample(rng);
        let (hosts, zipf) = &self.app_hosts[app];
        let host = hosts[zipf.sample(rng)];
        let uid = (rng.below(100) >= 2).then_some(FIRST_UID + app as u32);
        let kind = match rng.below(100) {
            0..=39 => 0,
            40..=49 => 1,
            50..=59 => 2,
            60..=94 => 3,
            _ => 4,
        };
        let failed = rng.below(200) == 0;
        Sample {
            time_ms,
            uid,
            host,
            kind,
            failed,
        }
    }

    /// `count` samples in time order over `[start_ms, end_ms)`, more by day
    /// than by night (UTC+1 days), passed to `each` hour by hour.
    pub fn hours(
        &mut self,
        count: u64,
        start_ms: i64,
        end_ms: i64,
        mut each: impl FnMut(i64, &[Sample]),
    ) {
        let first = start_ms / HOUR_MS;
        let hours: Vec<i64> = (first..end_ms / HOUR_MS).collect();
        let weight = |hour: i64| match (hour + 1).rem_euclid(24) {
            0..=6 => 1.0,
            7..=17 => 3.0,
            _ => 3.5,
        };
        let total: f64 = hours.iter().map(|&h| weight(h)).sum();
        let mut given = 0u64;
        let mut batch = Vec::new();
        for (index, &hour) in hours.iter().enumerate() {
            let share = if index + 1 == hours.len() {
                count - given
            } else {
                (count as f64 * weight(hour) / total).round() as u64
            };
            given += share;
            batch.clear();
            let mut times: Vec<i64> = (0..share)
                .map(|_| hour * HOUR_MS + self.rng.below(HOUR_MS as u64) as i64)
                .collect();
            times.sort_unstable();
            for time in times {
                batch.push(self.sample(time));
            }
            each(hour, &batch);
        }
    }
}

pub struct Fields {
    pub protocol: &'static str,
    pub detail: &'static str,
    pub port: u16,
    pub verdict: Verdict,
    pub reason: Reason,
}

/// What the engine would have recorded for `sample`.
pub fn fields(sample: &Sample, host: &HostInfo) -> Fields {
    let (protocol, detail, port) = match sample.kind {
        0 => ("dns", "A", 53),
        1 => ("dns", "AAAA", 53),
        2 => ("dns", "HTTPS", 53),
        3 => ("tcp", "sni", 443),
        _ => ("udp", "quic", 443),
    };
    let (verdict, reason) = match (host.list, sample.failed) {
        (Some(list), _) => (Verdict::Blocked, Reason::Blocklist(list.into())),
        (None, true) if port == 53 => (Verdict::Failed, Reason::UpstreamTimeout),
        (None, true) => (Verdict::Failed, Reason::Unreachable),
        (None, false) => (Verdict::Allowed, Reason::Unlisted),
    };
    Fields {
        protocol,
        detail,
        port,
        verdict,
        reason,
    }
}

fn address(sample: &Sample, host: &HostInfo) -> IpAddr {
    if sample.kind <= 2 {
        IpAddr::V4(Ipv4Addr::new(10, 111, 222, 1))
    } else {
        IpAddr::V4(host.address)
    }
}

/// `sample` as the engine would hand it to an [`hush_engine::EventSink`].
pub fn event(sample: &Sample, host: &HostInfo) -> Event {
    let fields = fields(sample, host);
    Event {
        time: UNIX_EPOCH + Duration::from_millis(sample.time_ms as u64),
        uid: sample.uid,
        host: host.name.clone(),
        address: address(sample, host),
        port: fields.port,
        protocol: fields.protocol,
        detail: fields.detail.into(),
        verdict: fields.verdict,
        reason: fields.reason,
        screen_off: false,
    }
}

/// (uid or -1, host, action, reason): one `hourly` row of an hour.
type Key = (i64, u16, &'static str, String);

pub const BENCH_EVENTS: u64 = 10_000_000;
pub const BENCH_DAYS: i64 = 30;

/// The bench database: built once (about a minute or two) and kept under
/// /tmp; rebuilt if missing. The name carries the generator's version.
pub fn bench_database() -> PathBuf {
    let path = PathBuf::from("/tmp/hush-bench-10m-v5.db");
    if !path.exists() {
        let started = Instant::now();
        build(&path, BENCH_EVENTS, END_MS - BENCH_DAYS * DAY_MS, END_MS);
        eprintln!(
            "built {} in {:.1} s",
            path.display(),
            started.elapsed().as_secs_f64()
        );
    }
    path
}

/// Writes `count` events over `[start_ms, end_ms)` with their hourly
/// counts into a new database at `path` (built beside it, then renamed, so
/// a build cut short leaves nothing that looks finished).
pub fn build(path: &Path, count: u64, start_ms: i64, end_ms: i64) {
    let building = path.with_extension("building");
    for stale in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{stale}", building.display()));
    }
    let connection = hush_store::open(&building).unwrap();
    // Nothing to protect while building: no journal, no fsync, a big cache.
    connection
        .execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             PRAGMA cache_size = -1000000;",
        )
        .unwrap();
    let hosts = hosts();
    let mut generator = Generator::new(42);
    connection.execute_batch("BEGIN").unwrap();
    let mut in_transaction = 0u64;
    generator.hours(count, start_ms, end_ms, |hour, samples| {
        let tx = &connection;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events (time_ms, uid, host, ip, port, protocol, detail,
                                         action, reason)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .unwrap();
            let mut folded: HashMap<Key, (i64, i64, i64)> = HashMap::new();
            let mut ip = String::new();
            for sample in samples {
                let host = &hosts[sample.host as usize];
                let fields = fields(sample, host);
                let (action, reason) = (fields.verdict.as_str(), fields.reason.code());
                ip.clear();
                use std::fmt::Write;
                let _ = write!(ip, "{}", address(sample, host));
                insert
                    .execute(params![
                        sample.time_ms,
                        sample.uid,
                        host.name,
                        ip,
                        fields.port,
                        fields.protocol,
                        fields.detail,
                        action,
                        reason
                    ])
                    .unwrap();
                let key = (
                    sample.uid.map_or(-1, i64::from),
                    sample.host,
                    action,
                    reason,
                );
                let entry = folded
                    .entry(key)
                    .or_insert((0, sample.time_ms, sample.time_ms));
                entry.0 += 1;
                entry.1 = entry.1.min(sample.time_ms);
                entry.2 = entry.2.max(sample.time_ms);
            }
            let mut aggregate = tx
                .prepare_cached(
                    "INSERT INTO hourly (hour, uid, host, action, reason, count, first_ms,
                                         last_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .unwrap();
            for ((uid, host, action, reason), (count, first, last)) in folded {
                aggregate
                    .execute(params![
                        hour,
                        uid,
                        hosts[host as usize].name,
                        action,
                        reason,
                        count,
                        first,
                        last
                    ])
                    .unwrap();
            }
        }
        in_transaction += samples.len() as u64;
        if in_transaction >= 1_000_000 {
            tx.execute_batch("COMMIT; BEGIN").unwrap();
            in_transaction = 0;
        }
    });
    connection.execute_batch("COMMIT").unwrap();
    // The rollups, as the writer keeps them, in one pass each over `hourly`.
    connection
        .execute_batch(
            "INSERT INTO app_hourly (hour, uid, action, count, first_ms, last_ms)
                 SELECT hour, uid, action, sum(count), min(first_ms), max(last_ms)
                 FROM hourly GROUP BY 1, 2, 3;
             INSERT INTO host_daily (day, uid, host, action, reason, count, first_ms, last_ms)
                 SELECT hour / 24, uid, host, action, reason, sum(count), min(first_ms),
                        max(last_ms)
                 FROM hourly GROUP BY 1, 2, 3, 4, 5;
             INSERT INTO hosts (host, events) SELECT host, sum(count) FROM hourly GROUP BY host;
             UPDATE events SET rare = 1 WHERE host IN
                 (SELECT host FROM hosts WHERE events < 1000);
             PRAGMA journal_mode = WAL;",
        )
        .unwrap();
    drop(connection);
    std::fs::rename(&building, path).unwrap();
}
