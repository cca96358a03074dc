//! Reads the tag and keyword of a command or response line.

/// Commands imapgate distinguishes. Anything else is [`CommandName::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandName {
    Capability, Noop, Logout, Id, StartTls, Authenticate, Login, Enable,
    Select, Examine, Create, Delete, Rename, Subscribe, Unsubscribe,
    List, Lsub, Xlist, Namespace, Status, Append, Idle, Check, Close, Unselect,
    Expunge, Search, Fetch, Store, Copy, Move, Compress,
    GetQuotaRoot, GetAcl, SetAcl, DeleteAcl, ListRights, MyRights,
    GetMetadata, SetMetadata, Notify,
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
    let _ = line;
    todo!()
}

/// Status keyword of a status response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status { Ok, No, Bad, Bye, PreAuth }

/// Untagged responses imapgate distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseName {
    /// `* OK`, `* NO`, `* BAD`, `* BYE`, `* PREAUTH`.
    Condition(Status),
    Capability, List, Lsub, Xlist, Status, Namespace, Flags, Search, Esearch,
    Exists, Recent, Expunge, Fetch, Enabled, Id, Quota, QuotaRoot, Acl,
    ListRights, MyRights, Metadata, Vanished,
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
    let _ = line;
    todo!()
}
