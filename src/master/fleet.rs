//! A simulated fleet of munin nodes for tests and benchmarks: N nodes on
//! loopback ports, each with P plugins of F fields, speaking the protocol
//! munin-update and our master use (banner, `cap`, `list`, `config`,
//! `fetch`, `quit`). One tokio task per connection, no process per node,
//! so 3000 nodes fit on a small machine.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The shape of every node.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub plugins: usize,
    pub fields: usize,
}

/// Starts `n` nodes on consecutive free ports; returns their addresses.
pub async fn start(n: usize, shape: Shape) -> std::io::Result<Vec<SocketAddr>> {
    let mut addrs = Vec::with_capacity(n);
    for i in 0..n {
        let l = TcpListener::bind("127.0.0.1:0").await?;
        addrs.push(l.local_addr()?);
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                tokio::spawn(serve(s, i, shape));
            }
        });
    }
    Ok(addrs)
}

/// The host name node `i` calls itself.
pub fn node_name(i: usize) -> String {
    format!("node{i:05}.fleet")
}

fn config(p: usize, shape: Shape) -> String {
    let mut s =
        format!("graph_title Simulated plugin {p}\ngraph_vlabel units\ngraph_category fleet\n");
    for f in 0..shape.fields {
        // Every fifth field a counter-like DERIVE, the rest gauges.
        let t = if f % 5 == 4 { "DERIVE" } else { "GAUGE" };
        s.push_str(&format!(
            "f{f}.label field {f}\nf{f}.type {t}\nf{f}.min 0\n"
        ));
    }
    s.push_str(".\n");
    s
}

fn fetch(node: usize, p: usize, shape: Shape, now: u64) -> String {
    let mut s = String::new();
    for f in 0..shape.fields {
        let v = if f % 5 == 4 {
            now * 10 + (node + p + f) as u64
        } else {
            ((now / 60 + (node * 7 + p * 3 + f) as u64) % 100) + 1
        };
        s.push_str(&format!("f{f}.value {v}\n"));
    }
    s.push_str(".\n");
    s
}

async fn serve(s: TcpStream, node: usize, shape: Shape) {
    let _ = s.set_nodelay(true);
    let (r, mut w) = s.into_split();
    let mut lines = BufReader::new(r).lines();
    let name = node_name(node);
    if w.write_all(format!("# munin node at {name}\n").as_bytes())
        .await
        .is_err()
    {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let mut words = line.split_whitespace();
        let reply = match (words.next(), words.next()) {
            (Some("cap"), _) => "cap multigraph dirtyconfig\n".to_string(),
            (Some("list"), _) => {
                let names: Vec<String> = (0..shape.plugins).map(|p| format!("sim{p:02}")).collect();
                format!("{}\n", names.join(" "))
            }
            (Some("nodes"), _) => format!("{name}\n.\n"),
            (Some("version"), _) => "munins node on fleet version: 2.0.73 (simulated)\n".into(),
            (Some(cmd @ ("config" | "fetch")), Some(plugin)) => {
                match plugin
                    .strip_prefix("sim")
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    Some(p) if p < shape.plugins => {
                        if cmd == "config" {
                            config(p, shape)
                        } else {
                            fetch(node, p, shape, crate::clock::now())
                        }
                    }
                    _ => "# Unknown service\n.\n".into(),
                }
            }
            (Some("quit" | "."), _) => return,
            _ => "# Unknown command. Try cap, list, nodes, config, fetch, version or quit\n".into(),
        };
        if w.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
