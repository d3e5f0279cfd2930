//! Loading case files: TOML text to expanded, validated [`Case`]s.
//!
//! Every error names `file:line: field: message`, because the people who write cases know
//! the RFC, not our code; they need to be sent to the exact line.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Spanned, Value};

use super::matrix;
use super::model::*;
use super::steps::parse_step;

/// Why a case file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: {field}: {message}")]
    Invalid {
        file: String,
        line: usize,
        field: String,
        message: String,
    },
    /// Several files were wrong: every one is reported, so an author fixes them in one go.
    #[error("{} case-file errors: {}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Many(Vec<CaseError>),
}

impl CaseError {
    fn invalid(
        file: &str,
        line: usize,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        CaseError::Invalid {
            file: file.to_owned(),
            line,
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    case: Vec<Spanned<RawCase>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    id: Spanned<String>,
    title: Spanned<String>,
    section: Spanned<String>,
    requirement: Spanned<String>,
    level: Level,
    role: Role,
    autobahn: Option<Spanned<String>>,
    autobahn_note: Option<Spanned<String>>,
    matrix: Option<Spanned<Value>>,
    timeout_ms: Option<u64>,
    close: Option<bool>,
    opt_in: Option<bool>,
    pongs: Option<bool>,
    run_check: Option<RunCheck>,
    /// Known deviations of named implementations: implementation -> explanation.
    #[serde(default)]
    deviations: std::collections::BTreeMap<String, String>,
    steps: Spanned<Vec<Spanned<Value>>>,
}

/// 1-based line of a byte offset.
fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset.min(src.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Where a file's lines start, so the line of an offset is a binary search: a case's
/// lines are looked up per matrix row and per step, and counting newlines from the start
/// of the file each time made loading the built-in cases quadratic in file size (about
/// half of the CPU of a `wsspec server` run's 54 limits cases).
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(src: &str) -> LineIndex {
        LineIndex(
            src.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        )
    }

    /// The line of `span`'s start, as [`line_of`] counts it in the file indexed.
    fn line_of_span(&self, span: Range<usize>) -> usize {
        self.0.partition_point(|&nl| nl < span.start) + 1
    }
}

/// The key of a `key = value` line when `offset` is where the value starts.
fn key_before(src: &str, offset: usize) -> Option<String> {
    let head = src.get(..offset)?;
    let line = &head[head.rfind('\n').map_or(0, |i| i + 1)..];
    let key = line.trim_end().strip_suffix('=')?.trim().trim_matches('"');
    let ok = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    ok.then(|| key.to_owned())
}

/// Parses one file's text. `name` is what error messages call the file.
pub fn parse_file(name: &str, src: &str) -> Result<Vec<Case>, CaseError> {
    let raw: RawFile = toml::from_str(src).map_err(|e| {
        let line = e.span().map(|s| line_of(src, s.start)).unwrap_or(1);
        let msg = e.message().trim().to_owned();
        // serde names the field in its message ("unknown field `x`", "missing field `y`");
        // pull it out so every error has the same shape.
        // Type errors ("unknown variant `MUSt`", "invalid type: string") do not name the
        // field; the key written before the value on the same line does.
        let field = msg
            .split('`')
            .nth(1)
            .filter(|_| msg.contains("field"))
            .map(str::to_owned)
            .or_else(|| e.span().and_then(|s| key_before(src, s.start)))
            .unwrap_or_else(|| "toml".to_owned());
        CaseError::invalid(name, line, field, msg)
    })?;
    // Every case of the file is checked, so one load names every broken case rather than
    // one per run; a case's first error stands for it (later ones often follow from it).
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let lines = LineIndex::new(src);
    for spanned in raw.case {
        match parse_case(name, src, &lines, spanned) {
            Ok(cases) => out.extend(cases),
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(out),
        1 => Err(errors.remove(0)),
        _ => Err(CaseError::Many(errors)),
    }
}

/// One `[[case]]` table: its matrix rows expanded, each row's steps parsed and checked.
fn parse_case(
    name: &str,
    src: &str,
    lines: &LineIndex,
    spanned: Spanned<RawCase>,
) -> Result<Vec<Case>, CaseError> {
    // The lines of this case's spans, looked up in the file's index.
    let line_of_span = |_: &str, span: Range<usize>| lines.line_of_span(span);
    let mut out = Vec::new();
    let case_line = line_of_span(src, spanned.span());
    let rc = spanned.into_inner();
    let id_line = line_of_span(src, rc.id.span());
    let rows = matrix::rows(rc.matrix.as_ref().map(|m| m.get_ref())).map_err(|m| {
        let line = rc
            .matrix
            .as_ref()
            .map(|m| line_of_span(src, m.span()))
            .unwrap_or(case_line);
        CaseError::invalid(name, line, "matrix", m)
    })?;
    if rc.run_check.is_some() && rc.role != Role::Client {
        return Err(CaseError::invalid(
            name,
            case_line,
            "run_check",
            "run checks judge what clients send (masking and handshake keys): they need role = \"client\"",
        ));
    }
    if rc.steps.get_ref().is_empty() {
        return Err(CaseError::invalid(
            name,
            line_of_span(src, rc.steps.span()),
            "steps",
            "a case needs at least one step",
        ));
    }
    for row in &rows {
        // A `{name}` the row does not bind is reported at the field that holds it.
        let text = |field: &str, v: &Spanned<String>, id: &str| {
            matrix::substitute_text(v.get_ref(), row).map_err(|n| {
                CaseError::invalid(
                    name,
                    line_of_span(src, v.span()),
                    field,
                    unresolved_message(&n, id),
                )
            })
        };
        let id = text("id", &rc.id, rc.id.get_ref())?;
        check_id(&id).map_err(|m| CaseError::invalid(name, id_line, "id", m))?;
        let title = text("title", &rc.title, &id)?;
        let section = text("section", &rc.section, &id)?;
        let requirement = text("requirement", &rc.requirement, &id)?;
        let autobahn = match &rc.autobahn {
            None => None,
            Some(a) => Some(text("autobahn", a, &id)?).filter(|a| !a.is_empty()),
        };
        if let (Some(a), Some(spanned)) = (&autobahn, &rc.autobahn) {
            if !super::autobahn_ids::is_case_id(a) {
                return Err(CaseError::invalid(
                    name,
                    line_of_span(src, spanned.span()),
                    "autobahn",
                    format!(
                        "{a:?} is not an Autobahn|Testsuite case id (they run from 1.1.1 to 13.7.18, listed in src/case/autobahn_ids.rs); leave it out or use ab = \"\" where no Autobahn case checks the same thing (case {id})"
                    ),
                ));
            }
        }
        let autobahn_note = match &rc.autobahn_note {
            None => None,
            Some(n) => Some(text("autobahn_note", n, &id)?).filter(|n| !n.is_empty()),
        };
        if let (Some(_), None) = (&autobahn_note, &autobahn) {
            return Err(CaseError::invalid(
                name,
                case_line,
                "autobahn_note",
                format!("a note on how the case differs from its Autobahn case needs that case: set autobahn too (case {id})"),
            ));
        }
        let mut steps = Vec::with_capacity(rc.steps.get_ref().len());
        for (i, sv) in rc.steps.get_ref().iter().enumerate() {
            let line = line_of_span(src, sv.span());
            let mut value = matrix::substitute(sv.get_ref(), row).map_err(|u| {
                CaseError::invalid(
                    name,
                    line,
                    format!("steps[{i}]{}", u.path),
                    unresolved_message(&u.name, &id),
                )
            })?;
            let times = take_repeat(&mut value).map_err(|m| {
                CaseError::invalid(
                    name,
                    line,
                    format!("steps[{i}].repeat"),
                    format!("{m} (case {id})"),
                )
            })?;
            let step = parse_step(&value, &format!("steps[{i}]")).map_err(|e| {
                CaseError::invalid(name, line, e.field, format!("{} (case {id})", e.message))
            })?;
            if times > 1 && matches!(step, Step::Send(Send::Handshake(_), _)) {
                return Err(CaseError::invalid(
                    name,
                    line,
                    format!("steps[{i}].repeat"),
                    format!(
                        "a case sends at most one handshake, so its step cannot repeat (case {id})"
                    ),
                ));
            }
            steps.push((step, line, times));
        }
        let steps = complete_and_check(steps, rc.role).map_err(|(line, field, m)| {
            CaseError::invalid(
                name,
                line.unwrap_or(case_line),
                field,
                format!("{m} (case {id})"),
            )
        })?;
        out.push(Case {
            id,
            title,
            section,
            requirement,
            level: rc.level,
            role: rc.role,
            autobahn,
            autobahn_note,
            timeout_ms: rc.timeout_ms,
            close: rc.close.unwrap_or(true),
            opt_in: rc.opt_in.unwrap_or(false),
            run_check: rc.run_check,
            pongs: rc.pongs.unwrap_or(true),
            steps,
            origin: format!("{name}:{case_line}"),
            deviations: rc.deviations.clone().into_iter().collect(),
        });
    }
    Ok(out)
}

fn unresolved_message(placeholder: &str, id: &str) -> String {
    format!(
        "{{{placeholder}}} is not a matrix value of this case, so it would stay as literal text (write {{{{ for a literal brace) (case {id})"
    )
}

/// `repeat = N` on a step runs it N times: a thousand messages stay one line, and one step
/// in memory ([`Step::Repeat`]).
fn take_repeat(v: &mut Value) -> Result<u32, String> {
    let Value::Table(t) = v else { return Ok(1) };
    match t.remove("repeat") {
        None => Ok(1),
        Some(Value::Integer(n)) if (1..=100_000).contains(&n) => Ok(n as u32),
        Some(_) => Err("repeat is a count from 1 to 100000".into()),
    }
}

fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("{id:?}: an id is dotted segments of a-z, 0-9, '-' and '_', e.g. close.code.invalid.1005"))
    }
}

