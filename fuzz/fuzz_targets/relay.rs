//! An arbitrary interleaving of client and server reads through the relay,
//! each read also cut byte by byte and at random points. Expected: no panic;
//! the stream to the client frames into responses and the stream to the
//! server into commands (or continuation data after IDLE and AUTHENTICATE).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imapgate_fuzz::checks::check_relay(data));
