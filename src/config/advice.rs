//! Advice about a configuration that is valid but will not work the way a
//! new user expects: no provider has a key. Said once, at start-up; a
//! reload does not repeat it.

use super::Config;

impl Config {
    /// When no provider has a key: which variables to set, and what
    /// happens to requests until then. Names variables, never values.
    pub fn missing_key_advice(&self) -> Option<String> {
        if self.providers.iter().any(|p| !p.api_keys.is_empty()) {
            return None;
        }
        let variables: Vec<&str> = self
            .providers
            .iter()
            .map(|p| p.key_variable.as_str())
            .collect();
        let until_then = if self.access_keys.is_empty() {
            "until then each client's own key is passed through to the provider it asks for \
             (as `Authorization: Bearer`)"
        } else {
            "until then requests to providers that need a key fail: with ACCESS_API_KEYS set, \
             clients' keys are never passed on"
        };
        Some(format!(
            "no provider has an API key: set {} (in the environment or .env, or with \
             `llm-bridge keys set NAME=…`); {until_then}",
            or_list(&variables)
        ))
    }
}

/// `A, B or C`.
fn or_list(items: &[&str]) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => (*last).to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Overrides;
    use crate::config::{Config, Env};

    fn advice(env: &[(&str, &str)]) -> Option<String> {
        let env = Env::from_pairs(env.iter().copied());
        Config::from_parts(&Overrides::default(), &env, None)
            .unwrap()
            .missing_key_advice()
    }

    #[test]
    fn names_every_provider_variable_when_none_has_a_key() {
        assert_eq!(
            advice(&[]).unwrap(),
            "no provider has an API key: set OPENAI_API_KEY, DEEPSEEK_API_KEY, \
             OPENROUTER_API_KEY, QWEN_API_KEY, GEMINI_API_KEY or ANTHROPIC_API_KEY (in the environment or .env, \
             or with `llm-bridge keys set NAME=…`); until then each client's own key is passed \
             through to the provider it asks for (as `Authorization: Bearer`)"
        );
        let with_access_keys = advice(&[("ACCESS_API_KEYS", "alice:acc-secret")]).unwrap();
        assert!(
            with_access_keys.ends_with(
                "until then requests to providers that need a key fail: with ACCESS_API_KEYS \
                 set, clients' keys are never passed on"
            ),
            "{with_access_keys}"
        );
        assert!(!with_access_keys.contains("acc-secret"));
    }

    #[test]
    fn silent_when_one_provider_has_a_key() {
        assert_eq!(advice(&[("GOOGLE_API_KEY", "g")]), None);
    }
}
