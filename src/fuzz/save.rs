//! Case files from plans: what the fuzzer runs and what it saves are the same case.
//!
//! Every iteration's case is built straight from its plan by [`case`], with the loader's
//! own completion and checks (`case::load::complete_steps`); rendering TOML and parsing it
//! back for every sequence cost more than half of the fuzzer's time. Only findings are
//! rendered ([`case_toml`]), and the loader reads such a file back to the same case (a
//! property test below holds both ways together), so
//! `wsspec server URL --cases-dir DIR --cases fuzz` runs a saved reproducer unchanged.

use std::path::{Path, PathBuf};

use super::oracle::Plan;
use crate::case::{
    Case, CaseError, Expect, ExpectKind, Fragmenting, Grade, HandshakeSpec, LengthSpec, Level,
    MaskSpec, Role, Send, StatusPattern, Step, WriteOpts,
};
use crate::codec::OpCode;
use crate::text::hex;

/// What a case file says about a plan besides its steps.
#[derive(Debug, Clone)]
pub struct CaseMeta {
    pub id: String,
    pub title: String,
    pub section: String,
    pub requirement: String,
    /// Comment lines written above the case (without `# `).
    pub comment: Vec<String>,
}

/// A TOML basic string with every character that needs it escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn hex_spaced(bytes: &[u8]) -> String {
    let h = hex(bytes);
    let mut out = String::with_capacity(h.len() * 3 / 2);
    for (i, pair) in h.as_bytes().chunks(2).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(std::str::from_utf8(pair).expect("hex is ASCII"));
    }
    out
}

fn hex_payload(bytes: &[u8]) -> String {
    format!("{{ hex = {} }}", quote(&hex_spaced(bytes)))
}

/// A payload as a reader wants it: text when it is UTF-8 without control characters (the
/// loader reads a plain string as its UTF-8 bytes, so nothing changes on the wire), hex
/// otherwise.
fn payload(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(t) if !t.chars().any(char::is_control) => quote(t),
        _ => hex_payload(bytes),
    }
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

fn pairs(items: &[(String, String)]) -> String {
    list(
        &items
            .iter()
            .map(|(k, v)| format!("[{}, {}]", quote(k), quote(v)))
            .collect::<Vec<_>>(),
    )
}

fn table(fields: Vec<String>) -> String {
    format!("{{ {} }}", fields.join(", "))
}

fn mask_field(m: MaskSpec, fields: &mut Vec<String>) {
    match m {
        MaskSpec::Auto => {}
        MaskSpec::Random => fields.push("mask = true".into()),
        MaskSpec::None => fields.push("mask = false".into()),
        MaskSpec::Key(k) => fields.push(format!("mask = {}", quote(&hex(&k)))),
    }
}

fn write_opts(o: &WriteOpts, fields: &mut Vec<String>) {
    if let Some(c) = o.chop {
        fields.push(format!("chop = {c}"));
    }
    if o.pause_ms > 0 {
        fields.push(format!("pause_ms = {}", o.pause_ms));
    }
    if !o.flush {
        fields.push("flush = false".into());
    }
}

fn handshake_fields(h: &HandshakeSpec, f: &mut Vec<String>) {
    for (name, v) in [
        ("method", &h.method),
        ("target", &h.target),
        ("version", &h.version),
        ("request_line", &h.request_line),
    ] {
        if let Some(v) = v {
            f.push(format!("{name} = {}", quote(v)));
        }
    }
    for (name, v) in [("set", &h.set), ("add", &h.add), ("rename", &h.rename)] {
        if !v.is_empty() {
            f.push(format!("{name} = {}", pairs(v)));
        }
    }
    for (name, v) in [
        ("remove", &h.remove),
        ("protocols", &h.protocols),
        ("extensions", &h.extensions),
    ] {
        if !v.is_empty() {
            let q: Vec<String> = v.iter().map(|s| quote(s)).collect();
            f.push(format!("{name} = {}", list(&q)));
        }
    }
}

