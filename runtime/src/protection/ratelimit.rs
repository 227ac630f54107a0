//! Token buckets per client (the API key's name, or the peer address without
//! auth): one bucket for the LLM routes (requests per minute) and one for the
//! other API routes (cost units per minute, each route its cost). Answers 429
//! with `Retry-After` and the `RateLimit-Policy` / `RateLimit` headers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Routes with a cost, by the name `HERMES_RATE_LIMIT_COSTS` uses.
pub const ROUTES: &[&str] = &hermes_interface::env::RATE_LIMIT_ROUTES;

/// Cost of each API route (1 unless configured).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Costs(Vec<(&'static str, u32)>);

impl Costs {
    pub fn parse(v: &str) -> Result<Self, String> {
        let mut costs = Vec::new();
        for entry in v.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, cost) = entry
                .split_once('=')
                .ok_or_else(|| format!("invalid entry {entry:?}: expected route=cost"))?;
            let route = ROUTES.iter().find(|r| **r == name.trim()).ok_or_else(|| {
                format!(
                    "unknown route {:?} (known: {})",
                    name.trim(),
                    ROUTES.join(", ")
                )
            })?;
            let cost = cost
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|c| (1..=1_000_000).contains(c))
                .ok_or_else(|| format!("invalid cost in {entry:?}: expected 1..=1000000"))?;
            costs.push((*route, cost));
        }
        Ok(Self(costs))
    }

    pub fn of(&self, route: &str) -> u32 {
        self.0
            .iter()
            .find(|(r, _)| *r == route)
            .map_or(1, |(_, c)| *c)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RateLimits {
    /// Requests per minute per client on the LLM routes; 0 = off.
    pub llm_per_minute: u32,
    /// Cost units per minute per client on the other API routes; 0 = off.
    pub per_minute: u32,
    pub costs: Costs,
}

/// Which bucket a request draws from, and how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub policy: &'static str,
    pub cost: u32,
    pub per_minute: u32,
}

impl RateLimits {
    /// The charge for `path`, or `None` for unlimited paths (probes, metrics, meta).
    pub fn charge(&self, path: &str) -> Option<Charge> {
        let route = route_of(path)?;
        if route == "llm" {
            return (self.llm_per_minute > 0).then_some(Charge {
                policy: "llm",
                cost: 1,
                per_minute: self.llm_per_minute,
            });
        }
        (self.per_minute > 0).then(|| Charge {
            policy: "api",
            cost: self.costs.of(route),
            per_minute: self.per_minute,
        })
    }
}

/// The API route `path` belongs to, by the names of [`ROUTES`] (plus `llm`), with or
/// without `/v1`; the OpenAI routes belong to their Hermes counterparts. `None`:
/// probes, metrics and meta paths.
pub fn route_of(path: &str) -> Option<&'static str> {
    let path = path
        .strip_prefix("/v1")
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    Some(match path.trim_end_matches('/') {
        "/llm" | "/chat/completions" => "llm",
        "/embed_text" | "/embeddings" => "embed_text",
        "/stt" | "/audio/transcriptions" => "stt",
        "/tts" | "/audio/speech" => "tts",
        "/ingest/media" => "ingest",
        "/feedback" => "feedback",
        "/simple_nlp" => "simple_nlp",
        _ => return None,
    })
}

/// The outcome of one charge, with what the headers report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_seconds: u64,
    /// Seconds until this request's cost is available (0 when allowed).
    pub retry_after_seconds: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// All clients' buckets.
#[derive(Debug, Default)]
pub struct Buckets {
    map: Mutex<HashMap<(String, &'static str), Bucket>>,
}

/// Buckets kept before full ones are forgotten.
const PRUNE_ABOVE: usize = 10_000;

impl Buckets {
    pub fn take(&self, client: &str, charge: Charge, now: Instant) -> Decision {
        let capacity = f64::from(charge.per_minute);
        let rate = capacity / 60.0;
        let cost = f64::from(charge.cost);
        let Ok(mut map) = self.map.lock() else {
            // A poisoned lock (a panic elsewhere) must not block traffic.
            return Decision {
                allowed: true,
                remaining: 0,
                reset_seconds: 0,
                retry_after_seconds: 0,
            };
        };
        if map.len() > PRUNE_ABOVE {
            map.retain(|(_, policy), b| {
                *policy != charge.policy
                    || b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate
                        < capacity
            });
        }
        let bucket = map
            .entry((client.to_owned(), charge.policy))
            .or_insert(Bucket {
                tokens: capacity,
                at: now,
            });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.at = now;
        let allowed = bucket.tokens >= cost;
        if allowed {
            bucket.tokens -= cost;
        }
        let missing = (cost - bucket.tokens).max(0.0);
        Decision {
            allowed,
            remaining: bucket.tokens.floor() as u32,
            reset_seconds: ((capacity - bucket.tokens) / rate).ceil() as u64,
            retry_after_seconds: if allowed {
                0
            } else {
                (missing / rate).ceil().max(1.0) as u64
            },
        }
    }
}

/// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers): quota per 60 s window.
pub fn policy_header(charge: Charge) -> String {
    format!("\"{}\";q={};w=60", charge.policy, charge.per_minute)
}

/// `RateLimit`: what is left now and when the window resets.
pub fn state_header(charge: Charge, d: Decision) -> String {
    format!(
        "\"{}\";r={};t={}",
        charge.policy, d.remaining, d.reset_seconds
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits() -> RateLimits {
        RateLimits {
            llm_per_minute: 10,
            per_minute: 20,
            costs: Costs::parse("stt=10").unwrap(),
        }
    }

    #[test]
    fn routes_are_charged_by_class_and_cost() {
        let l = limits();
        assert_eq!(l.charge("/llm").map(|c| c.policy), Some("llm"));
        assert_eq!(
            l.charge("/v1/chat/completions").map(|c| c.policy),
            Some("llm")
        );
        assert_eq!(l.charge("/v1/stt").map(|c| c.cost), Some(10));
        assert_eq!(
            l.charge("/v1/audio/transcriptions").map(|c| c.cost),
            Some(10)
        );
        assert_eq!(l.charge("/v1/audio/speech"), l.charge("/tts"));
        assert_eq!(l.charge("/v1/embeddings").map(|c| c.cost), Some(1));
        assert_eq!(l.charge("/embed_text").map(|c| c.cost), Some(1));
        assert_eq!(l.charge("/health"), None);
        assert_eq!(l.charge("/metrics"), None);
        let off = RateLimits::default();
        assert_eq!(off.charge("/llm"), None);
    }

    #[test]
    fn a_bucket_empties_then_refills() {
        let buckets = Buckets::default();
        let charge = limits().charge("/llm").unwrap();
        let t0 = Instant::now();
        for i in 0..10 {
            let d = buckets.take("alice", charge, t0);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 9 - i);
        }
        let refused = buckets.take("alice", charge, t0);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_seconds, 6, "one token every 6 s");
        assert!(buckets.take("bob", charge, t0).allowed, "clients are apart");
        assert!(
            buckets
                .take("alice", charge, t0 + Duration::from_secs(6))
                .allowed
        );
    }

    #[test]
    fn costly_routes_drain_faster() {
        let buckets = Buckets::default();
        let stt = limits().charge("/stt").unwrap();
        let t0 = Instant::now();
        assert!(buckets.take("c", stt, t0).allowed);
        assert!(buckets.take("c", stt, t0).allowed);
        assert!(!buckets.take("c", stt, t0).allowed);
    }
}
