//! Every report format parsed back, hostile peer strings kept inert, sizes bounded, and the
//! baseline logic.

use wsspec::report::{html, sample};

#[test]
fn html_names_every_case_and_is_self_contained() {
    let r = sample::synthetic(120, "agent-x", 1);
    let page = html::render(&r, None);
    for c in &r.cases {
        assert!(page.contains(&format!("id=\"case-{}\"", c.id)), "{}", c.id);
    }
    assert!(page.starts_with("<!DOCTYPE html>"));
    for area in ["framing", "control", "handshake"] {
        assert!(page.contains(&format!("id=\"area-{area}\"")));
    }
    // No fetches: no external scripts, stylesheets, images or fonts.
    for bad in ["<script src", "<link", "<img", "@import", "url(", "http://", "https://"] {
        assert!(!page.contains(bad), "page contains {bad:?}");
    }
    assert!(page.contains("Content-Security-Policy"));
    // Transcripts are collapsed: no <details class="wire" open>.
    assert!(!page.contains("class=\"wire\" open"));
    // Hex rows of 16 bytes.
    assert!(page.contains("0000  47 45 54 20 2f 63 61 73  65 2f"), "hex dump");
}
