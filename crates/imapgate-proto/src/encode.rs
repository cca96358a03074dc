//! Writes string arguments, keeping the original form when possible.

use crate::scan::StringForm;

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
/// 8-bit bytes (8-bit bytes may be quoted when `utf8` is true, after
/// `ENABLE UTF8=ACCEPT`). A literal toward a server is non-synchronizing when
/// `literals` allows it.
pub fn encode_string(
    value: &[u8],
    preferred: StringForm,
    grammar: Grammar,
    literals: LiteralSupport,
    utf8: bool,
) -> Vec<u8> {
    let _ = (value, preferred, grammar, literals, utf8);
    todo!()
}
