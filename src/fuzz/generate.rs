//! Structure-aware generation: valid frame and message sequences, then protocol-aware
//! mutations of them, as case steps.
//!
//! Everything is drawn from [`Rng`], seeded per iteration from (run seed, iteration index),
//! so an iteration's sequence depends on nothing else: not on `--jobs`, not on timing, not
//! on what other iterations found.

use super::oracle;
use super::{Action, Sequence};
use crate::case::{
    Fragmenting, FrameSpec, HandshakeSpec, LengthSpec, MaskSpec, MessageSpec, Payload, Send,
    WriteOpts,
};
use crate::codec::OpCode;

/// Longest sequence generated (send steps, before the oracle adds its own).
pub(crate) const MAX_ACTIONS: usize = 8;

/// SplitMix64: small, fast, and stable across versions, so a seed names the same run on
/// every machine and in every release.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The generator of one iteration: a function of the run seed and the index only.
    pub fn for_iteration(seed: u64, iteration: u64) -> Rng {
        let mut base = Rng::new(seed);
        let a = base.next_u64();
        let mut mixed = Rng::new(a ^ iteration.wrapping_mul(0xD1B5_4A32_D192_ED03));
        Rng::new(mixed.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), without modulo bias worth mentioning.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    fn key(&mut self) -> [u8; 4] {
        (self.next_u64() as u32).to_be_bytes()
    }
}

/// The sequence of iteration `iteration` of a run seeded with `seed`. The oracle can always
/// say what a correct server does with it: draws it cannot judge are drawn again (from the
/// same generator, so this stays deterministic).
pub fn generate(seed: u64, iteration: u64) -> Sequence {
    generate_planned(seed, iteration).0
}

/// [`generate`], with the oracle's plan of the sequence: drawing computes it anyway, and
/// the fuzzing loop would otherwise compute it a second time.
pub(crate) fn generate_planned(
    seed: u64,
    iteration: u64,
) -> (Sequence, Result<oracle::Plan, oracle::Uncertain>) {
    let mut rng = Rng::for_iteration(seed, iteration);
    for _ in 0..16 {
        let seq = draw(&mut rng);
        if let Ok(plan) = oracle::plan(&seq) {
            return (seq, Ok(plan));
        }
    }
    let seq = valid(&mut rng);
    let plan = oracle::plan(&seq);
    (seq, plan)
}

/// A sequence with no mutation at all: messages, fragmented messages, pings and pongs that
/// a correct server echoes and answers.
pub fn valid(rng: &mut Rng) -> Sequence {
    let n = rng.range(1, 6);
    let mut seq = Sequence {
        handshake: None,
        actions: valid_actions(rng, n),
    };
    seq.normalize();
    seq
}

fn draw(rng: &mut Rng) -> Sequence {
    if rng.chance(6) {
        return handshake_sequence(rng);
    }
    let n = rng.range(1, 6);
    let mut actions = valid_actions(rng, n);
    if rng.chance(70) {
        let count = if rng.chance(75) { 1 } else { 2 };
        for _ in 0..count {
            mutate(rng, &mut actions);
        }
    }
    let mut seq = Sequence {
        handshake: None,
        actions,
    };
    pin_masks(rng, &mut seq);
    seq.normalize();
    seq
}

pub(crate) fn action(send: Send) -> Action {
    Action {
        send,
        opts: WriteOpts {
            flush: true,
            ..Default::default()
        },
    }
}

pub(crate) fn frame(opcode: u8, fin: bool, payload: Vec<u8>) -> FrameSpec {
    FrameSpec {
        opcode,
        fin,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        mask: MaskSpec::Auto,
        length_form: LengthSpec::Minimal,
        declared_len: None,
        payload: Payload::Bytes(payload),
    }
}

fn data_len(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=39 => rng.range(0, 16),
        40..=69 => rng.range(17, 125),
        70..=84 => rng.range(126, 300),
        85..=96 => rng.range(301, 1000),
        _ => *rng.pick(&[125, 126, 127, 1023, 1024]),
    }
}

fn control_len(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=44 => rng.range(0, 16),
        45..=89 => rng.range(17, 125),
        _ => *rng.pick(&[0, 1, 124, 125]),
    }
}

