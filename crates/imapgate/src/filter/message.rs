//! A collected message as filters see it: its bytes, its tokens, and the
//! edits filters record. Edits replace whole tokens; everything else keeps
//! its original bytes.

use std::borrow::Cow;
use std::ops::Range;

use imapgate_proto::scan::{self, Token, TokenKind};

/// A tokenized message with pending edits.
pub struct Message<'a> {
    bytes: &'a [u8],
    tokens: Vec<Token>,
    /// Byte ranges of `bytes` and the wire bytes that replace them, in no
    /// order. Ranges never overlap.
    edits: Vec<(Range<usize>, Vec<u8>)>,
}

impl<'a> Message<'a> {
    /// Tokenizes `bytes` from `from` (the offset after the keyword).
    pub fn parse(bytes: &'a [u8], from: usize) -> Result<Self, scan::ScanError> {
        let tokens = scan::tokenize(bytes, from)?;
        Ok(Message { bytes, tokens, edits: Vec::new() })
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The tokens after the keyword; the last one is [`TokenKind::End`].
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// The value of token `index` if it is a string (atom, quoted, literal).
    pub fn string(&self, index: usize) -> Option<Cow<'a, [u8]>> {
        scan::string_value(self.bytes, self.tokens.get(index)?)
    }

    pub fn kind(&self, index: usize) -> Option<&TokenKind> {
        self.tokens.get(index).map(|token| &token.kind)
    }

    /// Replaces token `index` with `wire` (already encoded for the peer).
    pub fn replace(&mut self, index: usize, wire: Vec<u8>) {
        self.replace_tokens(index, index, wire);
    }

    /// Replaces tokens `first` to `last` (inclusive) and the bytes between
    /// them with `wire`. An earlier edit that overlaps the range is dropped.
    pub fn replace_tokens(&mut self, first: usize, last: usize, wire: Vec<u8>) {
        debug_assert!(first <= last && last < self.tokens.len());
        let range = self.tokens[first].span.start..self.tokens[last].span.end;
        self.edit(range, wire);
    }

    /// Removes tokens `first` to `last` (inclusive) with one of the spaces
    /// that separate them from their neighbours, so the rest stays valid
    /// (`("A" x "B" y)` without `"A" x` is `("B" y)`).
    pub fn remove_tokens(&mut self, first: usize, last: usize) {
        debug_assert!(first <= last && last + 1 < self.tokens.len());
        let next = &self.tokens[last + 1];
        let range = if !matches!(next.kind, TokenKind::ListClose | TokenKind::End) {
            self.tokens[first].span.start..next.span.start
        } else if first > 0 && self.tokens[first - 1].kind != TokenKind::ListOpen {
            self.tokens[first - 1].span.end..self.tokens[last].span.end
        } else {
            self.tokens[first].span.start..self.tokens[last].span.end
        };
        self.edit(range, Vec::new());
    }

    /// Inserts `wire` at byte `at` (a token boundary).
    pub fn insert(&mut self, at: usize, wire: Vec<u8>) {
        self.edit(at..at, wire);
    }

    fn edit(&mut self, range: Range<usize>, wire: Vec<u8>) {
        let overlaps =
            |edited: &Range<usize>| edited == &range || (edited.start < range.end && range.start < edited.end);
        self.edits.retain(|(edited, _)| !overlaps(edited));
        self.edits.push((range, wire));
    }

    pub fn is_edited(&self) -> bool {
        !self.edits.is_empty()
    }

    /// The message with every edit spliced in; `None` when nothing changed.
    pub fn rewritten(&self) -> Option<Vec<u8>> {
        if self.edits.is_empty() {
            return None;
        }
        let mut edits: Vec<_> = self.edits.iter().collect();
        edits.sort_by_key(|(span, _)| (span.start, span.end));

        let mut out = Vec::with_capacity(self.bytes.len() + 64);
        let mut at = 0;
        for (span, wire) in edits {
            out.extend_from_slice(&self.bytes[at..span.start]);
            // A quoted string may follow an atom without SP (`1:3"Sent"`),
            // but an atom or a literal written in its place needs one.
            // Insertions bring their own separator.
            let replaces_token = span.start < span.end;
            if replaces_token
                && out.last().is_some_and(|&byte| !matches!(byte, b' ' | b'(' | b')' | b'"' | b'\n'))
                && wire.first().is_some_and(|&byte| !matches!(byte, b' ' | b'"' | b'(' | b')'))
            {
                out.push(b' ');
            }
            out.extend_from_slice(wire);
            at = span.end;
        }
        out.extend_from_slice(&self.bytes[at..]);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::Message;

    fn edited(bytes: &[u8], edit: impl FnOnce(&mut Message<'_>)) -> String {
        let mut message = Message::parse(bytes, 0).expect("test message tokenizes");
        edit(&mut message);
        String::from_utf8(message.rewritten().unwrap_or_else(|| bytes.to_vec())).unwrap()
    }

    #[test]
    fn replace_tokens_covers_the_range() {
        // Tokens: ( a b ) c End
        let out = edited(b"(a b) c\r\n", |message| message.replace_tokens(0, 3, b"\"*\"".to_vec()));
        assert_eq!(out, "\"*\" c\r\n");
    }

    #[test]
    fn remove_tokens_keeps_one_separator() {
        // Tokens: ( A x B y ) End
        let bytes = b"(A x B y)\r\n";
        assert_eq!(edited(bytes, |message| message.remove_tokens(1, 2)), "(B y)\r\n");
        assert_eq!(edited(bytes, |message| message.remove_tokens(3, 4)), "(A x)\r\n");
        assert_eq!(edited(bytes, |message| message.remove_tokens(1, 4)), "()\r\n");
        assert_eq!(edited(b"a b\r\n", |message| message.remove_tokens(1, 1)), "a\r\n");
    }

    #[test]
    fn insert_and_replace_combine() {
        // Tokens: ( \A ) name End
        let out = edited(b"(\\A) name\r\n", |message| {
            message.insert(3, b" \\Sent".to_vec());
            message.replace(3, b"other".to_vec());
        });
        assert_eq!(out, "(\\A \\Sent) other\r\n");
    }

    #[test]
    fn overlapping_edit_replaces_the_earlier_one() {
        let out = edited(b"a b c\r\n", |message| {
            message.replace(1, b"x".to_vec());
            message.replace_tokens(0, 1, b"y".to_vec());
        });
        assert_eq!(out, "y c\r\n");
    }

    #[test]
    fn rewritten_separates_literal_from_atom() {
        let bytes = b"A1 MOVE 1:3\"Sent\"\r\n";
        let mut message = Message::parse(bytes, 7).expect("test message tokenizes");
        message.replace(1, b"{4+}\r\nSent".to_vec());
        let rewritten = message.rewritten().expect("the message was edited");
        assert_eq!(rewritten, b"A1 MOVE 1:3 {4+}\r\nSent\r\n");
        assert!(Message::parse(&rewritten, 7).is_ok());
    }

    #[test]
    fn rewritten_keeps_quoted_after_atom() {
        let bytes = b"A1 MOVE 1:3\"Sent\"\r\n";
        let mut message = Message::parse(bytes, 7).expect("test message tokenizes");
        message.replace(1, b"\"Other\"".to_vec());
        assert_eq!(message.rewritten().expect("the message was edited"), b"A1 MOVE 1:3\"Other\"\r\n");
    }
}
