//! What the fuzz targets share: a reader that takes control values off the
//! front of the fuzzer's input, and QUIC Initial packets built and
//! protected with rustls' keys.
//!
//! Control values come first and the payload (a packet, a stream, a
//! ClientHello) last, so seeds taken from captures stay readable and
//! libFuzzer's mutations of the payload keep the control values.

pub mod quic;

/// Reads control values off the front of the input; when it runs out, every
/// read gives zero and the payload is empty, so any input is usable.
pub struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { rest: data }
    }

    pub fn u8(&mut self) -> u8 {
        match self.rest.split_first() {
            Some((&first, rest)) => {
                self.rest = rest;
                first
            }
            None => 0,
        }
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    pub fn u64(&mut self) -> u64 {
        (u64::from(self.u32()) << 32) | u64::from(self.u32())
    }

    /// Up to `n` bytes.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (taken, rest) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = rest;
        taken
    }

    /// A chunk preceded by its 16-bit length.
    pub fn chunk(&mut self) -> &'a [u8] {
        let n = usize::from(self.u16());
        self.bytes(n)
    }

    /// A short string preceded by its 8-bit length, lossily decoded.
    pub fn string(&mut self) -> String {
        let n = usize::from(self.u8());
        String::from_utf8_lossy(self.bytes(n)).into_owned()
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Everything not read yet.
    pub fn rest(self) -> &'a [u8] {
        self.rest
    }
}

/// Writes the control values [`Input`] reads, for seed files.
#[derive(Default)]
pub struct Seed(pub Vec<u8>);

impl Seed {
    pub fn u8(&mut self, value: u8) -> &mut Self {
        self.0.push(value);
        self
    }

    pub fn u16(&mut self, value: u16) -> &mut Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub fn u32(&mut self, value: u32) -> &mut Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }

    /// A chunk as [`Input::chunk`] reads it (cut at 65,535 bytes).
    pub fn chunk(&mut self, bytes: &[u8]) -> &mut Self {
        let bytes = &bytes[..bytes.len().min(usize::from(u16::MAX))];
        self.u16(bytes.len() as u16).bytes(bytes)
    }

    /// A string as [`Input::string`] reads it (cut at 255 bytes).
    pub fn string(&mut self, text: &str) -> &mut Self {
        let bytes = &text.as_bytes()[..text.len().min(255)];
        self.u8(bytes.len() as u8).bytes(bytes)
    }
}

/// The cut points `cuts` (taken modulo `len + 1`), sorted, without repeats,
/// and ending with `len` itself.
pub fn cut_points(cuts: impl IntoIterator<Item = u16>, len: usize) -> Vec<usize> {
    let mut points: Vec<usize> = cuts
        .into_iter()
        .map(|cut| usize::from(cut) % (len + 1))
        .collect();
    points.push(len);
    points.sort_unstable();
    points.dedup();
    points
}
