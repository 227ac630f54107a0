//! Embeddings land in a real Milvus: the contract's collection is created with
//! the model's dimension, `persisted: true` means the row is there, and an
//! existing collection with another dimension is reported and left untouched; a
//! repeated text comes from the embedding cache yet is its own row; a request
//! cancelled by its timeout while its row is being written still gets the row
//! stored (the write runs detached: outbox, then Milvus).

mod common;

use std::time::Duration;

use common::Server;
use common::milvus::{
    MilvusServer, count_ids, eventually, ids_with_text, milvus_health, wait_milvus_healthy,
    wait_outbox_drained,
};
use milvus::v2::prelude::{
    CollectionSchema, CreateCollectionRequest, CreateIndexRequest, DataType,
    DescribeCollectionRequest, DescribeIndexRequest, FieldSchema, IndexParam, IndexType,
    LoadCollectionRequest, MetricType,
};
use serde_json::{Value, json};

const COLLECTION: &str = "hermes_embeddings";

async fn start_runtime(milvus: &MilvusServer) -> Server {
    let envs = milvus.envs();
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start_ready(&envs).await
}

#[tokio::test]
async fn embeddings_are_persisted_in_the_contract_collection_and_found_by_id() {
    let milvus = MilvusServer::start().await;
    let s = start_runtime(&milvus).await;
    wait_milvus_healthy(&s, Duration::from_secs(60)).await;
    let health = milvus_health(&s).await;
    assert_eq!(health["connected"], true, "{health}");
    assert_eq!(health["details"]["dimension"], 384, "{health}");
    assert_eq!(health["details"]["collection"], COLLECTION);

    let mut ids = Vec::new();
    for text in [
        "The cat sleeps.",
        "Interest rates rose.",
        "Bonjour le monde",
    ] {
        let r = s.post_json("/embed_text", &json!({ "text": text })).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["persisted"], true, "{body}");
        assert!(body.get("warning").is_none(), "{body}");
        ids.push(body["embedding_id"].as_str().unwrap().to_owned());
    }

    let client = milvus.client().await;
    let counts = count_ids(&client, COLLECTION, &ids).await;
    for id in &ids {
        assert_eq!(counts.get(id), Some(&1), "{id} in Milvus once: {counts:?}");
    }

    // The schema, index and metric are the contract's.
    let described = client
        .describe_collection(
            DescribeCollectionRequest::builder()
                .collection_name(COLLECTION)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let fields: Vec<(String, DataType)> = described
        .description()
        .get_schema()
        .get_fields()
        .iter()
        .map(|f| (f.get_name().to_owned(), f.get_data_type()))
        .collect();
    for (name, ty) in [
        ("embedding_id", DataType::VarChar),
        ("embedding", DataType::FloatVector),
        ("model", DataType::VarChar),
        ("text", DataType::VarChar),
        ("timestamp", DataType::Int64),
    ] {
        assert!(
            fields.contains(&(name.to_owned(), ty)),
            "{name}: {fields:?}"
        );
    }
    let index = client
        .describe_index(
            DescribeIndexRequest::builder()
                .collection_name(COLLECTION)
                .field_name("embedding")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let text = format!("{index:?}");
    for expected in [
        "index_type: IvfFlat",
        "metric_type: L2",
        r#""nlist": "128""#,
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
}

#[tokio::test]
async fn a_repeated_text_is_a_cache_hit_with_its_own_id_and_row() {
    let milvus = MilvusServer::start().await;
    let s = start_runtime(&milvus).await;
    wait_milvus_healthy(&s, Duration::from_secs(60)).await;
    let text = "The same question, asked twice.";
    let mut answers = Vec::new();
    for _ in 0..2 {
        let r = s.post_json("/embed_text", &json!({ "text": text })).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["persisted"], true, "{body}");
        answers.push(body);
    }
    assert_eq!(answers[0]["embedding"], answers[1]["embedding"]);
    let ids: Vec<String> = answers
        .iter()
        .map(|b| b["embedding_id"].as_str().unwrap().to_owned())
        .collect();
    assert_ne!(ids[0], ids[1], "each call gets its own embedding_id");

    let metrics = s.get("/metrics").await.text().await.unwrap();
    for expected in [
        "hermes_embedding_cache_hits_total 1",
        "hermes_embedding_cache_misses_total 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == expected),
            "missing {expected} in\n{metrics}"
        );
    }
    let client = milvus.client().await;
    let counts = count_ids(&client, COLLECTION, &ids).await;
    for id in &ids {
        assert_eq!(counts.get(id), Some(&1), "{id} in Milvus once: {counts:?}");
    }
}

