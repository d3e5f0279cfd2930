//! The wire transcript of one case: every byte both ways, timestamped, with decoded frames.
//!
//! It is evidence for reports, and it is bounded: a 16 MiB echo or a peer that floods must
//! not turn a report into gigabytes. Past the bounds, entries keep their lengths and the
//! transcript says what it left out.

use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Bytes kept from one chunk of data.
pub const CHUNK_KEEP: usize = 2048;
/// Bytes of data kept over the whole transcript.
pub const TOTAL_KEEP: usize = 64 * 1024;
/// Entries kept over the whole transcript.
pub const ENTRIES_KEEP: usize = 2000;
/// Data bytes kept of a case that passed: its evidence matters less, and a thousand full
/// transcripts would make results.json over a hundred megabytes.
pub const PASS_KEEP: usize = 4096;
/// Entries kept of a case that passed.
pub const PASS_ENTRIES_KEEP: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From wsspec to the peer.
    Out,
    /// From the peer to wsspec.
    In,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Entry {
    /// Raw bytes as written or read. `hex` holds at most the first CHUNK_KEEP bytes.
    Bytes {
        t_us: u64,
        dir: Direction,
        len: usize,
        hex: String,
        truncated: bool,
    },
    /// One decoded frame.
    Frame {
        t_us: u64,
        dir: Direction,
        fin: bool,
        rsv: u8,
        opcode: u8,
        masked: bool,
        len: u64,
        /// The start of the payload, lossy UTF-8 for text/close, hex otherwise.
        preview: String,
    },
    /// Something wsspec did or decided (a timeout, a pause, a verdict).
    Note { t_us: u64, text: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transcript {
    pub entries: Vec<Entry>,
    /// Entries not kept because the transcript was full.
    pub dropped_entries: u64,
    /// Data bytes not kept (lengths are still recorded).
    pub dropped_bytes: u64,
    #[serde(skip, default = "Instant::now")]
    start: Instant,
    #[serde(skip)]
    kept_bytes: usize,
    /// Entries this transcript may hold: [`ENTRIES_KEEP`], or 0 for one that only counts.
    #[serde(skip, default = "entries_keep")]
    capacity: usize,
}

fn entries_keep() -> usize {
    ENTRIES_KEEP
}

impl Default for Transcript {
    fn default() -> Self {
        Transcript::new(Instant::now())
    }
}

impl Transcript {
    pub fn new(start: Instant) -> Self {
        Transcript {
            entries: Vec::new(),
            dropped_entries: 0,
            dropped_bytes: 0,
            start,
            kept_bytes: 0,
            capacity: ENTRIES_KEEP,
        }
    }

    /// A transcript that keeps no entry, only counts what it would have kept (as dropped
    /// entries and bytes): for runs whose results nobody reads as evidence (the network
    /// fuzzer's sequences), where formatting every chunk as hex and every frame's preview
    /// cost a tenth of the run.
    pub fn counting(start: Instant) -> Self {
        Transcript {
            capacity: 0,
            ..Transcript::new(start)
        }
    }

    /// Whether the next entry would be dropped: callers skip building it.
    pub fn is_full(&self) -> bool {
        self.entries.len() >= self.capacity
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// Microseconds since the case started, on the transcript's clock (the TCP view of the
    /// closing is stamped with it, so its times line up with the entries).
    pub fn now_us(&self) -> u64 {
        self.now()
    }

    fn push(&mut self, e: Entry) {
        if !self.is_full() {
            self.entries.push(e);
        } else {
            self.dropped_entries += 1;
        }
    }

    pub fn bytes(&mut self, dir: Direction, data: &[u8]) {
        if self.is_full() {
            // Not kept: skip the hex, which costs more than the entry.
            self.dropped_entries += 1;
            self.dropped_bytes += data.len() as u64;
            return;
        }
        let room = TOTAL_KEEP.saturating_sub(self.kept_bytes);
        let keep = data.len().min(CHUNK_KEEP).min(room);
        self.kept_bytes += keep;
        self.dropped_bytes += (data.len() - keep) as u64;
        let t_us = self.now();
        self.push(Entry::Bytes {
            t_us,
            dir,
            len: data.len(),
            hex: crate::text::hex(&data[..keep]),
            truncated: keep < data.len(),
        });
    }

    pub fn frame(&mut self, dir: Direction, f: &crate::codec::Frame) {
        self.frame_of_len(dir, f, f.payload.len() as u64);
    }

    /// A frame whose payload is `len` bytes of which `f` holds only the start (or none): a
    /// streamed frame, recorded when its header passes.
    pub fn frame_of_len(&mut self, dir: Direction, f: &crate::codec::Frame, len: u64) {
        if self.is_full() {
            // Not kept: skip the preview's formatting, which costs more than the frame.
            self.dropped_entries += 1;
            return;
        }
        let t_us = self.now();
        let shown = &f.payload[..f.payload.len().min(64)];
        let preview = match f.opcode {
            1 => crate::text::bounded_lossy(shown, 64),
            8 if f.payload.len() >= 2 => format!(
                "code {} {}",
                u16::from_be_bytes([f.payload[0], f.payload[1]]),
                crate::text::bounded_lossy(&shown[2..], 62)
            ),
            _ => crate::text::hex(shown),
        };
        self.push(Entry::Frame {
            t_us,
            dir,
            fin: f.fin,
            rsv: (f.rsv1 as u8) << 2 | (f.rsv2 as u8) << 1 | f.rsv3 as u8,
            opcode: f.opcode,
            masked: f.mask.is_some(),
            len,
            preview,
        });
    }

    /// Cuts the transcript down to `max_bytes` of data and `max_entries` entries, keeping
    /// the beginning and recording what was dropped.
    pub fn shrink(&mut self, max_bytes: usize, max_entries: usize) {
        if self.entries.len() > max_entries {
            self.dropped_entries += (self.entries.len() - max_entries) as u64;
            self.entries.truncate(max_entries);
        }
        let mut budget = max_bytes;
        for e in &mut self.entries {
            if let Entry::Bytes { hex, truncated, .. } = e {
                let have = hex.len() / 2;
                let keep = have.min(budget);
                if keep < have {
                    hex.truncate(keep * 2);
                    *truncated = true;
                    self.dropped_bytes += (have - keep) as u64;
                }
                budget -= keep;
            }
        }
        self.kept_bytes = self.kept_bytes.min(max_bytes);
    }

    pub fn note(&mut self, text: impl Into<String>) {
        let t_us = self.now();
        self.push(Entry::Note {
            t_us,
            text: text.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_keeps_the_beginning_and_counts_the_rest() {
        let mut t = Transcript::default();
        t.bytes(Direction::Out, &[1u8; 1000]);
        t.bytes(Direction::In, &[2u8; 1000]);
        t.note("n");
        t.shrink(1500, 10);
        let kept: Vec<usize> = t
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Bytes { hex, .. } => Some(hex.len() / 2),
                _ => None,
            })
            .collect();
        assert_eq!(kept, vec![1000, 500]);
        assert_eq!(t.dropped_bytes, 500);
        t.shrink(0, 1);
        assert_eq!(t.entries.len(), 1);
        assert_eq!(t.dropped_entries, 2);
    }

    #[test]
    fn a_counting_transcript_keeps_nothing_and_counts_everything() {
        let mut t = Transcript::counting(Instant::now());
        t.bytes(Direction::Out, &[1u8; 300]);
        t.bytes(Direction::In, &[2u8; 5]);
        t.frame(Direction::In, &crate::codec::Frame::new(1, b"hi".to_vec()));
        t.note("n");
        assert!(t.entries.is_empty());
        assert_eq!(t.dropped_entries, 4);
        assert_eq!(t.dropped_bytes, 305);
    }

    #[test]
    fn bytes_past_the_entry_bound_are_counted_as_dropped() {
        let mut t = Transcript::default();
        for _ in 0..ENTRIES_KEEP {
            t.note("x");
        }
        t.bytes(Direction::In, &[0u8; 10]);
        assert_eq!(t.entries.len(), ENTRIES_KEEP);
        assert_eq!((t.dropped_entries, t.dropped_bytes), (1, 10));
    }

    #[test]
    fn data_is_bounded() {
        let mut t = Transcript::default();
        let big = vec![0xabu8; 1 << 20];
        for _ in 0..100 {
            t.bytes(Direction::In, &big);
        }
        let kept: usize = t
            .entries
            .iter()
            .map(|e| match e {
                Entry::Bytes { hex, .. } => hex.len() / 2,
                _ => 0,
            })
            .sum();
        assert!(kept <= TOTAL_KEEP);
        assert_eq!(t.dropped_bytes as usize, 100 * (1 << 20) - kept);
        for _ in 0..(ENTRIES_KEEP + 10) {
            t.note("x");
        }
        assert_eq!(t.entries.len(), ENTRIES_KEEP);
        assert!(t.dropped_entries >= 10);
    }
}
