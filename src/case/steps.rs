//! Parsing one step table into a typed [`Step`].
//!
//! A step is `{ send = "..." }`, `{ expect = "..." }` or `{ wait = MS }`. Each kind is its own
//! struct with `deny_unknown_fields`, so a misspelt field is an error naming the field.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::{Table, Value};

use super::model::*;
use super::payload::{parse_hex, Payload};
use crate::codec::OpCode;

/// A problem with one step: the field (dotted path inside the step) and what is wrong.
#[derive(Debug)]
pub struct StepError {
    pub field: String,
    pub message: String,
}

impl StepError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        StepError {
            field: field.into(),
            message: message.into(),
        }
    }
}

type R<T> = Result<T, StepError>;

fn typed<T: DeserializeOwned>(t: Table, prefix: &str) -> R<T> {
    serde_path_to_error::deserialize(Value::Table(t)).map_err(|e| {
        let path = e.path().to_string();
        let field = match (prefix.is_empty(), path == ".") {
            (true, _) => path,
            (false, true) => prefix.to_owned(),
            (false, false) => format!("{prefix}.{path}"),
        };
        // `message()`, not `to_string()`: the Display form appends "in `key`" on a new line,
        // and the field already says where.
        StepError::new(field, e.into_inner().message().trim().to_owned())
    })
}

pub fn parse_step(v: &Value, field: &str) -> R<Step> {
    let Value::Table(t) = v else {
        return Err(StepError::new(
            field,
            "a step must be a table such as { send = \"message\", payload = \"Hello\" }",
        ));
    };
    let kinds: Vec<&str> = ["send", "expect", "wait"]
        .into_iter()
        .filter(|k| t.contains_key(*k))
        .collect();
    match kinds.as_slice() {
        ["send"] => parse_send(t.clone(), field),
        ["expect"] => Ok(Step::Expect(parse_expect(t.clone(), field)?)),
        ["wait"] => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct W {
                wait: u64,
            }
            let w: W = typed(t.clone(), field)?;
            if w.wait > 60_000 {
                return Err(StepError::new(
                    format!("{field}.wait"),
                    "waits are limited to 60000 ms",
                ));
            }
            Ok(Step::Wait { ms: w.wait })
        }
        [] => Err(StepError::new(
            field,
            "a step needs one of `send`, `expect` or `wait`",
        )),
        _ => Err(StepError::new(
            field,
            format!(
                "a step has exactly one of `send`, `expect`, `wait`; this one has {}",
                kinds.join(", ")
            ),
        )),
    }
}

/// An opcode written as a name (`"text"`) or a number 0-15.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawOpcode {
    Num(i64),
    Name(String),
}

