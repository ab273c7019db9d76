//! Line framing as the node reads a client (with its length limit), and
//! a TLS handshake fed arbitrary bytes after STARTTLS: the node's server
//! side must fail cleanly, whatever the peer sends.
#![no_main]
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use munin_rs::node::connection::LineReader;
use munin_rs::tls::{Context, Settings, Side};
use tokio::io::AsyncWriteExt;

/// The node's TLS context, from the test key and certificate beside the
/// seeds (made once with openssl; they protect nothing).
fn context() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| {
        let pem = concat!(env!("CARGO_MANIFEST_DIR"), "/tls/node.pem");
        let mut s = Settings::node_defaults();
        s.set("tls_private_key", pem).unwrap();
        s.set("tls_certificate", pem).unwrap();
        Context::load(s).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut lines = LineReader::new(tokio::io::BufReader::new(data), 64)
            .with_line_timeout(Duration::from_millis(10));
        while let Ok(Some(l)) = lines.next_line().await {
            assert!(l.bytes.len() <= 64);
        }
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let _ = client.write_all(&data[..data.len().min(60_000)]).await;
        drop(client);
        let ctx = context();
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            ctx.secure(Box::new(server), Vec::new(), Side::Server, "fuzz"),
        )
        .await;
        let _ = munin_rs::tls::peer::dump(Some(&rustls_pki_types::CertificateDer::from(data)));
    });
});
