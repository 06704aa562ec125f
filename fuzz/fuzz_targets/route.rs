//! Fuzz target `route`: see `readset_server::fuzzing::route` for what it feeds and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| { readset_server::fuzzing::route(data); });
