//! Mailbox names of the seeded accounts, as the server stores them and as
//! clients see them through the benchmark's rules.

/// Rule groups: server folders `INBOX.Group<g>.*` appear to clients as
/// `Team<g>/*`, one rule per group.
pub const GROUPS: usize = 10;

/// Side whose mailbox names a scenario sends.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Names {
    /// The server's names (direct, nginx, imapgate without filters).
    Server,
    /// The names the rules show to clients.
    Client,
}

impl Names {
    /// Name of folder `index` of the small-command account.
    pub fn small_folder(self, index: usize) -> String {
        self.folder(index % GROUPS, index / GROUPS)
    }

    fn folder(self, group: usize, number: usize) -> String {
        match self {
            Names::Server => format!("INBOX.Group{group}.Box{number:04}"),
            Names::Client => format!("Team{group}/Box{number:04}"),
        }
    }
}

/// Maildir++ directory name (under `Maildir/`) of folder `index`, for a
/// server namespace with prefix `INBOX.` and delimiter `.`.
pub fn maildir_folder(index: usize) -> String {
    format!(".Group{}.Box{:04}", index % GROUPS, index / GROUPS)
}

/// Builds the imapgate `[mailbox]` section with one rule per group.
pub fn rules_toml() -> String {
    let mut text = String::from("[mailbox]\nclient_delimiter = \"/\"\n");
    for group in 0..GROUPS {
        text.push_str(&format!(
            "\n[[mailbox.map]]\nclient = \"Team{group}{{/rest}}\"\nserver = \"INBOX.Group{group}{{.rest}}\"\n"
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_agree() {
        assert_eq!(Names::Server.small_folder(13), "INBOX.Group3.Box0001");
        assert_eq!(Names::Client.small_folder(13), "Team3/Box0001");
        assert_eq!(maildir_folder(13), ".Group3.Box0001");
    }

    #[test]
    fn rules_toml_has_ten_rules() {
        let text = rules_toml();
        assert_eq!(text.matches("[[mailbox.map]]").count(), GROUPS);
        assert!(text.contains("client = \"Team9{/rest}\"\nserver = \"INBOX.Group9{.rest}\""));
    }
}
