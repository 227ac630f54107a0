//! A load generator that plays a Service as kube-proxy would: it spreads `GET path`
//! requests round-robin over the ready endpoints of the Service's EndpointSlices, which
//! it re-reads from the apiserver every half second.

use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::api::ListParams;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

const REFRESH: Duration = Duration::from_millis(500);

pub struct ServiceLoad {
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
    pub ok: Arc<AtomicU64>,
    pub failed: Arc<AtomicU64>,
}

/// `ip:port` of every ready endpoint of Service `name` (port named `port_name`).
async fn ready_endpoints(
    slices: &Api<EndpointSlice>,
    name: &str,
    port_name: &str,
) -> Option<Vec<String>> {
    let lp = ListParams::default().labels(&format!("kubernetes.io/service-name={name}"));
    let list = slices.list(&lp).await.ok()?;
    let mut out = Vec::new();
    for slice in &list.items {
        let port = slice
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(port_name))
            .and_then(|p| p.port);
        let Some(port) = port else { continue };
        for e in slice.endpoints.iter().flatten() {
            if e.conditions.as_ref().and_then(|c| c.ready) == Some(true) {
                out.extend(e.addresses.iter().map(|a| format!("{a}:{port}")));
            }
        }
    }
    Some(out)
}

impl ServiceLoad {
    /// Starts `workers` tasks sending `GET http://<endpoint><path>` to Service `name` in
    /// `namespace`, pausing `pause` between requests.
    pub fn start(
        client: kube::Client,
        namespace: &str,
        name: &str,
        path: &str,
        workers: usize,
        pause: Duration,
    ) -> ServiceLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let endpoints: Arc<Mutex<Vec<String>>> = Arc::default();
        let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let slices: Api<EndpointSlice> = Api::namespaced(client, namespace);
        let mut tasks = Vec::new();
        {
            let (stop, endpoints, name) = (stop.clone(), endpoints.clone(), name.to_string());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(list) = ready_endpoints(&slices, &name, "http").await
                        && let Ok(mut e) = endpoints.lock()
                    {
                        *e = list;
                    }
                    tokio::time::sleep(REFRESH).await;
                }
            }));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client");
        let next = Arc::new(AtomicUsize::new(0));
        for _ in 0..workers {
            let (stop, endpoints, http, next, ok, failed, path) = (
                stop.clone(),
                endpoints.clone(),
                http.clone(),
                next.clone(),
                ok.clone(),
                failed.clone(),
                path.to_string(),
            );
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let target = endpoints.lock().ok().and_then(|e| {
                        (!e.is_empty())
                            .then(|| e[next.fetch_add(1, Ordering::Relaxed) % e.len()].clone())
                    });
                    if let Some(target) = target {
                        let counter = match http.get(format!("http://{target}{path}")).send().await
                        {
                            Ok(r) if r.status().is_server_error() => &failed,
                            Ok(_) => &ok,
                            Err(_) => &failed,
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    tokio::time::sleep(pause).await;
                }
            }));
        }
        ServiceLoad {
            stop,
            tasks,
            ok,
            failed,
        }
    }
}

impl Drop for ServiceLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in &self.tasks {
            t.abort();
        }
    }
}
