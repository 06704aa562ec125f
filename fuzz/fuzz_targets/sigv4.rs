//! Fuzz target `sigv4`: see `readset_server::fuzzing::sigv4` for what it feeds and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| readset_server::fuzzing::sigv4(data));