fn send_toml(send: &Send, opts: &WriteOpts) -> String {
    let mut f = Vec::new();
    match send {
        Send::Handshake(h) => {
            f.push("send = \"handshake\"".into());
            handshake_fields(h, &mut f);
        }
        Send::Frame(fs) => {
            let kind = match fs.opcode {
                0 => "continuation",
                1 => "text",
                2 => "binary",
                8 => "close",
                9 => "ping",
                10 => "pong",
                _ => "frame",
            };
            f.push(format!("send = {}", quote(kind)));
            if kind == "frame" {
                f.push(format!("opcode = {}", fs.opcode));
            }
            if !fs.fin {
                f.push("fin = false".into());
            }
            for (name, set) in [("rsv1", fs.rsv1), ("rsv2", fs.rsv2), ("rsv3", fs.rsv3)] {
                if set {
                    f.push(format!("{name} = true"));
                }
            }
            mask_field(fs.mask, &mut f);
            match fs.length_form {
                LengthSpec::Minimal => {}
                LengthSpec::Bits7 => f.push("length = \"7\"".into()),
                LengthSpec::Bits16 => f.push("length = \"16\"".into()),
                LengthSpec::Bits64 => f.push("length = \"64\"".into()),
            }
            if let Some(d) = fs.declared_len {
                f.push(format!("declared_len = {d}"));
            }
            let bytes = fs.payload.bytes();
            if fs.opcode == OpCode::CLOSE.0 && bytes.len() >= 2 {
                // Close bodies read better as a code and a reason.
                f.push(format!(
                    "code = {}",
                    u16::from_be_bytes([bytes[0], bytes[1]])
                ));
                if bytes.len() > 2 {
                    f.push(format!("reason = {}", payload(&bytes[2..])));
                }
            } else if !bytes.is_empty() {
                f.push(format!("payload = {}", payload(&bytes)));
            }
        }
        Send::Message(m) => {
            f.push("send = \"message\"".into());
            f.push(format!("opcode = {}", quote(OpCode(m.opcode).name())));
            let bytes = m.payload.bytes();
            if !bytes.is_empty() {
                f.push(format!("payload = {}", payload(&bytes)));
            }
            match &m.fragments {
                Fragmenting::Whole => {}
                Fragmenting::Size(n) => f.push(format!("fragment_size = {n}")),
                Fragmenting::Sizes(s) => {
                    let items: Vec<String> = s.iter().map(|n| n.to_string()).collect();
                    f.push(format!("fragments = {}", list(&items)));
                }
            }
            mask_field(m.mask, &mut f);
        }
        Send::Raw(p) => {
            f.push("send = \"raw\"".into());
            f.push(format!("payload = {}", hex_payload(&p.bytes())));
        }
        Send::Shutdown => f.push("send = \"shutdown\"".into()),
        Send::SecondStreamError => f.push("send = \"second_stream_error\"".into()),
    }
    write_opts(opts, &mut f);
    table(f)
}

fn status_toml(s: &[StatusPattern]) -> String {
    let one = |p: &StatusPattern| match p {
        StatusPattern::Exact(c) => c.to_string(),
        StatusPattern::Class(c) => quote(&format!("{c}xx")),
    };
    match s {
        [p] => one(p),
        _ => list(&s.iter().map(one).collect::<Vec<_>>()),
    }
}

fn expect_toml(e: &Expect) -> String {
    let mut f = Vec::new();
    match &e.kind {
        ExpectKind::Handshake(h) => {
            f.push("expect = \"handshake\"".into());
            if !h.status.is_empty() {
                f.push(format!("status = {}", status_toml(&h.status)));
            }
            if !h.headers.is_empty() {
                f.push(format!("headers = {}", pairs(&h.headers)));
            }
            if !h.absent.is_empty() {
                let q: Vec<String> = h.absent.iter().map(|s| quote(s)).collect();
                f.push(format!("absent = {}", list(&q)));
            }
            if let Some(g) = h.accepted {
                f.push(format!("accepted = {}", quote(g.as_str())));
            }
        }
        ExpectKind::Message { opcode, payload } => {
            f.push("expect = \"message\"".into());
            if let Some(o) = opcode {
                f.push(format!("opcode = {}", quote(OpCode(*o).name())));
            }
            if let Some(p) = payload {
                f.push(format!("payload = {}", self::payload(&p.bytes())));
            }
        }
        ExpectKind::Pong { payload } => {
            f.push("expect = \"pong\"".into());
            if let Some(p) = payload {
                f.push(format!("payload = {}", self::payload(&p.bytes())));
            }
        }
        ExpectKind::Close { codes } | ExpectKind::Fail { codes, .. } => {
            let name = if matches!(e.kind, ExpectKind::Close { .. }) {
                "close"
            } else {
                "fail"
            };
            f.push(format!("expect = {}", quote(name)));
            if !codes.is_empty() {
                let c: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
                f.push(format!("codes = {}", list(&c)));
            }
            if let ExpectKind::Fail { codes_not, .. } = &e.kind {
                if !codes_not.is_empty() {
                    let c: Vec<String> = codes_not.iter().map(|c| c.to_string()).collect();
                    f.push(format!("codes_not = {}", list(&c)));
                }
            }
        }
        ExpectKind::TcpClosed => f.push("expect = \"tcp_closed\"".into()),
        ExpectKind::Ping => f.push("expect = \"ping\"".into()),
        ExpectKind::Silence { ms } => {
            f.push("expect = \"silence\"".into());
            f.push(format!("ms = {ms}"));
        }
        ExpectKind::Any(alts) => {
            f.push("expect = \"any\"".into());
            let items: Vec<String> = alts.iter().map(expect_toml).collect();
            f.push(format!("of = {}", list(&items)));
        }
    }
    if e.grade != Grade::Pass {
        f.push(format!("grade = {}", quote(e.grade.as_str())));
    }
    if e.otherwise != Grade::Fail {
        f.push(format!("otherwise = {}", quote(e.otherwise.as_str())));
    }
    if e.idle {
        f.push("idle = true".into());
    }
    if let Some(t) = e.timeout_ms {
        f.push(format!("timeout_ms = {t}"));
    }
    if let Some(n) = &e.note {
        f.push(format!("note = {}", quote(n)));
    }
    table(f)
}

