//! imapgate: an IMAP proxy that rewrites commands and responses through a
//! chain of filters.
//!
//! - [`config`]: the TOML configuration and its validation.
//! - [`explain`]: `imapgate explain`, a transcript run through the relay.
//! - [`filter`]: the filter trait, the chain and the module registry.
//! - [`mailbox`]: the `mailbox` module (renaming, delimiters, hiding).
//! - [`relay`]: the authenticated session's relay, without I/O.
//! - [`session`]: one client connection: pre-auth, upstream login, relay loop.
//! - [`server`]: listeners, the accept loop, reload and drain.
//! - [`admission`]: session and failed-login limits per client address.
//! - [`metrics`] and [`admin`]: Prometheus metrics and the admin listener.
//! - [`trace`]: protocol traces of chosen users and addresses, redacted.
#![forbid(unsafe_code)]

pub mod admin;
pub mod admission;
pub mod auth_http;
pub mod config;
pub mod error;
pub mod explain;
pub mod filter;
pub mod mailbox;
pub mod metrics;
pub mod proxy_protocol;
pub mod relay;
pub mod server;
pub mod session;
pub mod tls;
pub mod trace;
