//! Reading one record's JSON into the cells of its rows: keys are matched against the columns
//! as they are read, and each cell is where its text is, in the record itself (a string
//! without escapes, or any other value as the org wrote it) or, for a string with escapes,
//! unescaped into one buffer. Nothing is built and nothing is allocated per cell.
//!
//! This reader is written for speed and trusts its input to be valid JSON: query pages are
//! checked by the client (`RawPage`), and the writer checks any other text with serde_json
//! before it gets here. On text that is not JSON it stops with an error; it never panics and
//! never recurses deeper than the columns go.
//!
//! A record with child records (a CSV row per child) is read into frames: the record is frame
//! 0, each child record a frame under it. [`Cells::rows`] then walks the frames into rows.

use std::fmt::Write as _;

use crate::columns::{Level, Node};

/// The cells of the record read last, and what reading it noticed.
#[derive(Debug, Default)]
pub(crate) struct Cells {
    /// The text of the cells that are not in the record as they are: unescaped strings, and a
    /// table's child counts.
    text: String,
    slots: Vec<Slot>,
    frames: Vec<Frame>,
    n_frames: usize,
    /// Fields that are not columns, by path (`Account.Phone`), each once.
    pub(crate) left_out: Vec<String>,
    /// Child relationships whose records did not all come with their parent, and how many
    /// parents that happened to.
    pub(crate) more_children: Vec<(String, u64)>,
}

/// Where a cell's text is (bytes `start..end` of the record, or of the cells' own text), and
/// what it can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cell {
    start: u32,
    end: u32,
    pub(crate) kind: Kind,
}

/// What a cell's text can hold, which tells a CSV whether to quote it without looking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// None of a comma, a quote or a line break: a number, `true`, `false`, or a string of
    /// the record with no escapes and no comma (JSON keeps quotes and line breaks escaped).
    Bare,
    /// A string of the record with no escapes, but a comma.
    Comma,
    /// JSON text (a compound field): quotes, and commas.
    Json,
    /// Text of the cells' own: anything.
    Own,
}

/// A cell, its column, and the frame it belongs to.
#[derive(Debug, Clone, Copy)]
struct Slot {
    column: usize,
    frame: usize,
    cell: Cell,
}

/// One record of the rows being read: the record itself or one of its child records.
#[derive(Debug, Default)]
struct Frame {
    /// Its own cells (indices into `slots`), gathered when rows are written.
    own: Vec<usize>,
    /// Its child records (indices into `frames`), in the order they came.
    children: Vec<usize>,
}

/// A row: each column's cell, or nothing for an empty one.
pub(crate) type Row = [Option<Cell>];

/// The texts a row's cells point into.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Texts<'a> {
    record: &'a str,
    own: &'a str,
}

impl<'a> Texts<'a> {
    pub(crate) fn get(&self, cell: Cell) -> &'a str {
        let text = if cell.kind == Kind::Own {
            self.own
        } else {
            self.record
        };
        text.get(cell.start as usize..cell.end as usize)
            .unwrap_or_default()
    }

    /// The bytes of a cell (no check that they start and end on characters: they do).
    pub(crate) fn bytes(&self, cell: Cell) -> &'a [u8] {
        let text = if cell.kind == Kind::Own {
            self.own
        } else {
            self.record
        };
        text.as_bytes()
            .get(cell.start as usize..cell.end as usize)
            .unwrap_or_default()
    }
}

/// The text was not a JSON record.
#[derive(Debug)]
pub(crate) struct Malformed;

type Read<T = ()> = Result<T, Malformed>;

