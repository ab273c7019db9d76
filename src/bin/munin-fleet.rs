//! `munin-fleet`: N simulated munin nodes on loopback ports, for tests and
//! benchmarks of the master. Prints `munin.conf` host sections for them on
//! stdout, then serves until killed. See `munin_rs::master::fleet`.

use clap::Parser;
use munin_rs::cli::fleet::Cli;
use munin_rs::master::fleet::{self, Shape};

fn main() {
    munin_rs::logging::init_cli("munin-fleet", tracing::level_filters::LevelFilter::WARN);
    let cli = Cli::parse();
    munin_rs::sys::raise_fd_limit();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let shape = Shape {
            plugins: cli.plugins,
            fields: cli.fields,
        };
        let addrs = match fleet::start(cli.nodes, shape).await {
            Ok(a) => a,
            Err(e) => {
                eprintln!("munin-fleet: {e}");
                std::process::exit(1);
            }
        };
        let mut out = String::new();
        for (i, a) in addrs.iter().enumerate() {
            out.push_str(&format!(
                "[{};{}]\n    address {}\n    port {}\n    use_node_name yes\n",
                cli.group,
                fleet::node_name(i),
                a.ip(),
                a.port()
            ));
        }
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(out.as_bytes());
        let _ = stdout.flush();
        drop(stdout);
        std::future::pending::<()>().await;
    });
}
