//! One panic inside a case costs that case, not the run (issue 12, "panic isolation").
//!
//! The shipped binary has no way to make a case panic; the `testing` feature (on for
//! wsspec's own tests) adds a hook: the case named by `WSSPEC_TEST_PANIC_CASE` panics
//! inside its task, where a bug in a case would. The whole binary runs against the
//! embedded reference server, so what is checked is what a user would see: the case's
//! `error` verdict with the panic message, every other case judged, every report written,
//! and exit code 2 (the fault is wsspec's, README "Exit codes and bounds").

use std::time::{Duration, Instant};

const CASES: [&str; 3] = [
    "framing.text.length.125",
    "framing.text.length.126",
    "framing.text.length.127",
];
const PANICS: &str = "framing.text.length.126";

#[test]
fn a_panicking_case_is_an_error_and_the_run_goes_on() {
    let out = std::env::temp_dir().join(format!("wsspec-panic-isolation-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let t0 = Instant::now();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .args(["demo", "--jobs", "1", "--format", "all", "--cases"])
        .arg(CASES.join(","))
        .arg("--out")
        .arg(&out)
        .env("WSSPEC_TEST_PANIC_CASE", PANICS)
        .env("NO_COLOR", "1")
        .output()
        .expect("wsspec runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        t0.elapsed() < Duration::from_secs(60),
        "took {:?}",
        t0.elapsed()
    );
    assert_eq!(
        run.status.code(),
        Some(2),
        "an error verdict exits 2\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    // Every requested report was written, the panicking case included.
    for f in [
        "index.html",
        "results.json",
        "junit.xml",
        "summary.md",
        "index.json",
    ] {
        let p = out.join(f);
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        match f {
            // Autobahn's index.json keys cases by Autobahn id (1.1.3), not by wsspec's.
            "index.json" => assert!(text.contains("1.1.3"), "{text}"),
            // The summary counts verdicts (PASS ... FAIL, ERROR) without naming cases.
            "summary.md" => assert!(text.contains("| 2 | 0 | 0 | 0 | 0 | 1 |"), "{text}"),
            _ => assert!(text.contains(PANICS), "{f} does not mention {PANICS}"),
        }
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let cases = json["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), CASES.len(), "every case has a result");
    for c in cases {
        let id = c["id"].as_str().unwrap();
        let verdict = c["verdict"].as_str().unwrap();
        if id == PANICS {
            assert_eq!(verdict, "error", "{c:#}");
            let reasons = c["reasons"].to_string();
            assert!(
                reasons.contains("panicked") && reasons.contains("panics on purpose"),
                "the reason carries the panic message: {reasons}"
            );
        } else {
            // The cases before and after it ran and were judged as usual.
            assert_eq!(verdict, "pass", "{c:#}");
        }
    }
    let _ = std::fs::remove_dir_all(&out);
}
