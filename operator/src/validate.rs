//! Validation (pure), the first stage: turns a HermesDeployment into a `Validated` one,
//! the only input of sizing, build and the canary. It checks what the CRD schema cannot
//! (the model catalog) plus everything it does check, because `render` reads files that no
//! API server has seen. Every problem is reported, not just the first.

use crate::catalog::Catalog;
use crate::crd::{HermesDeployment, HermesDeploymentSpec, ModelSpec, ModelTask};
use crate::quantity::{parse_cpu_millis, parse_duration, parse_memory};
use crate::rollout::CanaryPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::{Resource, ResourceExt};
use std::collections::BTreeSet;
use std::time::Duration;

/// A HermesDeployment without the metadata every object it owns needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the HermesDeployment has no {0}")]
pub struct MissingMetadata(pub &'static str);

/// Who a HermesDeployment is: what its objects are named after and owned by.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub name: String,
    pub namespace: String,
    /// Makes the objects garbage with the resource. A resource read from a file
    /// (`render`) has no uid yet and gets none.
    pub owner: Option<OwnerReference>,
    pub generation: Option<i64>,
}

/// The identity of `hd`: its name and namespace are required.
pub fn identity(hd: &HermesDeployment) -> Result<Identity, MissingMetadata> {
    let namespace = hd.namespace().ok_or(MissingMetadata("namespace"))?;
    let name = hd.metadata.name.clone().ok_or(MissingMetadata("name"))?;
    let owner = hd
        .meta()
        .uid
        .as_ref()
        .and_then(|_| hd.controller_owner_ref(&()));
    Ok(Identity {
        name,
        namespace,
        owner,
        generation: hd.metadata.generation,
    })
}

/// A canary rollout's knobs, defaults resolved and durations parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Canary {
    pub policy: CanaryPolicy,
    /// Time between analyses.
    pub interval: Duration,
    /// `rollout.traffic.httpRoute.name`: weights through that route instead of replicas.
    pub http_route: Option<String>,
    /// `rollout.canary.webhooks`: the rollout's HTTP gates.
    pub webhooks: Vec<crate::crd::Webhook>,
}

/// A HermesDeployment that passed validation. Sizing, build and the canary read the
/// spec only through this, so nothing after validation re-checks it.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated<'a> {
    pub id: Identity,
    pub spec: &'a HermesDeploymentSpec,
    /// `rollout.canary`, when the resource rolls out through a canary.
    pub canary: Option<Canary>,
    /// Replicas of the stable Deployment: `spec.replicas`, or with `spec.autoscaling` the
    /// autoscaler's current count once observed ([`Validated::with_observed_replicas`]).
    pub replicas: i32,
}

impl Validated<'_> {
    /// With `spec.autoscaling`, the replicas become the stable's current count (within
    /// the bounds); without, they stay `spec.replicas`.
    pub fn with_observed_replicas(
        mut self,
        stable: Option<&k8s_openapi::api::apps::v1::Deployment>,
    ) -> Self {
        self.replicas = crate::autoscaling::stable_replicas(self.spec, stable);
        self
    }
}

/// Checks the spec of the resource `id`; the `Validated` resource when it can be sized
/// and deployed.
pub fn validate<'a>(
    id: Identity,
    spec: &'a HermesDeploymentSpec,
    catalog: &Catalog,
) -> Result<Validated<'a>, InvalidSpec> {
    check(spec, catalog)?;
    let rollout = spec.rollout.as_ref();
    let canary = rollout.and_then(|r| r.canary.as_ref()).map(|c| Canary {
        policy: CanaryPolicy::from_spec(Some(c)),
        interval: CanaryPolicy::interval(Some(c)),
        http_route: rollout
            .and_then(|r| r.traffic.as_ref())
            .and_then(|t| t.http_route.as_ref())
            .map(|r| r.name.clone()),
        webhooks: c.webhooks.clone(),
    });
    Ok(Validated {
        id,
        spec,
        canary,
        replicas: crate::autoscaling::stable_replicas(spec, None),
    })
}

/// Why a spec cannot be deployed; the messages go to the `InvalidSpec` condition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .messages.join("; "))]
pub struct InvalidSpec {
    pub messages: Vec<String>,
}

