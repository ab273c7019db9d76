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

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::aggregate;
use super::collection::Filter;
use super::ingest::{Msg, Refused, Shared};
use super::lines;
use super::metrics;
use super::names;
use super::reply;
use super::status::Statuses;
use super::table::Source;

/// Most points one `samples` reply carries unless `limit` says otherwise,
/// and the most it may ask for.
const DEFAULT_LIMIT: usize = 100_000;
const MAX_LIMIT: usize = 1_000_000;

/// What the handlers share.
#[derive(Clone)]
pub struct Api {
    pub shared: Arc<Shared>,
    pub statuses: Arc<Statuses>,
    pub token: Option<Arc<str>>,
    pub max_body: usize,
    pub providers: usize,
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

async fn nodes(State(api): State<Api>) -> Json<Value> {
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
    Json(json!({ "nodes": list }))
}

async fn providers(State(api): State<Api>) -> Json<Value> {
    Json(json!({ "providers": api.statuses.all() }))
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

async fn samples(State(api): State<Api>, Query(q): Query<HashMap<String, String>>) -> Reply {
    let (from, to) = window(&q, 300.0)?;
    let limit = match q.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| bad(format!("limit={v:?} is not a count")))?
            .min(MAX_LIMIT),
    };
    let (copied, truncated) = api
        .shared
        .state()
        .collection
        .copy(&filter(&q), from, to, limit);
    let points: usize = copied.iter().map(|c| c.points.len()).sum();
    let series: Vec<Value> = copied
        .into_iter()
        .map(|c| {
            let pts: Vec<[f64; 2]> = c
                .points
                .iter()
                .map(|&(t, v)| [t as f64 / 1000.0, v])
                .collect();
            json!({ "node": c.node, "metric": c.metric, "type": c.kind.as_str(), "points": pts })
        })
        .collect();
    Ok(Json(json!({
        "since": from as f64 / 1000.0, "until": to as f64 / 1000.0,
        "points": points, "truncated": truncated, "series": series,
    }))
    .into_response())
}

async fn aggregate(State(api): State<Api>, Query(q): Query<HashMap<String, String>>) -> Reply {
    let (from, to) = window(&q, 300.0)?;
    let (copied, _) = api
        .shared
        .state()
        .collection
        .copy(&filter(&q), from, to, usize::MAX);
    let series: Vec<Value> = copied
        .into_iter()
        .filter_map(|c| {
            let sum = aggregate::summarise(c.kind, c.points.into_iter())?;
            let mut v = json!({ "node": c.node, "metric": c.metric, "type": c.kind.as_str() });
            if let (Value::Object(m), Ok(Value::Object(a))) = (&mut v, serde_json::to_value(sum)) {
                m.extend(a);
            }
            Some(v)
        })
        .collect();
    Ok(Json(json!({
        "since": from as f64 / 1000.0, "until": to as f64 / 1000.0, "series": series,
    }))
    .into_response())
}

/// Checks the push token in constant time.
fn authorized(api: &Api, headers: &HeaderMap) -> Result<(), Refusal> {
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
        metrics::add(&api.shared.metrics.pushes_rejected, 1);
        Err(refuse(
            StatusCode::UNAUTHORIZED,
            "missing or wrong push token (send Authorization: Bearer TOKEN)",
        ))
    }
}

/// The body, at most `max_body` bytes.
async fn body_of(api: &Api, body: Body) -> Result<Vec<u8>, Refusal> {
    to_bytes(body, api.max_body)
        .await
        .map(|b| b.to_vec())
        .map_err(|e| {
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
    authorized(&api, &headers)?;
    let bytes = body_of(&api, body).await?;
    let fail = |why: String| rejected(&api, bad(why));
    let doc: Value =
        serde_json::from_slice(&bytes).map_err(|e| fail(format!("body is not JSON: {e}")))?;
    let field = |name: &str| doc.get(name).and_then(Value::as_str);
    let id = field("nodeid").ok_or_else(|| fail("\"nodeid\" (a string) is missing".into()))?;
    names::node_id(id).map_err(fail)?;
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
    let parsed = reply::parse(&doc).map_err(fail)?;
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
    authorized(&api, &headers)?;
    let bytes = body_of(&api, body).await?;
    let fail = |why: String| rejected(&api, bad(why));
    let id = q
        .get("node")
        .ok_or_else(|| fail("the node=ID parameter is missing".into()))?;
    names::node_id(id).map_err(fail)?;
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
