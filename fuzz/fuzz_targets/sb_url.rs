//! Fuzz target `sb_url`: see `readset_server::fuzzing::sb_url` for what it feeds and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| readset_server::fuzzing::sb_url(data));
