//! Render time and size of the reports. Not run by default:
//!
//! ```sh
//! cargo test --release --test it reports_bench:: -- --ignored --nocapture
//! # with a real run too, and the outputs kept for a look in a browser:
//! WSSPEC_RESULTS=/tmp/r/results.json WSSPEC_SAMPLES=/tmp/samples \
//!   cargo test --release --test it reports_bench:: -- --ignored --nocapture
//! ```

use std::time::Instant;

use wsspec::report::{self, baseline, html, json, sample, Format};
use wsspec::results::RunResults;

fn measure(name: &str, r: &RunResults, out: Option<&std::path::Path>) {
    for f in Format::ALL {
        let t = Instant::now();
        let n = f.render(r, None).len();
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        println!(
            "{name:<28} {:>6} cases  {:<5} {:>9.1} ms  {:>10.2} MiB",
            r.cases.len(),
            f.name(),
            ms,
            n as f64 / (1 << 20) as f64
        );
    }
    if let Some(dir) = out {
        let d = dir.join(name.replace(' ', "-"));
        report::write_all(&d, r).unwrap();
    }
}

#[test]
#[ignore]
fn report_render_figures() {
    let out = std::env::var_os("WSSPEC_SAMPLES").map(std::path::PathBuf::from);
    let out = out.as_deref();
    if let Some(p) = std::env::var_os("WSSPEC_RESULTS") {
        let r = json::parse(&std::fs::read(&p).unwrap()).unwrap();
        measure("demo corpus", &r, out);
    }
    measure("synthetic", &sample::synthetic(1000, "synthetic", 1), out);
    let mut heavy = sample::synthetic(1000, "heavy transcripts", 1);
    for c in &mut heavy.cases {
        // Every transcript at its recorded bound: 64 KiB of data in 2 KiB chunks.
        let e = c.transcript.entries[1].clone();
        if let wsspec::transcript::Entry::Bytes { t_us, dir, .. } = e {
            for _ in 0..32 {
                c.transcript.entries.push(wsspec::transcript::Entry::Bytes {
                    t_us,
                    dir,
                    len: 2048,
                    hex: "ab".repeat(2048),
                    truncated: false,
                });
            }
        }
    }
    measure("heavy transcripts", &heavy, out);
    measure("hostile", &sample::hostile(1000), out);

    // A run against a baseline.
    let b = baseline::Baseline::from_results(&sample::synthetic(1000, "x", 2));
    let r = sample::synthetic(1000, "with baseline", 1);
    let cmp = baseline::compare(&b, &r);
    let t = Instant::now();
    let n = html::render(&r, Some(&cmp)).len();
    println!(
        "{:<28} {:>6} cases  html  {:>9.1} ms  {:>10.2} MiB  ({})",
        "with baseline",
        1000,
        t.elapsed().as_secs_f64() * 1000.0,
        n as f64 / (1 << 20) as f64,
        cmp.summary_line()
    );
    if let Some(dir) = out {
        let d = dir.join("with-baseline");
        report::write_reports(&d, &r, &Format::ALL, Some(&cmp)).unwrap();
    }

    // Five agents side by side.
    let runs: Vec<RunResults> = (0..5)
        .map(|i| sample::synthetic(1000, &format!("agent {i}"), i))
        .collect();
    let t = Instant::now();
    let page = report::render_comparison(&runs);
    println!(
        "{:<28} {:>6} cases  grid  {:>9.1} ms  {:>10.2} MiB",
        "5 agents side by side",
        5000,
        t.elapsed().as_secs_f64() * 1000.0,
        page.len() as f64 / (1 << 20) as f64
    );
    if let Some(dir) = out {
        report::write_comparison(&dir.join("compare"), &runs).unwrap();
    }
}
