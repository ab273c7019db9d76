//! A plugin's output as the node relays it, and the master's parse of the
//! relayed reply.
#![no_main]
use libfuzzer_sys::fuzz_target;
use munin_rs::runner::output;

fuzz_target!(|data: &[u8]| {
    let mut reply = Vec::new();
    output::append_lines(&mut reply, data);
    // What the node sends never ends a reply early: no line is "." alone.
    assert!(!reply.split(|b| *b == b'\n').any(|l| l == b"."));
    for line in output::lines(data) {
        let _ = output::is_multigraph_line(line);
        let _ = output::is_value_line(line);
        let _ = output::host_name_line(line);
    }
});
