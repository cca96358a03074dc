//! `imapgate-bench`: seeds the benchmark accounts, runs one load scenario
//! against an IMAP endpoint, and turns the results of many runs into a
//! table. `scripts/bench.sh` drives it.

#![forbid(unsafe_code)]

mod imap;
mod naming;
mod report;
mod scenario;
mod seed;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use naming::Names;
use scenario::Target;

/// Every scenario is cut off after its duration plus this much.
const GRACE: Duration = Duration::from_secs(120);

#[derive(Parser)]
#[command(name = "imapgate-bench", about = "Load generator for IMAP servers and proxies")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the benchmark accounts as Maildir++ under HOME/<user>/Maildir.
    Seed {
        /// Directory that contains one home directory per user.
        #[arg(long)]
        home: PathBuf,
        /// Tiny accounts for a smoke run.
        #[arg(long)]
        quick: bool,
    },
    /// Print the imapgate [mailbox] section with the benchmark's ten rules.
    Rules,
    /// Run one scenario and print its figures as result lines.
    Run {
        #[command(subcommand)]
        scenario: Scenario,
        /// Endpoint, HOST:PORT.
        #[arg(long)]
        address: String,
        /// Column label for the result lines (direct, nginx, gate-plain, ...).
        #[arg(long)]
        label: String,
        /// Scenario name in the result lines; defaults to the subcommand.
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "secret")]
        password: String,
        /// Concurrent sessions.
        #[arg(long, default_value_t = 1)]
        sessions: usize,
        /// Run time of the measured phase, seconds.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// Print a Markdown table of medians from files of result lines.
    Report { files: Vec<PathBuf> },
}

#[derive(Subcommand, Clone)]
enum Scenario {
    /// FETCH BODY.PEEK[] of the INBOX's messages: MB/s.
    Bulk {
        /// Messages in the INBOX.
        #[arg(long)]
        messages: u32,
        /// Messages per FETCH command.
        #[arg(long, default_value_t = 10)]
        batch: u32,
    },
    /// NOOP, SELECT, STATUS and LIST in turn: commands/s and latency.
    Small {
        #[arg(long, value_enum)]
        names: Names,
        /// Folders in the account.
        #[arg(long, default_value_t = 50)]
        folders: usize,
    },
    /// LIST "" "*" repeated: median time per LIST.
    BigList {
        /// Minimum number of mailboxes the LIST must return.
        #[arg(long)]
        expect: usize,
        /// Most LIST commands to send.
        #[arg(long, default_value_t = 20)]
        max_runs: usize,
    },
    /// Connect, LOGIN, LOGOUT in a loop: sessions/s and login latency.
    Login,
    /// Hold logged-in idle sessions: RSS growth of the given processes.
    Idle {
        /// Processes whose VmRSS is summed (the proxy's).
        #[arg(long, value_delimiter = ',', required = true)]
        pids: Vec<u32>,
        /// Maximum number of logins in progress at a time.
        #[arg(long, default_value_t = 64)]
        parallel: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Seed { home, quick } => match seed::seed(&home, &seed::Sizes::new(quick)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("imapgate-bench: seeding {} failed: {error}", home.display());
                ExitCode::FAILURE
            }
        },
        Command::Rules => {
            print!("{}", naming::rules_toml());
            ExitCode::SUCCESS
        }
        Command::Report { files } => {
            let mut text = String::new();
            for file in &files {
                match std::fs::read_to_string(file) {
                    Ok(content) => text.push_str(&content),
                    Err(error) => {
                        eprintln!("imapgate-bench: reading {} failed: {error}", file.display());
                        return ExitCode::FAILURE;
                    }
                }
            }
            match report::table(&text) {
                Ok(table) => {
                    print!("{table}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("imapgate-bench: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Run { scenario, address, label, name, user, password, sessions, seconds } => {
            let target = Target { address, user, password };
            let duration = Duration::from_secs_f64(seconds);
            let name = name.unwrap_or_else(|| scenario_name(&scenario).to_string());
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(runtime) => runtime,
                Err(error) => {
                    eprintln!("imapgate-bench: cannot start the async runtime: {error}");
                    return ExitCode::FAILURE;
                }
            };
            let run = run(scenario, &target, sessions, duration);
            match runtime.block_on(async { tokio::time::timeout(duration + GRACE, run).await }) {
                Ok(Ok(figures)) => {
                    for (metric, value) in figures {
                        println!("{}", report::line(&label, &name, metric, value));
                    }
                    ExitCode::SUCCESS
                }
                Ok(Err(error)) => {
                    eprintln!("imapgate-bench: {name} against {label} ({}) failed: {error}", target.address);
                    ExitCode::FAILURE
                }
                Err(_) => {
                    eprintln!("imapgate-bench: {name} against {label} did not finish within {:?}", duration + GRACE);
                    ExitCode::FAILURE
                }
            }
        }
    }
}

async fn run(
    scenario: Scenario,
    target: &Target,
    sessions: usize,
    duration: Duration,
) -> Result<scenario::Figures, imap::ImapError> {
    match scenario {
        Scenario::Bulk { messages, batch } => scenario::bulk(target, sessions, duration, messages, batch).await,
        Scenario::Small { names, folders } => scenario::small(target, sessions, duration, names, folders).await,
        Scenario::BigList { expect, max_runs } => scenario::big_list(target, duration, max_runs, expect).await,
        Scenario::Login => scenario::login(target, sessions, duration).await,
        Scenario::Idle { pids, parallel } => scenario::idle(target, sessions, parallel, duration, &pids).await,
    }
}

fn scenario_name(scenario: &Scenario) -> &'static str {
    match scenario {
        Scenario::Bulk { .. } => "bulk",
        Scenario::Small { .. } => "small",
        Scenario::BigList { .. } => "big-list",
        Scenario::Login => "login",
        Scenario::Idle { .. } => "idle",
    }
}
