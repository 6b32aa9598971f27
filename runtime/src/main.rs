//! `switchboard`: a NATS server. Takes nats-server's command-line flags (see `--help`).

use std::process::ExitCode;

use switchboard_server::cli::{self, Action, CliError};
use switchboard_server::{logging, Server};

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
        Err(error) => return refuse(&error),
    };
    if let Err(error) = logging::init(&options.log) {
        eprintln!("switchboard: {error}");
        return ExitCode::FAILURE;
    }
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
    runtime.block_on(serve(options.server))
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

/// Runs until SIGINT or SIGTERM, then shuts down cleanly.
async fn serve(options: switchboard_server::ServerOptions) -> ExitCode {
    let server = match Server::start(options).await {
        Ok(server) => server,
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::FAILURE;
        }
    };
    match wait_for_signal().await {
        Ok(name) => tracing::info!("Trapped {name:?} signal"),
        Err(error) => tracing::error!("Could not wait for signals, shutting down: {error}"),
    }
    server.shutdown().await;
    ExitCode::SUCCESS
}

/// Waits for SIGINT or SIGTERM and names it as Go's `os.Signal.String()` does.
#[cfg(unix)]
async fn wait_for_signal() -> std::io::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        biased;
        _ = interrupt.recv() => Ok("interrupt"),
        _ = terminate.recv() => Ok("terminated"),
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> std::io::Result<&'static str> {
    tokio::signal::ctrl_c().await.map(|()| "interrupt")
}
