use super::*;
use crate::scan::{TokenKind, string_value, tokenize};

const SYNC: StringForm = StringForm::Literal { synchronizing: true, binary: false };
const NON_SYNC: StringForm = StringForm::Literal { synchronizing: false, binary: false };
const BINARY: StringForm = StringForm::Literal { synchronizing: true, binary: true };

/// Encodes as an `astring` toward a server without LITERAL+ or UTF8=ACCEPT.
fn encode_plain(value: &[u8], preferred: StringForm) -> Vec<u8> {
    encode_string(value, preferred, Grammar::Astring, LiteralSupport::Synchronizing, false)
}

#[test]
fn atom_kept() {
    assert_eq!(encode_plain(b"INBOX.Sent", StringForm::Atom), b"INBOX.Sent");
    assert_eq!(encode_plain(b"a]b[c", StringForm::Atom), b"a]b[c");
    assert_eq!(encode_plain(b"~peter/&U,BTFw-", StringForm::Atom), b"~peter/&U,BTFw-");
}

#[test]
fn atom_with_space_quoted() {
    assert_eq!(encode_plain(b"Sent Items", StringForm::Atom), b"\"Sent Items\"");
}

#[test]
fn atom_specials_quoted() {
    for value in [&b"a(b"[..], b"a)b", b"a{b", b"a\"b", b"a\\b", b"a%b", b"a*b", b"a\x01b", b"a\x7fb", b"a\tb"] {
        let encoded = encode_plain(value, StringForm::Atom);
        assert_eq!(encoded.first(), Some(&b'"'), "{}", value.escape_ascii());
        assert_eq!(encoded.last(), Some(&b'"'), "{}", value.escape_ascii());
    }
}

#[test]
fn list_wildcards_atom() {
    let encode = |grammar| encode_string(b"INBOX.%*", StringForm::Atom, grammar, LiteralSupport::Synchronizing, false);
    assert_eq!(encode(Grammar::ListMailbox), b"INBOX.%*");
    assert_eq!(encode(Grammar::Astring), b"\"INBOX.%*\"");
}

#[test]
fn quoted_kept() {
    assert_eq!(encode_plain(b"INBOX", StringForm::Quoted), b"\"INBOX\"");
}

#[test]
fn quoted_escapes() {
    assert_eq!(encode_plain(b"a\"b\\c", StringForm::Atom), b"\"a\\\"b\\\\c\"");
    assert_eq!(encode_plain(b"\\", StringForm::Quoted), b"\"\\\\\"");
}

#[test]
fn nil_quoted() {
    assert_eq!(encode_plain(b"NIL", StringForm::Atom), b"\"NIL\"");
    assert_eq!(encode_plain(b"nil", StringForm::Atom), b"\"nil\"");
    assert_eq!(
        encode_string(b"Nil", StringForm::Atom, Grammar::ListMailbox, LiteralSupport::NonSyncAny, true),
        b"\"Nil\""
    );
    assert_eq!(encode_plain(b"NILS", StringForm::Atom), b"NILS");
}

#[test]
fn empty_quoted() {
    assert_eq!(encode_plain(b"", StringForm::Atom), b"\"\"");
    assert_eq!(encode_plain(b"", StringForm::Quoted), b"\"\"");
    assert_eq!(encode_plain(b"", SYNC), b"{0}\r\n");
}

#[test]
fn line_break_literal() {
    assert_eq!(encode_plain(b"a\r\nb", StringForm::Atom), b"{4}\r\na\r\nb");
    assert_eq!(encode_plain(b"a\nb", StringForm::Quoted), b"{3}\r\na\nb");
    assert_eq!(encode_plain(b"a\rb", StringForm::Quoted), b"{3}\r\na\rb");
    assert_eq!(encode_plain(b"a\0b", StringForm::Atom), b"{3}\r\na\0b");
}

#[test]
fn eight_bit_without_utf8() {
    let value = "Entw\u{fc}rfe".as_bytes();
    let mut expected = b"{9}\r\n".to_vec();
    expected.extend_from_slice(value);
    assert_eq!(encode_plain(value, StringForm::Atom), expected);
    assert_eq!(encode_plain(value, StringForm::Quoted), expected);
}

#[test]
fn eight_bit_with_utf8() {
    let value = "Entw\u{fc}rfe".as_bytes();
    let encode = |preferred| encode_string(value, preferred, Grammar::Astring, LiteralSupport::Synchronizing, true);
    let mut quoted = b"\"".to_vec();
    quoted.extend_from_slice(value);
    quoted.push(b'"');
    assert_eq!(encode(StringForm::Atom), quoted);
    assert_eq!(encode(StringForm::Quoted), quoted);
}

#[test]
fn invalid_utf8_with_utf8_literal() {
    let value = b"a\xffb";
    let encoded = encode_string(value, StringForm::Quoted, Grammar::Astring, LiteralSupport::Synchronizing, true);
    assert_eq!(encoded, b"{3}\r\na\xffb");
}

