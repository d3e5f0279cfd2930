//! The case id convention of cases/README.md ("Ids and areas"), held for every built-in
//! case: a role segment names the peer under test, and client cases have one.

use wsspec::case::Role;

/// Ids published before the convention, which name the sender (wsspec's side) instead.
/// They stay until renamed together with peers/expected/ and baselines; no new one may join.
const LEGACY: &[&str] = &[
    "framing.client.non-minimal-length.",
    "framing.client.length-msb-set",
    "masking.client.unmasked.",
    "masking.client.unmasked-after-message",
    "masking.client.key.",
    "masking.server.masked.",
    "masking.server.masked-zero-key",
];

#[test]
fn role_segments_name_the_peer_under_test() {
    let suite = wsspec::Suite::builtin().expect("the built-in cases load");
    let mut wrong = Vec::new();
    let mut legacy_seen = 0;
    for c in suite.cases() {
        if LEGACY.iter().any(|p| c.id.starts_with(p)) {
            legacy_seen += 1;
            continue;
        }
        let second = c.id.split('.').nth(1).unwrap_or("");
        let ok = match c.role {
            Role::Client => second == "client",
            Role::Server => second != "client",
            Role::Both => second != "client" && second != "server",
        };
        if !ok {
            wrong.push(format!("{} (role {:?})", c.id, c.role));
        }
    }
    assert!(
        wrong.is_empty(),
        "ids whose role segment does not name the peer under test:\n  {}",
        wrong.join("\n  ")
    );
    // The exceptions are still there; once renamed, this list must shrink with them.
    assert!(legacy_seen > 0, "no legacy id left: empty LEGACY");
}
