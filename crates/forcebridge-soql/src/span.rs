//! Byte ranges into the query text, and their line/column positions.
//!
//! Spans are byte offsets so that slicing the source is free; columns shown to people are counted
//! in characters, because that is where a terminal puts the caret.

use std::fmt;
use std::ops::Range;

/// A half-open byte range `start..end` into the text that was parsed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: clamp(start),
            end: clamp(end.max(start)),
        }
    }

    /// An empty span at `offset`, used for "expected X here" errors at the end of input.
    pub fn empty(offset: usize) -> Span {
        Span::new(offset, offset)
    }

    /// The smallest span that covers both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

fn clamp(offset: usize) -> u32 {
    u32::try_from(offset).unwrap_or(u32::MAX)
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// A position people read: both numbers start at 1, and the column counts characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineColumn {
    pub line: usize,
    pub column: usize,
}

impl LineColumn {
    /// The line and column of byte `offset` in `text`. An offset past the end maps to the end.
    pub fn of(text: &str, offset: usize) -> LineColumn {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        LineColumn {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

pub(crate) fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters_not_bytes() {
        let text = "SELECT 'é'\nFROM X";
        assert_eq!(LineColumn::of(text, 0), LineColumn { line: 1, column: 1 });
        // The closing quote comes after a two-byte character.
        assert_eq!(
            LineColumn::of(text, 10),
            LineColumn {
                line: 1,
                column: 10
            }
        );
        assert_eq!(LineColumn::of(text, 12), LineColumn { line: 2, column: 1 });
        assert_eq!(
            LineColumn::of(text, 1000),
            LineColumn { line: 2, column: 7 }
        );
    }
}
