//! The upsert RPC on our own gRPC channel. The SDK's `ClientV2` takes no
//! per-call metadata, so its calls cannot carry the W3C trace headers of the
//! span they run in; this one sends them (`traceparent`, `tracestate`) beside
//! the credentials the SDK would send. The SDK still connects and ensures the
//! collection: only the write path, which runs inside requests, is ours.

use std::time::Duration;

use base64::Engine;
use milvus::proto::milvus::milvus_service_client::MilvusServiceClient;
use milvus::proto::{common, milvus as rpc, schema as proto};
use tonic::metadata::{AsciiMetadataValue, MetadataKey, MetadataMap};
use tonic::transport::{Channel, Endpoint};

use super::schema;
use super::write::{EmbeddingRow, WriteError};
use crate::trace_context;

#[derive(Clone)]
pub struct UpsertClient {
    service: MilvusServiceClient<Channel>,
    /// `base64(user:password)`, as the SDK sends it.
    authorization: Option<AsciiMetadataValue>,
    collection: String,
    timeout: Duration,
}

impl UpsertClient {
    /// A client of `uri` (`http://host:port`). The connection opens at the
    /// first upsert, and reopens after a failure.
    pub fn new(
        uri: &str,
        credentials: Option<&str>,
        collection: &str,
        timeout: Duration,
    ) -> Result<Self, String> {
        let channel = Endpoint::from_shared(uri.to_owned())
            .map_err(|e| format!("invalid Milvus address: {e}"))?
            .connect_timeout(timeout)
            .connect_lazy();
        let authorization = credentials
            .map(|c| base64::engine::general_purpose::STANDARD.encode(c).parse())
            .transpose()
            .map_err(|_| "the Milvus credentials are not valid gRPC metadata".to_owned())?;
        Ok(Self {
            service: MilvusServiceClient::new(channel),
            authorization,
            collection: collection.to_owned(),
            timeout,
        })
    }

    /// Upserts `rows` in one call, carrying the current span's trace headers;
    /// `Ok` only when Milvus acknowledged every row.
    pub async fn upsert(&self, rows: &[EmbeddingRow]) -> Result<(), WriteError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut request = tonic::Request::new(upsert_request(&self.collection, rows));
        request.set_timeout(self.timeout);
        attach(
            request.metadata_mut(),
            self.authorization.as_ref(),
            &trace_context::headers(),
        );
        let mut service = self.service.clone();
        match tokio::time::timeout(self.timeout, service.upsert(request)).await {
            Err(_) => Err(WriteError::Timeout(self.timeout)),
            Ok(Err(status)) => Err(WriteError::Failed(format!(
                "{:?}: {}",
                status.code(),
                status.message()
            ))),
            Ok(Ok(answer)) => acknowledged(&answer.into_inner(), rows.len()),
        }
    }
}

/// The request of the contract's collection: one column per field, by name
/// (Milvus resolves the field ids); the vector dimension from the rows.
fn upsert_request(collection: &str, rows: &[EmbeddingRow]) -> rpc::UpsertRequest {
    let dimension = rows.first().map_or(0, |r| r.embedding.len());
    let mut vectors = Vec::with_capacity(rows.len() * dimension);
    for row in rows {
        vectors.extend_from_slice(&row.embedding);
    }
    let strings = |values: Vec<String>| {
        proto::field_data::Field::Scalars(proto::ScalarField {
            data: Some(proto::scalar_field::Data::StringData(proto::StringArray {
                data: values,
            })),
        })
    };
    let column = |name: &str, data_type: proto::DataType, field| proto::FieldData {
        r#type: data_type as i32,
        field_name: name.to_owned(),
        field: Some(field),
        ..Default::default()
    };
    rpc::UpsertRequest {
        collection_name: collection.to_owned(),
        num_rows: u32::try_from(rows.len()).unwrap_or(u32::MAX),
        fields_data: vec![
            column(
                schema::ID,
                proto::DataType::VarChar,
                strings(rows.iter().map(|r| r.embedding_id.clone()).collect()),
            ),
            column(
                schema::VECTOR,
                proto::DataType::FloatVector,
                proto::field_data::Field::Vectors(proto::VectorField {
                    dim: i64::try_from(dimension).unwrap_or(i64::MAX),
                    data: Some(proto::vector_field::Data::FloatVector(proto::FloatArray {
                        data: vectors,
                    })),
                }),
            ),
            column(
                schema::MODEL,
                proto::DataType::VarChar,
                strings(rows.iter().map(|r| r.model.clone()).collect()),
            ),
            column(
                schema::TEXT,
                proto::DataType::VarChar,
                strings(
                    rows.iter()
                        .map(|r| schema::fit_text(&r.text).to_owned())
                        .collect(),
                ),
            ),
            column(
                schema::TIMESTAMP,
                proto::DataType::Int64,
                proto::field_data::Field::Scalars(proto::ScalarField {
                    data: Some(proto::scalar_field::Data::LongData(proto::LongArray {
                        data: rows.iter().map(|r| r.timestamp).collect(),
                    })),
                }),
            ),
        ],
        ..Default::default()
    }
}

