//! Memory sizing from the declared models (pure).
//!
//! limit = round_up_64Mi(overhead + Σ share + headroom), share = footprint + working
//! memory × concurrency (the catalog's peak working memory of one request at the worst
//! input the runtime admits, reserved once per request it runs at once), headroom =
//! ceil((overhead + Σ share) × headroomPercent / 100), then raised to `min`; a limit
//! above `max` is an error (an OOM-killed pod helps nobody). request = limit unless the
//! spec sets one. Footprints come from the shared catalog unless the spec overrides them.

use crate::catalog::Catalog;
use crate::crd::{HermesDeploymentSpec, MemoryStatus, ModelMemoryStatus};
use crate::quantity::{MIB, QuantityError, format_memory, parse_memory};
use crate::validate::Validated;
use hermes_interface::catalog::{Provenance, default_concurrency};

/// The limit is a multiple of this.
pub const ROUNDING_BYTES: u64 = 64 * MIB;
/// Headroom when the spec does not say.
pub const DEFAULT_HEADROOM_PERCENT: u32 = 25;

/// Where a model's footprint came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FootprintSource {
    /// Catalog number measured by the runtime's bench.
    Measured,
    /// Catalog number not yet measured by our runtime.
    Estimate,
    /// `models[].memory` of the spec.
    Override,
}

