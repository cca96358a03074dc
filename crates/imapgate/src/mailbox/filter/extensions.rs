//! Mailbox names in extension commands and responses: METADATA (RFC 5464),
//! ESEARCH with source options (RFC 7377), NOTIFY (RFC 5465) and NAMESPACE
//! (RFC 2342). ACL, QUOTA and the plain one-argument forms are mapped in
//! the parent module.

use imapgate_proto::classify::Status;
use imapgate_proto::encode::{self, Grammar, LiteralSupport};
use imapgate_proto::scan::TokenKind;

use super::list::atom_is;
use super::{MailboxFilter, Purpose, closing_paren, decode_name, delimiter_field, show, string_token};
use crate::filter::{Context, Message, Reply, ResponseView, Verdict};

/// Keywords of `filter-mailboxes` that are followed by one mailbox or a
/// parenthesized list of them.
const MAILBOX_FILTERS: &[&[u8]] = &[b"SUBTREE", b"SUBTREE-ONE", b"MAILBOXES"];

impl MailboxFilter {
    /// GETMETADATA `[(options)] mailbox entries` and SETMETADATA `mailbox
    /// (entries)`. The empty name stands for the server and stays.
    pub(super) fn map_metadata_command(&self, message: &mut Message<'_>, ctx: &mut Context<'_>) -> Result<(), Reply> {
        let mut index = 0;
        if message.kind(0) == Some(&TokenKind::ListOpen) {
            index = closing_paren(message, 0).ok_or_else(|| Reply::bad("Unbalanced parentheses in options"))? + 1;
        }
        match string_token(message, index) {
            Some((raw, _)) if raw.is_empty() => Ok(()),
            _ => self.map_argument(message, index, Purpose::Existing, ctx),
        }
    }

    /// ESEARCH `IN (filters [(scope options)])`: the mailboxes after
    /// `subtree`, `subtree-one` and `mailboxes` are mapped.
    pub(super) fn map_esearch_command(&self, message: &mut Message<'_>, ctx: &mut Context<'_>) -> Result<(), Reply> {
        if !atom_is(message, 0, b"IN") {
            return Ok(());
        }
        let close = match message.kind(1) {
            Some(TokenKind::ListOpen) => closing_paren(message, 1),
            _ => None,
        };
        let close = close.ok_or_else(|| Reply::bad("Missing or invalid ESEARCH source options"))?;
        self.map_mailbox_filters(message, 2, close, ctx)
    }

    /// NOTIFY `SET [STATUS] (filter events) ...` or `NOTIFY NONE`.
    pub(super) fn map_notify_command(&self, message: &mut Message<'_>, ctx: &mut Context<'_>) -> Result<(), Reply> {
        let mut index = 0;
        while let Some(kind) = message.kind(index) {
            match kind {
                TokenKind::ListOpen => {
                    let close = closing_paren(message, index)
                        .ok_or_else(|| Reply::bad("Unbalanced parentheses in NOTIFY event group"))?;
                    self.map_mailbox_filters(message, index + 1, close, ctx)?;
                    index = close + 1;
                }
                TokenKind::End => break,
                _ => index += 1,
            }
        }
        Ok(())
    }

    /// Maps the mailboxes of `filter-mailboxes` between tokens `from` and
    /// `to` (exclusive). Lists that do not follow a mailbox filter keyword
    /// (events, scope options) are skipped.
    fn map_mailbox_filters(
        &self,
        message: &mut Message<'_>,
        from: usize,
        to: usize,
        ctx: &mut Context<'_>,
    ) -> Result<(), Reply> {
        let invalid = || Reply::bad("Missing or invalid mailbox after a mailbox filter");
        let mut index = from;
        while index < to {
            let takes_mailboxes = MAILBOX_FILTERS.iter().any(|keyword| atom_is(message, index, keyword));
            match message.kind(index) {
                _ if takes_mailboxes => {
                    let value = index + 1;
                    if message.kind(value) == Some(&TokenKind::ListOpen) {
                        let close = closing_paren(message, value).ok_or_else(invalid)?;
                        if close == value + 1 {
                            return Err(invalid());
                        }
                        for name in value + 1..close {
                            self.map_argument(message, name, Purpose::Existing, ctx)?;
                        }
                        index = close + 1;
                    } else {
                        // NOTE: a subtree is mapped by its root's name; children
                        // that another rule maps elsewhere are not part of it.
                        self.map_argument(message, value, Purpose::Existing, ctx)
                            .map_err(|reply| if reply.status == Status::Bad { invalid() } else { reply })?;
                        index = value + 1;
                    }
                }
                Some(TokenKind::ListOpen) => index = closing_paren(message, index).ok_or_else(invalid)? + 1,
                _ => index += 1,
            }
        }
        Ok(())
    }

    /// `* METADATA mailbox (entry value ...)` or `* METADATA mailbox entry ...`.
    pub(super) fn on_metadata_response(&mut self, response: &mut ResponseView<'_>, ctx: &mut Context<'_>) -> Verdict {
        match string_token(&response.message, 0) {
            Some((raw, _)) if raw.is_empty() => Verdict::Forward,
            _ => self.map_response_name(response, 0, ctx),
        }
    }

