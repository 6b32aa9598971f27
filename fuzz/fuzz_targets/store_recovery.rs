//! Fuzz target: see `switchboard::fuzzing::store_recovery` for the input format and what is
//! checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard::fuzzing::store_recovery(data));