/// Valid UTF-8 of exactly `len` bytes, mostly ASCII with code points of every length.
pub fn text(rng: &mut Rng, len: usize) -> Vec<u8> {
    const WIDE: &[char] = &[
        'é',
        'κ',
        'ό',
        '€',
        '\u{800}',
        '\u{FFFD}',
        '\u{FEFF}',
        '😀',
        '\u{10FFFF}',
        '\u{7F}',
        '\0',
    ];
    let mut s = String::with_capacity(len);
    while s.len() < len {
        let c = if rng.chance(80) {
            *rng.pick(&[
                'a', 'b', 'c', 'e', 'f', 'h', 'l', 'o', 'r', 's', 't', 'w', ' ', '1', '.',
            ])
        } else {
            *rng.pick(WIDE)
        };
        if s.len() + c.len_utf8() > len {
            s.push('x');
        } else {
            s.push(c);
        }
    }
    s.into_bytes()
}

fn data_payload(rng: &mut Rng, opcode: u8) -> Vec<u8> {
    let len = data_len(rng);
    if opcode == OpCode::TEXT.0 {
        text(rng, len)
    } else {
        rng.bytes(len)
    }
}

fn control_payload(rng: &mut Rng) -> Vec<u8> {
    let len = control_len(rng);
    if rng.chance(50) {
        text(rng, len)
    } else {
        rng.bytes(len)
    }
}

/// Cut points splitting `len` bytes into `pieces` fragments (empty ones allowed).
fn split_sizes(rng: &mut Rng, len: usize, pieces: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = (1..pieces).map(|_| rng.range(0, len)).collect();
    cuts.sort_unstable();
    let mut sizes = Vec::with_capacity(pieces);
    let mut at = 0;
    for c in cuts {
        sizes.push(c - at);
        at = c;
    }
    sizes.push(len - at);
    sizes
}

fn message(rng: &mut Rng) -> Action {
    let opcode = if rng.chance(55) {
        OpCode::TEXT.0
    } else {
        OpCode::BINARY.0
    };
    let payload = data_payload(rng, opcode);
    let fragments = match rng.below(100) {
        0..=59 => Fragmenting::Whole,
        60..=74 if !payload.is_empty() => Fragmenting::Size(rng.range(1, payload.len().min(64))),
        _ => {
            let pieces = rng.range(2, 5);
            Fragmenting::Sizes(split_sizes(rng, payload.len(), pieces))
        }
    };
    action(Send::Message(MessageSpec {
        opcode,
        payload: Payload::Bytes(payload),
        fragments,
        mask: MaskSpec::Auto,
        compress: false,
    }))
}

fn control(rng: &mut Rng, opcode: u8) -> Action {
    let payload = control_payload(rng);
    action(Send::Frame(frame(opcode, true, payload)))
}

/// A message sent frame by frame, with pings or pongs between its fragments now and then.
fn frame_by_frame(rng: &mut Rng, room: usize) -> Vec<Action> {
    let opcode = if rng.chance(55) {
        OpCode::TEXT.0
    } else {
        OpCode::BINARY.0
    };
    let payload = data_payload(rng, opcode);
    let pieces = rng.range(2, room.clamp(2, 4));
    let sizes = split_sizes(rng, payload.len(), pieces);
    let mut out = Vec::new();
    let mut at = 0;
    for (i, n) in sizes.iter().enumerate() {
        let op = if i == 0 {
            opcode
        } else {
            OpCode::CONTINUATION.0
        };
        let fin = i + 1 == sizes.len();
        out.push(action(Send::Frame(frame(
            op,
            fin,
            payload[at..at + n].to_vec(),
        ))));
        at += n;
    }
    if out.len() < room && rng.chance(50) {
        let at = rng.range(1, out.len() - 1);
        let op = if rng.chance(75) {
            OpCode::PING.0
        } else {
            OpCode::PONG.0
        };
        out.insert(at, control(rng, op));
    }
    out
}

