//! `POST /v1/embeddings`: every input cached on its own, so a batch that
//! repeats earlier inputs sends only the new ones upstream; the answer in
//! the client's order; base64 encoded from the stored floats; bad input
//! refused before anything goes upstream.

use base64::Engine;
use serde_json::{Value, json};

use crate::common::*;
use crate::mock_upstream::*;

async fn embed(gateway: &Gateway, body: Value) -> reqwest::Response {
    gateway
        .client
        .post(gateway.url("/v1/embeddings"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Checks the answer lists `inputs`' vectors in order, indexed from 0.
fn assert_vectors(answer: &Value, inputs: &[Value]) {
    let data = answer["data"].as_array().unwrap();
    assert_eq!(data.len(), inputs.len(), "{answer}");
    for (index, (item, input)) in data.iter().zip(inputs).enumerate() {
        assert_eq!(item["index"], index);
        assert_eq!(item["object"], "embedding");
        assert_eq!(item["embedding"], json!(mock_embedding(input)), "{input}");
    }
}

#[tokio::test]
async fn a_single_input_is_answered_then_hit() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let body = json!({"model": "text-embedding-3-small", "input": "hello world"});
    let response = embed(&gateway, body.clone()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(cache_status(&response).0, "MISS");
    assert_eq!(header(&response, "x-llm-bridge-provider"), "openai");
    let answer: Value = response.json().await.unwrap();
    assert_vectors(&answer, &[json!("hello world")]);
    assert_eq!(answer["usage"]["prompt_tokens"], 3);
    let upstream = mock.single();
    assert_eq!(upstream.path, "/openai/v1/embeddings");
    assert_eq!(upstream.json()["input"], json!(["hello world"]));

    let again = embed(&gateway, body).await;
    assert_eq!(cache_status(&again).0, "HIT");
    let answer: Value = again.json().await.unwrap();
    assert_vectors(&answer, &[json!("hello world")]);
    assert_eq!(answer["usage"]["prompt_tokens"], 3);
    assert_eq!(mock.hits(), 1);
}

#[tokio::test]
async fn a_batch_sends_only_its_new_inputs_and_keeps_the_clients_order() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let first = [json!("alpha"), json!("bravo bravo")];
    let response = embed(
        &gateway,
        json!({"model": "text-embedding-3-small", "input": first}),
    )
    .await;
    assert_vectors(&response.json().await.unwrap(), &first);

    let second = [json!("bravo bravo"), json!("charlie!"), json!("alpha")];
    let response = embed(
        &gateway,
        json!({"model": "text-embedding-3-small", "input": second}),
    )
    .await;
    assert_eq!(cache_status(&response).0, "MISS");
    let answer: Value = response.json().await.unwrap();
    assert_vectors(&answer, &second);
    assert_eq!(
        answer["usage"]["prompt_tokens"],
        mock_embedding_tokens(&json!("charlie!")) + 2 + 3,
        "the new input's reported tokens plus the stored shares of the others"
    );
    let recorded = mock.recorded();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1].json()["input"], json!(["charlie!"]));

    let third = [json!("charlie!"), json!("alpha")];
    let response = embed(
        &gateway,
        json!({"model": "text-embedding-3-small", "input": third}),
    )
    .await;
    assert_eq!(cache_status(&response).0, "HIT");
    assert_vectors(&response.json().await.unwrap(), &third);
    assert_eq!(mock.hits(), 2);
}

/// Sends `first`, then `second` once `first` is at the upstream (whose
/// answer to it is held), and lets the held answer through once `second`
/// has made its own upstream call: their answers.
async fn two_batches(
    gateway: &Gateway,
    mock: &MockUpstream,
    first: Value,
    second: Value,
) -> (reqwest::Response, reqwest::Response) {
    let requests = async {
        let leader = embed(
            gateway,
            json!({"model": "text-embedding-3-small", "input": first}),
        );
        let follower = async {
            mock.wait_for_hits(1, PATIENCE).await;
            embed(
                gateway,
                json!({"model": "text-embedding-3-small", "input": second}),
            )
            .await
        };
        tokio::join!(leader, follower)
    };
    let release = async {
        mock.wait_for_hits(2, PATIENCE).await;
        mock.release();
    };
    tokio::join!(requests, release).0
}

