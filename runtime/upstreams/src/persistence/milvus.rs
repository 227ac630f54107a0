//! The one shared Milvus client and its supervisor.
//!
//! The supervisor connects (bounded by the configured timeout), waits for the
//! embedding model's dimension, ensures the contract's collection (creates it
//! with its index and loads it, or checks the existing one), and then keeps
//! watching: a failed write asks it to verify the connection, and while Milvus
//! is unreachable it reconnects with exponential backoff and jitter. Writes go
//! only to a collection it has checked, through the Milvus circuit breaker.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use milvus::v2::prelude::{
    ClientV2, ConnectConfig, CreateCollectionRequest, CreateIndexRequest,
    DescribeCollectionRequest, HasCollectionRequest, LoadCollectionRequest, RetryConfig,
};
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use tracing::Instrument;

use super::schema::{self, SchemaProblem};
use super::upsert_rpc::UpsertClient;
use super::write::{EmbeddingRow, WriteError};
use crate::config::MilvusConfig;
use crate::resilience::backoff::Backoff;
use crate::resilience::breaker::{BreakerConfig, CircuitState, SharedBreaker};
use crate::resilience::metrics::DeliveryMetrics;
use crate::trace_context;

pub const DEPENDENCY: &str = "milvus";
/// How often a collection with the wrong schema is checked again.
const SCHEMA_RECHECK: Duration = Duration::from_secs(30);

/// What the runtime knows about Milvus right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MilvusStatus {
    Connecting,
    /// Connected; the collection is ensured once the embedding model is loaded.
    WaitingForModel,
    Ready {
        dimension: u32,
    },
    Unreachable {
        error: String,
    },
    Schema(SchemaProblem),
    /// No embedding model is served, so nothing is persisted.
    NoEmbeddingModel,
}

impl MilvusStatus {
    fn describe(&self) -> String {
        match self {
            MilvusStatus::Connecting => "connecting to Milvus".into(),
            MilvusStatus::WaitingForModel => {
                "connected; the collection is ensured once the embedding model is loaded".into()
            }
            MilvusStatus::Ready { dimension } => format!("ready (dimension {dimension})"),
            MilvusStatus::Unreachable { error } => format!("Milvus is unreachable: {error}"),
            MilvusStatus::Schema(p) => p.to_string(),
            MilvusStatus::NoEmbeddingModel => {
                "no embedding model is served, so nothing is persisted".into()
            }
        }
    }
}

/// The embedding dimension the collection must have, once known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Unknown,
    Known(u32),
    NoModel,
}

#[derive(Debug)]
enum EstablishError {
    Unreachable(String),
    Schema(SchemaProblem),
}

/// The SDK's client (connect, ensure, check) and our own upsert channel,
/// which carries the trace headers.
#[derive(Clone)]
struct Connection {
    admin: ClientV2,
    upserts: UpsertClient,
}

pub struct MilvusStore {
    settings: MilvusConfig,
    timeout: Duration,
    connection: RwLock<Option<Connection>>,
    status: RwLock<MilvusStatus>,
    dimension: watch::Sender<Dimension>,
    breaker: SharedBreaker,
    /// A write failed: the supervisor verifies the connection.
    check: Notify,
    /// Milvus became ready: replays stop waiting out their backoff.
    pub recovered: Arc<Notify>,
    backoff: Backoff,
}

