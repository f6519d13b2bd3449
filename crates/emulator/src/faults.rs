//! Fault injection: latency, random error statuses and dropped connections (reproducible with a
//! seed), scripted faults from the control API, and request counters.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The random faults applied to every API request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultConfig {
    /// Fixed latency added to every request, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Random extra latency, up to this many milliseconds.
    #[serde(default)]
    pub jitter_ms: u64,
    /// The share of requests (0 to 1) answered with an error status from `error_statuses`.
    #[serde(default)]
    pub error_rate: f64,
    /// The statuses an injected error is drawn from.
    #[serde(default = "default_statuses")]
    pub error_statuses: Vec<u16>,
    /// The share of requests (0 to 1) whose connection is dropped without an answer.
    #[serde(default)]
    pub drop_rate: f64,
}

fn default_statuses() -> Vec<u16> {
    vec![503, 429, 500]
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            jitter_ms: 0,
            error_rate: 0.0,
            error_statuses: default_statuses(),
            drop_rate: 0.0,
        }
    }
}

/// When a scripted fault strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Before the request is handled: nothing changes.
    #[default]
    Before,
    /// After the request is handled: the change is made but the answer is lost or replaced.
    After,
}

/// "Fail the next `count` requests matching `method` and `path_prefix`": with `status` (a
/// redirect to `location` when given), or by dropping the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The method to match (any if absent).
    #[serde(default)]
    pub method: Option<String>,
    /// The path prefix to match, as sent (encoded).
    #[serde(default)]
    pub path_prefix: String,
    /// How many matching requests fail.
    #[serde(default = "one")]
    pub count: u32,
    /// The status to answer with; ignored when `drop` is set.
    #[serde(default = "service_unavailable")]
    pub status: u16,
    /// Drop the connection instead of answering.
    #[serde(default)]
    pub drop: bool,
    /// Before or after the request is handled.
    #[serde(default)]
    pub phase: Phase,
    /// How many matching requests pass before the first failure.
    #[serde(default)]
    pub skip: u32,
    /// A `Location` header for the answer: with a 3xx `status`, a redirect. The DC/OS APIs
    /// never redirect; a client should refuse to follow one (it could carry a token to another
    /// host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Holds each matching request this long before anything else (a hang, when long). With
    /// `status` 0 and no `drop`, the request is then handled as usual.
    #[serde(default)]
    pub delay_ms: u64,
}

fn one() -> u32 {
    1
}
fn service_unavailable() -> u16 {
    503
}

/// What to do to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status.
    Status(u16),
    /// Answer with this status and `Location` header.
    Redirect(u16, String),
    /// Drop the connection.
    Drop,
}

/// Counters, as `GET /__emulator/counters` shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Requests per route (`METHOD /route/{template}`).
    pub requests: BTreeMap<String, u64>,
    /// All API requests.
    pub total: u64,
    /// Faults injected (statuses and drops).
    pub faults_injected: u64,
    /// Connections dropped.
    pub dropped: u64,
}

/// The fault injector of one emulator.
#[derive(Debug)]
pub struct Faults {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: FaultConfig,
    rules: Vec<FaultRule>,
    rng: StdRng,
    counters: Counters,
}

/// The faults decided for one request: a delay, and what happens before or after handling.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    /// Wait this long first.
    pub delay: Duration,
    /// Fail before handling.
    pub before: Option<Fault>,
    /// Handle, then fail.
    pub after: Option<Fault>,
}

