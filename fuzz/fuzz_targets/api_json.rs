#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lambkin_api::fuzzing::api_json(data);
});
