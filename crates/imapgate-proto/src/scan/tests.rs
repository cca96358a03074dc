use super::*;

const ATOM: TokenKind = TokenKind::String(StringForm::Atom);
const QUOTED: TokenKind = TokenKind::String(StringForm::Quoted);

fn literal(synchronizing: bool, binary: bool) -> TokenKind {
    TokenKind::String(StringForm::Literal { synchronizing, binary })
}

/// Tokenizes `msg` from `from` and pairs each token's kind with its bytes.
fn kinds_and_bytes(msg: &[u8], from: usize) -> Vec<(TokenKind, &[u8])> {
    tokenize(msg, from).expect("message tokenizes").into_iter().map(|token| (token.kind, &msg[token.span])).collect()
}

fn values(msg: &[u8], from: usize) -> Vec<Option<Vec<u8>>> {
    tokenize(msg, from)
        .expect("message tokenizes")
        .iter()
        .map(|token| string_value(msg, token).map(Cow::into_owned))
        .collect()
}

#[test]
fn tokenize_select_literal() {
    let msg = b"A1 SELECT {4}\r\nSent\r\n";
    let tokens = tokenize(msg, 9).unwrap();
    assert_eq!(
        tokens,
        vec![Token { kind: literal(true, false), span: 10..19 }, Token { kind: TokenKind::End, span: 19..21 },]
    );
    assert_eq!(string_value(msg, &tokens[0]).unwrap().as_ref(), b"Sent");
}

#[test]
fn tokenize_list_response() {
    let msg = b"* LIST (\\HasNoChildren) \".\" \"INBOX.Sent Items\"\r\n";
    assert_eq!(
        kinds_and_bytes(msg, 6),
        vec![
            (TokenKind::ListOpen, &b"("[..]),
            (ATOM, b"\\HasNoChildren"),
            (TokenKind::ListClose, b")"),
            (QUOTED, b"\".\""),
            (QUOTED, b"\"INBOX.Sent Items\""),
            (TokenKind::End, b"\r\n"),
        ]
    );
    assert_eq!(
        values(msg, 6),
        vec![
            None,
            Some(b"\\HasNoChildren".to_vec()),
            None,
            Some(b".".to_vec()),
            Some(b"INBOX.Sent Items".to_vec()),
            None,
        ]
    );
}

#[test]
fn tokenize_nil_any_case() {
    let msg = b"* LIST () NIL nil Nil NILS \"NIL\"\n";
    assert_eq!(
        kinds_and_bytes(msg, 6),
        vec![
            (TokenKind::ListOpen, &b"("[..]),
            (TokenKind::ListClose, b")"),
            (TokenKind::Nil, b"NIL"),
            (TokenKind::Nil, b"nil"),
            (TokenKind::Nil, b"Nil"),
            (ATOM, b"NILS"),
            (QUOTED, b"\"NIL\""),
            (TokenKind::End, b"\n"),
        ]
    );
}

#[test]
fn tokenize_atom_bytes() {
    let msg = b"A1 FETCH 1:* BODY[HEADER.FIELDS (SUBJECT)] % \xc3\xa9t\xc3\xa9 a{3} ~peter\r\n";
    assert_eq!(
        kinds_and_bytes(msg, 8),
        vec![
            (ATOM, &b"1:*"[..]),
            (ATOM, b"BODY[HEADER.FIELDS"),
            (TokenKind::ListOpen, b"("),
            (ATOM, b"SUBJECT"),
            (TokenKind::ListClose, b")"),
            (ATOM, b"]"),
            (ATOM, b"%"),
            (ATOM, b"\xc3\xa9t\xc3\xa9"),
            (ATOM, b"a{3}"),
            (ATOM, b"~peter"),
            (TokenKind::End, b"\r\n"),
        ]
    );
}

#[test]
fn tokenize_several_spaces() {
    let msg = b"A1 RENAME   a    b  \r\n";
    assert_eq!(kinds_and_bytes(msg, 9), vec![(ATOM, &b"a"[..]), (ATOM, b"b"), (TokenKind::End, b"\r\n")]);
}

