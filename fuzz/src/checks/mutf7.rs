//! Modified UTF-7 check.
//!
//! Expectations: `decode` never panics; when it succeeds, `encode` of the
//! result gives back the input bytes, since `decode` accepts only canonical
//! names. When the input is UTF-8, `encode` writes printable US-ASCII that
//! `decode` turns back into the same text.

use imapgate_proto::mutf7::{decode, encode};

pub fn check_mutf7(data: &[u8]) {
    if let Ok(name) = decode(data) {
        assert_eq!(encode(&name).as_bytes(), data, "decode({data:?}) gave {name:?}, which encodes differently");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let encoded = encode(text);
        assert!(encoded.bytes().all(|byte| (0x20..=0x7e).contains(&byte)), "encode({text:?}) gave {encoded:?}");
        assert_eq!(decode(encoded.as_bytes()).as_deref(), Ok(text), "encode({text:?}) gave {encoded:?}");
    }
}
