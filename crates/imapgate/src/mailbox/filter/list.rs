//! LIST, LSUB and XLIST: patterns in the commands, names, delimiters,
//! attributes and extended data in the responses.

use std::collections::{BTreeSet, HashSet};

use imapgate_proto::classify::{CommandName, ResponseName, Status};
use imapgate_proto::encode::{self, Grammar, LiteralSupport};
use imapgate_proto::scan::{StringForm, TokenKind};

use super::{
    MailboxFilter, Name, RuleSet, clear_reference, closing_paren, decode_name, delimiter_field, delimiter_field_value,
    encode_name, pattern, show, string_token,
};
use crate::filter::{CommandView, Context, Message, Reply, ResponseView, SessionInfo, Verdict};

/// State of a LIST, LSUB or XLIST in flight, kept for its responses.
pub(super) struct ListState {
    response: ResponseName,
    /// The client's reference joined with each of its patterns, when the
    /// server's response must be filtered with them.
    pub(super) patterns: Option<Vec<String>>,
    /// Client names already sent.
    seen: HashSet<String>,
    /// Parents of names that did not match the pattern but whose parent
    /// does; listed as `\Noselect` at completion unless seen.
    parents: BTreeSet<String>,
    /// The LIST asked for STATUS data (`RETURN (STATUS …)`), which follows
    /// the pattern like the LIST data.
    pub(super) returns_status: bool,
    /// The client requested `LIST (SPECIAL-USE)`. imapgate keeps the entries
    /// with a special-use attribute itself, so that the ones the rules add
    /// count.
    special_use_only: bool,
    /// Selection options restrict the response (SUBSCRIBED), so parents
    /// are not made up for `%` patterns; without RECURSIVEMATCH the
    /// server would not list them either (RFC 5258).
    selective: bool,
}

/// The special-use attributes of RFC 6154, as they appear in LIST data.
const SPECIAL_USE: &[&[u8]] = &[b"\\All", b"\\Archive", b"\\Drafts", b"\\Flagged", b"\\Junk", b"\\Sent", b"\\Trash"];

/// Token positions of a LIST command.
struct ListCommand {
    /// The selection options' `(` and `)`.
    selection: Option<(usize, usize)>,
    reference_index: usize,
    reference: Vec<u8>,
    /// First and last token of the pattern or parenthesized pattern list.
    pattern_tokens: (usize, usize),
    /// Each pattern's token, value and form.
    patterns: Vec<(usize, Vec<u8>, StringForm)>,
}

impl MailboxFilter {
    pub(super) fn on_list(&mut self, command: &mut CommandView<'_>, ctx: &mut Context<'_>) -> Verdict {
        let session = ctx.session;
        let parsed = match parse_list_command(&command.message) {
            Ok(parsed) => parsed,
            Err(reply) => return Verdict::Reply(reply),
        };
        let message = &mut command.message;

        let reference = decode_name(&parsed.reference, session.utf8);
        let combined: Vec<String> = parsed
            .patterns
            .iter()
            .map(|(_, pattern, _)| format!("{}{}", reference.as_str(), decode_name(pattern, session.utf8).as_str()))
            .collect();
        let response = match command.name {
            CommandName::Lsub => ResponseName::Lsub,
            CommandName::Xlist => ResponseName::Xlist,
            _ => ResponseName::List,
        };
        let after = parsed.pattern_tokens.1 + 1;
        let returns_status = (after..message.tokens().len()).any(|index| atom_is(message, index, b"STATUS"));
        let selection = parsed.selection.map_or(Vec::new(), |(open, close)| (open + 1..close).collect());
        let selective = selection.iter().any(|&index| atom_is(message, index, b"SUBSCRIBED"));
        let mut state = ListState {
            response,
            patterns: None,
            seen: HashSet::new(),
            parents: BTreeSet::new(),
            returns_status,
            special_use_only: false,
            selective,
        };
        if self.rules.has_special_use()
            && let Some(index) = selection.iter().copied().find(|&index| atom_is(message, index, b"SPECIAL-USE"))
        {
            // The server may not know SPECIAL-USE, or not the attributes the
            // rules add, so imapgate selects the entries itself.
            message.remove_tokens(index, index);
            state.special_use_only = true;
            ctx.hold_following = true;
        }

        let (first, last) = parsed.pattern_tokens;
        let has_wildcard = combined.iter().any(|pattern| pattern.contains(['*', '%']));
        if combined.len() == 1 && combined[0].is_empty() {
            // `LIST "" ""` asks for the delimiter; only the response changes.
        } else if !has_wildcard {
            let mut names = Vec::new();
            // The command keeps its bytes when no name changes.
            let mut unchanged = parsed.reference.is_empty();
            for ((_, raw, form), client) in parsed.patterns.iter().zip(&combined) {
                match self.rules.to_server(client, session.server_delimiter) {
                    Ok((server, rule)) => {
                        ctx.note(|| format!("{client:?} -> {server:?} ({})", RuleSet::rule_label(rule)));
                        let server = Name::Unicode(server);
                        unchanged &= server.to_wire(session.utf8) == *raw;
                        names.push(encode_name(&server, *form, session.server_literals, session.utf8));
                    }
                    Err(error) => {
                        unchanged = false;
                        ctx.note(|| format!("{} dropped from the LIST: {error}", show(raw)));
                    }
                }
            }
            if names.is_empty() {
                return Verdict::Reply(Reply::ok("LIST completed"));
            }
            if unchanged {
                let tag = command.tag.to_vec();
                self.list_order.push_back(tag.clone());
                self.lists.insert(tag, state);
                return Verdict::Forward;
            }
            clear_reference(message, parsed.reference_index, &parsed.reference);
            let wire = if first == last {
                names.remove(0)
            } else {
                [b"(".to_vec(), names.join(&b' '), b")".to_vec()].concat()
            };
            message.replace_tokens(first, last, wire);
        } else {
            let translated = match combined.as_slice() {
                [single] => self.rules.server_pattern(single, session.server_delimiter),
                _ => None,
            };
            let wire = match &translated {
                Some(server) => {
                    ctx.note(|| format!("pattern {:?} -> {server:?} (translated inside one rule)", combined[0]));
                    encode_pattern(server, session)
                }
                None => {
                    ctx.note(|| format!("patterns {combined:?} -> \"*\" (superset, filtered by imapgate)"));
                    b"\"*\"".to_vec()
                }
            };
            clear_reference(message, parsed.reference_index, &parsed.reference);
            message.replace_tokens(first, last, wire);
            state.patterns = Some(combined);
            ctx.hold_following = true;
        }

        let tag = command.tag.to_vec();
        self.list_order.push_back(tag.clone());
        self.lists.insert(tag, state);
        Verdict::Forward
    }

