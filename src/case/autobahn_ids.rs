//! The case ids of Autobahn|Testsuite, as data.
//!
//! A case's `autobahn` field says which Autobahn case checks the same thing, so that results
//! can be compared with Autobahn's and exported in its shape. An id Autobahn does not have
//! (a typo, or an unresolved `{ab}`) would silently match nothing, so the loader refuses it.
//!
//! Taken from the testsuite's own source (crossbario/autobahn-testsuite,
//! `autobahntestsuite/autobahntestsuite/case/__init__.py` and the generated families in
//! `case6_x_x.py`, `case7_7_X.py`, `case7_9_X.py`, `case9_7_X.py`, `case12_x_x.py`): a class
//! `Case6_4_1` is the case id `6.4.1`. Category 8 is empty, and the 9.9 / 9.10 classes exist
//! but are not in the `Cases` list, so they are not run and have no id here.

/// Case-id prefixes and how many cases each holds: `("1.1", 8)` is 1.1.1 to 1.1.8,
/// `("2", 11)` is 2.1 to 2.11.
const FAMILIES: &[(&str, u16)] = &[
    ("1.1", 8),
    ("1.2", 8),
    ("2", 11),
    ("3", 7),
    ("4.1", 5),
    ("4.2", 5),
    ("5", 20),
    ("6.1", 3),
    ("6.2", 4),
    ("6.3", 2),
    ("6.4", 4),
    // createUtf8TestSequences(): the UTF-8 decoder test sequences, one subcategory each,
    // numbered from 6.5.
    ("6.5", 5),
    ("6.6", 11),
    ("6.7", 4),
    ("6.8", 2),
    ("6.9", 4),
    ("6.10", 3),
    ("6.11", 5),
    ("6.12", 8),
    ("6.13", 5),
    ("6.14", 10),
    ("6.15", 1),
    ("6.16", 3),
    ("6.17", 5),
    ("6.18", 5),
    ("6.19", 5),
    ("6.20", 7),
    ("6.21", 8),
    ("6.22", 34),
    ("6.23", 7),
    ("7.1", 6),
    ("7.3", 6),
    ("7.5", 1),
    // Valid close codes 1000-1003, 1007-1011, 3000, 3999, 4000, 4999.
    ("7.7", 13),
    // Invalid close codes 0, 999, 1004-1006, 1016, 1100, 2000, 2999.
    ("7.9", 9),
    ("7.13", 2),
    ("9.1", 6),
    ("9.2", 6),
    ("9.3", 9),
    ("9.4", 9),
    ("9.5", 6),
    ("9.6", 6),
    ("9.7", 6),
    ("9.8", 6),
    ("10.1", 1),
    // 5 test data files x 18 message sizes.
    ("12.1", 18),
    ("12.2", 18),
    ("12.3", 18),
    ("12.4", 18),
    ("12.5", 18),
    // 7 offer/accept parameter sets x 18 message sizes.
    ("13.1", 18),
    ("13.2", 18),
    ("13.3", 18),
    ("13.4", 18),
    ("13.5", 18),
    ("13.6", 18),
    ("13.7", 18),
];

/// Whether `id` is an Autobahn|Testsuite case id, written as Autobahn writes it
/// (`"6.4.1"`, no leading zeros).
pub fn is_case_id(id: &str) -> bool {
    let Some((prefix, n)) = id.rsplit_once('.') else {
        return false;
    };
    let Ok(n) = n.parse::<u16>() else {
        return false;
    };
    // parse() takes "+1" and "01"; Autobahn writes neither.
    if n.to_string() != id[prefix.len() + 1..] {
        return false;
    }
    FAMILIES
        .iter()
        .any(|(p, count)| *p == prefix && (1..=*count).contains(&n))
}

/// Every Autobahn case id, in the order Autobahn runs and numbers them (its client mode's
/// `case=N` is the N-th of these when every case is selected).
pub fn all() -> Vec<String> {
    FAMILIES
        .iter()
        .flat_map(|(p, count)| (1..=*count).map(move |n| format!("{p}.{n}")))
        .collect()
}

/// Whether `id` is in categories 1 to 10: the protocol cases, as opposed to the
/// compression cases of 12 and 13 (which wsspec's `deflate.volume` family covers apart).
pub fn is_core(id: &str) -> bool {
    is_case_id(id)
        && id
            .split('.')
            .next()
            .and_then(|c| c.parse::<u32>().ok())
            .is_some_and(|c| (1..=10).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-category counts of Autobahn's server test run (517 cases), counted from
    /// its source by hand, not from FAMILIES.
    #[test]
    fn category_counts_match_the_testsuite() {
        let ids = all();
        let count = |cat: &str| {
            ids.iter()
                .filter(|id| id.split('.').next() == Some(cat))
                .count()
        };
        let expected = [
            ("1", 16),
            ("2", 11),
            ("3", 7),
            ("4", 10),
            ("5", 20),
            ("6", 145),
            ("7", 37),
            ("8", 0),
            ("9", 54),
            ("10", 1),
            ("11", 0),
            ("12", 90),
            ("13", 126),
        ];
        for (cat, n) in expected {
            assert_eq!(count(cat), n, "category {cat}");
        }
        assert_eq!(ids.len(), 517);
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
    }

    #[test]
    fn core_ids_are_categories_1_to_10() {
        assert_eq!(all().iter().filter(|i| is_core(i)).count(), 301);
        assert!(is_core("10.1.1") && is_core("6.22.34") && is_core("1.1.1"));
        assert!(!is_core("12.1.1") && !is_core("13.7.18") && !is_core("1.1.9"));
    }

    #[test]
    fn ids_are_checked_exactly() {
        for ok in [
            "1.1.1", "1.1.8", "2.11", "6.22.34", "7.7.13", "7.9.9", "7.13.2", "10.1.1", "12.5.18",
            "13.7.18",
        ] {
            assert!(is_case_id(ok), "{ok}");
        }
        for bad in [
            "", "1", "1.1", "1.1.9", "2.12", "2.0", "6.24.1", "7.2.1", "7.9.10", "8.1", "9.9.1",
            "9.10.1", "11.1.1", "13.8.1", "1.1.01", "1.1.+1", "{ab}", "1.1.1 ",
        ] {
            assert!(!is_case_id(bad), "{bad}");
        }
    }
}
