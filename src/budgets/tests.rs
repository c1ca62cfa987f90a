use std::cell::Cell;
use std::collections::HashMap;

use super::*;

thread_local! {
    /// The test's time: each test runs on its own thread.
    static TIME: Cell<i64> = const { Cell::new(NOW) };
}

fn test_clock() -> i64 {
    TIME.with(Cell::get)
}

fn at(ms: i64) {
    TIME.with(|time| time.set(ms));
}

/// 2026-12-03T10:00:00Z.
const NOW: i64 = 1_796_292_000_000;
const HOUR: i64 = 3_600_000;

fn budgets(gateway: Budget, keys: &[(&str, Budget)]) -> Budgets {
    Budgets::with_clock(
        BudgetsConfig {
            gateway,
            default_key: Budget::default(),
            per_key: keys
                .iter()
                .map(|(k, b)| ((*k).to_string(), *b))
                .collect::<HashMap<_, _>>(),
        },
        test_clock,
    )
}

/// Checks that the refusal's message says each of `parts`.
fn says(refused: &Exceeded, parts: &[&str]) {
    for part in parts {
        assert!(refused.message.contains(part), "{}", refused.message);
    }
}

fn daily(usd: f64) -> Budget {
    Budget {
        daily_usd: Some(usd),
        monthly_usd: None,
    }
}

#[test]
fn reservations_hold_the_budget_until_they_settle_with_the_real_cost() {
    let budgets = budgets(Budget::default(), &[("alice", daily(1.0))]);
    let first = budgets.admit("alice", 0.6).unwrap();
    // 0.6 reserved: another 0.6 would pass the budget, 0.3 would not.
    let refused = budgets.admit("alice", 0.6).unwrap_err();
    says(
        &refused,
        &[
            "daily budget of $1.00 for access key `alice`",
            "2026-12-04T00:00:00Z",
        ],
    );
    assert_eq!(
        refused.retry_after,
        Duration::from_millis((14 * HOUR) as u64)
    );
    let second = budgets.admit("alice", 0.3).unwrap();
    first.settle(Some(0.2));
    second.settle(None);
    // 0.2 spent, nothing reserved: 0.7 fits, 0.9 does not.
    let line = &budgets.view().keys[0];
    assert_eq!((line.daily_spent_usd, line.reserved_usd), (0.2, 0.0));
    assert!(budgets.admit("alice", 0.9).is_err());
    drop(budgets.admit("alice", 0.7).unwrap());
    // Others are not limited by alice's budget.
    assert!(budgets.admit("bob", 5.0).is_ok());
}

#[test]
fn a_spent_budget_refuses_even_a_free_request_until_it_resets() {
    let budgets = budgets(Budget::default(), &[("alice", daily(1.0))]);
    budgets.admit("alice", 0.0).unwrap().settle(Some(1.5));
    assert!(budgets.admit("alice", 0.0).is_err());
    // The next UTC day starts from 0.
    assert!(
        {
            at(NOW + 14 * HOUR);
            budgets.admit("alice", 0.0)
        }
        .is_ok()
    );
}

#[test]
fn an_unsettled_reservation_is_released_when_dropped() {
    let budgets = budgets(Budget::default(), &[("alice", daily(1.0))]);
    drop(budgets.admit("alice", 0.9).unwrap());
    let line = &budgets.view().keys[0];
    assert_eq!((line.daily_spent_usd, line.reserved_usd), (0.0, 0.0));
    assert!(budgets.admit("alice", 0.9).is_ok());
}

#[test]
fn the_gateway_budget_counts_every_key_and_months_roll_over() {
    let monthly = Budget {
        daily_usd: None,
        monthly_usd: Some(10.0),
    };
    let budgets = budgets(monthly, &[]);
    budgets.admit("alice", 0.0).unwrap().settle(Some(6.0));
    budgets.admit("bob", 0.0).unwrap().settle(Some(4.0));
    let refused = budgets.admit("carol", 0.0).unwrap_err();
    says(
        &refused,
        &[
            "monthly budget of $10.00 for the gateway",
            "2027-01-01T00:00:00Z",
        ],
    );
    let view = budgets.view();
    assert_eq!(view.gateway.unwrap().monthly_spent_usd, 10.0);
    assert!(view.keys.is_empty());
    at(NOW + 29 * 24 * HOUR);
    assert!(budgets.admit("carol", 0.0).is_ok());
}

#[test]
fn seeded_spend_counts_and_a_reload_keeps_the_ledger() {
    let budgets = budgets(Budget::default(), &[("alice", daily(1.0))]);
    budgets.seed(&[(Some("alice".into()), 0.95, 3.0), (None, 0.5, 0.5)]);
    assert!(budgets.admit("alice", 0.1).is_err());
    let relaxed = budgets.reconfigure(BudgetsConfig {
        per_key: [("alice".to_string(), daily(2.0))].into(),
        ..BudgetsConfig::default()
    });
    assert!(relaxed.admit("alice", 0.1).is_ok());
    let line = &relaxed.view().keys[0];
    assert_eq!(line.key.as_deref(), Some("alice"));
    assert_eq!((line.daily_usd, line.daily_spent_usd), (Some(2.0), 0.95));
    assert_eq!(line.monthly_spent_usd, 3.0);
}

#[test]
fn periods_are_utc_days_and_months() {
    let period = Period::at(NOW);
    assert_eq!(period::rfc3339(period.next_day_ms), "2026-12-04T00:00:00Z");
    assert_eq!(
        period::rfc3339(period.next_month_ms),
        "2027-01-01T00:00:00Z"
    );
    let (day, month) = period_starts(NOW);
    assert_eq!(period::rfc3339(day), "2026-12-03T00:00:00Z");
    assert_eq!(period::rfc3339(month), "2026-12-01T00:00:00Z");
}
