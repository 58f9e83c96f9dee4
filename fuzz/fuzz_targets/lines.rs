//! LineBuf fed a decoded stream in decoded read sizes, compared with a plain split on LF (see `decode_lines_input`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| xmail_exporter_fuzz::check_lines_input(data));
