//! Arbitrary bytes from a client or a server, cut into reads at arbitrary
//! points, with random continue and cancel decisions. Expected: no panic,
//! the frames cover the input exactly and agree with a whole-line model.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imapgate_fuzz::checks::check_framer(data));
