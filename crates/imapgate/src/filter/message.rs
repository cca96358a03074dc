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
            // A quoted string may follow an atom without SP (`1:3"Sent"`),
            // but an atom or a literal written in its place needs one.
            if out.last().is_some_and(|&byte| !matches!(byte, b' ' | b'(' | b')' | b'"' | b'\n'))
                && wire.first().is_some_and(|&byte| !matches!(byte, b'"' | b'(' | b')'))
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
