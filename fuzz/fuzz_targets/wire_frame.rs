//! `kestrel_wire::parse_frame` (and, for pending transactions, the signed-envelope re-encode)
//! on arbitrary node frames, through the crate's own invariant checks in `fuzz_one`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kestrel_wire::fuzz_one(data);
});
