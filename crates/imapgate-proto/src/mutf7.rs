//! Modified UTF-7 for mailbox names (RFC 3501 section 5.1.3).

/// Why bytes are not canonical modified UTF-7.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Mutf7Error {
    #[error("byte {byte:#04x} at {at} is not printable US-ASCII")]
    NonAscii { at: usize, byte: u8 },
    #[error("unterminated shift sequence starting at {at}")]
    Unterminated { at: usize },
    #[error("invalid base64 in shift sequence starting at {at}")]
    InvalidBase64 { at: usize },
    #[error("invalid UTF-16 in shift sequence starting at {at}")]
    InvalidUtf16 { at: usize },
    #[error("non-canonical encoding at {at}")]
    NonCanonical { at: usize },
}

/// Decodes a modified UTF-7 name; rejects anything `encode` would not produce.
pub fn decode(bytes: &[u8]) -> Result<String, Mutf7Error> {
    let _ = bytes;
    todo!()
}

/// Encodes a Unicode name in modified UTF-7.
pub fn encode(name: &str) -> String {
    let _ = name;
    todo!()
}