#[test]
fn tokenize_no_arguments() {
    assert_eq!(tokenize(b"A1 NOOP\r\n", 7).unwrap(), vec![Token { kind: TokenKind::End, span: 7..9 }]);
    assert_eq!(tokenize(b"A1 NOOP\n", 7).unwrap(), vec![Token { kind: TokenKind::End, span: 7..8 }]);
}

#[test]
fn tokenize_adjacent_quoted_and_parens() {
    let msg = b"x (\"a\"\"b\")\r\n";
    assert_eq!(
        kinds_and_bytes(msg, 1),
        vec![
            (TokenKind::ListOpen, &b"("[..]),
            (QUOTED, b"\"a\""),
            (QUOTED, b"\"b\""),
            (TokenKind::ListClose, b")"),
            (TokenKind::End, b"\r\n"),
        ]
    );
}

#[test]
fn tokenize_nested_lists() {
    let msg = b"A1 LIST (SUBSCRIBED (RECURSIVEMATCH)) \"\" *\r\n";
    assert_eq!(
        kinds_and_bytes(msg, 7),
        vec![
            (TokenKind::ListOpen, &b"("[..]),
            (ATOM, b"SUBSCRIBED"),
            (TokenKind::ListOpen, b"("),
            (ATOM, b"RECURSIVEMATCH"),
            (TokenKind::ListClose, b")"),
            (TokenKind::ListClose, b")"),
            (QUOTED, b"\"\""),
            (ATOM, b"*"),
            (TokenKind::End, b"\r\n"),
        ]
    );
}

#[test]
fn quoted_escapes_unescaped() {
    let msg = b"A1 SELECT \"a\\\"b\\\\c\"\r\n";
    let tokens = tokenize(msg, 9).unwrap();
    assert_eq!(tokens[0].kind, QUOTED);
    assert_eq!(tokens[0].span, 10..19);
    let value = string_value(msg, &tokens[0]).unwrap();
    assert!(matches!(value, Cow::Owned(_)));
    assert_eq!(value.as_ref(), b"a\"b\\c");
}

#[test]
fn quoted_without_escapes_borrowed() {
    let msg = b"A1 SELECT \"Sent Items\"\r\n";
    let tokens = tokenize(msg, 9).unwrap();
    let value = string_value(msg, &tokens[0]).unwrap();
    assert!(matches!(value, Cow::Borrowed(_)));
    assert_eq!(value.as_ref(), b"Sent Items");
}

#[test]
fn quoted_empty() {
    let msg = b"A1 LIST \"\" \"\"\r\n";
    assert_eq!(values(msg, 7), vec![Some(vec![]), Some(vec![]), None]);
}

#[test]
fn quoted_eight_bit() {
    let msg = "A1 SELECT \"Entw\u{fc}rfe\"\r\n".as_bytes();
    assert_eq!(values(msg, 9)[0].as_deref(), Some("Entw\u{fc}rfe".as_bytes()));
}

#[test]
fn quoted_rejections() {
    let cases: &[(&[u8], ScanError)] = &[
        (b"A1 SELECT \"abc\r\n", ScanError::UnterminatedQuoted { at: 10 }),
        (b"A1 SELECT \"abc\n", ScanError::UnterminatedQuoted { at: 10 }),
        (b"A1 SELECT \"ab\rc\"\r\n", ScanError::UnterminatedQuoted { at: 10 }),
        (b"A1 SELECT \"abc", ScanError::UnterminatedQuoted { at: 10 }),
        (b"A1 SELECT \"abc\\", ScanError::UnterminatedQuoted { at: 10 }),
        (b"A1 SELECT \"abc\\\r\n", ScanError::UnterminatedQuoted { at: 10 }),
        (b"A1 SELECT \"a\0c\"\r\n", ScanError::InvalidQuoted { at: 12, byte: 0 }),
        (b"A1 SELECT \"a\\nc\"\r\n", ScanError::InvalidQuoted { at: 13, byte: b'n' }),
    ];
    for (msg, expected) in cases {
        assert_eq!(tokenize(msg, 9).as_ref(), Err(expected), "{}", msg.escape_ascii());
    }
}

