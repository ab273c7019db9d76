//! The HTTP API (JSON), served by axum.
//!
//! | Method and path | What |
//! |---|---|
//! | `GET /api/v1/self` | the gatherer's own counters (polls, pushes, queue, expiry, snapshot) |
//! | `GET /api/v1/nodes` | the snapshot's nodes: nickname, timestamp, age, source |
//! | `GET /api/v1/providers` | each provider's last poll and last error |
//! | `GET /api/v1/samples?since=T[&until=T][&node=ID][&metric=NAME][&limit=N]` | raw samples |
//! | `GET /api/v1/aggregate?period=SECS\|since=T[&until=T][&node=ID][&metric=NAME]` | count, min, max, mean, p50, p95, last, rate per series |
//! | `POST /api/v1/push` | a provider's JSON: `nodeid`, `nickname`, `counters`, `stats` |
//! | `POST /api/v1/push/lines?node=ID[&nickname=NAME]` | agent lines `key<TAB>value<TAB>timestamp` |
//!
//! `metric` may end in `*` to select a prefix. Times are seconds since the
//! epoch. Every refusal is a JSON `{"error": ...}` naming the problem.
//!
//! `samples` and `aggregate` answer one page (see [`query`]): at most
//! `series=N` series (10,000) and `limit=N` points (200,000; aggregate
//! pages summarise up to 1,000,000); `next` names the cursor to pass as
//! `after=` for the following page. Asking past a cap is a 400 naming it.
//!
//! With a token set (`--token`), every route but `/` and `/api/v1/self`
//! (the gatherer's own counters, which its munin plugin reads) wants it:
//! node data is not for anyone who can reach the port.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::collection::Filter;
use super::ingest::{Msg, Refused, Shared};
use super::lines;
use super::metrics;
use super::names;
use super::query;
use super::reply;
use super::status::Statuses;
use super::table::{MAX_KEYS_PER_NODE, Source};

/// How long a query waits for its turn before a 503.
const HEAVY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// What the handlers share.
#[derive(Clone)]
pub struct Api {
    pub shared: Arc<Shared>,
    pub statuses: Arc<Statuses>,
    pub token: Option<Arc<str>>,
    pub max_body: usize,
    pub providers: usize,
    /// Turns for queries copying samples ([`query::HEAVY_AT_ONCE`]).
    pub heavy: Arc<tokio::sync::Semaphore>,
    /// Most node ids held (`--max-nodes`).
    pub max_nodes: usize,
}

/// The routes.
pub fn router(api: Api) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/api/v1/self", get(self_report))
        .route("/api/v1/nodes", get(nodes))
        .route("/api/v1/providers", get(providers))
        .route("/api/v1/samples", get(samples))
        .route("/api/v1/aggregate", get(aggregate))
        .route("/api/v1/push", post(push_json))
        .route("/api/v1/push/lines", post(push_lines))
        .with_state(api)
}

/// A refusal: its status and the message naming the problem.
#[derive(Debug)]
pub struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

type Reply = Result<Response, Refusal>;

fn refuse(status: StatusCode, why: impl Into<String>) -> Refusal {
    Refusal(status, why.into())
}

fn bad(why: impl Into<String>) -> Refusal {
    refuse(StatusCode::BAD_REQUEST, why)
}

async fn index() -> &'static str {
    "stats-gatherer: GET /api/v1/{self,nodes,providers,samples,aggregate}; POST /api/v1/push, /api/v1/push/lines\n"
}

/// The gatherer's own report, in carbon's spirit.
pub fn report(api: &Api) -> metrics::Report {
    let mut r = api.shared.metrics.report();
    {
        let st = api.shared.state();
        r.samples_held = st.collection.held();
        r.samples_expired = st.collection.expired_total();
        r.samples_refused = st.collection.refused_total();
        r.sample_bytes = st.collection.sample_bytes();
        r.series = st.collection.series();
        r.nodes = st.table.len();
    }
    r.uptime_seconds = api.shared.started.elapsed().as_secs_f64();
    r.providers = api.providers;
    r.queue_length = api.shared.queue_length();
    r.queue_capacity = api.shared.queue_capacity();
    r
}

async fn self_report(State(api): State<Api>) -> Json<metrics::Report> {
    Json(report(&api))
}

async fn nodes(State(api): State<Api>, headers: HeaderMap) -> Reply {
    authorized(&api, &headers, false)?;
    let now = crate::clock::now_f64();
    let st = api.shared.state();
    let list: Vec<Value> = st
        .table
        .iter()
        .map(|(id, e)| {
            json!({
                "nodeid": id,
                "nickname": e.nickname,
                "timestamp": e.timestamp,
                "age_seconds": now - e.timestamp,
                "source": e.source.as_str(),
                "counters": e.counters.len(),
                "stats": e.stats.len(),
            })
        })
        .collect();
    Ok(Json(json!({ "nodes": list })).into_response())
}

