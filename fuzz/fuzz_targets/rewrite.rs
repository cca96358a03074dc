//! A client and server transcript through a relay with the mailbox filter
//! and a sample rule set ("rewrite, then parse again"). Expected: no panic;
//! every mailbox-bearing command to the server and response to the client
//! frames and tokenizes again, and its mailbox names map back through the
//! rules.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imapgate_fuzz::checks::check_rewrite(data));
