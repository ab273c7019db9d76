//! A node's command line, as a client sends it: parsed into a command.
#![no_main]
use libfuzzer_sys::fuzz_target;
use munin_rs::node::command::Command;

fuzz_target!(|data: &[u8]| {
    for line in data.split(|b| *b == b'\n') {
        let _ = Command::parse(line);
    }
});