/// Checks `spec`; Ok when it can be sized and deployed.
pub fn check(spec: &HermesDeploymentSpec, catalog: &Catalog) -> Result<(), InvalidSpec> {
    let mut problems = Vec::new();
    if spec.image.trim().is_empty() {
        problems.push("image must not be empty".to_string());
    }
    if spec.replicas < 1 {
        problems.push(format!(
            "replicas must be at least 1, got {}",
            spec.replicas
        ));
    }
    check_models(spec, catalog, &mut problems);
    check_memory(spec, &mut problems);
    check_cpu(spec, &mut problems);
    check_runtime(spec, &mut problems);
    crate::runtime_protection::check(spec, &mut problems);
    crate::runtime_tracing::check(spec, &mut problems);
    check_slos(spec, &mut problems);
    check_rollout(spec, &mut problems);
    crate::autoscaling::check(spec, &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InvalidSpec { messages: problems })
    }
}

fn check_models(spec: &HermesDeploymentSpec, catalog: &Catalog, problems: &mut Vec<String>) {
    if spec.models.is_empty() {
        problems.push("models must declare at least one model".into());
    }
    let mut seen = BTreeSet::new();
    for (i, m) in spec.models.iter().enumerate() {
        if !seen.insert(m.name.as_str()) {
            problems.push(format!("models[{i}]: model {:?} is declared twice", m.name));
        }
        if let Some(q) = &m.memory
            && let Err(e) = parse_memory(q)
        {
            problems.push(format!("models[{i}].memory: {e}"));
        }
        match catalog.find(&m.name) {
            Some(entry) if entry.task != m.task.to_catalog() => problems.push(format!(
                "models[{i}]: model {:?} serves task {}, not {}",
                m.name,
                entry.task.as_str(),
                m.task.to_catalog().as_str()
            )),
            Some(_) => {}
            None if m.memory.is_none() => problems.push(format!(
                "models[{i}]: unknown model {:?} (known: {}); set models[{i}].memory to deploy a model this operator's catalog does not list",
                m.name,
                catalog.ids()
            )),
            None => {}
        }
        check_concurrency(i, m, catalog, problems);
    }
    let stt: BTreeSet<u32> = spec
        .models
        .iter()
        .filter(|m| m.task == ModelTask::Stt)
        .filter_map(|m| m.concurrency)
        .collect();
    if stt.len() > 1 {
        let listed: Vec<String> = stt.iter().map(u32::to_string).collect();
        problems.push(format!(
            "models: stt models declare different concurrencies ({}); the runtime runs every stt model at one (HERMES_STT_CONCURRENCY)",
            listed.join(", ")
        ));
    }
}

/// Concurrency the runtime can honour: 1..=8 for stt, the catalog default elsewhere.
fn check_concurrency(i: usize, m: &ModelSpec, catalog: &Catalog, problems: &mut Vec<String>) {
    let Some(n) = m.concurrency else { return };
    let task = m.task.to_catalog();
    let default = catalog.find(&m.name).map_or(1, |e| {
        hermes_interface::catalog::default_concurrency(e.task)
    });
    if m.task == ModelTask::Stt {
        if !(1..=8).contains(&n) {
            problems.push(format!("models[{i}].concurrency must be 1..=8, got {n}"));
        }
    } else if n != default {
        problems.push(format!(
            "models[{i}].concurrency: {} models run {default} request(s) at once; only stt models can change it, got {n}",
            task.as_str()
        ));
    }
}

fn check_memory(spec: &HermesDeploymentSpec, problems: &mut Vec<String>) {
    let Some(policy) = &spec.memory else { return };
    let mut parsed = |field: &str, value: &Option<String>| -> Option<u64> {
        let value = value.as_ref()?;
        parse_memory(value)
            .map_err(|e| problems.push(format!("memory.{field}: {e}")))
            .ok()
    };
    parsed("runtimeOverhead", &policy.runtime_overhead);
    parsed("request", &policy.request);
    let min = parsed("min", &policy.min);
    let max = parsed("max", &policy.max);
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        problems.push("memory.min must not exceed memory.max".into());
    }
    if let Some(h) = policy.headroom_percent
        && h > 200
    {
        problems.push(format!("memory.headroomPercent must be 0..200, got {h}"));
    }
}