#[test]
fn literal_forms() {
    let msg = b"A1 X {1}\r\na {2+}\r\nbc ~{3}\r\ndef ~{0+}\n ({3}\r\n\r\n\n)\r\n";
    assert_eq!(
        kinds_and_bytes(msg, 4),
        vec![
            (literal(true, false), &b"{1}\r\na"[..]),
            (literal(false, false), b"{2+}\r\nbc"),
            (literal(true, true), b"~{3}\r\ndef"),
            (literal(false, true), b"~{0+}\n"),
            (TokenKind::ListOpen, b"("),
            (literal(true, false), b"{3}\r\n\r\n\n"),
            (TokenKind::ListClose, b")"),
            (TokenKind::End, b"\r\n"),
        ]
    );
    assert_eq!(
        values(msg, 4),
        vec![
            Some(b"a".to_vec()),
            Some(b"bc".to_vec()),
            Some(b"def".to_vec()),
            Some(vec![]),
            None,
            Some(b"\r\n\n".to_vec()),
            None,
            None,
        ]
    );
}

#[test]
fn literal_at_message_end() {
    let msg = b"* 1 FETCH (BODY[] {5}\r\nhello)\r\n";
    assert_eq!(
        kinds_and_bytes(msg, 9),
        vec![
            (TokenKind::ListOpen, &b"("[..]),
            (ATOM, b"BODY[]"),
            (literal(true, false), b"{5}\r\nhello"),
            (TokenKind::ListClose, b")"),
            (TokenKind::End, b"\r\n"),
        ]
    );
}

#[test]
fn literal_rejections() {
    let cases: &[(&[u8], ScanError)] = &[
        (b"A1 X {6}\r\nabc\r\n", ScanError::TruncatedLiteral { at: 5 }),
        // The data swallows the line terminator, so none is left.
        (b"A1 X {5}\r\nabc\r\n", ScanError::MissingEnd),
        (b"A1 X {5}\r\n", ScanError::TruncatedLiteral { at: 5 }),
        (b"A1 X ~{9}\r\nab", ScanError::TruncatedLiteral { at: 5 }),
        (b"A1 X {99999999999999999999999}\r\nab\r\n", ScanError::TruncatedLiteral { at: 5 }),
        (b"A1 X {}\r\n", ScanError::InvalidLiteral { at: 5 }),
        (b"A1 X {+}\r\n", ScanError::InvalidLiteral { at: 5 }),
        (b"A1 X {3\r\nabc\r\n", ScanError::InvalidLiteral { at: 5 }),
        (b"A1 X {3-}\r\nabc\r\n", ScanError::InvalidLiteral { at: 5 }),
        (b"A1 X {3}abc\r\n", ScanError::InvalidLiteral { at: 5 }),
        (b"A1 X {3} \r\nabc\r\n", ScanError::InvalidLiteral { at: 5 }),
        (b"A1 X {3}\rabc\r\n", ScanError::InvalidLiteral { at: 5 }),
        (b"A1 X {a}\r\n", ScanError::InvalidLiteral { at: 5 }),
        (b"A1 X ~{}\r\n", ScanError::InvalidLiteral { at: 5 }),
        (b"A1 X {3}", ScanError::InvalidLiteral { at: 5 }),
    ];
    for (msg, expected) in cases {
        assert_eq!(tokenize(msg, 4).as_ref(), Err(expected), "{}", msg.escape_ascii());
    }
}

#[test]
fn paren_rejections() {
    let cases: &[(&[u8], ScanError)] = &[
        (b"* LIST (a\r\n", ScanError::UnbalancedParen { at: 7 }),
        (b"* LIST ((a) b\r\n", ScanError::UnbalancedParen { at: 7 }),
        (b"* LIST (a (b)\r\n", ScanError::UnbalancedParen { at: 7 }),
        (b"* LIST a)\r\n", ScanError::UnbalancedParen { at: 8 }),
        (b"* LIST (a)) (\r\n", ScanError::UnbalancedParen { at: 10 }),
    ];
    for (msg, expected) in cases {
        assert_eq!(tokenize(msg, 6).as_ref(), Err(expected), "{}", msg.escape_ascii());
    }
}

