use super::*;

fn record(provider: Option<&str>, model: &str, cache: Option<CacheStatus>) -> UsageRecord {
    UsageRecord {
        time_ms: 1_700_000_000_000,
        request_id: "req-1".into(),
        key_name: None,
        provider: provider.map(str::to_string),
        model_asked: Some(model.to_string()),
        model_answered: Some(model.to_string()),
        stream: false,
        cache,
        status: 200,
        prompt_tokens: Some(100),
        completion_tokens: Some(20),
        cached_tokens: Some(0),
        cache_write_tokens: Some(0),
        cache_write_1h_tokens: Some(0),
        reasoning_tokens: Some(0),
        estimated: false,
        cost_usd: Some(0.25),
        cost_saved_usd: None,
        provider_cache_saved_usd: Some(0.0),
        ttfb_ms: Some(40.0),
        total_ms: 200.0,
        ..UsageRecord::default()
    }
}

/// The rendered lines, for exact-line checks.
fn lines(metrics: &Metrics) -> Vec<String> {
    metrics
        .render(&Snapshot::default())
        .lines()
        .map(str::to_string)
        .collect()
}

fn has(lines: &[String], line: &str) -> bool {
    lines.iter().any(|l| l == line)
}

#[track_caller]
fn assert_has(lines: &[String], line: &str) {
    assert!(
        has(lines, line),
        "missing line {line:?} in:\n{}",
        lines.join("\n")
    );
}

#[test]
fn every_metric_has_help_and_type_and_the_text_ends_with_eof() {
    let fresh = lines(&Metrics::new());
    // A family shows once it has a series; plain metrics show from the start.
    assert_eq!(
        fresh
            .iter()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>(),
        [
            "llm_bridge_in_flight_requests 0",
            "llm_bridge_shared_flights_total 0",
            "llm_bridge_cache_entries 0",
            "llm_bridge_cache_bytes 0",
            "llm_bridge_usage_records_dropped_total 0",
        ]
    );

    let metrics = Metrics::new();
    metrics.record(&record(Some("openai"), "gpt-4o", Some(CacheStatus::Miss)));
    metrics.record(&UsageRecord {
        cost_saved_usd: Some(0.1),
        ..record(Some("openai"), "gpt-4o", Some(CacheStatus::Hit))
    });
    metrics.upstream_error("openai", "timeout");
    metrics.retry("openai");
    metrics.fallback("gpt-4o", "deepseek/deepseek-chat");
    let text = metrics.render(&Snapshot::default());
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    for (name, kind) in [
        ("llm_bridge_requests", "counter"),
        ("llm_bridge_request_duration_seconds", "histogram"),
        ("llm_bridge_time_to_first_byte_seconds", "histogram"),
        ("llm_bridge_tokens", "counter"),
        ("llm_bridge_cost_usd", "counter"),
        ("llm_bridge_cost_saved_usd", "counter"),
        ("llm_bridge_provider_cache_saved_usd", "counter"),
        ("llm_bridge_upstream_errors", "counter"),
        ("llm_bridge_upstream_retries", "counter"),
        ("llm_bridge_fallbacks", "counter"),
        ("llm_bridge_in_flight_requests", "gauge"),
        ("llm_bridge_shared_flights", "counter"),
        ("llm_bridge_cache_entries", "gauge"),
        ("llm_bridge_cache_bytes", "gauge"),
        ("llm_bridge_usage_records_dropped", "counter"),
    ] {
        assert_has(&lines, &format!("# TYPE {name} {kind}"));
        let help = format!("# HELP {name} ");
        assert!(lines.iter().any(|l| l.starts_with(&help)), "{help}");
    }
    assert_has(
        &lines,
        "# HELP llm_bridge_cost_usd What requests cost, USD, from the price table; \
         models without a price add nothing.",
    );
    assert!(text.ends_with("\n# EOF\n"));
}