fn check_cpu(spec: &HermesDeploymentSpec, problems: &mut Vec<String>) {
    let Some(cpu) = &spec.cpu else { return };
    let mut parsed = |field: &str, value: &Option<String>| -> Option<u64> {
        let value = value.as_ref()?;
        parse_cpu_millis(value)
            .map_err(|e| problems.push(format!("cpu.{field}: {e}")))
            .ok()
    };
    let request = parsed("request", &cpu.request);
    let limit = parsed("limit", &cpu.limit);
    if let (Some(r), Some(l)) = (request, limit)
        && r > l
    {
        problems.push("cpu.request must not exceed cpu.limit".into());
    }
}

fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    matches!(rest, Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace))
}

fn check_runtime(spec: &HermesDeploymentSpec, problems: &mut Vec<String>) {
    let Some(rt) = &spec.runtime else { return };
    if let Some(s) = &rt.sophia
        && !is_http_url(&s.url)
    {
        problems.push(format!(
            "runtime.sophia.url {:?} is not an http(s) URL",
            s.url
        ));
    }
    if let Some(t) = &rt.tracing
        && !is_http_url(&t.otlp_endpoint)
    {
        problems.push(format!(
            "runtime.tracing.otlpEndpoint {:?} is not an http(s) URL",
            t.otlp_endpoint
        ));
    }
    if let Some(llm) = &rt.llm {
        if let Some(url) = &llm.base_url
            && !is_http_url(url)
        {
            problems.push(format!("runtime.llm.baseUrl {url:?} is not an http(s) URL"));
        }
        if llm.provider == "local"
            && !spec
                .models
                .iter()
                .any(|m| m.task.to_catalog() == hermes_interface::Task::Llm)
        {
            problems
                .push("runtime.llm.provider is local but no model of task llm is declared".into());
        }
    }
    if let Some(m) = &rt.milvus
        && m.port == Some(0)
    {
        problems.push("runtime.milvus.port must be 1..65535".into());
    }
}

fn check_slos(spec: &HermesDeploymentSpec, problems: &mut Vec<String>) {
    let mut routes = BTreeSet::new();
    for (i, slo) in spec.slos.iter().enumerate() {
        if !slo.route.starts_with('/') {
            problems.push(format!("slos[{i}].route {:?} must start with /", slo.route));
        }
        let canonical = slo.canonical_route();
        if !routes.insert(canonical) {
            if canonical == slo.route {
                problems.push(format!("slos[{i}]: route {:?} has two SLOs", slo.route));
            } else {
                problems.push(format!(
                    "slos[{i}]: route {:?} is route {canonical:?} (the runtime counts both paths under it), which has two SLOs",
                    slo.route
                ));
            }
        }
        let p95 = parse_duration(&slo.latency_p95)
            .map_err(|e| problems.push(format!("slos[{i}].latencyP95: {e}")))
            .ok();
        let p99 = slo.latency_p99.as_ref().and_then(|d| {
            parse_duration(d)
                .map_err(|e| problems.push(format!("slos[{i}].latencyP99: {e}")))
                .ok()
        });
        if let (Some(p95), Some(p99)) = (p95, p99)
            && p99 < p95
        {
            problems.push(format!(
                "slos[{i}]: latencyP99 must not be below latencyP95"
            ));
        }
        if let Some(ttft) = &slo.ttft_p95 {
            if let Err(e) = parse_duration(ttft) {
                problems.push(format!("slos[{i}].ttftP95: {e}"));
            }
            if !hermes_interface::metrics::LLM_ROUTES.contains(&canonical) {
                problems.push(format!(
                    "slos[{i}].ttftP95: route {:?} has no time to first token; only {} stream LLM answers",
                    slo.route,
                    hermes_interface::metrics::LLM_ROUTES.join(" and ")
                ));
            }
        }
        if !(0.0..=1.0).contains(&slo.max_error_rate) {
            problems.push(format!(
                "slos[{i}].maxErrorRate must be within 0..1, got {}",
                slo.max_error_rate
            ));
        }
    }
}

