//! Writes the seed corpora of the fuzz targets, in the input layout each
//! target reads, from the shared test data (captures and lists) and from
//! databases made here by hush-store.
//!
//! Usage: `hush-fuzz-seeds OUT_DIR` writes `OUT_DIR/<target>/<name>`.
//! Seeds are starting points only: run.sh merges them into the working
//! corpora, and what is committed is the minimised corpus.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;

use hush_packet::{parse, Checksums, Transport};

#[allow(dead_code)]
#[path = "../../src/lib.rs"]
mod fuzzlib;

use fuzzlib::quic::{open_initials, Opened};
use fuzzlib::Seed;

struct Out {
    root: PathBuf,
    written: BTreeMap<&'static str, usize>,
}

impl Out {
    fn put(&mut self, target: &'static str, name: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).expect("the seed directory");
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        fs::write(dir.join(name), bytes).expect("a seed written");
        *self.written.entry(target).or_default() += 1;
    }
}

/// A capture's IP packets, parsed without checksums (captures taken on the
/// sending host leave them to the NIC).
struct Capture {
    name: String,
    packets: Vec<Vec<u8>>,
}

fn captures() -> Vec<Capture> {
    hush_testdata::capture_files()
        .into_iter()
        .map(|file| Capture {
            packets: hush_testdata::read_capture(&file)
                .into_iter()
                .filter_map(|frame| frame.ip)
                .collect(),
            name: file.replace('/', "__"),
        })
        .collect()
}

/// Client-to-server payloads of each TCP flow to `port`, in sequence order.
fn tcp_streams(capture: &Capture, port: u16) -> Vec<Vec<u8>> {
    let mut flows: BTreeMap<(SocketAddr, SocketAddr), BTreeMap<u32, Vec<u8>>> = BTreeMap::new();
    for packet in &capture.packets {
        let Ok(view) = parse(packet, Checksums::Ignore) else {
            continue;
        };
        if let Transport::Tcp(segment) = view.transport {
            if segment.dst_port == port && !segment.payload.is_empty() {
                flows
                    .entry((
                        SocketAddr::new(view.ip.src, segment.src_port),
                        SocketAddr::new(view.ip.dst, segment.dst_port),
                    ))
                    .or_default()
                    .entry(segment.seq)
                    .or_insert_with(|| segment.payload.to_vec());
            }
        }
    }
    flows
        .into_values()
        .map(|segments| segments.into_values().flatten().take(8192).collect())
        .collect()
}

/// The first handshake message of a TLS stream, records joined.
fn first_handshake_message(stream: &[u8]) -> Option<Vec<u8>> {
    let mut joined = Vec::new();
    let mut rest = stream;
    while rest.len() >= 5 && rest[0] == 22 {
        let length = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        let fragment = rest.get(5..5 + length)?;
        joined.extend_from_slice(fragment);
        rest = &rest[5 + length..];
        if joined.len() >= 4 {
            let needed = 4
                + (usize::from(joined[1]) << 16
                    | usize::from(joined[2]) << 8
                    | usize::from(joined[3]));
            if joined.len() >= needed {
                joined.truncate(needed);
                return Some(joined);
            }
        }
    }
    None
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .expect("usage: hush-fuzz-seeds OUT_DIR");
    let mut out = Out {
        root,
        written: BTreeMap::new(),
    };
    let captures = captures();
    packets(&mut out, &captures);
    dns(&mut out, &captures);
    streams(&mut out, &captures);
    quic(&mut out, &captures);
    lists(&mut out);
    addresses(&mut out);
    api(&mut out);
    databases(&mut out);
    for (target, count) in &out.written {
        println!("{target}: {count} seeds");
    }
}

fn packets(out: &mut Out, captures: &[Capture]) {
    let mut seen = BTreeSet::new();
    for capture in captures {
        for (i, packet) in capture.packets.iter().take(24).enumerate() {
            // Hush's tun MTU: a longer seed only slows every mutation.
            if packet.len() <= 9000 && seen.insert(packet.clone()) {
                out.put("packet", &format!("{}-{i}", capture.name), packet);
            }
        }
    }
}

