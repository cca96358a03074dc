//! Tokenizes a collected message and keeps the byte range of each token.
//!
//! A collected message is contiguous: its lines with their literal data in
//! place, exactly as received (`A1 SELECT {4}\r\nSent\r\n`).

use std::ops::Range;

/// How a string was written on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringForm {
    Atom,
    Quoted,
    /// `{n}`, `{n+}` or `~{n}`.
    Literal { synchronizing: bool, binary: bool },
}

/// One token of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// An atom, a quoted string or a literal. `NIL` unquoted is [`TokenKind::Nil`].
    String(StringForm),
    Nil,
    ListOpen,
    ListClose,
    /// The line terminator (CRLF or LF) that ends the message.
    End,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    /// Bytes of the whole token: quotes, literal header and data included.
    pub span: Range<usize>,
}

/// Why a message could not be tokenized; `at` is the byte offset.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("unterminated quoted string at byte {at}")]
    UnterminatedQuoted { at: usize },
    #[error("invalid character {byte:#04x} in quoted string at byte {at}")]
    InvalidQuoted { at: usize, byte: u8 },
    #[error("literal at byte {at} is truncated")]
    TruncatedLiteral { at: usize },
    #[error("invalid literal header at byte {at}")]
    InvalidLiteral { at: usize },
    #[error("unbalanced parenthesis at byte {at}")]
    UnbalancedParen { at: usize },
    #[error("message does not end with a line terminator")]
    MissingEnd,
}

/// Tokenizes `msg` from byte `from` to its final line terminator.
///
/// Atoms run until SP, CR, LF, `(`, `)` or `"`; brackets belong to atoms
/// (`BODY[HEADER]`), so section specifiers stay one token or split at spaces.
pub fn tokenize(msg: &[u8], from: usize) -> Result<Vec<Token>, ScanError> {
    let _ = (msg, from);
    todo!()
}

/// The value of a string token: atom bytes, unescaped quoted content, or
/// literal data. `None` for tokens that are not strings.
pub fn string_value<'a>(msg: &'a [u8], token: &Token) -> Option<std::borrow::Cow<'a, [u8]>> {
    let _ = (msg, token);
    todo!()
}
