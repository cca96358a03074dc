//! The client-to-server direction of the relay.

use bytes::{Buf, BytesMut};
use imapgate_proto::classify::{self, CommandName};
use imapgate_proto::framer::{Frame, LiteralHeader};

use super::{AwaitingPlus, Output, Pending, Relay, RelayError};
use crate::filter::{CommandView, Context, Message as Parsed, Reply, Verdict};

/// State of the client message being received.
pub(super) enum Message {
    /// At a boundary between messages.
    Between,
    /// Copied to the server as it arrives.
    Relayed,
    /// Gathered for the filters.
    Collected(Collected),
    /// Dropped until it ends; then `reply` goes to the client.
    Discarded { tag: Vec<u8>, reply: Option<Reply> },
}

pub(super) struct Collected {
    tag: Vec<u8>,
    name: CommandName,
    uid: bool,
    /// Offset of the first byte after the command keyword.
    args_at: usize,
    bytes: Vec<u8>,
    /// APPEND whose mailbox name is a literal that has not arrived yet.
    append_literal_name: bool,
}

/// What to tell the framer after the frame was consumed.
enum After {
    Nothing,
    Continue,
    Cancel,
}

impl Relay {
    /// Processes client bytes at the front of `input`, consuming what it
    /// could act on. Stops early while a command waits for the server.
    pub fn client_input(&mut self, input: &mut BytesMut, out: &mut Output) -> Result<(), RelayError> {
        loop {
            if self.client_waits() {
                return Ok(());
            }
            let frame = self.client_framer.next(input).map_err(|error| RelayError::Client(error.to_string()))?;
            let (len, after) = match frame {
                Frame::NeedMore | Frame::AwaitingContinuation => return Ok(()),
                Frame::LinePart { len, starts_message } => {
                    self.client_line_part(&input[..len], starts_message, out);
                    (len, After::Nothing)
                }
                Frame::LineEnd { len, starts_message, literal } => {
                    let after = if self.client_line.is_empty() {
                        self.client_line_end(&input[..len], starts_message, literal, out)
                    } else {
                        let mut line = std::mem::take(&mut self.client_line);
                        line.extend_from_slice(&input[..len]);
                        let after = self.client_line_end(&line, self.client_line_starts, literal, out);
                        line.clear();
                        self.client_line = line;
                        after
                    };
                    (len, after)
                }
                Frame::Literal { len, .. } => {
                    self.client_literal(&input[..len], out);
                    (len, After::Nothing)
                }
            };
            input.advance(len);
            self.client_framer.consume(len);
            match after {
                After::Nothing => {}
                After::Continue => self.client_framer.continue_literal(),
                After::Cancel => self.client_framer.cancel_literal(),
            }
        }
    }

    /// Whether client input must wait: imapgate's own literal awaits the
    /// server's `+`, or an earlier command holds the ones after it.
    fn client_waits(&self) -> bool {
        if matches!(self.awaiting_plus, Some(AwaitingPlus::Own { .. })) {
            return true;
        }
        self.hold.is_some() && matches!(self.client_message, Message::Between) && self.client_framer.at_message_start()
    }

    /// A piece of a long line. A line that continues a relayed command is
    /// streamed; any other line is kept until it ends, up to `max_line`.
    fn client_line_part(&mut self, part: &[u8], starts_message: bool, out: &mut Output) {
        match self.client_message {
            Message::Discarded { .. } => return,
            Message::Relayed if !starts_message && self.client_line.is_empty() => {
                out.to_server.extend_from_slice(part);
                return;
            }
            _ => {}
        }
        if self.client_line.is_empty() {
            self.client_line_starts = starts_message;
        }
        if self.client_line.len() + part.len() <= self.limits.max_line {
            self.client_line.extend_from_slice(part);
            return;
        }
        let start = if self.client_line.is_empty() { part.to_vec() } else { std::mem::take(&mut self.client_line) };
        self.reject_long_line(&start);
    }

