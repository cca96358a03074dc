//! The configuration file: TOML, parsed with serde, then validated in one
//! pass that reports every problem with its place.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::filter::registry;
use crate::mailbox::config::MailboxConfig;
use crate::tls::{ListenTls, TlsConfig, UpstreamTls, UpstreamTrust};

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Filter modules, in the order commands pass through them; responses
    /// pass through them in reverse.
    #[serde(default)]
    pub filters: Vec<String>,
    /// Addresses imapgate accepts clients on.
    #[serde(default)]
    pub listen: Vec<ListenConfig>,
    /// The IMAP server every session is relayed to.
    pub upstream: Option<UpstreamConfig>,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub timeouts: TimeoutsConfig,
    /// imapgate's certificate for listeners with TLS.
    pub tls: Option<TlsConfig>,
    /// The admin listener (metrics and health); off when absent.
    pub admin: Option<AdminConfig>,
    #[serde(default)]
    pub log: LogConfig,
    /// Protocol traces of chosen users or client addresses; off when absent.
    pub trace: Option<crate::trace::TraceConfig>,
    /// Settings of the `mailbox` filter.
    pub mailbox: Option<MailboxConfig>,
    /// Routing by an HTTP auth service that speaks nginx's mail auth
    /// protocol; the static `[upstream]` address is used when absent.
    pub auth_http: Option<crate::auth_http::AuthHttpConfig>,
    /// Named filter settings that an auth_http reply selects per user.
    #[serde(default)]
    pub profiles: std::collections::BTreeMap<String, ProfileConfig>,
}

/// One `[profiles.NAME]` block: a filter chain with its own settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    #[serde(default)]
    pub filters: Vec<String>,
    pub mailbox: Option<MailboxConfig>,
    /// TLS toward the server for sessions of this profile, in place of
    /// `upstream.tls`.
    pub upstream_tls: Option<UpstreamTls>,
}

/// The `[admin]` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// `IP:port` of the HTTP listener serving `/metrics` (Prometheus text
    /// format) and `/health`. Keep it on loopback or a management network.
    pub address: String,
}

/// The `[log]` section.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` (default) or `json`, one object per line.
    pub format: LogFormat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// One `[[listen]]` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenConfig {
    /// `IP:port` to bind, e.g. `127.0.0.1:1143` or `[::]:143`.
    pub address: String,
    /// `none`, `implicit` (TLS from the first byte) or `starttls`; the
    /// certificate comes from `[tls]`.
    #[serde(default)]
    pub tls: ListenTls,
    /// Refuses LOGIN and AUTHENTICATE until TLS is active (CAPABILITY then
    /// shows LOGINDISABLED and no AUTH=).
    #[serde(default)]
    pub login_requires_tls: bool,
    /// Expects a PROXY protocol header (v1 or v2) before anything else; the
    /// client address is taken from it.
    #[serde(default)]
    pub proxy_protocol: bool,
    /// Addresses (CIDR, e.g. `10.0.0.0/8`) allowed to send the PROXY
    /// header; connections from elsewhere are closed.
    #[serde(default)]
    pub proxy_trusted: Vec<String>,
}

/// The `[upstream]` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// `host:port` of the IMAP server; a host name is resolved at connect time.
    pub address: String,
    /// `none`, `implicit` or `starttls`.
    #[serde(default)]
    pub tls: UpstreamTls,
    /// PEM file of CA certificates that sign the server's certificate; the
    /// system's roots when unset.
    pub ca_file: Option<String>,
    /// Whether the server's certificate is verified. `false` is for labs
    /// only and is logged as a warning.
    #[serde(default = "default_true")]
    pub verify: bool,
    /// Name sent as SNI and checked in the certificate; the host part of
    /// `address` when unset.
    pub server_name: Option<String>,
    /// Sends a PROXY protocol header (`v1` or `v2`) with the client's
    /// address before anything else.
    pub proxy_protocol: Option<crate::proxy_protocol::Version>,
    /// Sends the server an ID command after connecting, with the client's
    /// own ID fields and `x-originating-ip`, `x-originating-port`,
    /// `x-connected-ip`, `x-connected-port` and `x-session-id` (Dovecot
    /// trusts them from its `login_trusted_networks`).
    #[serde(default)]
    pub forward_id: bool,
    /// Offers AUTHENTICATE XOAUTH2 and OAUTHBEARER to clients and passes
    /// them to this server, which must support them.
    #[serde(default)]
    pub oauth: bool,
}

