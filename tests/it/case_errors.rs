//! Every kind of case-file error names the file, the line to look at and the field.
//!
//! Case authors know the RFC, not our code: an error has to send them to the exact place.
//! Each test builds a file that is valid except for one thing and checks the error's
//! `file:line: field: message` against the line where that one thing was written.

use std::path::{Path, PathBuf};

use wsspec::case::{load_dir, load_sources, CaseError};

/// A valid case with `extra` top-level fields and the given step lines.
fn case(extra: &str, steps: &str) -> String {
    format!(
        "# a comment line\n\
         [[case]]\n\
         id = \"t.case\"\n\
         title = \"t\"\n\
         section = \"RFC 6455 §5.2\"\n\
         requirement = \"r\"\n\
         level = \"MUST\"\n\
         role = \"server\"\n\
         {extra}\n\
         steps = [\n\
         {steps}\n\
         ]\n"
    )
}

/// The simplest valid step list.
const PING: &str = "  { send = \"ping\", payload = \"p\" },\n  { expect = \"pong\" },";

/// 1-based number of the only line containing `needle`.
fn line_of(src: &str, needle: &str) -> usize {
    let hits: Vec<usize> = src
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "{needle:?} must be on exactly one line of:\n{src}"
    );
    hits[0]
}

struct Invalid {
    file: String,
    line: usize,
    field: String,
    message: String,
    text: String,
}

fn invalid(e: CaseError) -> Invalid {
    let text = e.to_string();
    match e {
        CaseError::Invalid {
            file,
            line,
            field,
            message,
        } => Invalid {
            file,
            line,
            field,
            message,
            text,
        },
        other => panic!("expected an invalid-file error, got {other}"),
    }
}

fn error_in(sources: &[(&str, &str)]) -> Invalid {
    match load_sources(sources.iter().copied()) {
        Ok(cases) => panic!("expected an error, loaded {} cases", cases.len()),
        Err(e) => invalid(e),
    }
}

/// Loads `src` as `x.toml` and checks the error: on the line holding `at`, naming `field`,
/// with a message containing `says`. The printed form must be `x.toml:LINE: FIELD: ...`,
/// on one line.
#[track_caller]
fn assert_error(src: &str, at: &str, field: &str, says: &str) -> Invalid {
    let e = error_in(&[("x.toml", src)]);
    let line = line_of(src, at);
    assert_eq!(e.file, "x.toml", "{}", e.text);
    assert_eq!(e.line, line, "wrong line in {:?} for\n{src}", e.text);
    assert_eq!(e.field, field, "wrong field in {:?}", e.text);
    assert!(
        e.message.contains(says),
        "message {:?} should contain {says:?}",
        e.message
    );
    assert!(
        e.text.starts_with(&format!("x.toml:{line}: {field}: ")),
        "{:?}",
        e.text
    );
    assert!(!e.text.contains('\n'), "one line, please: {:?}", e.text);
    e
}

/// Temporary directory removed on drop (std only).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!(
            "wsspec-case-errors-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// --- the template itself is valid, so each error below comes from the one change ---

#[test]
fn template_is_valid() {
    let cases = load_sources([("x.toml", case("", PING).as_str())]).unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].id, "t.case");
    assert_eq!(cases[0].origin, "x.toml:2");
}

// --- file structure ---

#[test]
fn toml_syntax_error() {
    let src = case("autobahn = \"1.1.1", PING);
    let e = assert_error(&src, "autobahn", "toml", "");
    assert!(!e.message.is_empty());
}

#[test]
fn unknown_top_level_field() {
    let src = format!("version = 2\n{}", case("", PING));
    assert_error(&src, "version = 2", "version", "unknown field `version`");
}

#[test]
fn unknown_top_level_table() {
    let src = format!("{}\n[meta]\nowner = \"me\"\n", case("", PING));
    assert_error(&src, "[meta]", "meta", "unknown field `meta`");
}

#[test]
fn unknown_case_field() {
    let src = case("titel = \"typo\"", PING);
    assert_error(&src, "titel", "titel", "unknown field `titel`");
}

#[test]
fn missing_required_field() {
    let src = case("", PING).replace("requirement = \"r\"\n", "");
    // Nothing to point at but the case itself.
    assert_error(
        &src,
        "[[case]]",
        "requirement",
        "missing field `requirement`",
    );
}

