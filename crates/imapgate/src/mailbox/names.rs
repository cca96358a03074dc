//! Mailbox names between the wire and the rule engine.

use imapgate_proto::mutf7;

/// A mailbox name as the rule engine sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Name {
    /// Decoded from modified UTF-7, or raw UTF-8 after `ENABLE UTF8=ACCEPT`.
    Unicode(String),
    /// Bytes that are not valid modified UTF-7 (or not UTF-8), taken as
    /// they are; written back unchanged apart from what the rules replace.
    Raw(String),
}

impl Name {
    pub fn as_str(&self) -> &str {
        match self {
            Name::Unicode(text) | Name::Raw(text) => text,
        }
    }

    /// A name of the same encoding with other text.
    pub fn with_text(&self, text: String) -> Name {
        match self {
            Name::Unicode(_) => Name::Unicode(text),
            Name::Raw(_) => Name::Raw(text),
        }
    }

    /// The bytes of the name on the wire, before quoting.
    pub fn to_wire(&self, utf8: bool) -> Vec<u8> {
        match self {
            Name::Unicode(text) if !utf8 => mutf7::encode(text).into_bytes(),
            Name::Unicode(text) | Name::Raw(text) => text.as_bytes().to_vec(),
        }
    }
}

/// Decodes a mailbox name from its wire bytes.
///
/// NOTE: bytes that are not UTF-8 become U+FFFD in a `Raw` name, so such a
/// name reaches the other side with U+FFFD in place of those bytes.
pub fn decode_name(raw: &[u8], utf8: bool) -> Name {
    if utf8 {
        return match std::str::from_utf8(raw) {
            Ok(text) => Name::Unicode(text.to_string()),
            Err(_) => Name::Raw(String::from_utf8_lossy(raw).into_owned()),
        };
    }
    match mutf7::decode(raw) {
        Ok(text) => Name::Unicode(text),
        Err(_) => Name::Raw(String::from_utf8_lossy(raw).into_owned()),
    }
}
