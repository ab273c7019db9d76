//! Each provider's last poll: when it last answered and why it last failed.
//! A failure is logged when a provider starts failing and a line when it
//! answers again, not every round: 3000 dead providers must not flood the
//! log once a minute.

use std::sync::Mutex;

use serde::Serialize;

use super::provider::{Provider, Target};

/// One provider's record, as `/api/v1/providers` shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    pub provider: String,
    pub nodeid: Option<String>,
    pub nickname: Option<String>,
    /// Seconds since the epoch of the last good poll.
    pub last_ok: Option<f64>,
    pub last_error: Option<String>,
    pub failures_in_row: u64,
}

/// Records of all providers, by position in the configuration.
#[derive(Debug, Default)]
pub struct Statuses(Mutex<Vec<Status>>);

impl Statuses {
    pub fn new(providers: &[Provider]) -> Statuses {
        Statuses(Mutex::new(
            providers
                .iter()
                .map(|p| Status {
                    provider: p.label(),
                    ..Status::default()
                })
                .collect(),
        ))
    }

    pub fn record(&self, i: usize, p: &Provider, result: Result<Target, String>) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some(s) = all.get_mut(i) else { return };
        match result {
            Ok(t) => {
                if s.failures_in_row > 0 {
                    tracing::info!("provider {} answers again", p.label());
                }
                s.nodeid = Some(t.id);
                s.nickname = Some(t.nickname);
                s.last_ok = Some(crate::clock::now_f64());
                s.last_error = None;
                s.failures_in_row = 0;
            }
            Err(why) => {
                if s.failures_in_row == 0 {
                    tracing::warn!("provider {}: {why}", p.label());
                }
                s.last_error = Some(why);
                s.failures_in_row += 1;
            }
        }
    }

    pub fn all(&self) -> Vec<Status> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
