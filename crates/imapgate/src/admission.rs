//! Admission control: sessions in total and per client address, and the
//! failed-login record per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The reason a connection was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The limit's configuration key and its value.
    Limit { limit: &'static str, value: u64 },
}

/// Shared by all listeners of the process.
pub struct Admission {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
    failures: HashMap<IpAddr, Failures>,
}

/// Failed logins of one address in the current window.
#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    window_start: Instant,
}

/// The limits that admission applies; taken from the current config at
/// each call, so a reload applies to the next connection.
#[derive(Clone, Copy, Debug)]
pub struct AdmissionLimits {
    pub max_sessions: usize,
    pub max_sessions_per_address: usize,
    pub max_login_failures: u32,
    pub login_failure_window: Duration,
}

/// A session slot; released when dropped.
pub struct Slot {
    admission: Arc<Admission>,
    address: IpAddr,
}

impl Admission {
    pub fn new() -> Arc<Admission> {
        Arc::new(Admission { inner: Mutex::new(Inner::default()) })
    }

    /// Takes a session slot for `address`, unless a limit is reached or the
    /// address is locked out after too many failed logins.
    pub fn admit(self: &Arc<Self>, address: IpAddr, limits: &AdmissionLimits) -> Result<Slot, Refusal> {
        let mut inner = self.inner.lock().expect("admission lock poisoned");
        if inner.total >= limits.max_sessions {
            return Err(Refusal::Limit { limit: "max_sessions", value: limits.max_sessions as u64 });
        }
        let current = inner.per_address.get(&address).copied().unwrap_or(0);
        if current >= limits.max_sessions_per_address {
            return Err(Refusal::Limit {
                limit: "max_sessions_per_address",
                value: limits.max_sessions_per_address as u64,
            });
        }
        if Self::failures_in_window(&mut inner, address, limits) >= limits.max_login_failures {
            return Err(Refusal::Limit { limit: "max_login_failures", value: limits.max_login_failures as u64 });
        }
        inner.total += 1;
        *inner.per_address.entry(address).or_default() += 1;
        Ok(Slot { admission: self.clone(), address })
    }

    /// Records a failed login; returns how long to delay the NO, and
    /// whether the address has now reached `max_login_failures`.
    pub fn login_failed(&self, address: IpAddr, limits: &AdmissionLimits) -> (Duration, bool) {
        let mut inner = self.inner.lock().expect("admission lock poisoned");
        let count = Self::failures_in_window(&mut inner, address, limits) + 1;
        let entry = inner.failures.entry(address).or_insert(Failures { count: 0, window_start: Instant::now() });
        entry.count = count;
        (Duration::from_secs(u64::from(count.min(10))), count >= limits.max_login_failures)
    }

    /// Forgets the failures of an address after a successful login.
    pub fn login_succeeded(&self, address: IpAddr) {
        self.inner.lock().expect("admission lock poisoned").failures.remove(&address);
    }

    fn failures_in_window(inner: &mut Inner, address: IpAddr, limits: &AdmissionLimits) -> u32 {
        match inner.failures.get(&address) {
            Some(failures) if failures.window_start.elapsed() < limits.login_failure_window => failures.count,
            Some(_) => {
                inner.failures.remove(&address);
                0
            }
            None => 0,
        }
    }

    /// Sessions open now.
    pub fn open_sessions(&self) -> usize {
        self.inner.lock().expect("admission lock poisoned").total
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = self.admission.inner.lock().expect("admission lock poisoned");
        inner.total -= 1;
        if let Some(count) = inner.per_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                inner.per_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> AdmissionLimits {
        AdmissionLimits {
            max_sessions: 3,
            max_sessions_per_address: 2,
            max_login_failures: 2,
            login_failure_window: Duration::from_secs(60),
        }
    }

    #[test]
    fn per_address_limit_and_release() {
        let admission = Admission::new();
        let address: IpAddr = "192.0.2.1".parse().unwrap();
        let first = admission.admit(address, &limits()).unwrap();
        let _second = admission.admit(address, &limits()).unwrap();
        assert_eq!(
            admission.admit(address, &limits()).err(),
            Some(Refusal::Limit { limit: "max_sessions_per_address", value: 2 })
        );
        drop(first);
        assert!(admission.admit(address, &limits()).is_ok());
    }

    #[test]
    fn total_limit() {
        let admission = Admission::new();
        let slots: Vec<_> =
            (1..=3).map(|n| admission.admit(format!("192.0.2.{n}").parse().unwrap(), &limits()).unwrap()).collect();
        assert_eq!(
            admission.admit("192.0.2.9".parse().unwrap(), &limits()).err(),
            Some(Refusal::Limit { limit: "max_sessions", value: 3 })
        );
        assert_eq!(admission.open_sessions(), 3);
        drop(slots);
        assert_eq!(admission.open_sessions(), 0);
    }

    #[test]
    fn failures_grow_delay_then_lock_out() {
        let admission = Admission::new();
        let address: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(admission.login_failed(address, &limits()), (Duration::from_secs(1), false));
        assert_eq!(admission.login_failed(address, &limits()), (Duration::from_secs(2), true));
        assert_eq!(
            admission.admit(address, &limits()).err(),
            Some(Refusal::Limit { limit: "max_login_failures", value: 2 })
        );
        admission.login_succeeded(address);
        assert!(admission.admit(address, &limits()).is_ok());
    }
}
