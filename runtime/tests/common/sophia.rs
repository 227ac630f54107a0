//! A small Sophia for tests, following the contract README: bearer auth,
//! `POST /ingest/media` (multipart) and `POST /ingest/hermes_proposal` (JSON,
//! 201). It records what it received, honours `Idempotency-Key` (a redelivered
//! proposal is acknowledged but stored once), can answer a chosen error status,
//! and can be switched down (port closed, open connections answer 503) and up
//! again on the same port. It keeps the W3C `traceparent` header of each ingest.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

pub const TOKEN: &str = "sophia-test-token";

/// One `/ingest/media` upload as Sophia saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMedia {
    pub media_type: Option<String>,
    pub source: Option<String>,
    pub derivation: Option<String>,
    pub question: Option<String>,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

#[derive(Default)]
struct Shared {
    up: AtomicBool,
    /// When non-zero, every ingest answers this status.
    fail_with: AtomicU16,
    media: Mutex<Vec<ReceivedMedia>>,
    /// Proposals stored (each idempotency key once).
    proposals: Mutex<Vec<Value>>,
    /// Every proposal POST, redeliveries included.
    proposal_posts: Mutex<Vec<String>>,
    keys: Mutex<HashSet<String>>,
    /// The `traceparent` of every ingest that carried one, in arrival order.
    traceparents: Mutex<Vec<String>>,
}

pub struct Sophia {
    shared: Arc<Shared>,
    pub addr: SocketAddr,
    server: Option<JoinHandle<()>>,
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}"))
}

fn refuse(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    if let Some(traceparent) = headers.get("traceparent").and_then(|v| v.to_str().ok()) {
        shared
            .traceparents
            .lock()
            .unwrap()
            .push(traceparent.to_owned());
    }
    if !shared.up.load(Ordering::SeqCst) {
        return Some(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"detail": "down"})),
            )
                .into_response(),
        );
    }
    if !authorized(headers) {
        return Some(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"detail": "Invalid token"})),
            )
                .into_response(),
        );
    }
    match shared.fail_with.load(Ordering::SeqCst) {
        0 => None,
        code => Some(
            (
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                Json(json!({"detail": format!("sophia says {code}")})),
            )
                .into_response(),
        ),
    }
}

async fn ingest_media(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    if let Some(r) = refuse(&shared, &headers) {
        return r;
    }
    let mut got = ReceivedMedia {
        media_type: None,
        source: None,
        derivation: None,
        question: None,
        file_name: None,
        content_type: None,
        bytes: Vec::new(),
    };
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            got.file_name = field.file_name().map(str::to_owned);
            got.content_type = field.content_type().map(str::to_owned);
            got.bytes = field.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            continue;
        }
        let text = field.text().await.ok();
        match name.as_str() {
            "media_type" => got.media_type = text,
            "source" => got.source = text,
            "derivation" => got.derivation = text,
            "question" => got.question = text,
            _ => {}
        }
    }
    let n = {
        let mut media = shared.media.lock().unwrap();
        media.push(got.clone());
        media.len()
    };
    Json(json!({
        "sample_id": format!("sample-{n}"),
        "file_path": format!("/data/media/{}", got.file_name.unwrap_or_default()),
        "metadata": {"size": got.bytes.len(), "media_type": got.media_type},
        "neo4j_node_id": format!("node-{n}"),
        "message": "Media ingested",
    }))
    .into_response()
}

async fn proposal(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = refuse(&shared, &headers) {
        return r;
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| body["proposal_id"].as_str().unwrap_or_default().to_owned());
    shared.proposal_posts.lock().unwrap().push(key.clone());
    if shared.keys.lock().unwrap().insert(key) {
        shared.proposals.lock().unwrap().push(body);
        (StatusCode::CREATED, Json(json!({"status": "stored"}))).into_response()
    } else {
        (StatusCode::OK, Json(json!({"status": "duplicate"}))).into_response()
    }
}

impl Sophia {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        shared.up.store(true, Ordering::SeqCst);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind sophia");
        let addr = listener.local_addr().expect("addr");
        let mut sophia = Sophia {
            shared,
            addr,
            server: None,
        };
        sophia.serve(listener);
        sophia
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .route("/ingest/media", post(ingest_media))
            .route("/ingest/hermes_proposal", post(proposal))
            .layer(DefaultBodyLimit::max(200 * 1024 * 1024))
            .with_state(Arc::clone(&self.shared));
        self.server = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `SOPHIA_URL` and the token for the runtime.
    pub fn envs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SOPHIA_URL", self.url()),
            ("SOPHIA_API_KEY", TOKEN.to_owned()),
        ]
    }

    /// Closes the port; connections still open answer 503.
    pub fn down(&mut self) {
        self.shared.up.store(false, Ordering::SeqCst);
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn up(&mut self) {
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) => {
                    tries += 1;
                    assert!(tries < 100, "cannot rebind {}: {e}", self.addr);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        self.shared.up.store(true, Ordering::SeqCst);
        self.serve(listener);
    }

    pub fn fail_with(&self, status: u16) {
        self.shared.fail_with.store(status, Ordering::SeqCst);
    }

    pub fn media(&self) -> Vec<ReceivedMedia> {
        self.shared.media.lock().unwrap().clone()
    }

    pub fn proposals(&self) -> Vec<Value> {
        self.shared.proposals.lock().unwrap().clone()
    }

    pub fn traceparents(&self) -> Vec<String> {
        self.shared.traceparents.lock().unwrap().clone()
    }

    pub fn proposal_posts(&self) -> usize {
        self.shared.proposal_posts.lock().unwrap().len()
    }
}

impl Drop for Sophia {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}
