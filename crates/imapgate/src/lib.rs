//! imapgate: an IMAP proxy that rewrites commands and responses through a
//! chain of filters.
#![forbid(unsafe_code)]

pub mod mailbox;
