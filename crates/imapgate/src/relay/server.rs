//! The server-to-client direction of the relay.

use bytes::{Buf, BytesMut};
use imapgate_proto::classify::{self, ResponseHead, ResponseName, Status};
use imapgate_proto::framer::Frame;

use super::capability::{contains_ignore_case, strip_capabilities};
use super::{AwaitingPlus, Output, Relay, RelayError};
use crate::filter::{Context, Message as Parsed, ResponseView, Verdict};

/// State of the server message being received.
pub(super) enum Message {
    /// At a boundary between messages.
    Between,
    /// Copied to the client as it arrives.
    Relayed,
    /// Not sent to the client: a `+` meant for imapgate, or a response
    /// withheld because it could not be inspected.
    Dropped,
    /// Gathered before it is sent on.
    Collected { kind: Kind, bytes: Vec<u8> },
}

/// Why a server message is collected.
pub(super) enum Kind {
    Tagged {
        tag: Vec<u8>,
        status: Status,
    },
    /// `* CAPABILITY` or a status response with a `[CAPABILITY …]` code.
    Capability,
    /// `* ENABLED`, watched for UTF8=ACCEPT.
    Enabled,
    /// An untagged response a filter asked for.
    Filtered {
        name: ResponseName,
        number: Option<u32>,
        args_at: usize,
    },
}

impl Relay {
    /// Processes server bytes at the front of `input`, consuming all of
    /// them that form frames.
    pub fn server_input(&mut self, input: &mut BytesMut, out: &mut Output) -> Result<(), RelayError> {
        loop {
            let frame = self.server_framer.next(input).map_err(|error| RelayError::Upstream(error.to_string()))?;
            let len = match frame {
                Frame::NeedMore | Frame::AwaitingContinuation => break,
                Frame::LinePart { len, starts_message } => {
                    self.server_line(&input[..len], starts_message, false, false, out)?;
                    len
                }
                Frame::LineEnd { len, starts_message, literal } => {
                    self.server_line(&input[..len], starts_message, true, literal.is_some(), out)?;
                    if let Some(header) = literal {
                        self.check_collected_literal(header.size);
                    }
                    len
                }
                Frame::Literal { len, .. } => {
                    self.server_literal(&input[..len], out);
                    len
                }
            };
            input.advance(len);
            self.server_framer.consume(len);
        }
        self.flush_client_queue(out);
        Ok(())
    }

    fn server_line(
        &mut self,
        chunk: &[u8],
        starts_message: bool,
        line_ends: bool,
        literal_follows: bool,
        out: &mut Output,
    ) -> Result<(), RelayError> {
        if starts_message {
            self.start_server_message(chunk, out)?;
        }
        let message_ends = line_ends && !literal_follows;
        match &mut self.server_message {
            Message::Between => unreachable!("a message was started above"),
            Message::Relayed => out.to_client.extend_from_slice(chunk),
            Message::Dropped => {}
            Message::Collected { kind, bytes } => {
                bytes.extend_from_slice(chunk);
                if bytes.len() > self.limits.max_collected {
                    if !matches!(kind, Kind::Filtered { .. }) {
                        return Err(RelayError::Upstream(format!(
                            "a status line is longer than {} bytes",
                            self.limits.max_collected
                        )));
                    }
                    self.withhold("it is larger than limits.max_collected");
                }
            }
        }
        if message_ends {
            let message = std::mem::replace(&mut self.server_message, Message::Between);
            if let Message::Collected { kind, bytes } = message {
                self.finish_server_message(kind, bytes, out);
            }
            self.flush_client_queue(out);
        }
        Ok(())
    }

    fn server_literal(&mut self, data: &[u8], out: &mut Output) {
        match &mut self.server_message {
            Message::Relayed => out.to_client.extend_from_slice(data),
            Message::Collected { bytes, .. } => bytes.extend_from_slice(data),
            Message::Dropped | Message::Between => {}
        }
    }

    /// A collected response announced a literal: withhold it if the data
    /// would pass `max_collected`.
    fn check_collected_literal(&mut self, size: u64) {
        if let Message::Collected { bytes, .. } = &self.server_message
            && (bytes.len() as u64).saturating_add(size) > self.limits.max_collected as u64
        {
            self.withhold("its literal is larger than limits.max_collected");
        }
    }

    /// Drops the response being collected; filters could not inspect it, so
    /// it must not reach the client unrewritten.
    fn withhold(&mut self, reason: &str) {
        tracing::warn!(
            limit = "max_collected",
            value = self.limits.max_collected,
            reason,
            "withheld a server response"
        );
        self.stats.withheld += 1;
        self.stats.max_collected_hits += 1;
        self.server_message = Message::Dropped;
    }