fn valid_actions(rng: &mut Rng, n: usize) -> Vec<Action> {
    let mut out = Vec::new();
    while out.len() < n {
        let room = n - out.len();
        match rng.below(100) {
            0..=39 => out.push(message(rng)),
            40..=59 if room >= 2 => out.extend(frame_by_frame(rng, room)),
            40..=84 => out.push(control(rng, OpCode::PING.0)),
            _ => out.push(control(rng, OpCode::PONG.0)),
        }
    }
    out
}

/// The frames a message step is sent as, exactly as the session splits it.
pub(crate) fn message_frames(m: &MessageSpec) -> Vec<FrameSpec> {
    let payload = m.payload.bytes();
    let sizes: Vec<usize> = match &m.fragments {
        Fragmenting::Whole => vec![payload.len()],
        Fragmenting::Size(_) if payload.is_empty() => vec![0],
        Fragmenting::Size(n) => payload.chunks((*n).max(1)).map(<[u8]>::len).collect(),
        Fragmenting::Sizes(s) => s.clone(),
    };
    let mut at = 0;
    let last = sizes.len().saturating_sub(1);
    sizes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let op = if i == 0 {
                m.opcode
            } else {
                OpCode::CONTINUATION.0
            };
            let end = (at + n).min(payload.len());
            let mut f = frame(op, i == last, payload[at.min(end)..end].to_vec());
            f.mask = m.mask;
            at = end;
            f
        })
        .collect()
}

/// Replaces the message at `i` by its frames; returns the index range they occupy.
fn explode(actions: &mut Vec<Action>, i: usize) -> std::ops::Range<usize> {
    let Send::Message(m) = &actions[i].send else {
        return i..i + 1;
    };
    let opts = actions[i].opts.clone();
    let frames: Vec<Action> = message_frames(m)
        .into_iter()
        .map(|f| Action {
            send: Send::Frame(f),
            opts: WriteOpts {
                flush: true,
                ..Default::default()
            },
        })
        .collect();
    let n = frames.len();
    actions.splice(i..i + 1, frames);
    // The write options stay with the last frame, so a held write is still held.
    actions[i + n - 1].opts = opts;
    i..i + n
}

/// A random frame to mutate (exploding a message into its frames when one is picked).
fn pick_frame(rng: &mut Rng, actions: &mut Vec<Action>) -> Option<usize> {
    if actions.is_empty() {
        return None;
    }
    let i = rng.below(actions.len() as u64) as usize;
    let r = explode(actions, i);
    let j = rng.range(r.start, r.end - 1);
    matches!(actions[j].send, Send::Frame(_)).then_some(j)
}

fn frame_mut(actions: &mut [Action], i: usize) -> &mut FrameSpec {
    match &mut actions[i].send {
        Send::Frame(f) => f,
        _ => unreachable!("pick_frame returns frames"),
    }
}

const VALID_CODES: &[u16] = &[
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999,
];
const INVALID_CODES: &[u16] = &[
    0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
];

fn invalid_utf8(rng: &mut Rng) -> Vec<u8> {
    // Built once: the list is fixed, and building it (a `format!`ed name per vector) for
    // every pick was 4% of the network fuzzer's instructions.
    static VECTORS: std::sync::LazyLock<Vec<crate::case::vectors::Vector>> =
        std::sync::LazyLock::new(crate::case::vectors::invalid);
    rng.pick(&VECTORS).bytes.clone()
}

fn close_frame(rng: &mut Rng) -> Action {
    let payload = match rng.below(100) {
        0..=39 => {
            let mut p = rng.pick(VALID_CODES).to_be_bytes().to_vec();
            if rng.chance(50) {
                let n = rng.range(0, 40);
                p.extend(text(rng, n));
            }
            p
        }
        40..=49 => (rng.range(3000, 4999) as u16).to_be_bytes().to_vec(),
        50..=64 => rng.pick(INVALID_CODES).to_be_bytes().to_vec(),
        65..=74 => {
            let bad = [0..=999, 1016..=2999, 5000..=65535];
            let r = rng.pick(&bad).clone();
            (rng.range(*r.start(), *r.end()) as u16)
                .to_be_bytes()
                .to_vec()
        }
        75..=82 => Vec::new(),
        83..=89 => vec![rng.next_u64() as u8],
        _ => {
            let mut p = 1000u16.to_be_bytes().to_vec();
            let n = rng.range(0, 10);
            p.extend(text(rng, n));
            p.extend(invalid_utf8(rng));
            p
        }
    };
    action(Send::Frame(frame(OpCode::CLOSE.0, true, payload)))
}