    pub(super) fn on_list_response(&mut self, response: &mut ResponseView<'_>, ctx: &mut Context<'_>) -> Verdict {
        let session = ctx.session;
        let starts_with_attributes = response.message.kind(0) == Some(&TokenKind::ListOpen);
        let Some(close) = closing_paren(&response.message, 0).filter(|_| starts_with_attributes) else {
            tracing::warn!(response = ?response.name, "withheld a LIST response without an attribute list");
            return Verdict::Drop;
        };
        let delimiter_index = close + 1;
        let name_index = close + 2;
        if !matches!(response.message.kind(delimiter_index), Some(TokenKind::Nil | TokenKind::String(_))) {
            tracing::warn!(response = ?response.name, "withheld a LIST response whose delimiter is not a string or NIL");
            return Verdict::Drop;
        }
        let Some((raw, _)) = string_token(&response.message, name_index) else {
            tracing::warn!(response = ?response.name, "withheld a LIST response without a mailbox name");
            return Verdict::Drop;
        };

        // The delimiter field shows the client's delimiter.
        let client_delimiter = self.rules.client_delimiter(session.server_delimiter);
        let message = &mut response.message;
        if message.kind(delimiter_index) != Some(&TokenKind::Nil) {
            let field = delimiter_field(client_delimiter).into_bytes();
            if message.string(delimiter_index).is_none_or(|value| delimiter_field_value(&value) != field) {
                message.replace(delimiter_index, field);
            }
        }
        if raw.is_empty() {
            return Verdict::Forward;
        }

        let Some((client, rule)) = self.map_server_name(&mut response.message, name_index, ctx) else {
            return Verdict::Drop;
        };

        // Special-use attributes from the rule, for LIST and XLIST.
        let mut added = false;
        if response.name != ResponseName::Lsub
            && let Some(attribute) = self.rules.special_use(rule)
        {
            added = add_attribute(&mut response.message, close, attribute, ctx);
        }
        if !self.map_extended_data(&mut response.message, name_index + 1, ctx) {
            return Verdict::Drop;
        }

        let state = self
            .list_order
            .iter()
            .find(|tag| self.lists.get(*tag).is_some_and(|state| state.response == response.name))
            .cloned()
            .and_then(|tag| self.lists.get_mut(&tag));
        if let Some(state) = state {
            if state.special_use_only && !added && !has_special_use(&response.message, close) {
                return Verdict::Drop;
            }
            if let Some(patterns) = &state.patterns
                && !patterns.iter().any(|pattern| pattern::matches(pattern, &client, client_delimiter))
            {
                if !state.selective
                    && let Some(parent) =
                        patterns.iter().find_map(|pattern| pattern::implied_parent(pattern, &client, client_delimiter))
                {
                    state.parents.insert(parent);
                }
                return Verdict::Drop;
            }
            state.seen.insert(client);
        }
        Verdict::Forward
    }

