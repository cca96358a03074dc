//! Writes string arguments, keeping the original form when possible.

use crate::scan::StringForm;

#[cfg(test)]
mod tests;

/// Grammar the written string must satisfy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grammar {
    /// `astring`: mailbox arguments and response mailbox names.
    Astring,
    /// `list-mailbox`: LIST patterns, where `%` and `*` are atom characters.
    ListMailbox,
}

/// What the receiving peer accepts for literals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralSupport {
    /// Only synchronizing literals (`{n}`); a server must answer `+` first.
    Synchronizing,
    /// LITERAL+: any literal may be `{n+}`.
    NonSyncAny,
    /// LITERAL-: `{n+}` up to 4096 bytes.
    NonSyncUpTo4096,
    /// Toward a client: response literals are always `{n}` and never wait.
    Response,
}

/// Encodes `value` in `preferred` form when `grammar` allows it; otherwise as
/// a quoted string, or as a literal when the value contains CR, LF, NUL or
/// 8-bit bytes. When `utf8` is true (after `ENABLE UTF8=ACCEPT`), valid UTF-8
/// may be quoted.
///
/// A literal toward a server is non-synchronizing when `literals` allows it.
/// A preferred literal stays a literal, but is never written as a binary
/// literal (`~{n}`).
pub fn encode_string(
    value: &[u8],
    preferred: StringForm,
    grammar: Grammar,
    literals: LiteralSupport,
    utf8: bool,
) -> Vec<u8> {
    let atom_allowed = || is_atom(value, grammar);
    let quoted_allowed = || is_quotable(value, utf8);

    match preferred {
        StringForm::Atom if atom_allowed() => value.to_vec(),
        StringForm::Atom | StringForm::Quoted if quoted_allowed() => encode_quoted(value),
        _ => encode_literal(value, literals),
    }
}

/// Largest literal that LITERAL- (RFC 7888) allows to be non-synchronizing.
const LITERAL_MINUS_MAX: usize = 4096;

/// Checks whether `value` can be sent as an atom. It must be one or more
/// ASTRING-CHAR, which is CHAR except `(`, `)`, `{`, SP, CTL, `%`, `*`, `"`
/// and `\`. `list-mailbox` also allows `%` and `*`. `NIL` in any case is
/// excluded because it would be read as nil.
fn is_atom(value: &[u8], grammar: Grammar) -> bool {
    let is_char = |byte: u8| match byte {
        b'%' | b'*' => grammar == Grammar::ListMailbox,
        b'(' | b')' | b'{' | b' ' | b'"' | b'\\' => false,
        0x21..=0x7e => true,
        _ => false,
    };
    !value.is_empty() && value.iter().all(|&byte| is_char(byte)) && !value.eq_ignore_ascii_case(b"NIL")
}

/// Checks whether `value` can be sent as a quoted string. It must contain no
/// CR, LF or NUL, and be 7-bit unless `utf8` is true. RFC 6855 allows only
/// valid UTF-8 in quoted strings, so other 8-bit data needs a literal.
fn is_quotable(value: &[u8], utf8: bool) -> bool {
    if value.iter().any(|byte| matches!(byte, b'\r' | b'\n' | 0)) {
        return false;
    }
    value.is_ascii() || (utf8 && std::str::from_utf8(value).is_ok())
}

fn encode_quoted(value: &[u8]) -> Vec<u8> {
    let mut quoted = Vec::with_capacity(value.len() + 2);
    quoted.push(b'"');
    for &byte in value {
        if matches!(byte, b'"' | b'\\') {
            quoted.push(b'\\');
        }
        quoted.push(byte);
    }
    quoted.push(b'"');
    quoted
}

/// Writes `{n}\r\n` or `{n+}\r\n` and the data. Binary literals (`~{n}`) are
/// never written because a mailbox name never needs one.
fn encode_literal(value: &[u8], literals: LiteralSupport) -> Vec<u8> {
    let non_synchronizing = match literals {
        LiteralSupport::NonSyncAny => true,
        LiteralSupport::NonSyncUpTo4096 => value.len() <= LITERAL_MINUS_MAX,
        LiteralSupport::Synchronizing | LiteralSupport::Response => false,
    };
    let header =
        if non_synchronizing { format!("{{{}+}}\r\n", value.len()) } else { format!("{{{}}}\r\n", value.len()) };

    let mut literal = Vec::with_capacity(header.len() + value.len());
    literal.extend_from_slice(header.as_bytes());
    literal.extend_from_slice(value);
    literal
}