fn insert_somewhere(rng: &mut Rng, actions: &mut Vec<Action>, a: Action) {
    let at = rng.range(0, actions.len());
    actions.insert(at, a);
}

/// One mutation, chosen by weight (out of 100), applied in place.
fn mutate(rng: &mut Rng, actions: &mut Vec<Action>) {
    match rng.below(100) {
        // Header bits.
        0..=5 => flip_fin(rng, actions),
        6..=12 => set_reserved_bits(rng, actions),
        13..=18 => reserved_opcode(rng, actions),
        19..=24 => unmask(rng, actions),
        // Lengths.
        25..=29 => longer_length_form(rng, actions),
        30..=34 => wrong_declared_length(rng, actions),
        35 => length_top_bit(rng, actions),
        // Control frames.
        36..=41 => long_control_frame(rng, actions),
        42..=46 => fragmented_control_frame(rng, actions),
        // Fragmentation.
        47..=52 => stray_continuation(rng, actions),
        53..=58 => data_frame_in_message(rng, actions),
        59..=62 => split_message(rng, actions),
        63..=66 => control_between_fragments(rng, actions),
        // UTF-8.
        67..=76 => invalid_utf8_text(rng, actions),
        // Closing.
        77..=86 => add_close(rng, actions),
        // How the bytes are written.
        87..=93 => chop_writes(rng, actions),
        _ => unflushed(rng, actions),
    }
    actions.truncate(MAX_ACTIONS);
}

/// FIN flipped on a frame.
fn flip_fin(rng: &mut Rng, actions: &mut Vec<Action>) {
    if let Some(i) = pick_frame(rng, actions) {
        let f = frame_mut(actions, i);
        f.fin = !f.fin;
    }
}

/// RSV bits set on a frame (no extension is negotiated).
fn set_reserved_bits(rng: &mut Rng, actions: &mut Vec<Action>) {
    if let Some(i) = pick_frame(rng, actions) {
        let bits = rng.range(1, 7) as u8;
        let f = frame_mut(actions, i);
        f.rsv1 = bits & 4 != 0;
        f.rsv2 = bits & 2 != 0;
        f.rsv3 = bits & 1 != 0;
    }
}

/// A reserved opcode on a frame.
fn reserved_opcode(rng: &mut Rng, actions: &mut Vec<Action>) {
    if let Some(i) = pick_frame(rng, actions) {
        let op = *rng.pick(&[3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF]);
        frame_mut(actions, i).opcode = op;
    }
}

/// A frame sent unmasked.
fn unmask(rng: &mut Rng, actions: &mut Vec<Action>) {
    if let Some(i) = pick_frame(rng, actions) {
        frame_mut(actions, i).mask = MaskSpec::None;
    }
}

/// A longer length form than the length needs.
fn longer_length_form(rng: &mut Rng, actions: &mut Vec<Action>) {
    if let Some(i) = pick_frame(rng, actions) {
        let f = frame_mut(actions, i);
        f.length_form = if f.payload.len() <= 125 && rng.chance(50) {
            LengthSpec::Bits16
        } else {
            LengthSpec::Bits64
        };
    }
}

/// A declared length that is not the payload's.
fn wrong_declared_length(rng: &mut Rng, actions: &mut Vec<Action>) {
    if let Some(i) = pick_frame(rng, actions) {
        let delta = rng.range(1, 64) as u64;
        let grow = rng.chance(50);
        let f = frame_mut(actions, i);
        let len = f.payload.len() as u64;
        f.declared_len = Some(if grow || len == 0 {
            len + delta
        } else {
            len.saturating_sub(delta)
        });
    }
}

