//! A Dovecot instance on 127.0.0.1, started by `scripts/dovecot.sh` in a
//! temporary directory and stopped on drop.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{ImapClient, quote};

/// Users that `Dovecot::start` creates, as (name, password).
pub const DEFAULT_USERS: &[(&str, &str)] = &[("alice", "secret"), ("bob", "secret")];

/// Attempts to start Dovecot when the chosen free port is taken by someone
/// else between choosing it and Dovecot binding it.
const START_ATTEMPTS: usize = 3;

/// A running Dovecot with Maildir storage, the `.` hierarchy delimiter and
/// the personal namespace under the prefix `INBOX.`.
pub struct Dovecot {
    // Dropped after `Drop::drop` has stopped the server.
    dir: tempfile::TempDir,
    port: u16,
    users: Vec<(String, String)>,
}

impl Dovecot {
    /// Starts Dovecot with the users alice and bob, both with the password
    /// `secret`.
    pub fn start() -> Dovecot {
        Dovecot::start_with_users(DEFAULT_USERS)
    }

    /// Starts Dovecot with the given (name, password) users. Names and
    /// passwords must not contain spaces or colons.
    pub fn start_with_users(users: &[(&str, &str)]) -> Dovecot {
        Dovecot::start_with(users, &[])
    }

    /// Starts Dovecot with extra environment for `scripts/dovecot.sh`
    /// (TLS, HAProxy listener, trusted networks).
    pub fn start_with(users: &[(&str, &str)], env: &[(&str, String)]) -> Dovecot {
        let dir = tempfile::Builder::new()
            .prefix("imapgate-dovecot-")
            .tempdir()
            .expect("failed to create a temporary directory for Dovecot");
        let users_env = users.iter().map(|(name, password)| format!("{name}:{password}")).collect::<Vec<_>>().join(" ");

        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let output = Command::new(script_path())
                .arg("start")
                .arg(dir.path())
                .arg(port.to_string())
                .env("IMAPGATE_TEST_USERS", &users_env)
                .envs(env.iter().map(|(key, value)| (*key, value.as_str())))
                .output()
                .expect("failed to run scripts/dovecot.sh");
            if output.status.success() {
                let users = users.iter().map(|(name, password)| (name.to_string(), password.to_string())).collect();
                return Dovecot { dir, port, users };
            }
            last_error = String::from_utf8_lossy(&output.stderr).into_owned();
            if !last_error.contains("Address already in use") {
                break;
            }
        }
        panic!("failed to start Dovecot in {}:\n{last_error}", dir.path().display());
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Returns the instance directory, which contains `dovecot.conf`,
    /// `dovecot.log` and the users' homes under `home/`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Returns the contents of the Dovecot log so far.
    pub fn log(&self) -> String {
        let path = self.dir().join("dovecot.log");
        fs::read_to_string(&path).unwrap_or_else(|err| panic!("failed to read {}: {err}", path.display()))
    }

    /// Returns the password of `user`. Panics for an unknown user.
    pub fn password(&self, user: &str) -> &str {
        self.users
            .iter()
            .find(|(name, _)| name == user)
            .map(|(_, password)| password.as_str())
            .unwrap_or_else(|| panic!("unknown Dovecot test user {user:?}"))
    }

    /// Connects a client directly to Dovecot without logging in.
    pub fn connect(&self) -> ImapClient {
        ImapClient::connect(self.addr())
    }

    /// Connects a client directly to Dovecot and logs in as `user`.
    pub fn login(&self, user: &str) -> ImapClient {
        let mut client = self.connect();
        client.login(user, self.password(user));
        client
    }

    /// Creates `folders` (full server names such as `INBOX.Archive.2023`)
    /// for `user`. Dovecot creates missing parents itself.
    pub fn seed(&self, user: &str, folders: &[&str]) {
        let mut client = self.login(user);
        for (i, folder) in folders.iter().enumerate() {
            client.expect_ok(&format!("seed{i}"), &format!("CREATE {}", quote(folder)));
        }
        client.logout();
    }

    /// Appends `message` (a whole RFC 5322 message with CRLF line endings)
    /// to `folder` of `user`, using a synchronizing literal.
    pub fn append(&self, user: &str, folder: &str, message: &[u8]) {
        let mut client = self.login(user);
        let command = format!("append APPEND {} {{{}}}\r\n", quote(folder), message.len());
        client.send(command.as_bytes());
        client.read_continuation("append");
        client.send(message);
        client.send(b"\r\n");
        client.expect_completion("append", "OK");
        client.logout();
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let result = Command::new(script_path()).arg("stop").arg(self.dir.path()).output();
        match result {
            Ok(output) if output.status.success() => {}
            Ok(output) => eprintln!(
                "failed to stop Dovecot in {}:\n{}",
                self.dir.path().display(),
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(err) => eprintln!("failed to run scripts/dovecot.sh stop: {err}"),
        }
    }
}

fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/dovecot.sh")
}

/// Returns a loopback port that was free a moment ago. Another process may
/// take it before Dovecot binds it, which `start_with_users` retries.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("failed to bind a free port on 127.0.0.1");
    listener.local_addr().expect("failed to read the bound port").port()
}
