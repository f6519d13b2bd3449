//! What commands print: data on standard output (text, or JSON of the workflows' reports),
//! messages on standard error. No struct here holds a secret value.

use std::io::{IsTerminal, Write};

use dcos_ops::{ItemReport, Reporter, Stepped, Warning};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::args::Output;
use crate::exit::{self, Failure};
pub use dcos_connect::duration_words;
pub use dcos_ops::text::count;

/// Where output goes, and how it looks.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    /// Text or JSON.
    pub format: Output,
    quiet: bool,
}

impl Ui {
    /// A UI with the global options' format and quietness.
    pub fn new(format: Output, quiet: bool) -> Self {
        Self { format, quiet }
    }

    /// Whether JSON was asked for.
    pub fn json(&self) -> bool {
        self.format == Output::Json
    }

    /// Whether `-q` asked for errors only.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// A progress or status message on standard error (not with `-q`).
    pub fn info(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{}", terminal_text(&message.to_string()));
        }
    }

    /// A warning on standard error (not with `-q`).
    pub fn warn(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("warning: {}", one_line(&message.to_string()));
        }
    }

    /// A warning on standard error that `-q` does not silence: a weaker guarantee than the
    /// user asked for on the command line (TLS verification turned off by the environment).
    pub fn warn_always(&self, message: impl std::fmt::Display) {
        eprintln!("warning: {}", one_line(&message.to_string()));
    }

    /// Prints `value` as JSON, or `text` (a closure, so it is only built when needed).
    pub fn emit<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) -> exit::Result<()> {
        let mut rendered = if self.json() {
            serde_json::to_string_pretty(value)
                .map_err(|e| Failure::new(exit::FAILURE, format!("cannot render JSON: {e}")))?
        } else {
            terminal_text(&text())
        };
        if rendered.is_empty() {
            return Ok(());
        }
        if !rendered.ends_with('\n') {
            rendered.push('\n');
        }
        write_stdout(rendered.as_bytes())
    }
}

impl Ui {
    /// Under `-o json`, prints `report` with the failure as its `"error"` field, and returns the
    /// failure marked as reported; in text, returns it as it is (the caller printed the report).
    pub fn fail_with<T: Serialize>(&self, report: &T, mut failure: Failure) -> exit::Result<()> {
        // Asked to stop: the exit code is the signal's, whatever came of what was in flight.
        if let Some(signal) = crate::interrupt::requested() {
            failure.code = (128 + signal) as u8;
        }
        if self.json() {
            let mut doc = serde_json::to_value(report)
                .map_err(|e| Failure::new(exit::FAILURE, format!("cannot render JSON: {e}")))?;
            if let Some(fields) = doc.as_object_mut() {
                let error = serde_json::to_value(failure.doc()).unwrap_or_default();
                fields.insert("error".into(), error);
            }
            self.emit(&doc, String::new)?;
            failure.reported = true;
        }
        Err(failure)
    }

    /// A workflow's end: its steps (in text), then the failure with the report, or the report
    /// with `text` (called on success only) on standard output.
    pub fn finish<R: Stepped + Serialize>(
        &self,
        result: dcos_ops::RunResult<R>,
        text: impl FnOnce(&R) -> String,
    ) -> exit::Result<()> {
        match settle(self, result) {
            (report, Some(failure)) => self.fail_with(&report, failure),
            (report, None) => self.emit(&report, || text(&report)),
        }
    }
}

/// Text for one line of a terminal: no escape sequence or control character, whatever a
/// server put in it (a name with a line break cannot forge a line of its own).
pub fn one_line(text: &str) -> String {
    dcos_transport::terminal_safe(text)
}

/// Lines for a terminal: each made [`one_line`], the line breaks kept.
pub fn terminal_text(text: &str) -> String {
    text.split('\n')
        .map(one_line)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes bytes to standard output, as they are.
pub fn write_stdout(bytes: &[u8]) -> exit::Result<()> {
    let mut printed = PRINTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *printed = true;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::new(
            exit::FAILURE,
            format!("cannot write to standard output: {e}"),
        )),
    }
}

/// Whether anything was written to standard output; held while writing, so that a process
/// that must end at once never cuts a document in two or prints a second one.
static PRINTED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);

