//! The relay of an authenticated session, without I/O.
//!
//! The session driver feeds bytes read from the client into
//! [`Relay::client_input`] and bytes read from the server into
//! [`Relay::server_input`]; both append what must be written to an
//! [`Output`]. Each direction is framed into lines and literals. A message
//! that no filter asked for is copied through chunk by chunk, literals
//! included, so large FETCH bodies and APPEND data are never held whole. A
//! message a filter asked for is collected (up to `max_collected` bytes),
//! tokenized, passed through the chain and sent on with only the changed
//! tokens replaced.
//!
//! The two directions share state. A client's synchronizing literal waits
//! for the server's `+` (or is cancelled by a tagged NO/BAD). IDLE and
//! AUTHENTICATE turn client lines into continuation data. Replies that
//! imapgate makes itself wait for a boundary between server messages.

mod capability;
mod client;
mod server;

use std::collections::VecDeque;

use bytes::BytesMut;
use imapgate_proto::classify::CommandName;
use imapgate_proto::framer::{Frame, Framer, Peer};

use crate::filter::{Chain, Context, Reply, SessionInfo};

pub use capability::{capability_names, strip_capabilities};

/// Framer chunk size: a line longer than this arrives in pieces.
const PART_THRESHOLD: usize = 8 * 1024;

/// Size limits of a relay, in bytes.
#[derive(Clone, Copy, Debug)]
pub struct RelayLimits {
    /// Longest client command line.
    pub max_line: usize,
    /// Largest message collected for filters.
    pub max_collected: usize,
    /// Commands sent to the server whose completion has not arrived.
    pub max_pipelined: usize,
}

/// Bytes to write, per peer.
#[derive(Default)]
pub struct Output {
    pub to_client: BytesMut,
    pub to_server: BytesMut,
}

/// A fault that ends the session; the driver sends the client `* BYE`.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("client sent invalid data: {0}")]
    Client(String),
    #[error("server sent an invalid response: {0}")]
    Upstream(String),
}

impl RelayError {
    /// Converts the error into the session error that the client is sent.
    pub fn to_session_error(&self) -> crate::error::SessionError {
        use crate::error::{Blame, SessionError};
        match self {
            RelayError::Client(reason) => {
                SessionError::new(Blame::Client, format!("Invalid input from client: {reason}"))
            }
            RelayError::Upstream(_) => SessionError::new(Blame::Upstream, "The mail server sent an invalid response"),
        }
    }
}

/// Counters for the access log.
#[derive(Clone, Copy, Debug, Default)]
pub struct RelayStats {
    pub commands: u64,
    /// Commands and responses that a filter changed.
    pub rewritten: u64,
    /// Commands answered by imapgate without reaching the server.
    pub answered: u64,
    /// Responses withheld from the client.
    pub withheld: u64,
    /// Commands refused by `max_line`.
    pub max_line_hits: u64,
    /// Commands refused and responses withheld by `max_collected`.
    pub max_collected_hits: u64,
    /// Commands refused by `max_pipelined`.
    pub max_pipelined_hits: u64,
    /// Distinct server mailbox names that filters hid from the client.
    pub hidden_names: u64,
}

/// A command sent to the server whose tagged completion has not arrived.
struct Pending {
    tag: Vec<u8>,
    name: CommandName,
    /// For IDLE: the client sent its `DONE`, so the lines that follow are
    /// commands again, although the server has not completed the IDLE yet.
    done: bool,
}

/// The party that waits for the server's continuation request (`+`).
enum AwaitingPlus {
    /// The client sent a synchronizing literal in a command that is relayed
    /// as it is: the `+` goes to the client.
    Client { tag: Vec<u8> },
    /// imapgate sent a rewritten command with a synchronizing literal: the
    /// `+` is consumed and the next part is sent. `client_literal` is set
    /// when the last part ends with the client's own synchronizing literal.
    Own { tag: Vec<u8>, parts: VecDeque<Vec<u8>>, client_literal: bool },
}

