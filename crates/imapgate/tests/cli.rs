//! The `imapgate check` command.

use std::process::Command;

fn check(config: &str) -> (i32, String) {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let path = dir.path().join("imapgate.toml");
    std::fs::write(&path, config).expect("failed to write the configuration");
    let output = Command::new(env!("CARGO_BIN_EXE_imapgate"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .expect("failed to run imapgate");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().expect("imapgate exited by a signal"), text)
}

#[test]
fn check_accepts_the_readme_config() {
    let (code, text) = check(include_str!("../../../examples/demo.toml"));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("configuration is valid"), "{text}");
}

#[test]
fn check_lists_every_problem_with_exit_64() {
    let config = r#"
filters = ["mailbox", "nosuch"]

[[listen]]
address = "localhost"

[upstream]
address = "127.0.0.1"

[mailbox]
client_delimiter = "/"

[[mailbox.map]]
client = "Archive/{rest"
server = "INBOX.Archive.{rest}"

[[mailbox.hide]]
server = '^INBOX\.(Spam$'
"#;
    let (code, text) = check(config);
    assert_eq!(code, 64, "{text}");
    for place in
        ["filters[1]", "listen[0].address", "upstream.address", "mailbox.map[0].client", "mailbox.hide[0].server"]
    {
        assert!(text.contains(place), "{place} missing from:\n{text}");
    }
}

#[test]
fn check_reports_syntax_errors_with_line() {
    let (code, text) = check("filters = [\"mailbox\"\n[[listen]]\n");
    assert_eq!(code, 64, "{text}");
    assert!(text.contains("line "), "{text}");
}