impl std::fmt::Debug for MilvusStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MilvusStore")
            .field("host", &self.settings.host)
            .field("port", &self.settings.port)
            .field("collection", &self.settings.collection)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl MilvusStore {
    pub fn new(
        settings: MilvusConfig,
        timeout: Duration,
        retry_max_delay: Duration,
        metrics: &DeliveryMetrics,
    ) -> Self {
        let gauge = metrics.clone();
        Self {
            settings,
            timeout,
            connection: RwLock::new(None),
            status: RwLock::new(MilvusStatus::Connecting),
            dimension: watch::Sender::new(Dimension::Unknown),
            breaker: SharedBreaker::new(DEPENDENCY, BreakerConfig::default(), move |s| {
                gauge.circuit(DEPENDENCY, s)
            }),
            check: Notify::new(),
            recovered: Arc::new(Notify::new()),
            backoff: Backoff::new(Duration::from_millis(200), retry_max_delay),
        }
    }

    pub fn collection(&self) -> &str {
        &self.settings.collection
    }

    pub fn status(&self) -> MilvusStatus {
        self.status
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_status(&self, status: MilvusStatus) {
        let mut current = self.status.write().unwrap_or_else(|e| e.into_inner());
        if *current != status {
            match &status {
                MilvusStatus::Ready { .. } => {
                    tracing::info!(collection = %self.settings.collection, status = %status.describe(), "milvus ready")
                }
                MilvusStatus::Schema(p) => {
                    tracing::error!(collection = %self.settings.collection, problem = %p, "milvus collection cannot be used")
                }
                MilvusStatus::Unreachable { error } => {
                    tracing::warn!(host = %self.settings.host, port = self.settings.port, error = %error, "milvus unreachable")
                }
                _ => tracing::info!(status = %status.describe(), "milvus status"),
            }
            *current = status;
        }
    }

    pub fn circuit(&self) -> CircuitState {
        self.breaker.state()
    }

    /// Tells the supervisor the dimension of the embedding model (or that there is none).
    pub fn set_dimension(&self, dimension: Dimension) {
        self.dimension.send_replace(dimension);
    }

    fn connection(&self) -> Option<Connection> {
        self.connection
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Upserts `rows` (idempotent: a replayed row replaces itself, never
    /// duplicates); `Ok` only once Milvus acknowledged.
    pub async fn upsert(&self, rows: &[EmbeddingRow]) -> Result<(), WriteError> {
        let status = self.status();
        let MilvusStatus::Ready { .. } = status else {
            return Err(WriteError::NotReady(status.describe()));
        };
        let connection = self
            .connection()
            .ok_or_else(|| WriteError::NotReady("no client".into()))?;
        self.breaker
            .try_acquire()
            .map_err(WriteError::CircuitOpen)?;
        // The upsert carries this span's `traceparent` to Milvus; a replayed row
        // links the span to the request that queued it.
        let span = trace_context::client_span(DEPENDENCY, "upsert", &self.endpoint());
        let mut linked: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.traceparent.as_deref())
            .collect();
        linked.sort_unstable();
        linked.dedup();
        for traceparent in linked {
            trace_context::link(&span, traceparent);
        }
        let result = connection
            .upserts
            .upsert(rows)
            .instrument(span.clone())
            .await;
        if let Err(e) = &result {
            trace_context::record_error(&span, e);
        }
        match &result {
            Ok(()) => self.breaker.on_success(),
            Err(_) => {
                self.breaker.on_failure();
                self.check.notify_one();
            }
        }
        result
    }

    /// Runs until `stop`: connect, ensure, watch, reconnect.
    pub async fn supervise(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut attempt: u32 = 0;
        loop {
            if *stop.borrow() {
                return;
            }
            let wait = match self.establish(&mut stop).await {
                None => return,
                Some(Ok(dimension)) => {
                    attempt = 0;
                    self.set_status(MilvusStatus::Ready { dimension });
                    self.recovered.notify_one();
                    // Healthy: sleep until a write fails, then verify.
                    tokio::select! {
                        () = self.check.notified() => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
                    match self.verify(dimension).await {
                        Ok(()) => continue,
                        Err(EstablishError::Schema(p)) => {
                            self.set_status(MilvusStatus::Schema(p));
                            SCHEMA_RECHECK
                        }
                        Err(EstablishError::Unreachable(error)) => {
                            self.set_status(MilvusStatus::Unreachable { error });
                            Duration::ZERO
                        }
                    }
                }
                Some(Err(EstablishError::Schema(p))) => {
                    self.set_status(MilvusStatus::Schema(p));
                    SCHEMA_RECHECK
                }
                Some(Err(EstablishError::Unreachable(error))) => {
                    self.set_status(MilvusStatus::Unreachable { error });
                    let delay = self.backoff.delay(attempt);
                    attempt = attempt.saturating_add(1);
                    delay
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// Connects if needed, then ensures the collection. `None`: stop requested.
    async fn establish(
        &self,
        stop: &mut watch::Receiver<bool>,
    ) -> Option<Result<u32, EstablishError>> {
        let client = match self.connection() {
            Some(connection) => connection.admin,
            None => match self.connect().await {
                Ok(connection) => {
                    let admin = connection.admin.clone();
                    *self.connection.write().unwrap_or_else(|e| e.into_inner()) = Some(connection);
                    admin
                }
                Err(e) => return Some(Err(EstablishError::Unreachable(e))),
            },
        };
        let mut dimensions = self.dimension.subscribe();
        let known = *dimensions.borrow();
        let dimension = match known {
            Dimension::Known(d) => d,
            Dimension::NoModel => {
                self.set_status(MilvusStatus::NoEmbeddingModel);
                let _ = stop.wait_for(|s| *s).await;
                return None;
            }
            Dimension::Unknown => {
                self.set_status(MilvusStatus::WaitingForModel);
                let known = tokio::select! {
                    d = dimensions.wait_for(|d| *d != Dimension::Unknown) => d.map(|d| *d),
                    _ = stop.wait_for(|s| *s) => return None,
                };
                match known {
                    Ok(Dimension::Known(d)) => d,
                    _ => {
                        self.set_status(MilvusStatus::NoEmbeddingModel);
                        let _ = stop.wait_for(|s| *s).await;
                        return None;
                    }
                }
            }
        };
        Some(self.ensure(&client, dimension).await.map(|()| dimension))
    }

    /// Where Milvus is reached (its gRPC endpoint).
    fn endpoint(&self) -> String {
        format!("http://{}:{}", self.settings.host, self.settings.port)
    }

    async fn connect(&self) -> Result<Connection, String> {
        let uri = self.endpoint();
        let credentials = self.settings.user.as_ref().map(|user| {
            let password = self
                .settings
                .password
                .as_ref()
                .map(|p| p.expose())
                .unwrap_or_default();
            format!("{user}:{password}")
        });
        let upserts = UpsertClient::new(
            &uri,
            credentials.as_deref(),
            &self.settings.collection,
            self.timeout,
        )?;
        let mut config = ConnectConfig::new()
            .uri(uri)
            .connect_timeout(self.timeout)
            .rpc_timeout(self.timeout)
            // The outbox retries; the SDK's own retries (75 by default) would
            // only hold requests hostage.
            .retry(RetryConfig::new().max_attempts(1));
        if let Some(credentials) = credentials {
            config = config.token(credentials);
        }
        let deadline = self.timeout + Duration::from_millis(500);
        match tokio::time::timeout(deadline, ClientV2::new(&config)).await {
            Ok(Ok(admin)) => Ok(Connection { admin, upserts }),
            Ok(Err(e)) => Err(format!(
                "cannot connect to {}:{}: {e}",
                self.settings.host, self.settings.port
            )),
            Err(_) => Err(format!(
                "cannot connect to {}:{} within {:?}",
                self.settings.host, self.settings.port, self.timeout
            )),
        }
    }

    /// Creates the collection (schema, index, load) or checks the existing one.
    async fn ensure(&self, client: &ClientV2, dimension: u32) -> Result<(), EstablishError> {
        let name = self.settings.collection.as_str();
        let unreachable = |what: &str, e: &dyn std::fmt::Display| {
            EstablishError::Unreachable(format!("{what} {name}: {e}"))
        };
        let exists = self
            .call(
                client.has_collection(
                    HasCollectionRequest::builder()
                        .collection_name(name)
                        .build()
                        .map_err(|e| unreachable("has_collection", &e))?,
                ),
            )
            .await
            .map_err(|e| unreachable("has_collection", &e))?
            .exists();
        if exists {
            self.verify(dimension).await?;
        } else {
            let request = CreateCollectionRequest::builder()
                .collection_name(name)
                .schema(schema::collection_schema(dimension))
                .build()
                .map_err(|e| unreachable("create_collection", &e))?;
            self.call(client.create_collection(request))
                .await
                .map_err(|e| unreachable("create_collection", &e))?;
            let index = CreateIndexRequest::builder()
                .collection_name(name)
                .index_param(schema::vector_index())
                .build()
                .map_err(|e| unreachable("create_index", &e))?;
            self.call(client.create_index(index))
                .await
                .map_err(|e| unreachable("create_index", &e))?;
            tracing::info!(
                collection = name,
                dimension,
                "milvus collection created (IVF_FLAT, L2, nlist 128)"
            );
        }
        let load = LoadCollectionRequest::builder()
            .collection_name(name)
            .build()
            .map_err(|e| unreachable("load_collection", &e))?;
        self.call(client.load_collection(load))
            .await
            .map_err(|e| unreachable("load_collection", &e))?;
        Ok(())
    }

    /// Checks the existing collection's schema (and thereby the connection).
    async fn verify(&self, dimension: u32) -> Result<(), EstablishError> {
        let name = self.settings.collection.as_str();
        let client = self
            .connection()
            .ok_or_else(|| EstablishError::Unreachable("no client".into()))?
            .admin;
        let request = DescribeCollectionRequest::builder()
            .collection_name(name)
            .build()
            .map_err(|e| EstablishError::Unreachable(e.to_string()))?;
        let described = self
            .call(client.describe_collection(request))
            .await
            .map_err(|e| EstablishError::Unreachable(format!("describe_collection {name}: {e}")))?;
        schema::check(name, described.description().get_schema(), dimension)
            .map_err(EstablishError::Schema)
    }

    async fn call<T, E: std::fmt::Display>(
        &self,
        future: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, String> {
        match tokio::time::timeout(self.timeout * 4, future).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {:?}", self.timeout * 4)),
        }
    }

    /// The `dependencies.milvus` entry of `/health`.
    pub fn health(&self, outbox: crate::outbox::log::Depth) -> Value {
        let status = self.status();
        let (state, connected) = match &status {
            MilvusStatus::Ready { .. } if self.circuit() == CircuitState::Closed => {
                ("healthy", true)
            }
            MilvusStatus::Ready { .. } | MilvusStatus::WaitingForModel => ("degraded", true),
            MilvusStatus::Schema(_) => ("unavailable", true),
            MilvusStatus::Connecting | MilvusStatus::Unreachable { .. } => ("unavailable", false),
            MilvusStatus::NoEmbeddingModel => ("unavailable", self.connection().is_some()),
        };
        let problem = match &status {
            MilvusStatus::Ready { .. } => None,
            other => Some(other.describe()),
        };
        let dimension_problem = match &status {
            MilvusStatus::Schema(p @ SchemaProblem::Dimension { .. }) => Some(p.to_string()),
            _ => None,
        };
        json!({
            "status": state,
            "connected": connected,
            "details": {
                "host": self.settings.host,
                "port": self.settings.port,
                "collection": self.settings.collection,
                "dimension": match status { MilvusStatus::Ready { dimension } => Some(dimension), _ => None },
                "dimension_problem": dimension_problem,
                "circuit": self.circuit().as_str(),
                "outbox_depth": outbox.records,
                "outbox_bytes": outbox.bytes,
                "reason": problem,
            },
        })
    }
}
