//! A minimal IMAP client for load generation: sends one command at a time
//! and reads its response without keeping literal data.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Read buffer size; literal data larger than this is read and dropped in
/// pieces of this size.
const BUF_SIZE: usize = 64 * 1024;
/// Maximum response line length accepted; the 10,000-folder LIST has short lines.
const MAX_LINE: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("connecting to {address} failed: {source}")]
    Connect { address: String, source: std::io::Error },
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server closed the connection")]
    Closed,
    #[error("the server sent a line longer than {MAX_LINE} bytes")]
    LineTooLong,
    #[error("the server greeted with {0:?}, expected * OK")]
    Greeting(String),
    #[error("command {command:?} failed: {reply:?}")]
    Failed { command: String, reply: String },
}

/// Summary of one command's response.
#[derive(Debug, Default, Clone, Copy)]
pub struct Reply {
    /// Untagged responses (`* ...`) before the completion.
    pub untagged: usize,
}

/// One IMAP connection in the client role.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    next_tag: u64,
    /// Bytes received on this connection, literals included.
    pub received: u64,
}

impl Conn {
    /// Connects and reads the greeting.
    pub async fn connect(address: &str) -> Result<Conn, ImapError> {
        let stream = TcpStream::connect(address)
            .await
            .map_err(|source| ImapError::Connect { address: address.to_string(), source })?;
        stream.set_nodelay(true)?;
        let mut conn = Conn { stream, buf: vec![0; BUF_SIZE], start: 0, end: 0, next_tag: 1, received: 0 };
        let greeting = conn.read_line().await?;
        if !greeting.starts_with(b"* OK") {
            return Err(ImapError::Greeting(String::from_utf8_lossy(&greeting).trim_end().to_string()));
        }
        Ok(conn)
    }

    /// Connects, reads the greeting and logs in.
    pub async fn login(address: &str, user: &str, password: &str) -> Result<Conn, ImapError> {
        let mut conn = Conn::connect(address).await?;
        conn.command(&format!("LOGIN \"{user}\" \"{password}\"")).await?;
        Ok(conn)
    }

    /// Sends `command` under a new tag and reads up to its tagged
    /// completion. Anything other than OK is an error.
    pub async fn command(&mut self, command: &str) -> Result<Reply, ImapError> {
        let tag = format!("b{}", self.next_tag);
        self.next_tag += 1;
        let line = format!("{tag} {command}\r\n");
        self.stream.write_all(line.as_bytes()).await?;
        self.read_reply(&tag, command).await
    }

    /// Sends LOGOUT, reads its completion and closes the socket.
    pub async fn logout(mut self) -> Result<(), ImapError> {
        self.command("LOGOUT").await?;
        self.stream.shutdown().await?;
        Ok(())
    }

    async fn read_reply(&mut self, tag: &str, command: &str) -> Result<Reply, ImapError> {
        let mut reply = Reply::default();
        let mut at_response_start = true;
        loop {
            let line = self.read_line().await?;
            if at_response_start {
                if line.starts_with(b"* ") {
                    reply.untagged += 1;
                } else if line.starts_with(tag.as_bytes()) && line.get(tag.len()) == Some(&b' ') {
                    let status = &line[tag.len() + 1..];
                    if status.starts_with(b"OK") {
                        return Ok(reply);
                    }
                    return Err(ImapError::Failed {
                        command: command.to_string(),
                        reply: String::from_utf8_lossy(&line).trim_end().to_string(),
                    });
                }
            }
            match literal_size(&line) {
                Some(size) => {
                    self.skip(size).await?;
                    at_response_start = false;
                }
                None => at_response_start = true,
            }
        }
    }

    /// Reads one line, CRLF included.
    async fn read_line(&mut self) -> Result<Vec<u8>, ImapError> {
        let mut searched = self.start;
        loop {
            if let Some(offset) = memchr::memchr(b'\n', &self.buf[searched..self.end]) {
                let line_end = searched + offset + 1;
                let line = self.buf[self.start..line_end].to_vec();
                self.start = line_end;
                return Ok(line);
            }
            searched = self.end;
            if self.end - self.start >= MAX_LINE {
                return Err(ImapError::LineTooLong);
            }
            let consumed = self.start;
            self.fill().await?;
            searched -= consumed;
        }
    }

    /// Drops `size` bytes of literal data.
    async fn skip(&mut self, mut size: usize) -> Result<(), ImapError> {
        loop {
            let available = (self.end - self.start).min(size);
            self.start += available;
            size -= available;
            if size == 0 {
                return Ok(());
            }
            self.start = 0;
            self.end = 0;
            self.fill().await?;
        }
    }

    /// Moves unread bytes to the front of the buffer and reads more.
    async fn fill(&mut self) -> Result<(), ImapError> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let count = self.stream.read(&mut self.buf[self.end..]).await?;
        if count == 0 {
            return Err(ImapError::Closed);
        }
        self.end += count;
        self.received += count as u64;
        Ok(())
    }
}

/// Size of the literal announced at the end of `line` (`{123}` or `{123+}`).
fn literal_size(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"\r\n").or_else(|| line.strip_suffix(b"\n"))?;
    let line = line.strip_suffix(b"}")?;
    let open = memchr::memrchr(b'{', line)?;
    let digits = &line[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_size_forms() {
        assert_eq!(literal_size(b"* 1 FETCH (BODY[] {262144}\r\n"), Some(262_144));
        assert_eq!(literal_size(b"a APPEND x {5+}\r\n"), Some(5));
        assert_eq!(literal_size(b"* LIST () \".\" INBOX\r\n"), None);
        assert_eq!(literal_size(b"* OK {x}\r\n"), None);
        assert_eq!(literal_size(b"* OK {}\r\n"), None);
    }
}
