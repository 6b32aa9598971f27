//! `switchboard`: a NATS server. Takes nats-server's command-line flags (see `--help`).

use std::process::ExitCode;

use switchboard_server::cli::{self, Action, CliError, RunOptions};
use switchboard_server::config_file;
use switchboard_server::logging::{self, LogHandle};
use switchboard_server::options::{self, Resolved};
use switchboard_server::reload::Reloader;
use switchboard_server::signals::{self, Signal, Signals};
use switchboard_server::Server;

fn main() -> ExitCode {
    let mut args = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(arg) => args.push(arg),
            Err(raw) => {
                eprintln!("switchboard: argument {raw:?} is not valid UTF-8");
                return ExitCode::from(2);
            }
        }
    }
    let options = match cli::parse(args) {
        Ok(Action::Run(options)) => *options,
        Ok(Action::Help) => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Action::Version) => {
            println!("switchboard: v{}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Ok(Action::Signal { command, pid }) => {
            return match signals::send(&command, pid.as_deref()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("switchboard: {error}");
                    ExitCode::FAILURE
                }
            };
        }
        Err(error) => return refuse(&error),
    };
    let resolved = match resolve(&options) {
        Ok(resolved) => resolved,
        Err(message) => {
            eprintln!("switchboard: {message}");
            return ExitCode::FAILURE;
        }
    };
    if options.check_config {
        // -t: nats-server's wording (without its config digest).
        if let Some(path) = &options.config_file {
            for warning in &resolved.warnings {
                eprintln!("switchboard: {warning}");
            }
            eprintln!(
                "switchboard: configuration file {} is valid",
                path.display()
            );
        }
        return ExitCode::SUCCESS;
    }
    let log = match logging::init(&resolved.log) {
        Ok(log) => log,
        Err(error) => {
            eprintln!("switchboard: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("Could not start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    for warning in &resolved.warnings {
        tracing::warn!("{warning}");
    }
    if let Some(path) = &options.config_file {
        tracing::info!("Using configuration file: {}", path.display());
    }
    let reloader = Reloader::new(
        options.config_file,
        options.flags,
        resolved.server.clone(),
        resolved.log,
    );
    runtime.block_on(serve(resolved.server, log, reloader))
}

/// The options to run with: the flags alone, or the config file with the flags over it.
fn resolve(options: &RunOptions) -> Result<Resolved, String> {
    let Some(path) = &options.config_file else {
        return Ok(Resolved {
            server: options.server.clone(),
            log: options.log.clone(),
            warnings: Vec::new(),
        });
    };
    let loaded = config_file::load(path).map_err(|error| error.to_string())?;
    options::resolve(Some(&loaded), &options.flags).map_err(|errors| errors.join("\n"))
}

/// Prints why the command line was refused, and says how to exit.
fn refuse(error: &CliError) -> ExitCode {
    match error {
        CliError::Usage(message) => eprintln!("{message}\n{}", cli::USAGE),
        CliError::Fatal(message) => eprintln!("switchboard: {message}"),
    }
    // Exit codes are 1 or 2, which fit.
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1))
}

/// Runs until SIGINT or SIGTERM (or the end of lame duck mode), handling the other signals as
/// nats-server does (server/signal.go): SIGHUP reloads the config, SIGUSR1 reopens the log
/// file, SIGUSR2 enters lame duck mode.
async fn serve(
    options: switchboard_server::ServerOptions,
    log: LogHandle,
    mut reloader: Reloader,
) -> ExitCode {
    let mut server = match Server::start(options).await {
        Ok(server) => server,
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let mut signals = match Signals::new() {
        Ok(signals) => signals,
        Err(error) => {
            tracing::error!("Could not wait for signals, shutting down: {error}");
            server.shutdown().await;
            return ExitCode::FAILURE;
        }
    };
    let mut lame_duck = false;
    loop {
        tokio::select! {
            biased;
            signal = signals.next() => {
                tracing::info!("Trapped {:?} signal", signal.name());
                match signal {
                    Signal::Interrupt => break,
                    // SIGTERM during lame duck mode lets it finish (nats-server does the same).
                    Signal::Terminate if lame_duck => {}
                    Signal::Terminate => break,
                    Signal::Hangup => {
                        if let Err(error) = reloader.reload(&server, &log).await {
                            tracing::error!("Failed to reload server configuration: {error}");
                        }
                    }
                    Signal::User1 => reopen_log(&log),
                    Signal::User2 => {
                        lame_duck = true;
                        server.lame_duck().await;
                    }
                }
            }
            () = server.stopped() => break,
        }
    }
    server.shutdown().await;
    ExitCode::SUCCESS
}

/// SIGUSR1: open the log file again by name (after logrotate moved it).
fn reopen_log(log: &LogHandle) {
    if log.file().is_none() {
        tracing::info!("File log re-open ignored, not a file logger");
        return;
    }
    match log.reopen() {
        Ok(()) => tracing::info!("File log re-opened"),
        Err(error) => tracing::error!("Could not re-open log file: {error}"),
    }
}
