//! The fast check of a query page: one pass over the text that proves it is JSON and finds
//! the envelope (`totalSize`, `done`, `nextRecordsUrl`) and where each record is, without
//! building anything.
//!
//! It exists because checking pages was the largest cost of reading a query's records as text
//! that a writer does not parse again (about a third of `forcebridge query --csv`'s CPU with
//! serde_json's `RawValue`, which reads a byte at a time). This scanner skips the inside of
//! strings eight bytes at a time and keeps no state but a stack of open containers.
//!
//! It answers only for the page layout the query resource writes; anything else (invalid JSON,
//! a duplicate or mistyped envelope member, a count that is not a `u64`, nesting deeper than
//! serde_json allows) is `None`, and the caller reads the text with serde_json, which gives
//! the error, or the answer for an unusual but valid layout. So a page accepted here is one
//! serde_json accepts too, with the same envelope and records (the tests check this on
//! thousands of mutated pages).

use std::ops::Range;

/// What the scan found in a page.
#[derive(Debug, PartialEq)]
pub(crate) struct Scanned {
    pub(crate) total_size: u64,
    pub(crate) done: bool,
    pub(crate) next_records_url: Option<String>,
    pub(crate) records: Vec<Range<usize>>,
}

/// serde_json's recursion limit: deeper text is refused there, so it is not accepted here.
const MAX_DEPTH: usize = 128;

