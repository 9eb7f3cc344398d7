//! One million random and mutated payloads through the token parser and the
//! text -> outcome classification: no panic, and no mutation of a genuine
//! card is ever accepted as a different valid card.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a panic is a failure.

mod util;

use tillcard::scan::base45;
use tillcard::scan::credential::{PREFIX, parse_token};
use tillcard::scan::outcome::{OutcomeKind, ScanOutcome, classify};
use util::*;

const TOTAL: usize = 1_000_000;

fn random_text(rng: &mut Rng, alphabet: &[u8], max: usize) -> String {
    let n = rng.below(max + 1);
    (0..n)
        .map(|_| char::from(alphabet[rng.below(alphabet.len())]))
        .collect()
}

/// Runs `count` cases from `seed`; returns how many reached each outcome.
fn run(seed: u64, count: usize) -> [usize; 9] {
    let verifier = verifier();
    let dir = directory();
    let genuine = token();
    let genuine_bytes = base45::decode(&genuine[PREFIX.len()..]).unwrap();
    let mut rng = Rng::new(seed);
    let mut seen = [0usize; 9];
    for i in 0..count {
        let case = i % 8;
        // `mutated_binary` marks inputs whose bytes differ from the genuine
        // card: they must never verify.
        let (text, mutated_binary) = match case {
            0 => (random_text(&mut rng, base45::ALPHABET, 200), false),
            1 => {
                let n = rng.below(200);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                (String::from_utf8_lossy(&bytes).into_owned(), false)
            }
            2 => {
                let n = rng.below(120);
                let mut bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                if let Some(b) = bytes.first_mut() {
                    *b = 1; // right version: exercises length and flags checks
                }
                (
                    format!("{PREFIX}{}", base45::encode(&bytes)),
                    bytes != genuine_bytes,
                )
            }
            3 => {
                // A bit flipped in the binary. One case in 16 keeps it (a
                // signature check costs ~50 us); the rest are truncations.
                let mut bytes = genuine_bytes.clone();
                if rng.below(16) == 0 {
                    let bit = rng.below(bytes.len() * 8);
                    bytes[bit / 8] ^= 1 << (bit % 8);
                } else {
                    bytes.truncate(rng.below(bytes.len()));
                }
                (format!("{PREFIX}{}", base45::encode(&bytes)), true)
            }
            4 => {
                let cut = rng.below(genuine.len());
                (genuine[..cut].to_owned(), true)
            }
            5 => {
                let extra = random_text(&mut rng, base45::ALPHABET, 12);
                let same = extra.is_empty();
                (format!("{genuine}{extra}"), !same)
            }
            6 => {
                // One character replaced by another of the alphabet (one
                // case in 16: it usually reaches the signature check) or
                // deleted.
                let mut b = genuine.clone().into_bytes();
                let at = PREFIX.len() + rng.below(b.len() - PREFIX.len());
                if rng.below(16) == 0 {
                    b[at] = base45::ALPHABET[rng.below(45)];
                } else {
                    b.remove(at);
                }
                let text = String::from_utf8(b).unwrap();
                let changed = text != genuine;
                (text, changed)
            }
            _ => {
                // A bit flipped in the text itself (scanner misread).
                let mut b = genuine.clone().into_bytes();
                let bit = rng.below(b.len() * 7);
                b[bit / 7] ^= 1 << (bit % 7);
                let text = String::from_utf8_lossy(&b).into_owned();
                let same_token = text.eq_ignore_ascii_case(&genuine);
                (text, !same_token)
            }
        };
        let _ = parse_token(&text);
        let outcome = classify(&text, &verifier, &dir, NOW);
        if mutated_binary {
            assert!(
                !matches!(
                    outcome,
                    ScanOutcome::MemberFound { .. } | ScanOutcome::UnknownMember { .. }
                ),
                "case {case}: a damaged card was accepted: {text:?}"
            );
        }
        let k = match outcome.kind() {
            OutcomeKind::MemberFound => 0,
            OutcomeKind::UnknownMember => 1,
            OutcomeKind::LookupFailed => 2,
            // Not a member card either (head office's enrollment QR, a
            // receipt's code).
            OutcomeKind::NotMemberCode
            | OutcomeKind::Enrollment
            | OutcomeKind::Item
            | OutcomeKind::Receipt => 3,
            OutcomeKind::Forged => 4,
            OutcomeKind::Revoked => 5,
            OutcomeKind::Expired => 6,
            OutcomeKind::Unreadable => 7,
            OutcomeKind::KeyWithdrawn => 8,
        };
        seen[k] += 1;
    }
    seen
}

#[test]
fn a_million_random_and_mutated_payloads_never_panic_nor_pass() {
    let threads = 2;
    let per = TOTAL / threads;
    let results: Vec<[usize; 9]> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || run(0xC0FFEE + t as u64, per)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut seen = [0usize; 9];
    for r in &results {
        for (a, b) in seen.iter_mut().zip(r) {
            *a += b;
        }
    }
    assert_eq!(seen.iter().sum::<usize>(), TOTAL);
    // The generator really reached the deep paths, not only the prefix check.
    assert!(seen[3] > 100_000, "not-member cases: {seen:?}");
    assert!(seen[4] > 1_000, "forged cases: {seen:?}");
    assert!(seen[7] > 100_000, "unreadable cases: {seen:?}");
}
