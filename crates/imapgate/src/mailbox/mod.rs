//! The `mailbox` filter: renames, maps delimiters and hides mailboxes.

pub mod config;
pub mod pattern;
pub mod rules;
pub mod template;