impl AwaitingPlus {
    fn tag(&self) -> &[u8] {
        match self {
            AwaitingPlus::Client { tag } | AwaitingPlus::Own { tag, .. } => tag,
        }
    }
}

/// The relay state of one authenticated session.
pub struct Relay {
    chain: Chain,
    session: SessionInfo,
    limits: RelayLimits,
    stats: RelayStats,

    client_framer: Framer,
    client_message: client::Message,
    /// The start of a client line that arrived in pieces.
    client_line: Vec<u8>,
    /// Whether that line starts a message.
    client_line_starts: bool,

    server_framer: Framer,
    server_message: server::Message,

    pending: Vec<Pending>,
    awaiting_plus: Option<AwaitingPlus>,
    /// Tag of a command whose completion the following commands wait for.
    hold: Option<Vec<u8>>,
    /// Responses imapgate makes itself, sent at the next boundary between
    /// server messages.
    client_queue: Vec<u8>,
    /// The server sent `* BYE`, so its closing the connection is expected.
    server_said_bye: bool,
    /// Whether filter notes are collected into `notes`.
    record_notes: bool,
    notes: Vec<String>,
}

impl Relay {
    pub fn new(chain: Chain, session: SessionInfo, limits: RelayLimits) -> Self {
        Relay {
            chain,
            session,
            limits,
            stats: RelayStats::default(),
            client_framer: Framer::new(Peer::Client, PART_THRESHOLD),
            client_message: client::Message::Between,
            client_line: Vec::new(),
            client_line_starts: false,
            server_framer: Framer::new(Peer::Server, PART_THRESHOLD),
            server_message: server::Message::Between,
            pending: Vec::new(),
            awaiting_plus: None,
            hold: None,
            client_queue: Vec::new(),
            server_said_bye: false,
            record_notes: false,
            notes: Vec::new(),
        }
    }

    /// Makes the relay collect the notes filters record about their edits,
    /// for [`Relay::take_notes`].
    pub fn record_notes(&mut self) {
        self.record_notes = true;
    }

    /// Returns the filter notes collected since the last call.
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    pub fn session(&self) -> &SessionInfo {
        &self.session
    }

    pub fn stats(&self) -> RelayStats {
        self.stats
    }