pub(super) type CheckError = (Option<usize>, String, String);

/// Where a step was written: its index in the case's `steps` and its line. Implicit steps
/// (the added handshake) have none, so errors always point at what the author wrote, not at
/// positions shifted by the steps wsspec adds.
#[derive(Debug, Clone, Copy)]
pub(super) struct At {
    pub(super) index: usize,
    pub(super) line: usize,
    /// The step's `repeat` (1 when not written).
    pub(super) times: u32,
}

pub(super) fn err_at(at: Option<At>, suffix: &str, message: &str) -> CheckError {
    match at {
        Some(a) => (
            Some(a.line),
            format!("steps[{}]{suffix}", a.index),
            message.to_owned(),
        ),
        None => (None, "steps".to_owned(), message.to_owned()),
    }
}

pub(super) fn is_hs_send(s: &Step) -> bool {
    matches!(s, Step::Send(Send::Handshake(_), _))
}

pub(super) fn is_hs_expect(s: &Step) -> bool {
    matches!(
        s,
        Step::Expect(Expect {
            kind: ExpectKind::Handshake(_),
            ..
        })
    )
}

pub(super) fn implicit_handshake() -> Step {
    Step::Send(
        Send::Handshake(HandshakeSpec::default()),
        WriteOpts {
            flush: true,
            ..Default::default()
        },
    )
}

