//! A collected message as filters see it: its bytes, its tokens, and the
//! edits filters record. Edits replace whole tokens; everything else keeps
//! its original bytes.

use std::borrow::Cow;

use imapgate_proto::scan::{self, Token, TokenKind};

/// A tokenized message with pending edits.
pub struct Message<'a> {
    bytes: &'a [u8],
    tokens: Vec<Token>,
    /// Token index and the wire bytes that replace it, in no order.
    edits: Vec<(usize, Vec<u8>)>,
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
        debug_assert!(index < self.tokens.len());
        self.edits.retain(|(edited, _)| *edited != index);
        self.edits.push((index, wire));
    }

    pub fn is_edited(&self) -> bool {
        !self.edits.is_empty()
    }

    /// The message with every edit spliced in; `None` when nothing changed.
    pub fn rewritten(&self) -> Option<Vec<u8>> {
        if self.edits.is_empty() {
            return None;
        }
        let mut edits: Vec<_> = self.edits.iter().map(|(index, wire)| (&self.tokens[*index].span, wire)).collect();
        edits.sort_by_key(|(span, _)| span.start);

        let mut out = Vec::with_capacity(self.bytes.len() + 64);
        let mut at = 0;
        for (span, wire) in edits {
            out.extend_from_slice(&self.bytes[at..span.start]);
            out.extend_from_slice(wire);
            at = span.end;
        }
        out.extend_from_slice(&self.bytes[at..]);
        Some(out)
    }
}
