//! The mailbox rule engine: maps names between the client's and the
//! server's view, and decides which server names are hidden.
//!
//! Names here are decoded Unicode (modified UTF-7 is handled by the caller).

use super::config::MailboxConfig;

/// A problem in the `[mailbox]` section, with its place in the file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct RuleError {
    /// Path of the offending key, e.g. `mailbox.map[2].client`.
    pub place: String,
    pub message: String,
}

/// Which rule produced a name: an index into `mailbox.map`, or `None` when
/// only the delimiter mapping applied.
pub type RuleIndex = Option<usize>;

/// Why a client name has no server name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unmappable {
    #[error("mailbox {name:?} does not exist")]
    Hidden { name: String },
    #[error("mailbox name {name:?} contains {delimiter:?}, the server's hierarchy delimiter")]
    ContainsServerDelimiter { name: String, delimiter: char },
}

/// Compiled `[mailbox]` rules.
#[derive(Debug)]
pub struct RuleSet {
    // filled in by the implementation
}

impl RuleSet {
    /// Compiles and validates the rules, reporting every problem found.
    pub fn compile(config: &MailboxConfig) -> Result<RuleSet, Vec<RuleError>> {
        let _ = config;
        todo!()
    }

    /// Warnings that do not stop the config from loading (overlapping
    /// template rules, for example).
    pub fn warnings(&self) -> &[RuleError] {
        todo!()
    }

    /// Maps a client name to the server name, given the server's delimiter.
    pub fn to_server(&self, client: &str, server_delimiter: Option<char>) -> Result<(String, RuleIndex), Unmappable> {
        let _ = (client, server_delimiter);
        todo!()
    }

    /// Maps a server name to the client name; `None` when the name is hidden
    /// or does not map back to itself.
    pub fn to_client(&self, server: &str, server_delimiter: Option<char>) -> Option<(String, RuleIndex)> {
        let _ = (server, server_delimiter);
        todo!()
    }

    /// The delimiter shown to clients for a server delimiter.
    pub fn client_delimiter(&self, server_delimiter: Option<char>) -> Option<char> {
        let _ = server_delimiter;
        todo!()
    }
}
