//! Literal data that the driver moves past the relay (splice): the relay
//! offers exactly the literal of a message it relays unchanged, and frames
//! what follows as if the bytes had gone through it.

use bytes::BytesMut;

use super::{mailbox, mailbox_sync, relay};
use crate::relay::Output;

fn feed_server(relay: &mut crate::relay::Relay, bytes: &[u8], out: &mut Output) {
    let mut buf = BytesMut::from(bytes);
    relay.server_input(&mut buf, out).unwrap();
    assert!(buf.is_empty(), "the relay left server bytes unconsumed");
}

fn feed_client(relay: &mut crate::relay::Relay, bytes: &[u8], out: &mut Output) {
    let mut buf = BytesMut::from(bytes);
    relay.client_input(&mut buf, out).unwrap();
    assert!(buf.is_empty(), "the relay left client bytes unconsumed");
}

#[test]
fn fetch_body_literal_is_offered() {
    let mut relay = relay(mailbox());
    let mut out = Output::default();
    feed_client(&mut relay, b"A1 FETCH 1 BODY[]\r\n", &mut out);
    assert_eq!(relay.server_bypass(), 0);

    feed_server(&mut relay, b"* 1 FETCH (BODY[] {100000}\r\n0123", &mut out);
    assert_eq!(relay.server_bypass(), 100_000 - 4);
    relay.server_bypassed(100_000 - 10);
    assert_eq!(relay.server_bypass(), 6);
    feed_server(&mut relay, b"456789 UID 3)\r\nA1 OK done\r\n", &mut out);
    assert_eq!(relay.server_bypass(), 0);
    assert_eq!(&out.to_client[..], b"* 1 FETCH (BODY[] {100000}\r\n0123456789 UID 3)\r\nA1 OK done\r\n");
    assert!(relay.is_idle(), "the tagged completion after the literal ended the command");
}

#[test]
fn collected_response_literal_is_not_offered() {
    let mut relay = relay(mailbox());
    let mut out = Output::default();
    feed_client(&mut relay, b"A1 STATUS Sent (MESSAGES)\r\n", &mut out);
    feed_server(&mut relay, b"* STATUS {20}\r\nINBOX", &mut out);
    assert_eq!(relay.server_bypass(), 0, "a response the filters inspect must pass through the relay");
}

#[test]
fn append_data_waits_for_continuation() {
    let mut relay = relay(mailbox_sync());
    let mut out = Output::default();
    feed_client(&mut relay, b"A1 APPEND Sent {70000}\r\n", &mut out);
    assert_eq!(relay.client_bypass(), 0, "the server has not asked for the data yet");
    feed_server(&mut relay, b"+ go ahead\r\n", &mut out);
    assert_eq!(relay.client_bypass(), 70_000);
    relay.client_bypassed(70_000);
    feed_client(&mut relay, b"\r\nA2 NOOP\r\n", &mut out);
    assert_eq!(&out.to_server[..], b"A1 APPEND \"INBOX.Sent Items\" {70000}\r\n\r\nA2 NOOP\r\n");
}

#[test]
fn discarded_command_literal_is_not_offered() {
    let mut relay = relay(mailbox());
    let mut out = Output::default();
    // A hidden mailbox: imapgate refuses the command and drops its data.
    feed_client(&mut relay, b"A1 APPEND INBOX/Junk {70000+}\r\n", &mut out);
    assert_eq!(&out.to_server[..], b"");
    assert_eq!(relay.client_bypass(), 0);
}