impl RawOpcode {
    fn resolve(&self) -> Result<u8, String> {
        match self {
            RawOpcode::Num(n) if (0..=15).contains(n) => Ok(*n as u8),
            RawOpcode::Num(n) => Err(format!("opcode {n} is outside 0-15 (it has 4 bits)")),
            RawOpcode::Name(s) => s.parse::<OpCode>().map(|o| o.0).map_err(|e| e.to_string()),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawMask {
    Flag(bool),
    Key(String),
}

fn mask_of(m: Option<RawMask>, field: &str) -> R<MaskSpec> {
    Ok(match m {
        None => MaskSpec::Auto,
        Some(RawMask::Flag(false)) => MaskSpec::None,
        Some(RawMask::Flag(true)) => MaskSpec::Random,
        Some(RawMask::Key(k)) => {
            let bytes = parse_hex(&k).map_err(|e| StepError::new(format!("{field}.mask"), e))?;
            let key: [u8; 4] = bytes.try_into().map_err(|_| {
                StepError::new(
                    format!("{field}.mask"),
                    "a mask key is 4 bytes of hex, e.g. \"37fa213d\"",
                )
            })?;
            MaskSpec::Key(key)
        }
    })
}

fn take_write_opts(t: &mut Table, field: &str) -> R<WriteOpts> {
    let mut w = WriteOpts {
        flush: true,
        ..Default::default()
    };
    if let Some(v) = t.remove("chop") {
        let n = v.as_integer().filter(|n| *n > 0).ok_or_else(|| {
            StepError::new(
                format!("{field}.chop"),
                "chop is a positive number of bytes per write",
            )
        })?;
        w.chop = Some(n as usize);
    }
    if let Some(v) = t.remove("pause_ms") {
        let n = v
            .as_integer()
            .filter(|n| (0..=10_000).contains(n))
            .ok_or_else(|| StepError::new(format!("{field}.pause_ms"), "pause_ms is 0-10000"))?;
        w.pause_ms = n as u64;
    }
    if let Some(v) = t.remove("flush") {
        w.flush = v
            .as_bool()
            .ok_or_else(|| StepError::new(format!("{field}.flush"), "flush is true or false"))?;
    }
    Ok(w)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFrame {
    #[allow(dead_code)]
    send: String,
    opcode: Option<RawOpcode>,
    fin: Option<bool>,
    rsv1: Option<bool>,
    rsv2: Option<bool>,
    rsv3: Option<bool>,
    mask: Option<RawMask>,
    /// "minimal", "7", "16" or "64"
    length: Option<String>,
    declared_len: Option<u64>,
    payload: Option<Payload>,
    code: Option<u16>,
    reason: Option<Payload>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMessage {
    #[allow(dead_code)]
    send: String,
    opcode: Option<RawOpcode>,
    payload: Option<Payload>,
    fragment_size: Option<usize>,
    fragments: Option<Vec<usize>>,
    mask: Option<RawMask>,
    #[serde(default)]
    compress: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRaw {
    #[allow(dead_code)]
    send: String,
    payload: Payload,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShutdown {
    #[allow(dead_code)]
    send: String,
}

/// Header lists: a table `{ Name = "value" }` or an ordered array `[["Name", "value"], …]`
/// (the only way to write the same name twice).
#[derive(Default)]
struct HeaderList(Vec<(String, String)>);

impl<'de> Deserialize<'de> for HeaderList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Table(std::collections::BTreeMap<String, String>),
            Pairs(Vec<(String, String)>),
        }
        match Form::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "headers are a table { Name = \"value\" } or a list [[\"Name\", \"value\"]]",
            )
        })? {
            Form::Table(t) => Ok(HeaderList(t.into_iter().collect())),
            Form::Pairs(p) => Ok(HeaderList(p)),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHandshake {
    #[allow(dead_code)]
    send: String,
    method: Option<String>,
    target: Option<String>,
    version: Option<String>,
    request_line: Option<String>,
    status: Option<u16>,
    reason: Option<String>,
    status_line: Option<String>,
    #[serde(default)]
    set: HeaderList,
    #[serde(default)]
    add: HeaderList,
    #[serde(default)]
    remove: Vec<String>,
    #[serde(default)]
    rename: HeaderList,
    #[serde(default)]
    protocols: Vec<String>,
    #[serde(default)]
    extensions: Vec<String>,
}

fn no_crlf(s: &str, field: &str) -> R<()> {
    if s.contains(['\r', '\n']) {
        return Err(StepError::new(
            field,
            "must not contain CR or LF (use `send = \"raw\"` for arbitrary bytes)",
        ));
    }
    Ok(())
}

fn parse_send(mut t: Table, field: &str) -> R<Step> {
    let opts = take_write_opts(&mut t, field)?;
    let kind = t
        .get("send")
        .and_then(Value::as_str)
        .ok_or_else(|| StepError::new(format!("{field}.send"), "send is a string"))?
        .to_owned();
    let send = match kind.as_str() {
        "frame" | "ping" | "pong" | "close" | "text" | "binary" | "continuation" => {
            Send::Frame(frame_spec(&kind, t, field)?)
        }
        "message" => Send::Message(message_spec(t, field)?),
        "raw" => {
            let r: RawRaw = typed(t, field)?;
            Send::Raw(r.payload)
        }
        "shutdown" => {
            let _: RawShutdown = typed(t, field)?;
            Send::Shutdown
        }
        "second_stream_error" => {
            let _: RawShutdown = typed(t, field)?;
            Send::SecondStreamError
        }
        "handshake" => Send::Handshake(handshake_spec(t, field)?),
        other => {
            return Err(StepError::new(
                format!("{field}.send"),
                format!("unknown send kind {other:?}; expected handshake, frame, text, binary, continuation, ping, pong, close, message, raw, shutdown or second_stream_error"),
            ))
        }
    };
    Ok(Step::Send(send, opts))
}

/// `send = "frame"` and the kinds that fix its opcode (`"ping"`, `"close"`, ...): one frame,
/// every header bit the case's to choose.
fn frame_spec(kind: &str, t: Table, field: &str) -> R<FrameSpec> {
    let r: RawFrame = typed(t, field)?;
    let fixed = match kind {
        "frame" => None,
        other => Some(other.parse::<OpCode>().map(|o| o.0).unwrap_or(0)),
    };
    let opcode = match (&r.opcode, fixed) {
        (Some(_), Some(_)) => {
            return Err(StepError::new(
                format!("{field}.opcode"),
                format!(
                    "`send = \"{kind}\"` fixes the opcode; use `send = \"frame\"` to choose one"
                ),
            ))
        }
        (Some(o), None) => o
            .resolve()
            .map_err(|e| StepError::new(format!("{field}.opcode"), e))?,
        (None, Some(o)) => o,
        (None, None) => {
            return Err(StepError::new(
                format!("{field}.opcode"),
                "`send = \"frame\"` needs an opcode",
            ))
        }
    };
    let payload = if r.code.is_some() || r.reason.is_some() {
        if opcode != OpCode::CLOSE.0 {
            return Err(StepError::new(
                format!("{field}.code"),
                "code and reason belong to close frames",
            ));
        }
        if r.payload.is_some() {
            return Err(StepError::new(
                format!("{field}.payload"),
                "give either payload or code/reason, not both",
            ));
        }
        if r.code.is_none() {
            return Err(StepError::new(
                format!("{field}.reason"),
                "a close reason needs a code (RFC 6455 §5.5.1)",
            ));
        }
        let mut parts = vec![Payload::Bytes(r.code.unwrap().to_be_bytes().to_vec())];
        if let Some(reason) = r.reason {
            parts.push(reason);
        }
        Payload::Concat(parts)
    } else {
        r.payload.unwrap_or_default()
    };
    let length_form = match r.length.as_deref() {
        None | Some("minimal") => LengthSpec::Minimal,
        Some("7") => LengthSpec::Bits7,
        Some("16") => LengthSpec::Bits16,
        Some("64") => LengthSpec::Bits64,
        Some(other) => {
            return Err(StepError::new(
                format!("{field}.length"),
                format!("{other:?}: length is \"minimal\", \"7\", \"16\" or \"64\""),
            ))
        }
    };
    if length_form == LengthSpec::Bits7 && payload.len() > 125 {
        return Err(StepError::new(
            format!("{field}.length"),
            format!(
                "a 7-bit length holds at most 125, the payload has {} bytes",
                payload.len()
            ),
        ));
    }
    if length_form == LengthSpec::Bits16 && payload.len() > 65535 {
        return Err(StepError::new(
            format!("{field}.length"),
            format!(
                "a 16-bit length holds at most 65535, the payload has {} bytes",
                payload.len()
            ),
        ));
    }
    Ok(FrameSpec {
        opcode,
        fin: r.fin.unwrap_or(true),
        rsv1: r.rsv1.unwrap_or(false),
        rsv2: r.rsv2.unwrap_or(false),
        rsv3: r.rsv3.unwrap_or(false),
        mask: mask_of(r.mask, field)?,
        length_form,
        declared_len: r.declared_len,
        payload,
    })
}

/// `send = "message"`: a text or binary message, whole or fragmented, maybe compressed.
fn message_spec(t: Table, field: &str) -> R<MessageSpec> {
    let r: RawMessage = typed(t, field)?;
    let opcode = match &r.opcode {
        Some(o) => o
            .resolve()
            .map_err(|e| StepError::new(format!("{field}.opcode"), e))?,
        None => OpCode::TEXT.0,
    };
    if opcode != OpCode::TEXT.0 && opcode != OpCode::BINARY.0 {
        return Err(StepError::new(
            format!("{field}.opcode"),
            "a message is text or binary; send other opcodes with `send = \"frame\"`",
        ));
    }
    let payload = r.payload.unwrap_or_default();
    let fragments = match (r.fragment_size, r.fragments) {
        (Some(_), Some(_)) => {
            return Err(StepError::new(
                format!("{field}.fragments"),
                "give fragment_size or fragments, not both",
            ))
        }
        (Some(0), None) => {
            return Err(StepError::new(
                format!("{field}.fragment_size"),
                "fragment_size must be at least 1",
            ))
        }
        (Some(n), None) => {
            if payload.len() / n > 1_000_000 {
                return Err(StepError::new(
                    format!("{field}.fragment_size"),
                    "more than 1000000 fragments",
                ));
            }
            Fragmenting::Size(n)
        }
        (None, Some(sizes)) if r.compress => {
            if sizes.is_empty() || sizes.len() > 1_000_000 {
                return Err(StepError::new(
                    format!("{field}.fragments"),
                    "give 1 to 1000000 fragment sizes",
                ));
            }
            Fragmenting::Sizes(sizes)
        }
        (None, Some(sizes)) => {
            let total: usize = sizes.iter().sum();
            if total != payload.len() || sizes.is_empty() {
                return Err(StepError::new(
                    format!("{field}.fragments"),
                    format!(
                        "fragment sizes add up to {total}, the payload has {} bytes",
                        payload.len()
                    ),
                ));
            }
            Fragmenting::Sizes(sizes)
        }
        (None, None) => Fragmenting::Whole,
    };
    Ok(MessageSpec {
        opcode,
        payload,
        fragments,
        mask: mask_of(r.mask, field)?,
        compress: r.compress,
    })
}

/// `send = "handshake"`: the request (server cases) or the response (client cases), as
/// the case shapes it.
fn handshake_spec(t: Table, field: &str) -> R<HandshakeSpec> {
    let r: RawHandshake = typed(t, field)?;
    // Everything here ends up in the request head; a CR or LF would end a line early
    // and inject headers the case does not show.
    for (name, list) in [
        ("set", &r.set.0),
        ("add", &r.add.0),
        ("rename", &r.rename.0),
    ] {
        for (i, (k, v)) in list.iter().enumerate() {
            no_crlf(k, &format!("{field}.{name}[{i}]"))?;
            no_crlf(v, &format!("{field}.{name}[{i}]"))?;
        }
    }
    for (name, list) in [
        ("remove", &r.remove),
        ("protocols", &r.protocols),
        ("extensions", &r.extensions),
    ] {
        for (i, v) in list.iter().enumerate() {
            no_crlf(v, &format!("{field}.{name}[{i}]"))?;
        }
    }
    for (name, v) in [
        ("method", &r.method),
        ("target", &r.target),
        ("version", &r.version),
        ("request_line", &r.request_line),
    ] {
        if let Some(v) = v {
            no_crlf(v, &format!("{field}.{name}"))?;
        }
    }
    if let Some(l) = &r.reason {
        no_crlf(l, &format!("{field}.reason"))?;
    }
    if let Some(l) = &r.status_line {
        no_crlf(l, &format!("{field}.status_line"))?;
    }
    if r.status.is_some_and(|s| !(100..=999).contains(&s)) {
        return Err(StepError::new(
            format!("{field}.status"),
            "status is a three-digit code 100-999 (use status_line for anything else)",
        ));
    }
    Ok(HandshakeSpec {
        status: r.status,
        reason: r.reason,
        status_line: r.status_line,
        method: r.method,
        target: r.target,
        version: r.version,
        request_line: r.request_line,
        set: r.set.0,
        add: r.add.0,
        remove: r.remove,
        rename: r.rename.0,
        protocols: r.protocols,
        extensions: r.extensions,
    })
}

fn take_grade(t: &mut Table, key: &str, default: Grade, field: &str) -> R<Grade> {
    match t.remove(key) {
        None => Ok(default),
        // `error` is wsspec's own verdict for a case it could not judge, never a case's.
        Some(v) => Grade::deserialize(v)
            .ok()
            .filter(|g| *g != Grade::Error)
            .ok_or_else(|| {
            StepError::new(format!("{field}.{key}"), "a grade is \"pass\", \"non-strict\", \"informational\", \"unimplemented\" or \"fail\"")
        }),
    }
}

/// `status` is read as a plain value so that every wrong form (a number out of range, a
/// table) gets the same message instead of serde's "did not match any variant".
fn status_patterns(s: Value, field: &str) -> R<Vec<StatusPattern>> {
    let items = match s {
        Value::Array(v) => v,
        one => vec![one],
    };
    items
        .into_iter()
        .map(|i| match i {
            Value::Integer(c) if (100..=599).contains(&c) => Ok(StatusPattern::Exact(c as u16)),
            Value::String(s)
                if s.len() == 3 && s.ends_with("xx") && matches!(s.as_bytes()[0], b'1'..=b'5') =>
            {
                Ok(StatusPattern::Class((s.as_bytes()[0] - b'0') as u16))
            }
            _ => Err(StepError::new(
                format!("{field}.status"),
                "status is a code 100-599 or a class such as \"4xx\"",
            )),
        })
        .collect()
}

fn parse_expect(mut t: Table, field: &str) -> R<Expect> {
    let grade = take_grade(&mut t, "grade", Grade::Pass, field)?;
    let accepted = match t.contains_key("accepted") {
        true => Some(take_grade(&mut t, "accepted", Grade::Pass, field)?),
        false => None,
    };
    let otherwise = take_grade(&mut t, "otherwise", Grade::Fail, field)?;
    let timeout_ms = match t.remove("timeout_ms") {
        None => None,
        Some(v) => Some(
            v.as_integer()
                .filter(|n| (1..=600_000).contains(n))
                .ok_or_else(|| {
                    StepError::new(format!("{field}.timeout_ms"), "timeout_ms is 1-600000")
                })? as u64,
        ),
    };
    let note = match t.remove("note") {
        None => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(StepError::new(format!("{field}.note"), "note is a string")),
    };
    let idle = match t.remove("idle") {
        None => false,
        Some(Value::Boolean(b)) => b,
        Some(_) => {
            return Err(StepError::new(
                format!("{field}.idle"),
                "idle is true or false",
            ))
        }
    };
    let kind_name = t
        .get("expect")
        .and_then(Value::as_str)
        .ok_or_else(|| StepError::new(format!("{field}.expect"), "expect is a string"))?
        .to_owned();
    let kind = match kind_name.as_str() {
        "handshake" => ExpectKind::Handshake(handshake_expect(t, field, accepted)?),
        "message" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct M {
                #[allow(dead_code)]
                expect: String,
                opcode: Option<RawOpcode>,
                payload: Option<Payload>,
            }
            let m: M = typed(t, field)?;
            let opcode = match &m.opcode {
                Some(o) => Some(o.resolve().map_err(|e| StepError::new(format!("{field}.opcode"), e))?),
                None => None,
            };
            if let Some(o) = opcode {
                if o != OpCode::TEXT.0 && o != OpCode::BINARY.0 {
                    return Err(StepError::new(format!("{field}.opcode"), "a message is text or binary"));
                }
            }
            ExpectKind::Message { opcode, payload: m.payload }
        }
        "pong" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct P {
                #[allow(dead_code)]
                expect: String,
                payload: Option<Payload>,
            }
            let p: P = typed(t, field)?;
            ExpectKind::Pong { payload: p.payload }
        }
        "ping" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct P {
                #[allow(dead_code)]
                expect: String,
            }
            let _: P = typed(t, field)?;
            ExpectKind::Ping
        }
        "close" | "fail" => close_expect(&kind_name, t, field)?,
        "tcp_closed" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct T {
                #[allow(dead_code)]
                expect: String,
            }
            let _: T = typed(t, field)?;
            ExpectKind::TcpClosed
        }
        "silence" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct S {
                #[allow(dead_code)]
                expect: String,
                ms: u64,
            }
            let s: S = typed(t, field)?;
            if s.ms == 0 || s.ms > 60_000 {
                return Err(StepError::new(format!("{field}.ms"), "silence lasts 1-60000 ms"));
            }
            ExpectKind::Silence { ms: s.ms }
        }
        "any" => ExpectKind::Any(any_of(t, field)?),
        other => {
            return Err(StepError::new(
                format!("{field}.expect"),
                format!("unknown expectation {other:?}; expected handshake, message, pong, ping, close, fail, tcp_closed, silence or any"),
            ))
        }
    };
    if accepted.is_some() {
        let refusal = matches!(&kind, ExpectKind::Handshake(h)
            if !h.status.is_empty() && !h.status.iter().any(|p| p.matches(101)));
        if !refusal {
            return Err(StepError::new(format!("{field}.accepted"), "`accepted` grades a 101 where a handshake expectation asks for a refusal (a `status` without 101)"));
        }
    }
    Ok(Expect {
        kind,
        grade,
        otherwise,
        timeout_ms,
        note,
        implicit: false,
        idle,
    })
}

