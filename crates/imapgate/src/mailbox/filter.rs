//! The `mailbox` filter: applies the rule engine to every command argument
//! and response field that holds a mailbox name.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use imapgate_proto::classify::{CommandName, ResponseName, Status};
use imapgate_proto::encode::{self, Grammar, LiteralSupport};
use imapgate_proto::scan::{StringForm, TokenKind};

use super::names::{Name, decode_name};
use super::pattern;
use super::rules::{RuleIndex, RuleSet, Unmappable};
use crate::config::ConfigProblem;
use crate::filter::registry::FilterSettings;
use crate::filter::{
    CommandView, Context, DelimiterSource, Filter, FilterFactory, Message, Reply, ResponseView, SessionInfo, Verdict,
};

/// Builds the factory from `[mailbox]`; registered as `mailbox`.
pub fn factory(
    settings: &FilterSettings<'_>,
    problems: &mut Vec<ConfigProblem>,
    warnings: &mut Vec<ConfigProblem>,
) -> Option<Arc<dyn FilterFactory>> {
    let section = settings.mailbox.cloned().unwrap_or_default();
    match RuleSet::compile(&section) {
        Ok(rules) => {
            warnings.extend(rules.warnings().iter().map(|warning| settings.problem(&warning.place, &warning.message)));
            let delimiter = match section.server_delimiter {
                Some(delimiter) => DelimiterSource::Configured(delimiter),
                None => DelimiterSource::Learn,
            };
            Some(Arc::new(MailboxFactory { rules: Arc::new(rules), delimiter }))
        }
        Err(errors) => {
            problems.extend(errors.into_iter().map(|error| settings.problem(&error.place, error.message)));
            None
        }
    }
}

struct MailboxFactory {
    rules: Arc<RuleSet>,
    delimiter: DelimiterSource,
}

impl FilterFactory for MailboxFactory {
    fn name(&self) -> &'static str {
        "mailbox"
    }

    fn server_delimiter(&self) -> DelimiterSource {
        self.delimiter
    }

    fn build(&self) -> Box<dyn Filter> {
        Box::new(MailboxFilter::new(self.rules.clone()))
    }
}

/// Per-session state of the `mailbox` filter.
pub struct MailboxFilter {
    rules: Arc<RuleSet>,
    /// LIST-like commands in flight, by tag.
    lists: HashMap<Vec<u8>, ListState>,
    /// Their tags in the order they were sent; untagged LIST data belongs
    /// to the oldest one of its kind.
    list_order: VecDeque<Vec<u8>>,
    /// Server names hidden from the client so far, each logged once.
    hidden: HashSet<String>,
}

impl MailboxFilter {
    pub fn new(rules: Arc<RuleSet>) -> Self {
        MailboxFilter { rules, lists: HashMap::new(), list_order: VecDeque::new(), hidden: HashSet::new() }
    }
}

impl Filter for MailboxFilter {
    fn wants_command(&self, name: CommandName) -> bool {
        use CommandName::*;
        matches!(
            name,
            Select
                | Examine
                | Create
                | Delete
                | Rename
                | Subscribe
                | Unsubscribe
                | List
                | Lsub
                | Xlist
                | Status
                | Append
                | Copy
                | Move
                | GetQuotaRoot
                | GetAcl
                | SetAcl
                | DeleteAcl
                | ListRights
                | MyRights
                | GetMetadata
                | SetMetadata
                | Esearch
                | Notify
        )
    }

    fn wants_response(&self, name: ResponseName) -> bool {
        use ResponseName::*;
        matches!(
            name,
            List | Lsub | Xlist | Status | QuotaRoot | Acl | ListRights | MyRights | Metadata | Esearch | Namespace
        )
    }

    fn on_command(&mut self, command: &mut CommandView<'_>, ctx: &mut Context<'_>) -> Verdict {
        use CommandName::*;
        let message = &mut command.message;
        let result = match command.name {
            Select | Examine | Delete | Subscribe | Unsubscribe | Status | Append | GetQuotaRoot | GetAcl | SetAcl
            | DeleteAcl | ListRights | MyRights => self.map_argument(message, 0, Purpose::Existing, ctx),
            Create => self.map_argument(message, 0, Purpose::New, ctx),
            Rename => self
                .map_argument(message, 0, Purpose::Existing, ctx)
                .and_then(|()| self.map_argument(message, 1, Purpose::New, ctx)),
            Copy | Move => self.map_argument(message, 1, Purpose::Existing, ctx),
            GetMetadata | SetMetadata => self.map_metadata_command(message, ctx),
            Esearch => self.map_esearch_command(message, ctx),
            Notify => self.map_notify_command(message, ctx),
            List | Lsub | Xlist => return self.on_list(command, ctx),
            _ => Ok(()),
        };
        match result {
            Ok(()) => Verdict::Forward,
            Err(reply) => Verdict::Reply(reply),
        }
    }

