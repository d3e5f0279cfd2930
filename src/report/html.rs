//! `index.html`: one self-contained page (inline CSS, optional inline JS, no fetches),
//! rendered with tera 2 from the templates in `reports/`, embedded in the binary.
//!
//! Safety: every value reaches the page through tera's HTML autoescape (the templates'
//! names end in `.html`); peer strings are also cleaned and bounded by [`super::view`]. A
//! Content-Security-Policy with a per-page nonce forbids every fetch and any script but
//! ours, as a second wall should something slip through.

use std::sync::OnceLock;

use serde::Serialize;
use tera::{Context, Tera};

use super::baseline::Comparison;
use super::view::{self, RunView};
use crate::results::RunResults;

const CSS: &str = include_str!("../../reports/style.css");
const JS: &str = include_str!("../../reports/report.js");

fn tera() -> &'static Tera {
    static TERA: OnceLock<Tera> = OnceLock::new();
    TERA.get_or_init(|| {
        let mut t = Tera::default();
        t.add_raw_templates(vec![
            ("parts.html", include_str!("../../reports/parts.html")),
            ("report.html", include_str!("../../reports/report.html")),
            ("compare.html", include_str!("../../reports/compare.html")),
        ])
        .unwrap_or_else(|e| panic!("embedded report templates: {e}"));
        t
    })
}

fn nonce() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn render_template(name: &str, ctx: &Context) -> String {
    // The templates are ours and tested; a failure here is a bug, not a user error.
    tera()
        .render(name, ctx)
        .unwrap_or_else(|e| panic!("rendering {name}: {e:?}"))
}

/// The report of one run; with a baseline comparison, regressions, fixes and known
/// failures are listed apart and marked on each case.
pub fn render(r: &RunResults, comparison: Option<&Comparison>) -> String {
    render_template("report.html", &run_context(r, comparison))
}

/// [`render`] written straight to `out`: the page of a whole run is several MiB, and a
/// String grown to hold it (doubling as it goes) was the peak of a run's memory.
pub fn render_to(
    r: &RunResults,
    comparison: Option<&Comparison>,
    out: impl std::io::Write,
) -> std::io::Result<()> {
    tera()
        .render_to("report.html", &run_context(r, comparison), out)
        .map_err(|e| std::io::Error::other(format!("rendering report.html: {e}")))
}

fn run_context(r: &RunResults, comparison: Option<&Comparison>) -> Context {
    let run: RunView = view::run_view(r, comparison);
    let mut ctx = Context::new();
    ctx.insert("run", &run);
    // The context holds its own copy: the view need not live through the rendering too
    // (several MiB for a whole run, at the run's peak of memory).
    drop(run);
    ctx.insert("css", CSS);
    ctx.insert("js", JS);
    ctx.insert("nonce", &nonce());
    ctx
}

#[derive(Serialize)]
struct AgentView {
    col: usize,
    agent: String,
    target: String,
    transport: String,
    version: String,
    started_at: String,
    duration: String,
    totals: view::TotalsView,
}

#[derive(Serialize)]
struct Cell {
    verdict: &'static str,
    label: &'static str,
    /// In-page anchor of the cell's detail, empty for passing and missing cells.
    href: String,
    /// First reason, for the tooltip.
    hint: String,
}

#[derive(Serialize)]
struct Row {
    /// The agents' verdicts are not all the same (a case missing from a run differs too).
    differs: bool,
    id: String,
    title: String,
    section: String,
    cells: Vec<Cell>,
}

#[derive(Serialize)]
struct GridArea {
    /// Some row of the area differs.
    differs: bool,
    name: String,
    rows: Vec<Row>,
}

#[derive(Serialize)]
struct AgentDetails {
    col: usize,
    agent: String,
    anchor: String,
    cases: Vec<view::CaseView>,
}

/// Short labels for the grid.
fn short(g: crate::case::Grade) -> &'static str {
    use crate::case::Grade::*;
    match g {
        Pass => "PASS",
        NonStrict => "NS",
        Informational => "INFO",
        Unimplemented => "UNIMPL",
        Fail => "FAIL",
        Error => "ERROR",
    }
}

