//! Credentials, kept out of every formatter.

use std::fmt;

/// Bytes that must never be logged: a password or a SASL payload. `Debug`
/// prints a placeholder and there is no `Display`.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}

/// A user name and password from LOGIN or AUTHENTICATE, or a user and
/// bearer token from an OAuth mechanism.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// Authorization identity of AUTHENTICATE PLAIN, when given.
    pub authzid: Option<String>,
    pub user: String,
    /// The password, or the bearer token of an OAuth mechanism.
    pub password: Secret,
    /// Set for XOAUTH2 and OAUTHBEARER, which go to the server unchanged.
    pub oauth: Option<OAuth>,
}

/// An OAuth SASL exchange passed through to the server.
#[derive(Clone, Debug)]
pub struct OAuth {
    /// `XOAUTH2` or `OAUTHBEARER`.
    pub mechanism: &'static str,
    /// The client's base64 response, as sent.
    pub response: Secret,
}

impl Credentials {
    /// The SASL PLAIN message: `authzid NUL user NUL password`.
    pub fn plain_payload(&self) -> Secret {
        let mut payload = Vec::new();
        if let Some(authzid) = &self.authzid {
            payload.extend_from_slice(authzid.as_bytes());
        }
        payload.push(0);
        payload.extend_from_slice(self.user.as_bytes());
        payload.push(0);
        payload.extend_from_slice(self.password.expose());
        Secret::new(payload)
    }

    /// Parses a decoded SASL PLAIN message.
    pub fn from_plain(message: &[u8]) -> Option<Credentials> {
        let mut fields = message.split(|byte| *byte == 0);
        let authzid = fields.next()?;
        let user = fields.next()?;
        let password = fields.next()?;
        if fields.next().is_some() || user.is_empty() {
            return None;
        }
        Some(Credentials {
            authzid: (!authzid.is_empty()).then(|| String::from_utf8_lossy(authzid).into_owned()),
            user: String::from_utf8(user.to_vec()).ok()?,
            password: Secret::new(password.to_vec()),
            oauth: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_password() {
        let credentials = Credentials {
            authzid: None,
            user: "alice".into(),
            password: Secret::new(b"hunter2".to_vec()),
            oauth: None,
        };
        let shown = format!("{credentials:?}");
        assert!(shown.contains("alice"));
        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn plain_round_trip() {
        let parsed = Credentials::from_plain(b"\0alice\0pa ss").unwrap();
        assert_eq!(parsed.user, "alice");
        assert_eq!(parsed.password.expose(), b"pa ss");
        assert_eq!(parsed.plain_payload().expose(), b"\0alice\0pa ss");
    }

    #[test]
    fn plain_rejects_missing_fields() {
        assert!(Credentials::from_plain(b"alice\0secret").is_none());
        assert!(Credentials::from_plain(b"\0\0secret").is_none());
    }
}