/// `expect = "handshake"`: the peer's response (server cases) or request (client cases).
fn handshake_expect(t: Table, field: &str, accepted: Option<Grade>) -> R<HandshakeExpect> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct H {
        #[allow(dead_code)]
        expect: String,
        status: Option<Value>,
        #[serde(default)]
        headers: HeaderList,
        #[serde(default)]
        absent: Vec<String>,
        rules: Option<Vec<RequestCheck>>,
        deflate: Option<DeflateExpect>,
    }
    let h: H = typed(t, field)?;
    Ok(HandshakeExpect {
        status: match h.status {
            Some(s) => status_patterns(s, field)?,
            None => Vec::new(),
        },
        headers: h.headers.0,
        absent: h.absent,
        rules: h.rules,
        deflate: h.deflate,
        accepted,
    })
}

/// `expect = "close"` (a close frame) and `expect = "fail"` (the connection failed), each
/// with the codes that meet it.
fn close_expect(kind: &str, t: Table, field: &str) -> R<ExpectKind> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct C {
        #[allow(dead_code)]
        expect: String,
        #[serde(default)]
        codes: Vec<u16>,
        #[serde(default)]
        codes_not: Vec<u16>,
    }
    let c: C = typed(t, field)?;
    if kind == "close" {
        if !c.codes_not.is_empty() {
            return Err(StepError::new(
                format!("{field}.codes_not"),
                "`codes_not` belongs to `expect = \"fail\"`",
            ));
        }
        Ok(ExpectKind::Close { codes: c.codes })
    } else {
        if let Some(c) = c.codes_not.iter().find(|n| c.codes.contains(n)) {
            return Err(StepError::new(
                format!("{field}.codes_not"),
                format!("code {c} is in both `codes` and `codes_not`"),
            ));
        }
        Ok(ExpectKind::Fail {
            codes: c.codes,
            codes_not: c.codes_not,
        })
    }
}