fn dns(out: &mut Out, captures: &[Capture]) {
    for capture in captures {
        let mut seed = Seed::default();
        seed.u8(0);
        let mut operations = 0;
        for packet in &capture.packets {
            let Ok(view) = parse(packet, Checksums::Ignore) else {
                continue;
            };
            let Transport::Udp(udp) = view.transport else {
                continue;
            };
            if udp.dst_port == 53 {
                let which = u8::from(view.is_ipv6());
                seed.u8(1).u8(which).u16(udp.src_port).chunk(udp.payload);
            } else if udp.src_port == 53 {
                seed.u8(2).u8(0).chunk(udp.payload);
            } else {
                continue;
            }
            operations += 1;
            if operations == 12 {
                break;
            }
        }
        if operations > 0 {
            seed.u8(4).u16(2000);
            out.put("dns_firewall", &capture.name, &seed.0);
        }
    }
}

fn streams(out: &mut Out, captures: &[Capture]) {
    let assets = hush_testdata::dir().join("tls-parser-assets");
    let mut tls = Vec::new();
    for name in ["client_hello_dhe.bin", "tls_record_ch_fragmented_1.bin"] {
        let mut stream = fs::read(assets.join(name)).expect("a tls-parser asset");
        if name.ends_with("_1.bin") {
            stream.extend(fs::read(assets.join("tls_record_ch_fragmented_2.bin")).expect("asset"));
        }
        tls.push((name.to_string(), stream));
    }
    for capture in captures {
        for (i, stream) in tcp_streams(capture, 443).into_iter().take(2).enumerate() {
            tls.push((format!("{}-{i}", capture.name), stream));
        }
        for (i, stream) in tcp_streams(capture, 80).into_iter().take(2).enumerate() {
            let mut seed = Seed::default();
            seed.u8(0).u8(3).u16(3).u16(40).u16(300).bytes(&stream);
            out.put("http_head", &format!("{}-{i}", capture.name), &seed.0);
            let mut seed = Seed::default();
            seed.u8(0).u8(2).u16(5).u16(90).u8(0).bytes(&stream);
            out.put("tls_stream", &format!("http-{}-{i}", capture.name), &seed.0);
        }
    }
    for (name, stream) in &tls {
        let mut seed = Seed::default();
        seed.u8(0).u8(3).u16(1).u16(5).u16(200).u8(0).bytes(stream);
        out.put("tls_stream", &format!("cut-{name}"), &seed.0);
        if let Some(message) = first_handshake_message(stream) {
            let mut seed = Seed::default();
            seed.u8(1)
                .u8(2)
                .u16(7)
                .u16(100)
                .u8(2)
                .u16(1)
                .u16(300)
                .bytes(&message[4..]);
            out.put("tls_stream", &format!("reframe-{name}"), &seed.0);
        }
    }
    for (name, headers) in [
        (
            "tracking.intl.miui.com",
            &b"User-Agent\nAccept\nContent-Length"[..],
        ),
        ("f-droid.org", b"Cookie"),
    ] {
        for (mode, fillers) in [(1u8, 3u8), (5, 120)] {
            let mut seed = Seed::default();
            seed.u8(mode)
                .u8(1)
                .u16(20)
                .u8(fillers)
                .u16(8080)
                .string(name)
                .bytes(headers);
            out.put("http_head", &format!("written-{name}-{fillers}"), &seed.0);
        }
    }
}

