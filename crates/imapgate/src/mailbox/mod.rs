//! The `mailbox` filter: renames, maps delimiters and hides mailboxes.

pub mod config;
pub mod filter;
pub mod names;
pub mod pattern;
pub mod rules;
pub mod template;
