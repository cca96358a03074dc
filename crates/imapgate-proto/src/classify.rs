//! Reads the tag and keyword of a command or response line.

/// Commands imapgate distinguishes. Anything else is [`CommandName::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandName {
    Capability,
    Noop,
    Logout,
    Id,
    StartTls,
    Authenticate,
    Login,
    Enable,
    Select,
    Examine,
    Create,
    Delete,
    Rename,
    Subscribe,
    Unsubscribe,
    List,
    Lsub,
    Xlist,
    Namespace,
    Status,
    Append,
    Idle,
    Check,
    Close,
    Unselect,
    Expunge,
    Search,
    Fetch,
    Store,
    Copy,
    Move,
    Compress,
    GetQuota,
    SetQuota,
    GetQuotaRoot,
    GetAcl,
    SetAcl,
    DeleteAcl,
    ListRights,
    MyRights,
    GetMetadata,
    SetMetadata,
    Notify,
    /// RFC 7377 ESEARCH, which may search several mailboxes.
    Esearch,
    Other,
}

/// The start of a command line: `tag [UID] name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandHead<'a> {
    pub tag: &'a [u8],
    pub name: CommandName,
    /// The command was prefixed by `UID` (UID COPY, UID FETCH, ...).
    pub uid: bool,
    /// The keyword as sent (after `UID ` when present).
    pub keyword: &'a [u8],
    /// Offset of the first byte after the keyword (a space, CR or LF).
    pub args_at: usize,
}

/// Why a line is not a command.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClassifyError {
    #[error("missing tag")]
    MissingTag,
    #[error("invalid character in tag")]
    InvalidTag,
    #[error("missing command name after the tag")]
    MissingCommand,
}

/// Classifies the first line of a client command (grammar: `tag SP command`,
/// where a tag is one or more ASTRING-CHAR except `+`).
pub fn classify_command(line: &[u8]) -> Result<CommandHead<'_>, ClassifyError> {
    let tag_end = token_end(line, 0);
    let tag = &line[..tag_end];
    if tag.is_empty() {
        return Err(ClassifyError::MissingTag);
    }
    if !tag.iter().all(|&b| is_tag_char(b)) {
        return Err(ClassifyError::InvalidTag);
    }
    let (keyword, args_at) = keyword_after(line, tag_end).ok_or(ClassifyError::MissingCommand)?;
    if keyword.eq_ignore_ascii_case(b"UID") {
        let (keyword, args_at) = keyword_after(line, args_at).ok_or(ClassifyError::MissingCommand)?;
        let name = match command_name(keyword) {
            name @ (CommandName::Copy
            | CommandName::Move
            | CommandName::Fetch
            | CommandName::Store
            | CommandName::Search
            | CommandName::Expunge) => name,
            _ => CommandName::Other,
        };
        return Ok(CommandHead { tag, name, uid: true, keyword, args_at });
    }
    Ok(CommandHead { tag, name: command_name(keyword), uid: false, keyword, args_at })
}

/// ASTRING-CHAR except `+` (RFC 9051 `tag`): any CHAR but CTL, SP, `(`, `)`,
/// `{`, `%`, `*`, `"`, `\` and `+`; `]` is allowed.
fn is_tag_char(b: u8) -> bool {
    matches!(b, 0x21..=0x7e) && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b'+')
}

/// End of the token starting at `from`: the next SP, CR or LF, or the end.
fn token_end(line: &[u8], from: usize) -> usize {
    line[from..].iter().position(|&b| matches!(b, b' ' | b'\r' | b'\n')).map_or(line.len(), |i| from + i)
}

/// The non-empty token after the single SP at `at`, and the offset after it.
fn keyword_after(line: &[u8], at: usize) -> Option<(&[u8], usize)> {
    if line.get(at) != Some(&b' ') {
        return None;
    }
    let end = token_end(line, at + 1);
    (end > at + 1).then(|| (&line[at + 1..end], end))
}

/// `keyword` in ASCII upper case when it is short enough to name something.
fn upper(keyword: &[u8]) -> Option<([u8; 16], usize)> {
    let mut buf = [0u8; 16];
    let dst = buf.get_mut(..keyword.len())?;
    for (d, s) in dst.iter_mut().zip(keyword) {
        *d = s.to_ascii_uppercase();
    }
    Some((buf, keyword.len()))
}