/// The last thing a process that must end at once prints: `document`, unless something was
/// printed already. Waits a little for a write under way to finish (a reader that stopped
/// reading must not keep the process alive: then nothing more is printed), and keeps standard
/// output for itself until the process ends.
pub fn last_words(document: Option<String>) {
    let mut waited = 0;
    let printed = loop {
        match PRINTED.try_lock() {
            Ok(printed) => break printed,
            Err(std::sync::TryLockError::Poisoned(p)) => break p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) if waited < 50 => {
                std::thread::sleep(std::time::Duration::from_millis(10));
                waited += 1;
            }
            Err(std::sync::TryLockError::WouldBlock) => return,
        }
    };
    if let (false, Some(document)) = (*printed, document) {
        let mut out = std::io::stdout().lock();
        let _ = out
            .write_all(document.as_bytes())
            .and_then(|()| out.flush());
    }
    // Held until the process exits.
    std::mem::forget(printed);
}

/// Steps beyond which a report's text leaves out the steps that change nothing.
const LONG_PLAN: usize = 100;

/// A workflow's report and its failure, if it failed; for people, its steps are printed on
/// standard error (JSON carries them in the report).
pub fn settle<R: Stepped>(ui: &Ui, result: dcos_ops::RunResult<R>) -> (R, Option<Failure>) {
    let (report, failure) = match result {
        Ok(report) => (report, None),
        Err(dcos_ops::Failed { report, error }) => (report, Some(Failure::from(error))),
    };
    if !ui.json() {
        // A long plan (a restore of thousands of secrets) shows what changes or has something
        // to say, and counts the rest.
        let quiet = |s: &&dcos_ops::Step| !s.changes() && s.error.is_none() && s.notes.is_empty();
        let long = report.steps().len() > LONG_PLAN;
        for step in report.steps().iter().filter(|s| !(long && quiet(s))) {
            ui.info(step.to_string());
        }
        let hidden = report.steps().iter().filter(quiet).count();
        if long && hidden > 0 {
            ui.info(format!(
                "... and {hidden} steps with nothing to change (-o json lists them)"
            ));
        }
    }
    (report, failure)
}

/// A warning in this tool's words (naming its flags where the workflow names a setting).
pub fn warning_text(warning: &Warning) -> String {
    match warning {
        Warning::DocsLayout => "the top-level `s3` block is the documentation's layout; every \
            published Data Science Engine package reads `storage.s3` and silently ignores `s3`, \
            so the service will not use these credentials (use --layout schema)"
            .to_owned(),
        other => other.to_string(),
    }
}

/// A spinner with `message` on standard error while something slow runs: only on a terminal,
/// and not with `-q` or `-o json`.
pub fn spinner(ui: &Ui, message: &str) -> Option<ProgressBar> {
    if ui.json() || ui.is_quiet() || !std::io::stderr().is_terminal() {
        return None;
    }
    let spinner = ProgressBar::new_spinner().with_message(message.to_owned());
    spinner.enable_steady_tick(std::time::Duration::from_millis(100));
    Some(spinner)
}

/// Reports a workflow's warnings and progress on standard error: a progress bar on a terminal
/// while people read the output, the items that changed or failed as they finish.
#[derive(Debug)]
pub struct Progress {
    ui: Ui,
    bar: std::sync::Mutex<Option<ProgressBar>>,
}

impl Progress {
    pub fn new(ui: Ui) -> Self {
        Self {
            ui,
            bar: std::sync::Mutex::new(None),
        }
    }

    fn with_bar(&self, f: impl FnOnce(&ProgressBar)) {
        if let Ok(bar) = self.bar.lock()
            && let Some(bar) = bar.as_ref()
        {
            f(bar);
        }
    }
}

impl Reporter for Progress {
    fn warn(&self, warning: &Warning) {
        self.ui.warn(warning_text(warning));
    }

    fn planned(&self, to_change: usize, total: usize, refused: usize) {
        let refused = match refused {
            0 => String::new(),
            n => format!(", {n} refused"),
        };
        self.ui.info(format!(
            "plan: {to_change} of {} to change{refused}",
            count(total, "item", "items")
        ));
    }

    fn begin(&self, total: usize) {
        let ui = &self.ui;
        if ui.json() || ui.is_quiet() || !std::io::stderr().is_terminal() {
            return;
        }
        let bar = ProgressBar::new(total as u64);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} items {elapsed}") {
            bar.set_style(style);
        }
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn item_done(&self, item: &ItemReport) {
        let show = item.result == dcos_ops::Status::Changed && !self.ui.json();
        let mut shown = false;
        self.with_bar(|bar| {
            bar.inc(1);
            if show {
                bar.suspend(|| self.ui.info(item.to_string()));
                shown = true;
            }
        });
        if show && !shown {
            self.ui.info(item.to_string());
        }
    }

    fn advanced(&self, done: usize) {
        self.with_bar(|bar| bar.inc(done as u64));
    }

    fn end(&self) {
        self.with_bar(ProgressBar::finish_and_clear);
    }

    fn stop_requested(&self) -> bool {
        crate::interrupt::requested().is_some()
    }
}
