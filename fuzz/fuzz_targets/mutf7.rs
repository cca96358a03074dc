//! Arbitrary bytes through the modified UTF-7 decoder and arbitrary text
//! through the encoder. Expected: no panic; a successful decode encodes back
//! to the input; an encoded string decodes back to the text.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imapgate_fuzz::checks::check_mutf7(data));