#[test]
fn records_count_requests_timings_tokens_and_cost() {
    let metrics = Metrics::new();
    let miss = record(Some("openai"), "gpt-4o-mini", Some(CacheStatus::Miss));
    metrics.record(&miss);
    metrics.record(&UsageRecord {
        total_ms: 1500.0,
        ttfb_ms: Some(300.0),
        cached_tokens: Some(60),
        cache_write_tokens: Some(25),
        cache_write_1h_tokens: Some(5),
        reasoning_tokens: Some(12),
        provider_cache_saved_usd: Some(0.125),
        ..miss.clone()
    });
    metrics.record(&UsageRecord {
        cost_usd: Some(0.0),
        cost_saved_usd: Some(0.5),
        reasoning_tokens: Some(1000),
        total_ms: 2.0,
        ttfb_ms: Some(1.0),
        ..record(Some("openai"), "gpt-4o-mini", Some(CacheStatus::Hit))
    });
    metrics.record(&UsageRecord {
        status: 502,
        prompt_tokens: None,
        completion_tokens: None,
        cached_tokens: None,
        cache_write_tokens: None,
        cache_write_1h_tokens: None,
        reasoning_tokens: None,
        cost_usd: None,
        provider_cache_saved_usd: None,
        ttfb_ms: None,
        ..record(Some("deepseek"), "deepseek-chat", Some(CacheStatus::Bypass))
    });
    let lines = lines(&metrics);
    for line in [
        r#"llm_bridge_requests_total{provider="openai",model="gpt-4o-mini",status="200",cache="MISS"} 2"#,
        r#"llm_bridge_requests_total{provider="openai",model="gpt-4o-mini",status="200",cache="HIT"} 1"#,
        r#"llm_bridge_requests_total{provider="deepseek",model="deepseek-chat",status="502",cache="BYPASS"} 1"#,
        r#"llm_bridge_request_duration_seconds_count{provider="openai",cache="MISS"} 2"#,
        r#"llm_bridge_request_duration_seconds_sum{provider="openai",cache="MISS"} 1.7"#,
        r#"llm_bridge_request_duration_seconds_bucket{le="0.1",provider="openai",cache="MISS"} 0"#,
        r#"llm_bridge_request_duration_seconds_bucket{le="0.25",provider="openai",cache="MISS"} 1"#,
        r#"llm_bridge_request_duration_seconds_bucket{le="2.5",provider="openai",cache="MISS"} 2"#,
        r#"llm_bridge_request_duration_seconds_bucket{le="+Inf",provider="openai",cache="MISS"} 2"#,
        r#"llm_bridge_request_duration_seconds_bucket{le="0.0025",provider="openai",cache="HIT"} 1"#,
        r#"llm_bridge_time_to_first_byte_seconds_count{provider="openai",cache="MISS"} 2"#,
        r#"llm_bridge_time_to_first_byte_seconds_bucket{le="0.05",provider="openai",cache="MISS"} 1"#,
        r#"llm_bridge_time_to_first_byte_seconds_count{provider="openai",cache="HIT"} 1"#,
        r#"llm_bridge_request_duration_seconds_count{provider="deepseek",cache="BYPASS"} 1"#,
        r#"llm_bridge_tokens_total{provider="openai",model="gpt-4o-mini",kind="prompt",estimated="false"} 200"#,
        r#"llm_bridge_tokens_total{provider="openai",model="gpt-4o-mini",kind="completion",estimated="false"} 40"#,
        r#"llm_bridge_tokens_total{provider="openai",model="gpt-4o-mini",kind="cached",estimated="false"} 60"#,
        r#"llm_bridge_cost_usd_total{provider="openai",model="gpt-4o-mini"} 0.5"#,
        r#"llm_bridge_tokens_total{provider="openai",model="gpt-4o-mini",kind="cache_write",estimated="false"} 25"#,
        r#"llm_bridge_tokens_total{provider="openai",model="gpt-4o-mini",kind="cache_write_1h",estimated="false"} 5"#,
        r#"llm_bridge_tokens_total{provider="openai",model="gpt-4o-mini",kind="reasoning",estimated="false"} 12"#,
        r#"llm_bridge_cost_saved_usd_total{provider="openai",model="gpt-4o-mini"} 0.5"#,
        // Apart from what llm-bridge's cache saved; a hit adds 0 here.
        r#"llm_bridge_provider_cache_saved_usd_total{provider="openai",model="gpt-4o-mini"} 0.125"#,
    ] {
        assert_has(&lines, line);
    }
    // A hit's tokens were not spent again: they show only as cost saved.
    // No time to first byte, no tokens and no cost: no series at all.
    let text = lines.join("\n");
    assert!(!text.contains(r#"llm_bridge_time_to_first_byte_seconds_count{provider="deepseek""#));
    assert!(!text.contains(r#"llm_bridge_tokens_total{provider="deepseek""#));
    assert!(!text.contains(r#"llm_bridge_cost_usd_total{provider="deepseek""#));
}

#[test]
fn estimated_tokens_are_labelled_apart() {
    let metrics = Metrics::new();
    metrics.record(&UsageRecord {
        estimated: true,
        completion_tokens: None,
        ..record(Some("gemini"), "gemini-2.5-flash", Some(CacheStatus::Miss))
    });
    let lines = lines(&metrics);
    assert_has(
        &lines,
        r#"llm_bridge_tokens_total{provider="gemini",model="gemini-2.5-flash",kind="prompt",estimated="true"} 100"#,
    );
    assert!(!lines.join("\n").contains(r#"kind="completion""#));
}

#[test]
fn hostile_and_missing_labels_stay_valid_and_bounded() {
    let metrics = Metrics::new();
    metrics.record(&record(
        Some("openai"),
        "evil\"} 1\nllm_bridge_fake_total 9 \\",
        Some(CacheStatus::Miss),
    ));
    let long = "m".repeat(300);
    metrics.record(&record(Some("openai"), &long, Some(CacheStatus::Miss)));
    // Never reached a provider: the client's model name is not a label.
    metrics.record(&UsageRecord {
        status: 400,
        cache: None,
        ..record(None, "whatever-a-client-sent", None)
    });
    metrics.record(&UsageRecord {
        model_answered: None,
        model_asked: Some("  ".into()),
        ..record(Some("openai"), "", Some(CacheStatus::Miss))
    });
    let text = metrics.render(&Snapshot::default());
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert_has(
        &lines,
        r#"llm_bridge_requests_total{provider="openai",model="evil\"} 1\nllm_bridge_fake_total 9 \\",status="200",cache="MISS"} 1"#,
    );
    assert!(!lines.iter().any(|l| l.starts_with("llm_bridge_fake_total")));
    assert_has(
        &lines,
        &format!(
            r#"llm_bridge_requests_total{{provider="openai",model="{}",status="200",cache="MISS"}} 1"#,
            "m".repeat(MAX_LABEL_CHARS)
        ),
    );
    assert_has(
        &lines,
        r#"llm_bridge_requests_total{provider="unknown",model="unknown",status="400",cache="NONE"} 1"#,
    );
    assert_has(
        &lines,
        r#"llm_bridge_requests_total{provider="openai",model="unknown",status="200",cache="MISS"} 1"#,
    );
    assert!(!text.contains("whatever-a-client-sent"));
}

#[test]
fn past_the_model_cap_new_names_count_as_other() {
    let metrics = Metrics::new();
    for n in 0..MAX_MODELS {
        metrics.record(&record(
            Some("openai"),
            &format!("m{n}"),
            Some(CacheStatus::Miss),
        ));
    }
    metrics.record(&record(
        Some("openai"),
        "one-too-many",
        Some(CacheStatus::Miss),
    ));
    metrics.record(&record(Some("openai"), "another", Some(CacheStatus::Miss)));
    // A name seen before the cap keeps its own series.
    metrics.record(&record(Some("openai"), "m0", Some(CacheStatus::Miss)));
    let lines = lines(&metrics);
    assert_has(
        &lines,
        r#"llm_bridge_requests_total{provider="openai",model="other",status="200",cache="MISS"} 2"#,
    );
    assert_has(
        &lines,
        r#"llm_bridge_requests_total{provider="openai",model="m0",status="200",cache="MISS"} 2"#,
    );
}

#[test]
fn upstream_errors_retries_and_fallbacks() {
    let metrics = Metrics::new();
    metrics.upstream_error("openai", "timeout");
    metrics.upstream_error("openai", "timeout");
    metrics.upstream_error("deepseek", "status_5xx");
    metrics.retry("openai");
    metrics.fallback("gpt-4o", "deepseek/deepseek-chat");
    let lines = lines(&metrics);
    for line in [
        r#"llm_bridge_upstream_errors_total{provider="openai",kind="timeout"} 2"#,
        r#"llm_bridge_upstream_errors_total{provider="deepseek",kind="status_5xx"} 1"#,
        r#"llm_bridge_upstream_retries_total{provider="openai"} 1"#,
        r#"llm_bridge_fallbacks_total{from="gpt-4o",to="deepseek/deepseek-chat"} 1"#,
    ] {
        assert_has(&lines, line);
    }
}

#[test]
fn in_flight_counts_from_start_to_end() {
    let metrics = Metrics::new();
    metrics.response_started();
    metrics.response_started();
    assert_has(&lines(&metrics), "llm_bridge_in_flight_requests 2");
    metrics.response_ended();
    assert_has(&lines(&metrics), "llm_bridge_in_flight_requests 1");
    metrics.response_ended();
    assert_has(&lines(&metrics), "llm_bridge_in_flight_requests 0");
}

#[test]
fn scrape_time_values_come_from_the_snapshot() {
    let metrics = Metrics::new();
    let snapshot = Snapshot {
        cache_entries: 3,
        cache_bytes: 4096,
        usage_dropped: 7,
        ..Snapshot::default()
    };
    let text = metrics.render(&snapshot);
    assert!(text.contains("\nllm_bridge_cache_entries 3\n"), "{text}");
    assert!(text.contains("\nllm_bridge_cache_bytes 4096\n"), "{text}");
    assert!(
        text.contains("\n# UNIT llm_bridge_cache_bytes bytes\n"),
        "{text}"
    );
    assert!(text.contains("\nllm_bridge_usage_records_dropped_total 7\n"));
    // A counter never goes down, even from an older snapshot.
    let older = Snapshot {
        usage_dropped: 5,
        ..snapshot.clone()
    };
    assert!(
        metrics
            .render(&older)
            .contains("\nllm_bridge_usage_records_dropped_total 7\n")
    );
}

#[test]
fn each_instance_counts_only_its_own() {
    let one = Metrics::new();
    let two = Metrics::new();
    one.record(&record(Some("openai"), "gpt-4o", Some(CacheStatus::Miss)));
    assert!(has(
        &lines(&one),
        r#"llm_bridge_requests_total{provider="openai",model="gpt-4o",status="200",cache="MISS"} 1"#
    ));
    assert!(!lines(&two).join("\n").contains("gpt-4o"));
}

#[test]
fn negative_or_not_finite_costs_are_ignored() {
    let metrics = Metrics::new();
    for cost in [-1.0, f64::NAN, f64::INFINITY] {
        metrics.record(&UsageRecord {
            cost_usd: Some(cost),
            ..record(Some("openai"), "gpt-4o", Some(CacheStatus::Miss))
        });
    }
    assert!(
        !lines(&metrics)
            .join("\n")
            .contains("llm_bridge_cost_usd_total{")
    );
}

#[test]
fn the_shared_cache_is_exported_only_when_there_is_one() {
    let metrics = Metrics::new();
    let text = metrics.render(&Snapshot::default());
    assert!(!text.contains("llm_bridge_shared_cache_up "), "{text}");
    let text = metrics.render(&Snapshot {
        shared_cache: Some((false, 3)),
        ..Snapshot::default()
    });
    assert!(
        text.contains("\nllm_bridge_shared_cache_up{store=\"redis\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("\nllm_bridge_shared_cache_errors_total{store=\"redis\"} 3\n"),
        "{text}"
    );
}