/// Scans a query page: `None` when it is not JSON in the query resource's layout.
pub(crate) fn scan(body: &str) -> Option<Scanned> {
    let mut s = Scanner {
        bytes: body.as_bytes(),
        at: 0,
        open: Vec::new(),
    };
    s.space();
    s.expect(b'{')?;
    let mut total_size = None;
    let mut done = None;
    let mut next_records_url: Option<Option<String>> = None;
    let mut records = None;
    s.space();
    if !s.eat(b'}') {
        loop {
            s.space();
            let (start, end, escaped) = s.string()?;
            s.space();
            s.expect(b':')?;
            s.space();
            // serde_json matches member names after unescaping; an escaped name is rare
            // enough to leave to it.
            let key = if escaped { "" } else { &body[start..end] };
            match key {
                "totalSize" if total_size.is_none() => {
                    let (start, end) = s.number()?;
                    total_size = Some(body[start..end].parse::<u64>().ok()?);
                }
                "done" if done.is_none() => {
                    done = Some(if s.literal(b"true") {
                        true
                    } else if s.literal(b"false") {
                        false
                    } else {
                        return None;
                    });
                }
                "nextRecordsUrl" if next_records_url.is_none() => {
                    next_records_url = Some(if s.literal(b"null") {
                        None
                    } else {
                        let (start, end, escaped) = s.string()?;
                        if escaped {
                            return None;
                        }
                        Some(body[start..end].to_string())
                    });
                }
                "records" if records.is_none() => records = Some(s.records()?),
                "totalSize" | "done" | "nextRecordsUrl" | "records" | "" => return None,
                _ => s.value()?,
            }
            s.space();
            if s.eat(b',') {
                continue;
            }
            s.expect(b'}')?;
            break;
        }
    }
    s.space();
    if s.at != s.bytes.len() {
        return None;
    }
    Some(Scanned {
        total_size: total_size?,
        done: done?,
        next_records_url: next_records_url.flatten(),
        records: records?,
    })
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
    /// The containers open in the value being read (`true` for an object), kept from one
    /// record to the next so that reading a record allocates nothing.
    open: Vec<bool>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn space(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let here = self.peek() == Some(byte);
        if here {
            self.at += 1;
        }
        here
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    fn literal(&mut self, literal: &[u8]) -> bool {
        let here = self.bytes[self.at..].starts_with(literal);
        if here {
            self.at += literal.len();
        }
        here
    }

    /// The array of records: where each one is.
    fn records(&mut self) -> Option<Vec<Range<usize>>> {
        self.expect(b'[')?;
        let mut records = Vec::new();
        self.space();
        if self.eat(b']') {
            return Some(records);
        }
        loop {
            self.space();
            let start = self.at;
            self.value()?;
            records.push(start..self.at);
            self.space();
            if self.eat(b',') {
                continue;
            }
            self.expect(b']')?;
            return Some(records);
        }
    }

    /// Any value, containers included, with a stack rather than recursion.
    fn value(&mut self) -> Option<()> {
        // The open containers: `true` for an object.
        let mut open = std::mem::take(&mut self.open);
        open.clear();
        let read = self.value_in(&mut open);
        self.open = open;
        read
    }

    fn value_in(&mut self, open: &mut Vec<bool>) -> Option<()> {
        loop {
            // At a value.
            match self.peek()? {
                b'{' | b'[' => {
                    let object = self.peek() == Some(b'{');
                    self.at += 1;
                    if open.len() == MAX_DEPTH {
                        return None;
                    }
                    self.space();
                    if self.eat(if object { b'}' } else { b']' }) {
                        // An empty container is a whole value: carry on after it.
                    } else {
                        open.push(object);
                        if object {
                            self.member_name()?;
                        }
                        continue;
                    }
                }
                b'"' => {
                    self.string()?;
                }
                b't' | b'f' | b'n' => {
                    if !(self.literal(b"true") || self.literal(b"false") || self.literal(b"null")) {
                        return None;
                    }
                }
                _ => {
                    self.number()?;
                }
            }
            // After a value: close what ends here, or move to the next member or element.
            loop {
                let Some(&object) = open.last() else {
                    return Some(());
                };
                self.space();
                if self.eat(b',') {
                    self.space();
                    if object {
                        self.member_name()?;
                    }
                    break;
                }
                self.expect(if object { b'}' } else { b']' })?;
                open.pop();
            }
        }
    }

    /// `"name":` and the space after it, inside an object.
    fn member_name(&mut self) -> Option<()> {
        self.string()?;
        self.space();
        self.expect(b':')?;
        self.space();
        Some(())
    }

    /// A string: where its content is, and whether it has escapes.
    fn string(&mut self) -> Option<(usize, usize, bool)> {
        self.expect(b'"')?;
        let start = self.at;
        let mut escaped = false;
        loop {
            self.at += stop(self.bytes.get(self.at..)?);
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some((start, self.at - 1, escaped));
                }
                b'\\' => {
                    escaped = true;
                    self.at += 1;
                    match self.peek()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
                        b'u' => {
                            let hex = self.bytes.get(self.at + 1..self.at + 5)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            self.at += 5;
                        }
                        _ => return None,
                    }
                }
                // A control character, which JSON strings may not hold as it is.
                _ => return None,
            }
        }
    }

    /// A number by JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<(usize, usize)> {
        let start = self.at;
        self.eat(b'-');
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b'.') {
            self.some_digits()?;
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            self.some_digits()?;
        }
        Some((start, self.at))
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
    }
}