/// A 64-bit length with its top bit set.
fn length_top_bit(rng: &mut Rng, actions: &mut Vec<Action>) {
    // A 64-bit length with its top bit set. A case file cannot hold such a
    // declared_len (TOML integers are signed), so the frame is written raw.
    if let Some(i) = pick_frame(rng, actions) {
        let key = rng.key();
        let f = frame_mut(actions, i);
        let payload = f.payload.bytes();
        let raw = crate::codec::Frame {
            fin: f.fin,
            rsv1: f.rsv1,
            rsv2: f.rsv2,
            rsv3: f.rsv3,
            opcode: f.opcode,
            mask: Some(key),
            length_form: crate::codec::LengthForm::Bits64,
            declared_len: Some(payload.len() as u64 | 1 << 63),
            payload,
        }
        .encode()
        .expect("a 64-bit length holds any value");
        actions[i].send = Send::Raw(Payload::Bytes(raw));
    }
}

/// A control frame with more than 125 bytes.
fn long_control_frame(rng: &mut Rng, actions: &mut Vec<Action>) {
    let op = *rng.pick(&[OpCode::PING.0, OpCode::PONG.0, OpCode::CLOSE.0]);
    let len = rng.range(126, 200);
    let mut payload = text(rng, len);
    if op == OpCode::CLOSE.0 {
        payload[..2].copy_from_slice(&1000u16.to_be_bytes());
    }
    insert_somewhere(rng, actions, action(Send::Frame(frame(op, true, payload))));
}

/// A fragmented control frame, sometimes with a continuation after it.
fn fragmented_control_frame(rng: &mut Rng, actions: &mut Vec<Action>) {
    let op = *rng.pick(&[OpCode::PING.0, OpCode::PONG.0, OpCode::CLOSE.0]);
    let mut a = control(rng, op);
    if let Send::Frame(f) = &mut a.send {
        f.fin = false;
        if op == OpCode::CLOSE.0 {
            f.payload = Payload::Bytes(1000u16.to_be_bytes().to_vec());
        }
    }
    insert_somewhere(rng, actions, a);
    if rng.chance(50) {
        let n = control_len(rng);
        let p = rng.bytes(n);
        let at = rng.range(0, actions.len());
        actions.insert(at, action(Send::Frame(frame(0, true, p))));
    }
}

/// A continuation frame, wherever it lands.
fn stray_continuation(rng: &mut Rng, actions: &mut Vec<Action>) {
    let fin = rng.chance(60);
    let n = control_len(rng);
    let p = rng.bytes(n);
    insert_somewhere(rng, actions, action(Send::Frame(frame(0, fin, p))));
}

/// A text or binary frame, inside an open message when there is one.
fn data_frame_in_message(rng: &mut Rng, actions: &mut Vec<Action>) {
    let op = if rng.chance(50) {
        OpCode::TEXT.0
    } else {
        OpCode::BINARY.0
    };
    let fin = rng.chance(50);
    let p = data_payload(rng, op);
    let new = action(Send::Frame(frame(op, fin, p)));
    // Inside an open message when there is one, anywhere otherwise.
    let open = actions.iter().position(
        |a| matches!(&a.send, Send::Frame(f) if !f.fin && OpCode(f.opcode).is_data_start()),
    );
    match open {
        Some(i) => {
            let at = rng.range(i + 1, actions.len());
            actions.insert(at, new);
        }
        None => insert_somewhere(rng, actions, new),
    }
}

/// A message split into fragments at random offsets.
fn split_message(rng: &mut Rng, actions: &mut [Action]) {
    // A message split at random offsets.
    let msgs: Vec<usize> = (0..actions.len())
        .filter(|i| matches!(actions[*i].send, Send::Message(_)))
        .collect();
    if let Some(&i) = msgs.get(rng.below(msgs.len().max(1) as u64) as usize) {
        if let Send::Message(m) = &mut actions[i].send {
            let pieces = rng.range(2, 6);
            m.fragments = Fragmenting::Sizes(split_sizes(rng, m.payload.len(), pieces));
        }
    }
}

/// A control frame between the fragments of a message.
fn control_between_fragments(rng: &mut Rng, actions: &mut Vec<Action>) {
    // Control frames between the fragments of a message.
    let msgs: Vec<usize> = (0..actions.len())
            .filter(|i| matches!(&actions[*i].send, Send::Message(m) if !matches!(m.fragments, Fragmenting::Whole)))
            .collect();
    if let Some(&i) = msgs.get(rng.below(msgs.len().max(1) as u64) as usize) {
        let r = explode(actions, i);
        if r.len() > 1 {
            let at = rng.range(r.start + 1, r.end - 1);
            let op = *rng.pick(&[OpCode::PING.0, OpCode::PING.0, OpCode::PONG.0]);
            let c = control(rng, op);
            actions.insert(at, c);
        }
    }
}

