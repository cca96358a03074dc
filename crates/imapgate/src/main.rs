//! The `imapgate` command: `run` serves, `check` validates a configuration,
//! `explain` shows what the filters do to a written session.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use imapgate::config;
use imapgate::filter::{DelimiterSource, SessionInfo};
use imapgate::relay::RelayLimits;
use imapgate::session::Shared;
use imapgate_proto::encode::LiteralSupport;

/// Exit code for an invalid configuration (EX_CONFIG would be 78; 64 is
/// EX_USAGE, which administrators' scripts expect from imapgate).
const EXIT_INVALID_CONFIG: u8 = 64;

#[derive(Parser)]
#[command(name = "imapgate", version, about = "An IMAP proxy that rewrites mailbox names and more")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve clients with the given configuration.
    Run {
        /// Path of the TOML configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a configuration file and list every problem found.
    Check {
        /// Path of the TOML configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Run a transcript of `C:` and `S:` lines through the filters, without
    /// any network, and show what the server and the client would receive.
    Explain {
        /// Path of the TOML configuration file.
        #[arg(long, short)]
        config: PathBuf,
        /// Path of the transcript, or `-` for standard input.
        transcript: PathBuf,
        /// The server's hierarchy delimiter, or NIL for a flat server.
        /// Default: `[mailbox] server_delimiter`, else ".".
        #[arg(long)]
        server_delimiter: Option<String>,
        /// A namespace prefix of the server, such as "INBOX."; repeat for
        /// several. Default: none, so every name counts as inside.
        #[arg(long = "namespace")]
        namespaces: Vec<String>,
        /// The literals the server accepts without a continuation request.
        #[arg(long, value_enum, default_value_t = Literals::Plus)]
        literals: Literals,
        /// The session starts with UTF8=ACCEPT enabled: names are raw UTF-8.
        #[arg(long)]
        utf8: bool,
    },
}

/// The server's literal support, for `explain`.
#[derive(Clone, Copy, ValueEnum)]
enum Literals {
    /// LITERAL+: every literal may be non-synchronizing.
    Plus,
    /// LITERAL-: non-synchronizing literals up to 4096 bytes.
    Minus,
    /// Only synchronizing literals.
    Sync,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => check(&config),
        Command::Run { config } => run(&config),
        Command::Explain { config, transcript, server_delimiter, namespaces, literals, utf8 } => {
            let facts = Facts { server_delimiter, namespaces, literals, utf8 };
            explain(&config, &transcript, facts)
        }
    }
}

/// The session facts `explain` takes from its options.
struct Facts {
    server_delimiter: Option<String>,
    namespaces: Vec<String>,
    literals: Literals,
    utf8: bool,
}

fn explain(config_path: &Path, transcript_path: &Path, facts: Facts) -> ExitCode {
    let loaded = match config::load(config_path) {
        Ok(loaded) => loaded,
        Err(error) => {
            report_invalid(&error);
            return ExitCode::from(EXIT_INVALID_CONFIG);
        }
    };
    let read = if transcript_path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(transcript_path)
    };
    let transcript = match read {
        Ok(text) => text,
        Err(error) => {
            eprintln!("cannot read the transcript {}: {error}", transcript_path.display());
            return ExitCode::FAILURE;
        }
    };

    let server_delimiter = match facts.server_delimiter.as_deref() {
        None => match loaded.chain.server_delimiter() {
            DelimiterSource::Configured(delimiter) => Some(delimiter),
            _ => Some('.'),
        },
        Some(text) if text.eq_ignore_ascii_case("NIL") => None,
        Some(text) => {
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(delimiter), None) => Some(delimiter),
                _ => {
                    eprintln!("invalid --server-delimiter {text:?}: give one character, or NIL for a flat server");
                    return ExitCode::from(2);
                }
            }
        }
    };
    let session = SessionInfo {
        user: "user".to_owned(),
        server_delimiter,
        server_namespaces: facts.namespaces,
        utf8: facts.utf8,
        server_literals: match facts.literals {
            Literals::Plus => LiteralSupport::NonSyncAny,
            Literals::Minus => LiteralSupport::NonSyncUpTo4096,
            Literals::Sync => LiteralSupport::Synchronizing,
        },
    };
    let limits = RelayLimits {
        max_line: loaded.config.limits.max_line,
        max_collected: loaded.config.limits.max_collected,
        max_pipelined: loaded.config.limits.max_pipelined,
    };

    match imapgate::explain::explain(&loaded.chain, session, limits, &transcript) {
        Ok(explanation) => {
            print!("{}", explanation.text);
            if explanation.failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
        }
        Err(error) => {
            eprintln!("{}: {error}", transcript_path.display());
            ExitCode::from(2)
        }
    }
}

fn check(path: &Path) -> ExitCode {
    match config::load(path) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                println!("warning: {warning}");
            }
            println!("{}: configuration is valid (filters: {})", path.display(), loaded.chain.names().join(", "));
            ExitCode::SUCCESS
        }
        Err(error) => {
            report_invalid(&error);
            ExitCode::from(EXIT_INVALID_CONFIG)
        }
    }
}

fn report_invalid(error: &config::ConfigError) {
    eprintln!("{error}");
    for problem in &error.problems {
        eprintln!("  {problem}");
    }
}

fn run(path: &Path) -> ExitCode {
    let loaded = match config::load(path) {
        Ok(loaded) => loaded,
        Err(error) => {
            report_invalid(&error);
            return ExitCode::from(EXIT_INVALID_CONFIG);
        }
    };
    init_logging(loaded.config.log.format);
    for warning in &loaded.warnings {
        tracing::warn!(%warning, "configuration warning");
    }
    tracing::info!(config = %path.display(), filters = ?loaded.chain.names(), "starting imapgate {}", env!("CARGO_PKG_VERSION"));

    let shared = match Shared::new(loaded) {
        Ok(shared) => Arc::new(shared),
        Err(error) => {
            tracing::error!(%error, "imapgate cannot start");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(imapgate::server::run(shared, path.to_path_buf())) {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "imapgate stopped on an error");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr; `IMAPGATE_LOG` takes a filter such as `debug` or
/// `imapgate=debug,imapgate::access=info` (default `info`).
fn init_logging(format: config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IMAPGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: a log file gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        config::LogFormat::Text => builder.init(),
        config::LogFormat::Json => builder.json().init(),
    }
}
