//! Tokenizes a collected message and keeps the byte range of each token.
//!
//! A collected message is contiguous: its lines with their literal data in
//! place, exactly as received (`A1 SELECT {4}\r\nSent\r\n`).

use std::borrow::Cow;
use std::ops::Range;

#[cfg(test)]
mod tests;

/// How a string was written on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringForm {
    Atom,
    Quoted,
    /// `{n}`, `{n+}` or `~{n}`.
    Literal {
        synchronizing: bool,
        binary: bool,
    },
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
    /// A CRLF or LF that neither ends the message nor a literal header.
    #[error("line terminator at byte {at} is not at the end of the message")]
    UnexpectedLineEnd { at: usize },
    #[error("carriage return at byte {at} is not followed by a line feed")]
    BareCarriageReturn { at: usize },
}

/// Tokenizes `msg` from byte `from` to its final line terminator.
///
/// Atoms run until SP, CR, LF, `(`, `)` or `"`; brackets belong to atoms
/// (`BODY[HEADER]`), so section specifiers stay one token or split at spaces.
/// Tokens are separated by one or more SP. Parentheses and quoted strings also
/// end the token before them, so `(\Seen)` and `"a""b"` need no SP.
/// The last token is always [`TokenKind::End`], whose span is the final CRLF
/// or LF and ends at `msg.len()`.
pub fn tokenize(msg: &[u8], from: usize) -> Result<Vec<Token>, ScanError> {
    let mut tokens = Vec::new();
    // Offsets of the `(` not yet closed, innermost last.
    let mut open_parens: Vec<usize> = Vec::new();
    let mut at = from;

    loop {
        while msg.get(at) == Some(&b' ') {
            at += 1;
        }
        let Some(&byte) = msg.get(at) else {
            return Err(ScanError::MissingEnd);
        };

        let token = match byte {
            b'\r' | b'\n' => {
                let end = scan_line_end(msg, at)?;
                if let Some(&open) = open_parens.last() {
                    return Err(ScanError::UnbalancedParen { at: open });
                }
                tokens.push(Token { kind: TokenKind::End, span: at..end });
                return Ok(tokens);
            }
            b'(' => {
                open_parens.push(at);
                Token { kind: TokenKind::ListOpen, span: at..at + 1 }
            }
            b')' => {
                if open_parens.pop().is_none() {
                    return Err(ScanError::UnbalancedParen { at });
                }
                Token { kind: TokenKind::ListClose, span: at..at + 1 }
            }
            b'"' => scan_quoted(msg, at)?,
            b'{' => scan_literal(msg, at)?,
            b'~' if msg.get(at + 1) == Some(&b'{') => scan_literal(msg, at)?,
            _ => scan_atom(msg, at),
        };
        at = token.span.end;
        tokens.push(token);
    }
}

/// Checks the line terminator at `at` and returns the offset after it, which
/// must be the end of `msg`.
fn scan_line_end(msg: &[u8], at: usize) -> Result<usize, ScanError> {
    let end = match msg[at] {
        b'\r' => match msg.get(at + 1) {
            Some(b'\n') => at + 2,
            Some(_) => return Err(ScanError::BareCarriageReturn { at }),
            None => return Err(ScanError::MissingEnd),
        },
        _ => at + 1,
    };
    if end != msg.len() {
        return Err(ScanError::UnexpectedLineEnd { at });
    }
    Ok(end)
}

/// Scans `quoted = DQUOTE *QUOTED-CHAR DQUOTE` starting at the opening quote.
/// Only `\"` and `\\` are escapes. 8-bit bytes are accepted for UTF8=ACCEPT.
fn scan_quoted(msg: &[u8], start: usize) -> Result<Token, ScanError> {
    let mut at = start + 1;
    loop {
        let Some(&byte) = msg.get(at) else {
            return Err(ScanError::UnterminatedQuoted { at: start });
        };
        match byte {
            b'"' => {
                return Ok(Token { kind: TokenKind::String(StringForm::Quoted), span: start..at + 1 });
            }
            b'\\' => match msg.get(at + 1) {
                Some(b'"' | b'\\') => at += 2,
                Some(b'\r' | b'\n') | None => {
                    return Err(ScanError::UnterminatedQuoted { at: start });
                }
                Some(&other) => {
                    return Err(ScanError::InvalidQuoted { at: at + 1, byte: other });
                }
            },
            // The line ends before the closing quote.
            b'\r' | b'\n' => return Err(ScanError::UnterminatedQuoted { at: start }),
            0 => return Err(ScanError::InvalidQuoted { at, byte }),
            _ => at += 1,
        }
    }
}

