//! Fuzz target: see `switchboard::fuzzing::sublist` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard::fuzzing::sublist(data));