/// Invalid UTF-8 in a text message or frame (a new one when there is none).
fn invalid_utf8_text(rng: &mut Rng, actions: &mut Vec<Action>) {
    let texts: Vec<usize> = (0..actions.len())
        .filter(|i| match &actions[*i].send {
            Send::Message(m) => m.opcode == OpCode::TEXT.0,
            Send::Frame(f) => f.opcode == OpCode::TEXT.0 || f.opcode == 0,
            _ => false,
        })
        .collect();
    let bad = invalid_utf8(rng);
    match texts.get(rng.below(texts.len().max(1) as u64) as usize) {
        Some(&i) => insert_bytes(rng, &mut actions[i].send, &bad),
        None => {
            let n = rng.range(0, 20);
            let mut p = text(rng, n);
            let at = rng.range(0, p.len());
            p.splice(at..at, bad);
            let a = action(Send::Message(MessageSpec {
                opcode: OpCode::TEXT.0,
                payload: Payload::Bytes(p),
                fragments: Fragmenting::Whole,
                mask: MaskSpec::Auto,
                compress: false,
            }));
            insert_somewhere(rng, actions, a);
        }
    }
}

/// A close frame, valid or not, mostly at the end.
fn add_close(rng: &mut Rng, actions: &mut Vec<Action>) {
    let c = close_frame(rng);
    if rng.chance(75) {
        actions.push(c);
    } else {
        insert_somewhere(rng, actions, c);
    }
}

/// An action written in small pieces, sometimes with pauses.
fn chop_writes(rng: &mut Rng, actions: &mut [Action]) {
    if !actions.is_empty() {
        let i = rng.below(actions.len() as u64) as usize;
        actions[i].opts.chop = Some(rng.range(1, 16));
        if rng.chance(10) {
            actions[i].opts.pause_ms = 1;
        }
    }
}

/// An action left unflushed, so it shares a write with the next.
fn unflushed(rng: &mut Rng, actions: &mut [Action]) {
    if actions.len() >= 2 {
        let i = rng.range(0, actions.len() - 2);
        actions[i].opts.flush = false;
    }
}

/// Puts `bad` into a text payload at a random offset, keeping fragment sizes consistent.
fn insert_bytes(rng: &mut Rng, send: &mut Send, bad: &[u8]) {
    match send {
        Send::Message(m) => {
            let mut p = m.payload.bytes();
            let at = rng.range(0, p.len());
            p.splice(at..at, bad.iter().copied());
            m.payload = Payload::Bytes(p);
            match &mut m.fragments {
                Fragmenting::Sizes(sizes) => {
                    let mut acc = 0;
                    let mut k = sizes.len() - 1;
                    for (j, s) in sizes.iter().enumerate() {
                        if at <= acc + s {
                            k = j;
                            break;
                        }
                        acc += s;
                    }
                    sizes[k] += bad.len();
                }
                Fragmenting::Size(_) | Fragmenting::Whole => {}
            }
        }
        Send::Frame(f) => {
            let mut p = f.payload.bytes();
            let at = rng.range(0, p.len());
            p.splice(at..at, bad.iter().copied());
            f.payload = Payload::Bytes(p);
        }
        _ => {}
    }
}

/// A sequence with a lying length makes the peer read our later bytes as part of a frame:
/// what it sees then depends on the masking keys, so they are fixed, not random.
pub(crate) fn pin_masks(rng: &mut Rng, seq: &mut Sequence) {
    if !seq.has_lie() {
        return;
    }
    for a in &mut seq.actions {
        let mask = match &mut a.send {
            Send::Frame(f) => &mut f.mask,
            Send::Message(m) => &mut m.mask,
            _ => continue,
        };
        if *mask == MaskSpec::Auto {
            *mask = MaskSpec::Key(rng.key());
        }
    }
}

