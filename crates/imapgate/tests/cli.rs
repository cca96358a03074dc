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

#[test]
fn explain_runs_the_example_transcript() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let output = Command::new(env!("CARGO_BIN_EXE_imapgate"))
        .current_dir(root)
        .args(["explain", "--config", "examples/demo.toml", "examples/explain.txt"])
        .output()
        .expect("failed to run imapgate");
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&output.stderr));
    for expected in [
        "C: a1 SELECT Sent\n  -> server: a1 SELECT \"INBOX.Sent Items\"\n     note: \"Sent\" -> \"INBOX.Sent Items\" (mailbox.map[0])\n",
        "  -> client: * LIST (\\HasNoChildren) \"/\" Archive/2023\n     note: \"INBOX.Archive.2023\" -> \"Archive/2023\" (mailbox.map[1])\n",
        "S: * LIST (\\HasNoChildren) \".\" INBOX.Spam\n     note: \"INBOX.Spam\" hidden: matches a mailbox.hide rule\nS: a2 OK",
        "  -> server: a3 COPY 1:2 {18+}\n  -> server: INBOX.Archive.2023\n",
        "  -> client: a4 NO [NONEXISTENT] Mailbox does not exist\n",
        "-- commands: 4, rewritten: 6, answered by imapgate: 1, withheld: 1, hidden names: 1\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn explain_takes_session_facts_from_options() {
    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let transcript = dir.path().join("session.txt");
    std::fs::write(&transcript, "C: a1 SELECT {4}\nC: Sent\nS: +\n").expect("failed to write the transcript");
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/demo.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_imapgate"))
        .args(["explain", "--config", config, "--server-delimiter", ".", "--literals", "sync", "--namespace", "INBOX."])
        .arg(&transcript)
        .output()
        .expect("failed to run imapgate");
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&output.stderr));
    // Without LITERAL+ imapgate waits for the server's `+` and takes it itself.
    assert!(text.contains("C: Sent\n  -> server: a1 SELECT {16}\n"), "{text}");
    assert!(text.contains("S: +\n  -> server: INBOX.Sent Items\n"), "{text}");

    std::fs::write(&transcript, "a1 NOOP\n").expect("failed to write the transcript");
    let output = Command::new(env!("CARGO_BIN_EXE_imapgate"))
        .args(["explain", "--config", config])
        .arg(&transcript)
        .output()
        .expect("failed to run imapgate");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 1"));
}