    fn on_response(&mut self, response: &mut ResponseView<'_>, ctx: &mut Context<'_>) -> Verdict {
        use ResponseName::*;
        match response.name {
            List | Lsub | Xlist => self.on_list_response(response, ctx),
            Status => self.on_status_response(response, ctx),
            QuotaRoot | Acl | ListRights | MyRights => self.map_response_name(response, 0, ctx),
            Metadata => self.on_metadata_response(response, ctx),
            Esearch => self.on_esearch_response(response, ctx),
            Namespace => self.on_namespace_response(response, ctx),
            _ => Verdict::Forward,
        }
    }

    fn on_completion(&mut self, tag: &[u8], status: Status, ctx: &mut Context<'_>) {
        self.on_list_completion(tag, status, ctx);
    }
}

/// Why a command names a mailbox; decides the reply for names that cannot be used.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// The mailbox must exist (SELECT, STATUS, COPY target, RENAME source...).
    Existing,
    /// The mailbox is to be created (CREATE, RENAME target).
    New,
}

impl MailboxFilter {
    /// Maps the mailbox argument at token `index` to the server's name.
    fn map_argument(
        &self,
        message: &mut Message<'_>,
        index: usize,
        purpose: Purpose,
        ctx: &mut Context<'_>,
    ) -> Result<(), Reply> {
        let session = ctx.session;
        let (raw, form) =
            string_token(message, index).ok_or_else(|| Reply::bad("Missing or invalid mailbox name argument"))?;
        let name = decode_name(&raw, session.utf8);
        let (server, rule) = match self.rules.to_server(name.as_str(), session.server_delimiter) {
            Ok(found) => found,
            Err(error) => {
                ctx.note(|| format!("{} refused: {error}", show(&raw)));
                return Err(refusal(&error, purpose));
            }
        };
        if !in_namespace(&server, session) {
            ctx.note(|| format!("{} refused: {server:?} is outside the server's namespaces", show(&raw)));
            return Err(match purpose {
                Purpose::Existing => Reply::no("NONEXISTENT", "Mailbox does not exist"),
                Purpose::New => Reply::no("CANNOT", "Mailbox name is outside the server's namespaces"),
            });
        }
        let value = name.with_text(server).to_wire(session.utf8);
        if value == raw {
            return Ok(());
        }
        let wire = encode::encode_string(&value, form, Grammar::Astring, session.server_literals, session.utf8);
        ctx.note(|| format!("{} -> {} ({})", show(&raw), show(&value), RuleSet::rule_label(rule)));
        message.replace(index, wire);
        Ok(())
    }

    /// Maps the server name at token `index` of a response to the client's
    /// name. Returns the client name and the rule when it is shown, `None`
    /// when it is hidden (then it is logged once and counted).
    fn map_server_name(
        &mut self,
        message: &mut Message<'_>,
        index: usize,
        ctx: &mut Context<'_>,
    ) -> Option<(String, RuleIndex)> {
        let session = ctx.session;
        let (raw, form) = string_token(message, index)?;
        let name = decode_name(&raw, session.utf8);
        let Some((client, rule)) = self.rules.to_client(name.as_str(), session.server_delimiter) else {
            self.note_hidden(name.as_str(), ctx);
            return None;
        };
        let value = name.with_text(client.clone()).to_wire(session.utf8);
        if value != raw {
            ctx.note(|| format!("{} -> {} ({})", show(&raw), show(&value), RuleSet::rule_label(rule)));
            message.replace(
                index,
                encode::encode_string(&value, form, Grammar::Astring, LiteralSupport::Response, session.utf8),
            );
        }
        Some((client, rule))
    }

    /// Logs a hidden server name the first time this session hides it.
    fn note_hidden(&mut self, server: &str, ctx: &mut Context<'_>) {
        let reason = || self.rules.hidden_reason(server, ctx.session.server_delimiter);
        ctx.note(|| format!("{server:?} hidden: {}", reason()));
        if self.hidden.insert(server.to_owned()) {
            tracing::info!(
                mailbox = server,
                reason = reason(),
                "hid a mailbox from the client (logged once per session)"
            );
            ctx.hidden_names += 1;
        }
    }

    /// A response whose mailbox name is token `index` (QUOTAROOT, ACL,
    /// LISTRIGHTS, MYRIGHTS): mapped, or withheld when hidden.
    fn map_response_name(&mut self, response: &mut ResponseView<'_>, index: usize, ctx: &mut Context<'_>) -> Verdict {
        if string_token(&response.message, index).is_none() {
            tracing::warn!(response = ?response.name, "withheld a response without a mailbox name");
            return Verdict::Drop;
        }
        match self.map_server_name(&mut response.message, index, ctx) {
            Some(_) => Verdict::Forward,
            None => Verdict::Drop,
        }
    }

