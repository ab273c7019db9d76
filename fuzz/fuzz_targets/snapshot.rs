//! The gatherer's snapshot as tahoe-stats reads it: pickle or JSON.
#![no_main]
use libfuzzer_sys::fuzz_target;
use munin_rs::tahoe::snapshot::Snapshot;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = Snapshot::decode(data.to_vec()) {
        let _ = s.nodes();
    }
});
