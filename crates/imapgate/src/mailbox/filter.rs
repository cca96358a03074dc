//! The `mailbox` filter: applies the rule engine to every command argument
//! and response field that holds a mailbox name.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use imapgate_proto::classify::{CommandName, ResponseName, Status};
use imapgate_proto::encode::{self, Grammar, LiteralSupport};
use imapgate_proto::scan::{StringForm, TokenKind};

use super::names::{Name, decode_name};
use super::pattern;
use super::rules::{RuleSet, Unmappable};
use crate::config::{Config, ConfigProblem};
use crate::filter::{
    CommandView, Context, DelimiterSource, Filter, FilterFactory, Message, Reply, ResponseView, SessionInfo, Verdict,
};

/// Builds the factory from `[mailbox]`; registered as `mailbox`.
pub fn factory(
    config: &Config,
    problems: &mut Vec<ConfigProblem>,
    warnings: &mut Vec<ConfigProblem>,
) -> Option<Arc<dyn FilterFactory>> {
    let section = config.mailbox.clone().unwrap_or_default();
    match RuleSet::compile(&section) {
        Ok(rules) => {
            warnings
                .extend(rules.warnings().iter().map(|warning| ConfigProblem::new(&warning.place, &warning.message)));
            let delimiter = match section.server_delimiter {
                Some(delimiter) => DelimiterSource::Configured(delimiter),
                None => DelimiterSource::Learn,
            };
            Some(Arc::new(MailboxFactory { rules: Arc::new(rules), delimiter }))
        }
        Err(errors) => {
            problems.extend(errors.into_iter().map(|error| ConfigProblem::new(error.place, error.message)));
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
}

/// What a LIST, LSUB or XLIST in flight needs for its responses.
struct ListState {
    response: ResponseName,
    /// The client's reference and pattern joined, when the server was asked
    /// for a superset that must be filtered.
    pattern: Option<String>,
    /// Client names already sent.
    seen: HashSet<String>,
    /// Parents of names that did not match the pattern but whose parent
    /// does; listed as `\Noselect` at completion unless seen.
    parents: BTreeSet<String>,
    /// The LIST asked for STATUS data (`RETURN (STATUS …)`), which follows
    /// the pattern like the LIST data.
    returns_status: bool,
}

impl MailboxFilter {
    pub fn new(rules: Arc<RuleSet>) -> Self {
        MailboxFilter { rules, lists: HashMap::new(), list_order: VecDeque::new() }
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
        )
    }

    fn wants_response(&self, name: ResponseName) -> bool {
        matches!(name, ResponseName::List | ResponseName::Lsub | ResponseName::Xlist | ResponseName::Status)
    }

    fn on_command(&mut self, command: &mut CommandView<'_>, ctx: &mut Context<'_>) -> Verdict {
        use CommandName::*;
        let result = match command.name {
            Select | Examine | Delete | Subscribe | Unsubscribe | Status | Append => {
                self.map_argument(&mut command.message, 0, Purpose::Existing, ctx.session)
            }
            Create => self.map_argument(&mut command.message, 0, Purpose::New, ctx.session),
            Rename => self
                .map_argument(&mut command.message, 0, Purpose::Existing, ctx.session)
                .and_then(|()| self.map_argument(&mut command.message, 1, Purpose::New, ctx.session)),
            Copy | Move => self.map_argument(&mut command.message, 1, Purpose::Existing, ctx.session),
            List | Lsub | Xlist => return self.on_list(command, ctx),
            _ => Ok(()),
        };
        match result {
            Ok(()) => Verdict::Forward,
            Err(reply) => Verdict::Reply(reply),
        }
    }

    fn on_response(&mut self, response: &mut ResponseView<'_>, ctx: &mut Context<'_>) -> Verdict {
        match response.name {
            ResponseName::List | ResponseName::Lsub | ResponseName::Xlist => self.on_list_response(response, ctx),
            ResponseName::Status => self.on_status_response(response, ctx),
            _ => Verdict::Forward,
        }
    }

    fn on_completion(&mut self, tag: &[u8], status: Status, ctx: &mut Context<'_>) {
        let Some(state) = self.lists.remove(tag) else {
            return;
        };
        self.list_order.retain(|pending| pending != tag);
        if status != Status::Ok {
            return;
        }
        let keyword = match state.response {
            ResponseName::Lsub => "LSUB",
            ResponseName::Xlist => "XLIST",
            _ => "LIST",
        };
        let delimiter = delimiter_field(self.rules.client_delimiter(ctx.session.server_delimiter));
        for parent in state.parents.iter().filter(|parent| !state.seen.contains(*parent)) {
            let name = encode_name(
                &Name::Unicode(parent.clone()),
                StringForm::Quoted,
                LiteralSupport::Response,
                ctx.session.utf8,
            );
            let mut line = format!("* {keyword} (\\Noselect \\HasChildren) {delimiter} ").into_bytes();
            line.extend_from_slice(&name);
            line.extend_from_slice(b"\r\n");
            ctx.emit.push(line);
        }
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
        session: &SessionInfo,
    ) -> Result<(), Reply> {
        let (raw, form) =
            string_token(message, index).ok_or_else(|| Reply::bad("Missing or invalid mailbox name argument"))?;
        let name = decode_name(&raw, session.utf8);
        let server = match self.rules.to_server(name.as_str(), session.server_delimiter) {
            Ok((server, _rule)) => server,
            Err(error) => return Err(refusal(&error, purpose)),
        };
        if !in_namespace(&server, session) {
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
        message.replace(index, wire);
        Ok(())
    }

    fn on_list(&mut self, command: &mut CommandView<'_>, ctx: &mut Context<'_>) -> Verdict {
        let session = ctx.session;
        let tokens = command.message.tokens();

        // Skip LIST-EXTENDED selection options: `LIST (SUBSCRIBED) "" "*"`.
        let mut at = 0;
        if tokens.first().is_some_and(|token| token.kind == TokenKind::ListOpen) {
            match closing_paren(&command.message, 0) {
                Some(close) => at = close + 1,
                None => return Verdict::Reply(Reply::bad("Unbalanced parentheses in LIST selection options")),
            }
        }
        let reference_index = at;
        let Some((reference, _)) = string_token(&command.message, reference_index) else {
            return Verdict::Reply(Reply::bad("Missing or invalid LIST reference name"));
        };
        let pattern_index = at + 1;
        // TODO: LIST with a parenthesized list of patterns (LIST-EXTENDED) is refused.
        let Some((pattern, pattern_form)) = string_token(&command.message, pattern_index) else {
            return Verdict::Reply(Reply::bad(
                "Missing or invalid LIST mailbox pattern; imapgate accepts one pattern per LIST",
            ));
        };

        let combined = format!(
            "{}{}",
            decode_name(&reference, session.utf8).as_str(),
            decode_name(&pattern, session.utf8).as_str()
        );
        let response = match command.name {
            CommandName::Lsub => ResponseName::Lsub,
            CommandName::Xlist => ResponseName::Xlist,
            _ => ResponseName::List,
        };
        let returns_status = (pattern_index + 1..command.message.tokens().len())
            .any(|index| command.message.string(index).is_some_and(|value| value.eq_ignore_ascii_case(b"STATUS")));
        let mut state =
            ListState { response, pattern: None, seen: HashSet::new(), parents: BTreeSet::new(), returns_status };

        if combined.is_empty() {
            // `LIST "" ""` asks for the delimiter; only the response changes.
        } else if !combined.contains(['*', '%']) {
            let server = match self.rules.to_server(&combined, session.server_delimiter) {
                Ok((server, _)) => server,
                Err(_) => return Verdict::Reply(Reply::ok("LIST completed")),
            };
            let wire = encode_name(&Name::Unicode(server), pattern_form, session.server_literals, session.utf8);
            clear_reference(&mut command.message, reference_index, &reference);
            command.message.replace(pattern_index, wire);
        } else {
            // TODO: translate patterns that lie inside one rule's literal prefix instead of asking for everything.
            clear_reference(&mut command.message, reference_index, &reference);
            command.message.replace(pattern_index, b"\"*\"".to_vec());
            state.pattern = Some(combined);
            ctx.hold_following = true;
        }

        let tag = command.tag.to_vec();
        self.list_order.push_back(tag.clone());
        self.lists.insert(tag, state);
        Verdict::Forward
    }

    fn on_list_response(&mut self, response: &mut ResponseView<'_>, ctx: &mut Context<'_>) -> Verdict {
        let session = ctx.session;
        let message = &mut response.message;
        let Some(close) = closing_paren(message, 0) else {
            tracing::warn!(response = ?response.name, "withheld a LIST response without an attribute list");
            return Verdict::Drop;
        };
        let delimiter_index = close + 1;
        let name_index = close + 2;
        if !matches!(message.kind(delimiter_index), Some(TokenKind::String(_) | TokenKind::Nil)) {
            // Replacing a parenthesis here would unbalance the response.
            tracing::warn!(response = ?response.name, "withheld a LIST response without a delimiter field");
            return Verdict::Drop;
        }
        let Some((raw, form)) = string_token(message, name_index) else {
            tracing::warn!(response = ?response.name, "withheld a LIST response without a mailbox name");
            return Verdict::Drop;
        };

        // The delimiter field shows the client's delimiter.
        let client_delimiter = self.rules.client_delimiter(session.server_delimiter);
        if message.kind(delimiter_index) != Some(&TokenKind::Nil) {
            let field = delimiter_field(client_delimiter).into_bytes();
            if message.string(delimiter_index).is_none_or(|value| delimiter_field_value(&value) != field) {
                message.replace(delimiter_index, field);
            }
        }
        if raw.is_empty() {
            return Verdict::Forward;
        }

        let name = decode_name(&raw, session.utf8);
        let Some((client, _rule)) = self.rules.to_client(name.as_str(), session.server_delimiter) else {
            tracing::debug!(mailbox = name.as_str(), "hid a mailbox from a LIST response");
            return Verdict::Drop;
        };

        let state = self
            .list_order
            .iter()
            .find(|tag| self.lists.get(*tag).is_some_and(|state| state.response == response.name))
            .cloned()
            .and_then(|tag| self.lists.get_mut(&tag));
        if let Some(state) = state {
            if let Some(pattern) = &state.pattern
                && !pattern::matches(pattern, &client, client_delimiter)
            {
                if let Some(parent) = pattern::implied_parent(pattern, &client, client_delimiter) {
                    state.parents.insert(parent);
                }
                return Verdict::Drop;
            }
            state.seen.insert(client.clone());
        }

        let value = name.with_text(client).to_wire(session.utf8);
        if value != raw {
            message.replace(
                name_index,
                encode::encode_string(&value, form, Grammar::Astring, LiteralSupport::Response, session.utf8),
            );
        }
        Verdict::Forward
    }

    fn on_status_response(&mut self, response: &mut ResponseView<'_>, ctx: &mut Context<'_>) -> Verdict {
        let session = ctx.session;
        let Some((raw, form)) = string_token(&response.message, 0) else {
            tracing::warn!("withheld a STATUS response without a mailbox name");
            return Verdict::Drop;
        };
        let name = decode_name(&raw, session.utf8);
        let Some((client, _rule)) = self.rules.to_client(name.as_str(), session.server_delimiter) else {
            tracing::debug!(mailbox = name.as_str(), "hid a mailbox from a STATUS response");
            return Verdict::Drop;
        };
        // A widened LIST-STATUS returns STATUS data for every mailbox, so only
        // names that the client's pattern matches are kept.
        let list_status =
            self.list_order.iter().filter_map(|tag| self.lists.get(tag)).find(|state| state.returns_status);
        if let Some(pattern) = list_status.and_then(|state| state.pattern.as_ref())
            && !pattern::matches(pattern, &client, self.rules.client_delimiter(session.server_delimiter))
        {
            return Verdict::Drop;
        }
        let value = name.with_text(client).to_wire(session.utf8);
        if value != raw {
            let wire = encode::encode_string(&value, form, Grammar::Astring, LiteralSupport::Response, session.utf8);
            response.message.replace(0, wire);
        }
        Verdict::Forward
    }
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

#[cfg(test)]
mod tests;
