//! How long a whole run's calls may take: a deadline for everything a command does, and a stop
//! that its caller asks for (Ctrl-C). Every request of a [`crate::Transport`] built with
//! [`crate::TransportBuilder::limits`], and every future run through [`Limits::bound`] (the AWS
//! SDK's calls, say), ends by them, whatever the other side does.
//!
//! Once the deadline passes or a stop is asked for, the run winds down:
//! - a read in flight is cut at once; a write in flight gets [`WRITE_GRACE`] to be answered, so
//!   that the run knows whether it was applied (past that it is cut, its outcome unknown);
//! - calls made after that moment (taking back what the run changed) may take until
//!   [`WIND_DOWN`] after it; later ones fail at once without being sent.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// How long a write in flight may still take once the run winds down.
pub const WRITE_GRACE: Duration = Duration::from_millis(1500);
/// How long a run may go on calling (to take back what it changed) once it winds down.
pub const WIND_DOWN: Duration = Duration::from_secs(3);

/// Why a call was cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The caller asked the run to stop.
    Stopped,
    /// The run's deadline (its total time, given) passed.
    Deadline(Duration),
}

/// Whether a call changes something: a write in flight is given [`WRITE_GRACE`] to finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// Reads only: cut at once.
    Read,
    /// May change something.
    Write,
}

/// A run's deadline and stop, shared by its clones (one per process, typically).
#[derive(Debug, Clone)]
pub struct Limits {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// When the run must be over, and its total time.
    deadline: Option<(Instant, Duration)>,
    /// When a stop was asked for.
    stop: watch::Sender<Option<Instant>>,
}

impl Default for Limits {
    fn default() -> Self {
        Self::none()
    }
}

impl Limits {
    /// No deadline; only a stop ends calls early.
    pub fn none() -> Self {
        Self::new(None)
    }

    /// Calls end `total` from now at the latest.
    pub fn with_deadline(total: Duration) -> Self {
        Self::new(Some(total))
    }

    fn new(total: Option<Duration>) -> Self {
        let (stop, _) = watch::channel(None);
        Self {
            inner: Arc::new(Inner {
                deadline: total.map(|t| (Instant::now() + t, t)),
                stop,
            }),
        }
    }

    /// Asks the run to stop: calls in flight are cut (writes after their grace). Safe from any
    /// thread, a signal handler's included; a second call changes nothing.
    pub fn stop(&self) {
        self.inner.stop.send_if_modified(|at| match at {
            Some(_) => false,
            None => {
                *at = Some(Instant::now());
                true
            }
        });
    }

    /// Whether a stop was asked for.
    pub fn stop_requested(&self) -> bool {
        self.inner.stop.borrow().is_some()
    }

    /// When the run began to wind down (or will, at its deadline), and why.
    fn wind_down(&self) -> Option<(Instant, Cut)> {
        let stopped = (*self.inner.stop.borrow()).map(|at| (at, Cut::Stopped));
        let deadline = self
            .inner
            .deadline
            .map(|(at, total)| (at, Cut::Deadline(total)));
        match (stopped, deadline) {
            (Some(s), Some(d)) => Some(if d.0 < s.0 { d } else { s }),
            (s, d) => s.or(d),
        }
    }

    /// When a `call` that began at `began` is cut, and why; `None` while nothing limits it.
    fn cutoff(&self, call: Call, began: Instant) -> Option<(Instant, Cut)> {
        let (at, why) = self.wind_down()?;
        let until = match (began < at, call) {
            (true, Call::Read) => at,
            (true, Call::Write) => at + WRITE_GRACE,
            (false, _) => at + WIND_DOWN,
        };
        Some((until, why))
    }

    /// Whether a `call` may start now: not once the wind-down is over.
    pub fn may_start(&self, call: Call) -> Result<(), Cut> {
        match self.cutoff(call, Instant::now()) {
            Some((at, why)) if at <= Instant::now() => Err(why),
            _ => Ok(()),
        }
    }

    /// Runs `call` until it ends or these limits cut it; a call that may no longer start is
    /// cut before it is polled.
    pub async fn bound<F: Future>(&self, kind: Call, call: F) -> Result<F::Output, Cut> {
        let began = Instant::now();
        let mut stops = self.inner.stop.subscribe();
        let mut call = std::pin::pin!(call);
        loop {
            let cutoff = self.cutoff(kind, began);
            if let Some((at, why)) = cutoff
                && at <= Instant::now()
            {
                return Err(why);
            }
            let expiry = async {
                match cutoff {
                    Some((at, _)) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                output = &mut call => return Ok(output),
                () = expiry => {
                    if let Some((_, why)) = cutoff {
                        return Err(why);
                    }
                }
                // A stop changes the cutoff: compute it again.
                changed = stops.changed() => {
                    if changed.is_err() {
                        return Ok(call.await);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_stop_cuts_a_read_at_once_and_a_write_after_its_grace() {
        let limits = Limits::none();
        let stopper = limits.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            stopper.stop();
        });
        let started = Instant::now();
        let read = limits.bound(Call::Read, std::future::pending::<()>()).await;
        assert_eq!(read, Err(Cut::Stopped));
        assert_eq!(started.elapsed(), Duration::from_secs(1));

        // A write begun before the stop gets its grace; one begun after, the wind-down.
        let limits = Limits::none();
        let stopper = limits.clone();
        let write = tokio::spawn({
            let limits = limits.clone();
            async move {
                let began = Instant::now();
                let cut = limits
                    .bound(Call::Write, std::future::pending::<()>())
                    .await;
                (cut, began.elapsed())
            }
        });
        tokio::time::sleep(Duration::from_secs(2)).await;
        stopper.stop();
        let (cut, took) = write.await.unwrap();
        assert_eq!(cut, Err(Cut::Stopped));
        assert_eq!(took, Duration::from_secs(2) + WRITE_GRACE);
        let began = Instant::now();
        let undo = limits
            .bound(Call::Write, std::future::pending::<()>())
            .await;
        assert_eq!(undo, Err(Cut::Stopped));
        assert!(began.elapsed() <= WIND_DOWN, "{:?}", began.elapsed());
        // Past the wind-down nothing starts.
        tokio::time::sleep(WIND_DOWN).await;
        let began = Instant::now();
        assert_eq!(limits.bound(Call::Write, async {}).await, Err(Cut::Stopped));
        assert_eq!(began.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_cuts_what_is_in_flight_then_lets_the_undo_run() {
        let limits = Limits::with_deadline(Duration::from_secs(5));
        let done = limits.bound(Call::Read, async { 7 }).await;
        assert_eq!(done, Ok(7));
        let began = Instant::now();
        let cut = limits.bound(Call::Read, std::future::pending::<()>()).await;
        assert_eq!(cut, Err(Cut::Deadline(Duration::from_secs(5))));
        assert_eq!(began.elapsed(), Duration::from_secs(5));
        // Just after the deadline, a call that takes back a change may still run.
        let undo = limits
            .bound(Call::Write, tokio::time::sleep(Duration::from_secs(1)))
            .await;
        assert_eq!(undo, Ok(()));
        assert!(!limits.stop_requested());
    }
}