/// The steps of a case built in code rather than read from a file (the network fuzzer's
/// plans, one per sequence): completed and checked exactly as a file's steps are, without
/// rendering and parsing TOML for every sequence. Such steps have no lines, so an error
/// names the step's index and what is wrong.
pub fn complete_steps(steps: Vec<Step>, role: Role) -> Result<Vec<Step>, String> {
    complete_and_check(
        steps
            .into_iter()
            .map(|s| match s {
                Step::Repeat { times, step } => (*step, 0, times),
                other => (other, 0, 1),
            })
            .collect(),
        role,
    )
    .map_err(|(_, field, message)| format!("{field}: {message}"))
}

/// Adds the implicit opening handshake and rejects step sequences that cannot run.
fn complete_and_check(steps: Vec<(Step, usize, u32)>, role: Role) -> Result<Vec<Step>, CheckError> {
    let mut out: Vec<(Step, Option<At>)> = steps
        .into_iter()
        .enumerate()
        .map(|(index, (s, line, times))| (s, Some(At { index, line, times })))
        .collect();
    // The second handshake (or handshake response) is the one in the wrong place.
    for (is, what) in [
        (
            is_hs_send as fn(&Step) -> bool,
            "a case sends at most one handshake",
        ),
        (
            is_hs_expect,
            "a case expects at most one handshake response",
        ),
    ] {
        if let Some((_, at)) = out.iter().filter(|(s, _)| is(s)).nth(1) {
            return Err(err_at(*at, "", what));
        }
    }
    let hs_send = out.iter().position(|(s, _)| is_hs_send(s));
    let hs_expect = out.iter().position(|(s, _)| is_hs_expect(s));
    // Which side of the handshake wsspec plays decides what its steps may say
    // (client.rs: role = "client" cases, where wsspec is the server).
    super::client::check_role_fields(&out, role)?;
    if role == Role::Client {
        return super::client::complete(out);
    }
    match (hs_send, hs_expect) {
        (None, None) => {
            out.insert(0, (implicit_handshake(), None));
            out.insert(1, (default_handshake_expect(), None));
        }
        (None, Some(_)) => out.insert(0, (implicit_handshake(), None)),
        (Some(s), None) => {
            // Expect the response before the first other expectation, so a handshake held
            // back with `flush = false` is written together with the frames that follow.
            let at = out
                .iter()
                .enumerate()
                .skip(s + 1)
                .find(|(_, (st, _))| matches!(st, Step::Expect(_)))
                .map(|(i, _)| i)
                .unwrap_or(out.len());
            out.insert(at, (default_handshake_expect(), None));
        }
        (Some(s), Some(e)) if e < s => {
            return Err(err_at(
                out[e].1,
                "",
                "the handshake response is expected before the handshake is sent",
            ));
        }
        _ => {}
    }
    // Now check order: sends of frames only after the handshake; no expectations of frames
    // before the handshake response; nothing after an expected rejection.
    let hs_send = out.iter().position(|(s, _)| is_hs_send(s)).unwrap();
    let hs_expect = out.iter().position(|(s, _)| is_hs_expect(s)).unwrap();
    let rejects = match &out[hs_expect].0 {
        Step::Expect(Expect {
            kind: ExpectKind::Handshake(h),
            ..
        }) => !h.status.is_empty() && !h.status.iter().any(|p| p.matches(101)),
        _ => false,
    };
    for (i, (step, at)) in out.iter().enumerate() {
        match step {
            Step::Send(Send::Frame(_) | Send::Message(_), _) if i < hs_send => {
                return Err(err_at(
                    *at,
                    "",
                    "frames are sent after the handshake (use send = \"raw\" for bytes before it)",
                ));
            }
            Step::Expect(e) if i < hs_expect && !matches!(e.kind, ExpectKind::Handshake(_)) => {
                return Err(err_at(
                    *at,
                    "",
                    "frames are expected only after the handshake response",
                ));
            }
            Step::Send(Send::Frame(_) | Send::Message(_), _) | Step::Expect(_)
                if rejects && i > hs_expect =>
            {
                return Err(err_at(
                    *at,
                    "",
                    "this case expects the handshake to be rejected, so no frames can follow",
                ));
            }
            _ => {}
        }
    }
    check_deflate_steps(&out, hs_send, hs_expect)?;
    steps_flushed(out)
}