/// One step as an inline table.
pub(crate) fn step_toml(step: &Step) -> String {
    match step {
        Step::Send(s, o) => send_toml(s, o),
        Step::Expect(e) => expect_toml(e),
        Step::Wait { ms } => format!("{{ wait = {ms} }}"),
        // The inner table with `repeat` added before its closing brace.
        Step::Repeat { times, step } => {
            let inner = step_toml(step);
            let body = inner.strip_suffix(" }").unwrap_or(&inner);
            format!("{body}, repeat = {times} }}")
        }
    }
}

/// The steps of a plan, one inline table per line.
pub fn steps_toml(plan: &Plan) -> String {
    lines(plan.steps.iter())
}

fn lines<'a>(steps: impl Iterator<Item = &'a Step>) -> String {
    let mut s = String::new();
    for step in steps {
        s.push_str("  ");
        s.push_str(&step_toml(step));
        s.push_str(",\n");
    }
    s
}

/// The steps of a loaded case as they were written: without those the loader adds (the
/// implicit opening handshake and the expectation of its response).
pub fn written_steps(case: &Case) -> String {
    let steps = &case.steps;
    let implicit_request = matches!(
        (steps.first(), steps.get(1)),
        (Some(Step::Send(Send::Handshake(_), _)), Some(Step::Expect(e))) if e.implicit
    );
    lines(
        steps
            .iter()
            .skip(if implicit_request { 1 } else { 0 })
            .filter(|s| !matches!(s, Step::Expect(e) if e.implicit)),
    )
}

/// A whole case file holding one case.
pub fn case_toml(meta: &CaseMeta, plan: &Plan) -> String {
    let mut s = String::new();
    for line in &meta.comment {
        if line.is_empty() {
            s.push_str("#\n");
        } else {
            s.push_str("# ");
            s.push_str(line);
            s.push('\n');
        }
    }
    s.push_str("[[case]]\n");
    s.push_str(&format!("id = {}\n", quote(&meta.id)));
    s.push_str(&format!("title = {}\n", quote(&meta.title)));
    s.push_str(&format!("section = {}\n", quote(&meta.section)));
    s.push_str(&format!("requirement = {}\n", quote(&meta.requirement)));
    s.push_str("level = \"MUST\"\n");
    s.push_str("role = \"server\"\n");
    if !plan.close {
        s.push_str("close = false\n");
    }
    s.push_str("steps = [\n");
    s.push_str(&steps_toml(plan));
    s.push_str("]\n");
    s
}

/// The case [`case_toml`] writes, built without the file: what [`load`] would make of
/// `case_toml(meta, plan)` (payloads may differ in form, e.g. text for bytes, never in
/// bytes).
pub fn case(meta: &CaseMeta, plan: &Plan) -> Result<Case, CaseError> {
    // Where the loader would say the case starts: after the comment lines.
    let line = meta.comment.len() + 1;
    let file = format!("{}.toml", meta.id);
    let steps =
        crate::case::load::complete_steps(plan.steps.clone(), Role::Server).map_err(|message| {
            CaseError::Invalid {
                file: file.clone(),
                line,
                field: "steps".into(),
                message,
            }
        })?;
    Ok(Case {
        id: meta.id.clone(),
        title: meta.title.clone(),
        section: meta.section.clone(),
        requirement: meta.requirement.clone(),
        level: Level::Must,
        role: Role::Server,
        autobahn: None,
        autobahn_note: None,
        timeout_ms: None,
        close: plan.close,
        opt_in: false,
        pongs: true,
        run_check: None,
        steps,
        origin: format!("{file}:{line}"),
        deviations: Vec::new(),
    })
}