/// Several agents side by side, like Autobahn's report: rows are cases grouped by area,
/// columns are runs; every non-passing cell links to its detail further down the page.
/// Cases missing from a run show as "–".
pub fn render_comparison(runs: &[RunResults]) -> String {
    use std::collections::HashMap;
    let agents: Vec<AgentView> = runs
        .iter()
        .enumerate()
        .map(|(col, r)| AgentView {
            col,
            agent: crate::text::clean_line(&r.agent, 200),
            target: crate::text::clean_line(&r.target, 500),
            transport: crate::text::clean_line(&r.transport, 20),
            version: crate::text::clean_line(&r.wsspec_version, 50),
            started_at: crate::text::clean_line(&r.started_at, 50),
            duration: view::duration(r.duration_ms),
            totals: view::TotalsView::new(&crate::results::Totals::of(&r.cases)),
        })
        .collect();
    let index: Vec<HashMap<&str, &crate::results::CaseResult>> = runs
        .iter()
        .map(|r| r.cases.iter().map(|c| (c.id.as_str(), c)).collect())
        .collect();
    // Union of cases, in order of first appearance over the runs, grouped by area.
    let mut seen = std::collections::HashSet::new();
    let mut union = Vec::new();
    for r in runs {
        for c in &r.cases {
            if seen.insert(c.id.as_str()) {
                union.push(c.clone_meta());
            }
        }
    }
    let areas: Vec<GridArea> = view::group(&union)
        .into_iter()
        .map(|(name, cases)| GridArea {
            differs: false,
            name: crate::text::clean_line(name, 100),
            rows: cases
                .iter()
                .map(|c| Row {
                    differs: false,
                    id: crate::text::clean_line(&c.id, 200),
                    title: crate::text::clean(&c.title, 300),
                    section: crate::text::clean_line(&c.section, 100),
                    cells: index
                        .iter()
                        .enumerate()
                        .map(|(col, ix)| match ix.get(c.id.as_str()) {
                            None => Cell {
                                verdict: "missing",
                                label: "–",
                                href: String::new(),
                                hint: "not run".to_owned(),
                            },
                            Some(rc) => Cell {
                                verdict: rc.verdict.as_str(),
                                label: short(rc.verdict),
                                href: if rc.verdict == crate::case::Grade::Pass {
                                    String::new()
                                } else {
                                    view::anchor(&format!("a{col}-"), &rc.id)
                                },
                                hint: rc
                                    .reasons
                                    .first()
                                    .map(|s| crate::text::clean_line(s, 300))
                                    .unwrap_or_else(|| rc.verdict.as_str().to_owned()),
                            },
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let mut areas = areas;
    let (mut rows, mut differing) = (0, 0);
    for area in &mut areas {
        for row in &mut area.rows {
            row.differs = row.cells.windows(2).any(|w| w[0].verdict != w[1].verdict);
            area.differs |= row.differs;
            rows += 1;
            differing += usize::from(row.differs);
        }
    }
    let details: Vec<AgentDetails> = runs
        .iter()
        .enumerate()
        .map(|(col, r)| AgentDetails {
            col,
            agent: crate::text::clean_line(&r.agent, 200),
            anchor: format!("agent-{col}"),
            cases: r
                .cases
                .iter()
                .filter(|c| c.verdict != crate::case::Grade::Pass)
                .map(|c| {
                    let mut v = view::case_view(c, None);
                    v.anchor = view::anchor(&format!("a{col}-"), &c.id);
                    v
                })
                .collect(),
        })
        .collect();
    let mut ctx = Context::new();
    ctx.insert("agents", &agents);
    ctx.insert("areas", &areas);
    ctx.insert("details", &details);
    ctx.insert("rows", &rows);
    ctx.insert("differing", &differing);
    ctx.insert("version", env!("CARGO_PKG_VERSION"));
    ctx.insert("css", CSS);
    ctx.insert("js", JS);
    ctx.insert("nonce", &nonce());
    render_template("compare.html", &ctx)
}

trait CloneMeta {
    fn clone_meta(&self) -> crate::results::CaseResult;
}

impl CloneMeta for crate::results::CaseResult {
    /// The case without its evidence (the grid needs only id, area, title and section).
    fn clone_meta(&self) -> crate::results::CaseResult {
        crate::results::CaseResult {
            id: self.id.clone(),
            title: self.title.clone(),
            area: self.area.clone(),
            section: self.section.clone(),
            requirement: String::new(),
            level: self.level,
            autobahn: None,
            origin: String::new(),
            verdict: self.verdict,
            deviation: self.deviation.clone(),
            reasons: Vec::new(),
            checks: Vec::new(),
            violations: Vec::new(),
            close: None,
            duration_ms: 0.0,
            bytes_sent: 0,
            bytes_received: 0,
            bytes_per_sec: 0.0,
            timings: Default::default(),
            transcript: Default::default(),
        }
    }
}