    /// Whether the relay has nothing of its own to send and no message in
    /// flight in either direction: a safe point to end the session.
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty()
            && self.client_queue.is_empty()
            && matches!(self.client_message, client::Message::Between)
            && matches!(self.server_message, server::Message::Between)
    }

    /// Returns how many literal bytes of the server message in flight may
    /// reach the client without passing through [`Relay::server_input`]: the message
    /// is relayed unchanged and its literal has that many bytes to come.
    /// The caller moves them only after every earlier server byte went
    /// through `server_input` and every earlier byte for the client was
    /// written, and reports them with [`Relay::server_bypassed`].
    pub fn server_bypass(&self) -> u64 {
        match self.server_message {
            server::Message::Relayed => self.server_framer.literal_remaining(),
            _ => 0,
        }
    }

    /// Records `len` server literal bytes moved to the client by the caller.
    pub fn server_bypassed(&mut self, len: u64) {
        debug_assert!(len <= self.server_bypass(), "bypassed more than the literal");
        self.server_framer.skip_literal(len);
    }

    /// Returns what [`Relay::server_bypass`] does, for client literal data (APPEND
    /// messages) going to the server.
    pub fn client_bypass(&self) -> u64 {
        match self.client_message {
            client::Message::Relayed if self.awaiting_plus.is_none() => self.client_framer.literal_remaining(),
            _ => 0,
        }
    }

    /// Records `len` client literal bytes moved to the server by the caller.
    pub fn client_bypassed(&mut self, len: u64) {
        debug_assert!(len <= self.client_bypass(), "bypassed more than the literal");
        self.client_framer.skip_literal(len);
    }

    /// Queues a tagged reply from imapgate itself.
    fn reply(&mut self, tag: &[u8], reply: &Reply, out: &mut Output) {
        let mut ctx = Context::new(&self.session);
        ctx.record_notes = self.record_notes;
        self.chain.on_completion(tag, reply.status, &mut ctx);
        let Context { emit: ctx_emit, notes, hidden_names, .. } = ctx;
        self.absorb(notes, hidden_names);
        for line in ctx_emit {
            self.client_queue.extend_from_slice(&line);
        }
        self.client_queue.extend_from_slice(&reply.to_line(tag));
        self.stats.answered += 1;
        self.flush_client_queue(out);
    }

    /// Takes the notes and counts of a finished hook call.
    fn absorb(&mut self, mut notes: Vec<String>, hidden_names: u64) {
        self.stats.hidden_names += hidden_names;
        self.notes.append(&mut notes);
    }

    /// Queues an untagged line from imapgate itself.
    fn untagged(&mut self, line: &[u8], out: &mut Output) {
        self.client_queue.extend_from_slice(line);
        self.flush_client_queue(out);
    }

    /// Moves queued replies to the client when no server message is half sent.
    fn flush_client_queue(&mut self, out: &mut Output) {
        if !self.client_queue.is_empty()
            && matches!(self.server_message, server::Message::Between)
            && self.server_framer.at_message_start()
        {
            out.to_client.extend_from_slice(&self.client_queue);
            self.client_queue.clear();
        }
    }

    fn remove_pending(&mut self, tag: &[u8]) -> Option<CommandName> {
        let index = self.pending.iter().position(|pending| pending.tag == tag)?;
        Some(self.pending.remove(index).name)
    }

    /// Whether the server announced that it closes the connection (`* BYE`).
    pub fn server_said_bye(&self) -> bool {
        self.server_said_bye
    }

    /// Whether no server message is half sent to the client.
    pub fn server_at_boundary(&self) -> bool {
        matches!(self.server_message, server::Message::Between) && self.server_framer.at_message_start()
    }

    /// Whether the client is in IDLE (the server accepted it and `DONE`
    /// has not been sent), with no message half sent in either direction.
    pub fn is_idling(&self) -> bool {
        self.pending.iter().any(|pending| pending.name == CommandName::Idle && !pending.done)
            && self.pending.len() == 1
            && matches!(self.client_message, client::Message::Between)
            && matches!(self.server_message, server::Message::Between)
            && self.awaiting_plus.is_none()
    }

    /// Queues an untagged line (e.g. `* BYE`) for the client at the next
    /// boundary between server messages.
    pub fn send_untagged(&mut self, line: &[u8], out: &mut Output) {
        self.untagged(line, out);
    }

    /// A command whose following client lines are continuation data
    /// (IDLE's `DONE`, AUTHENTICATE's SASL responses) is in flight.
    fn in_continuation_command(&self) -> bool {
        self.pending.iter().any(|pending| match pending.name {
            CommandName::Idle => !pending.done,
            CommandName::Authenticate => true,
            _ => false,
        })
    }
}

/// Splits a command after each line that announces a synchronizing literal.
pub fn split_at_sync_literals(wire: &[u8]) -> VecDeque<Vec<u8>> {
    let mut parts = VecDeque::new();
    let mut framer = Framer::new(Peer::Client, usize::MAX);
    let mut start = 0;
    let mut at = 0;
    while at < wire.len() {
        match framer.next(&wire[at..]) {
            Ok(Frame::LineEnd { len, literal, .. }) => {
                framer.consume(len);
                at += len;
                if literal.is_some_and(|header| header.synchronizing) {
                    parts.push_back(wire[start..at].to_vec());
                    start = at;
                    framer.continue_literal();
                }
            }
            Ok(Frame::Literal { len, .. }) | Ok(Frame::LinePart { len, .. }) => {
                framer.consume(len);
                at += len;
            }
            _ => break,
        }
    }
    if start < wire.len() {
        parts.push_back(wire[start..].to_vec());
    }
    parts
}

#[cfg(test)]
mod tests;
