//! Ctrl-C and SIGTERM, and the run's limits. The first signal asks the running workflow to
//! stop: it starts nothing new, calls in flight are cut short (a write after a short grace, so
//! that the run knows whether it was applied), what the run changed is taken back within the
//! wind-down of [`dcos_transport::limits`], and the process exits 130 (or 143) after printing
//! its report; when the last writes were already answered, the job completes and the exit is
//! 0. Whatever the other side does, the process is gone [`EXIT_WITHIN`] after the first
//! signal. A second signal stops at once. Either way a stop that cannot wait removes temporary
//! files, names the command that finishes the job and, under `-o json`, still prints one JSON
//! document. At a prompt, where nothing has been sent, the first signal stops at once.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use dcos_transport::Limits;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// How long after the first signal the process is gone, whatever is in flight.
pub const EXIT_WITHIN: Duration = Duration::from_millis(4_500);

/// The first signal received, or 0.
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Whether the process waits at a prompt.
static PROMPTING: AtomicBool = AtomicBool::new(false);
/// Whether the command line asked for `-o json`.
static JSON: AtomicBool = AtomicBool::new(false);
/// The run's limits: its deadline, and the stop a signal asks for.
static LIMITS: OnceLock<Limits> = OnceLock::new();
/// How long one attempt of a request may take (`--timeout`).
static TIMEOUT: OnceLock<Duration> = OnceLock::new();

/// Handles SIGINT and SIGTERM from now on, on a thread of their own.
pub fn watch() -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if PROMPTING.load(Ordering::SeqCst) {
                    eprintln!();
                    exit_now(signal, "stopped at the prompt; nothing was changed");
                }
                match SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst) {
                    Ok(_) => {
                        if let Some(limits) = LIMITS.get() {
                            limits.stop();
                        }
                        eprintln!(
                            "stopping: nothing new starts, calls in flight are cut short and what \
                             was changed is taken back (press Ctrl-C again to stop at once)"
                        );
                        let _ =
                            std::thread::Builder::new()
                                .name("last-call".into())
                                .spawn(move || {
                                    std::thread::sleep(EXIT_WITHIN);
                                    exit_now(
                                        signal,
                                        &format!(
                                            "stopped: the run did not wind down within {} s",
                                            EXIT_WITHIN.as_secs_f32()
                                        ),
                                    );
                                });
                    }
                    Err(first) => exit_now(first, "stopped at once"),
                }
            }
        })?;
    Ok(())
}

/// Ends the process for `signal` at once: temporary files removed, the command that finishes
/// the job named and, under `-o json` with nothing printed yet, one JSON document.
fn exit_now(signal: i32, what: &str) -> ! {
    dcos_ops::files::remove_temporary_files();
    let code = 128 + signal;
    let hint = format!(
        "`{}` finishes the job (or says what is left)",
        command_line()
    );
    eprintln!("{what}; {hint}");
    let json = JSON.load(Ordering::SeqCst);
    crate::output::last_words(json.then(|| {
        let failure = crate::exit::Failure::new(
            code as u8,
            format!(
                "{what}: calls in flight were abandoned, and what the run changed may not all \
                 be taken back"
            ),
        )
        .hint(hint);
        let doc = serde_json::json!({ "error": failure.doc() });
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        text
    }));
    std::process::exit(code)
}

/// Settles the run: its limits and the time one attempt of a request may take. A signal that
/// came before is passed on to the limits.
pub fn configure(limits: Limits, timeout: Duration) {
    let _ = TIMEOUT.set(timeout);
    let limits = LIMITS.get_or_init(|| limits);
    if requested().is_some() {
        limits.stop();
    }
}

/// Whether a stop that cannot wait prints JSON: set as soon as the command line is read.
pub fn set_json(json: bool) {
    JSON.store(json, Ordering::SeqCst);
}

/// The run's limits (none before [`configure`]).
pub fn limits() -> Limits {
    LIMITS.get().cloned().unwrap_or_default()
}

/// How long one attempt of a request may take.
pub fn timeout() -> Duration {
    TIMEOUT
        .get()
        .copied()
        .unwrap_or(dcos_transport::DEFAULT_REQUEST_TIMEOUT)
}

/// The signal that asked to stop, if one did.
pub fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// While it lives, a signal stops the process at once: it waits at a prompt.
#[derive(Debug)]
pub struct Prompting;

impl Prompting {
    pub fn start() -> Self {
        PROMPTING.store(true, Ordering::SeqCst);
        Self
    }
}

impl Drop for Prompting {
    fn drop(&mut self) {
        PROMPTING.store(false, Ordering::SeqCst);
    }
}

/// This process's command line, to run again (it never holds a secret: none is an argument).
fn command_line() -> String {
    std::env::args()
        .map(|arg| {
            if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c))
            {
                format!("'{}'", arg.replace('\'', "'\\''"))
            } else {
                arg
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