    fn on_status_response(&mut self, response: &mut ResponseView<'_>, ctx: &mut Context<'_>) -> Verdict {
        let session = ctx.session;
        if string_token(&response.message, 0).is_none() {
            tracing::warn!("withheld a STATUS response without a mailbox name");
            return Verdict::Drop;
        }
        let Some((client, _)) = self.map_server_name(&mut response.message, 0, ctx) else {
            return Verdict::Drop;
        };
        // A widened LIST-STATUS returns STATUS data for every mailbox, so only
        // names that the client's pattern matches are kept.
        let list_status =
            self.list_order.iter().filter_map(|tag| self.lists.get(tag)).find(|state| state.returns_status);
        if let Some(patterns) = list_status.and_then(|state| state.patterns.as_ref()) {
            let delimiter = self.rules.client_delimiter(session.server_delimiter);
            if !patterns.iter().any(|pattern| pattern::matches(pattern, &client, delimiter)) {
                return Verdict::Drop;
            }
        }
        Verdict::Forward
    }
}

/// Shows wire bytes of a name in notes.
fn show(raw: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(raw))
}

/// Returns the value and original form of string token `index`. An unquoted
/// `NIL` counts as an atom, because in an astring it names a mailbox.
fn string_token(message: &Message<'_>, index: usize) -> Option<(Vec<u8>, StringForm)> {
    match message.kind(index)? {
        TokenKind::String(form) => Some((message.string(index)?.into_owned(), *form)),
        TokenKind::Nil => {
            let span = message.tokens()[index].span.clone();
            Some((message.bytes()[span].to_vec(), StringForm::Atom))
        }
        _ => None,
    }
}

/// Replaces a non-empty LIST reference with `""`, since the rewritten
/// pattern carries the whole server name.
fn clear_reference(message: &mut Message<'_>, index: usize, reference: &[u8]) {
    if !reference.is_empty() {
        message.replace(index, b"\"\"".to_vec());
    }
}

/// Index of the `)` that closes the `(` at token `open`; `None` when token
/// `open` is not a `(`.
fn closing_paren(message: &Message<'_>, open: usize) -> Option<usize> {
    if message.kind(open) != Some(&TokenKind::ListOpen) {
        return None;
    }
    let mut depth = 0usize;
    for (index, token) in message.tokens().iter().enumerate().skip(open) {
        match token.kind {
            TokenKind::ListOpen => depth += 1,
            TokenKind::ListClose => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(index);
                }
            }
            TokenKind::End => return None,
            _ => {}
        }
    }
    None
}

/// Encodes a mailbox name for the wire in the given form where possible.
fn encode_name(name: &Name, form: StringForm, literals: LiteralSupport, utf8: bool) -> Vec<u8> {
    encode::encode_string(&name.to_wire(utf8), form, Grammar::Astring, literals, utf8)
}

/// The delimiter field of a LIST response: a quoted character or NIL.
fn delimiter_field(delimiter: Option<char>) -> String {
    match delimiter {
        Some('"') => "\"\\\"\"".to_string(),
        Some('\\') => "\"\\\\\"".to_string(),
        Some(delimiter) => format!("\"{delimiter}\""),
        None => "NIL".to_string(),
    }
}

/// The wire form that `delimiter_field` would write for a decoded value.
fn delimiter_field_value(value: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(value);
    delimiter_field(text.chars().next()).into_bytes()
}

/// Whether a server name lies in one of the server's namespaces; always
/// true when they are unknown.
fn in_namespace(server: &str, session: &SessionInfo) -> bool {
    if session.server_namespaces.is_empty() || server.eq_ignore_ascii_case("INBOX") {
        return true;
    }
    session.server_namespaces.iter().any(|prefix| {
        let bare = session.server_delimiter.and_then(|delimiter| prefix.strip_suffix(delimiter)).unwrap_or(prefix);
        server.starts_with(prefix.as_str()) || server == bare
    })
}

/// The tagged reply for a client name that has no usable server name.
fn refusal(error: &Unmappable, purpose: Purpose) -> Reply {
    match (error, purpose) {
        (Unmappable::Hidden { .. }, Purpose::Existing) => Reply::no("NONEXISTENT", "Mailbox does not exist"),
        (Unmappable::Hidden { .. }, Purpose::New) => Reply::no("CANNOT", "Mailbox name is reserved"),
        (Unmappable::ContainsServerDelimiter { .. }, Purpose::Existing) => {
            Reply::no("NONEXISTENT", "Mailbox does not exist")
        }
        (Unmappable::ContainsServerDelimiter { delimiter, .. }, Purpose::New) => Reply::no(
            "CANNOT",
            format!("Mailbox name contains {delimiter:?}, which the server uses as its hierarchy delimiter"),
        ),
    }
}

mod extensions;
mod list;

use list::ListState;

#[cfg(test)]
mod tests;