fn default_true() -> bool {
    true
}

impl Config {
    /// Whether any session may use TLS toward the server: `upstream.tls`
    /// or a profile's `upstream_tls`.
    pub fn uses_upstream_tls(&self) -> bool {
        let upstream = self.upstream.as_ref().is_some_and(|upstream| upstream.tls != UpstreamTls::None);
        upstream
            || self.profiles.values().any(|profile| profile.upstream_tls.is_some_and(|tls| tls != UpstreamTls::None))
    }
}

impl UpstreamConfig {
    pub fn trust(&self) -> UpstreamTrust {
        UpstreamTrust { ca_file: self.ca_file.clone(), verify: self.verify }
    }
}

/// The `[limits]` section. Sizes are in bytes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Longest command line a client may send.
    pub max_line: usize,
    /// Largest command or response that a filter has parsed in memory,
    /// its literals included. Message literals of APPEND are streamed and
    /// do not count.
    pub max_collected: usize,
    /// Largest literal accepted before login (user names, passwords).
    pub max_preauth_literal: usize,
    /// Sessions served at once, in total.
    pub max_sessions: usize,
    /// Sessions served at once per client IP address.
    pub max_sessions_per_address: usize,
    /// Failed logins per client IP address within
    /// `login_failure_window_secs`; past it, the address is refused until
    /// the window passes. Each failure also delays the NO by one more
    /// second, up to 10 seconds.
    pub max_login_failures: u32,
    /// Window in which failed logins of an address are counted, in seconds.
    pub login_failure_window_secs: u64,
    /// Commands a client may have sent without their completion.
    pub max_pipelined: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_line: 64 * 1024,
            max_collected: 1024 * 1024,
            max_preauth_literal: 8 * 1024,
            max_sessions: 10_000,
            max_sessions_per_address: 200,
            max_login_failures: 10,
            login_failure_window_secs: 600,
            max_pipelined: 1000,
        }
    }
}

/// The `[timeouts]` section, in seconds.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsConfig {
    /// Time a client has to log in after connecting.
    pub preauth_secs: u64,
    /// Time allowed to connect to the upstream and read its greeting.
    pub upstream_connect_secs: u64,
    /// Time allowed for the upstream's answer to the login.
    pub upstream_login_secs: u64,
    /// Time an authenticated client may stay silent; at least 1800, the 30
    /// minutes RFC 9051 requires. A client in IDLE is never cut by it: the
    /// server decides how long an IDLE may last.
    pub idle_secs: u64,
    /// On SIGTERM, time sessions get to reach a safe point before they are
    /// closed anyway.
    pub shutdown_grace_secs: u64,
}

impl Default for TimeoutsConfig {
    fn default() -> Self {
        TimeoutsConfig {
            preauth_secs: 60,
            upstream_connect_secs: 10,
            upstream_login_secs: 30,
            idle_secs: 1800,
            shutdown_grace_secs: 30,
        }
    }
}

impl TimeoutsConfig {
    pub fn preauth(&self) -> Duration {
        Duration::from_secs(self.preauth_secs)
    }

    pub fn upstream_connect(&self) -> Duration {
        Duration::from_secs(self.upstream_connect_secs)
    }

    pub fn upstream_login(&self) -> Duration {
        Duration::from_secs(self.upstream_login_secs)
    }

    pub fn idle(&self) -> Duration {
        Duration::from_secs(self.idle_secs)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

/// A problem found in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Key path such as `mailbox.map[1].server`, or `line 3, column 7`.
    pub place: String,
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// A configuration that failed to load, with every problem found.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration {path}: {} problem(s)", problems.len())]
pub struct ConfigError {
    pub path: String,
    pub problems: Vec<ConfigProblem>,
}

impl ConfigProblem {
    pub fn new(place: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem { place: place.into(), message: message.into() }
    }
}

/// A validated configuration with its compiled filter factories.
pub struct LoadedConfig {
    pub config: Config,
    pub chain: crate::filter::ChainFactory,
    /// Chains of the `[profiles.NAME]` blocks, by name.
    pub profiles: std::collections::HashMap<String, crate::filter::ChainFactory>,
    /// Problems that do not stop the configuration from loading.
    pub warnings: Vec<ConfigProblem>,
}

/// Reads, parses and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
        path: display.clone(),
        problems: vec![ConfigProblem::new("file", format!("cannot read the file: {error}"))],
    })?;
    parse(&text).map_err(|problems| ConfigError { path: display, problems })
}

