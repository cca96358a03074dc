//! The imapgate binary, started with a configuration written to a temporary
//! directory, listening on a free loopback port; stopped on drop.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ImapClient;

/// A running imapgate process.
pub struct Imapgate {
    child: Child,
    port: u16,
    upstream: SocketAddr,
    config_path: PathBuf,
    log_path: PathBuf,
    // Dropped after `Drop::drop` has stopped the process.
    _dir: tempfile::TempDir,
}

impl Imapgate {
    /// Starts imapgate in front of `upstream` with the filter chain
    /// `filters` and further TOML `sections` (`[mailbox]`, `[limits]`...).
    pub fn start(upstream: SocketAddr, filters: &[&str], sections: &str) -> Imapgate {
        let port = free_port();
        Imapgate::start_text(port, upstream, &config_text(port, upstream, filters, sections))
    }

    /// Starts imapgate with a whole configuration text in which `{port}`
    /// stands for the free port it listens on.
    pub fn start_custom(template: &str) -> Imapgate {
        let port = free_port();
        let unused = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        Imapgate::start_text(port, unused, &template.replace("{port}", &port.to_string()))
    }

    fn start_text(port: u16, upstream: SocketAddr, config: &str) -> Imapgate {
        let dir = tempfile::Builder::new()
            .prefix("imapgate-proxy-")
            .tempdir()
            .expect("failed to create a temporary directory");
        let config_path = dir.path().join("imapgate.toml");
        fs::write(&config_path, config).expect("failed to write the imapgate configuration");
        let log_path = dir.path().join("imapgate.log");
        let log = fs::File::create(&log_path).expect("failed to create the imapgate log file");

        let child = Command::new(env!("CARGO_BIN_EXE_imapgate"))
            .arg("run")
            .arg("--config")
            .arg(&config_path)
            .env("IMAPGATE_LOG", "trace")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("failed to start the imapgate binary");
        let mut proxy = Imapgate { child, port, upstream, config_path, log_path, _dir: dir };
        proxy.wait_until_listening();
        proxy
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// A new client connection; the greeting has been read.
    pub fn connect(&self) -> ImapClient {
        ImapClient::connect(self.addr())
    }

    /// Everything imapgate logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Waits up to 5 s for `needle` to appear in the log; returns the log.
    /// Lines are written when a session ends, which may be just after the
    /// client saw the connection close.
    pub fn wait_for_log(&self, needle: &str) -> String {
        self.wait_for_log_count(needle, 1)
    }

    /// Waits up to 5 s for `needle` to appear `count` times in the log.
    pub fn wait_for_log_count(&self, needle: &str, count: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.log();
            if log.matches(needle).count() >= count || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Replaces the configuration file (same listener and upstream); takes
    /// effect on [`Imapgate::signal`] `HUP`.
    pub fn rewrite_config(&self, filters: &[&str], sections: &str) {
        fs::write(&self.config_path, config_text(self.port, self.upstream, filters, sections))
            .expect("failed to rewrite the imapgate configuration");
    }

    /// Writes `text` as the configuration file, as it is.
    pub fn write_raw_config(&self, text: &str) {
        fs::write(&self.config_path, text).expect("failed to rewrite the imapgate configuration");
    }

    /// Sends a signal by name (`HUP`, `TERM`) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg("-s")
            .arg(name)
            .arg(self.child.id().to_string())
            .status()
            .expect("failed to run kill");
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits up to `timeout` for the process to exit; its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("imapgate exited with {status} before listening; log:\n{}", self.log());
            }
            if TcpStream::connect(self.addr()).is_ok() {
                // The probe is a session too: let it end, so that it holds
                // no session slot and its log line comes first.
                self.wait_for_log("session ended");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("imapgate did not listen on port {} within 10 s; log:\n{}", self.port, self.log());
    }
}

impl Drop for Imapgate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config_text(port: u16, upstream: SocketAddr, filters: &[&str], sections: &str) -> String {
    let filters: Vec<String> = filters.iter().map(|name| format!("{name:?}")).collect();
    format!(
        "filters = [{}]\n\n[[listen]]\naddress = \"127.0.0.1:{port}\"\n\n[upstream]\naddress = \"{upstream}\"\n\n{sections}\n",
        filters.join(", ")
    )
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("failed to bind a free port");
    listener.local_addr().expect("bound socket has an address").port()
}
