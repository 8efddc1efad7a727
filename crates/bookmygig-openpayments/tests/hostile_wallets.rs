//! A wallet is a stranger's server: answers past the client's ceiling, or that are not the
//! documents the standard describes, are errors for that one call.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use bookmygig_openpayments::{
    ClientKey, MAX_RESPONSE_BYTES, OpenPaymentsClient, OpenPaymentsError,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A one-connection HTTP server that answers `body` (as JSON, 200) to whatever it is asked;
/// its URL.
async fn wallet_answering(body: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/alice", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = vec![0; 4096];
        let _ = socket.read(&mut request).await;
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let _ = socket.write_all(head.as_bytes()).await;
        let _ = socket.write_all(&body).await;
    });
    url
}

fn client() -> OpenPaymentsClient {
    OpenPaymentsClient::new(
        reqwest::Client::new(),
        ClientKey::generate("k"),
        "http://127.0.0.1:9/platform",
    )
}

#[tokio::test]
async fn an_answer_past_the_ceiling_is_refused_unread() {
    let mut body = br#"{"id":"x","assetCode":"USD","assetScale":2,"authServer":"a","resourceServer":"r","publicName":""#.to_vec();
    body.resize(MAX_RESPONSE_BYTES + 1, b'a');
    let url = wallet_answering(body).await;
    let err = client().wallet_address(&url).await.unwrap_err();
    assert!(
        matches!(&err, OpenPaymentsError::Invalid { reason, .. } if reason.contains("bytes")),
        "{err:?}"
    );
    assert!(
        !err.is_transient(),
        "a hostile answer is not retried as if the wallet were down"
    );
}

#[tokio::test]
async fn an_answer_that_is_not_the_document_is_an_error() {
    let deep = "[".repeat(100_000).into_bytes();
    let url = wallet_answering(deep).await;
    let err = client().wallet_address(&url).await.unwrap_err();
    assert!(matches!(err, OpenPaymentsError::Invalid { .. }), "{err:?}");

    let url = wallet_answering(br#"{"id":"x","assetCode":"USD","assetScale":999}"#.to_vec()).await;
    let err = client().wallet_address(&url).await.unwrap_err();
    assert!(matches!(err, OpenPaymentsError::Invalid { .. }), "{err:?}");
}