/// The checked steps without their places, once the last send flushes: `flush = false`
/// there would hold bytes that nothing writes. Both roles end their checks here.
pub(super) fn steps_flushed(out: Vec<(Step, Option<At>)>) -> Result<Vec<Step>, CheckError> {
    if let Some((_, at)) = out
        .iter()
        .rev()
        .find(|(s, _)| matches!(s, Step::Send(..)))
        .filter(|(s, _)| matches!(s, Step::Send(_, w) if !w.flush))
    {
        return Err(err_at(
            *at,
            ".flush",
            "flush = false holds bytes for the next send, but no send follows",
        ));
    }
    Ok(finish(out))
}

/// The checked steps as the case keeps them: a repeated step wrapped once with its count.
/// The checks above see each written step once, which is what they need: a repeat changes
/// how often a step runs, not the order of kinds they judge (a handshake cannot repeat).
pub(super) fn finish(out: Vec<(Step, Option<At>)>) -> Vec<Step> {
    out.into_iter()
        .map(|(step, at)| match at {
            Some(At { times, .. }) if times > 1 => Step::Repeat {
                times,
                step: Box::new(step),
            },
            _ => step,
        })
        .collect()
}

/// Compression needs an agreement: a `deflate` expectation needs an offer to judge, and a
/// compressed message needs the server to have accepted it, or the case would send RSV1
/// frames to a peer that never agreed to them and blame it for failing.
fn check_deflate_steps(
    out: &[(Step, Option<At>)],
    hs_send: usize,
    hs_expect: usize,
) -> Result<(), CheckError> {
    let offers = match &out[hs_send].0 {
        Step::Send(Send::Handshake(h), _) => {
            let mut values: Vec<&str> = h.extensions.iter().map(String::as_str).collect();
            values.extend(
                h.set
                    .iter()
                    .chain(&h.add)
                    .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-extensions"))
                    .map(|(_, v)| v.as_str()),
            );
            values.iter().any(|v| {
                v.to_ascii_lowercase()
                    .contains(crate::deflate::negotiate::NAME)
            })
        }
        _ => false,
    };
    let deflate = match &out[hs_expect].0 {
        Step::Expect(Expect {
            kind: ExpectKind::Handshake(h),
            ..
        }) => h.deflate,
        _ => None,
    };
    if deflate.is_some() && !offers {
        return Err(err_at(
            out[hs_expect].1,
            ".deflate",
            "the handshake step does not offer permessage-deflate (extensions = [\"permessage-deflate\"])",
        ));
    }
    compress_needs(out, deflate, DeflateExpect::Accepted)
}

