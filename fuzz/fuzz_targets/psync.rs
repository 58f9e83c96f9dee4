//! `parse_psync` on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| xmail_exporter_fuzz::check_psync(data));