/// Parses and validates configuration text.
pub fn parse(text: &str) -> Result<LoadedConfig, Vec<ConfigProblem>> {
    let config: Config = toml::from_str(text).map_err(|error| vec![toml_problem(text, &error)])?;
    let mut problems = Vec::new();
    let mut warnings = Vec::new();

    validate_listeners(&config, &mut problems);
    validate_upstream(&config, &mut problems);
    validate_limits(&config, &mut problems);
    validate_admin(&config, &mut problems);
    validate_tls(&config, &mut problems, &mut warnings);
    if let Some(trace) = &config.trace {
        if trace.file.is_empty() {
            problems.push(ConfigProblem::new("trace.file", "must name the file the trace is appended to"));
        }
        if trace.users.is_empty() && trace.addresses.is_empty() {
            warnings.push(ConfigProblem::new("trace", "neither users nor addresses are set, so nothing is traced"));
        }
    }
    let top =
        registry::FilterSettings { place: String::new(), filters: &config.filters, mailbox: config.mailbox.as_ref() };
    let chain = registry::build_chain(&top, &mut problems, &mut warnings);
    // A [mailbox] section outside the chain is still checked, so a typo in
    // `filters` does not hide its problems.
    if config.mailbox.is_some() && !config.filters.iter().any(|name| name == "mailbox") {
        let _ = crate::mailbox::filter::factory(&top, &mut problems, &mut Vec::new());
    }
    let mut profiles = std::collections::HashMap::new();
    for (name, profile) in &config.profiles {
        let settings = registry::FilterSettings {
            place: format!("profiles.{name}."),
            filters: &profile.filters,
            mailbox: profile.mailbox.as_ref(),
        };
        profiles.insert(name.clone(), registry::build_chain(&settings, &mut problems, &mut warnings));
    }
    if let Some(auth_http) = &config.auth_http {
        for (place, message) in auth_http.validate("auth_http") {
            problems.push(ConfigProblem::new(place, message));
        }
    } else if !config.profiles.is_empty() {
        warnings.push(ConfigProblem::new(
            "profiles",
            "profiles are selected by the auth_http reply, but there is no [auth_http] section",
        ));
    }

    if problems.is_empty() { Ok(LoadedConfig { config, chain, profiles, warnings }) } else { Err(problems) }
}

/// The TOML error as a problem. Other checks need a file that parses, so
/// the message says they did not run.
fn toml_problem(text: &str, error: &toml::de::Error) -> ConfigProblem {
    let place = match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
            format!("line {line}, column {column}")
        }
        None => "file".to_string(),
    };
    let message = error.message().trim_end();
    ConfigProblem::new(place, format!("{message} (fix this first: the other checks run once the file parses)"))
}

fn validate_listeners(config: &Config, problems: &mut Vec<ConfigProblem>) {
    if config.listen.is_empty() {
        problems.push(ConfigProblem::new("listen", "no [[listen]] entry: add one with address = \"127.0.0.1:1143\""));
    }
    for (index, listen) in config.listen.iter().enumerate() {
        if let Err(errors) = crate::proxy_protocol::TrustedSources::parse(&listen.proxy_trusted) {
            for error in errors {
                problems.push(ConfigProblem::new(format!("listen[{index}].proxy_trusted"), error));
            }
        }
        if listen.proxy_protocol && listen.proxy_trusted.is_empty() {
            problems.push(ConfigProblem::new(
                format!("listen[{index}].proxy_trusted"),
                "list the load balancers allowed to send PROXY headers, e.g. [\"10.0.0.0/8\"]",
            ));
        }
        if let Err(error) = listen.address.parse::<std::net::SocketAddr>() {
            problems.push(ConfigProblem::new(
                format!("listen[{index}].address"),
                format!(
                    "{:?} is not an IP:port address ({error}); write e.g. \"127.0.0.1:1143\" or \"[::]:143\"",
                    listen.address
                ),
            ));
        }
    }
}