    /// Discards the message of a line over `max_line`; `start` is the
    /// beginning of that line. The client gets `BAD` once the line ends.
    fn reject_long_line(&mut self, start: &[u8]) {
        tracing::warn!(
            limit = "max_line",
            value = self.limits.max_line,
            "rejected a command line over the length limit"
        );
        self.stats.max_line_hits += 1;
        let reply = Reply::bad(format!("Command line too long (limit {} bytes)", self.limits.max_line));
        let tag = match std::mem::replace(&mut self.client_message, Message::Between) {
            Message::Collected(collected) => collected.tag,
            _ => classify::classify_command(start).map_or_else(|_| b"*".to_vec(), |head| head.tag.to_vec()),
        };
        self.client_line.clear();
        self.client_message = Message::Discarded { tag, reply: Some(reply) };
    }

    fn client_line_end(
        &mut self,
        line: &[u8],
        starts_message: bool,
        literal: Option<LiteralHeader>,
        out: &mut Output,
    ) -> After {
        // A line that arrived whole was not checked against `max_line` as
        // its pieces are in `client_line_part`.
        let limited = starts_message || matches!(self.client_message, Message::Collected(_));
        if limited && line.len() > self.limits.max_line {
            self.reject_long_line(line);
        } else if starts_message {
            self.start_client_message(line, out);
        }
        let sync = literal.is_some_and(|header| header.synchronizing);
        match &mut self.client_message {
            Message::Between => unreachable!("a message was started above"),
            Message::Relayed => {
                out.to_server.extend_from_slice(line);
                if literal.is_none() {
                    self.client_message = Message::Between;
                } else if sync {
                    let tag = self.pending.last().map(|pending| pending.tag.clone()).unwrap_or_default();
                    self.awaiting_plus = Some(AwaitingPlus::Client { tag });
                }
                After::Nothing
            }
            Message::Discarded { tag, reply } => {
                if literal.is_some() && !sync {
                    return After::Nothing;
                }
                // The message ends here, or the client waits for a `+` that
                // will not come: the reply ends the command either way.
                let tag = std::mem::take(tag);
                let reply = reply.take();
                self.client_message = Message::Between;
                if let Some(reply) = reply {
                    self.reply(&tag, &reply, out);
                }
                if sync { After::Cancel } else { After::Nothing }
            }
            Message::Collected(collected) => {
                collected.bytes.extend_from_slice(line);
                let literal_size = literal.map_or(0, |header| header.size);
                let is_append = collected.name == CommandName::Append;
                if is_append && literal.is_some() {
                    if !collected.append_literal_name {
                        return self.finish_append_prefix(sync, out);
                    }
                    // This literal is the mailbox name: collect it.
                    collected.append_literal_name = false;
                }
                let size = (collected.bytes.len() as u64).saturating_add(literal_size);
                if size > self.limits.max_collected as u64 {
                    return self.collected_too_large(sync, out);
                }
                match literal {
                    None => {
                        self.finish_collected(out);
                        After::Nothing
                    }
                    Some(_) if sync => {
                        self.untagged(b"+ Ready for literal data\r\n", out);
                        After::Continue
                    }
                    Some(_) => After::Nothing,
                }
            }
        }
    }

    fn client_literal(&mut self, data: &[u8], out: &mut Output) {
        match &mut self.client_message {
            Message::Relayed => out.to_server.extend_from_slice(data),
            // The announced size was checked against `max_collected`.
            Message::Collected(collected) => collected.bytes.extend_from_slice(data),
            Message::Discarded { .. } | Message::Between => {}
        }
    }

