//! mbsync (isync) syncs a whole account through imapgate with rules active
//! into a local Maildir: the folder tree has the client names and the
//! messages are those on the server.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use support::Dovecot;
use support::imapgate::Imapgate;

const RULES: &str = r#"
[mailbox]
client_delimiter = "/"

[[mailbox.map]]
client = "Sent"
server = "INBOX.Sent Items"

[[mailbox.map]]
client = "Archive/{rest}"
server = "INBOX.Archive.{rest}"

[[mailbox.hide]]
server = '^INBOX\.Spam$'
"#;

fn message(subject: &str) -> Vec<u8> {
    format!("From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n\r\nBody of {subject}.\r\n").into_bytes()
}

/// A message as mbsync stores it in a Maildir: LF line ends, and without
/// the `X-TUID` header that mbsync adds to find the message again.
fn normalize(stored: &[u8]) -> String {
    let text = String::from_utf8_lossy(stored).replace("\r\n", "\n");
    text.lines().filter(|line| !line.starts_with("X-TUID: ")).map(|line| format!("{line}\n")).collect()
}

/// The messages of each Maildir folder under `root`, by folder path
/// relative to `root`, each folder's messages normalized and sorted.
fn maildir_messages(root: &Path) -> BTreeMap<String, Vec<String>> {
    let mut folders = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        if dir.join("cur").is_dir() {
            let mut messages = Vec::new();
            for sub in ["cur", "new"] {
                for entry in fs::read_dir(dir.join(sub)).expect("failed to read a Maildir folder") {
                    let path = entry.expect("failed to read a directory entry").path();
                    messages.push(normalize(&fs::read(path).expect("failed to read a message file")));
                }
            }
            messages.sort();
            let name = dir.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            folders.insert(name, messages);
        }
        for entry in fs::read_dir(&dir).expect("failed to read a directory") {
            let path = entry.expect("failed to read a directory entry").path();
            let skip = ["cur", "new", "tmp"].iter().any(|name| path.ends_with(name));
            if path.is_dir() && !skip {
                pending.push(path);
            }
        }
    }
    folders
}

#[test]
fn mbsync_pulls_the_renamed_tree() {
    let dovecot = Dovecot::start();
    dovecot.seed("alice", &["INBOX.Sent Items", "INBOX.Archive.2023", "INBOX.Spam"]);
    let placed: &[(&str, &str, &str)] = &[
        ("INBOX", "INBOX", "welcome"),
        ("INBOX.Sent Items", "Sent", "first"),
        ("INBOX.Sent Items", "Sent", "second"),
        ("INBOX.Archive.2023", "Archive/2023", "old"),
        ("INBOX.Spam", "", "spam"),
    ];
    for (server, _, subject) in placed {
        dovecot.append("alice", server, &message(subject));
    }
    let proxy = Imapgate::start(dovecot.addr(), &["mailbox"], RULES);

    let dir = tempfile::tempdir().expect("failed to create a temporary directory");
    let mail = dir.path().join("mail");
    fs::create_dir(&mail).unwrap();
    let rc = dir.path().join("mbsyncrc");
    let config = format!(
        "IMAPAccount proxy\nHost 127.0.0.1\nPort {port}\nUser alice\nPass secret\nSSLType None\nAuthMechs LOGIN\n\n\
         IMAPStore remote\nAccount proxy\n\n\
         MaildirStore local\nPath {mail}/\nInbox {mail}/INBOX\nSubFolders Verbatim\n\n\
         Channel all\nFar :remote:\nNear :local:\nPatterns *\nCreate Near\nSync Pull\nSyncState *\n",
        port = proxy.addr().port(),
        mail = mail.display(),
    );
    fs::write(&rc, config).unwrap();

    let output = Command::new("mbsync").arg("-c").arg(&rc).arg("-a").output().expect("failed to run mbsync");
    let log = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "mbsync failed:\n{log}\nimapgate log:\n{}", proxy.log());

    // The folder tree has the client names only.
    let synced = maildir_messages(&mail);
    let folders: Vec<&str> = synced.keys().map(String::as_str).collect();
    assert_eq!(folders, ["Archive/2023", "INBOX", "Sent"], "{log}");

    // Each folder contains exactly the messages of its server folder.
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, client, subject) in placed.iter().filter(|(_, client, _)| !client.is_empty()) {
        expected.entry(client.to_string()).or_default().push(normalize(&message(subject)));
    }
    for messages in expected.values_mut() {
        messages.sort();
    }
    assert_eq!(synced, expected);

    // And those are the messages the server holds.
    let mut direct = dovecot.login("alice");
    for (index, (server, client, _)) in placed.iter().enumerate().filter(|(_, (_, client, _))| !client.is_empty()) {
        direct.expect_ok(&format!("e{index}"), &format!("EXAMINE \"{server}\""));
        let fetch = direct.expect_ok(&format!("f{index}"), "FETCH 1:* BODY.PEEK[]");
        for message in &synced[*client] {
            assert!(fetch.replace("\r\n", "\n").contains(message.as_str()), "{server}: {fetch}");
        }
        assert_eq!(fetch.matches(" FETCH (").count(), synced[*client].len(), "{server}: {fetch}");
    }
}