#[test]
fn literal_kept() {
    assert_eq!(encode_plain(b"INBOX", SYNC), b"{5}\r\nINBOX");
    assert_eq!(encode_plain(b"INBOX", NON_SYNC), b"{5}\r\nINBOX");
    assert_eq!(encode_plain(b"INBOX", BINARY), b"{5}\r\nINBOX");
}

#[test]
fn literal_plus_any_size() {
    let encode = |value: &[u8]| encode_string(value, SYNC, Grammar::Astring, LiteralSupport::NonSyncAny, false);
    assert_eq!(encode(b"Sent"), b"{4+}\r\nSent");
    assert!(encode(&[b'x'; 5000]).starts_with(b"{5000+}\r\n"));
}

#[test]
fn literal_minus_size_limit() {
    let encode = |value: &[u8]| encode_string(value, SYNC, Grammar::Astring, LiteralSupport::NonSyncUpTo4096, false);
    assert_eq!(encode(b"Sent"), b"{4+}\r\nSent");
    assert!(encode(&[b'x'; 4096]).starts_with(b"{4096+}\r\n"));
    assert!(encode(&[b'x'; 4097]).starts_with(b"{4097}\r\n"));
}

#[test]
fn response_literal_synchronizing() {
    let encoded = encode_string(b"a\nb", NON_SYNC, Grammar::Astring, LiteralSupport::Response, true);
    assert_eq!(encoded, b"{3}\r\na\nb");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn form() -> impl Strategy<Value = StringForm> {
        prop_oneof![
            Just(StringForm::Atom),
            Just(StringForm::Quoted),
            (any::<bool>(), any::<bool>())
                .prop_map(|(synchronizing, binary)| { StringForm::Literal { synchronizing, binary } }),
        ]
    }

    fn grammar() -> impl Strategy<Value = Grammar> {
        prop_oneof![Just(Grammar::Astring), Just(Grammar::ListMailbox)]
    }

    fn literal_support() -> impl Strategy<Value = LiteralSupport> {
        prop_oneof![
            Just(LiteralSupport::Synchronizing),
            Just(LiteralSupport::NonSyncAny),
            Just(LiteralSupport::NonSyncUpTo4096),
            Just(LiteralSupport::Response),
        ]
    }

    /// Values mixing atom characters with every byte that forces another form.
    fn value() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => b'a'..=b'z',
            1 => proptest::sample::select(&b" ()\"\\{}%*[]\r\n\0~+"[..]),
            1 => any::<u8>(),
        ];
        prop_oneof![
            proptest::collection::vec(byte, 0..24),
            "[nN][iI][lL]".prop_map(String::into_bytes),
            "\\PC{0,8}".prop_map(String::into_bytes),
        ]
    }

    proptest! {
        #[test]
        fn encoded_scans_back(
            value in value(),
            preferred in form(),
            grammar in grammar(),
            literals in literal_support(),
            utf8 in any::<bool>(),
        ) {
            let encoded = encode_string(&value, preferred, grammar, literals, utf8);
            let mut msg = b"A1 X ".to_vec();
            msg.extend_from_slice(&encoded);
            msg.extend_from_slice(b"\r\n");

            let tokens = tokenize(&msg, 5).map_err(|error| {
                TestCaseError::fail(format!("{error} in {}", msg.escape_ascii()))
            })?;
            prop_assert_eq!(tokens.len(), 2, "{:?} in {}", tokens, msg.escape_ascii());
            prop_assert!(matches!(tokens[0].kind, TokenKind::String(_)), "{:?}", tokens);
            prop_assert_eq!(tokens[0].span.clone(), 5..5 + encoded.len());
            prop_assert_eq!(&tokens[1].kind, &TokenKind::End);
            let scanned = string_value(&msg, &tokens[0]).unwrap();
            prop_assert_eq!(scanned.as_ref(), &value[..]);
        }

        #[test]
        fn preferred_form_kept_when_allowed(value in value(), preferred in form(), utf8 in any::<bool>()) {
            let encoded = encode_string(&value, preferred, Grammar::Astring, LiteralSupport::Synchronizing, utf8);
            let msg = [&b"A1 X "[..], &encoded, b"\r\n"].concat();
            let tokens = tokenize(&msg, 5).unwrap();
            let TokenKind::String(written) = tokens[0].kind else {
                return Err(TestCaseError::fail("not a string token"));
            };

            // A literal is never downgraded, and a quoted string never becomes an atom.
            match preferred {
                StringForm::Literal { .. } => prop_assert_eq!(written, SYNC),
                StringForm::Quoted => prop_assert_ne!(written, StringForm::Atom),
                StringForm::Atom => {}
            }
        }
    }
}