    /// Decides how the message that starts with `line` is handled.
    fn start_client_message(&mut self, line: &[u8], out: &mut Output) {
        if self.in_continuation_command() {
            // `DONE` after IDLE, or a SASL response line: not a command.
            // IDLE takes only this one line.
            if let Some(idle) =
                self.pending.iter_mut().find(|pending| pending.name == CommandName::Idle && !pending.done)
            {
                idle.done = true;
            }
            self.client_message = Message::Relayed;
            return;
        }
        let head = match classify::classify_command(line) {
            Ok(head) => head,
            Err(error) => {
                tracing::warn!(%error, "rejected a client line that is not a command");
                let reply = format!("* BAD Invalid command line: {error}\r\n");
                self.untagged(reply.as_bytes(), out);
                self.client_message = Message::Discarded { tag: Vec::new(), reply: None };
                return;
            }
        };
        self.stats.commands += 1;
        let tag = head.tag.to_vec();

        if let Some(reply) = refused_after_login(head.name) {
            tracing::warn!(command = ?head.name, "rejected a command imapgate cannot relay");
            self.client_message = Message::Discarded { tag, reply: Some(reply) };
            return;
        }
        if self.pending.len() >= self.limits.max_pipelined {
            tracing::warn!(
                limit = "max_pipelined",
                value = self.limits.max_pipelined,
                "rejected a pipelined command over the limit"
            );
            self.stats.max_pipelined_hits += 1;
            let reply =
                Reply::no("LIMIT", format!("Too many commands in flight (limit {})", self.limits.max_pipelined));
            self.client_message = Message::Discarded { tag, reply: Some(reply) };
            return;
        }

        if self.chain.wants_command(head.name) {
            let append_literal_name = head.name == CommandName::Append && starts_with_literal(&line[head.args_at..]);
            self.client_message = Message::Collected(Collected {
                tag,
                name: head.name,
                uid: head.uid,
                args_at: head.args_at,
                bytes: Vec::new(),
                append_literal_name,
            });
        } else {
            self.pending.push(Pending { tag, name: head.name, done: false });
            self.client_message = Message::Relayed;
        }
    }

    /// The collected command passed `max_collected`: it is refused.
    fn collected_too_large(&mut self, sync: bool, out: &mut Output) -> After {
        let Message::Collected(collected) = std::mem::replace(&mut self.client_message, Message::Between) else {
            return After::Nothing;
        };
        tracing::warn!(limit = "max_collected", value = self.limits.max_collected, command = ?collected.name, "rejected a command over the size limit for inspection");
        self.stats.max_collected_hits += 1;
        let reply = Reply::bad(format!(
            "Command too large for imapgate to inspect (limit {} bytes)",
            self.limits.max_collected
        ));
        self.client_message = Message::Discarded { tag: collected.tag, reply: Some(reply) };
        if sync {
            // The client waits for `+`: answer now and cancel its literal.
            let Message::Discarded { tag, reply } = std::mem::replace(&mut self.client_message, Message::Between)
            else {
                unreachable!()
            };
            self.reply(&tag, reply.as_ref().expect("set above"), out);
            return After::Cancel;
        }
        let _ = out;
        After::Nothing
    }

    /// A whole collected command: run the chain, then forward or answer.
    fn finish_collected(&mut self, out: &mut Output) {
        let Message::Collected(collected) = std::mem::replace(&mut self.client_message, Message::Between) else {
            return;
        };
        match self.run_command_chain(&collected, &collected.bytes) {
            Ok(Some(wire)) => self.send_command(collected.tag, collected.name, wire, false, out),
            Ok(None) => self.send_command(collected.tag, collected.name, collected.bytes, false, out),
            Err(reply) => self.reply(&collected.tag, &reply, out),
        }
    }

    /// APPEND: the mailbox name is complete and the line that ended
    /// announces the message literal, which is streamed, never collected.
    fn finish_append_prefix(&mut self, sync: bool, out: &mut Output) -> After {
        let Message::Collected(collected) = std::mem::replace(&mut self.client_message, Message::Between) else {
            return After::Nothing;
        };
        // Parse the prefix up to the literal header, which the scanner
        // cannot see without its data.
        let header_at = literal_header_start(&collected.bytes);
        let mut view = collected.bytes[..header_at].to_vec();
        view.extend_from_slice(b"\r\n");

        match self.run_command_chain(&collected, &view) {
            Ok(rewritten) => {
                let mut wire = match rewritten {
                    Some(mut rewritten) => {
                        rewritten.truncate(rewritten.len() - 2);
                        rewritten
                    }
                    None => collected.bytes[..header_at].to_vec(),
                };
                wire.extend_from_slice(&collected.bytes[header_at..]);
                self.client_message = Message::Relayed;
                self.send_command(collected.tag, collected.name, wire, sync, out);
                After::Nothing
            }
            Err(reply) => {
                self.client_message = Message::Discarded { tag: collected.tag.clone(), reply: Some(reply.clone()) };
                if sync {
                    self.client_message = Message::Between;
                    self.reply(&collected.tag, &reply, out);
                    After::Cancel
                } else {
                    After::Nothing
                }
            }
        }
    }