impl Cells {
    /// Reads one record (valid JSON) into cells, replacing those of the record before.
    /// `expand_children`: child records become frames (CSV); otherwise their count is a cell
    /// (table).
    pub(crate) fn read(&mut self, level: &Level, json: &str, expand_children: bool) -> Read {
        if json.len() > u32::MAX as usize {
            return Err(Malformed);
        }
        self.text.clear();
        self.slots.clear();
        self.n_frames = 0;
        let frame = self.new_frame(None);
        let mut cursor = Cursor {
            bytes: json.as_bytes(),
            at: 0,
        };
        cursor.space();
        if cursor.peek() != Some(b'{') {
            return Err(Malformed);
        }
        let mut reader = Reader {
            cursor,
            json,
            cells: self,
            expand_children,
        };
        reader.record(level, Prefix::Root, frame)?;
        reader.cursor.space();
        if reader.cursor.at == json.len() {
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    /// Calls `write` with each row of `record`, read last: one, or one per child record (per
    /// grandchild, and so on, for child records with children of their own), the parent's
    /// cells repeated on each. `row` must have one place per column.
    pub(crate) fn rows<E>(
        &mut self,
        record: &str,
        row: &mut [Option<Cell>],
        write: &mut dyn FnMut(Texts<'_>, &Row) -> Result<(), E>,
    ) -> Result<u64, E> {
        row.fill(None);
        let texts = Texts {
            record,
            own: &self.text,
        };
        if self.n_frames == 1 {
            for slot in &self.slots {
                row[slot.column] = Some(slot.cell);
            }
            write(texts, row)?;
            return Ok(1);
        }
        for frame in &mut self.frames[..self.n_frames] {
            frame.own.clear();
        }
        for (i, slot) in self.slots.iter().enumerate() {
            self.frames[slot.frame].own.push(i);
        }
        self.frame_rows(0, texts, row, write)
    }

    fn frame_rows<E>(
        &self,
        frame: usize,
        texts: Texts<'_>,
        row: &mut [Option<Cell>],
        write: &mut dyn FnMut(Texts<'_>, &Row) -> Result<(), E>,
    ) -> Result<u64, E> {
        let frame = &self.frames[frame];
        self.fill(frame, row, true);
        if frame.children.is_empty() {
            write(texts, row)?;
            return Ok(1);
        }
        let mut n = 0;
        for &child in &frame.children {
            n += self.frame_rows(child, texts, row, write)?;
            self.clear(child, row);
        }
        Ok(n)
    }

    fn fill(&self, frame: &Frame, row: &mut [Option<Cell>], set: bool) {
        for &slot in &frame.own {
            let slot = self.slots[slot];
            row[slot.column] = set.then_some(slot.cell);
        }
    }

    /// Empties the cells of a child record and of its own children.
    fn clear(&self, frame: usize, row: &mut [Option<Cell>]) {
        let frame = &self.frames[frame];
        self.fill(frame, row, false);
        for &child in &frame.children {
            self.clear(child, row);
        }
    }

    fn new_frame(&mut self, parent: Option<usize>) -> usize {
        let index = self.n_frames;
        self.n_frames += 1;
        if index == self.frames.len() {
            self.frames.push(Frame::default());
        } else {
            let frame = &mut self.frames[index];
            frame.own.clear();
            frame.children.clear();
        }
        if let Some(parent) = parent {
            self.frames[parent].children.push(index);
        }
        index
    }

    fn push(&mut self, frame: usize, column: usize, cell: Cell) {
        self.slots.push(Slot {
            column,
            frame,
            cell,
        });
    }

    /// A cell of the cells' own text, from what was appended to it since `start`.
    fn push_own(&mut self, frame: usize, column: usize, start: usize) {
        let cell = Cell {
            start: start as u32,
            end: self.text.len() as u32,
            kind: Kind::Own,
        };
        self.push(frame, column, cell);
    }

    /// A table's cell for a child relationship: how many records it has.
    fn push_count(&mut self, frame: usize, column: usize, n: u64) {
        let start = self.text.len();
        let _ = write!(self.text, "[{n} record{}]", if n == 1 { "" } else { "s" });
        self.push_own(frame, column, start);
    }

    /// Notes a field that is not a column, once per path.
    fn left_out(&mut self, prefix: Prefix<'_>, key: &str) {
        let known = self
            .left_out
            .iter()
            .any(|name| prefix.is_path_of(name, key));
        if !known {
            self.left_out.push(prefix.path_to(key));
        }
    }

    fn more_children(&mut self, prefix: Prefix<'_>, relationship: &str) {
        match self
            .more_children
            .iter_mut()
            .find(|(name, _)| prefix.is_path_of(name, relationship))
        {
            Some((_, n)) => *n += 1,
            None => self.more_children.push((prefix.path_to(relationship), 1)),
        }
    }
}

/// Where a level is in the record, for naming fields in warnings: a linked list up to the
/// root, so that nothing is allocated until a name is needed.
#[derive(Debug, Clone, Copy)]
enum Prefix<'a> {
    Root,
    Under(&'a Prefix<'a>, &'a str),
}

impl Prefix<'_> {
    /// `Account.Owner.Name` for `Name` under the level of `Account.Owner`'s fields.
    fn path_to(&self, key: &str) -> String {
        fn write(prefix: &Prefix<'_>, out: &mut String) {
            if let Prefix::Under(up, key) = prefix {
                write(up, out);
                out.push_str(key);
                out.push('.');
            }
        }
        let mut path = String::new();
        write(self, &mut path);
        path.push_str(key);
        path
    }

    /// Whether `name` is this prefix followed by `key`.
    fn is_path_of(&self, name: &str, key: &str) -> bool {
        fn strip<'n>(prefix: &Prefix<'_>, name: &'n str) -> Option<&'n str> {
            match prefix {
                Prefix::Root => Some(name),
                Prefix::Under(up, key) => strip(up, name)?.strip_prefix(key)?.strip_prefix('.'),
            }
        }
        strip(self, name) == Some(key)
    }
}

/// A place in the bytes of a record.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Skips whitespace (there is none in the compact JSON Salesforce writes).
    fn space(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Read {
        self.space();
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    /// A string, at its opening quote: the bytes between the quotes, and whether it has
    /// escapes.
    fn string(&mut self) -> Read<(usize, usize, bool)> {
        let (start, end, escaped, _) = self.string_scanned::<false>()?;
        Ok((start, end, escaped))
    }

    /// [`Cursor::string`], and whether the string has a comma (before any escape).
    fn string_and_comma(&mut self) -> Read<(usize, usize, bool, bool)> {
        self.string_scanned::<true>()
    }

    /// [`Cursor::string`], and with `COMMA` whether the string has a comma (before any
    /// escape); without, the comma is not looked for and reads `false`.
    fn string_scanned<const COMMA: bool>(&mut self) -> Read<(usize, usize, bool, bool)> {
        if self.peek() != Some(b'"') {
            return Err(Malformed);
        }
        let start = self.at + 1;
        let mut at = start;
        let mut escaped = false;
        loop {
            let rest = self.bytes.get(at..).ok_or(Malformed)?;
            match scan::<COMMA>(rest) {
                (Some(i), comma) if rest[i] == b'"' => {
                    self.at = at + i + 1;
                    return Ok((start, at + i, escaped, comma));
                }
                // `\"`, `\\` and `\uXXXX` alike: the byte after the backslash is never the
                // closing quote.
                (Some(i), _) => {
                    escaped = true;
                    at += i + 2;
                }
                (None, _) => return Err(Malformed),
            }
        }
    }

    /// At a key that may be `key`: steps over it (quotes included) if it is, exactly.
    fn key_is(&mut self, key: &str) -> bool {
        let key = key.as_bytes();
        let at = self.at;
        let matches = self.bytes.get(at) == Some(&b'"')
            && self
                .bytes
                .get(at + 1..at + 1 + key.len())
                .is_some_and(|here| same(here, key))
            && self.bytes.get(at + 1 + key.len()) == Some(&b'"');
        if matches {
            self.at = at + key.len() + 2;
        }
        matches
    }

    /// A number, `true`, `false` or `null`: the bytes up to the next delimiter.
    fn scalar(&mut self) -> Read<(usize, usize)> {
        let start = self.at;
        while let Some(b) = self.peek() {
            if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.at += 1;
        }
        if self.at == start {
            Err(Malformed)
        } else {
            Ok((start, self.at))
        }
    }

    /// Skips any value, objects and arrays included, without recursion.
    fn skip(&mut self) -> Read<(usize, usize)> {
        self.space();
        let start = self.at;
        match self.peek() {
            Some(b'"') => {
                self.string()?;
            }
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                loop {
                    match self.peek().ok_or(Malformed)? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                self.scalar()?;
            }
        }
        Ok((start, self.at))
    }

    /// Skips a value that is most often an object of strings and scalars (a record's
    /// `attributes`), member by member; anything else, as [`Cursor::skip`] does.
    fn skip_flat(&mut self) -> Read {
        let start = self.at;
        if self.peek() != Some(b'{') {
            self.skip()?;
            return Ok(());
        }
        if self.open_object()? {
            loop {
                self.space();
                self.string()?;
                self.expect(b':')?;
                self.space();
                match self.peek() {
                    Some(b'"') => {
                        self.string()?;
                    }
                    Some(b'{' | b'[') | None => {
                        self.at = start;
                        self.skip()?;
                        return Ok(());
                    }
                    Some(_) => {
                        self.scalar()?;
                    }
                }
                if !self.more_members()? {
                    break;
                }
            }
        }
        Ok(())
    }

    /// After a member: whether another follows (`,`) or the object ends (`}`).
    fn more_members(&mut self) -> Read<bool> {
        self.space();
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                Ok(true)
            }
            Some(b'}') => {
                self.at += 1;
                Ok(false)
            }
            _ => Err(Malformed),
        }
    }

    /// At `{`: steps in, and says whether the object has members.
    fn open_object(&mut self) -> Read<bool> {
        self.expect(b'{')?;
        self.space();
        if self.peek() == Some(b'}') {
            self.at += 1;
            Ok(false)
        } else {
            Ok(true)
        }
    }

    /// Whether the value here is `null` (which it then steps over).
    fn null(&mut self) -> bool {
        self.space();
        if self.bytes.get(self.at..self.at + 4) == Some(b"null") {
            self.at += 4;
            true
        } else {
            false
        }
    }
}

/// What a key of a record is.
enum Key {
    Member(usize),
    Attributes,
    Other,
}

struct Reader<'r, 'j> {
    cursor: Cursor<'j>,
    json: &'j str,
    cells: &'r mut Cells,
    expand_children: bool,
}

impl Reader<'_, '_> {
    /// Reads a record's members (at its `{`) into the cells of `frame`.
    fn record(&mut self, level: &Level, prefix: Prefix<'_>, frame: usize) -> Read {
        if !self.cursor.open_object()? {
            return Ok(());
        }
        let mut next = 0;
        let mut first = true;
        loop {
            self.cursor.space();
            // Records keep the order of the columns: the key is most often the next column's,
            // spelt as the query spells it, after `attributes`, which Salesforce writes first.
            let unescaped;
            let (found, key) = match level.members.get(next) {
                Some(member) if self.cursor.key_is(&member.key) => {
                    (Key::Member(next), member.key.as_str())
                }
                _ if first && self.cursor.key_is("attributes") => (Key::Attributes, "attributes"),
                _ => {
                    let (start, end, escaped) = self.cursor.string()?;
                    let key = if escaped {
                        unescaped = unescape(&self.json[start - 1..=end])?;
                        unescaped.as_str()
                    } else {
                        self.json.get(start..end).ok_or(Malformed)?
                    };
                    (find(level, next, key), key)
                }
            };
            self.cursor.expect(b':')?;
            self.cursor.space();
            match found {
                Key::Member(index) => {
                    next = index + 1;
                    let member = &level.members[index];
                    match &member.node {
                        Node::Value { column, .. } => self.value(frame, *column)?,
                        Node::Parent { level: parent, .. } => {
                            if self.cursor.peek() == Some(b'{') {
                                self.record(parent, Prefix::Under(&prefix, &member.key), frame)?;
                            } else {
                                // null, or a value Salesforce never sends here: no cells.
                                self.cursor.skip()?;
                            }
                        }
                        Node::Children {
                            column,
                            level: children,
                            ..
                        } => {
                            let under = Prefix::Under(&prefix, &member.key);
                            let read = self.children(children, under, frame)?;
                            if let Some((total_size, done)) = read {
                                if !self.expand_children {
                                    self.cells.push_count(frame, *column, total_size);
                                }
                                if !done {
                                    self.cells.more_children(prefix, &member.key);
                                }
                            }
                        }
                    }
                }
                Key::Attributes => {
                    self.cursor.skip_flat()?;
                }
                Key::Other => {
                    self.cursor.skip()?;
                    self.cells.left_out(prefix, key);
                }
            }
            first = false;
            if !self.cursor.more_members()? {
                return Ok(());
            }
        }
    }

    /// A cell: a string's text (unescaped when it has escapes), nothing for null, anything
    /// else as it was written (numbers as the org wrote them, compound fields as JSON).
    fn value(&mut self, frame: usize, column: usize) -> Read {
        match self.cursor.peek() {
            Some(b'"') => {
                let (start, end, escaped, comma) = self.cursor.string_and_comma()?;
                if escaped {
                    let own = self.cells.text.len();
                    unescape_into(&self.json[start - 1..=end], &mut self.cells.text)?;
                    self.cells.push_own(frame, column, own);
                } else {
                    let kind = if comma { Kind::Comma } else { Kind::Bare };
                    self.cells
                        .push(frame, column, record_cell(start, end, kind));
                }
            }
            _ if self.cursor.null() => {}
            Some(first) => {
                let (start, end) = self.cursor.skip()?;
                let kind = if matches!(first, b'{' | b'[') {
                    Kind::Json
                } else {
                    Kind::Bare
                };
                self.cells
                    .push(frame, column, record_cell(start, end, kind));
            }
            None => return Err(Malformed),
        }
        Ok(())
    }

    /// A child relationship (`{"totalSize":2,"done":true,"records":[...]}`, or null): its
    /// records become frames under `frame` (CSV) or are passed over (table). Returns its
    /// `totalSize` and `done`, unless it is null.
    fn children(
        &mut self,
        level: &Level,
        prefix: Prefix<'_>,
        frame: usize,
    ) -> Read<Option<(u64, bool)>> {
        if self.cursor.peek() != Some(b'{') {
            self.cursor.skip()?;
            return Ok(None);
        }
        let (mut total_size, mut done) = (0, true);
        if !self.cursor.open_object()? {
            return Ok(Some((total_size, done)));
        }
        loop {
            self.cursor.space();
            let (start, end, _) = self.cursor.string()?;
            self.cursor.expect(b':')?;
            self.cursor.space();
            match &self.json.as_bytes()[start..end] {
                b"totalSize" => {
                    let (start, end) = self.cursor.scalar()?;
                    total_size = self.json[start..end].parse().unwrap_or(0);
                }
                b"done" => {
                    let (start, end) = self.cursor.scalar()?;
                    done = &self.json[start..end] != "false";
                }
                b"records" if self.expand_children && self.cursor.peek() == Some(b'[') => {
                    self.child_records(level, prefix, frame)?;
                }
                _ => {
                    self.cursor.skip()?;
                }
            }
            if !self.cursor.more_members()? {
                return Ok(Some((total_size, done)));
            }
        }
    }

    /// The `records` array of a child relationship, each record a frame of its own.
    fn child_records(&mut self, level: &Level, prefix: Prefix<'_>, parent: usize) -> Read {
        self.cursor.expect(b'[')?;
        self.cursor.space();
        if self.cursor.peek() == Some(b']') {
            self.cursor.at += 1;
            return Ok(());
        }
        loop {
            self.cursor.space();
            if self.cursor.peek() == Some(b'{') {
                let frame = self.cells.new_frame(Some(parent));
                self.record(level, prefix, frame)?;
            } else {
                self.cursor.skip()?;
            }
            self.cursor.space();
            match self.cursor.peek() {
                Some(b',') => self.cursor.at += 1,
                Some(b']') => {
                    self.cursor.at += 1;
                    return Ok(());
                }
                _ => return Err(Malformed),
            }
        }
    }
}

fn record_cell(start: usize, end: usize, kind: Kind) -> Cell {
    Cell {
        start: start as u32,
        end: end as u32,
        kind,
    }
}

/// The member a key names: the one after the last member read first (records keep the order
/// of the columns), then any other, without regard to case.
fn find(level: &Level, next: usize, key: &str) -> Key {
    if let Some(member) = level.members.get(next)
        && (member.key == key || member.key.eq_ignore_ascii_case(key))
    {
        return Key::Member(next);
    }
    if key == "attributes" {
        return Key::Attributes;
    }
    match level.find(key) {
        Some(index) => Key::Member(index),
        None => Key::Other,
    }
}

/// Where the first `"` or `\\` is, and (with `COMMA`) whether a `,` comes before it: eight
/// bytes at a time.
fn scan<const COMMA: bool>(bytes: &[u8]) -> (Option<usize>, bool) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte of `word` that is `byte`. Flags are exact up to the first
    // such byte (above it, a borrow may set false ones), which is all this needs.
    let flags = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let mut comma = false;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let stops = flags(word, b'"') | flags(word, b'\\');
        let commas = if COMMA { flags(word, b',') } else { 0 };
        if stops != 0 {
            let first = stops.trailing_zeros();
            comma |= commas & ((1u64 << first) - 1) != 0;
            return (Some(at + first as usize / 8), comma);
        }
        comma |= commas != 0;
        at += 8;
    }
    for (i, &b) in chunks.remainder().iter().enumerate() {
        match b {
            b'"' | b'\\' => return (Some(at + i), comma),
            b',' => comma = COMMA,
            _ => {}
        }
    }
    (None, comma)
}

