//! Fuzz target: see `switchboard::fuzzing::jetstream_api` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| switchboard::fuzzing::jetstream_api(data));