    /// `* ESEARCH (TAG "a1" MAILBOX "name" UIDVALIDITY 1) ...`: the name in
    /// the correlator is mapped, and the response is withheld when hidden.
    pub(super) fn on_esearch_response(&mut self, response: &mut ResponseView<'_>, ctx: &mut Context<'_>) -> Verdict {
        let message = &mut response.message;
        if message.kind(0) != Some(&TokenKind::ListOpen) {
            return Verdict::Forward;
        }
        let Some(close) = closing_paren(message, 0) else {
            return Verdict::Drop;
        };
        let Some(key) = (1..close).find(|&index| atom_is(message, index, b"MAILBOX")) else {
            return Verdict::Forward;
        };
        if key + 1 >= close || string_token(message, key + 1).is_none() {
            tracing::warn!("withheld an ESEARCH response whose MAILBOX has no name");
            return Verdict::Drop;
        }
        match self.map_server_name(message, key + 1, ctx) {
            Some(_) => Verdict::Forward,
            None => Verdict::Drop,
        }
    }

    /// `* NAMESPACE personal other shared`, each NIL or a list of
    /// `(prefix delimiter [extensions])`. Prefixes and delimiters are
    /// shown as the client's names would be. The personal prefix becomes
    /// `""` when the rules show names outside it (a rule maps
    /// `INBOX.Sent Items` to `Sent`, outside `INBOX/`).
    pub(super) fn on_namespace_response(&mut self, response: &mut ResponseView<'_>, ctx: &mut Context<'_>) -> Verdict {
        let message = &mut response.message;
        let mut index = 0;
        for group in 0..3 {
            match message.kind(index) {
                Some(TokenKind::Nil) => index += 1,
                Some(TokenKind::ListOpen) => {
                    let Some(close) = closing_paren(message, index) else {
                        return Verdict::Drop;
                    };
                    let mut entry = index + 1;
                    while entry < close {
                        let Some(entry_close) = closing_paren(message, entry) else {
                            tracing::warn!("withheld a NAMESPACE response with an invalid entry");
                            return Verdict::Drop;
                        };
                        if !self.map_namespace_entry(message, entry + 1, group == 0, ctx) {
                            tracing::warn!("withheld a NAMESPACE response with an invalid entry");
                            return Verdict::Drop;
                        }
                        entry = entry_close + 1;
                    }
                    index = close + 1;
                }
                _ => {
                    tracing::warn!("withheld a NAMESPACE response that is not three namespace lists");
                    return Verdict::Drop;
                }
            }
        }
        Verdict::Forward
    }

    /// Maps one namespace's prefix (token `index`) and delimiter (the token
    /// after it). Returns false when they are missing.
    fn map_namespace_entry(
        &self,
        message: &mut Message<'_>,
        index: usize,
        personal: bool,
        ctx: &mut Context<'_>,
    ) -> bool {
        let session = ctx.session;
        let Some((raw, form)) = string_token(message, index) else {
            return false;
        };
        let delimiter_kind = message.kind(index + 1).cloned();
        if !matches!(delimiter_kind, Some(TokenKind::Nil | TokenKind::String(_))) {
            return false;
        }
        let server_delimiter = session.server_delimiter;
        let client_delimiter = self.rules.client_delimiter(server_delimiter);

        // The prefix is a name, usually ending with the delimiter.
        let prefix = decode_name(&raw, session.utf8);
        let text = prefix.as_str();
        let (base, trailing) = match server_delimiter.and_then(|d| text.strip_suffix(d)) {
            Some(base) => (base, true),
            None => (text, false),
        };
        let mut client = if base.is_empty() {
            String::new()
        } else {
            match self.rules.to_client(base, server_delimiter) {
                Some((client, _)) => client,
                // A hidden prefix keeps its text, with the delimiter mapped.
                None => base
                    .chars()
                    .map(|c| if Some(c) == server_delimiter { client_delimiter.unwrap_or(c) } else { c })
                    .collect(),
            }
        };
        if trailing && !client.is_empty() {
            client.extend(client_delimiter);
        }
        if personal && !client.is_empty() && self.rules.maps_outside(&client, client_delimiter) {
            client.clear();
        }
        let value = prefix.with_text(client).to_wire(session.utf8);
        if value != raw {
            ctx.note(|| format!("namespace prefix {} -> {}", show(&raw), show(&value)));
            let wire = encode::encode_string(&value, form, Grammar::Astring, LiteralSupport::Response, session.utf8);
            message.replace(index, wire);
        }
        if delimiter_kind != Some(TokenKind::Nil) {
            let field = delimiter_field(client_delimiter).into_bytes();
            if message.string(index + 1).is_none_or(|value| super::delimiter_field_value(&value) != field) {
                message.replace(index + 1, field);
            }
        }
        true
    }
}
