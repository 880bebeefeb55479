//! Fuzzes the parser with any text. It must not panic or hang, every diagnostic must lie inside
//! the text, and whatever parses without errors must print to text that parses back to the
//! same tree, in both the canonical and the pretty form.

#![no_main]

use forcebridge_soql::{format_pretty, parse, to_soql};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = parse(text);
    for error in &parsed.errors {
        assert!(error.span.start <= error.span.end && error.span.end as usize <= text.len());
        let _ = error.render(text);
    }
    if !parsed.errors.is_empty() {
        let _ = to_soql(&parsed.tree);
        return;
    }
    let tree = parsed.tree.without_spans();
    for printed in [to_soql(&parsed.tree), format_pretty(&parsed.tree)] {
        let again = parse(&printed);
        assert!(again.errors.is_empty(), "printed form does not parse: {printed:?} (from {text:?})");
        assert_eq!(again.tree.without_spans(), tree, "round trip changed the tree: {text:?} -> {printed:?}");
    }
});
