//! Filter modules: the trait every module implements, the typed views it
//! receives, and the verdict it returns.
//!
//! Commands pass through the chain in configuration order, responses in
//! reverse order. A filter sees only the commands and responses it asked for
//! with [`Filter::wants_command`] and [`Filter::wants_response`]; everything
//! else stays on the relay's byte-copying path and is never parsed.

pub mod chain;
pub mod message;
pub mod registry;

use imapgate_proto::classify::{CommandName, ResponseName, Status};
use imapgate_proto::encode::LiteralSupport;

pub use chain::{Chain, ChainFactory};
pub use message::Message;

/// Session facts that filters may read.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    /// The logged-in user, as the client gave it.
    pub user: String,
    /// The server's hierarchy delimiter; `None` for a flat namespace or when
    /// it was not learned.
    pub server_delimiter: Option<char>,
    /// The server's namespace prefixes (decoded); a name outside all of
    /// them cannot exist. Empty when unknown.
    pub server_namespaces: Vec<String>,
    /// `ENABLE UTF8=ACCEPT` is in effect: mailbox names are raw UTF-8.
    pub utf8: bool,
    /// Literals the server accepts without a continuation request.
    pub server_literals: LiteralSupport,
}

/// A parsed client command.
pub struct CommandView<'a> {
    pub tag: &'a [u8],
    pub name: CommandName,
    /// The command was sent with the `UID` prefix.
    pub uid: bool,
    pub message: Message<'a>,
}

/// A parsed untagged server response.
pub struct ResponseView<'a> {
    pub name: ResponseName,
    /// The number before the keyword (`* 3 FETCH`), if any.
    pub number: Option<u32>,
    pub message: Message<'a>,
}

/// A tagged status response that imapgate sends on the server's behalf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: Status,
    /// Response code without brackets, e.g. `NONEXISTENT`.
    pub code: Option<&'static str>,
    pub text: String,
}

impl Reply {
    pub fn no(code: &'static str, text: impl Into<String>) -> Reply {
        Reply { status: Status::No, code: Some(code), text: text.into() }
    }

    pub fn ok(text: impl Into<String>) -> Reply {
        Reply { status: Status::Ok, code: None, text: text.into() }
    }

    pub fn bad(text: impl Into<String>) -> Reply {
        Reply { status: Status::Bad, code: None, text: text.into() }
    }

    /// Writes the reply as a tagged response line.
    pub fn to_line(&self, tag: &[u8]) -> Vec<u8> {
        let status = match self.status {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::Bye => "BYE",
            Status::PreAuth => "PREAUTH",
        };
        let mut line = Vec::with_capacity(tag.len() + self.text.len() + 24);
        line.extend_from_slice(tag);
        line.push(b' ');
        line.extend_from_slice(status.as_bytes());
        line.push(b' ');
        if let Some(code) = self.code {
            line.push(b'[');
            line.extend_from_slice(code.as_bytes());
            line.extend_from_slice(b"] ");
        }
        line.extend_from_slice(self.text.as_bytes());
        line.extend_from_slice(b"\r\n");
        line
    }
}

/// A filter's decision about a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Pass the message on, with the edits recorded in its [`Message`].
    Forward,
    /// Do not forward the command; answer the client with this tagged reply.
    Reply(Reply),
    /// Do not forward the message at all.
    Drop,
}

/// Side channel of a hook: what it may read and ask for besides the verdict.
pub struct Context<'a> {
    pub session: &'a SessionInfo,
    /// Complete response lines to send to the client before the message
    /// being handled (or before the tagged response, in `on_completion`).
    pub emit: Vec<Vec<u8>>,
    /// Set by `on_command`: commands after this one wait until it completes,
    /// because its untagged data could not be told apart from theirs.
    pub hold_following: bool,
    /// Whether the relay collects [`Context::notes`] (as `imapgate explain`
    /// does). Filters may skip building notes when it is false.
    pub record_notes: bool,
    /// Explanations of the edits a hook made, such as which rule rewrote
    /// which argument; collected only when `record_notes` is set.
    pub notes: Vec<String>,
    /// Server mailbox names this hook hid from the client for the first
    /// time in the session; added to the relay's counters.
    pub hidden_names: u64,
}

impl<'a> Context<'a> {
    pub fn new(session: &'a SessionInfo) -> Self {
        Context {
            session,
            emit: Vec::new(),
            hold_following: false,
            record_notes: false,
            notes: Vec::new(),
            hidden_names: 0,
        }
    }

    /// Records the note built by `note` when notes are collected.
    pub fn note(&mut self, note: impl FnOnce() -> String) {
        if self.record_notes {
            self.notes.push(note());
        }
    }
}

/// A filter module's per-session state and hooks. Every hook has a default
/// that forwards, so a module implements only what it needs.
pub trait Filter: Send {
    /// Whether this filter needs commands named `name` parsed and passed to
    /// [`Filter::on_command`].
    fn wants_command(&self, name: CommandName) -> bool {
        let _ = name;
        false
    }

    /// Whether this filter needs untagged responses named `name` parsed and
    /// passed to [`Filter::on_response`].
    fn wants_response(&self, name: ResponseName) -> bool {
        let _ = name;
        false
    }

    /// Runs once after the upstream login succeeded, before any relaying.
    fn on_login(&mut self, session: &SessionInfo) {
        let _ = session;
    }

    /// Runs for each client command this filter wants, in chain order. Edits
    /// go into `command.message`; the returned verdict decides its fate.
    fn on_command(&mut self, command: &mut CommandView<'_>, ctx: &mut Context<'_>) -> Verdict {
        let _ = (command, ctx);
        Verdict::Forward
    }

    /// Runs for each untagged server response this filter wants, in reverse
    /// chain order. [`Verdict::Reply`] is treated as [`Verdict::Forward`].
    fn on_response(&mut self, response: &mut ResponseView<'_>, ctx: &mut Context<'_>) -> Verdict {
        let _ = (response, ctx);
        Verdict::Forward
    }

    /// Runs for every tagged completion from the server (and for replies
    /// imapgate sent on the server's behalf), before it reaches the client.
    fn on_completion(&mut self, tag: &[u8], status: Status, ctx: &mut Context<'_>) {
        let _ = (tag, status, ctx);
    }
}

/// The source of the server's hierarchy delimiter for a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DelimiterSource {
    NotNeeded,
    /// Given in the configuration.
    Configured(char),
    /// Asked with `LIST "" ""` after login.
    Learn,
}

/// Builds a filter's per-session state; one per configured module, shared
/// by all sessions of the process.
pub trait FilterFactory: Send + Sync {
    /// The module's name in the `filters` list.
    fn name(&self) -> &'static str;

    /// Whether the filter needs the server's hierarchy delimiter, and where
    /// the session gets it from.
    fn server_delimiter(&self) -> DelimiterSource {
        DelimiterSource::NotNeeded
    }

    /// Builds the state for one session.
    fn build(&self) -> Box<dyn Filter>;
}
