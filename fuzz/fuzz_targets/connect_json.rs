//! Fuzz target: see `switchboard::fuzzing::connect_json` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard::fuzzing::connect_json(data));
