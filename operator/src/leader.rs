//! Leader election with a `coordination.k8s.io/v1` Lease, so that two operator replicas
//! never both act. The decision is a pure function of the Lease, the clock and our
//! identity; the I/O reads the Lease and writes it with optimistic concurrency
//! (`resourceVersion`), so two candidates racing for an expired Lease cannot both win.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::PostParams;
use kube::{Api, Client};
use std::time::Duration;
use tokio::sync::watch;

/// What a candidate does with the Lease it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No Lease yet: create it, holding it.
    Create,
    /// We hold it: renew it.
    Renew,
    /// Nobody holds it, or the holder let it expire: take it over.
    TakeOver,
    /// Someone else holds a live Lease.
    Standby { holder: String },
}

/// The decision for `identity` at `now`, given the Lease (None when it does not exist).
pub fn decide(lease: Option<&LeaseSpec>, now: Timestamp, identity: &str) -> Decision {
    let Some(spec) = lease else {
        return Decision::Create;
    };
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    if holder == identity {
        return Decision::Renew;
    }
    if holder.is_empty() {
        return Decision::TakeOver;
    }
    let duration = SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(0)));
    let renewed = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(|t| t.0);
    match renewed {
        Some(at) if at.checked_add(duration).is_ok_and(|expiry| expiry > now) => {
            Decision::Standby {
                holder: holder.to_string(),
            }
        }
        _ => Decision::TakeOver,
    }
}

/// Timing of the election (the client-go defaults).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long a Lease stays valid without renewal.
    pub lease_duration: Duration,
    /// A leader that could not renew for this long steps down (before others take over).
    pub renew_deadline: Duration,
    /// Pause between attempts.
    pub retry_period: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// One candidate for one Lease.
pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    timing: Timing,
}

impl Elector {
    pub fn new(
        client: Client,
        namespace: &str,
        name: &str,
        identity: &str,
        timing: Timing,
    ) -> Self {
        Elector {
            api: Api::namespaced(client, namespace),
            name: name.into(),
            identity: identity.into(),
            timing,
        }
    }

    fn held_spec(
        &self,
        now: Timestamp,
        previous: Option<&LeaseSpec>,
        take_over: bool,
    ) -> LeaseSpec {
        let now = MicroTime(now);
        let previous = previous.cloned().unwrap_or_default();
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.timing.lease_duration.as_secs() as i32),
            acquire_time: if take_over || previous.acquire_time.is_none() {
                Some(now.clone())
            } else {
                previous.acquire_time
            },
            renew_time: Some(now),
            lease_transitions: Some(previous.lease_transitions.unwrap_or(0) + i32::from(take_over)),
            ..previous
        }
    }

    /// One round: read the Lease and act on the decision. Ok(true) while we lead. A lost
    /// race (409 Conflict) is Ok(false), not an error.
    pub async fn try_acquire_or_renew(&self, now: Timestamp) -> Result<bool, kube::Error> {
        let current = self.api.get_opt(&self.name).await?;
        let decision = decide(
            current.as_ref().and_then(|l| l.spec.as_ref()),
            now,
            &self.identity,
        );
        let result = match (decision, current) {
            (Decision::Standby { .. }, _) => return Ok(false),
            (Decision::Create, _) => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.name.clone()),
                        ..Default::default()
                    },
                    spec: Some(self.held_spec(now, None, false)),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            (d, Some(mut lease)) => {
                let take_over = d == Decision::TakeOver;
                lease.spec = Some(self.held_spec(now, lease.spec.as_ref(), take_over));
                // replace() sends our resourceVersion: a concurrent writer makes it 409.
                self.api
                    .replace(&self.name, &PostParams::default(), &lease)
                    .await
            }
            (_, None) => return Ok(false),
        };
        match result {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Campaigns forever, publishing whether we lead on `leading`; `ready` turns true
    /// after the first round that reached the API server.
    pub async fn run(self, leading: watch::Sender<bool>, ready: watch::Sender<bool>) {
        let mut last_renewal: Option<tokio::time::Instant> = None;
        loop {
            let outcome = self.try_acquire_or_renew(Timestamp::now()).await;
            let is_leader = match outcome {
                Ok(held) => {
                    ready.send_replace(true);
                    if held {
                        last_renewal = Some(tokio::time::Instant::now());
                    }
                    held
                }
                Err(error) => {
                    tracing::warn!(%error, lease = %self.name, "leader election round failed");
                    // Keep leading only within the renew deadline of the last renewal.
                    *leading.borrow()
                        && last_renewal.is_some_and(|t| t.elapsed() < self.timing.renew_deadline)
                }
            };
            if *leading.borrow() != is_leader {
                tracing::info!(identity = %self.identity, leader = is_leader, "leadership changed");
                leading.send_replace(is_leader);
            }
            tokio::time::sleep(self.timing.retry_period).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).expect("timestamp")
    }

    fn lease(holder: Option<&str>, renewed: Option<i64>, duration: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(Into::into),
            renew_time: renewed.map(|s| MicroTime(at(s))),
            lease_duration_seconds: Some(duration),
            ..Default::default()
        }
    }

    #[test]
    fn decisions() {
        let me = "operator-a";
        let table: &[(Option<LeaseSpec>, i64, Decision)] = &[
            (None, 100, Decision::Create),
            (Some(lease(Some(me), Some(90), 15)), 100, Decision::Renew),
            // ours even when expired: renew it
            (Some(lease(Some(me), Some(10), 15)), 100, Decision::Renew),
            (
                Some(lease(Some("operator-b"), Some(90), 15)),
                100,
                Decision::Standby {
                    holder: "operator-b".into(),
                },
            ),
            // expires exactly now: take it
            (
                Some(lease(Some("operator-b"), Some(85), 15)),
                100,
                Decision::TakeOver,
            ),
            (
                Some(lease(Some("operator-b"), Some(50), 15)),
                100,
                Decision::TakeOver,
            ),
            (Some(lease(None, Some(99), 15)), 100, Decision::TakeOver),
            (Some(lease(Some(""), Some(99), 15)), 100, Decision::TakeOver),
            // never renewed: nothing to wait for
            (
                Some(lease(Some("operator-b"), None, 15)),
                100,
                Decision::TakeOver,
            ),
        ];
        for (l, now, want) in table {
            assert_eq!(&decide(l.as_ref(), at(*now), me), want, "{l:?} at {now}");
        }
    }
}
