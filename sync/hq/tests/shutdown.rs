//! Graceful shutdown: a batch in flight when shutdown is requested is
//! finished and acknowledged; then the server stops.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::sync::Arc;
use std::time::Duration;

use tillcard_hq::service;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use util::{Backend, harness, new_member};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_batch_finishes_after_shutdown_is_requested() {
    let h = harness(Backend::Sqlite).await;
    let mut till = h.provision("S001").await;
    let batch = till.simple_batch(new_member(), "13800138050", 200);
    let req = till
        .creds
        .upload_request(batch, chrono::Utc::now().timestamp())
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(service::serve(listener, Arc::clone(&h.hq), async {
        let _ = stopped.await;
    }));

    // Send the headers and half the body, request shutdown, then the rest.
    let mut head = format!(
        "POST {} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\n",
        req.path_and_query,
        req.body.len()
    );
    for (n, v) in &req.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let half = req.body.len() / 2;
    stream.write_all(&req.body[..half]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream.write_all(&req.body[half..]).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response);
    let status_line = text.lines().next().unwrap_or_default().to_string();
    let finished = tokio::time::timeout(Duration::from_secs(10), server).await;
    let counts = h.hq.store().counts().await.unwrap();
    println!(
        "shutdown: in-flight batch answered {status_line:?}; server stopped: {}; events stored {}",
        finished.is_ok(),
        counts.events
    );
    assert!(status_line.contains("200"), "{text}");
    assert!(
        finished.is_ok(),
        "server stopped after finishing the request"
    );
    assert_eq!(counts.events, 200);
}