#[test]
fn line_end_rejections() {
    let cases: &[(&[u8], ScanError)] = &[
        (b"A1 SELECT INBOX", ScanError::MissingEnd),
        (b"A1 SELECT INBOX ", ScanError::MissingEnd),
        (b"A1 SELECT INBOX\r", ScanError::MissingEnd),
        (b"A1 SELECT", ScanError::MissingEnd),
        (b"A1 SELECT INBOX\r\nA2 NOOP\r\n", ScanError::UnexpectedLineEnd { at: 15 }),
        (b"A1 SELECT INBOX\r\n\r\n", ScanError::UnexpectedLineEnd { at: 15 }),
        (b"A1 SELECT INBOX\nx", ScanError::UnexpectedLineEnd { at: 15 }),
        (b"A1 SELECT IN\rBOX\r\n", ScanError::BareCarriageReturn { at: 12 }),
    ];
    for (msg, expected) in cases {
        assert_eq!(tokenize(msg, 9).as_ref(), Err(expected), "{}", msg.escape_ascii());
    }
}

#[test]
fn tokenize_from_past_end() {
    assert_eq!(tokenize(b"A1\r\n", 10), Err(ScanError::MissingEnd));
}

#[test]
fn non_strings_have_no_value() {
    let msg = b"x ( NIL )\r\n";
    let tokens = tokenize(msg, 1).unwrap();
    assert_eq!(tokens.len(), 4);
    for token in &tokens {
        assert_eq!(string_value(msg, token), None, "{token:?}");
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Messages built from fragments that form every token kind, mixed with
    /// single bytes that break them.
    fn message_bytes() -> impl Strategy<Value = Vec<u8>> {
        let fragment = prop_oneof![
            8 => Just(&b" "[..]),
            4 => Just(&b"("[..]),
            4 => Just(&b")"[..]),
            2 => Just(&b"\""[..]),
            2 => Just(&b"\\"[..]),
            8 => Just(&b"a"[..]),
            4 => Just(&b"NIL"[..]),
            4 => Just(&b"[b]"[..]),
            4 => Just(&b"\"q\\\"\\\\\""[..]),
            4 => Just(&b"{2}\r\n\r\n"[..]),
            4 => Just(&b"~{1+}\n)"[..]),
            1 => Just(&b"{"[..]),
            1 => Just(&b"\r"[..]),
            1 => Just(&b"\n"[..]),
        ]
        .prop_map(<[u8]>::to_vec);
        let piece = prop_oneof![
            20 => fragment,
            1 => any::<u8>().prop_map(|byte| vec![byte]),
        ];
        proptest::collection::vec(piece, 0..20).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        // About a fifth of the generated messages tokenize, so run more cases.
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn tokenize_spans_ordered(body in message_bytes(), crlf in any::<bool>()) {
            let mut msg = body;
            msg.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            let Ok(tokens) = tokenize(&msg, 0) else {
                return Ok(());
            };

            // Spans are non-empty, ordered and do not overlap.
            let mut previous_end = 0;
            for token in &tokens {
                prop_assert!(token.span.start >= previous_end, "{tokens:?}");
                prop_assert!(token.span.end > token.span.start, "{tokens:?}");
                previous_end = token.span.end;
            }

            // The last token is the only End and reaches the end of the message.
            let last = tokens.last().unwrap();
            prop_assert_eq!(&last.kind, &TokenKind::End);
            prop_assert_eq!(last.span.end, msg.len());
            prop_assert_eq!(tokens.iter().filter(|t| t.kind == TokenKind::End).count(), 1);

            // Only spaces lie between tokens.
            let mut covered = 0;
            for token in &tokens {
                prop_assert!(msg[covered..token.span.start].iter().all(|&b| b == b' '));
                covered = token.span.end;
            }

            // Parentheses balance and every value can be read.
            let opens = tokens.iter().filter(|t| t.kind == TokenKind::ListOpen).count();
            let closes = tokens.iter().filter(|t| t.kind == TokenKind::ListClose).count();
            prop_assert_eq!(opens, closes);
            for token in &tokens {
                let is_string = matches!(token.kind, TokenKind::String(_));
                prop_assert_eq!(string_value(&msg, token).is_some(), is_string);
            }
        }

        #[test]
        fn tokenize_arbitrary_bytes_no_panic(msg in proptest::collection::vec(any::<u8>(), 0..64), from in 0usize..70) {
            let _ = tokenize(&msg, from);
        }
    }
}