    /// Decides how the message that starts with `chunk` is handled.
    fn start_server_message(&mut self, chunk: &[u8], out: &mut Output) -> Result<(), RelayError> {
        let Some(head) = classify::classify_response(chunk) else {
            let shown: String =
                chunk.iter().take(80).flat_map(|byte| std::ascii::escape_default(*byte)).map(char::from).collect();
            return Err(RelayError::Upstream(format!("unrecognized response line {shown:?}")));
        };
        self.server_message = match head {
            ResponseHead::Continuation => self.on_continuation(out),
            ResponseHead::Tagged { tag, status, .. } => {
                Message::Collected { kind: Kind::Tagged { tag: tag.to_vec(), status }, bytes: Vec::new() }
            }
            ResponseHead::Untagged { name: ResponseName::Capability, .. } => {
                Message::Collected { kind: Kind::Capability, bytes: Vec::new() }
            }
            ResponseHead::Untagged { name: ResponseName::Condition(Status::Bye), .. } => {
                self.server_said_bye = true;
                Message::Relayed
            }
            ResponseHead::Untagged { name: ResponseName::Condition(_), .. }
                if contains_ignore_case(chunk, b"[CAPABILITY ") =>
            {
                Message::Collected { kind: Kind::Capability, bytes: Vec::new() }
            }
            ResponseHead::Untagged { name: ResponseName::Enabled, .. } => {
                Message::Collected { kind: Kind::Enabled, bytes: Vec::new() }
            }
            ResponseHead::Untagged { name, number, args_at } if self.chain.wants_response(name) => {
                Message::Collected { kind: Kind::Filtered { name, number, args_at }, bytes: Vec::new() }
            }
            ResponseHead::Untagged { .. } => Message::Relayed,
        };
        Ok(())
    }

    /// The server sent `+`: give it to whoever waits for it.
    fn on_continuation(&mut self, out: &mut Output) -> Message {
        match self.awaiting_plus.take() {
            Some(AwaitingPlus::Client { .. }) => {
                self.client_framer.continue_literal();
                Message::Relayed
            }
            Some(AwaitingPlus::Own { tag, mut parts, client_literal }) => {
                out.to_server.extend_from_slice(&parts.pop_front().unwrap_or_default());
                if !parts.is_empty() {
                    self.awaiting_plus = Some(AwaitingPlus::Own { tag, parts, client_literal });
                } else if client_literal {
                    self.awaiting_plus = Some(AwaitingPlus::Client { tag });
                }
                Message::Dropped
            }
            // IDLE, AUTHENTICATE, or a request nobody waits for.
            None => Message::Relayed,
        }
    }

    fn finish_server_message(&mut self, kind: Kind, bytes: Vec<u8>, out: &mut Output) {
        match kind {
            Kind::Tagged { tag, status } => self.finish_tagged(&tag, status, bytes, out),
            Kind::Capability => {
                out.to_client.extend_from_slice(&strip_capabilities(&bytes).unwrap_or(bytes));
            }
            Kind::Enabled => {
                if contains_ignore_case(&bytes, b" UTF8=ACCEPT") {
                    self.session.utf8 = true;
                }
                out.to_client.extend_from_slice(&bytes);
            }
            Kind::Filtered { name, number, args_at } => self.finish_filtered(name, number, args_at, &bytes, out),
        }
    }

    fn finish_tagged(&mut self, tag: &[u8], status: Status, bytes: Vec<u8>, out: &mut Output) {
        // A command refused before the server's `+`: its literal is not sent.
        if self.awaiting_plus.as_ref().is_some_and(|waiting| waiting.tag() == tag) {
            self.awaiting_plus = None;
            self.client_framer.cancel_literal();
            if matches!(self.client_message, super::client::Message::Relayed) {
                // After a synchronizing literal the client sends a new
                // command next. After a non-synchronizing one (an APPEND
                // message behind imapgate's own parts) it sends the rest of
                // the refused command, which must not reach the server.
                self.client_message = if self.client_framer.at_message_start() {
                    super::client::Message::Between
                } else {
                    super::client::Message::Discarded { tag: Vec::new(), reply: None }
                };
            }
        }
        if self.hold.as_deref() == Some(tag) {
            self.hold = None;
        }
        self.remove_pending(tag);

        let mut ctx = Context::new(&self.session);
        ctx.record_notes = self.record_notes;
        self.chain.on_completion(tag, status, &mut ctx);
        let Context { emit, notes, hidden_names, .. } = ctx;
        self.absorb(notes, hidden_names);
        for line in emit {
            out.to_client.extend_from_slice(&line);
        }
        out.to_client.extend_from_slice(&strip_capabilities(&bytes).unwrap_or(bytes));
    }

    fn finish_filtered(
        &mut self,
        name: ResponseName,
        number: Option<u32>,
        args_at: usize,
        bytes: &[u8],
        out: &mut Output,
    ) {
        let message = match Parsed::parse(bytes, args_at) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(response = ?name, %error, "withheld a server response that could not be parsed");
                self.stats.withheld += 1;
                return;
            }
        };
        let mut view = ResponseView { name, number, message };
        let mut ctx = Context::new(&self.session);
        ctx.record_notes = self.record_notes;
        let verdict = self.chain.on_response(&mut view, &mut ctx);
        let Context { emit, notes, hidden_names, .. } = ctx;
        self.absorb(notes, hidden_names);
        for line in emit {
            out.to_client.extend_from_slice(&line);
        }
        if verdict == Verdict::Drop {
            self.stats.withheld += 1;
            return;
        }
        match view.message.rewritten() {
            Some(rewritten) => {
                self.stats.rewritten += 1;
                out.to_client.extend_from_slice(&rewritten);
            }
            None => out.to_client.extend_from_slice(bytes),
        }
    }
}
