//! The sans-I/O protocol layer of imapgate: no sockets, no async runtime.
//!
//! - [`framer`] splits a byte stream from one peer into lines and literals,
//!   so literal data can be streamed without parsing it.
//! - [`classify`] reads the tag and keyword of a command or response line.
//! - [`scan`] tokenizes a collected message and records the byte range of
//!   every token, so single arguments can be spliced without re-encoding.
//! - [`encode`] writes a string argument, keeping its original form when the
//!   new value allows it.
//! - [`mutf7`] is the modified UTF-7 codec for mailbox names (RFC 3501 5.1.3).
//!
//! Non-goals: a full IMAP grammar. Only what a filter subscribed to is parsed.
#![forbid(unsafe_code)]

pub mod classify;
pub mod encode;
pub mod framer;
pub mod mutf7;
pub mod scan;
