//! Fuzz target `json_body`: see `readset_server::fuzzing::json_body` for what it feeds and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| readset_server::fuzzing::json_body(data));
