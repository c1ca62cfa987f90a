use std::time::Duration;

use super::*;

fn rpm(n: u32) -> LimitConfig {
    LimitConfig {
        requests_per_minute: NonZeroU32::new(n),
        tokens_per_minute: None,
    }
}

fn tpm(n: u64) -> LimitConfig {
    LimitConfig {
        requests_per_minute: None,
        tokens_per_minute: NonZeroU64::new(n),
    }
}

fn limits(default: LimitConfig, per_key: &[(&str, LimitConfig)]) -> (RateLimits, ManualClock) {
    let (clock, manual) = LimitClock::manual();
    let per_key = per_key.iter().map(|(k, c)| (k.to_string(), *c)).collect();
    (RateLimits::new(default, per_key, clock), manual)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn burst_then_refused_with_retry_after() {
    let (limits, _clock) = limits(rpm(3), &[]);
    for _ in 0..3 {
        assert_eq!(limits.check_request("alice"), Ok(()));
    }
    let refused = limits.check_request("alice").unwrap_err();
    assert_eq!(refused.kind, LimitKind::Requests);
    assert_eq!(refused.limit, 3);
    // One request comes back every 60 / 3 = 20 s.
    assert_eq!(refused.retry_after, secs(20));
    assert_eq!(refused.retry_after_secs(), 20);
}

#[test]
fn requests_recover_after_the_clock_advances() {
    let (limits, clock) = limits(rpm(2), &[]);
    assert!(limits.check_request("a").is_ok());
    assert!(limits.check_request("a").is_ok());
    assert!(limits.check_request("a").is_err());
    clock.advance(secs(10));
    let refused = limits.check_request("a").unwrap_err();
    assert_eq!(refused.retry_after, secs(20));
    clock.advance(secs(20));
    assert!(limits.check_request("a").is_ok());
    assert!(limits.check_request("a").is_err());
    clock.advance(secs(60));
    assert!(limits.check_request("a").is_ok());
    assert!(limits.check_request("a").is_ok());
    assert!(limits.check_request("a").is_err());
}

#[test]
fn per_key_config_replaces_the_default() {
    let (limits, _clock) = limits(rpm(1), &[("big", rpm(5)), ("free", LimitConfig::default())]);
    assert!(limits.check_request("small").is_ok());
    assert!(limits.check_request("small").is_err());
    for _ in 0..5 {
        assert!(limits.check_request("big").is_ok());
    }
    assert_eq!(limits.check_request("big").unwrap_err().limit, 5);
    for _ in 0..100 {
        assert!(limits.check_request("free").is_ok());
        assert!(limits.reserve_tokens("free", 1_000_000).is_ok());
    }
    assert!(!limits.is_empty());
}

#[test]
fn unlimited_callers_leave_no_state() {
    let (limits, _clock) = limits(LimitConfig::default(), &[]);
    assert!(limits.is_empty());
    assert!(limits.check_request("a").is_ok());
    assert!(limits.reserve_tokens("a", 10).is_ok());
    let (limits, _clock) = limits_with_free_key();
    assert!(limits.check_request("free").is_ok());
    assert!(limits.callers.lock().unwrap().is_empty());
}

fn limits_with_free_key() -> (RateLimits, ManualClock) {
    limits(
        LimitConfig::default(),
        &[("free", LimitConfig::default()), ("x", rpm(1))],
    )
}

#[test]
fn two_callers_are_independent() {
    let (limits, _clock) = limits(
        LimitConfig {
            requests_per_minute: NonZeroU32::new(1),
            tokens_per_minute: NonZeroU64::new(100),
        },
        &[],
    );
    assert!(limits.check_request("a").is_ok());
    assert!(limits.check_request("a").is_err());
    assert!(limits.check_request("b").is_ok());
    limits.reserve_tokens("a", 100).unwrap().settle(500);
    assert!(limits.reserve_tokens("a", 1).is_err());
    assert!(limits.reserve_tokens("b", 1).is_ok());
}

#[test]
fn debt_after_a_big_completion_delays_the_next_reservation() {
    // 600 TPM refills 10 tokens a second.
    let (limits, clock) = limits(tpm(600), &[]);
    let reservation = limits.reserve_tokens("a", 100).unwrap();
    reservation.settle(1_000);
    // Balance: 600 - 1000 = -400 tokens, paid back in 40 s.
    let refused = limits.reserve_tokens("a", 10).unwrap_err();
    assert_eq!(refused.kind, LimitKind::Tokens);
    assert_eq!(refused.limit, 600);
    assert!(
        refused.retry_after > secs(40) && refused.retry_after < secs(40) + Duration::from_micros(1)
    );
    assert_eq!(refused.retry_after_secs(), 41);
    clock.advance(secs(40));
    assert!(limits.reserve_tokens("a", 10).is_err());
    clock.advance(Duration::from_millis(1));
    assert!(limits.reserve_tokens("a", 10).is_ok());
}

#[test]
fn settling_fewer_tokens_refunds_the_rest() {
    let (limits, _clock) = limits(tpm(1_000), &[]);
    limits.reserve_tokens("a", 900).unwrap().settle(100);
    // 1000 - 100 = 900 left: a 900 reservation takes it to exactly 0.
    limits.reserve_tokens("a", 900).unwrap().settle(900);
    let refused = limits.reserve_tokens("a", 1).unwrap_err();
    // 1000 TPM: one token's worth is 60 ms; just above zero is 60 µs away.
    assert!(refused.retry_after <= Duration::from_micros(60));
}

#[test]
fn refunds_never_exceed_the_capacity() {
    let (limits, _clock) = limits(tpm(100), &[]);
    limits.reserve_tokens("a", 50).unwrap().settle(0);
    // A second refund must not lift the balance above 100.
    limits.reserve_tokens("a", 50).unwrap().settle(0);
    limits.reserve_tokens("a", 100).unwrap().settle(100);
    assert!(limits.reserve_tokens("a", 1).is_err());
}

#[test]
fn dropping_a_reservation_keeps_the_estimate_charged() {
    let (limits, _clock) = limits(tpm(100), &[]);
    drop(limits.reserve_tokens("a", 100).unwrap());
    assert!(limits.reserve_tokens("a", 1).is_err());
}

#[test]
fn prompt_larger_than_a_minute_passes_once_when_full() {
    let (limits, clock) = limits(tpm(1_000), &[]);
    let reservation = limits.reserve_tokens("a", 5_000).unwrap();
    assert_eq!(reservation.estimate(), 5_000);
    let refused = limits.reserve_tokens("a", 5_000).unwrap_err();
    // Debt of 4000 at 1000 a minute: four minutes.
    assert!(refused.retry_after > secs(240) && refused.retry_after < secs(241));
    clock.advance(secs(241));
    assert!(limits.reserve_tokens("a", 5_000).is_ok());
}

#[test]
fn reconfigure_keeps_unchanged_callers_and_resets_changed_ones() {
    let both = |r, t| LimitConfig {
        requests_per_minute: NonZeroU32::new(r),
        tokens_per_minute: NonZeroU64::new(t),
    };
    let (limits, _clock) = limits(both(1, 100), &[("vip", both(2, 1_000))]);
    for caller in ["a", "b", "vip"] {
        while limits.check_request(caller).is_ok() {}
        limits.reserve_tokens(caller, 0).unwrap().settle(5_000);
    }
    // "a" keeps the default, "b" gets a new RPM, "vip" moves to the default.
    let next = limits.reconfigure(
        both(1, 100),
        HashMap::from([("b".to_string(), both(5, 100))]),
    );
    assert!(next.check_request("a").is_err());
    assert!(next.reserve_tokens("a", 1).is_err());
    // "b": a new request limiter, but its unchanged token debt is kept.
    assert!(next.check_request("b").is_ok());
    assert!(next.reserve_tokens("b", 1).is_err());
    // "vip": both numbers changed, so it starts afresh.
    assert!(next.check_request("vip").is_ok());
    assert!(next.reserve_tokens("vip", 1).is_ok());
    // The old set is untouched by the new one's decisions on fresh state.
    assert!(limits.check_request("b").is_err());
}

#[test]
fn reconfigure_to_unlimited_forgets_the_caller() {
    let (limits, _clock) = limits(rpm(1), &[]);
    assert!(limits.check_request("a").is_ok());
    let next = limits.reconfigure(LimitConfig::default(), HashMap::new());
    assert!(next.is_empty());
    assert!(next.check_request("a").is_ok());
    assert!(next.callers.lock().unwrap().is_empty());
}

#[test]
fn refusal_message_names_the_limit() {
    let refused = RateLimited {
        kind: LimitKind::Tokens,
        retry_after: Duration::from_millis(1_500),
        limit: 30_000,
    };
    assert_eq!(
        refused.to_string(),
        "Rate limit reached on tokens per minute (TPM): Limit 30000. Please try again in 2s."
    );
    assert_eq!(LimitKind::Requests.as_str(), "requests");
}

#[test]
fn system_clock_starts_full() {
    let limits = RateLimits::new(rpm(2), HashMap::new(), LimitClock::system());
    assert!(limits.check_request("a").is_ok());
    assert!(limits.check_request("a").is_ok());
    let refused = limits.check_request("a").unwrap_err();
    assert!(refused.retry_after <= secs(30) && refused.retry_after > secs(29));
}
