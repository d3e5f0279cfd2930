//! Matrix expansion: a family of cases written once, one case per value.
//!
//! Substitution works on the TOML value tree before typing, so any field can vary: a string
//! that is exactly `{name}` becomes the matrix value with its own type (an integer stays an
//! integer), and `{name}` inside a longer string is replaced by the value's text.

use toml::Value;

/// One binding of matrix names to values; `index` (1-based) is always present.
pub type Row = Vec<(String, Value)>;

/// Most cases one matrix may expand to.
const MAX_ROWS: usize = 100_000;

/// Expands a `matrix` value into rows.
///
/// Two forms: an array of tables gives one case per table (values that vary together, such
/// as a length and its Autobahn id); a table of arrays gives the cartesian product, where
/// an axis of tables binds each table's keys as well as the axis name.
pub fn rows(matrix: Option<&Value>) -> Result<Vec<Row>, String> {
    let mut out: Vec<Row> = match matrix {
        None => vec![Vec::new()],
        Some(Value::Array(items)) => {
            let mut rows = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let Value::Table(t) = item else {
                    return Err(format!(
                        "matrix[{i}] must be a table such as {{ len = 125 }}"
                    ));
                };
                rows.push(t.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
            }
            rows
        }
        Some(Value::Table(t)) if t.contains_key("generate") => {
            let name = t["generate"]
                .as_str()
                .ok_or("matrix.generate is the name of a generator")?;
            super::vectors::generate(name, t)?
        }
        Some(Value::Table(t)) => {
            let mut rows: Vec<Row> = vec![Vec::new()];
            for (name, values) in t {
                let Value::Array(values) = values else {
                    return Err(format!("matrix.{name} must be an array of values"));
                };
                if values.is_empty() {
                    return Err(format!("matrix.{name} is empty"));
                }
                // Checked before building: a product of a few short arrays is
                // astronomically large, and must be refused, not allocated.
                if rows.len().saturating_mul(values.len()) > MAX_ROWS {
                    return Err(format!("matrix expands to more than {MAX_ROWS} cases"));
                }
                let mut next = Vec::with_capacity(rows.len() * values.len());
                for row in &rows {
                    for v in values {
                        let mut r = row.clone();
                        if r.iter().any(|(bound, _)| bound == name) {
                            return Err(format!(
                                "matrix.{name} is already bound by a table of another axis"
                            ));
                        }
                        r.push((name.clone(), v.clone()));
                        // A table value also binds each of its keys: values that vary
                        // together along one axis (a parameter set's name and its offer).
                        if let Value::Table(group) = v {
                            for (k, kv) in group {
                                if r.iter().any(|(bound, _)| bound == k) {
                                    return Err(format!(
                                        "matrix.{name}: the key {k:?} is already bound by another axis"
                                    ));
                                }
                                r.push((k.clone(), kv.clone()));
                            }
                        }
                        next.push(r);
                    }
                }
                rows = next;
            }
            rows
        }
        Some(_) => return Err("matrix must be an array of tables or a table of arrays".into()),
    };
    if out.is_empty() {
        return Err("matrix has no rows".into());
    }
    if out.len() > MAX_ROWS {
        return Err(format!(
            "matrix expands to {} cases (limit {MAX_ROWS})",
            out.len()
        ));
    }
    for (i, row) in out.iter_mut().enumerate() {
        if row.iter().any(|(k, _)| k == "index") {
            return Err("matrix: `index` is reserved (it is the 1-based row number)".into());
        }
        row.push(("index".into(), Value::Integer(i as i64 + 1)));
    }
    Ok(out)
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether `name` can be a placeholder: what a matrix key or generator binding looks like.
/// Braces around anything else (`{"a": 1}`, `{ }`) are plain text, so JSON payloads need
/// no escaping.
fn is_placeholder_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Replaces `{name}` placeholders in one string.
///
/// A `{name}` the row does not bind is an error naming it, never left in place: a title
/// showing a literal `{hex}` or an Autobahn id `{ab}` is a case-file bug. `{{` is a
/// literal `{`, for the rare text that must show `{name}` itself.
pub fn substitute_str(s: &str, row: &Row) -> Result<String, String> {
    if !s.contains('{') {
        return Ok(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("{{") {
            out.push('{');
            rest = after;
            continue;
        }
        let name = rest[1..]
            .split('}')
            .next()
            .filter(|_| rest[1..].contains('}'));
        match name {
            Some(name) if is_placeholder_name(name) => {
                let (_, value) = row
                    .iter()
                    .find(|(k, _)| k == name)
                    .ok_or_else(|| name.to_owned())?;
                out.push_str(&text_of(value));
                rest = &rest[name.len() + 2..];
            }
            _ => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Substitutes a text field (title, requirement, ...). A field that is exactly `{name}`
/// takes the value's text and substitutes it once more, as steps do (`subst`), so a row's
/// `req = "... {code} ..."` resolves the code, and an unbound name in it is an error.
pub fn substitute_text(s: &str, row: &Row) -> Result<String, String> {
    if let Some(name) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        if let Some((_, Value::String(value))) = row.iter().find(|(k, _)| k == name) {
            return substitute_str(value, row);
        }
    }
    substitute_str(s, row)
}

/// A placeholder left unresolved in a value tree: where it is (a path such as
/// `.payload.hex`, empty for the value itself) and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub path: String,
    pub name: String,
}

/// Replaces placeholders throughout a value tree. A value inserted whole from the matrix
/// is substituted once more, so an axis of payload tables can refer to another axis
/// (`{ repeat = "ab", len = "{size}" }`); only once, so a value naming itself cannot loop.
pub fn substitute(v: &Value, row: &Row) -> Result<Value, Unresolved> {
    subst(v, row, 1, "")
}

fn subst(v: &Value, row: &Row, depth: u8, path: &str) -> Result<Value, Unresolved> {
    match v {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
                if let Some((_, value)) = row.iter().find(|(k, _)| k == name) {
                    return match depth {
                        0 => Ok(value.clone()),
                        d => subst(value, row, d - 1, path),
                    };
                }
            }
            match substitute_str(s, row) {
                Ok(text) => Ok(Value::String(text)),
                Err(name) => Err(Unresolved {
                    path: path.to_owned(),
                    name,
                }),
            }
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| subst(item, row, depth, &format!("{path}[{i}]")))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        Value::Table(t) => t
            .iter()
            .map(|(k, v)| Ok((k.clone(), subst(v, row, depth, &format!("{path}.{k}"))?)))
            .collect::<Result<_, _>>()
            .map(Value::Table),
        other => Ok(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(s: &str) -> Value {
        toml::from_str::<toml::Table>(&format!("v = {s}")).unwrap()["v"].clone()
    }

    #[test]
    fn an_inserted_table_is_substituted_once() {
        let m = val(
            r#"{ p = [{ repeat = "ab", len = "{size}" }], size = [3], self_ref = ["{self_ref}"] }"#,
        );
        let r = rows(Some(&m)).unwrap();
        assert_eq!(
            substitute(&Value::String("{p}".into()), &r[0]),
            Ok(val(r#"{ repeat = "ab", len = 3 }"#))
        );
        // A value naming itself stops after one pass.
        assert_eq!(
            substitute(&Value::String("{self_ref}".into()), &r[0]),
            Ok(Value::String("{self_ref}".into()))
        );
    }

    #[test]
    fn a_product_axis_of_tables_binds_their_keys() {
        let m = val(
            r#"{ set = [{ name = "a", offer = "x" }, { name = "b", offer = "y" }], n = [1, 2] }"#,
        );
        let r = rows(Some(&m)).unwrap();
        assert_eq!(r.len(), 4);
        assert_eq!(
            substitute_str("{name}/{offer}/{n}", &r[3]).unwrap(),
            "b/y/2"
        );
        for clash in [
            r#"{ set = [{ n = 1 }], n = [1] }"#,
            r#"{ a = [{ z = 1 }], z = [1] }"#,
        ] {
            assert!(
                rows(Some(&val(clash)))
                    .unwrap_err()
                    .contains("already bound"),
                "{clash}"
            );
        }
    }

    #[test]
    fn row_form_keeps_values_together() {
        let r = rows(Some(&val(
            "[{ len = 0, ab = \"1.1.1\" }, { len = 125, ab = \"1.1.2\" }]",
        )))
        .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            substitute_str("{ab}/{len}/{index}", &r[1]).unwrap(),
            "1.1.2/125/2"
        );
    }

    #[test]
    fn table_form_is_a_product() {
        let r = rows(Some(&val("{ a = [1, 2], b = [\"x\", \"y\", \"z\"] }"))).unwrap();
        assert_eq!(r.len(), 6);
    }

    /// Seen while writing the case_loader fuzz target, and confirmed with it:
    /// eight 10-value arrays (a 350-byte file) made the loader build 10^8
    /// rows before checking the limit, and run out of memory.
    #[test]
    fn huge_products_are_refused_before_they_are_built() {
        let ten = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]";
        let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let m = names.map(|n| format!("{n} = {ten}")).join(", ");
        let e = rows(Some(&val(&format!("{{ {m} }}")))).unwrap_err();
        assert!(e.contains("more than 100000 cases"), "{e}");
        // The limit itself is still reachable.
        let r = rows(Some(&val(&format!(
            "{{ a = {ten}, b = {ten}, c = {ten}, d = {ten}, e = {ten} }}"
        ))));
        assert_eq!(r.unwrap().len(), 100_000);
    }

    #[test]
    fn whole_placeholder_keeps_type() {
        let r = rows(Some(&val("[{ len = 7 }]"))).unwrap();
        assert_eq!(
            substitute(&Value::String("{len}".into()), &r[0]),
            Ok(Value::Integer(7))
        );
        assert_eq!(
            substitute(&Value::String("n{len}".into()), &r[0]),
            Ok(Value::String("n7".into()))
        );
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(rows(Some(&val("[1, 2]"))).is_err());
        assert!(rows(Some(&val("{ a = 1 }"))).is_err());
        assert!(rows(Some(&val("{ a = [] }"))).is_err());
        assert!(rows(Some(&val("[{ index = 1 }]"))).is_err());
    }

    #[test]
    fn unbound_placeholders_are_errors_wherever_they_are() {
        let r = rows(Some(&val("[{ len = 7 }]"))).unwrap();
        assert_eq!(substitute_str("x {hex} y", &r[0]), Err("hex".to_owned()));
        let steps = val(r#"[{ send = "text", payload = { hex = "{first_hex}" } }]"#);
        assert_eq!(
            substitute(&steps, &r[0]),
            Err(Unresolved {
                path: "[0].payload.hex".into(),
                name: "first_hex".into()
            })
        );
    }

    #[test]
    fn braces_that_are_not_placeholders_stay_text() {
        let r = rows(Some(&val("[{ len = 7 }]"))).unwrap();
        // JSON and stray braces are not placeholders.
        assert_eq!(
            substitute_str(r#"{"a": {"b": 1}} { } {"#, &r[0]).unwrap(),
            r#"{"a": {"b": 1}} { } {"#
        );
        // `{{` writes a literal brace, so `{{len}` is the text "{len}".
        assert_eq!(
            substitute_str("{{len} is {len}", &r[0]).unwrap(),
            "{len} is 7"
        );
    }

    #[test]
    fn a_whole_text_field_is_substituted_once_more() {
        let r = rows(Some(&val(
            r#"[{ code = 1016, req = "about {code}" }, { req = "{nope}" }]"#,
        )))
        .unwrap();
        assert_eq!(substitute_text("{req}", &r[0]).unwrap(), "about 1016");
        assert_eq!(substitute_text("{req}", &r[1]), Err("nope".to_owned()));
        // Inside a longer text, the inserted value is taken as it is.
        assert_eq!(substitute_text("x {req}", &r[0]).unwrap(), "x about {code}");
    }
}
