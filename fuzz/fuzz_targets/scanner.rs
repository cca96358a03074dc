//! Arbitrary messages through the tokenizer. Expected: no panic; spans are
//! ordered, in bounds and separated only by spaces; string values written
//! again by the encoder read back the same.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imapgate_fuzz::checks::check_scanner(data));
