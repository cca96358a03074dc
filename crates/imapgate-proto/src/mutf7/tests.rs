use super::*;

/// Pairs of canonical modified UTF-7 and the name it encodes.
const KNOWN: &[(&str, &str)] = &[
    ("", ""),
    ("INBOX", "INBOX"),
    ("~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}"),
    ("&-", "&"),
    ("Tom &- Jerry", "Tom & Jerry"),
    ("&--", "&-"),
    ("&AOk-", "\u{e9}"),
    ("Entw&APw-rfe", "Entw\u{fc}rfe"),
    ("&AOkA6Q-", "\u{e9}\u{e9}"),
    ("&AOk-&-&AOk-", "\u{e9}&\u{e9}"),
    ("&2D3eAA-", "\u{1f600}"),
    ("a&2D3eANg93gE-b", "a\u{1f600}\u{1f601}b"),
    ("&AAA-", "\0"),
    ("&AAkACgB,-", "\t\n\u{7f}"),
    (" !\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~", " !\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"),
];

#[test]
fn encode_known_answers() {
    for (encoded, name) in KNOWN {
        assert_eq!(encode(name), *encoded, "{name:?}");
    }
}

#[test]
fn decode_known_answers() {
    for (encoded, name) in KNOWN {
        assert_eq!(decode(encoded.as_bytes()).as_deref(), Ok(*name), "{encoded:?}");
    }
}

#[test]
fn decode_rejects_non_ascii() {
    let cases: &[(&[u8], Mutf7Error)] = &[
        (b"caf\xc3\xa9", Mutf7Error::NonAscii { at: 3, byte: 0xc3 }),
        (b"a\tb", Mutf7Error::NonAscii { at: 1, byte: b'\t' }),
        (b"a\x7f", Mutf7Error::NonAscii { at: 1, byte: 0x7f }),
        (b"\0", Mutf7Error::NonAscii { at: 0, byte: 0 }),
        (b"&U,\xffBTFw-", Mutf7Error::NonAscii { at: 3, byte: 0xff }),
        (b"&U,B\n", Mutf7Error::NonAscii { at: 4, byte: b'\n' }),
    ];
    for (bytes, expected) in cases {
        assert_eq!(decode(bytes).as_ref(), Err(expected), "{}", bytes.escape_ascii());
    }
}

#[test]
fn decode_rejects_unterminated() {
    for bytes in [&b"&"[..], b"&U,BTFw", b"&AOk"] {
        assert_eq!(decode(bytes), Err(Mutf7Error::Unterminated { at: 0 }), "{}", bytes.escape_ascii());
    }
    assert_eq!(decode(b"ab&AOk"), Err(Mutf7Error::Unterminated { at: 2 }));
}

#[test]
fn decode_rejects_invalid_base64() {
    let cases: &[&[u8]] = &[
        // A character outside the modified alphabet ends the sequence early.
        b"&Jjo!",
        b"&U/BTFw-",
        b"&AOk=-",
        b"&AOk&-",
        // A single character is not a whole byte.
        b"&A-",
        b"&AOkAA-",
    ];
    for bytes in cases {
        assert_eq!(decode(bytes), Err(Mutf7Error::InvalidBase64 { at: 0 }), "{}", bytes.escape_ascii());
    }
}

#[test]
fn decode_rejects_invalid_utf16() {
    let cases: &[&[u8]] = &[
        // Lone high surrogate U+D800.
        b"&2AA-",
        // Lone low surrogate U+DC00.
        b"&3AA-",
        // Low surrogate before the high one.
        b"&3gDYPQ-",
        // High surrogate followed by a character that is not a low surrogate.
        b"&2D0A6Q-",
        // Three bytes: half a code unit left over.
        b"&AOkA-",
    ];
    for bytes in cases {
        assert_eq!(decode(bytes), Err(Mutf7Error::InvalidUtf16 { at: 0 }), "{}", bytes.escape_ascii());
    }
}

#[test]
fn decode_rejects_non_canonical() {
    let cases: &[(&[u8], Mutf7Error)] = &[
        // `a` (U+0061) and `&` (U+0026) must represent themselves.
        (b"&AGE-", Mutf7Error::NonCanonical { at: 0 }),
        (b"&ACY-", Mutf7Error::NonCanonical { at: 0 }),
        (b"x&AOkAYQ-", Mutf7Error::NonCanonical { at: 1 }),
        // Padding bits after U+00E9 are not zero.
        (b"&AOl-", Mutf7Error::NonCanonical { at: 0 }),
        (b"&AOkA6R-", Mutf7Error::NonCanonical { at: 0 }),
        // Two adjacent shift sequences must be one.
        (b"&U,BTFw-&ZeVnLIqe-", Mutf7Error::NonCanonical { at: 8 }),
        (b"&AOk-&AOk-", Mutf7Error::NonCanonical { at: 5 }),
    ];
    for (bytes, expected) in cases {
        assert_eq!(decode(bytes).as_ref(), Err(expected), "{}", bytes.escape_ascii());
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip_unicode(name in any::<String>()) {
            let encoded = encode(&name);
            prop_assert!(encoded.bytes().all(is_printable), "{encoded:?}");
            prop_assert_eq!(decode(encoded.as_bytes()), Ok(name));
        }

        #[test]
        fn round_trip_mixed(name in "[a&~/ .\u{e9}\u{53f0}\u{1f600}\0]{0,12}") {
            prop_assert_eq!(decode(encode(&name).as_bytes()), Ok(name));
        }

        #[test]
        fn decoded_reencodes_alphabet(bytes in "[A-Za-z0-9+,&-]{0,16}") {
            if let Ok(name) = decode(bytes.as_bytes()) {
                prop_assert_eq!(encode(&name), bytes);
            }
        }

        #[test]
        fn decoded_reencodes_ascii(bytes in proptest::collection::vec(0u8..0x80, 0..24)) {
            if let Ok(name) = decode(&bytes) {
                prop_assert_eq!(encode(&name).into_bytes(), bytes);
            }
        }

        #[test]
        fn decoded_reencodes_shift_sequences(
            parts in proptest::collection::vec(
                prop_oneof!["[a-z&]", "&[A-Za-z0-9+,]{1,9}-", Just("&-".to_owned())],
                0..6,
            )
        ) {
            let bytes = parts.concat();
            if let Ok(name) = decode(bytes.as_bytes()) {
                prop_assert_eq!(encode(&name), bytes);
            }
        }
    }
}