/// Loads a case file made by [`case_toml`].
pub fn load(name: &str, toml: &str) -> Result<Case, CaseError> {
    let mut cases = crate::case::load::parse_file(name, toml)?;
    match cases.len() {
        1 => Ok(cases.remove(0)),
        n => Err(CaseError::Invalid {
            file: name.to_owned(),
            line: 1,
            field: "case".into(),
            message: format!("expected one case, found {n}"),
        }),
    }
}

/// Writes `toml` as `DIR/<id>.toml`, creating the directory.
pub fn write(dir: &Path, id: &str, toml: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{id}.toml"));
    std::fs::write(&path, toml)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::super::generate::generate;
    use super::super::oracle::plan;
    use super::*;
    use crate::case::Payload;

    fn meta(id: &str) -> CaseMeta {
        CaseMeta {
            id: id.into(),
            title: "a \"quoted\" title\twith a tab".into(),
            section: "RFC 6455 §5.2".into(),
            requirement: "MUST \\ backslash".into(),
            comment: vec!["first".into(), String::new(), "third".into()],
        }
    }

    #[test]
    fn quoting_survives_toml() {
        for s in [
            "plain",
            "a\"b",
            "back\\slash",
            "tab\tnew\nline",
            "\u{1}ctl",
            "κόσμε",
        ] {
            let v: toml::Table = toml::from_str(&format!("k = {}", quote(s))).unwrap();
            assert_eq!(v["k"].as_str(), Some(s));
        }
    }

    /// Payloads as their bytes: the loader reads a plain string as text and a close body as
    /// a code and a reason, where the plan holds bytes; the wire cannot tell them apart.
    fn bytes_only(p: &mut Payload) {
        *p = Payload::Bytes(p.bytes());
    }

    fn bytes_only_expect(e: &mut Expect) {
        match &mut e.kind {
            ExpectKind::Message {
                payload: Some(p), ..
            }
            | ExpectKind::Pong { payload: Some(p) } => bytes_only(p),
            ExpectKind::Any(alts) => alts.iter_mut().for_each(bytes_only_expect),
            _ => {}
        }
    }

    /// Everything a run uses of a case, payloads as bytes.
    fn runnable(mut c: Case) -> String {
        for step in &mut c.steps {
            match step {
                Step::Send(Send::Frame(f), _) => bytes_only(&mut f.payload),
                Step::Send(Send::Message(m), _) => bytes_only(&mut m.payload),
                Step::Send(Send::Raw(p), _) => bytes_only(p),
                Step::Expect(e) => bytes_only_expect(e),
                _ => {}
            }
        }
        format!("{c:?}")
    }

    #[test]
    fn a_built_case_keeps_the_loaders_implicit_handshake_and_origin() {
        let p = plan(&generate(7, 3)).unwrap();
        let c = case(&meta("fuzz.test.7-3"), &p).unwrap();
        assert!(matches!(c.steps[0], Step::Send(Send::Handshake(_), _)));
        assert!(matches!(&c.steps[1], Step::Expect(e) if e.implicit));
        assert_eq!(c.steps.len(), p.steps.len() + 2);
        assert_eq!(c.origin, "fuzz.test.7-3.toml:4");
    }

    /// The fuzzer runs the built case and saves the file: the two must be one case.
    #[quickcheck_macros::quickcheck]
    fn built_cases_are_what_their_saved_files_load_to(seed: u64, iteration: u16) -> bool {
        let p = plan(&generate(seed, u64::from(iteration))).unwrap();
        let m = meta("fuzz.test.1-2");
        let text = case_toml(&m, &p);
        let loaded = load("fuzz.test.1-2.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let built = case(&m, &p).unwrap();
        let (built, loaded) = (runnable(built), runnable(loaded));
        if built != loaded {
            eprintln!("built:  {built}\nloaded: {loaded}\n{text}");
        }
        built == loaded
    }

    #[quickcheck_macros::quickcheck]
    fn generated_sequences_load_back_from_their_saved_form(seed: u64, iteration: u16) -> bool {
        let p = plan(&generate(seed, u64::from(iteration))).unwrap();
        let text = case_toml(&meta("fuzz.test.1-2"), &p);
        let case = load("generated.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        // Loading and writing again gives the same steps: nothing is lost either way.
        written_steps(&case) == steps_toml(&p) && case.close == p.close
    }
}