/// A change to the opening handshake, and whether RFC 6455 §4.2.1 makes the server refuse
/// it. The oracle decides from the request itself; the label is checked against it in the
/// tests, so the menu cannot drift from the rules.
pub(crate) struct HandshakeMutation {
    pub name: &'static str,
    pub refused: bool,
    pub apply: fn(&mut HandshakeSpec),
}

fn set(h: &mut HandshakeSpec, k: &str, v: &str) {
    h.set.push((k.to_owned(), v.to_owned()));
}

/// Only changes whose outcome the built-in corpus already pins down against the reference
/// server. Left out on purpose: a missing Host and a duplicated Sec-WebSocket-Key, which
/// tungstenite accepts (documented deviations in cases/handshake.toml), and frames written
/// in the same segment as the request, which tungstenite refuses.
pub(crate) const HANDSHAKE_MUTATIONS: &[HandshakeMutation] = &[
    HandshakeMutation {
        name: "upgrade-missing",
        refused: true,
        apply: |h| h.remove.push("Upgrade".into()),
    },
    HandshakeMutation {
        name: "upgrade-h2c",
        refused: true,
        apply: |h| set(h, "Upgrade", "h2c"),
    },
    HandshakeMutation {
        name: "upgrade-empty",
        refused: true,
        apply: |h| set(h, "Upgrade", ""),
    },
    HandshakeMutation {
        name: "upgrade-websocket2",
        refused: true,
        apply: |h| set(h, "Upgrade", "websocket2"),
    },
    HandshakeMutation {
        name: "upgrade-capitalised",
        refused: false,
        apply: |h| set(h, "Upgrade", "WebSocket"),
    },
    HandshakeMutation {
        name: "upgrade-upper",
        refused: false,
        apply: |h| set(h, "Upgrade", "WEBSOCKET"),
    },
    HandshakeMutation {
        name: "connection-missing",
        refused: true,
        apply: |h| h.remove.push("Connection".into()),
    },
    HandshakeMutation {
        name: "connection-keep-alive",
        refused: true,
        apply: |h| set(h, "Connection", "keep-alive"),
    },
    HandshakeMutation {
        name: "connection-close",
        refused: true,
        apply: |h| set(h, "Connection", "close"),
    },
    HandshakeMutation {
        name: "connection-token-list",
        refused: false,
        apply: |h| set(h, "Connection", "keep-alive, Upgrade"),
    },
    HandshakeMutation {
        name: "connection-lower",
        refused: false,
        apply: |h| set(h, "Connection", "upgrade"),
    },
    HandshakeMutation {
        name: "key-missing",
        refused: true,
        apply: |h| h.remove.push("Sec-WebSocket-Key".into()),
    },
    HandshakeMutation {
        name: "key-not-base64",
        refused: true,
        apply: |h| set(h, "Sec-WebSocket-Key", "this is not base64!!!!"),
    },
    HandshakeMutation {
        name: "key-8-bytes",
        refused: true,
        apply: |h| set(h, "Sec-WebSocket-Key", "AQIDBAUGBwg="),
    },
    HandshakeMutation {
        name: "key-20-bytes",
        refused: true,
        apply: |h| set(h, "Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEBESExQ="),
    },
    HandshakeMutation {
        name: "key-empty",
        refused: true,
        apply: |h| set(h, "Sec-WebSocket-Key", ""),
    },
    HandshakeMutation {
        name: "key-zeros",
        refused: false,
        apply: |h| set(h, "Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA=="),
    },
    HandshakeMutation {
        name: "key-plus-slash",
        refused: false,
        apply: |h| set(h, "Sec-WebSocket-Key", "+/+/+/+/+/+/+/+/+/+/+w=="),
    },
    HandshakeMutation {
        name: "version-8",
        refused: true,
        apply: |h| set(h, "Sec-WebSocket-Version", "8"),
    },
    HandshakeMutation {
        name: "version-14",
        refused: true,
        apply: |h| set(h, "Sec-WebSocket-Version", "14"),
    },
    HandshakeMutation {
        name: "version-junk",
        refused: true,
        apply: |h| set(h, "Sec-WebSocket-Version", "abc"),
    },
    HandshakeMutation {
        name: "version-list",
        refused: true,
        apply: |h| set(h, "Sec-WebSocket-Version", "13, 8"),
    },
    HandshakeMutation {
        name: "version-missing",
        refused: true,
        apply: |h| h.remove.push("Sec-WebSocket-Version".into()),
    },
    HandshakeMutation {
        name: "method-post",
        refused: true,
        apply: |h| h.method = Some("POST".into()),
    },
    HandshakeMutation {
        name: "method-put",
        refused: true,
        apply: |h| h.method = Some("PUT".into()),
    },
    HandshakeMutation {
        name: "method-lower-case",
        refused: true,
        apply: |h| h.method = Some("get".into()),
    },
    HandshakeMutation {
        name: "http-1.0",
        refused: true,
        apply: |h| h.version = Some("HTTP/1.0".into()),
    },
    HandshakeMutation {
        name: "names-mis-cased",
        refused: false,
        apply: |h| {
            for (from, to) in [
                ("Upgrade", "UPGRADE"),
                ("Connection", "connection"),
                ("Sec-WebSocket-Key", "sec-websocket-key"),
                ("Sec-WebSocket-Version", "SEC-WEBSOCKET-VERSION"),
            ] {
                h.rename.push((from.into(), to.into()));
            }
        },
    },
    HandshakeMutation {
        name: "unknown-headers",
        refused: false,
        apply: |h| {
            h.add.push(("X-Wsspec-Fuzz".into(), "1".into()));
            h.add.push(("X-Wsspec-Fuzz".into(), "2".into()));
        },
    },
];

