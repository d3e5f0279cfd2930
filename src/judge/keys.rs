//! Run-level checks on the keys a client chooses: masking keys (RFC 6455 §5.3, §10.3) and
//! `Sec-WebSocket-Key` nonces (§4.1). One connection cannot show that keys are
//! predictable; the whole run can: a zero key, a key used twice, a bit that never
//! changes, or keys that step by a constant.

use super::matcher::Outcome;
use crate::case::{Grade, RunCheck};

/// Keys at least this many before the fixed-bit test applies: for random keys the chance
/// that one of the bit positions never changes is then below 2^-25.
pub const FIXED_BIT_MIN: usize = 32;

/// What the keys show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAnalysis {
    pub count: usize,
    pub distinct: usize,
    pub zero: usize,
    /// Keys beyond the first use of their value.
    pub repeats: usize,
    /// Bit positions (0 = most significant bit of the first byte) with the same value in
    /// every key; only computed from FIXED_BIT_MIN keys on.
    pub fixed_bits: Vec<usize>,
    /// Every key is the previous one plus the same constant (at least 3 keys).
    pub constant_step: bool,
}

/// Analyses keys of equal length (4 bytes for masking keys, 16 for nonces).
pub fn analyse(keys: &[Vec<u8>]) -> KeyAnalysis {
    let count = keys.len();
    let mut seen = std::collections::HashSet::with_capacity(count);
    let mut repeats = 0;
    for k in keys {
        if !seen.insert(k.as_slice()) {
            repeats += 1;
        }
    }
    let zero = keys.iter().filter(|k| k.iter().all(|b| *b == 0)).count();
    let width = keys.iter().map(Vec::len).min().unwrap_or(0);
    let mut fixed_bits = Vec::new();
    if count >= FIXED_BIT_MIN {
        for bit in 0..width * 8 {
            let get = |k: &Vec<u8>| k[bit / 8] >> (7 - bit % 8) & 1;
            let first = get(&keys[0]);
            if keys.iter().all(|k| get(k) == first) {
                fixed_bits.push(bit);
            }
        }
    }
    let as_num = |k: &Vec<u8>| {
        k.iter()
            .take(16)
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b))
    };
    // Steps are taken modulo 2^(key width), so a counter that wraps still counts.
    let modulo = if width >= 16 {
        u128::MAX
    } else {
        (1u128 << (8 * width)) - 1
    };
    let step_of = |a: &Vec<u8>, b: &Vec<u8>| as_num(b).wrapping_sub(as_num(a)) & modulo;
    let constant_step = count >= 3 && {
        let step = step_of(&keys[0], &keys[1]);
        keys.windows(2).all(|w| step_of(&w[0], &w[1]) == step)
    };
    KeyAnalysis {
        count,
        distinct: seen.len(),
        zero,
        repeats,
        fixed_bits,
        constant_step,
    }
}

/// Repeats expected by chance among `n` random keys of `bits` bits are about
/// n²/2^(bits+1); more than a few times that (and at least one when the expectation is
/// tiny) means the keys repeat.
fn repeats_allowed(n: usize, bits: usize) -> usize {
    let expected = (n as f64) * (n as f64 - 1.0) / 2.0 / 2f64.powi(bits as i32);
    if expected < 0.01 {
        0
    } else {
        (3.0 * expected + 1.0).ceil() as usize
    }
}

