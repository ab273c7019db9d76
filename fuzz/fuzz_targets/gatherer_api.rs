//! The gatherer's HTTP API in process: pushes (JSON and lines) and
//! queries with arbitrary query strings and bodies. Input: a route byte,
//! then the query string up to the first newline, then the body.
#![no_main]
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use munin_rs::gatherer::{
    api::{self, Api},
    collection::Collection,
    ingest::{self, Shared, State},
    query,
    status::Statuses,
    table::Table,
};
use tower_service::Service;

const ROUTES: [(&str, &str); 6] = [
    ("POST", "/api/v1/push"),
    ("POST", "/api/v1/push/lines"),
    ("GET", "/api/v1/samples"),
    ("GET", "/api/v1/aggregate"),
    ("GET", "/api/v1/nodes"),
    ("GET", "/api/v1/self"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&route, rest)) = data.split_first() else {
        return;
    };
    let (query, body) = match rest.iter().position(|b| *b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let (method, path) = ROUTES[route as usize % ROUTES.len()];
    let uri = format!("{path}?{}", String::from_utf8_lossy(query));
    let Ok(req) = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body.to_vec()))
    else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let state = State {
            table: Table::default(),
            collection: Collection::new(60_000),
            max_nodes: 100,
        };
        let (shared, rx) = Shared::new(state, 1000);
        let consumer = tokio::spawn(ingest::consume(shared.clone(), rx));
        let mut app = api::router(Api {
            shared: shared.clone(),
            statuses: Arc::new(Statuses::new(&[])),
            token: None,
            max_body: 1 << 20,
            providers: 0,
            heavy: Arc::new(tokio::sync::Semaphore::new(query::HEAVY_AT_ONCE)),
            max_nodes: 100,
        });
        let _ = app.call(req).await;
        shared.flush().await;
        consumer.abort();
    });
});
