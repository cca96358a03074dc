//! Prometheus metrics, registered once per process and served by the admin
//! listener in the text exposition format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Outcome of a login attempt (`ok`, `refused`, `unavailable`) or of a
/// reload (`ok`, `refused`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: &'static str,
}

/// Direction of relayed bytes.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabels {
    /// `from_client` or `from_server`.
    pub direction: &'static str,
}

/// A limit that was hit.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    /// The configuration key, e.g. `max_sessions_per_address`.
    pub limit: &'static str,
}

/// How sessions ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndLabels {
    /// `client_closed`, `server_closed`, `fault`, `timeout`, `shutdown`...
    pub reason: &'static str,
}

/// Every metric imapgate exports.
pub struct Metrics {
    registry: Registry,
    pub sessions_active: Gauge,
    pub sessions_ended: Family<EndLabels, Counter>,
    pub logins: Family<ResultLabels, Counter>,
    pub commands: Counter,
    pub rewritten: Counter,
    pub answered: Counter,
    pub withheld: Counter,
    pub hidden_names: Counter,
    pub bytes: Family<DirectionLabels, Counter>,
    pub limit_hits: Family<LimitLabels, Counter>,
    pub upstream_connect_seconds: Histogram,
    pub reloads: Family<ResultLabels, Counter>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("imapgate");
        let sessions_active = Gauge::default();
        registry.register("sessions_active", "Client sessions open now", sessions_active.clone());
        let sessions_ended = Family::<EndLabels, Counter>::default();
        registry.register("sessions_ended", "Client sessions that ended, by reason", sessions_ended.clone());
        let logins = Family::<ResultLabels, Counter>::default();
        registry.register("logins", "Login attempts passed to the upstream, by result", logins.clone());
        let commands = Counter::default();
        registry.register("commands", "Client commands relayed after login", commands.clone());
        let rewritten = Counter::default();
        registry.register("rewritten", "Commands and responses that a filter changed", rewritten.clone());
        let answered = Counter::default();
        registry.register("answered", "Commands answered by imapgate without reaching the server", answered.clone());
        let withheld = Counter::default();
        registry.register(
            "withheld",
            "Server responses withheld from the client (hidden names included)",
            withheld.clone(),
        );
        let hidden_names = Counter::default();
        registry.register(
            "hidden_names",
            "Server mailbox names hidden from a client, counted once per session",
            hidden_names.clone(),
        );
        let bytes = Family::<DirectionLabels, Counter>::default();
        registry.register_with_unit("relayed", "Bytes read from each peer after login", Unit::Bytes, bytes.clone());
        let limit_hits = Family::<LimitLabels, Counter>::default();
        registry.register("limit_hits", "Times a configured limit refused something, by limit", limit_hits.clone());
        let upstream_connect_seconds =
            Histogram::new([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]);
        registry.register_with_unit(
            "upstream_connect",
            "Time to connect to the upstream and read its greeting",
            Unit::Seconds,
            upstream_connect_seconds.clone(),
        );
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register("reloads", "Configuration reloads on SIGHUP, by result (ok or refused)", reloads.clone());
        Metrics {
            registry,
            sessions_active,
            sessions_ended,
            logins,
            commands,
            rewritten,
            answered,
            withheld,
            hidden_names,
            bytes,
            limit_hits,
            upstream_connect_seconds,
            reloads,
        }
    }

    /// Counts one refusal by the limit named `limit`.
    pub fn limit_hit(&self, limit: &'static str) {
        self.limit_hits.get_or_create(&LimitLabels { limit }).inc();
    }

    pub fn login(&self, result: &'static str) {
        self.logins.get_or_create(&ResultLabels { result }).inc();
    }

    pub fn session_ended(&self, reason: &'static str) {
        self.sessions_ended.get_or_create(&EndLabels { reason }).inc();
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
