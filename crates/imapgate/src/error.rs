//! Session errors with the party to blame, and the one place that turns
//! them into the IMAP response the client gets.

/// Who caused an error; decides the IMAP answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blame {
    /// The client sent something invalid.
    Client,
    /// The IMAP server failed, closed, or sent something invalid.
    Upstream,
    /// imapgate itself failed.
    Internal,
}

/// An error that ends a command or the session.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SessionError {
    pub blame: Blame,
    /// Text for the client: what failed and what to do next.
    pub message: String,
}

impl SessionError {
    pub fn new(blame: Blame, message: impl Into<String>) -> Self {
        SessionError { blame, message: message.into() }
    }

    /// The IMAP line that tells the client: a tagged `BAD` (client) or
    /// `NO [UNAVAILABLE]` / `NO [SERVERBUG]` for a command when `tag` is
    /// given and the session goes on, else `* BYE` with the same code.
    pub fn answer(&self, tag: Option<&[u8]>) -> Vec<u8> {
        let (status, code) = match (self.blame, tag.is_some()) {
            (Blame::Client, true) => ("BAD", ""),
            (Blame::Client, false) => ("BYE", ""),
            (Blame::Upstream, true) => ("NO", "[UNAVAILABLE] "),
            (Blame::Upstream, false) => ("BYE", "[UNAVAILABLE] "),
            (Blame::Internal, true) => ("NO", "[SERVERBUG] "),
            (Blame::Internal, false) => ("BYE", "[SERVERBUG] "),
        };
        let mut line = tag.unwrap_or(b"*").to_vec();
        line.extend_from_slice(format!(" {status} {code}{}\r\n", self.message).as_bytes());
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_by_blame() {
        let client = SessionError::new(Blame::Client, "Invalid literal size");
        assert_eq!(client.answer(Some(b"a1")), b"a1 BAD Invalid literal size\r\n");
        assert_eq!(client.answer(None), b"* BYE Invalid literal size\r\n");
        let upstream = SessionError::new(Blame::Upstream, "The mail server is unavailable");
        assert_eq!(upstream.answer(Some(b"a1")), b"a1 NO [UNAVAILABLE] The mail server is unavailable\r\n");
        assert_eq!(upstream.answer(None), b"* BYE [UNAVAILABLE] The mail server is unavailable\r\n");
        let internal = SessionError::new(Blame::Internal, "Internal error");
        assert_eq!(internal.answer(None), b"* BYE [SERVERBUG] Internal error\r\n");
    }
}
