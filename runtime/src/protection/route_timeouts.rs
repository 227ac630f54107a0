//! The per-route request timeouts (`HERMES_REQUEST_TIMEOUT_MS`,
//! `HERMES_ROUTE_TIMEOUTS_MS`): each route's limit until its response starts; the
//! middleware that enforces them is [`super::timeout`].

use std::time::Duration;

use super::ratelimit::{ROUTES, route_of};

/// Routes without a timeout of their own get `HERMES_REQUEST_TIMEOUT_MS`.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// Transcription and generation on CPU take longer than an embedding.
pub const DEFAULT_ROUTE_TIMEOUTS: &str = "stt=300000,ingest=300000,tts=120000,llm=300000";
/// The longest timeout accepted (one day).
const MAX_TIMEOUT_MS: u64 = 86_400_000;

/// Each route's limit; `None` = no timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTimeouts {
    pub default: Option<Duration>,
    per_route: Vec<(&'static str, Option<Duration>)>,
}

fn limit(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

impl RequestTimeouts {
    /// `default_ms` for every route not in `routes` (`route=ms,...`); 0 = none.
    pub fn parse(default_ms: u64, routes: &str) -> Result<Self, String> {
        let mut per_route = Vec::new();
        for entry in routes.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, ms) = entry
                .split_once('=')
                .ok_or_else(|| format!("invalid entry {entry:?}: expected route=milliseconds"))?;
            let name = name.trim();
            let route = ROUTES
                .iter()
                .chain(&["llm"])
                .find(|r| **r == name)
                .ok_or_else(|| {
                    format!("unknown route {name:?} (known: {}, llm)", ROUTES.join(", "))
                })?;
            let ms = ms
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms <= MAX_TIMEOUT_MS)
                .ok_or_else(|| {
                    format!("invalid timeout in {entry:?}: expected milliseconds in 0..={MAX_TIMEOUT_MS}")
                })?;
            per_route.retain(|(r, _)| r != route);
            per_route.push((*route, limit(ms)));
        }
        Ok(Self {
            default: limit(default_ms),
            per_route,
        })
    }

    /// The limit of a request to `path`.
    pub fn of(&self, path: &str) -> Option<Duration> {
        let route = route_of(path);
        self.per_route
            .iter()
            .find(|(r, _)| Some(*r) == route)
            .map_or(self.default, |(_, limit)| *limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_get_their_own_limit_or_the_default() {
        let t = RequestTimeouts::parse(DEFAULT_TIMEOUT_MS, DEFAULT_ROUTE_TIMEOUTS).unwrap();
        let secs = |p: &str| t.of(p).map(|d| d.as_secs());
        assert_eq!(secs("/embed_text"), Some(60));
        assert_eq!(secs("/v1/embeddings"), Some(60));
        assert_eq!(secs("/stt"), Some(300));
        assert_eq!(secs("/v1/audio/transcriptions"), Some(300));
        assert_eq!(secs("/v1/audio/speech"), Some(120));
        assert_eq!(secs("/v1/chat/completions"), Some(300));
        assert_eq!(secs("/health"), Some(60));
        let t = RequestTimeouts::parse(0, "embed_text=250, llm=0").unwrap();
        assert_eq!(t.of("/embed_text"), Some(Duration::from_millis(250)));
        assert_eq!(t.of("/llm"), None);
        assert_eq!(t.of("/stt"), None);
        for bad in ["nosuch=1", "stt", "stt=x", "stt=-1", "stt=86400001"] {
            assert!(RequestTimeouts::parse(1, bad).is_err(), "{bad}");
        }
    }
}