fn check_rollout(spec: &HermesDeploymentSpec, problems: &mut Vec<String>) {
    let Some(canary) = spec.rollout.as_ref().and_then(|r| r.canary.as_ref()) else {
        return;
    };
    if canary.steps.iter().any(|s| !(1..=100).contains(s)) {
        problems.push("rollout.canary.steps must be within 1..100".into());
    }
    if canary.steps.windows(2).any(|w| w[0] >= w[1]) {
        problems.push("rollout.canary.steps must be strictly increasing".into());
    }
    if let Some(interval) = &canary.interval
        && let Err(e) = parse_duration(interval)
    {
        problems.push(format!("rollout.canary.interval: {e}"));
    }
    if let Some(max) = &canary.max_duration
        && let Err(e) = parse_duration(max)
    {
        problems.push(format!("rollout.canary.maxDuration: {e}"));
    }
    if canary.failure_limit == Some(0) {
        problems.push("rollout.canary.failureLimit must be at least 1".into());
    }
    check_webhooks(&canary.webhooks, problems);
    if let Some(analysis) = spec.rollout.as_ref().and_then(|r| r.analysis.as_ref()) {
        crate::analysis::plan::validate(analysis, problems);
    }
}

/// The gates: unique names, http(s) URLs, timeouts within bounds. (Their types are an
/// enum: an unknown one is refused when the resource is read.)
fn check_webhooks(hooks: &[crate::crd::Webhook], problems: &mut Vec<String>) {
    use crate::rollout::gates::MAX_TIMEOUT;
    let mut names = BTreeSet::new();
    for (i, h) in hooks.iter().enumerate() {
        let at = format!("rollout.canary.webhooks[{i}]");
        if h.name.trim().is_empty() {
            problems.push(format!("{at}.name must not be empty"));
        } else if !names.insert(h.name.as_str()) {
            problems.push(format!("{at}: webhook {:?} is declared twice", h.name));
        }
        if !is_http_url(&h.url) {
            problems.push(format!("{at}.url {:?} is not an http(s) URL", h.url));
        }
        if let Some(t) = &h.timeout {
            match parse_duration(t) {
                Err(e) => problems.push(format!("{at}.timeout: {e}")),
                Ok(d) if d.is_zero() || d > MAX_TIMEOUT => problems.push(format!(
                    "{at}.timeout {t:?} must be above 0 and at most {}s",
                    MAX_TIMEOUT.as_secs()
                )),
                Ok(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::*;

    fn base() -> HermesDeploymentSpec {
        serde_json::from_value(serde_json::json!({
            "image": "hermes-runtime:test",
            "models": [{"name": "all-minilm-l6-v2", "task": "embedding"}],
        }))
        .expect("spec")
    }

    fn messages(spec: &HermesDeploymentSpec) -> Vec<String> {
        check(spec, &Catalog::builtin())
            .err()
            .map(|e| e.messages)
            .unwrap_or_default()
    }

    #[test]
    fn only_stt_models_change_their_concurrency() {
        let mut s = base();
        s.models[0].concurrency = Some(2);
        assert_eq!(
            messages(&s),
            Vec::<String>::new(),
            "embedding's default is 2"
        );
        s.models[0].concurrency = Some(4);
        let m = messages(&s);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].starts_with("models[0].concurrency: embedding models run 2 request(s) at once"),
            "{}",
            m[0]
        );
        let mut s = base();
        for (name, n) in [("whisper-tiny-en", 4), ("whisper-base-en", 2)] {
            s.models.push(ModelSpec {
                name: name.into(),
                task: ModelTask::Stt,
                memory: Some("200Mi".into()),
                concurrency: Some(n),
            });
        }
        let m = messages(&s);
        assert!(
            m.iter()
                .any(|m| m.contains("stt models declare different concurrencies (2, 4)")),
            "{m:?}"
        );
        s.models.pop();
        assert_eq!(messages(&s), Vec::<String>::new());
        s.models[1].concurrency = Some(9);
        assert_eq!(
            messages(&s),
            vec!["models[1].concurrency must be 1..=8, got 9"]
        );
    }

    #[test]
    fn a_minimal_spec_is_valid() {
        assert_eq!(check(&base(), &Catalog::builtin()), Ok(()));
        assert_eq!(base().replicas, 1, "replicas default to 1");
    }

    #[test]
    fn unknown_model_needs_a_memory_override() {
        let mut s = base();
        s.models.push(ModelSpec {
            name: "mystery-7b".into(),
            task: ModelTask::Llm,
            memory: None,
            concurrency: None,
        });
        let m = messages(&s);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].starts_with("models[1]: unknown model \"mystery-7b\" (known: "),
            "{}",
            m[0]
        );
        assert!(m[0].ends_with(
            "set models[1].memory to deploy a model this operator's catalog does not list"
        ));
        s.models[1].memory = Some("4Gi".into());
        assert_eq!(check(&s, &Catalog::builtin()), Ok(()));
    }

    #[test]
    fn task_must_match_the_catalog() {
        let mut s = base();
        s.models[0].task = ModelTask::Stt;
        assert_eq!(
            messages(&s),
            vec!["models[0]: model \"all-minilm-l6-v2\" serves task embedding, not stt"]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut s = base();
        s.replicas = 0;
        s.models.push(s.models[0].clone());
        s.memory = Some(MemoryPolicy {
            headroom_percent: Some(300),
            min: Some("2Gi".into()),
            max: Some("1Gi".into()),
            runtime_overhead: Some("huge".into()),
            request: None,
        });
        s.cpu = Some(CpuResources {
            request: Some("2".into()),
            limit: Some("500m".into()),
        });
        s.slos = vec![Slo {
            dry_run: false,
            route: "embed".into(),
            latency_p95: "2s".into(),
            latency_p99: Some("1s".into()),
            ttft_p95: None,
            max_error_rate: 1.5,
        }];
        s.rollout = Some(RolloutSpec {
            canary: Some(CanarySpec {
                steps: vec![50, 10],
                interval: Some("soon".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        let m = messages(&s);
        let want = [
            "replicas must be at least 1, got 0",
            "models[1]: model \"all-minilm-l6-v2\" is declared twice",
            "memory.runtimeOverhead: \"huge\" is not a memory quantity (expected e.g. 512Mi, 1.5Gi, 800M)",
            "memory.min must not exceed memory.max",
            "memory.headroomPercent must be 0..200, got 300",
            "cpu.request must not exceed cpu.limit",
            "slos[0].route \"embed\" must start with /",
            "slos[0]: latencyP99 must not be below latencyP95",
            "slos[0].maxErrorRate must be within 0..1, got 1.5",
            "rollout.canary.steps must be strictly increasing",
            "rollout.canary.interval: \"soon\" is not a duration (expected e.g. 250ms, 2s, 1m30s)",
        ];
        assert_eq!(m, want);
        let joined = check(&s, &Catalog::builtin())
            .expect_err("invalid")
            .to_string();
        assert!(joined.starts_with("replicas must be at least 1, got 0; models[1]"));
    }

    #[test]
    fn a_route_and_its_versioned_path_are_one_slo() {
        let mut s = base();
        let slo = |route: &str| Slo {
            dry_run: false,
            route: route.into(),
            latency_p95: "1s".into(),
            latency_p99: None,
            ttft_p95: None,
            max_error_rate: 0.01,
        };
        s.slos = vec![slo("/v1/embed_text"), slo("/llm")];
        assert_eq!(messages(&s), Vec::<String>::new());
        s.slos.push(slo("/embed_text"));
        s.slos.push(slo("/llm"));
        assert_eq!(
            messages(&s),
            [
                "slos[2]: route \"/embed_text\" has two SLOs",
                "slos[3]: route \"/llm\" has two SLOs",
            ]
        );
        s.slos = vec![slo("/embed_text"), slo("/v1/embed_text")];
        assert_eq!(
            messages(&s),
            [
                "slos[1]: route \"/v1/embed_text\" is route \"/embed_text\" (the runtime counts both paths under it), which has two SLOs"
            ]
        );
    }

    #[test]
    fn ttft_needs_an_llm_route_and_a_duration() {
        let mut s = base();
        let slo = |route: &str, ttft: &str| Slo {
            dry_run: false,
            route: route.into(),
            latency_p95: "30s".into(),
            latency_p99: None,
            ttft_p95: Some(ttft.into()),
            max_error_rate: 0.01,
        };
        s.slos = vec![slo("/v1/llm", "800ms"), slo("/v1/chat/completions", "1s")];
        assert_eq!(messages(&s), Vec::<String>::new());
        s.slos = vec![slo("/embed_text", "1s"), slo("/llm", "soon")];
        assert_eq!(
            messages(&s),
            [
                "slos[0].ttftP95: route \"/embed_text\" has no time to first token; only /llm and /v1/chat/completions stream LLM answers",
                "slos[1].ttftP95: \"soon\" is not a duration (expected e.g. 250ms, 2s, 1m30s)",
            ]
        );
    }

    #[test]
    fn gates_need_unique_names_http_urls_and_bounded_timeouts() {
        let mut s = base();
        let hook = |name: &str, url: &str, timeout: Option<&str>| Webhook {
            name: name.into(),
            type_: WebhookType::PreRollout,
            url: url.into(),
            timeout: timeout.map(Into::into),
            metadata: Default::default(),
        };
        s.rollout = Some(RolloutSpec {
            canary: Some(CanarySpec {
                webhooks: vec![
                    hook("smoke", "http://tester.test/smoke", Some("30s")),
                    hook("cab", "https://cab.example.com/approve", None),
                ],
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(messages(&s), Vec::<String>::new());
        if let Some(c) = s.rollout.as_mut().and_then(|r| r.canary.as_mut()) {
            c.webhooks = vec![
                hook("smoke", "ftp://tester.test/smoke", Some("2m")),
                hook("smoke", "tester.test", Some("0s")),
                hook("late", "http://tester.test", Some("soon")),
            ];
        }
        assert_eq!(
            messages(&s),
            [
                "rollout.canary.webhooks[0].url \"ftp://tester.test/smoke\" is not an http(s) URL",
                "rollout.canary.webhooks[0].timeout \"2m\" must be above 0 and at most 60s",
                "rollout.canary.webhooks[1]: webhook \"smoke\" is declared twice",
                "rollout.canary.webhooks[1].url \"tester.test\" is not an http(s) URL",
                "rollout.canary.webhooks[1].timeout \"0s\" must be above 0 and at most 60s",
                "rollout.canary.webhooks[2].timeout: \"soon\" is not a duration (expected e.g. 250ms, 2s, 1m30s)",
            ]
        );
        // An unknown type cannot be read at all (the API server's schema says the same).
        let unknown = serde_json::from_value::<Webhook>(serde_json::json!({
            "name": "x", "type": "post-rollout", "url": "http://x.test"
        }))
        .expect_err("unknown type")
        .to_string();
        assert!(
            unknown.contains("unknown variant `post-rollout`, expected one of `pre-rollout`, `confirm-promotion`, `rollback`"),
            "{unknown}"
        );
    }

    #[test]
    fn runtime_urls_and_local_llm() {
        let mut s = base();
        s.runtime = Some(RuntimeSettings {
            sophia: Some(SophiaSettings {
                url: "sophia:8001".into(),
                token_secret: None,
            }),
            llm: Some(LlmSettings {
                provider: "local".into(),
                base_url: Some("https://".into()),
                model: None,
                api_key_secret: None,
            }),
            ..Default::default()
        });
        assert_eq!(
            messages(&s),
            vec![
                "runtime.sophia.url \"sophia:8001\" is not an http(s) URL",
                "runtime.llm.baseUrl \"https://\" is not an http(s) URL",
                "runtime.llm.provider is local but no model of task llm is declared",
            ]
        );
        for bad in [
            "collector:4318",
            "grpc://collector:4317",
            "http://",
            "http:// x",
        ] {
            s.runtime = Some(RuntimeSettings {
                tracing: Some(TracingSettings {
                    otlp_endpoint: bad.into(),
                    service_name: None,
                    headers_secret: None,
                }),
                ..Default::default()
            });
            assert_eq!(
                messages(&s),
                vec![format!(
                    "runtime.tracing.otlpEndpoint {bad:?} is not an http(s) URL"
                )]
            );
        }
    }
}
