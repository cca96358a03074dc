//! The `imapgate` command: `run` serves, `check` validates a configuration.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use imapgate::config;
use imapgate::session::Shared;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => check(&config),
        Command::Run { config } => run(&config),
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
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        config::LogFormat::Text => builder.init(),
        config::LogFormat::Json => builder.json().init(),
    }
}
