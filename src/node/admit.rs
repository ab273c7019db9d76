//! Who gets a session: `max_servers` in all, at most
//! `max_connections_per_ip` from one address, and `reserved_servers` of
//! them kept for the masters (`reserve_for`), so clients that hold or
//! trickle on every free session cannot lock the master out. A client past
//! its address's share is told so and closed; one arriving when every
//! session is taken waits for one, as it would in the listen queue, up to
//! `max_servers` waiting at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::access::Cidr;
use crate::settings::Settings;

/// The session limits of a running node.
#[derive(Debug)]
pub struct Admission {
    general: Arc<Semaphore>,
    reserved: Arc<Semaphore>,
    reserve_for: Vec<Cidr>,
    max_per_ip: usize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    max_waiting: usize,
    waiting: Mutex<usize>,
    general_total: usize,
    reserved_total: usize,
}

/// Why a client got no session; the text is sent to it before closing.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    PerIp(usize),
    Busy,
}

impl Refused {
    pub fn line(&self) -> String {
        match self {
            Refused::PerIp(n) => {
                format!(
                    "# Too many connections from your address ({n}, max_connections_per_ip). Closing.\n"
                )
            }
            Refused::Busy => "# Too many connections waiting. Closing.\n".to_string(),
        }
    }
}

/// A session's place: given back (and the address's count lowered) on drop.
#[derive(Debug)]
pub struct Ticket {
    _slot: Option<OwnedSemaphorePermit>,
    ip: IpAddr,
    admission: Arc<Admission>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.admission.leave(self.ip);
    }
}

impl Admission {
    pub fn new(s: &Settings) -> Arc<Admission> {
        let total = s.max_connections.max(1);
        let reserved = if s.reserve_for.is_empty() {
            0
        } else {
            s.reserved.min(total.saturating_sub(1))
        };
        Arc::new(Admission {
            general: Arc::new(Semaphore::new(total - reserved)),
            reserved: Arc::new(Semaphore::new(reserved)),
            reserve_for: s.reserve_for.clone(),
            max_per_ip: s.max_per_ip.max(1),
            per_ip: Mutex::default(),
            max_waiting: total,
            waiting: Mutex::new(0),
            general_total: total - reserved,
            reserved_total: reserved,
        })
    }

    /// Whether `ip` may use the reserved sessions.
    pub fn is_reserved(&self, ip: IpAddr) -> bool {
        self.reserve_for.iter().any(|c| c.contains(ip))
    }

    fn leave(&self, ip: IpAddr) {
        let mut map = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&ip);
            }
        }
    }

    /// A session for `ip`: at once if one is free (a reserved one for the
    /// masters), else after waiting for one.
    pub async fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Ticket, Refused> {
        {
            let mut map = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
            let n = map.entry(ip).or_insert(0);
            if *n >= self.max_per_ip {
                return Err(Refused::PerIp(self.max_per_ip));
            }
            *n += 1;
        }
        // From here the ticket lowers the count, whatever happens.
        let mut ticket = Ticket {
            _slot: None,
            ip,
            admission: self.clone(),
        };
        let master = self.is_reserved(ip);
        if let Ok(p) = self.general.clone().try_acquire_owned() {
            ticket._slot = Some(p);
            return Ok(ticket);
        }
        if master && let Ok(p) = self.reserved.clone().try_acquire_owned() {
            ticket._slot = Some(p);
            return Ok(ticket);
        }
        {
            let mut w = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
            if *w >= self.max_waiting {
                return Err(Refused::Busy);
            }
            *w += 1;
        }
        let slot = if master {
            tokio::select! {
                p = self.general.clone().acquire_owned() => p,
                p = self.reserved.clone().acquire_owned() => p,
            }
        } else {
            self.general.clone().acquire_owned().await
        };
        *self.waiting.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        // The semaphores are never closed.
        ticket._slot = slot.ok();
        Ok(ticket)
    }

    /// Waits until every session has ended (or `within` passes); whether
    /// they all did.
    pub async fn drained(&self, within: std::time::Duration) -> bool {
        let all = async {
            let _a = self.general.acquire_many(self.general_total as u32).await;
            let _b = self.reserved.acquire_many(self.reserved_total as u32).await;
        };
        tokio::time::timeout(within, all).await.is_ok()
    }
}