/// Credentials and trace headers as gRPC metadata (a header that is not valid
/// metadata is left out: the write matters more than its trace).
fn attach(
    metadata: &mut MetadataMap,
    authorization: Option<&AsciiMetadataValue>,
    trace: &reqwest::header::HeaderMap,
) {
    if let Some(token) = authorization {
        metadata.insert("authorization", token.clone());
    }
    for (name, value) in trace {
        let key = MetadataKey::from_bytes(name.as_str().as_bytes());
        let value = AsciiMetadataValue::try_from(value.as_bytes());
        if let (Ok(key), Ok(value)) = (key, value) {
            metadata.insert(key, value);
        }
    }
}

/// Milvus's answer: a success status and no row refused.
#[allow(deprecated)] // `error_code`: older servers set only it
fn acknowledged(answer: &rpc::MutationResult, rows: usize) -> Result<(), WriteError> {
    let Some(status) = &answer.status else {
        return Err(WriteError::Failed("an answer without a status".into()));
    };
    if status.code != 0 || status.error_code != common::ErrorCode::Success as i32 {
        return Err(WriteError::Failed(format!(
            "code {}: {}",
            status.code, status.reason
        )));
    }
    if !answer.err_index.is_empty() {
        return Err(WriteError::Failed(format!(
            "{} of {rows} rows refused",
            answer.err_index.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, embedding: Vec<f32>) -> EmbeddingRow {
        EmbeddingRow {
            embedding_id: id.into(),
            embedding,
            model: "m".into(),
            text: "t".into(),
            timestamp: 7,
            traceparent: None,
        }
    }

    #[test]
    fn the_request_has_one_column_per_field_with_the_vectors_flattened() {
        let request = upsert_request("c", &[row("a", vec![1.0, 2.0]), row("b", vec![3.0, 4.0])]);
        assert_eq!(request.collection_name, "c");
        assert_eq!(request.num_rows, 2);
        let names: Vec<_> = request
            .fields_data
            .iter()
            .map(|f| f.field_name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                schema::ID,
                schema::VECTOR,
                schema::MODEL,
                schema::TEXT,
                schema::TIMESTAMP
            ]
        );
        let Some(proto::field_data::Field::Vectors(vectors)) = &request.fields_data[1].field else {
            panic!("no vector column: {:?}", request.fields_data[1]);
        };
        assert_eq!(vectors.dim, 2);
        assert_eq!(
            vectors.data,
            Some(proto::vector_field::Data::FloatVector(proto::FloatArray {
                data: vec![1.0, 2.0, 3.0, 4.0]
            }))
        );
    }

    #[test]
    fn trace_headers_and_credentials_become_metadata() {
        let mut trace = reqwest::header::HeaderMap::new();
        let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        trace.insert("traceparent", parent.parse().unwrap());
        trace.insert("tracestate", "vendor=x".parse().unwrap());
        let token: AsciiMetadataValue = "dTpw".parse().unwrap();
        let mut metadata = MetadataMap::new();
        attach(&mut metadata, Some(&token), &trace);
        assert_eq!(metadata.get("traceparent").unwrap(), parent);
        assert_eq!(metadata.get("tracestate").unwrap(), "vendor=x");
        assert_eq!(metadata.get("authorization").unwrap(), "dTpw");
    }

    #[test]
    #[allow(deprecated)]
    fn only_a_full_success_acknowledges_the_rows() {
        let ok = rpc::MutationResult {
            status: Some(common::Status::default()),
            ..Default::default()
        };
        assert!(acknowledged(&ok, 1).is_ok());
        let refused = rpc::MutationResult {
            status: Some(common::Status {
                code: 1100,
                reason: "collection not loaded".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let error = acknowledged(&refused, 1).unwrap_err().to_string();
        assert!(error.contains("collection not loaded"), "{error}");
        let partial = rpc::MutationResult {
            err_index: vec![1],
            ..ok.clone()
        };
        assert!(acknowledged(&partial, 2).is_err());
        let silent = rpc::MutationResult::default();
        assert!(acknowledged(&silent, 1).is_err());
    }
}
