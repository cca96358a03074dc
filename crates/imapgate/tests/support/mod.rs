//! Support code for integration tests: a real Dovecot on 127.0.0.1 and a
//! blocking IMAP client that reads whole responses, literals included.
//!
//! Use it with `mod support;` from a file in `tests/`. Every read has a
//! timeout, so a test that waits for a response that never comes fails with
//! the transcript instead of hanging.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

mod client;
pub mod dovecot;
pub mod imapgate;
pub mod recorder;
pub mod tls;

pub use client::ImapClient;
pub use dovecot::Dovecot;

use std::time::Duration;

/// Read timeout of every `ImapClient` unless changed with
/// `ImapClient::set_timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Returns `text` as an IMAP quoted string.
pub fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}
