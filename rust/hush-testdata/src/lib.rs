//! Test support: finds the shared test data (real captures and blocklists)
//! and reads pcap files down to the raw IP packets a tun would deliver.
//!
//! Only ever a dev-dependency. It panics with a clear message when the data is
//! missing, because a test that silently skips proves nothing.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::DataLink;

/// The shared test-data directory: `$HUSH_TESTDATA`, else `../shared/testdata`
/// beside the workspace, else `/work/shared/testdata`.
pub fn dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let candidates = std::env::var_os("HUSH_TESTDATA")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            workspace.join("../shared/testdata"),
            PathBuf::from("/work/shared/testdata"),
        ]);
    for candidate in candidates {
        if candidate.join("pcaps/expected_names.tsv").is_file() {
            return candidate;
        }
    }
    panic!(
        "shared test data not found: set HUSH_TESTDATA to the directory holding \
         pcaps/expected_names.tsv (usually ../shared/testdata beside the checkout)"
    );
}

/// One row of `pcaps/expected_names.tsv`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExpectedName {
    pub file: String,
    pub frame: usize,
    pub kind: String,
    pub value: String,
}

/// The ground truth tshark extracted, optionally only rows of one kind.
pub fn expected_names(kind: &str) -> Vec<ExpectedName> {
    let text = std::fs::read_to_string(dir().join("pcaps/expected_names.tsv"))
        .expect("failed to read expected_names.tsv");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let row = ExpectedName {
                file: cols.next()?.to_string(),
                frame: cols.next()?.parse().ok()?,
                kind: cols.next()?.to_string(),
                value: cols.next()?.to_string(),
            };
            (row.kind == kind).then_some(row)
        })
        .collect()
}

/// Every capture under `pcaps/`, as paths relative to it, sorted.
pub fn capture_files() -> Vec<String> {
    let root = dir().join("pcaps");
    let mut files = Vec::new();
    for sub in std::fs::read_dir(&root).expect("failed to list pcaps/") {
        let sub = sub.expect("failed to list pcaps/").path();
        if !sub.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&sub).expect("failed to list a capture directory") {
            let path = file.expect("failed to list a capture directory").path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if name.ends_with(".pcap") || name.ends_with(".pcap.gz") {
                let relative = path.strip_prefix(&root).unwrap_or(&path);
                files.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    files
}

/// A frame of a capture: its 1-based number (as tshark counts) and its IP
/// packet, or `None` when the frame carries no IP (ARP, say).
pub struct Frame {
    pub number: usize,
    pub ip: Option<Vec<u8>>,
}

/// Reads a capture (pcap or pcapng, gzipped or not) and strips each frame's
/// link layer.
pub fn read_capture(relative: &str) -> Vec<Frame> {
    let path = dir().join("pcaps").join(relative);
    let mut bytes = Vec::new();
    let file =
        File::open(&path).unwrap_or_else(|e| panic!("failed to open {}: {e}", path.display()));
    let mut input: Box<dyn Read> = if relative.ends_with(".gz") {
        Box::new(flate2::read::GzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    input
        .read_to_end(&mut bytes)
        .unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()));
    let packets = if bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        read_pcapng(&bytes)
    } else {
        read_pcap(&bytes)
    }
    .unwrap_or_else(|e| panic!("failed to parse {}: {e}", path.display()));
    packets
        .into_iter()
        .enumerate()
        .map(|(i, (link, data))| Frame {
            number: i + 1,
            ip: strip_link_layer(link, &data).map(<[u8]>::to_vec),
        })
        .collect()
}

type LinkFrames = Vec<(DataLink, Vec<u8>)>;

fn read_pcap(bytes: &[u8]) -> Result<LinkFrames, pcap_file::PcapError> {
    let mut reader = PcapReader::new(bytes)?;
    let link = reader.header().datalink;
    let mut frames = Vec::new();
    while let Some(packet) = reader.next_packet() {
        frames.push((link, packet?.data.into_owned()));
    }
    Ok(frames)
}

fn read_pcapng(bytes: &[u8]) -> Result<LinkFrames, pcap_file::PcapError> {
    let mut reader = PcapNgReader::new(bytes)?;
    let mut links = Vec::new();
    let mut frames = Vec::new();
    while let Some(block) = reader.next_block() {
        match block? {
            Block::InterfaceDescription(interface) => links.push(interface.linktype),
            Block::EnhancedPacket(packet) => {
                let link = links.get(packet.interface_id as usize).copied();
                frames.push((link.unwrap_or(DataLink::RAW), packet.data.into_owned()));
            }
            Block::SimplePacket(packet) => {
                let link = links.first().copied().unwrap_or(DataLink::RAW);
                frames.push((link, packet.data.into_owned()));
            }
            _ => {}
        }
    }
    Ok(frames)
}

fn strip_link_layer(link: DataLink, data: &[u8]) -> Option<&[u8]> {
    match link {
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => Some(data),
        // BSD loopback: a 4-byte address family in host order.
        DataLink::NULL | DataLink::LOOP => data.get(4..),
        DataLink::ETHERNET => {
            let mut offset = 12;
            loop {
                let ether_type = u16::from_be_bytes([*data.get(offset)?, *data.get(offset + 1)?]);
                match ether_type {
                    0x8100 | 0x88a8 | 0x9100 => offset += 4,
                    0x0800 | 0x86dd => return data.get(offset + 2..),
                    _ => return None,
                }
            }
        }
        other => panic!("capture link type {other:?} is not handled by the test reader"),
    }
}