/// A compressed message needs the handshake expectation that makes compression agreed in
/// the case's role (`accepted` by the server under test, `offered` by the client).
pub(super) fn compress_needs(
    out: &[(Step, Option<At>)],
    deflate: Option<DeflateExpect>,
    want: DeflateExpect,
) -> Result<(), CheckError> {
    for (step, at) in out {
        if let Step::Send(Send::Message(m), _) = step {
            if m.compress && deflate != Some(want) {
                let name = match want {
                    DeflateExpect::Accepted => "accepted",
                    DeflateExpect::Declined => "declined",
                    DeflateExpect::Offered => "offered",
                    DeflateExpect::OfferedAnswerInvalid => "offered-answer-invalid",
                };
                return Err(err_at(
                    *at,
                    ".compress",
                    &format!("a compressed message needs the handshake expectation to say deflate = \"{name}\""),
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn default_handshake_expect() -> Step {
    Step::Expect(Expect {
        // No request rules: in the client role the implicit step checks nothing, so each
        // request flaw fails only its own case (the response check of the server role is
        // unaffected: `rules` applies to requests only).
        kind: ExpectKind::Handshake(HandshakeExpect {
            rules: Some(Vec::new()),
            ..Default::default()
        }),
        grade: Grade::Pass,
        otherwise: Grade::Fail,
        timeout_ms: None,
        note: None,
        implicit: true,
        idle: false,
    })
}

/// Loads every `*.toml` under `dir` (recursively, in path order).
pub fn load_dir(dir: &Path) -> Result<Vec<Case>, CaseError> {
    let mut files = Vec::new();
    collect_toml(dir, &mut files)?;
    files.sort();
    let mut sources = Vec::with_capacity(files.len());
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| CaseError::Io {
            path: f.display().to_string(),
            source: e,
        })?;
        sources.push((f.display().to_string(), text));
    }
    load_sources(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
}

fn collect_toml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CaseError> {
    let io = |e| CaseError::Io {
        path: dir.display().to_string(),
        source: e,
    };
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect_toml(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses several sources and rejects duplicate ids across all of them.
pub fn load_sources<'a>(
    sources: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<Case>, CaseError> {
    let mut all = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in sources {
        match parse_file(name, text) {
            Ok(cases) => all.extend(cases),
            Err(e) => errors.push(e),
        }
    }
    if let Err(e) = check_unique(&all) {
        errors.push(e);
    }
    match errors.len() {
        0 => Ok(all),
        1 => Err(errors.remove(0)),
        _ => Err(CaseError::Many(errors)),
    }
}

/// Ids are how results, baselines and reports refer to cases: they must be unique.
pub fn check_unique(cases: &[Case]) -> Result<(), CaseError> {
    let mut seen: HashMap<&str, &str> = HashMap::with_capacity(cases.len());
    for c in cases {
        if let Some(first) = seen.insert(&c.id, &c.origin) {
            let (file, line) = c.origin.rsplit_once(':').unwrap_or((&c.origin, "0"));
            return Err(CaseError::invalid(
                file,
                line.parse().unwrap_or(0),
                "id",
                format!("duplicate id {:?}, first defined at {first}", c.id),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_index_numbers_lines_from_one() {
        let src = "a = 1\n\nb = 2\nc";
        let lines = LineIndex::new(src);
        // Offsets: 'a' 0, the blank line 6, 'b' 7, 'c' 13; a newline belongs to its line.
        for (offset, line) in [(0, 1), (5, 1), (6, 2), (7, 3), (12, 3), (13, 4), (99, 4)] {
            assert_eq!(
                lines.line_of_span(offset..offset + 1),
                line,
                "offset {offset}"
            );
        }
        assert_eq!(LineIndex::new("").line_of_span(0..0), 1);
    }
}