#[test]
fn missing_steps() {
    let src = case("", "").replace("steps = [\n\n]\n", "");
    assert_error(&src, "[[case]]", "steps", "missing field `steps`");
}

#[test]
fn bad_level() {
    let src = case("", PING).replace("\"MUST\"", "\"must\"");
    assert_error(&src, "level =", "level", "unknown variant `must`");
}

#[test]
fn bad_role() {
    let src = case("", PING).replace("\"server\"", "\"proxy\"");
    assert_error(&src, "role =", "role", "unknown variant `proxy`");
}

#[test]
fn wrong_type_for_a_case_field() {
    let src = case("timeout_ms = \"soon\"", PING);
    assert_error(&src, "timeout_ms", "timeout_ms", "invalid type");
    let src = case("close = \"no\"", PING);
    assert_error(&src, "close = ", "close", "invalid type");
}

#[test]
fn empty_steps() {
    let src = case("", "");
    assert_error(&src, "steps = [", "steps", "at least one step");
}

// --- ids ---

#[test]
fn invalid_id_characters() {
    for bad in [
        "Close.Code",
        "close..code",
        "close code",
        "close.code.",
        "close/1000",
        "",
    ] {
        let src = case("", PING).replace("\"t.case\"", &format!("{bad:?}"));
        assert_error(&src, "id = ", "id", "dotted segments");
    }
}

#[test]
fn invalid_id_after_matrix_substitution() {
    let src = case("matrix = { name = [\"ok\", \"Not OK\"] }", PING)
        .replace("\"t.case\"", "\"t.{name}\"");
    let e = assert_error(&src, "id = ", "id", "dotted segments");
    assert!(e.message.contains("t.Not OK"), "{}", e.message);
}

#[test]
fn duplicate_id_in_one_file() {
    let src = format!("{}\n{}", case("", PING), case("", PING));
    let e = error_in(&[("x.toml", &src)]);
    let second = src.match_indices("[[case]]").nth(1).unwrap().0;
    let second_line = src[..second].lines().count() + 1;
    assert_eq!(
        (e.file.as_str(), e.line, e.field.as_str()),
        ("x.toml", second_line, "id"),
        "{}",
        e.text
    );
    assert!(e.message.contains("\"t.case\""), "{}", e.message);
    assert!(
        e.message.contains("x.toml:2"),
        "names the first place: {}",
        e.message
    );
}

#[test]
fn duplicate_id_across_two_sources() {
    let a = case("", PING);
    let b = format!("# b\n\n{}", case("", PING));
    let e = error_in(&[("a.toml", &a), ("b.toml", &b)]);
    assert_eq!(e.file, "b.toml", "{}", e.text);
    assert_eq!(e.line, line_of(&b, "[[case]]"));
    assert_eq!(e.field, "id");
    assert!(
        e.message.contains("a.toml:2"),
        "names the first place: {}",
        e.message
    );
}

#[test]
fn duplicate_id_across_two_files_in_a_directory() {
    let dir = TempDir::new("dup");
    let a = dir.write("a.toml", &case("", PING));
    let b_src = format!("\n\n\n{}", case("", PING));
    let b = dir.write("sub/b.toml", &b_src);
    let e = match load_dir(dir.path()) {
        Ok(c) => panic!("loaded {} cases", c.len()),
        Err(e) => invalid(e),
    };
    assert_eq!(e.file, b.display().to_string(), "{}", e.text);
    assert_eq!(e.line, line_of(&b_src, "[[case]]"));
    assert_eq!(e.field, "id");
    assert!(
        e.message.contains(&format!("{}:2", a.display())),
        "names the first place: {}",
        e.message
    );
}

#[test]
fn error_in_a_directory_names_the_file_path() {
    let dir = TempDir::new("path");
    dir.write("good.toml", &case("", PING));
    let src = case("titel = \"x\"", PING).replace("t.case", "t.other");
    let bad = dir.write("deeper/bad.toml", &src);
    let e = match load_dir(dir.path()) {
        Ok(c) => panic!("loaded {} cases", c.len()),
        Err(e) => invalid(e),
    };
    assert_eq!(e.file, bad.display().to_string());
    assert_eq!(e.line, line_of(&src, "titel"));
    assert_eq!(e.field, "titel");
}