#[tokio::test]
async fn a_batch_waits_for_an_input_another_batch_is_sending() {
    let mock = MockUpstream::start().await;
    let first = [json!("alpha"), json!("bravo")];
    let model = json!("text-embedding-3-small");
    mock.push_reply(Reply::GatedJson(
        reqwest::StatusCode::OK,
        embeddings_answer(&first, &model),
    ));
    let gateway = Setup::on(&mock).start().await;
    let second = [json!("bravo"), json!("charlie")];
    // The second batch sends "charlie" at once (the mock's second hit) and
    // waits for "bravo", which the first batch is sending; then the first
    // batch's answer is let through.
    let (leader, follower) = two_batches(&gateway, &mock, json!(first), json!(second)).await;
    assert_vectors(&leader.json().await.unwrap(), &first);
    assert_eq!(cache_status(&follower).0, "MISS");
    assert_vectors(&follower.json().await.unwrap(), &second);
    let recorded = mock.recorded();
    assert_eq!(recorded.len(), 2, "bravo went upstream once");
    assert_eq!(recorded[1].json()["input"], json!(["charlie"]));
}

#[tokio::test]
async fn an_input_whose_batch_failed_is_sent_by_the_batch_waiting_for_it() {
    let mock = MockUpstream::start().await;
    let refusal = json!({"error": {"message": "input too long", "type": "invalid_request_error",
                                   "code": "context_length_exceeded", "param": null}});
    mock.push_reply(Reply::GatedJson(reqwest::StatusCode::BAD_REQUEST, refusal));
    let gateway = Setup::on(&mock).start().await;
    let second = [json!("yankee"), json!("zulu")];
    let (leader, follower) =
        two_batches(&gateway, &mock, json!(["x-ray", "yankee"]), json!(second)).await;
    expect_error(leader, 400, "context_length_exceeded").await;
    assert_eq!(follower.status(), 200);
    assert_vectors(&follower.json().await.unwrap(), &second);
    let inputs: Vec<Value> = mock
        .recorded()
        .iter()
        .map(|r| r.json()["input"].clone())
        .collect();
    assert_eq!(
        inputs,
        [
            json!(["x-ray", "yankee"]),
            json!(["zulu"]),
            json!(["yankee"])
        ]
    );
}

#[tokio::test]
async fn an_input_repeated_in_one_batch_goes_upstream_once() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let inputs = [json!("echo"), json!("foxtrot"), json!("echo")];
    let response = embed(
        &gateway,
        json!({"model": "text-embedding-3-small", "input": inputs}),
    )
    .await;
    assert_vectors(&response.json().await.unwrap(), &inputs);
    assert_eq!(mock.single().json()["input"], json!(["echo", "foxtrot"]));
}

#[tokio::test]
async fn base64_is_encoded_from_the_stored_floats_and_token_lists_are_inputs() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let tokens = [json!([1, 2, 3]), json!([40])];
    let response = embed(
        &gateway,
        json!({"model": "text-embedding-3-small", "input": tokens, "dimensions": 2}),
    )
    .await;
    assert_vectors(&response.json().await.unwrap(), &tokens);
    let response = embed(
        &gateway,
        json!({"model": "text-embedding-3-small", "input": [[40]], "dimensions": 2,
               "encoding_format": "base64"}),
    )
    .await;
    assert_eq!(cache_status(&response).0, "HIT");
    let answer: Value = response.json().await.unwrap();
    let encoded = answer["data"][0]["embedding"].as_str().unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let floats: Vec<f64> = bytes
        .chunks(4)
        .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    let expected: Vec<f64> = mock_embedding(&json!([40]))
        .into_iter()
        .map(|x| f64::from(x as f32))
        .collect();
    assert_eq!(floats, expected);
    let upstream = mock.single().json();
    assert!(upstream.get("encoding_format").is_none(), "{upstream}");
    assert_eq!(upstream["dimensions"], 2);
}

#[tokio::test]
async fn bad_input_is_refused_before_the_upstream() {
    let mock = MockUpstream::start().await;
    let gateway = Setup::on(&mock).start().await;
    let model = "text-embedding-3-small";
    let cases = [
        (json!({"model": model}), 400, "invalid_parameter", "input"),
        (
            json!({"model": model, "input": []}),
            400,
            "invalid_parameter",
            "input",
        ),
        (
            json!({"model": model, "input": ""}),
            400,
            "invalid_parameter",
            "input",
        ),
        (
            json!({"model": model, "input": [1, "a"]}),
            400,
            "invalid_parameter",
            "input",
        ),
        (
            json!({"model": model, "input": "a", "encoding_format": "hex"}),
            400,
            "invalid_parameter",
            "encoding_format",
        ),
        (
            json!({"model": model, "input": "a", "dimensions": 0}),
            400,
            "invalid_parameter",
            "dimensions",
        ),
        (json!({"input": "a"}), 400, "invalid_parameter", "model"),
        (
            json!({"model": "claude-sonnet-4-5", "input": "a"}),
            400,
            "unsupported_by_provider",
            "",
        ),
    ];
    for (body, status, code, param) in cases {
        let error = expect_error(embed(&gateway, body.clone()).await, status, code).await;
        if !param.is_empty() {
            assert_eq!(error["error"]["param"], param, "{body}");
        }
    }
    assert_eq!(mock.hits(), 0);
}
