//! Routing through an HTTP auth service that speaks nginx's mail auth
//! protocol (`auth_http` in nginx's mail proxy), so that a service written
//! for nginx works unchanged.
//!
//! For each login attempt imapgate sends the request nginx would send
//! ([`AuthRequest::to_bytes`]) and reads the reply headers the way nginx
//! does ([`AuthReply`]). The reply either routes the session to a server,
//! refuses the login, asks to retry later, or is unusable.
//!
//! - `config`: the `[auth_http]` section and the service URL.
//! - `request`: the request bytes and nginx's percent-escaping.
//! - `reply`: header parsing and the decision taken from the headers.
//! - `client`: [`authenticate`], one exchange over TCP with a time limit.

mod client;
mod config;
mod reply;
mod request;

#[cfg(test)]
mod tests;

pub use client::{AuthHttpError, MAX_REPLY_HEAD, authenticate};
pub use config::{AuthHttpConfig, Endpoint, ExtraHeaders};
pub use reply::{AuthReply, Decision, Head, Header, decide, parse_head};
pub use request::{AuthMethod, AuthRequest, ProxyProtocolInfo, TlsInfo, escape_mail_auth};
