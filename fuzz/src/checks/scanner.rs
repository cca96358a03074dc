//! Scanner check: tokenize arbitrary messages.
//!
//! Expectations: no panic; on success the spans are non-empty, ordered,
//! separated only by spaces and in bounds, and the last token is the line
//! terminator that ends the message. Every string token's value, written
//! again by `encode_string` in its own form and tokenized, gives the same
//! value back.

use imapgate_proto::classify::classify_command;
use imapgate_proto::encode::{Grammar, LiteralSupport, encode_string};
use imapgate_proto::scan::{StringForm, Token, TokenKind, string_value, tokenize};

pub fn check_scanner(data: &[u8]) {
    check_from(data, 0);
    if let Ok(head) = classify_command(data) {
        check_from(data, head.args_at);
    }
}

fn check_from(msg: &[u8], from: usize) {
    let Ok(tokens) = tokenize(msg, from) else {
        return;
    };
    let last = tokens.last().expect("a tokenized message has at least its end");
    assert_eq!(last.kind, TokenKind::End, "last token of {msg:?}");
    assert_eq!(last.span.end, msg.len(), "end token of {msg:?} does not end the message");
    assert!(matches!(&msg[last.span.clone()], b"\r\n" | b"\n"), "end token of {msg:?}");

    let mut at = from;
    let mut depth = 0usize;
    for token in &tokens {
        assert!(token.span.start >= at, "token {token:?} of {msg:?} overlaps the one before");
        assert!(token.span.start < token.span.end, "empty token {token:?} in {msg:?}");
        assert!(token.span.end <= msg.len(), "token {token:?} of {msg:?} is out of bounds");
        assert!(
            msg[at..token.span.start].iter().all(|&byte| byte == b' '),
            "bytes other than SP before {token:?} in {msg:?}"
        );
        match token.kind {
            TokenKind::ListOpen => depth += 1,
            TokenKind::ListClose => depth = depth.checked_sub(1).expect("parentheses are balanced"),
            TokenKind::End => assert_eq!(depth, 0, "parentheses open at the end of {msg:?}"),
            TokenKind::String(form) => check_string(msg, token, form),
            TokenKind::Nil => assert!(msg[token.span.clone()].eq_ignore_ascii_case(b"NIL"), "NIL token in {msg:?}"),
        }
        at = token.span.end;
    }
}

/// Writes the value of a string token again and tokenizes it.
fn check_string(msg: &[u8], token: &Token, form: StringForm) {
    let value = string_value(msg, token).expect("a string token has a value");
    for (grammar, literals, utf8) in
        [(Grammar::Astring, LiteralSupport::Response, false), (Grammar::ListMailbox, LiteralSupport::NonSyncAny, true)]
    {
        let encoded = encode_string(&value, form, grammar, literals, utf8);
        let mut wire = b"A1 X ".to_vec();
        wire.extend_from_slice(&encoded);
        wire.extend_from_slice(b"\r\n");
        let tokens = tokenize(&wire, 4).unwrap_or_else(|error| panic!("encoded {value:?} as {wire:?}: {error}"));
        assert_eq!(tokens.len(), 2, "encoded {value:?} as {wire:?}, which is not one token");
        let again = string_value(&wire, &tokens[0]);
        assert_eq!(again.as_deref(), Some(&value[..]), "encoded {value:?} as {wire:?}, which reads back differently");
    }
}