/// Whether two byte strings of the same length are equal: eight bytes at a time, which for
/// the short keys of records beats calling `memcmp`.
fn same(a: &[u8], b: &[u8]) -> bool {
    let (mut a8, mut b8) = (a.chunks_exact(8), b.chunks_exact(8));
    a.len() == b.len()
        && (&mut a8).zip(&mut b8).all(|(x, y)| {
            u64::from_le_bytes(x.try_into().unwrap_or_default())
                == u64::from_le_bytes(y.try_into().unwrap_or_default())
        })
        && a8
            .remainder()
            .iter()
            .zip(b8.remainder())
            .all(|(x, y)| x == y)
}

/// A JSON string (quotes included) with its escapes resolved.
fn unescape(quoted: &str) -> Read<String> {
    let mut out = String::new();
    unescape_into(quoted, &mut out)?;
    Ok(out)
}

/// Appends a JSON string (quotes included) with its escapes resolved: `\"`, `\\`, `\/`,
/// `\b`, `\f`, `\n`, `\r`, `\t` and `\uXXXX` (UTF-16, surrogate pairs joined).
fn unescape_into(quoted: &str, out: &mut String) -> Read {
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .ok_or(Malformed)?;
    let mut rest = inner;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = *rest.as_bytes().get(at + 1).ok_or(Malformed)?;
        if !escape.is_ascii() {
            return Err(Malformed);
        }
        rest = &rest[at + 2..];
        let c = match escape {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = hex4(&mut rest)?;
                if (0xD800..0xDC00).contains(&first) {
                    let low = rest
                        .strip_prefix("\\u")
                        .map(|after| {
                            rest = after;
                            hex4(&mut rest)
                        })
                        .ok_or(Malformed)??;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(Malformed);
                    }
                    char::from_u32(0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00))
                        .ok_or(Malformed)?
                } else {
                    char::from_u32(first).ok_or(Malformed)?
                }
            }
            _ => return Err(Malformed),
        };
        out.push(c);
    }
    out.push_str(rest);
    Ok(())
}

