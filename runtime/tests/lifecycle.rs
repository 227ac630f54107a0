//! Process lifecycle: SIGTERM drains and exits 0; a model that cannot load ends
//! the process non-zero with the reason.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{MODEL_ID, Server, models_dir, run_to_exit, scratch_dir};
use serde_json::json;

/// Reads from `stream` until `needle` has arrived (bounded by the read timeout).
fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let n = stream.read(&mut buf).expect("read (timed out?)");
        assert!(
            n > 0,
            "connection closed; got {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_and_exits_zero() {
    let mut server = Server::start_ready(&[("HERMES_SHUTDOWN_GRACE_SECONDS", "20")]).await;
    let body = json!({"text": "Hermes keeps answering while it drains."}).to_string();

    // A request provably in flight: the handler has started reading its body when
    // the server sends `100 Continue`; only then does the signal go out.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST /embed_text HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    read_until(&mut stream, "100 Continue\r\n\r\n");
    server.signal(libc::SIGTERM);
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.write_all(body.as_bytes()).unwrap();
    let response = read_until(&mut stream, "\"embedding_id\"");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let status = server.wait_exit(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0), "{}", server.logs());
    assert!(server.logs().contains("shutting down"), "{}", server.logs());
    // Once draining, new connections are refused.
    assert!(TcpStream::connect(("127.0.0.1", server.port)).is_err());
}

#[tokio::test]
async fn sigterm_while_models_load_exits_zero() {
    let mut server = Server::start(&[("HERMES_TEST_LOAD_DELAY_MS", "60000")]).await;
    server.signal(libc::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(0), "{}", server.logs());
}

#[test]
fn a_model_that_fails_to_load_ends_the_process_with_the_reason() {
    // Every file present (ONNX Runtime too), but the graph is not an ONNX model.
    let dir = scratch_dir("corrupt-model");
    let source = models_dir().join(MODEL_ID);
    let target = dir.join(MODEL_ID);
    std::fs::create_dir_all(target.join("1_Pooling")).unwrap();
    for file in [
        "config.json",
        "sentence_bert_config.json",
        "tokenizer.json",
        "1_Pooling/config.json",
    ] {
        std::fs::copy(source.join(file), target.join(file)).unwrap();
    }
    std::fs::write(target.join("model.onnx"), b"not an onnx file").unwrap();
    std::os::unix::fs::symlink(models_dir().join("onnxruntime"), dir.join("onnxruntime")).unwrap();

    let dir_text = dir.display().to_string();
    let (status, stderr) = run_to_exit(&[("HERMES_MODEL_DIR", &dir_text)], Duration::from_secs(60));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(MODEL_ID) && stderr.contains("failed to load"),
        "{stderr}"
    );
    assert!(stderr.contains("model.onnx"), "{stderr}");
}
