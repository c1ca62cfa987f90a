//! The providers' prompt caches in the usage records, `/api/stats` and
//! `/metrics`: cached reads from OpenAI's usage details and DeepSeek's own
//! fields, reasoning tokens, and what those caches saved, kept apart from
//! what llm-bridge's cache saved.

use super::*;

/// A chat answer from `model` with this usage object.
fn answer_with_usage(model: &str, usage: Value) -> Value {
    let mut answer = completion(model, "Hi");
    answer["usage"] = usage;
    answer
}

#[tokio::test]
async fn provider_prompt_caches_are_counted_priced_and_kept_apart_from_hits() {
    let mock = MockUpstream::start().await;
    // OpenAI's usage with its details; DeepSeek's with its own cache fields.
    mock.push_reply(Reply::Json(
        StatusCode::OK,
        answer_with_usage(
            "gpt-4.1",
            json!({
                "prompt_tokens": 2000, "completion_tokens": 500, "total_tokens": 2500,
                "prompt_tokens_details": {"cached_tokens": 1000, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 200, "audio_tokens": 0},
            }),
        ),
    ));
    mock.push_reply(Reply::Json(
        StatusCode::OK,
        answer_with_usage(
            "deepseek-chat",
            json!({
                "prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100,
                "prompt_cache_hit_tokens": 600, "prompt_cache_miss_tokens": 400,
            }),
        ),
    ));
    let gateway = Setup::on(&mock).start().await;
    for model in ["gpt-4.1", "deepseek-chat", "gpt-4.1"] {
        let response = gateway.chat(&chat_body(model, false)).await;
        assert_eq!(response.status(), 200);
        let _ = response.bytes().await.unwrap();
    }
    let text = gateway.scrape_metrics_until("cache=\"HIT\"").await;
    for line in [
        r#"llm_bridge_tokens_total{provider="openai",model="gpt-4.1",kind="cached",estimated="false"} 1000"#,
        r#"llm_bridge_tokens_total{provider="openai",model="gpt-4.1",kind="reasoning",estimated="false"} 200"#,
        r#"llm_bridge_tokens_total{provider="openai",model="gpt-4.1",kind="cache_write",estimated="false"} 0"#,
        r#"llm_bridge_tokens_total{provider="deepseek",model="deepseek-chat",kind="cached",estimated="false"} 600"#,
    ] {
        assert!(text.lines().any(|l| l == line), "no {line} in\n{text}");
    }
    assert!(
        text.contains("llm_bridge_provider_cache_saved_usd_total{provider=\"openai\",model=\"gpt-4.1\"} 0.0015"),
        "{text}"
    );

    let close = |value: &Value, expected: f64| {
        let value = value.as_f64().unwrap();
        assert!((value - expected).abs() < 1e-12, "{value} != {expected}");
    };
    // `/api/stats` sums every row, the hit's tokens included, and keeps the
    // two savings apart.
    let report = gateway.get_json("/api/stats?by=none").await;
    let total = &report["total"];
    assert_eq!(total["cached_tokens"], 2600, "{report}");
    assert_eq!(total["reasoning_tokens"], 400, "{report}");
    assert_eq!(total["cache_write_tokens"], 0, "{report}");
    close(&total["cost_saved_usd"], 0.0065);
    close(&total["provider_cache_saved_usd"], 0.0015 + 151.2e-6);

    let records = recorded(gateway).await;
    let (openai, deepseek, hit) = (&records[0], &records[1], &records[2]);
    assert_eq!(openai["cached_tokens"], 1000);
    assert_eq!(openai["reasoning_tokens"], 200);
    assert_eq!(openai["cache_write_tokens"], 0);
    assert_eq!(openai["cache_write_1h_tokens"], 0);
    // gpt-4.1: 1000 × $2 + 1000 cached × $0.50 + 500 × $8, per million;
    // the cached thousand saved $1.50 per million each.
    close(&openai["cost_usd"], 0.0065);
    close(&openai["provider_cache_saved_usd"], 0.0015);
    // deepseek-chat: 400 × $0.28 + 600 × $0.028 + 100 × $0.42.
    assert_eq!(deepseek["cached_tokens"], 600);
    close(&deepseek["cost_usd"], 170.8e-6);
    close(&deepseek["provider_cache_saved_usd"], 600.0 * 0.252e-6);
    // The hit reached no provider: llm-bridge saved the whole answer, the
    // provider's cache nothing.
    assert_eq!(hit["cache"], "HIT");
    close(&hit["cost_saved_usd"], 0.0065);
    close(&hit["provider_cache_saved_usd"], 0.0);
    assert_eq!(hit["cached_tokens"], 1000);
}