/// How many bytes from the start of `bytes` come before the first `"`, `\` or control
/// character (or all of them): eight bytes at a time.
fn stop(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte below `n` (exact up to the first such byte, above which a
    // borrow may set false ones: only the first is used).
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS;
    let equal = |word: u64, byte: u8| below(word ^ (ONES * u64::from(byte)), 1);
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let stops = equal(word, b'"') | equal(word, b'\\') | below(word, 0x20);
        if stops != 0 {
            return at + stops.trailing_zeros() as usize / 8;
        }
        at += 8;
    }
    at + chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(chunks.remainder().len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use forcebridge_wire::query::QueryResult;
    use serde_json::value::RawValue;

    /// What serde_json makes of a page, in the scan's terms.
    fn by_serde(body: &str) -> Option<Scanned> {
        let page: QueryResult<&RawValue> = serde_json::from_str(body).ok()?;
        let base = body.as_ptr() as usize;
        Some(Scanned {
            total_size: page.total_size,
            done: page.done,
            next_records_url: page.next_records_url,
            records: page
                .records
                .iter()
                .map(|r| {
                    let from = r.get().as_ptr() as usize - base;
                    from..from + r.get().len()
                })
                .collect(),
        })
    }

    const PAGE: &str = concat!(
        r#"{"totalSize":1200,"done":false,"nextRecordsUrl":"/services/data/v60.0/query/01g-2","#,
        r#""records":[{"attributes":{"type":"Contact","url":"/x/003"},"Id":"003A","Name":"A \"B\" \\ \u00e9 é","#,
        r#""N":-12.5e+3,"Z":0,"F":false,"T":true,"Nil":null,"Arr":[1,[],{},[{"a":[null]}]],"#,
        r#""Account":{"attributes":{"type":"Account"},"Name":"Acme, Inc.\nHQ"}} , {"Id":"003B"},{}]}"#
    );

    #[test]
    fn a_page_is_read_as_serde_json_reads_it() {
        let scanned = scan(PAGE).expect("a valid page");
        assert_eq!(Some(&scanned), by_serde(PAGE).as_ref());
        assert_eq!(scanned.records.len(), 3);
        assert_eq!(&PAGE[scanned.records[1].clone()], r#"{"Id":"003B"}"#);
        assert_eq!(
            scan(r#" {"done":true,"records":[],"totalSize":0,"other":{"x":[1]}} "#),
            Some(Scanned {
                total_size: 0,
                done: true,
                next_records_url: None,
                records: vec![]
            })
        );
    }

    #[test]
    fn what_serde_json_refuses_is_never_accepted() {
        for bad in [
            r#"{"totalSize":1,"done":true,"records":[{"a":1}"#,
            r#"{"totalSize":1,"done":true,"records":[{"a":01}]}"#,
            r#"{"totalSize":1,"done":true,"records":[{"a":"\x"}]}"#,
            "{\"totalSize\":1,\"done\":true,\"records\":[{\"a\":\"tab\there\"}]}",
            r#"{"totalSize":1,"done":true,"records":[{"a":1,}]}"#,
            r#"{"totalSize":1,"done":true,"records":[{"a":tru}]}"#,
            r#"{"totalSize":-1,"done":true,"records":[]}"#,
            r#"{"totalSize":1,"totalSize":1,"done":true,"records":[]}"#,
            r#"{"totalSize":1,"done":true,"records":[]} x"#,
            r#"{"records":[]}"#,
            "[]",
        ] {
            assert_eq!(scan(bad), None, "{bad}");
        }
        let deep = format!(
            r#"{{"totalSize":1,"done":true,"records":[{}{}]}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        assert_eq!(scan(&deep), None);
    }

    /// Thousands of pages made by cutting, doubling and changing bytes of a valid one: the
    /// scan accepts one only when serde_json does, and then finds the same things.
    #[test]
    fn mutated_pages_never_pass_where_serde_json_fails() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        const BYTES: &[u8] = b"{}[]\",:\\ 0123456789-+.eEtrufalsn\tu\x01aZ";
        let mut accepted = 0;
        for _ in 0..20_000 {
            let mut page = PAGE.as_bytes().to_vec();
            for _ in 0..1 + next(3) {
                let at = next(page.len());
                match next(3) {
                    0 => {
                        page.remove(at);
                    }
                    1 => page.insert(at, BYTES[next(BYTES.len())]),
                    _ => page[at] = BYTES[next(BYTES.len())],
                }
            }
            let Ok(page) = String::from_utf8(page) else {
                continue;
            };
            let scanned = scan(&page);
            if scanned.is_some() {
                accepted += 1;
                assert_eq!(scanned, by_serde(&page), "{page}");
            }
        }
        // Many mutations land inside strings and keep the page valid: both paths are used.
        assert!(accepted > 1_000, "{accepted}");
    }
}