#[test]
fn missing_directory_is_an_io_error_naming_the_path() {
    let dir = TempDir::new("missing");
    let gone = dir.path().join("does-not-exist");
    match load_dir(&gone) {
        Err(e @ CaseError::Io { .. }) => {
            assert!(e.to_string().contains("does-not-exist"), "{e}")
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

// --- matrix ---

#[test]
fn matrix_wrong_shape() {
    for (m, says) in [
        ("matrix = 5", "array of tables or a table of arrays"),
        ("matrix = [1, 2]", "matrix[0] must be a table"),
        ("matrix = { len = 5 }", "matrix.len must be an array"),
    ] {
        assert_error(&case(m, PING), "matrix", "matrix", says);
    }
}

#[test]
fn matrix_empty() {
    assert_error(
        &case("matrix = { len = [] }", PING),
        "matrix",
        "matrix",
        "matrix.len is empty",
    );
    assert_error(&case("matrix = []", PING), "matrix", "matrix", "no rows");
}

#[test]
fn matrix_index_is_reserved() {
    for m in ["matrix = [{ index = 1 }]", "matrix = { index = [1, 2] }"] {
        assert_error(&case(m, PING), "matrix", "matrix", "`index` is reserved");
    }
}

#[test]
fn step_error_in_a_matrix_row_names_the_expanded_case() {
    let src = case(
        "matrix = { op = [\"text\", \"txt\"] }",
        "  { send = \"frame\", opcode = \"{op}\" },",
    )
    .replace("\"t.case\"", "\"t.{op}\"");
    let e = assert_error(&src, "opcode", "steps[0].opcode", "unknown opcode \"txt\"");
    assert!(e.message.contains("(case t.txt)"), "{}", e.message);
}

/// A `{name}` no matrix row binds would be shown as literal text (a title reading
/// "sequence {hex}") or exported as an Autobahn id `{ab}`: the loader refuses it, in every
/// string field and inside steps.
#[test]
fn unresolved_placeholder_in_any_field() {
    let m = "matrix = [{ len = 1 }, { len = 2 }]";
    for (field, from, to) in [
        ("id", "\"t.case\"", "\"t.{len}.{nmae}\""),
        ("title", "title = \"t\"", "title = \"t {hex}\""),
        ("section", "§5.2\"", "§{sec}\""),
        (
            "requirement",
            "requirement = \"r\"",
            "requirement = \"{req}\"",
        ),
    ] {
        let src = case(m, PING).replace(from, to);
        let at = to.split('=').next().unwrap();
        let e = assert_error(&src, at, field, "is not a matrix value of this case");
        assert!(e.message.contains('{'), "{}", e.message);
    }
    let src = case(&format!("{m}\nautobahn = \"{{ab}}\""), PING);
    assert_error(&src, "autobahn", "autobahn", "{ab} is not a matrix value");
    // Inside a step, the field is the path to the string.
    let src = case(
        m,
        "  { send = \"text\", payload = { hex = \"{first_hex}\" } },\n  { expect = \"message\" },",
    );
    let e = assert_error(
        &src,
        "first_hex",
        "steps[0].payload.hex",
        "{first_hex} is not a matrix value",
    );
    assert!(e.message.contains("(case t.case)"), "{}", e.message);
    // Without a matrix too: a placeholder in a single case can never resolve.
    let src = case("", PING).replace("title = \"t\"", "title = \"t {what}\"");
    assert_error(&src, "title = ", "title", "{what} is not a matrix value");
}

/// Braces that cannot be placeholders stay text, and `{{` writes a literal `{`.
#[test]
fn literal_braces_in_payloads() {
    let src = case(
        "",
        "  { send = \"text\", payload = '{\"a\": {\"b\": 1}} {{len}' },\n  { expect = \"message\" },",
    );
    let cases = load_sources([("x.toml", src.as_str())]).unwrap();
    let debug = format!("{:?}", cases[0].steps);
    assert!(debug.contains(r#"{\"a\": {\"b\": 1}} {len}"#), "{debug}");
}

/// An Autobahn id Autobahn does not have would match nothing when results are compared.
#[test]
fn unknown_autobahn_id() {
    for bad in ["1.1.9", "8.1", "6.24.1", "2"] {
        let src = case(&format!("autobahn = \"{bad}\""), PING);
        let e = assert_error(
            &src,
            "autobahn",
            "autobahn",
            "is not an Autobahn|Testsuite case id",
        );
        assert!(e.message.contains(bad), "{}", e.message);
    }
    // Through a matrix, the row's value is checked; an empty one means "none".
    let src = case(
        "autobahn = \"{ab}\"\nmatrix = [{ ab = \"2.1\" }, { ab = \"\" }, { ab = \"2.12\" }]",
        PING,
    )
    .replace("\"t.case\"", "\"t.{index}\"");
    let e = assert_error(&src, "autobahn", "autobahn", "\"2.12\" is not an Autobahn");
    assert!(e.message.contains("(case t.3)"), "{}", e.message);
    assert!(load_sources([("x.toml", case("autobahn = \"13.7.18\"", PING).as_str())]).is_ok());
}

// --- steps: shape and kinds ---

#[test]
fn step_that_is_not_a_table() {
    let src = case("", "  \"ping\",");
    assert_error(&src, "\"ping\",", "steps[0]", "a step must be a table");
}

#[test]
fn unknown_field_in_a_step() {
    let src = case(
        "",
        "  { send = \"message\", payloa = \"x\" },\n  { expect = \"message\" },",
    );
    assert_error(&src, "payloa", "steps[0].payloa", "unknown field `payloa`");
    let src = case(
        "",
        "  { send = \"ping\" },\n  { expect = \"pong\", payload = \"\", within = 5 },",
    );
    assert_error(&src, "within", "steps[1].within", "unknown field `within`");
}

#[test]
fn step_with_no_kind() {
    let src = case("", "  { payload = \"x\" },");
    assert_error(
        &src,
        "payload",
        "steps[0]",
        "needs one of `send`, `expect` or `wait`",
    );
}

#[test]
fn step_with_two_kinds() {
    let src = case("", "  { send = \"ping\", expect = \"pong\" },");
    assert_error(
        &src,
        "send",
        "steps[0]",
        "exactly one of `send`, `expect`, `wait`",
    );
    let src = case("", "  { wait = 10, expect = \"pong\" },");
    assert_error(&src, "wait", "steps[0]", "this one has expect, wait");
}

#[test]
fn unknown_send_kind() {
    let src = case("", "  { send = \"frames\" },");
    assert_error(
        &src,
        "frames",
        "steps[0].send",
        "unknown send kind \"frames\"",
    );
}

#[test]
fn unknown_expectation_kind() {
    let src = case("", "  { send = \"ping\" },\n  { expect = \"pongg\" },");
    assert_error(
        &src,
        "pongg",
        "steps[1].expect",
        "unknown expectation \"pongg\"",
    );
}

#[test]
fn bad_opcode_name() {
    let src = case("", "  { send = \"frame\", opcode = \"txt\" },");
    assert_error(&src, "txt", "steps[0].opcode", "unknown opcode \"txt\"");
    let src = case(
        "",
        "  { send = \"ping\" },\n  { expect = \"message\", opcode = \"pong\" },",
    );
    assert_error(
        &src,
        "opcode",
        "steps[1].opcode",
        "a message is text or binary",
    );
}

#[test]
fn opcode_number_out_of_range() {
    let src = case("", "  { send = \"frame\", opcode = 16 },");
    assert_error(&src, "opcode", "steps[0].opcode", "outside 0-15");
    let src = case("", "  { send = \"frame\", opcode = -1 },");
    assert_error(&src, "opcode", "steps[0].opcode", "outside 0-15");
}

#[test]
fn opcode_on_a_kind_that_fixes_it() {
    let src = case("", "  { send = \"ping\", opcode = \"text\" },");
    assert_error(&src, "ping", "steps[0].opcode", "fixes the opcode");
}

#[test]
fn frame_without_opcode() {
    let src = case("", "  { send = \"frame\", payload = \"x\" },");
    assert_error(&src, "frame", "steps[0].opcode", "needs an opcode");
}

#[test]
fn bad_mask_key() {
    let src = case("", "  { send = \"frame\", opcode = 1, mask = \"abcd\" },");
    assert_error(&src, "mask", "steps[0].mask", "4 bytes of hex");
    let src = case(
        "",
        "  { send = \"frame\", opcode = 1, mask = \"zzzzzzzz\" },",
    );
    assert_error(&src, "mask", "steps[0].mask", "not a hex byte");
}

#[test]
fn bad_length_form() {
    let src = case("", "  { send = \"frame\", opcode = 1, length = \"32\" },");
    assert_error(
        &src,
        "length",
        "steps[0].length",
        "\"minimal\", \"7\", \"16\" or \"64\"",
    );
}

// --- payloads ---

#[test]
fn payload_with_two_kinds() {
    let src = case(
        "",
        "  { send = \"message\", payload = { text = \"a\", hex = \"ff\" } },",
    );
    assert_error(&src, "payload", "steps[0].payload", "exactly one of");
}

#[test]
fn payload_with_bad_hex() {
    let src = case("", "  { send = \"message\", payload = { hex = \"fg\" } },");
    assert_error(&src, "payload", "steps[0].payload", "not a hex byte");
    let src = case("", "  { send = \"raw\", payload = { hex = \"abc\" } },");
    assert_error(&src, "payload", "steps[0].payload", "odd number of digits");
}

#[test]
fn payload_repeat_without_len() {
    let src = case(
        "",
        "  { send = \"message\", payload = { repeat = \"*\" } },",
    );
    assert_error(&src, "payload", "steps[0].payload", "repeat needs len");
}

#[test]
fn payload_oversize_len() {
    for p in [
        "{ repeat = \"*\", len = 100000000000 }",
        "{ random = 67108865 }",
        "{ concat = [{ random = 67108864 }, \"x\"] }",
    ] {
        let src = case("", &format!("  {{ send = \"message\", payload = {p} }},"));
        assert_error(&src, "payload", "steps[0].payload", "limit");
    }
}

#[test]
fn payload_unknown_field() {
    let src = case("", "  { send = \"message\", payload = { hexx = \"ff\" } },");
    assert_error(
        &src,
        "payload",
        "steps[0].payload.hexx",
        "unknown field `hexx`",
    );
}

#[test]
fn payload_error_inside_an_expectation() {
    let src = case(
        "",
        "  { send = \"ping\" },\n  { expect = \"pong\", payload = { hex = \"x\" } },",
    );
    assert_error(&src, "expect", "steps[1].payload", "odd number of digits");
}

// --- frames and messages ---

#[test]
fn fragments_not_adding_up() {
    let src = case(
        "",
        "  { send = \"message\", payload = \"abc\", fragments = [1, 1] },",
    );
    assert_error(
        &src,
        "fragments",
        "steps[0].fragments",
        "add up to 2, the payload has 3",
    );
    let src = case(
        "",
        "  { send = \"message\", payload = \"\", fragments = [] },",
    );
    assert_error(&src, "fragments", "steps[0].fragments", "add up to 0");
}

#[test]
fn fragment_size_and_fragments_together() {
    let src = case(
        "",
        "  { send = \"message\", payload = \"ab\", fragments = [1, 1], fragment_size = 1 },",
    );
    assert_error(&src, "fragments", "steps[0].fragments", "not both");
}

#[test]
fn fragment_size_zero() {
    let src = case(
        "",
        "  { send = \"message\", payload = \"abc\", fragment_size = 0 },",
    );
    assert_error(
        &src,
        "fragment_size",
        "steps[0].fragment_size",
        "at least 1",
    );
}

#[test]
fn code_on_a_non_close_frame() {
    let src = case("", "  { send = \"ping\", code = 1000 },");
    assert_error(&src, "code", "steps[0].code", "belong to close frames");
    let src = case(
        "",
        "  { send = \"frame\", opcode = \"text\", reason = \"bye\" },",
    );
    assert_error(&src, "reason", "steps[0].code", "belong to close frames");
}

#[test]
fn close_reason_without_code() {
    let src = case("", "  { send = \"close\", reason = \"bye\" },");
    assert_error(&src, "reason", "steps[0].reason", "needs a code");
}

#[test]
fn close_code_and_payload_together() {
    let src = case("", "  { send = \"close\", code = 1000, payload = \"x\" },");
    assert_error(&src, "code", "steps[0].payload", "not both");
}

#[test]
fn seven_bit_length_with_a_long_payload() {
    let src = case(
        "",
        "  { send = \"frame\", opcode = \"binary\", length = \"7\", payload = { repeat = \"x\", len = 126 } },",
    );
    assert_error(
        &src,
        "length",
        "steps[0].length",
        "at most 125, the payload has 126",
    );
}

#[test]
fn sixteen_bit_length_with_a_long_payload() {
    let src = case(
        "",
        "  { send = \"frame\", opcode = 2, length = \"16\", payload = { random = 65536 } },",
    );
    assert_error(&src, "length", "steps[0].length", "at most 65535");
}

#[test]
fn message_with_a_control_opcode() {
    let src = case("", "  { send = \"message\", opcode = \"ping\" },");
    assert_error(&src, "message", "steps[0].opcode", "text or binary");
}

// --- write options and waits ---

#[test]
fn bad_write_options() {
    let src = case("", "  { send = \"ping\", chop = 0 },");
    assert_error(&src, "chop", "steps[0].chop", "positive");
    let src = case("", "  { send = \"ping\", pause_ms = 10001 },");
    assert_error(&src, "pause_ms", "steps[0].pause_ms", "0-10000");
    let src = case("", "  { send = \"ping\", flush = \"yes\" },");
    assert_error(&src, "flush", "steps[0].flush", "true or false");
}

#[test]
fn wait_out_of_range() {
    let src = case("", "  { wait = 60001 },");
    assert_error(&src, "wait", "steps[0].wait", "60000");
    let src = case("", "  { wait = -1 },");
    assert_error(&src, "wait", "steps[0].wait", "expected u64");
}

// --- expectations ---

#[test]
fn bad_status_pattern() {
    for status in [
        "\"4x\"",
        "\"6xx\"",
        "700",
        "99",
        "70000",
        "[101, \"abc\"]",
        "{ code = 101 }",
    ] {
        let src = case(
            "",
            &format!(
                "  {{ send = \"handshake\" }},\n  {{ expect = \"handshake\", status = {status} }},"
            ),
        );
        assert_error(
            &src,
            "status",
            "steps[1].status",
            "a code 100-599 or a class",
        );
    }
}

#[test]
fn bad_grade() {
    let src = case(
        "",
        "  { send = \"ping\" },\n  { expect = \"pong\", grade = \"ok\" },",
    );
    assert_error(&src, "grade", "steps[1].grade", "a grade is");
    let src = case(
        "",
        "  { send = \"ping\" },\n  { expect = \"pong\", otherwise = \"warn\" },",
    );
    assert_error(&src, "otherwise", "steps[1].otherwise", "a grade is");
}

#[test]
fn bad_expectation_timeout_and_note() {
    let src = case(
        "",
        "  { send = \"ping\" },\n  { expect = \"pong\", timeout_ms = 0 },",
    );
    assert_error(&src, "timeout_ms", "steps[1].timeout_ms", "1-600000");
    let src = case(
        "",
        "  { send = \"ping\" },\n  { expect = \"pong\", note = 5 },",
    );
    assert_error(&src, "note", "steps[1].note", "a string");
}

#[test]
fn any_without_alternatives() {
    let src = case(
        "",
        "  { send = \"ping\" },\n  { expect = \"any\", of = [] },",
    );
    assert_error(&src, "any", "steps[1].of", "at least one alternative");
    let src = case("", "  { send = \"ping\" },\n  { expect = \"any\" },");
    assert_error(&src, "any", "steps[1].of", "at least one alternative");
}

#[test]
fn any_with_a_bad_alternative() {
    let src = case(
        "",
        "  { send = \"ping\" },\n  { expect = \"any\", of = [\n    { expect = \"pong\" },\n    { expect = \"silence\", ms = 10 },\n  ] },",
    );
    // A step written over several lines is reported at its first line.
    assert_error(
        &src,
        "expect = \"any\"",
        "steps[1].of[1].expect",
        "alternatives are",
    );
    let src = case(
        "",
        "  { send = \"ping\" },\n  { expect = \"any\", of = [{ expect = \"pong\", gradee = \"pass\" }] },",
    );
    assert_error(
        &src,
        "gradee",
        "steps[1].of[0].gradee",
        "unknown field `gradee`",
    );
}

#[test]
fn silence_out_of_range() {
    for ms in ["0", "60001"] {
        let src = case(
            "",
            &format!("  {{ send = \"ping\" }},\n  {{ expect = \"silence\", ms = {ms} }},"),
        );
        assert_error(&src, "silence", "steps[1].ms", "1-60000 ms");
    }
    let src = case("", "  { send = \"ping\" },\n  { expect = \"silence\" },");
    assert_error(&src, "silence", "steps[1]", "missing field `ms`");
}

// --- impossible step orders ---

#[test]
fn frame_before_the_handshake() {
    let src = case("", "  { send = \"ping\" },\n  { send = \"handshake\" },");
    assert_error(
        &src,
        "ping",
        "steps[0]",
        "frames are sent after the handshake",
    );
}

#[test]
fn expect_before_the_handshake_response() {
    let src = case(
        "",
        "  { send = \"handshake\" },\n  { expect = \"message\" },\n  { expect = \"handshake\" },",
    );
    assert_error(
        &src,
        "\"message\"",
        "steps[1]",
        "only after the handshake response",
    );
    // With the handshake request left implicit, the index is still the author's.
    let src = case(
        "",
        "  { expect = \"pong\" },\n  { expect = \"handshake\" },",
    );
    assert_error(
        &src,
        "pong",
        "steps[0]",
        "only after the handshake response",
    );
}

#[test]
fn handshake_response_before_the_request() {
    let src = case(
        "",
        "  { expect = \"handshake\" },\n  { send = \"handshake\" },",
    );
    assert_error(
        &src,
        "expect",
        "steps[0]",
        "expected before the handshake is sent",
    );
}

#[test]
fn frames_after_an_expected_rejection() {
    let src = case(
        "close = false",
        "  { send = \"handshake\", method = \"POST\" },\n  { expect = \"handshake\", status = \"4xx\" },\n  { send = \"ping\" },",
    );
    assert_error(
        &src,
        "ping",
        "steps[2]",
        "expects the handshake to be rejected",
    );
    // Implicit request: the index must not count the step wsspec adds.
    let src = case(
        "close = false",
        "  { expect = \"handshake\", status = 400 },\n  { expect = \"close\" },",
    );
    assert_error(
        &src,
        "close\" }",
        "steps[1]",
        "expects the handshake to be rejected",
    );
}

#[test]
fn flush_false_on_the_last_send() {
    let src = case(
        "",
        "  { send = \"ping\" },\n  { send = \"ping\", flush = false },",
    );
    assert_error(&src, "flush", "steps[1].flush", "no send follows");
    // Implicit handshake steps are added in front: still the author's index.
    let src = case(
        "",
        "  { send = \"ping\", flush = false },\n  { expect = \"pong\" },",
    );
    assert_error(&src, "flush", "steps[0].flush", "no send follows");
}

#[test]
fn two_handshakes() {
    let src = case(
        "",
        "  { send = \"handshake\" },\n  { expect = \"handshake\" },\n  { send = \"handshake\", target = \"/again\" },",
    );
    assert_error(&src, "/again", "steps[2]", "at most one handshake");
    let src = case(
        "",
        "  { expect = \"handshake\" },\n  { expect = \"handshake\", status = 101 },",
    );
    assert_error(
        &src,
        "status = 101",
        "steps[1]",
        "at most one handshake response",
    );
}

#[test]
fn request_fields_in_a_client_case() {
    // In a client case wsspec sends the response: request fields are an error.
    let src = case("", "  { send = \"handshake\", method = \"POST\" },")
        .replace("\"server\"", "\"client\"");
    assert_error(&src, "handshake", "steps[0].method", "role = \"client\"");
}

// --- handshake requests ---

#[test]
fn header_value_with_cr_or_lf() {
    for (step, field) in [
        (
            "{ send = \"handshake\", set = { X = \"a\\r\\nInjected: 1\" } }",
            "steps[0].set[0]",
        ),
        (
            "{ send = \"handshake\", add = [[\"X\", \"ok\"], [\"Y\", \"a\\nb\"]] }",
            "steps[0].add[1]",
        ),
        (
            "{ send = \"handshake\", add = [[\"X\\r\", \"ok\"]] }",
            "steps[0].add[0]",
        ),
        (
            "{ send = \"handshake\", rename = [[\"Upgrade\", \"X\\r\\nY\"]] }",
            "steps[0].rename[0]",
        ),
        (
            "{ send = \"handshake\", protocols = [\"chat\\r\\n\"] }",
            "steps[0].protocols[0]",
        ),
        (
            "{ send = \"handshake\", extensions = [\"x\", \"y\\n\"] }",
            "steps[0].extensions[1]",
        ),
        (
            "{ send = \"handshake\", method = \"GET\\r\\nX\" }",
            "steps[0].method",
        ),
        (
            "{ send = \"handshake\", target = \"/\\n\" }",
            "steps[0].target",
        ),
        (
            "{ send = \"handshake\", request_line = \"GET / HTTP/1.1\\r\\n\" }",
            "steps[0].request_line",
        ),
    ] {
        let src = case("", &format!("  {step},"));
        assert_error(&src, "handshake", field, "must not contain CR or LF");
    }
}

#[test]
fn bad_header_list_shape() {
    let src = case("", "  { send = \"handshake\", set = [\"Upgrade\"] },");
    assert_error(&src, "handshake", "steps[0].set", "headers are a table");
}

// --- the command line reports the same errors ---

#[test]
fn wsspec_check_reports_the_error_and_exits_2() {
    let dir = TempDir::new("cli");
    let src = case("", "  { send = \"frames\" },");
    let f = dir.write("bad.toml", &src);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .arg("check")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let want = format!(
        "{}:{}: steps[0].send: ",
        f.display(),
        line_of(&src, "frames")
    );
    assert!(stderr.contains(&want), "{stderr}");

    std::fs::write(&f, case("", PING)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsspec"))
        .arg("check")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 case, all valid"));
}

#[test]
fn every_broken_case_of_one_file_is_reported_in_one_load() {
    // Two broken cases around a valid one: an author fixing a file must see both at once.
    let src = format!(
        "{}{}{}",
        case("", "").replace("t.case", "t.first"),
        case("", PING).replace("t.case", "t.fine"),
        case("", PING).replace("t.case", "t.Bad Id")
    );
    let errors = match load_sources([("x.toml", src.as_str())]) {
        Ok(cases) => panic!("expected errors, loaded {} cases", cases.len()),
        Err(CaseError::Many(errors)) => errors,
        Err(other) => panic!("expected one error per broken case, got: {other}"),
    };
    let found: Vec<(usize, String)> = errors
        .into_iter()
        .map(invalid)
        .map(|e| (e.line, e.field))
        .collect();
    let empty_steps = src
        .lines()
        .position(|l| l == "steps = [")
        .map(|i| i + 1)
        .unwrap();
    assert_eq!(
        found,
        vec![
            (empty_steps, "steps".to_owned()),
            (line_of(&src, "t.Bad Id"), "id".to_owned())
        ]
    );
}

/// A repeated step loads as one step with its count, whatever the count: loading the
/// 1000-message cases must not cost a thousand copies.
#[test]
fn repeat_stays_one_step() {
    let src = case(
        "",
        "  { send = \"text\", payload = \"x\", repeat = 100000 },\n  { expect = \"message\", repeat = 100000 },",
    );
    let cases = load_sources([("x.toml", src.as_str())]).unwrap();
    let c = &cases[0];
    // The implicit handshake request and response, then the two written steps.
    assert_eq!(c.steps.len(), 4, "{:?}", c.steps);
    let counts: Vec<usize> = c.steps.iter().map(|s| s.runs().1).collect();
    assert_eq!(counts, [1, 1, 100_000, 100_000]);
    // Runs come in order, each written step's runs under its own index.
    let runs: Vec<usize> = c.runs().map(|(i, _)| i).collect();
    assert_eq!(runs.len(), 200_002);
    assert_eq!(&runs[..3], [0, 1, 2]);
    assert_eq!(runs[100_001], 2);
    assert_eq!(runs[100_002], 3);
}

#[test]
fn repeat_out_of_range() {
    for n in ["0", "100001", "\"3\""] {
        let src = case(
            "",
            &format!("  {{ send = \"text\", payload = \"x\", repeat = {n} }},\n  {{ expect = \"message\" }},"),
        );
        assert_error(&src, "repeat", "steps[0].repeat", "from 1 to 100000");
    }
}

/// The opening handshake happens once per connection.
#[test]
fn repeat_handshake() {
    let src = case(
        "",
        "  { send = \"handshake\", repeat = 2 },\n  { send = \"ping\", payload = \"p\" },\n  { expect = \"pong\" },",
    );
    assert_error(&src, "repeat", "steps[0].repeat", "at most one handshake");
}