/// Cosmetic changes that combine with any other without changing its outcome.
const COSMETIC: &[&str] = &["names-mis-cased", "unknown-headers"];

fn handshake_sequence(rng: &mut Rng) -> Sequence {
    let mut spec = HandshakeSpec::default();
    let m = rng.pick(HANDSHAKE_MUTATIONS);
    (m.apply)(&mut spec);
    if rng.chance(30) {
        let name = *rng.pick(COSMETIC);
        if name != m.name {
            let c = HANDSHAKE_MUTATIONS.iter().find(|c| c.name == name).unwrap();
            (c.apply)(&mut spec);
        }
    }
    let mut hs = action(Send::Handshake(spec));
    if rng.chance(15) {
        hs.opts.chop = Some(rng.range(1, 16));
    }
    let actions = if m.refused {
        Vec::new()
    } else {
        let n = rng.range(1, 3);
        valid_actions(rng, n)
    };
    let mut seq = Sequence {
        handshake: Some(hs),
        actions,
    };
    seq.normalize();
    seq
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_index_same_sequence() {
        for i in 0..200 {
            let a = super::super::save::steps_toml(&oracle::plan(&generate(7, i)).unwrap());
            let b = super::super::save::steps_toml(&oracle::plan(&generate(7, i)).unwrap());
            assert_eq!(a, b);
        }
        let a = super::super::save::steps_toml(&oracle::plan(&generate(7, 3)).unwrap());
        let b = super::super::save::steps_toml(&oracle::plan(&generate(8, 3)).unwrap());
        assert_ne!(a, b);
    }

    #[test]
    fn text_is_valid_utf8_of_the_asked_length() {
        let mut rng = Rng::new(1);
        for len in 0..300 {
            let t = text(&mut rng, len);
            assert_eq!(t.len(), len);
            assert!(std::str::from_utf8(&t).is_ok());
        }
    }

    #[test]
    fn sequences_are_short_and_payloads_small() {
        for i in 0..2000 {
            let s = generate(1, i);
            assert!(!s.actions.is_empty() || s.handshake.is_some(), "{i}");
            assert!(s.actions.len() <= MAX_ACTIONS, "{i}");
            assert!(s.size().bytes < 8 * 1024, "{i}");
            assert!(s.actions.last().is_none_or(|a| a.opts.flush), "{i}");
        }
    }

    #[test]
    fn every_handshake_mutation_is_labelled_as_the_oracle_judges_it() {
        for m in HANDSHAKE_MUTATIONS {
            let mut spec = HandshakeSpec::default();
            (m.apply)(&mut spec);
            assert_eq!(
                oracle::handshake_refused(&spec).is_some(),
                m.refused,
                "{}",
                m.name
            );
        }
    }
}