fn validate_upstream(config: &Config, problems: &mut Vec<ConfigProblem>) {
    let Some(upstream) = &config.upstream else {
        problems.push(ConfigProblem::new("upstream", "missing [upstream] section: add address = \"host:port\""));
        return;
    };
    let valid = match upstream.address.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|port| port != 0),
        None => false,
    };
    if !valid {
        problems.push(ConfigProblem::new(
            "upstream.address",
            format!("{:?} is not a host:port address; write e.g. \"127.0.0.1:143\"", upstream.address),
        ));
    }
}

fn validate_tls(config: &Config, problems: &mut Vec<ConfigProblem>, warnings: &mut Vec<ConfigProblem>) {
    let needs_certificate = config.listen.iter().any(|listen| listen.tls != ListenTls::None);
    match &config.tls {
        Some(tls) => {
            if let Err(message) = crate::tls::acceptor(tls) {
                problems.push(ConfigProblem::new("tls", message));
            }
        }
        None if needs_certificate => {
            problems.push(ConfigProblem::new(
                "tls",
                "a listener uses TLS but there is no [tls] section with certificate and key",
            ));
        }
        None => {}
    }
    for (index, listen) in config.listen.iter().enumerate() {
        if listen.login_requires_tls && listen.tls == ListenTls::None {
            problems.push(ConfigProblem::new(
                format!("listen[{index}].login_requires_tls"),
                "set tls = \"starttls\" or \"implicit\" on this listener, or clients can never log in",
            ));
        }
    }
    let Some(upstream) = &config.upstream else { return };
    if !config.uses_upstream_tls() {
        return;
    }
    if let Err(message) = crate::tls::connector(&upstream.trust()) {
        problems.push(ConfigProblem::new("upstream.ca_file", message));
    }
    if let Err(message) = crate::tls::server_name(&upstream.address, upstream.server_name.as_deref()) {
        problems.push(ConfigProblem::new("upstream.server_name", message));
    }
    if !upstream.verify {
        warnings.push(ConfigProblem::new(
            "upstream.verify",
            "the server's certificate is not verified; anyone on the path can read the mail",
        ));
    }
}

fn validate_admin(config: &Config, problems: &mut Vec<ConfigProblem>) {
    if let Some(admin) = &config.admin
        && let Err(error) = admin.address.parse::<std::net::SocketAddr>()
    {
        problems.push(ConfigProblem::new(
            "admin.address",
            format!("{:?} is not an IP:port address ({error}); write e.g. \"127.0.0.1:9143\"", admin.address),
        ));
    }
}

fn validate_limits(config: &Config, problems: &mut Vec<ConfigProblem>) {
    let limits = &config.limits;
    if limits.max_line < 1024 {
        problems.push(ConfigProblem::new(
            "limits.max_line",
            format!("{} is below the minimum of 1024 bytes", limits.max_line),
        ));
    }
    if limits.max_collected < limits.max_line {
        problems.push(ConfigProblem::new(
            "limits.max_collected",
            format!("{} is below limits.max_line ({}); raise it", limits.max_collected, limits.max_line),
        ));
    }
    let timeouts = &config.timeouts;
    for (key, value) in [
        ("preauth_secs", timeouts.preauth_secs),
        ("upstream_connect_secs", timeouts.upstream_connect_secs),
        ("upstream_login_secs", timeouts.upstream_login_secs),
    ] {
        if value == 0 {
            problems.push(ConfigProblem::new(format!("timeouts.{key}"), "must be at least 1 second"));
        }
    }
    if timeouts.idle_secs < 1800 {
        problems.push(ConfigProblem::new(
            "timeouts.idle_secs",
            format!(
                "{} is below 1800; RFC 9051 requires at least 30 minutes for authenticated sessions",
                timeouts.idle_secs
            ),
        ));
    }
    for (key, value) in [
        ("max_sessions", limits.max_sessions),
        ("max_sessions_per_address", limits.max_sessions_per_address),
        ("max_pipelined", limits.max_pipelined),
    ] {
        if value == 0 {
            problems.push(ConfigProblem::new(format!("limits.{key}"), "must be at least 1"));
        }
    }
    if limits.max_login_failures == 0 {
        problems.push(ConfigProblem::new("limits.max_login_failures", "must be at least 1"));
    }
}

#[cfg(test)]
mod tests;