impl FootprintSource {
    pub fn as_str(self) -> &'static str {
        match self {
            FootprintSource::Measured => "measured",
            FootprintSource::Estimate => "estimate",
            FootprintSource::Override => "override",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelShare {
    pub name: String,
    /// The loaded weights (the whole share when overridden).
    pub bytes: u64,
    pub source: FootprintSource,
    /// Working memory of one in-flight request (0 when overridden).
    pub working: u64,
    /// Requests the runtime runs at once for this model.
    pub concurrency: u32,
}

impl ModelShare {
    /// Weights plus the reserved working memory.
    pub fn total(&self) -> u64 {
        self.bytes
            .saturating_add(self.working.saturating_mul(u64::from(self.concurrency)))
    }
}

/// The memory calculation with every part, for the Deployment, the status and `render`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryPlan {
    pub overhead: u64,
    pub models: Vec<ModelShare>,
    pub headroom_percent: u32,
    pub headroom: u64,
    /// overhead + models + headroom, before rounding.
    pub needed: u64,
    /// `needed` rounded up to 64 MiB.
    pub rounded: u64,
    /// `memory.min` when it raised the limit.
    pub raised_to_min: Option<u64>,
    pub limit: u64,
    pub request: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizingError {
    #[error("model {0:?} is not in the catalog; set models[].memory to size it")]
    UnknownModel(String),
    #[error("memory.{field}: {source}")]
    Quantity {
        field: String,
        #[source]
        source: QuantityError,
    },
    #[error("the declared models need a {limit} memory limit but memory.max is {max}")]
    AboveMax { limit: String, max: String },
    #[error("memory.request {request} exceeds the computed memory limit {limit}")]
    RequestAboveLimit { request: String, limit: String },
}

fn quantity(field: &str, value: &str) -> Result<u64, SizingError> {
    parse_memory(value).map_err(|source| SizingError::Quantity {
        field: field.into(),
        source,
    })
}

/// Sizes the runtime container's memory of a validated resource.
pub fn plan(v: &Validated<'_>, catalog: &Catalog) -> Result<MemoryPlan, SizingError> {
    plan_spec(v.spec, catalog)
}

fn plan_spec(spec: &HermesDeploymentSpec, catalog: &Catalog) -> Result<MemoryPlan, SizingError> {
    let policy = spec.memory.clone().unwrap_or_default();
    let overhead = match &policy.runtime_overhead {
        Some(q) => quantity("runtimeOverhead", q)?,
        None => catalog.runtime_overhead,
    };
    let mut models = Vec::with_capacity(spec.models.len());
    for (i, m) in spec.models.iter().enumerate() {
        let entry = catalog.find(&m.name);
        // Working memory is the catalog's even when the footprint is overridden.
        let working = entry.map_or(0, |e| e.working_bytes);
        let concurrency = m
            .concurrency
            .unwrap_or_else(|| entry.map_or(1, |e| default_concurrency(e.task)));
        let share = match (&m.memory, entry) {
            (Some(q), _) => ModelShare {
                name: m.name.clone(),
                bytes: quantity(&format!("models[{i}].memory"), q)?,
                source: FootprintSource::Override,
                working,
                concurrency,
            },
            (None, Some(entry)) => ModelShare {
                name: m.name.clone(),
                bytes: entry.footprint_bytes,
                source: match entry.provenance {
                    Provenance::Measured(_) => FootprintSource::Measured,
                    Provenance::Estimate(_) => FootprintSource::Estimate,
                },
                working,
                concurrency,
            },
            (None, None) => return Err(SizingError::UnknownModel(m.name.clone())),
        };
        models.push(share);
    }
    let headroom_percent = policy.headroom_percent.unwrap_or(DEFAULT_HEADROOM_PERCENT);
    let base = overhead.saturating_add(models.iter().map(ModelShare::total).sum());
    let headroom = (u128::from(base) * u128::from(headroom_percent)).div_ceil(100);
    let headroom = u64::try_from(headroom).unwrap_or(u64::MAX);
    let needed = base.saturating_add(headroom);
    let rounded = needed
        .div_ceil(ROUNDING_BYTES)
        .saturating_mul(ROUNDING_BYTES);

    let mut limit = rounded;
    let mut raised_to_min = None;
    if let Some(min) = &policy.min {
        let min = quantity("min", min)?;
        if min > limit {
            limit = min;
            raised_to_min = Some(min);
        }
    }
    if let Some(max_q) = &policy.max {
        let max = quantity("max", max_q)?;
        if limit > max {
            return Err(SizingError::AboveMax {
                limit: format_memory(limit),
                max: max_q.clone(),
            });
        }
    }
    let request = match &policy.request {
        Some(q) => {
            let request = quantity("request", q)?;
            if request > limit {
                return Err(SizingError::RequestAboveLimit {
                    request: q.clone(),
                    limit: format_memory(limit),
                });
            }
            request
        }
        None => limit,
    };
    Ok(MemoryPlan {
        overhead,
        models,
        headroom_percent,
        headroom,
        needed,
        rounded,
        raised_to_min,
        limit,
        request,
    })
}

impl MemoryPlan {
    /// The plan as the status shows it.
    pub fn to_status(&self) -> MemoryStatus {
        MemoryStatus {
            limit: format_memory(self.limit),
            request: format_memory(self.request),
            runtime_overhead: format_memory(self.overhead),
            headroom: format_memory(self.headroom),
            models: self
                .models
                .iter()
                .map(|m| ModelMemoryStatus {
                    name: m.name.clone(),
                    footprint: format_memory(m.bytes),
                    source: m.source.as_str().into(),
                    working: (m.working > 0).then(|| format_memory(m.working)),
                    concurrency: (m.working > 0).then_some(m.concurrency),
                })
                .collect(),
        }
    }

    /// The calculation, one line each, as `render` prints it.
    pub fn explain(&self) -> Vec<String> {
        let mib = |b: u64| format!("{:.1} MiB", b as f64 / MIB as f64);
        let row = |label: String, value: String| format!("{label:<36}{value:>12}");
        let mut lines = vec![row("runtime overhead".into(), mib(self.overhead))];
        for m in &self.models {
            lines.push(format!(
                "{}  ({})",
                row(format!("model {}", m.name), mib(m.bytes)),
                m.source.as_str()
            ));
            if m.working > 0 {
                lines.push(row(
                    format!("  working memory {} x {}", m.concurrency, mib(m.working)),
                    mib(m.working.saturating_mul(u64::from(m.concurrency))),
                ));
            }
        }
        lines.push(row(
            format!("headroom {} %", self.headroom_percent),
            mib(self.headroom),
        ));
        lines.push(row("needed".into(), mib(self.needed)));
        lines.push(row(
            "rounded up to 64 MiB".into(),
            format_memory(self.rounded),
        ));
        if let Some(min) = self.raised_to_min {
            lines.push(row("raised to memory.min".into(), format_memory(min)));
        }
        lines.push(row("limit".into(), format_memory(self.limit)));
        lines.push(row("request".into(), format_memory(self.request)));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{MemoryPolicy, ModelSpec, ModelTask};
    use hermes_interface::catalog::RUNTIME_OVERHEAD_BYTES;

    fn plan_(spec: &HermesDeploymentSpec) -> Result<MemoryPlan, SizingError> {
        plan_spec(spec, &Catalog::builtin())
    }

    fn spec(
        models: &[(&str, ModelTask, Option<&str>)],
        memory: Option<MemoryPolicy>,
    ) -> HermesDeploymentSpec {
        HermesDeploymentSpec {
            image: "hermes-runtime:test".into(),
            image_pull_policy: None,
            image_pull_secrets: vec![],
            replicas: 1,
            autoscaling: None,
            models: models
                .iter()
                .map(|(name, task, memory)| ModelSpec {
                    name: (*name).into(),
                    task: *task,
                    memory: memory.map(Into::into),
                    concurrency: None,
                })
                .collect(),
            memory,
            cpu: None,
            runtime: None,
            slos: vec![],
            rollout: None,
            pod: None,
        }
    }

    fn policy(overhead: &str, headroom: u32) -> MemoryPolicy {
        MemoryPolicy {
            runtime_overhead: Some(overhead.into()),
            headroom_percent: Some(headroom),
            ..Default::default()
        }
    }

    /// Overrides make the table independent of the catalog's numbers.
    #[test]
    fn sizing_table_with_rounding() {
        use ModelTask::*;
        // (overhead, headroom %, model footprints) -> (headroom bytes, limit)
        let table: &[(&str, u32, &[&str], u64, &str)] = &[
            // 100 + 100 = 200 Mi, +0 % -> 200 Mi -> rounds up to 256 Mi
            ("100Mi", 0, &["100Mi"], 0, "256Mi"),
            // exactly a multiple stays put: 64 + 64 = 128 Mi
            ("64Mi", 0, &["64Mi"], 0, "128Mi"),
            // one byte over a multiple rounds up a whole step
            ("64Mi", 0, &["67108865"], 0, "192Mi"),
            // 100 + 140 + 90 + 80 + 20 = 430 Mi, +25 % = 537.5 Mi -> 576 Mi
            (
                "100Mi",
                25,
                &["140Mi", "90Mi", "80Mi", "20Mi"],
                108 * MIB - MIB / 2,
                "576Mi",
            ),
            // the earlier service's 768 MiB needs ~75 % headroom on the same models
            (
                "100Mi",
                75,
                &["140Mi", "90Mi", "80Mi", "20Mi"],
                322 * MIB + MIB / 2,
                "768Mi",
            ),
            // 200 % is the schema's ceiling: 3 x 100 Mi -> 320 Mi
            ("50Mi", 200, &["50Mi"], 200 * MIB, "320Mi"),
        ];
        for (overhead, headroom, footprints, want_headroom, want_limit) in table {
            let models: Vec<(&str, ModelTask, Option<&str>)> = footprints
                .iter()
                .enumerate()
                .map(|(i, f)| (["a", "b", "c", "d"][i], Embedding, Some(*f)))
                .collect();
            let p = plan_(&spec(&models, Some(policy(overhead, *headroom)))).expect("plan");
            assert_eq!(
                p.headroom, *want_headroom,
                "{overhead} {headroom} {footprints:?}"
            );
            assert_eq!(
                format_memory(p.limit),
                *want_limit,
                "{overhead} {headroom} {footprints:?}"
            );
            assert_eq!(p.limit % ROUNDING_BYTES, 0);
            assert_eq!(p.request, p.limit, "request defaults to the limit");
        }
    }

    #[test]
    fn catalog_footprints_are_used_and_labelled() {
        let entry = &hermes_interface::CATALOG[0];
        let p = plan_(&spec(&[(entry.id, ModelTask::Embedding, None)], None)).expect("plan");
        assert_eq!(p.overhead, RUNTIME_OVERHEAD_BYTES);
        assert_eq!(p.models[0].bytes, entry.footprint_bytes);
        let want = match entry.provenance {
            Provenance::Measured(_) => FootprintSource::Measured,
            Provenance::Estimate(_) => FootprintSource::Estimate,
        };
        assert_eq!(p.models[0].source, want);
        assert_eq!(p.models[0].working, entry.working_bytes);
        assert_eq!(
            p.models[0].concurrency,
            hermes_interface::catalog::default_concurrency(entry.task)
        );
        let reserved = entry.working_bytes * u64::from(p.models[0].concurrency);
        assert!(reserved > 0, "the catalog reserves working memory");
        let base = RUNTIME_OVERHEAD_BYTES + entry.footprint_bytes + reserved;
        assert_eq!(p.headroom, (base * 25).div_ceil(100));
        assert_eq!(
            p.limit,
            (base + p.headroom).div_ceil(ROUNDING_BYTES) * ROUNDING_BYTES
        );
    }

    #[test]
    fn declared_concurrency_reserves_working_memory_that_many_times() {
        let whisper = hermes_interface::catalog::find("whisper-tiny-en").expect("whisper");
        let mut s = spec(&[(whisper.id, ModelTask::Stt, None)], None);
        let one = plan_(&s).expect("plan");
        s.models[0].concurrency = Some(3);
        let three = plan_(&s).expect("plan");
        assert_eq!(three.models[0].concurrency, 3);
        assert_eq!(
            three.needed - one.needed,
            2 * whisper.working_bytes * 125 / 100,
            "two more transcriptions' working memory, with the 25 % headroom"
        );
        let status = three.to_status();
        assert_eq!(status.models[0].concurrency, Some(3));
        assert_eq!(
            status.models[0].working.as_deref(),
            Some(format_memory(whisper.working_bytes).as_str())
        );
        // An overridden footprint still reserves the catalog's working memory.
        s.models[0].memory = Some("300Mi".into());
        let overridden = plan_(&s).expect("plan");
        assert_eq!(overridden.models[0].working, whisper.working_bytes);
        assert_eq!(overridden.models[0].concurrency, 3);
    }

    #[test]
    fn override_wins_over_catalog() {
        let entry = &hermes_interface::CATALOG[0];
        let p = plan_(&spec(
            &[(entry.id, ModelTask::Embedding, Some("1Gi"))],
            Some(policy("0", 0)),
        ))
        .expect("plan");
        assert_eq!(p.models[0].bytes, 1024 * MIB);
        assert_eq!(p.models[0].source, FootprintSource::Override);
        // The override replaces the weights; the working memory is still reserved.
        let want = 1024 * MIB + entry.working_bytes * u64::from(p.models[0].concurrency);
        assert_eq!(p.limit, want.div_ceil(ROUNDING_BYTES) * ROUNDING_BYTES);
    }

    #[test]
    fn unknown_model_without_override_is_refused() {
        let err =
            plan_(&spec(&[("no-such-model", ModelTask::Llm, None)], None)).expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "model \"no-such-model\" is not in the catalog; set models[].memory to size it"
        );
        let ok = plan_(&spec(
            &[("no-such-model", ModelTask::Llm, Some("300Mi"))],
            None,
        ));
        assert!(ok.is_ok());
    }

    #[test]
    fn min_raises_and_max_refuses() {
        let models = [("a", ModelTask::Nlp, Some("100Mi"))];
        let mut raised = policy("100Mi", 0);
        raised.min = Some("1Gi".into());
        let p = plan_(&spec(&models, Some(raised))).expect("plan");
        assert_eq!(format_memory(p.rounded), "256Mi");
        assert_eq!(p.raised_to_min, Some(1024 * MIB));
        assert_eq!(format_memory(p.limit), "1Gi");

        let mut low_min = policy("100Mi", 0);
        low_min.min = Some("128Mi".into());
        let p = plan_(&spec(&models, Some(low_min))).expect("plan");
        assert_eq!(
            (format_memory(p.limit), p.raised_to_min),
            ("256Mi".into(), None)
        );

        let mut capped = policy("100Mi", 0);
        capped.max = Some("200Mi".into());
        let err = plan_(&spec(&models, Some(capped))).expect_err("above max");
        assert_eq!(
            err.to_string(),
            "the declared models need a 256Mi memory limit but memory.max is 200Mi"
        );
    }

    #[test]
    fn request_defaults_to_limit_and_may_be_lower_never_higher() {
        let models = [("a", ModelTask::Nlp, Some("100Mi"))];
        let mut lower = policy("100Mi", 0);
        lower.request = Some("200Mi".into());
        let p = plan_(&spec(&models, Some(lower))).expect("plan");
        assert_eq!(
            (format_memory(p.request), format_memory(p.limit)),
            ("200Mi".into(), "256Mi".into())
        );

        let mut higher = policy("100Mi", 0);
        higher.request = Some("1Gi".into());
        let err = plan_(&spec(&models, Some(higher))).expect_err("request above limit");
        assert_eq!(
            err.to_string(),
            "memory.request 1Gi exceeds the computed memory limit 256Mi"
        );
    }

    #[test]
    fn malformed_quantity_names_the_field() {
        let err = plan_(&spec(&[("a", ModelTask::Nlp, Some("lots"))], None)).expect_err("bad");
        assert!(
            err.to_string()
                .starts_with("memory.models[0].memory: \"lots\""),
            "{err}"
        );
    }

    #[test]
    fn status_and_explanation_show_every_part() {
        let models = [
            ("a", ModelTask::Nlp, Some("100Mi")),
            ("b", ModelTask::Tts, Some("50Mi")),
        ];
        let p = plan_(&spec(&models, Some(policy("100Mi", 10)))).expect("plan");
        let s = p.to_status();
        assert_eq!(s.limit, "320Mi");
        assert_eq!(s.runtime_overhead, "100Mi");
        assert_eq!(s.headroom, "25Mi");
        assert_eq!(s.models[1].footprint, "50Mi");
        assert_eq!(s.models[1].source, "override");
        let text = p.explain().join("\n");
        let lines = p.explain();
        assert!(
            lines.contains(&format!("{:<36}{:>12}", "headroom 10 %", "25.0 MiB")),
            "{text}"
        );
        assert!(
            lines.contains(&format!("{:<36}{:>12}", "needed", "275.0 MiB")),
            "{text}"
        );
        assert!(
            lines.contains(&format!("{:<36}{:>12}", "limit", "320Mi")),
            "{text}"
        );
        assert!(lines[2].ends_with("  (override)"), "{text}");
    }
}