/// The CRYPTO frames of an opened Initial: (offset, data).
fn crypto_frames(frames: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut found = Vec::new();
    let mut at = 0;
    let varint = |at: &mut usize| -> Option<u64> {
        let first = *frames.get(*at)?;
        let len = 1usize << (first >> 6);
        let raw = frames.get(*at..*at + len)?;
        *at += len;
        Some(
            raw[1..]
                .iter()
                .fold(u64::from(first & 0x3f), |v, &b| v << 8 | u64::from(b)),
        )
    };
    while at < frames.len() {
        let Some(kind) = varint(&mut at) else { break };
        match kind {
            0 | 1 => {}
            2 | 3 => {
                let (Some(_), Some(_), Some(ranges)) =
                    (varint(&mut at), varint(&mut at), varint(&mut at))
                else {
                    break;
                };
                for _ in 0..(1 + 2 * ranges + if kind == 3 { 3 } else { 0 }) {
                    varint(&mut at);
                }
            }
            6 => {
                let (Some(offset), Some(length)) = (varint(&mut at), varint(&mut at)) else {
                    break;
                };
                let end = at + length as usize;
                let Some(data) = frames.get(at..end) else {
                    break;
                };
                found.push((offset as usize, data.to_vec()));
                at = end;
            }
            _ => break,
        }
    }
    found
}

fn quic(out: &mut Out, captures: &[Capture]) {
    for capture in captures.iter().filter(|c| c.name.contains("quic")) {
        let mut keys = None;
        let mut opened: Vec<Opened> = Vec::new();
        for packet in &capture.packets {
            let Ok(view) = parse(packet, Checksums::Ignore) else {
                continue;
            };
            if let Transport::Udp(udp) = view.transport {
                if udp.dst_port == 443 {
                    opened.extend(open_initials(udp.payload, &mut keys));
                }
            }
        }
        let opened: Vec<Opened> = opened.into_iter().take(8).collect();
        let Some(first) = opened.first() else {
            eprintln!("{}: no client Initial opened", capture.name);
            continue;
        };
        let header = |seed: &mut Seed, mode: u8| {
            seed.u8(u8::from(first.v2) | mode)
                .u8(first.dcid.len() as u8)
                .bytes(&first.dcid)
                .u8(first.scid.len() as u8)
                .bytes(&first.scid)
                .u8(first.token.len().min(63) as u8)
                .bytes(&first.token[..first.token.len().min(63)])
                .u8(first.pn_len as u8 - 1)
                .u32(first.packet_number as u32)
                .u8(opened.len() as u8 - 1);
        };
        // Mode 0: the frames as sent, packet by packet.
        let mut seed = Seed::default();
        header(&mut seed, 0);
        let mut split = 0usize;
        for (i, packet) in opened.iter().enumerate() {
            split += packet.frames.len();
            let step = opened.get(i + 1).map_or(0, |next| {
                next.packet_number.saturating_sub(packet.packet_number + 1)
            });
            seed.u16(split.min(usize::from(u16::MAX)) as u16)
                .u8(step as u8);
        }
        for packet in &opened {
            seed.bytes(&packet.frames);
        }
        out.put("quic_initial", &format!("frames-{}", capture.name), &seed.0);

        // Mode 1: the ClientHello, in the CRYPTO frames the client used.
        let frames: Vec<(usize, Vec<u8>)> = opened
            .iter()
            .flat_map(|p| crypto_frames(&p.frames))
            .collect();
        let mut stream = Vec::new();
        for (offset, data) in &frames {
            if stream.len() < offset + data.len() {
                stream.resize(offset + data.len(), 0);
            }
            stream[*offset..offset + data.len()].copy_from_slice(data);
        }
        if stream.len() < 4 {
            continue;
        }
        let needed = 4
            + (usize::from(stream[1]) << 16 | usize::from(stream[2]) << 8 | usize::from(stream[3]));
        stream.truncate(needed);
        let mut seed = Seed::default();
        header(&mut seed, 2);
        for _ in &opened {
            seed.u16(0).u8(0);
        }
        seed.u8(frames.len().min(31) as u8);
        for (offset, data) in frames.iter().take(31) {
            seed.u16(*offset as u16).u16(data.len() as u16);
        }
        seed.bytes(&stream[4..]);
        out.put("quic_initial", &format!("hello-{}", capture.name), &seed.0);
    }
}