#[tokio::test]
async fn a_collection_with_another_dimension_is_reported_and_never_written() {
    let milvus = MilvusServer::start().await;
    let client = milvus.client().await;
    let schema = CollectionSchema::new()
        .add_field(
            FieldSchema::new()
                .name("embedding_id")
                .data_type(DataType::VarChar)
                .max_length(64)
                .primary_key(true)
                .auto_id(false),
        )
        .add_field(
            FieldSchema::new()
                .name("embedding")
                .data_type(DataType::FloatVector)
                .dimension(8),
        );
    client
        .create_collection(
            CreateCollectionRequest::builder()
                .collection_name(COLLECTION)
                .schema(schema)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    // Indexed and loaded, so the test can query it afterwards.
    client
        .create_index(
            CreateIndexRequest::builder()
                .collection_name(COLLECTION)
                .index_param(
                    IndexParam::new()
                        .field_name("embedding")
                        .index_type(IndexType::Flat)
                        .metric_type(MetricType::L2),
                )
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    client
        .load_collection(
            LoadCollectionRequest::builder()
                .collection_name(COLLECTION)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();

    let s = start_runtime(&milvus).await;
    let health = common::milvus::eventually(
        "the dimension problem in /health",
        Duration::from_secs(60),
        || async {
            let m = milvus_health(&s).await;
            m["details"]["dimension_problem"].is_string().then_some(m)
        },
    )
    .await;
    let problem = health["details"]["dimension_problem"].as_str().unwrap();
    assert!(
        problem.contains("dimension 8") && problem.contains("384"),
        "{problem}"
    );
    assert_ne!(health["status"], "healthy");
    let full: Value = s.get("/health").await.json().await.unwrap();
    assert_eq!(full["status"], "degraded");

    let r = s
        .post_json("/embed_text", &json!({ "text": "kept safe" }))
        .await;
    assert_eq!(r.status(), 200, "models still serve");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["persisted"], false, "{body}");
    assert!(
        body["warning"].as_str().unwrap().contains("dimension"),
        "{body}"
    );
    let id = body["embedding_id"].as_str().unwrap().to_owned();
    assert!(
        count_ids(&client, COLLECTION, &[id]).await.is_empty(),
        "nothing written"
    );
    assert!(
        s.logs().contains("dimension 8"),
        "the logs name the problem"
    );
}

#[tokio::test]
async fn a_request_timed_out_during_its_write_still_gets_its_row_stored() {
    let milvus = MilvusServer::start().await;
    let envs = milvus.envs();
    let mut envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // /embed_text may take 3 s (the embedding itself takes milliseconds, even on a
    // busy machine); a Milvus call gives up after 8 s.
    envs.push(("HERMES_ROUTE_TIMEOUTS_MS", "embed_text=3000"));
    envs.push(("HERMES_MILVUS_TIMEOUT_MS", "8000"));
    let s = Server::start_ready(&envs).await;
    wait_milvus_healthy(&s, Duration::from_secs(60)).await;

    // Milvus frozen: the write hangs, the request times out meanwhile.
    milvus.signal(libc::SIGSTOP);
    let text = "Cancelled requests keep their rows.";
    let r = s.post_json("/embed_text", &json!({ "text": text })).await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    if status != 504 {
        milvus.signal(libc::SIGCONT);
    }
    assert_eq!(status, 504, "{body}");
    // The detached write gives up on Milvus and queues the row durably...
    eventually(
        "the cancelled row in the outbox",
        Duration::from_secs(30),
        || async {
            let m = milvus_health(&s).await;
            (m["details"]["outbox_depth"] == 1).then_some(())
        },
    )
    .await;
    // ...and it reaches Milvus once Milvus is back.
    milvus.signal(libc::SIGCONT);
    wait_outbox_drained(&s, Duration::from_secs(60)).await;
    let client = milvus.client().await;
    let ids = ids_with_text(&client, COLLECTION, text).await;
    assert_eq!(ids.len(), 1, "{ids:?}");
}
