//! The `mailbox` filter: renames, maps delimiters and hides mailboxes.

pub mod config;
pub mod rules;