/// The run-level check over every key seen: pass, fail, or informational when there are
/// too few keys to say anything.
pub fn judge_keys(check: RunCheck, keys: &[Vec<u8>], connections: usize) -> Outcome {
    let (what, bits, rule) = match check {
        RunCheck::MaskKeys => (
            "masking key",
            32,
            "RFC 6455 §5.3: the client MUST pick a fresh masking key for every frame; the key MUST be derived from a strong source of entropy and MUST NOT make it simple to predict the key of a subsequent frame",
        ),
        RunCheck::HandshakeKeys => (
            "Sec-WebSocket-Key nonce",
            128,
            "RFC 6455 §4.1: the nonce is a randomly selected 16-byte value; it MUST be selected randomly for each connection",
        ),
    };
    let expected = format!(
        "every {what} of the run unpredictable: none all-zero, none repeated, no bit fixed across keys, no constant step ({rule})"
    );
    let a = analyse(keys);
    let seen = format!(
        "{} {what}s from {connections} connection(s), {} distinct",
        a.count, a.distinct
    );
    if a.count < 2 {
        return Outcome {
            limit: false,
            matched: false,
            grade: Grade::Informational,
            expected,
            observed: format!("{seen}: at least 2 are needed to judge"),
        };
    }
    let mut problems = Vec::new();
    if a.zero > 0 {
        problems.push(format!(
            "{} all-zero key(s){}",
            a.zero,
            if check == RunCheck::MaskKeys {
                ": the payload goes on the wire as sent"
            } else {
                ""
            }
        ));
    }
    if a.repeats > repeats_allowed(a.count, bits) {
        problems.push(format!("{} key(s) repeat an earlier one", a.repeats));
    }
    if !a.fixed_bits.is_empty() {
        let shown: Vec<String> = a
            .fixed_bits
            .iter()
            .take(12)
            .map(|b| b.to_string())
            .collect();
        problems.push(format!(
            "{} bit position(s) never change across {} keys (bits {}{})",
            a.fixed_bits.len(),
            a.count,
            shown.join(", "),
            if a.fixed_bits.len() > 12 { ", …" } else { "" }
        ));
    }
    if a.constant_step && a.repeats == 0 {
        problems.push("each key is the previous one plus a constant".into());
    }
    let matched = problems.is_empty();
    Outcome {
        limit: false,
        matched,
        grade: if matched { Grade::Pass } else { Grade::Fail },
        expected,
        observed: if matched {
            seen
        } else {
            format!("{seen}: {}", problems.join("; "))
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_keys(n: usize, len: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|_| (0..len).map(|_| rand::random::<u8>()).collect())
            .collect()
    }

    #[test]
    fn random_keys_pass() {
        for n in [2, 5, 40, 2000] {
            let o = judge_keys(RunCheck::MaskKeys, &random_keys(n, 4), 3);
            assert!(o.matched, "{n}: {}", o.observed);
        }
        let o = judge_keys(RunCheck::HandshakeKeys, &random_keys(50, 16), 50);
        assert!(o.matched, "{}", o.observed);
    }

    #[test]
    fn bad_keys_fail() {
        let zero = vec![vec![0u8; 4]; 1]
            .into_iter()
            .chain(random_keys(5, 4))
            .collect::<Vec<_>>();
        let o = judge_keys(RunCheck::MaskKeys, &zero, 1);
        assert!(
            !o.matched && o.observed.contains("all-zero"),
            "{}",
            o.observed
        );

        let constant = vec![vec![1u8, 2, 3, 4]; 10];
        let o = judge_keys(RunCheck::MaskKeys, &constant, 1);
        assert!(
            !o.matched && o.observed.contains("repeat"),
            "{}",
            o.observed
        );

        let mut once = random_keys(20, 4);
        once.push(once[3].clone());
        assert!(!judge_keys(RunCheck::MaskKeys, &once, 2).matched);

        let counter: Vec<Vec<u8>> = (1000u32..1040).map(|i| i.to_be_bytes().to_vec()).collect();
        let o = judge_keys(RunCheck::MaskKeys, &counter, 2);
        assert!(
            !o.matched && o.observed.contains("never change"),
            "{}",
            o.observed
        );

        let stepped: Vec<Vec<u8>> = (0u32..5)
            .map(|i| {
                (0x1234_5678u32.wrapping_add(i.wrapping_mul(0x9E37_79B9)))
                    .to_be_bytes()
                    .to_vec()
            })
            .collect();
        let o = judge_keys(RunCheck::MaskKeys, &stepped, 1);
        assert!(
            !o.matched && o.observed.contains("constant"),
            "{}",
            o.observed
        );
    }

    #[test]
    fn too_few_keys_are_informational() {
        let o = judge_keys(RunCheck::HandshakeKeys, &random_keys(1, 16), 1);
        assert_eq!(o.grade, Grade::Informational);
        assert!(!o.matched);
    }

    #[test]
    fn repeats_allowed_grows_with_n() {
        assert_eq!(repeats_allowed(1000, 32), 0);
        assert!(repeats_allowed(100_000, 32) >= 3);
        assert_eq!(repeats_allowed(1_000_000, 128), 0);
    }
}