    /// Maps the names in LIST extended data (`("OLDNAME" ("old"))`) that
    /// starts at token `index`. An old name the client cannot see is
    /// removed. Returns false when the data is malformed.
    fn map_extended_data(&mut self, message: &mut Message<'_>, index: usize, ctx: &mut Context<'_>) -> bool {
        if message.kind(index) != Some(&TokenKind::ListOpen) {
            return true;
        }
        let Some(close) = closing_paren(message, index) else {
            return false;
        };
        let mut at = index + 1;
        while at < close {
            // An item is a tag (a string) and one value.
            let value = at + 1;
            let value_end = match message.kind(value) {
                Some(TokenKind::ListOpen) => match closing_paren(message, value) {
                    Some(end) => end,
                    None => return false,
                },
                Some(TokenKind::String(_) | TokenKind::Nil) => value,
                _ => return false,
            };
            if message.string(at).is_some_and(|tag| tag.eq_ignore_ascii_case(b"OLDNAME")) {
                let old_index = value + 1;
                if message.kind(value) != Some(&TokenKind::ListOpen) || string_token(message, old_index).is_none() {
                    return false;
                }
                if self.map_server_name(message, old_index, ctx).is_none() {
                    message.remove_tokens(at, value_end);
                }
            }
            at = value_end + 1;
        }
        true
    }

    pub(super) fn on_list_completion(&mut self, tag: &[u8], status: Status, ctx: &mut Context<'_>) {
        let Some(state) = self.lists.remove(tag) else {
            return;
        };
        self.list_order.retain(|pending| pending != tag);
        if status != Status::Ok || state.special_use_only {
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

/// Finds the selection options, reference and patterns of a LIST command.
fn parse_list_command(message: &Message<'_>) -> Result<ListCommand, Reply> {
    let tokens = message.tokens();
    let mut selection = None;
    let mut at = 0;
    if tokens.first().is_some_and(|token| token.kind == TokenKind::ListOpen) {
        let close =
            closing_paren(message, 0).ok_or_else(|| Reply::bad("Unbalanced parentheses in LIST selection options"))?;
        selection = Some((0, close));
        at = close + 1;
    }
    let reference_index = at;
    let (reference, _) =
        string_token(message, reference_index).ok_or_else(|| Reply::bad("Missing or invalid LIST reference name"))?;

    let first = at + 1;
    let invalid = || Reply::bad("Missing or invalid LIST mailbox pattern");
    let mut patterns = Vec::new();
    let last = if message.kind(first) == Some(&TokenKind::ListOpen) {
        let close = closing_paren(message, first).ok_or_else(invalid)?;
        for index in first + 1..close {
            let (value, form) = string_token(message, index).ok_or_else(invalid)?;
            patterns.push((index, value, form));
        }
        close
    } else {
        let (value, form) = string_token(message, first).ok_or_else(invalid)?;
        patterns.push((first, value, form));
        first
    };
    if patterns.is_empty() {
        return Err(invalid());
    }
    Ok(ListCommand { selection, reference_index, reference, pattern_tokens: (first, last), patterns })
}

/// Whether token `index` is the atom `word`, in any case.
pub(super) fn atom_is(message: &Message<'_>, index: usize, word: &[u8]) -> bool {
    matches!(message.kind(index), Some(TokenKind::String(StringForm::Atom)))
        && message.string(index).is_some_and(|value| value.eq_ignore_ascii_case(word))
}

/// Encodes a LIST pattern for the server, quoted where it can be.
fn encode_pattern(pattern: &str, session: &SessionInfo) -> Vec<u8> {
    let wire = Name::Unicode(pattern.to_owned()).to_wire(session.utf8);
    encode::encode_string(&wire, StringForm::Quoted, Grammar::ListMailbox, session.server_literals, session.utf8)
}

/// Adds `attribute` to the attribute list that ends at token `close`,
/// unless it is there; returns whether it was added.
fn add_attribute(message: &mut Message<'_>, close: usize, attribute: &str, ctx: &mut Context<'_>) -> bool {
    let present = (1..close)
        .any(|index| message.string(index).is_some_and(|value| value.eq_ignore_ascii_case(attribute.as_bytes())));
    if present {
        return false;
    }
    let at = message.tokens()[close].span.start;
    let wire = if close == 1 { attribute.to_owned() } else { format!(" {attribute}") };
    ctx.note(|| format!("added {attribute} (special_use)"));
    message.insert(at, wire.into_bytes());
    true
}

/// Whether the attribute list that ends at token `close` has a special-use
/// attribute.
fn has_special_use(message: &Message<'_>, close: usize) -> bool {
    (1..close).any(|index| {
        message.string(index).is_some_and(|value| SPECIAL_USE.iter().any(|known| value.eq_ignore_ascii_case(known)))
    })
}