async fn providers(State(api): State<Api>, headers: HeaderMap) -> Reply {
    authorized(&api, &headers, false)?;
    Ok(Json(json!({ "providers": api.statuses.all() })).into_response())
}

/// Parses an optional number parameter.
fn number(q: &HashMap<String, String>, name: &str) -> Result<Option<f64>, Refusal> {
    q.get(name)
        .map(|v| {
            v.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(|| bad(format!("{name}={v:?} is not a number")))
        })
        .transpose()
}

fn filter(q: &HashMap<String, String>) -> Filter {
    Filter {
        node: q.get("node").cloned(),
        metric: q.get("metric").cloned(),
    }
}

/// `[since, until)` in milliseconds: `since`/`until`, or `period` seconds
/// back from now; `default_period` when neither is given.
fn window(q: &HashMap<String, String>, default_period: f64) -> Result<(i64, i64), Refusal> {
    let now = crate::clock::now_f64();
    let until = number(q, "until")?.unwrap_or(now + 1.0);
    let since = match (number(q, "since")?, number(q, "period")?) {
        (Some(s), _) => s,
        (None, Some(p)) if p > 0.0 => until.min(now) - p,
        (None, Some(p)) => return Err(bad(format!("period={p} must be above 0"))),
        (None, None) => until.min(now) - default_period,
    };
    Ok(((since * 1000.0) as i64, (until * 1000.0) as i64))
}

/// A count parameter, at most `cap`.
fn count(
    q: &HashMap<String, String>,
    name: &str,
    default: usize,
    cap: usize,
) -> Result<usize, Refusal> {
    let Some(v) = q.get(name) else {
        return Ok(default);
    };
    let n = v
        .parse::<usize>()
        .map_err(|_| bad(format!("{name}={v:?} is not a count")))?;
    if n > cap {
        return Err(bad(format!(
            "{name}={n} is over the cap of {cap} per request; page with after= (see \"next\")"
        )));
    }
    Ok(n)
}

/// One page of the selected series, copied under the state lock after
/// waiting for a turn among the heavy queries.
async fn page_of(
    api: &Api,
    q: &HashMap<String, String>,
    window: (i64, i64),
    max_points: usize,
) -> Result<super::collection::Page, Refusal> {
    let max_series = count(q, "series", query::MAX_SERIES, query::MAX_SERIES)?;
    let after = q
        .get("after")
        .map(|a| query::parse_cursor(a))
        .transpose()
        .map_err(bad)?;
    let _turn = tokio::time::timeout(HEAVY_WAIT, api.heavy.acquire())
        .await
        .map_err(|_| {
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "{} queries already running and others waiting for over {} s; retry later",
                    query::HEAVY_AT_ONCE,
                    HEAVY_WAIT.as_secs()
                ),
            )
        })?
        .map_err(|_| refuse(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    let filter = filter(q);
    // The copy holds the lock; the JSON is written without it.
    let page = api
        .shared
        .state()
        .collection
        .page(&filter, after, window, max_series, max_points);
    Ok(page)
}

async fn samples(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    authorized(&api, &headers, false)?;
    let window = window(&q, 300.0)?;
    let limit = count(&q, "limit", query::DEFAULT_POINTS, query::MAX_POINTS)?;
    let page = page_of(&api, &q, window, limit).await?;
    let body = query::samples_json(window, &page);
    drop(page);
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn aggregate(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    authorized(&api, &headers, false)?;
    let window = window(&q, 300.0)?;
    let page = page_of(&api, &q, window, query::MAX_AGGREGATE_POINTS).await?;
    Ok(Json(query::aggregate_json(window, page)).into_response())
}

/// Checks the token in constant time; `push` says which counter a refusal
/// goes to.
fn authorized(api: &Api, headers: &HeaderMap, push: bool) -> Result<(), Refusal> {
    let Some(token) = &api.token else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let same = given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        if push {
            metrics::add(&api.shared.metrics.pushes_rejected, 1);
        }
        Err(refuse(
            StatusCode::UNAUTHORIZED,
            "missing or wrong token (send Authorization: Bearer TOKEN)",
        ))
    }
}

/// Longest a push body may take to arrive: a client sending it a byte at a
/// time holds a connection and a buffer no longer than this.
const BODY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The body, at most `max_body` bytes within [`BODY_WAIT`].
async fn body_of(api: &Api, body: Body) -> Result<Vec<u8>, Refusal> {
    let read = tokio::time::timeout(BODY_WAIT, to_bytes(body, api.max_body))
        .await
        .map_err(|_| {
            rejected(
                api,
                refuse(
                    StatusCode::REQUEST_TIMEOUT,
                    format!("the body did not arrive within {} s", BODY_WAIT.as_secs()),
                ),
            )
        })?;
    read.map(|b| b.to_vec()).map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        let r = if too_large {
            refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body over {} bytes (max-body)", api.max_body),
            )
        } else {
            bad(format!("reading the body: {e}"))
        };
        rejected(api, r)
    })
}