    /// Parses `bytes` and runs the chain: `Ok(Some)` with the rewritten
    /// bytes, `Ok(None)` when unchanged, `Err` with the reply to send.
    fn run_command_chain(&mut self, collected: &Collected, bytes: &[u8]) -> Result<Option<Vec<u8>>, Reply> {
        let message = match Parsed::parse(bytes, collected.args_at) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(command = ?collected.name, %error, "rejected a command that could not be parsed");
                return Err(Reply::bad(format!("Invalid arguments: {error}")));
            }
        };
        let mut view = CommandView { tag: &collected.tag, name: collected.name, uid: collected.uid, message };
        let mut ctx = Context::new(&self.session);
        ctx.record_notes = self.record_notes;
        let verdict = self.chain.on_command(&mut view, &mut ctx);
        let Context { emit, hold_following: hold, notes, hidden_names, .. } = ctx;
        self.absorb(notes, hidden_names);
        for line in emit {
            self.client_queue.extend_from_slice(&line);
        }
        match verdict {
            Verdict::Forward => {
                if hold {
                    self.hold = Some(collected.tag.clone());
                }
                let rewritten = view.message.rewritten();
                if rewritten.is_some() {
                    self.stats.rewritten += 1;
                }
                Ok(rewritten)
            }
            Verdict::Reply(reply) => Err(reply),
            Verdict::Drop => Err(Reply::no("CANNOT", "Command refused by policy")),
        }
    }

    /// Sends a collected command to the server. A synchronizing literal
    /// that imapgate wrote splits it: each part waits for the server's `+`.
    /// `client_literal` is set when `wire` ends with the client's own
    /// synchronizing literal announcement (APPEND's message).
    fn send_command(&mut self, tag: Vec<u8>, name: CommandName, wire: Vec<u8>, client_literal: bool, out: &mut Output) {
        self.pending.push(Pending { tag: tag.clone(), name, done: false });
        let mut parts = super::split_at_sync_literals(&wire);
        let first = parts.pop_front().unwrap_or_default();
        out.to_server.extend_from_slice(&first);
        if !parts.is_empty() {
            self.awaiting_plus = Some(AwaitingPlus::Own { tag, parts, client_literal });
        } else if client_literal {
            self.awaiting_plus = Some(AwaitingPlus::Client { tag });
        }
    }
}

/// Commands that cannot be relayed once the session is authenticated.
fn refused_after_login(name: CommandName) -> Option<Reply> {
    match name {
        CommandName::Compress => Some(Reply::no("CANNOT", "COMPRESS is not available through imapgate")),
        CommandName::StartTls => Some(Reply::bad("STARTTLS is only available before login")),
        _ => None,
    }
}

/// Whether the arguments (after the command keyword) start with a literal.
fn starts_with_literal(args: &[u8]) -> bool {
    let args = args.strip_prefix(b" ").unwrap_or(args);
    args.starts_with(b"{") || args.starts_with(b"~{")
}

/// Offset of the literal header (`{`, or `~` of `~{`) that ends `bytes`.
fn literal_header_start(bytes: &[u8]) -> usize {
    let line_end = bytes.len() - if bytes.ends_with(b"\r\n") { 2 } else { 1 };
    let open = memchr::memrchr(b'{', &bytes[..line_end]).unwrap_or(line_end);
    if open > 0 && bytes[open - 1] == b'~' { open - 1 } else { open }
}
