//! The `[mailbox]` section of the configuration file.

use serde::Deserialize;

/// Settings of the `mailbox` filter.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxConfig {
    /// Hierarchy delimiter shown to clients; the server's delimiter is used
    /// unchanged when this is unset.
    pub client_delimiter: Option<char>,
    /// Hierarchy delimiter of the server; learned with `LIST "" ""` after
    /// login when unset.
    pub server_delimiter: Option<char>,
    /// Renaming rules; the first rule that matches a name wins.
    #[serde(default)]
    pub map: Vec<MapRuleConfig>,
    /// Server names that clients never see.
    #[serde(default)]
    pub hide: Vec<HideRuleConfig>,
}

/// One `[[mailbox.map]]` entry: either a template pair or a regex pair.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapRuleConfig {
    /// Template of the client-side name, e.g. `Archive/{rest}`.
    pub client: Option<String>,
    /// Template of the server-side name, e.g. `INBOX.Archive.{rest}`.
    pub server: Option<String>,
    /// Regex rewrite of client names into server names.
    pub to_server: Option<RegexRewrite>,
    /// Regex rewrite of server names into client names.
    pub to_client: Option<RegexRewrite>,
    /// A special-use attribute (RFC 6154), such as `\Sent`, added to the
    /// LIST entries of the names this rule produces.
    pub special_use: Option<String>,
}

/// A regex and its replacement (`$1`, `${name}` refer to capture groups).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexRewrite {
    #[serde(rename = "match")]
    pub pattern: String,
    pub replace: String,
}

/// One `[[mailbox.hide]]` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HideRuleConfig {
    /// Regex matched against the whole decoded server name.
    pub server: String,
}