/// Counts a refused push and passes the refusal on.
fn rejected(api: &Api, r: Refusal) -> Refusal {
    metrics::add(&api.shared.metrics.pushes_rejected, 1);
    r
}

/// Refuses a push from a new node id when `--max-nodes` are held.
fn admitted(api: &Api, id: &str) -> Result<(), Refusal> {
    if api.shared.state().admits(id) {
        return Ok(());
    }
    Err(rejected(
        api,
        refuse(
            StatusCode::INSUFFICIENT_STORAGE,
            format!(
                "node {id:?} is new and {} nodes are held already (max-nodes); \
                 it is taken once others expire",
                api.max_nodes
            ),
        ),
    ))
}

fn queued(api: &Api, msg: Msg, accepted: usize, dropped: Vec<String>) -> Reply {
    api.shared.try_push(msg).map_err(|r| match r {
        Refused::Full(why) => refuse(StatusCode::SERVICE_UNAVAILABLE, why),
        Refused::TooBig(why) => rejected(api, refuse(StatusCode::PAYLOAD_TOO_LARGE, why)),
    })?;
    metrics::add(&api.shared.metrics.pushes, 1);
    metrics::add(&api.shared.metrics.values_dropped, dropped.len() as u64);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "accepted": accepted, "dropped": dropped })),
    )
        .into_response())
}

async fn push_json(State(api): State<Api>, headers: HeaderMap, body: Body) -> Reply {
    authorized(&api, &headers, true)?;
    let bytes = body_of(&api, body).await?;
    let fail = |why: String| rejected(&api, bad(why));
    let doc: Value =
        serde_json::from_slice(&bytes).map_err(|e| fail(format!("body is not JSON: {e}")))?;
    let field = |name: &str| doc.get(name).and_then(Value::as_str);
    let id = field("nodeid").ok_or_else(|| fail("\"nodeid\" (a string) is missing".into()))?;
    names::node_id(id).map_err(fail)?;
    admitted(&api, id)?;
    let nickname = field("nickname").unwrap_or_default();
    names::nickname(nickname).map_err(fail)?;
    let now = crate::clock::now_f64();
    let at = match doc.get("timestamp") {
        None | Some(Value::Null) => now,
        Some(t) => {
            let secs = t
                .as_f64()
                .filter(|t| *t > 0.0)
                .ok_or_else(|| fail(format!("\"timestamp\" {t} is not seconds since the epoch")))?;
            lines::check_time(secs, now).map_err(fail)?;
            secs
        }
    };
    let mut parsed = reply::parse(&doc).map_err(fail)?;
    // The same cap as agent lines: a node is at most this many values.
    let over = parsed.stats.cap(MAX_KEYS_PER_NODE);
    if over > 0 {
        parsed.dropped.push(format!(
            "{over} values past the {MAX_KEYS_PER_NODE} a node may hold"
        ));
    }
    let n = parsed.stats.sample_count();
    let msg = Msg::Report {
        id: id.to_string(),
        nickname: nickname.to_string(),
        at,
        stats: parsed.stats,
        source: Source::Push,
    };
    queued(&api, msg, n, parsed.dropped)
}

async fn push_lines(
    State(api): State<Api>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Body,
) -> Reply {
    authorized(&api, &headers, true)?;
    let bytes = body_of(&api, body).await?;
    let fail = |why: String| rejected(&api, bad(why));
    let id = q
        .get("node")
        .ok_or_else(|| fail("the node=ID parameter is missing".into()))?;
    names::node_id(id).map_err(fail)?;
    admitted(&api, id)?;
    let nickname = q.get("nickname").cloned();
    if let Some(n) = &nickname {
        names::nickname(n).map_err(fail)?;
    }
    let text =
        std::str::from_utf8(&bytes).map_err(|e| fail(format!("body is not UTF-8 text: {e}")))?;
    let now = crate::clock::now_f64();
    let lines = lines::parse(text, (now * 1000.0) as i64).map_err(fail)?;
    let n = lines.len();
    let msg = Msg::Lines {
        id: id.clone(),
        nickname,
        at: now,
        lines,
    };
    queued(&api, msg, n, Vec::new())
}