/// Four hex digits, taken from the start of `rest`.
fn hex4(rest: &mut &str) -> Read<u32> {
    let digits = rest.get(..4).ok_or(Malformed)?;
    let value = u32::from_str_radix(digits, 16).map_err(|_| Malformed)?;
    if digits.starts_with('+') {
        return Err(Malformed);
    }
    *rest = &rest[4..];
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Columns;

    /// The cells of each row of a record, as text.
    fn rows(soql: &str, json: &str, expand_children: bool) -> Result<Vec<Vec<String>>, Malformed> {
        let mut columns = Columns::of_soql(soql);
        let n = columns.number(expand_children).len();
        let mut cells = Cells::default();
        cells.read(&columns.root, json, expand_children)?;
        let mut row = vec![None; n];
        let mut out = Vec::new();
        cells
            .rows(json, &mut row, &mut |texts, row| {
                out.push(
                    row.iter()
                        .map(|c| c.map_or(String::new(), |c| texts.get(c).to_string()))
                        .collect(),
                );
                Ok::<_, ()>(())
            })
            .unwrap();
        Ok(out)
    }

    #[test]
    fn cells_are_the_text_of_each_value() {
        let json = r#" { "attributes" : {"type":"Contact","url":"/x/\"y"}, "Name" : "A \"quoted\" \u00e9\n",
            "Account":{"attributes":{"type":"Account"},"Name":"Acme","Extra":[1,{"a":"]}"}]},
            "Amount":1.0E7, "Ok":true, "Nothing":null, "Address":{"city":"Oslo","zip":[1,2]}, "Other":"x"} "#;
        assert_eq!(
            rows(
                "SELECT Name, Account.Name, Amount, Ok, Nothing, Address FROM Contact",
                json,
                true
            )
            .unwrap(),
            [[
                "A \"quoted\" é\n",
                "Acme",
                "1.0E7",
                "true",
                "",
                r#"{"city":"Oslo","zip":[1,2]}"#
            ]]
        );
    }

    #[test]
    fn escapes_are_resolved_as_json_has_them() {
        let mut out = String::new();
        unescape_into(
            r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\u20AC""#,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, "a\"b\\c/d\u{8}\u{c}\n\r\té😀€");
        for bad in [
            r#""\ud83d""#,
            r#""\ud83dx""#,
            r#""\u12""#,
            r#""\x""#,
            r#""\""#,
            r#""\u+123""#,
            r#""\é""#,
            r#""\u00é1""#,
        ] {
            assert!(unescape_into(bad, &mut String::new()).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_reader_panic(
            cut in 0usize..400,
            insert in proptest::prelude::any::<String>(),
            noise in proptest::prelude::any::<String>(),
        ) {
            let soql = "SELECT Name, Account.Name, (SELECT LastName, (SELECT Subject FROM Cases) FROM Contacts) FROM Account";
            let record = r#"{"attributes":{"type":"Account"},"Name":"A\u00e9\"b","Account":{"Name":"P"},"Contacts":{"totalSize":1,"done":false,"records":[{"LastName":"L","Cases":{"totalSize":1,"done":true,"records":[{"Subject":"S"}]}}]}}"#;
            let mut cut = cut.min(record.len());
            while !record.is_char_boundary(cut) {
                cut -= 1;
            }
            let mangled = format!("{}{insert}{}", &record[..cut], &record[cut..]);
            for text in [&mangled, &noise, &record[..cut].to_string()] {
                let _ = rows(soql, text, true);
                let _ = rows(soql, text, false);
            }
        }
    }

    #[test]
    fn text_that_is_not_a_record_is_malformed_and_never_panics() {
        for bad in [
            "",
            "null",
            "[]",
            "\"x\"",
            "{",
            "{\"Name\"",
            "{\"Name\":",
            "{\"Name\":\"x",
            "{\"Name\":\"x\"",
            "{\"Name\":\"x\",}",
            "{\"Name\":\"x\"} x",
            "{\"Name\":{\"a\":[}",
            "{\"Name\" \"x\"}",
            "{\"Name\":\"\\",
            "{\"Account\":{\"Name\":",
            "{\"Contacts\":{\"records\":[{\"LastName\":1},",
        ] {
            assert!(
                rows(
                    "SELECT Name, Account.Name, (SELECT LastName FROM Contacts) FROM Account",
                    bad,
                    true
                )
                .is_err(),
                "{bad}"
            );
        }
    }
}
