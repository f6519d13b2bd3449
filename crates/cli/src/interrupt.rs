//! Ctrl-C and SIGTERM. The first asks the running workflow to stop: it starts nothing new,
//! lets what is in flight finish, takes back what it changed (an `apply` keeps the items that
//! finished, each whole), and the process exits 130 (or 143) after saying what was done; when
//! the last writes were already in flight, the job completes and the exit is 0. A second one stops at once, removing temporary files, and
//! says which command finishes the job. At a prompt, where nothing has been sent, the first
//! one stops at once.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The first signal received, or 0.
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Whether the process waits at a prompt.
static PROMPTING: AtomicBool = AtomicBool::new(false);

/// Handles SIGINT and SIGTERM from now on, on a thread of their own.
pub fn watch() -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if PROMPTING.load(Ordering::SeqCst) {
                    eprintln!();
                    std::process::exit(128 + signal);
                }
                match SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst) {
                    Ok(_) => eprintln!(
                        "stopping: nothing new starts; what is in flight finishes or is taken \
                         back (press Ctrl-C again to stop at once)"
                    ),
                    Err(first) => {
                        dcos_ops::files::remove_temporary_files();
                        eprintln!(
                            "stopped at once; `{}` finishes the job (or says what is left)",
                            command_line()
                        );
                        std::process::exit(128 + first);
                    }
                }
            }
        })?;
    Ok(())
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
