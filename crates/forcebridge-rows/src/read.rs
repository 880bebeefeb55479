//! Reading one record's JSON into the cells of its rows, with no value built and nothing
//! allocated per cell: keys are matched against the columns as they are read, and each cell's
//! text (the string unescaped, anything else as the org wrote it) is appended to one buffer.
//!
//! A record with child records (a CSV row per child) is read into frames: the record is frame
//! 0, each child record a frame under it. [`Cells::rows`] then walks the frames into rows.

use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::columns::{Level, Node};

/// The cells of the record read last, and what reading it noticed.
#[derive(Debug, Default)]
pub(crate) struct Cells {
    /// The text of every cell, one after the other.
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

/// Where a cell's text is, and in which column.
#[derive(Debug, Clone, Copy)]
struct Slot {
    column: usize,
    start: usize,
    end: usize,
}

/// One record of the rows being read: the record itself or one of its child records.
#[derive(Debug, Default)]
struct Frame {
    /// Its own cells (indices into `slots`).
    own: Vec<usize>,
    /// Its child records (indices into `frames`), in the order they came.
    children: Vec<usize>,
}

/// A row: for each column, where its text is (or nothing, for an empty cell).
pub(crate) type Row = [Option<(usize, usize)>];

impl Cells {
    /// Reads one record into cells, replacing those of the record before. `expand_children`:
    /// child records become frames (CSV); otherwise their count is a cell (table).
    pub(crate) fn read(
        &mut self,
        level: &Level,
        json: &str,
        expand_children: bool,
    ) -> serde_json::Result<()> {
        self.text.clear();
        self.slots.clear();
        self.n_frames = 0;
        let frame = self.new_frame(None);
        let mut deserializer = serde_json::Deserializer::from_str(json);
        // A record must be an object (null or another value is passed over only in a parent).
        deserializer.deserialize_map(RecordSeed {
            level,
            prefix: Prefix::Root,
            cells: self,
            frame,
            expand_children,
        })?;
        deserializer.end()
    }

    /// The text of a cell.
    pub(crate) fn text(&self, (start, end): (usize, usize)) -> &str {
        &self.text[start..end]
    }

    /// Calls `write` with each row of the record read last: one, or one per child record
    /// (per grandchild, and so on, for child records that have children of their own), the
    /// parent's cells repeated on each. `row` must have one place per column.
    pub(crate) fn rows<E>(
        &self,
        row: &mut Vec<Option<(usize, usize)>>,
        write: &mut dyn FnMut(&Cells, &Row) -> Result<(), E>,
    ) -> Result<u64, E> {
        row.fill(None);
        self.frame_rows(0, row, write)
    }

    fn frame_rows<E>(
        &self,
        frame: usize,
        row: &mut Vec<Option<(usize, usize)>>,
        write: &mut dyn FnMut(&Cells, &Row) -> Result<(), E>,
    ) -> Result<u64, E> {
        let frame = &self.frames[frame];
        self.fill(frame, row, true);
        if frame.children.is_empty() {
            write(self, row)?;
            return Ok(1);
        }
        let mut n = 0;
        for &child in &frame.children {
            n += self.frame_rows(child, row, write)?;
            self.clear(child, row);
        }
        Ok(n)
    }

    fn fill(&self, frame: &Frame, row: &mut [Option<(usize, usize)>], set: bool) {
        for &slot in &frame.own {
            let slot = self.slots[slot];
            row[slot.column] = set.then_some((slot.start, slot.end));
        }
    }

