//! `[server] bodies_in_flight_bytes`: request bodies held at once are
//! bounded; a request that does not fit gets a fast 503 `overloaded` with
//! `Retry-After`, its body dropped unkept, without reaching upstream.

use serde_json::{Value, json};

use crate::common::*;
use crate::mock_upstream::*;

/// A chat request whose body is about `bytes` long.
fn body_of(bytes: usize) -> Value {
    json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "x".repeat(bytes)}]})
}

/// A gateway with a 1 MiB body budget, on a mock that holds its first
/// answer until released.
async fn with_a_held_answer() -> (MockUpstream, Gateway) {
    let mock = MockUpstream::start().await;
    mock.push_reply(Reply::GatedJson(
        reqwest::StatusCode::OK,
        completion("gpt-4.1", "held"),
    ));
    let gateway = Setup::on(&mock)
        .config("[server]\nbodies_in_flight_bytes = 1048576\n")
        .start()
        .await;
    (mock, gateway)
}

#[tokio::test]
async fn bodies_past_the_budget_get_a_fast_503_overloaded() {
    let (mock, gateway) = with_a_held_answer().await;

    // A 400 KB request holds twice that of the 1 MiB while its answer is
    // held back: a second one of the same size does not fit, nor does a
    // larger one; a small one does.
    let large = body_of(400_000);
    let held = gateway.chat(&large);
    let meanwhile = async {
        mock.wait_for_hits(1, PATIENCE).await;
        let refused = gateway.chat(&large).await;
        let larger = gateway.chat(&body_of(1_500_000)).await;
        let small = gateway.chat(&chat_body("deepseek-chat", false)).await;
        mock.release();
        (refused, larger, small)
    };
    let (held, (refused, larger, small)) = tokio::join!(held, meanwhile);
    assert_eq!(header(&refused, "retry-after"), "1");
    let error = expect_error(refused, 503, "overloaded").await;
    assert_eq!(error["error"]["type"], "server_error");
    expect_error(larger, 503, "overloaded").await;
    assert_eq!(small.status(), 200);
    assert_eq!(held.status(), 200);
    assert_eq!(mock.hits(), 2, "the refused requests never went upstream");

    // The held request gave its share back: the same size fits now, and a
    // body larger than the whole budget fits alone.
    assert_eq!(gateway.chat(&large).await.status(), 200);
    assert_eq!(gateway.chat(&body_of(1_500_000)).await.status(), 200);
}

#[tokio::test]
async fn an_anthropic_client_gets_overloaded_error_in_its_own_shape() {
    let (mock, gateway) = with_a_held_answer().await;
    let large = body_of(400_000);
    let held = gateway.chat(&large);
    let refused = async {
        mock.wait_for_hits(1, PATIENCE).await;
        let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
                          "messages": [{"role": "user", "content": "x".repeat(400_000)}]});
        let response = gateway
            .client
            .post(gateway.url("/v1/messages"))
            .json(&body)
            .send()
            .await
            .unwrap();
        mock.release();
        response
    };
    let (held, response) = tokio::join!(held, refused);
    assert_eq!(held.status(), 200);
    assert_eq!(response.status(), 503);
    assert_eq!(header(&response, "retry-after"), "1");
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "overloaded_error");
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn a_budget_out_of_range_is_a_config_error_naming_the_field() {
    let mock = MockUpstream::start().await;
    let dirs = tempfile::tempdir().unwrap();
    let error = Setup::on(&mock)
        .config("[server]\nbodies_in_flight_bytes = 10\n")
        .resolve(&dirs)
        .unwrap_err()
        .to_string();
    assert!(error.contains("server.bodies_in_flight_bytes"), "{error}");
}