/// `expect = "any"`: alternatives of the kinds that can decide on one event.
fn any_of(mut t: Table, field: &str) -> R<Vec<Expect>> {
    let of = match t.remove("of") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        _ => return Err(StepError::new(format!("{field}.of"), "`expect = \"any\"` needs `of = [ { expect = ... }, ... ]` with at least one alternative")),
    };
    t.remove("expect");
    if let Some(k) = t.keys().next() {
        return Err(StepError::new(
            format!("{field}.{k}"),
            "unknown field for `expect = \"any\"`",
        ));
    }
    let mut alts = Vec::with_capacity(of.len());
    for (i, item) in of.iter().enumerate() {
        let f = format!("{field}.of[{i}]");
        let Value::Table(it) = item else {
            return Err(StepError::new(
                f,
                "an alternative is a table { expect = ... }",
            ));
        };
        let alt = parse_expect(it.clone(), &f)?;
        if matches!(
            alt.kind,
            ExpectKind::Any(_)
                | ExpectKind::Silence { .. }
                | ExpectKind::Handshake(_)
                | ExpectKind::Ping
        ) {
            return Err(StepError::new(
                format!("{f}.expect"),
                "alternatives are message, pong, close, fail or tcp_closed",
            ));
        }
        alts.push(alt);
    }
    Ok(alts)
}