impl Faults {
    /// An injector with random faults `config`, seeded for reproducibility.
    pub fn new(config: FaultConfig, seed: u64) -> Self {
        Self {
            inner: Mutex::new(Inner {
                config,
                rules: Vec::new(),
                rng: StdRng::seed_from_u64(seed),
                counters: Counters::default(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Decides the faults of one request and counts it under `route`.
    pub fn plan(&self, method: &str, path: &str, route: &str) -> Plan {
        let mut guard = self.lock();
        let inner = &mut *guard;
        inner.counters.total += 1;
        *inner
            .counters
            .requests
            .entry(format!("{method} {route}"))
            .or_default() += 1;

        let mut plan = Plan::default();
        let c = &inner.config;
        let jitter = if c.jitter_ms > 0 {
            inner.rng.gen_range(0..=c.jitter_ms)
        } else {
            0
        };
        plan.delay = Duration::from_millis(c.latency_ms + jitter);

        // A scripted rule wins over random faults.
        if let Some(i) = inner.rules.iter().position(|r| {
            r.path_prefix.len() <= path.len()
                && path.starts_with(&r.path_prefix)
                && r.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
        }) {
            let rule = &mut inner.rules[i];
            if rule.skip > 0 {
                rule.skip -= 1;
            } else {
                plan.delay += Duration::from_millis(rule.delay_ms);
                let fault = match (&rule.location, rule.drop, rule.status) {
                    (_, true, _) => Some(Fault::Drop),
                    (_, false, 0) => None,
                    (Some(location), false, _) => {
                        Some(Fault::Redirect(rule.status, location.clone()))
                    }
                    (None, false, _) => Some(Fault::Status(rule.status)),
                };
                match rule.phase {
                    Phase::Before => plan.before = fault,
                    Phase::After => plan.after = fault,
                }
                rule.count = rule.count.saturating_sub(1);
                if rule.count == 0 {
                    inner.rules.remove(i);
                }
            }
        } else {
            let c = &inner.config;
            let roll: f64 = inner.rng.r#gen();
            if roll < c.drop_rate {
                // A drop strikes before or after the work, at random: both happen on real
                // networks, and the second is the one that tests idempotency.
                let after: bool = inner.rng.r#gen();
                if after {
                    plan.after = Some(Fault::Drop);
                } else {
                    plan.before = Some(Fault::Drop);
                }
            } else if roll < c.drop_rate + c.error_rate && !c.error_statuses.is_empty() {
                let i = inner.rng.gen_range(0..c.error_statuses.len());
                plan.before = Some(Fault::Status(c.error_statuses[i]));
            }
        }
        for fault in plan.before.iter().chain(plan.after.iter()) {
            inner.counters.faults_injected += 1;
            if *fault == Fault::Drop {
                inner.counters.dropped += 1;
            }
        }
        plan
    }

    /// Adds a scripted fault.
    pub fn add_rule(&self, rule: FaultRule) {
        self.lock().rules.push(rule);
    }

    /// The scripted faults still pending.
    pub fn rules(&self) -> Vec<FaultRule> {
        self.lock().rules.clone()
    }

    /// Removes every scripted fault.
    pub fn clear_rules(&self) {
        self.lock().rules.clear();
    }

    /// Replaces the random fault settings.
    pub fn set_config(&self, config: FaultConfig) {
        self.lock().config = config;
    }

    /// The random fault settings.
    pub fn config(&self) -> FaultConfig {
        self.lock().config.clone()
    }

    /// The counters.
    pub fn counters(&self) -> Counters {
        self.lock().counters.clone()
    }

    /// Sets every counter to zero.
    pub fn reset_counters(&self) {
        self.lock().counters = Counters::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_method_and_prefix_and_run_out() {
        let f = Faults::new(FaultConfig::default(), 1);
        f.add_rule(FaultRule {
            method: Some("PUT".into()),
            path_prefix: "/secrets/v1/secret/default/a".into(),
            count: 2,
            status: 500,
            drop: false,
            phase: Phase::Before,
            skip: 1,
            location: None,
            delay_ms: 0,
        });
        let p = |m, path| f.plan(m, path, "r").before;
        assert_eq!(p("GET", "/secrets/v1/secret/default/a"), None);
        assert_eq!(p("PUT", "/secrets/v1/secret/default/a"), None); // skipped
        assert_eq!(
            p("PUT", "/secrets/v1/secret/default/a/b"),
            Some(Fault::Status(500))
        );
        assert_eq!(
            p("PUT", "/secrets/v1/secret/default/a"),
            Some(Fault::Status(500))
        );
        assert_eq!(p("PUT", "/secrets/v1/secret/default/a"), None);
        assert!(f.rules().is_empty());
        assert_eq!(f.counters().faults_injected, 2);
        assert_eq!(f.counters().requests["PUT r"], 4);
    }

    #[test]
    fn random_faults_are_reproducible_with_a_seed() {
        let config = FaultConfig {
            error_rate: 0.3,
            drop_rate: 0.1,
            jitter_ms: 10,
            ..FaultConfig::default()
        };
        let run = |seed| {
            let f = Faults::new(config.clone(), seed);
            (0..200)
                .map(|_| {
                    let p = f.plan("GET", "/x", "/x");
                    (p.delay, p.before, p.after)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let injected = run(7)
            .iter()
            .filter(|(_, b, a)| b.is_some() || a.is_some())
            .count();
        assert!((50..=110).contains(&injected), "{injected} of 200");
    }
}
