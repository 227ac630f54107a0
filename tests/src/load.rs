//! A small load generator: `workers` tasks sending `GET base+path` in a loop until
//! stopped, counting responses by status class.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::task::JoinHandle;

#[derive(Default)]
pub struct Counts {
    pub ok: AtomicU64,
    pub server_errors: AtomicU64,
    pub other: AtomicU64,
}

pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
    pub counts: Arc<Counts>,
}

impl Load {
    /// Starts `workers` tasks, each pausing `pause` between requests.
    pub fn start(url: String, workers: usize, pause: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let tasks = (0..workers)
            .map(|_| {
                let (stop, counts, client, url) =
                    (stop.clone(), counts.clone(), client.clone(), url.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let counter = match client.get(&url).send().await {
                            Ok(r) if r.status().is_success() => &counts.ok,
                            Ok(r) if r.status().is_server_error() => &counts.server_errors,
                            _ => &counts.other,
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(pause).await;
                    }
                })
            })
            .collect();
        Load {
            stop,
            tasks,
            counts,
        }
    }

    /// (2xx, 5xx, other) so far.
    pub fn totals(&self) -> (u64, u64, u64) {
        (
            self.counts.ok.load(Ordering::Relaxed),
            self.counts.server_errors.load(Ordering::Relaxed),
            self.counts.other.load(Ordering::Relaxed),
        )
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in &self.tasks {
            t.abort();
        }
    }
}