    /// Empties the cells of a child record and of its own children.
    fn clear(&self, frame: usize, row: &mut [Option<(usize, usize)>]) {
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

    fn push_slot(&mut self, frame: usize, column: usize, start: usize) {
        self.frames[frame].own.push(self.slots.len());
        self.slots.push(Slot {
            column,
            start,
            end: self.text.len(),
        });
    }

    /// A cell from a value's JSON text: a string unescaped, null empty, anything else as it
    /// was written (numbers as the org wrote them, compound fields as JSON).
    fn push_value(&mut self, frame: usize, column: usize, raw: &str) -> serde_json::Result<()> {
        let start = self.text.len();
        match raw.as_bytes().first() {
            Some(b'"') => {
                let inner = &raw[1..raw.len() - 1];
                if inner.contains('\\') {
                    serde_json::Deserializer::from_str(raw)
                        .deserialize_str(AppendStr(&mut self.text))?;
                } else {
                    self.text.push_str(inner);
                }
            }
            Some(b'n') => {}
            _ => self.text.push_str(raw),
        }
        self.push_slot(frame, column, start);
        Ok(())
    }

    /// A table's cell for a child relationship: how many records it has.
    fn push_count(&mut self, frame: usize, column: usize, n: u64) {
        let start = self.text.len();
        let _ = write!(self.text, "[{n} record{}]", if n == 1 { "" } else { "s" });
        self.push_slot(frame, column, start);
    }

    /// Notes a field that is not a column, once per path.
    fn left_out(&mut self, prefix: Prefix<'_>, key: &str) {
        let known = self
            .left_out
            .iter()
            .any(|name| prefix.is_path_of(name, key));
        if !known {
            let mut name = String::new();
            prefix.write(&mut name);
            name.push_str(key);
            self.left_out.push(name);
        }
    }

    fn more_children(&mut self, prefix: Prefix<'_>, relationship: &str) {
        match self
            .more_children
            .iter_mut()
            .find(|(name, _)| prefix.is_path_of(name, relationship))
        {
            Some((_, n)) => *n += 1,
            None => {
                let mut name = String::new();
                prefix.write(&mut name);
                name.push_str(relationship);
                self.more_children.push((name, 1));
            }
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
    /// `Account.Owner.` for the level of `Account.Owner`'s fields.
    fn write(&self, out: &mut String) {
        if let Prefix::Under(up, key) = self {
            up.write(out);
            out.push_str(key);
            out.push('.');
        }
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

/// Reads a record (or a parent record, or null) into the cells of `frame`.
struct RecordSeed<'a, 'c> {
    level: &'a Level,
    prefix: Prefix<'a>,
    cells: &'c mut Cells,
    frame: usize,
    expand_children: bool,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// A value where a record or child records were expected (which Salesforce never sends) is
/// passed over: its cells stay empty, rather than the output ending there.
macro_rules! pass_over_other_values {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($value)
        }
    };
}

impl<'de> Visitor<'de> for RecordSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    pass_over_other_values!(());

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let RecordSeed {
            level,
            prefix,
            cells,
            frame,
            expand_children,
        } = self;
        let mut next = 0;
        while let Some(key) = map.next_key_seed(KeySeed { level, next })? {
            let index = match key {
                Key::Member(index) => index,
                Key::Attributes => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                Key::Other(name) => {
                    map.next_value::<IgnoredAny>()?;
                    cells.left_out(prefix, name.as_str());
                    continue;
                }
            };
            next = index + 1;
            let member = &level.members[index];
            match &member.node {
                Node::Value { column, .. } => {
                    let raw: &'de RawValue = map.next_value()?;
                    cells
                        .push_value(frame, *column, raw.get())
                        .map_err(de::Error::custom)?;
                }
                Node::Parent { level: parent, .. } => map.next_value_seed(RecordSeed {
                    level: parent,
                    prefix: Prefix::Under(&prefix, &member.key),
                    cells: &mut *cells,
                    frame,
                    expand_children,
                })?,
                Node::Children {
                    column,
                    level: children,
                    ..
                } => {
                    let read = map.next_value_seed(ChildrenSeed {
                        level: children,
                        prefix: Prefix::Under(&prefix, &member.key),
                        cells: &mut *cells,
                        frame,
                        expand_children,
                    })?;
                    if let Some(read) = read {
                        if !expand_children {
                            cells.push_count(frame, *column, read.total_size);
                        }
                        if !read.done {
                            cells.more_children(prefix, &member.key);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// What a child relationship said about itself.
struct ChildrenRead {
    total_size: u64,
    done: bool,
}

/// Reads a child relationship (`{"totalSize":2,"done":true,"records":[...]}`, or null): its
/// records become frames under the parent's, or only their count is kept.
struct ChildrenSeed<'a, 'c> {
    level: &'a Level,
    prefix: Prefix<'a>,
    cells: &'c mut Cells,
    frame: usize,
    expand_children: bool,
}

impl<'de> DeserializeSeed<'de> for ChildrenSeed<'_, '_> {
    type Value = Option<ChildrenRead>;

    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Option<ChildrenRead>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ChildrenSeed<'_, '_> {
    type Value = Option<ChildrenRead>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("child records")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<ChildrenRead>, E> {
        Ok(None)
    }

    pass_over_other_values!(None);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<ChildrenRead>, A::Error> {
        let mut read = ChildrenRead {
            total_size: 0,
            done: true,
        };
        while let Some(key) = map.next_key::<KeyName<'de>>()? {
            match key.as_str() {
                "totalSize" => read.total_size = map.next_value()?,
                "done" => read.done = map.next_value()?,
                "records" if self.expand_children => map.next_value_seed(ChildRecords {
                    level: self.level,
                    prefix: self.prefix,
                    cells: &mut *self.cells,
                    parent: self.frame,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(read))
    }
}

/// The `records` of a child relationship, each read into a frame of its own.
struct ChildRecords<'a, 'c> {
    level: &'a Level,
    prefix: Prefix<'a>,
    cells: &'c mut Cells,
    parent: usize,
}

impl<'de> DeserializeSeed<'de> for ChildRecords<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ChildRecords<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of child records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let frame = self.cells.new_frame(Some(self.parent));
            let seed = RecordSeed {
                level: self.level,
                prefix: self.prefix,
                cells: &mut *self.cells,
                frame,
                expand_children: true,
            };
            if seq.next_element_seed(seed)?.is_none() {
                // The frame made for a record that was not there goes again.
                self.cells.n_frames -= 1;
                self.cells.frames[self.parent].children.pop();
                return Ok(());
            }
        }
    }
}

/// A key of a record: a member of the level (found without regard to case, trying the one
/// after the last first, as records keep the order of the columns), `attributes`, or another.
enum Key<'de> {
    Member(usize),
    Attributes,
    Other(KeyName<'de>),
}

struct KeySeed<'a> {
    level: &'a Level,
    next: usize,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key<'de>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
        Ok(self
            .member(key)
            .unwrap_or(Key::Other(KeyName::Borrowed(key))))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
        Ok(self
            .member(key)
            .unwrap_or_else(|| Key::Other(KeyName::Owned(key.into()))))
    }
}

impl KeySeed<'_> {
    fn member<'de>(&self, key: &str) -> Option<Key<'de>> {
        let members = &self.level.members;
        if let Some(member) = members.get(self.next)
            && member.key.eq_ignore_ascii_case(key)
        {
            return Some(Key::Member(self.next));
        }
        if key == "attributes" {
            return Some(Key::Attributes);
        }
        self.level.find(key).map(Key::Member)
    }
}

/// A key, borrowed from the record when it has no escapes.
enum KeyName<'de> {
    Borrowed(&'de str),
    Owned(Box<str>),
}

impl KeyName<'_> {
    fn as_str(&self) -> &str {
        match self {
            KeyName::Borrowed(key) => key,
            KeyName::Owned(key) => key,
        }
    }
}

impl<'de> de::Deserialize<'de> for KeyName<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<KeyName<'de>, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = KeyName<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }

            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<KeyName<'de>, E> {
                Ok(KeyName::Borrowed(key))
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<KeyName<'de>, E> {
                Ok(KeyName::Owned(key.into()))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Appends a string, unescaped, to a buffer.
struct AppendStr<'a>(&'a mut String);

impl Visitor<'_> for AppendStr<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        self.0.push_str(text);
        Ok(())
    }
}