fn command_name(keyword: &[u8]) -> CommandName {
    use CommandName::*;
    let Some((buf, len)) = upper(keyword) else { return Other };
    match &buf[..len] {
        b"CAPABILITY" => Capability,
        b"NOOP" => Noop,
        b"LOGOUT" => Logout,
        b"ID" => Id,
        b"STARTTLS" => StartTls,
        b"AUTHENTICATE" => Authenticate,
        b"LOGIN" => Login,
        b"ENABLE" => Enable,
        b"SELECT" => Select,
        b"EXAMINE" => Examine,
        b"CREATE" => Create,
        b"DELETE" => Delete,
        b"RENAME" => Rename,
        b"SUBSCRIBE" => Subscribe,
        b"UNSUBSCRIBE" => Unsubscribe,
        b"LIST" => List,
        b"LSUB" => Lsub,
        b"XLIST" => Xlist,
        b"NAMESPACE" => Namespace,
        b"STATUS" => Status,
        b"APPEND" => Append,
        b"IDLE" => Idle,
        b"CHECK" => Check,
        b"CLOSE" => Close,
        b"UNSELECT" => Unselect,
        b"EXPUNGE" => Expunge,
        b"SEARCH" => Search,
        b"FETCH" => Fetch,
        b"STORE" => Store,
        b"COPY" => Copy,
        b"MOVE" => Move,
        b"COMPRESS" => Compress,
        b"GETQUOTA" => GetQuota,
        b"SETQUOTA" => SetQuota,
        b"GETQUOTAROOT" => GetQuotaRoot,
        b"GETACL" => GetAcl,
        b"SETACL" => SetAcl,
        b"DELETEACL" => DeleteAcl,
        b"LISTRIGHTS" => ListRights,
        b"MYRIGHTS" => MyRights,
        b"GETMETADATA" => GetMetadata,
        b"SETMETADATA" => SetMetadata,
        b"NOTIFY" => Notify,
        b"ESEARCH" => Esearch,
        _ => Other,
    }
}

/// Status keyword of a status response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Ok,
    No,
    Bad,
    Bye,
    PreAuth,
}

/// Untagged responses imapgate distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseName {
    /// `* OK`, `* NO`, `* BAD`, `* BYE`, `* PREAUTH`.
    Condition(Status),
    Capability,
    List,
    Lsub,
    Xlist,
    Status,
    Namespace,
    Flags,
    Search,
    Esearch,
    Exists,
    Recent,
    Expunge,
    Fetch,
    Enabled,
    Id,
    Quota,
    QuotaRoot,
    Acl,
    ListRights,
    MyRights,
    Metadata,
    Vanished,
    Other,
}

/// The start of a server response line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseHead<'a> {
    /// `+ …`: a continuation request.
    Continuation,
    /// `tag OK|NO|BAD …`
    Tagged { tag: &'a [u8], status: Status, text_at: usize },
    /// `* [number] name …`
    Untagged { number: Option<u32>, name: ResponseName, args_at: usize },
}

/// Classifies the first line of a server response; `None` when it is neither
/// a continuation, a tagged status nor an untagged response.
pub fn classify_response(line: &[u8]) -> Option<ResponseHead<'_>> {
    match line.first()? {
        b'+' => Some(ResponseHead::Continuation),
        b'*' => {
            let mut at = 1;
            let mut number = None;
            if line.get(at + 1).is_some_and(u8::is_ascii_digit) {
                let end = token_end(line, at + 1);
                let digits = &line[at + 1..end];
                if !digits.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                number = Some(std::str::from_utf8(digits).ok()?.parse::<u32>().ok()?);
                at = end;
            }
            let (keyword, args_at) = keyword_after(line, at)?;
            Some(ResponseHead::Untagged { number, name: response_name(keyword), args_at })
        }
        _ => {
            let tag_end = token_end(line, 0);
            let tag = &line[..tag_end];
            if tag.is_empty() || !tag.iter().all(|&b| is_tag_char(b)) {
                return None;
            }
            let (keyword, text_at) = keyword_after(line, tag_end)?;
            let status = match status(keyword)? {
                s @ (Status::Ok | Status::No | Status::Bad) => s,
                Status::Bye | Status::PreAuth => return None,
            };
            Some(ResponseHead::Tagged { tag, status, text_at })
        }
    }
}

fn status(keyword: &[u8]) -> Option<Status> {
    let (buf, len) = upper(keyword)?;
    Some(match &buf[..len] {
        b"OK" => Status::Ok,
        b"NO" => Status::No,
        b"BAD" => Status::Bad,
        b"BYE" => Status::Bye,
        b"PREAUTH" => Status::PreAuth,
        _ => return None,
    })
}

fn response_name(keyword: &[u8]) -> ResponseName {
    use ResponseName::*;
    if let Some(s) = status(keyword) {
        return Condition(s);
    }
    let Some((buf, len)) = upper(keyword) else { return Other };
    match &buf[..len] {
        b"CAPABILITY" => Capability,
        b"LIST" => List,
        b"LSUB" => Lsub,
        b"XLIST" => Xlist,
        b"STATUS" => Status,
        b"NAMESPACE" => Namespace,
        b"FLAGS" => Flags,
        b"SEARCH" => Search,
        b"ESEARCH" => Esearch,
        b"EXISTS" => Exists,
        b"RECENT" => Recent,
        b"EXPUNGE" => Expunge,
        b"FETCH" => Fetch,
        b"ENABLED" => Enabled,
        b"ID" => Id,
        b"QUOTA" => Quota,
        b"QUOTAROOT" => QuotaRoot,
        b"ACL" => Acl,
        b"LISTRIGHTS" => ListRights,
        b"MYRIGHTS" => MyRights,
        b"METADATA" => Metadata,
        b"VANISHED" => Vanished,
        _ => Other,
    }
}

#[cfg(test)]
mod tests;