/// A parsed literal header: `{n}`, `{n+}`, `~{n}` or `~{n+}` and its line
/// terminator.
struct LiteralHeader {
    size: usize,
    synchronizing: bool,
    binary: bool,
    /// Offset of the first data byte.
    data_start: usize,
}

/// Parses the literal header starting at `start` (a `{` or `~`).
///
/// A size too large for `usize` saturates, so it is reported as truncated
/// because such a literal cannot be in memory.
fn parse_literal_header(msg: &[u8], start: usize) -> Result<LiteralHeader, ScanError> {
    let invalid = ScanError::InvalidLiteral { at: start };
    let binary = msg[start] == b'~';
    let mut at = if binary { start + 2 } else { start + 1 };

    // Digits of the size.
    let digits_start = at;
    let mut size: usize = 0;
    while let Some(&digit @ b'0'..=b'9') = msg.get(at) {
        size = size.saturating_mul(10).saturating_add(usize::from(digit - b'0'));
        at += 1;
    }
    if at == digits_start {
        return Err(invalid);
    }

    // Optional `+`, the closing brace and the line terminator.
    let synchronizing = msg.get(at) != Some(&b'+');
    if !synchronizing {
        at += 1;
    }
    if msg.get(at) != Some(&b'}') {
        return Err(invalid);
    }
    at += 1;
    let data_start = match (msg.get(at), msg.get(at + 1)) {
        (Some(b'\r'), Some(b'\n')) => at + 2,
        (Some(b'\n'), _) => at + 1,
        _ => return Err(invalid),
    };

    Ok(LiteralHeader { size, synchronizing, binary, data_start })
}

fn scan_literal(msg: &[u8], start: usize) -> Result<Token, ScanError> {
    let header = parse_literal_header(msg, start)?;
    let available = msg.len() - header.data_start;
    if header.size > available {
        return Err(ScanError::TruncatedLiteral { at: start });
    }
    let form = StringForm::Literal { synchronizing: header.synchronizing, binary: header.binary };
    Ok(Token { kind: TokenKind::String(form), span: start..header.data_start + header.size })
}

fn scan_atom(msg: &[u8], start: usize) -> Token {
    let len = msg[start..]
        .iter()
        .position(|byte| matches!(byte, b' ' | b'\r' | b'\n' | b'(' | b')' | b'"'))
        .unwrap_or(msg.len() - start);
    let span = start..start + len;
    let kind = if msg[span.clone()].eq_ignore_ascii_case(b"NIL") {
        TokenKind::Nil
    } else {
        TokenKind::String(StringForm::Atom)
    };
    Token { kind, span }
}

/// The value of a string token: atom bytes, unescaped quoted content, or
/// literal data. `None` for tokens that are not strings.
///
/// # Panics
///
/// Panics if `token` was not returned by [`tokenize`] for this `msg`.
pub fn string_value<'a>(msg: &'a [u8], token: &Token) -> Option<Cow<'a, [u8]>> {
    let TokenKind::String(form) = token.kind else {
        return None;
    };
    let bytes = &msg[token.span.clone()];
    let value = match form {
        StringForm::Atom => Cow::Borrowed(bytes),
        StringForm::Quoted => unescape_quoted(&bytes[1..bytes.len() - 1]),
        StringForm::Literal { .. } => {
            let header =
                parse_literal_header(msg, token.span.start).expect("a literal token starts with a valid header");
            Cow::Borrowed(&msg[header.data_start..token.span.end])
        }
    };
    Some(value)
}

/// Removes the backslash of each `\"` and `\\` escape.
fn unescape_quoted(content: &[u8]) -> Cow<'_, [u8]> {
    if !content.contains(&b'\\') {
        return Cow::Borrowed(content);
    }
    let mut value = Vec::with_capacity(content.len());
    let mut bytes = content.iter();
    while let Some(&byte) = bytes.next() {
        if byte == b'\\' {
            // The scanner only accepts `\` followed by `"` or `\`.
            if let Some(&escaped) = bytes.next() {
                value.push(escaped);
            }
        } else {
            value.push(byte);
        }
    }
    Cow::Owned(value)
}