fn lists(out: &mut Out) {
    let dir = hush_testdata::dir();
    let mut texts: Vec<(String, Vec<u8>)> = Vec::new();
    for file in [
        "adaway/hosts.txt",
        "hagezi/native.samsung.wildcard.txt",
        "hagezi/native.xiaomi.adblock.txt",
        "hagezi/native.xiaomi.domains.txt",
        "hagezi-2022-snapshot/adblock_doh-vpn-proxy-bypass.txt",
        "hagezi-2022-snapshot/wildcard_doh-vpn-proxy-bypass.txt",
        "psl/public_suffix_list.dat",
    ] {
        texts.push((file.to_string(), fs::read(dir.join(file)).expect("a list")));
    }
    texts.push((
        "default".into(),
        hush_rules::DEFAULT_LIST.as_bytes().to_vec(),
    ));
    texts.push((
        "dnsmasq".into(),
        b"address=/ads.example/0.0.0.0\nserver=/t.example/\nlocal=/x.example/\n\
          address=/a.example/b.example/#\nserver=/fwd.example/1.1.1.1\n[Adblock Plus 2.0]\n\
          @@||ok.example^\n||bad.example^$important\n##.banner\n\xef\xbb\xbf*.w.example\r\n"
            .to_vec(),
    ));
    for (name, text) in &texts {
        for (part, start) in [(0, 0), (1, text.len() / 2)] {
            let start = text[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(0, |n| start + n + 1);
            let end = (start + 2048).min(text.len());
            out.put("list_parse", &format!("{name}-{part}"), &text[start..end]);
        }
        // The same names for the model target, in every format.
        let names: Vec<String> = String::from_utf8_lossy(text)
            .lines()
            .flat_map(|line| line.split(|c: char| c.is_whitespace() || "|^/*".contains(c)))
            .filter_map(|token| hush_rules::normalize_domain(token).ok())
            .take(24)
            .collect();
        let mut seed = Seed::default();
        for (i, name) in names.iter().enumerate() {
            seed.u8((i as u8).wrapping_mul(37)).string(name);
        }
        if !names.is_empty() {
            out.put("list_match", name, &seed.0);
        }
    }
    let mut seed = Seed::default();
    for (format, name) in [
        (0u8, "Bücher.example"),
        (7, "ok.example"),
        (2, "x.ok.example"),
        (1, "localhost"),
        (0, "a..b"),
    ] {
        seed.u8(format).string(name);
    }
    out.put("list_match", "idn-and-exceptions", &seed.0);
}

fn addresses(out: &mut Out) {
    let mut seed = Seed::default();
    seed.u8(0x02).bytes(&[198, 51, 100, 7]).u8(24);
    seed.u8(0x10).bytes(&[198, 51, 100, 9]).u8(0);
    seed.u8(0x23)
        .bytes(&[0x20, 0x01, 0x0d, 0xb8])
        .bytes(&[0; 12])
        .u8(32);
    seed.u8(0x36).bytes(&[10, 0, 0, 1]).u8(8);
    seed.u8(0x0a).bytes(&[0, 0, 0, 0]).u8(0);
    seed.u8(0x13).bytes(&[0; 16]).u8(0);
    out.put("address_list", "mixed", &seed.0);
    out.put(
        "list_parse",
        "addresses",
        b"192.0.2.7\n198.51.100.0/24 # doc\n2001:db8::/32\n::ffff:10.0.0.0/104\n10.0.0.1/8\n\
          1.2.3.4/+8\n::/0\n0.0.0.0/0\nnot an address\n",
    );
}

fn api(out: &mut Out) {
    let mut seed = Seed::default();
    seed.u8(0).chunk(br#"{"databasePath": "/d/h.db", "upstreamDns": "9.9.9.9:53", "blockLists": ["/l"], "ownAddresses": ["10.111.222.1"], "blockAnswer": "zero"}"#);
    seed.u8(0).chunk(br#"{"databasePath": "/d/h.db", "upstream": {"url": "https://dns.example/dns-query", "addresses": ["198.18.0.1"]}}"#);
    seed.u8(1).string("[fd00::53]:53");
    seed.u8(2).string("  stopped by owner ");
    seed.u8(3).string("block-all").u8(2).u16(10);
    out.put("api_json", "pure", &seed.0);

    let mut seed = Seed::default();
    seed.u8(4)
        .chunk(br#"{"uid": 10001, "action": "blocked", "hostContains": "MIUI", "limit": 5}"#);
    seed.u8(5).chunk(
        br#"[{"uid": 10123, "label": "Mail", "packages": ["org.example.mail"], "system": false}]"#,
    );
    seed.u8(6)
        .chunk(br#"[{"uid": 10123, "package": "org.example.mail"}]"#);
    seed.u8(7)
        .u8(2)
        .u16(1)
        .string("Tracker.Example.")
        .string("block");
    seed.u8(8).u8(2).u16(2).string("wifi").string("block-all");
    out.put("api_json", "rules", &seed.0);

    let mut seed = Seed::default();
    seed.u8(9)
        .u8(2)
        .u16(1)
        .u8(3)
        .u32(0)
        .u8(3)
        .u32(100_000)
        .u16(10)
        .u16(0);
    seed.u8(10).string("example").u16(10).u16(0);
    seed.u8(11).u8(1).u8(30).u8(2).u16(500);
    seed.u8(12).u8(0).u16(10);
    seed.u8(13)
        .u8(3)
        .u32(0)
        .u8(3)
        .u32(100_000)
        .u8(0)
        .u16(5)
        .u16(60);
    seed.u8(14).string("csv").u8(0).u8(0);
    seed.u8(14).string("json").u8(0).u8(0);
    seed.u8(19);
    out.put("api_json", "queries", &seed.0);
}

fn databases(out: &mut Out) {
    let dir = std::env::temp_dir().join(format!("hush-fuzz-seeds-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("a scratch directory");
    let make = |name: &str, fill: &dyn Fn(&hush_store::Connection)| -> Vec<u8> {
        let path = dir.join(format!("{name}.db"));
        let connection = hush_store::open(&path).expect("a fresh database");
        fill(&connection);
        // Small pages make a small seed: the file is mostly empty pages.
        connection
            .execute_batch("PRAGMA journal_mode = DELETE; PRAGMA page_size = 512; VACUUM;")
            .expect("vacuumed");
        drop(connection);
        fs::read(&path).expect("the database read")
    };
    let fresh = make("fresh", &|_| {});
    let with_rules = make("rules", &|c| {
        use hush_store::rules::{self, AppMode, DomainAction, Network};
        rules::set_app_mode(c, 10_123, Network::Wifi, AppMode::BlockAll).unwrap();
        rules::add_domain_rule(c, None, "tracker.example", DomainAction::Block).unwrap();
        rules::add_domain_rule(c, Some(10_123), "f-droid.org", DomainAction::Allow).unwrap();
        rules::set_setting(c, "theme", "dark").unwrap();
    });
    let foreign = {
        let path = dir.join("foreign.db");
        let c = hush_store::Connection::open(&path).unwrap();
        c.execute_batch(
            "PRAGMA page_size = 512; CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);
             INSERT INTO notes (text) VALUES ('hello');",
        )
        .unwrap();
        drop(c);
        fs::read(&path).unwrap()
    };
    let mut negative = fresh.clone();
    negative[60..64].copy_from_slice(&(-3i32).to_be_bytes());
    let mut too_new = fresh.clone();
    too_new[60..64].copy_from_slice(&1000i32.to_be_bytes());
    for (name, file) in [
        ("fresh", &fresh),
        ("rules", &with_rules),
        ("foreign", &foreign),
        ("negative-version", &negative),
        ("too-new", &too_new),
        ("empty", &Vec::new()),
        ("text", &b"not a database at all\n".to_vec()),
    ] {
        let mut seed = Seed::default();
        seed.u8(0).u16(0).bytes(file);
        out.put("store_open", name, &seed.0);
    }
    let _ = fs::remove_dir_all(&dir);
}
