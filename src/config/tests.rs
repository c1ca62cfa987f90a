use std::path::Path;

use super::*;

fn resolve(
    args: Overrides,
    env: &[(&str, &str)],
    text: Option<&str>,
) -> Result<Config, ConfigError> {
    let file = text
        .map(|t| LoadedFile::parse(Path::new("llm-bridge.toml"), t.to_string()))
        .transpose()?;
    Config::from_parts(&args, &Env::from_pairs(env.iter().copied()), file)
}

fn error(args: Overrides, env: &[(&str, &str)], text: &str) -> String {
    resolve(args, env, Some(text)).unwrap_err().to_string()
}

#[test]
fn defaults_need_nothing() {
    let config = resolve(Overrides::default(), &[], None).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:6688");
    assert_eq!(config.cache_dir, PathBuf::from("llm_cache"));
    assert_eq!(config.log.dir, PathBuf::from("logs"));
    assert_eq!(config.log.max_file_bytes, 10 * 1024 * 1024);
    assert_eq!(config.log.max_files, 5);
    assert!(!config.log.log_bodies);
    assert_eq!(config.max_body_bytes, 10 * 1024 * 1024);
    let names: Vec<_> = config.providers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "openai",
            "deepseek",
            "openrouter",
            "qwen",
            "gemini",
            "anthropic"
        ]
    );
    let gemini = config.provider("gemini").unwrap();
    assert_eq!(
        gemini.base_url.as_str(),
        "https://generativelanguage.googleapis.com/v1beta/openai"
    );
    assert!(gemini.api_keys.is_empty());
    assert_eq!(gemini.timeouts, Timeouts::default());
    assert_eq!(gemini.timeouts.idle, DEFAULT_IDLE_TIMEOUT);
    assert_eq!(gemini.retry, RetryPolicy::default());
    assert!(gemini.concurrency.is_none());
}

#[test]
fn flag_beats_environment_beats_file_beats_default() {
    let text = "listen = \"127.0.0.1:7001\"\ncache_dir = \"from-file\"\nlog_dir = \"logs-file\"";
    let from_file = resolve(Overrides::default(), &[], Some(text)).unwrap();
    assert_eq!(from_file.listen.port(), 7001);
    assert_eq!(from_file.cache_dir, PathBuf::from("from-file"));

    // clap merges flag and environment into the same field, the flag winning.
    let args = Overrides {
        listen: Some("127.0.0.1:7002".into()),
        cache_dir: Some("from-flag".into()),
        ..Overrides::default()
    };
    let from_flag = resolve(args, &[], Some(text)).unwrap();
    assert_eq!(from_flag.listen.port(), 7002);
    assert_eq!(from_flag.cache_dir, PathBuf::from("from-flag"));
    assert_eq!(from_flag.log.dir, PathBuf::from("logs-file"));
}

#[test]
fn provider_keys_and_urls_come_from_the_environment() {
    let env = [
        ("OPENAI_API_KEY", "sk-a"),
        ("DASHSCOPE_API_KEY", "sk-dash"),
        ("GOOGLE_API_KEY", "g-key"),
        ("GEMINI_API_KEY", "gem-key"),
        ("DEEPSEEK_BASE_URL", "http://127.0.0.1:9/v1/"),
        ("MY_VLLM_API_KEY", "vllm-key"),
        ("TEAM_TOKEN", "team"),
    ];
    let text = "[providers.my-vllm]\nbase_url = \"http://gpu:8000/v1\"\n\n[providers.corp]\nbase_url = \"https://llm.corp/v1\"\napi_key_env = \"TEAM_TOKEN\"\n";
    let config = resolve(Overrides::default(), &env, Some(text)).unwrap();
    let key = |name: &str| {
        config
            .provider(name)
            .unwrap()
            .api_keys
            .first()
            .map(|k| k.expose().to_string())
    };
    assert_eq!(key("openai").as_deref(), Some("sk-a"));
    assert_eq!(key("qwen").as_deref(), Some("sk-dash"));
    assert_eq!(
        key("gemini").as_deref(),
        Some("gem-key"),
        "NAME_API_KEY wins over GOOGLE_API_KEY"
    );
    assert_eq!(key("my-vllm").as_deref(), Some("vllm-key"));
    assert_eq!(key("corp").as_deref(), Some("team"));
    assert_eq!(key("openrouter"), None);
    assert_eq!(
        config.provider("deepseek").unwrap().base_url.as_str(),
        "http://127.0.0.1:9/v1"
    );
    assert!(config.provider("corp").unwrap().declared);
    assert!(!config.provider("openai").unwrap().declared);
}

#[test]
fn errors_name_the_file_line_and_field() {
    let cases = [
        ("listen = 5", "llm-bridge.toml:1", "invalid type"),
        (
            "[log]\nmax_files = 0",
            "llm-bridge.toml:2: log.max_files",
            "greater than 0",
        ),
        ("bogus = 1", "llm-bridge.toml:1", "unknown field `bogus`"),
        (
            "[providers.x]\nmodels = []",
            "llm-bridge.toml:1: providers.x",
            "base_url is required (or set X_BASE_URL)",
        ),
        (
            "[providers.x]\nbase_url = \"localhost:8000\"",
            "llm-bridge.toml:2: providers.x.base_url",
            "http:// or https://",
        ),
        (
            "[providers.openai]\nproxy = \"ftp://p:1\"",
            "llm-bridge.toml:2: providers.openai.proxy",
            "socks5://",
        ),
        (
            "[providers.openai]\nheaders = { \"bad header\" = \"v\" }",
            "llm-bridge.toml:2: providers.openai.headers.bad header",
            "header name",
        ),
        (
            "[providers.openai]\nidle_timeout_secs = 0",
            "llm-bridge.toml:2: providers.openai.idle_timeout_secs",
            "greater than 0",
        ),
        (
            "first_byte_timeout_secs = 0",
            "llm-bridge.toml:1: first_byte_timeout_secs",
            "greater than 0",
        ),
        (
            "[providers.openai.retry]\nbackoff_ms = 0",
            "llm-bridge.toml:2: providers.openai.retry.backoff_ms",
            "greater than 0",
        ),
        (
            "[providers.openai]\nmax_concurrent = 0",
            "llm-bridge.toml:2: providers.openai.max_concurrent",
            "greater than 0",
        ),
        (
            "[fallbacks]\n\"deepseek-chat\" = [\"nowhere/x\"]",
            "llm-bridge.toml:2: fallbacks.\"deepseek-chat\"",
            "no provider named `nowhere`",
        ),
        (
            "[fallbacks]\n\"deepseek-chat\" = [\"qwen-plus\"]",
            "llm-bridge.toml:2: fallbacks.\"deepseek-chat\"",
            "provider/model",
        ),
        (
            "[aliases]\nfast = \"gpt-4.1\"",
            "llm-bridge.toml:2: aliases.fast",
            "provider/model",
        ),
        (
            "\n[aliases]\nfast = \"nobody/m\"",
            "llm-bridge.toml:3: aliases.fast",
            "no provider named `nobody`",
        ),
        (
            "default_provider = \"nobody\"",
            "llm-bridge.toml:1: default_provider",
            "no provider named",
        ),
        (
            "[providers.\"a/b\"]\nbase_url = \"http://x/v1\"",
            "providers.a/b",
            "only letters",
        ),
    ];
    for (text, location, message) in cases {
        let error = error(Overrides::default(), &[], text);
        assert!(error.contains(location), "{text:?}: {error}");
        assert!(error.contains(message), "{text:?}: {error}");
    }
}

#[test]
fn type_errors_name_the_field_path_and_the_accepted_form() {
    let cases = [
        (
            "max_body_bytes = \"10MB\"",
            "llm-bridge.toml:1: max_body_bytes: expected a whole number of bytes such as \
             10485760 (10 MiB), not the string \"10MB\"",
        ),
        (
            "[server]\nmax_body_bytes = \"10MB\"",
            "llm-bridge.toml:2: server.max_body_bytes: expected a whole number of bytes such as \
             10485760 (10 MiB), not the string \"10MB\"",
        ),
        (
            "[providers.ollama]\nbase_url = \"http://127.0.0.1:11434/v1\"\nidle_timeout_secs = \"30s\"",
            "llm-bridge.toml:3: providers.ollama.idle_timeout_secs: expected a whole number of \
             seconds such as 30, not the string \"30s\"",
        ),
        (
            "[cache]\nmax_entry_bytes = 1.5",
            "llm-bridge.toml:2: cache.max_entry_bytes: expected a whole number of bytes such as \
             10485760 (10 MiB), not the floating point `1.5`",
        ),
        (
            "[providers.deepseek.retry]\nbackoff_ms = -1",
            "llm-bridge.toml:2: providers.deepseek.retry.backoff_ms: expected a whole number of \
             milliseconds such as 250, not the integer `-1`",
        ),
        (
            "[server]\nmax_connections = \"many\"",
            "llm-bridge.toml:2: server.max_connections: expected a whole number such as 10, not \
             the string \"many\"",
        ),
        (
            "listen = 5",
            "llm-bridge.toml:1: listen: invalid type: integer `5`, expected a string",
        ),
        (
            "cors_origins = [\"https://a.example\", 1]",
            "llm-bridge.toml:1: cors_origins[1]: invalid type: integer `1`, expected a string",
        ),
        (
            "[prices.\"corp/gpt-4o\"]\ninput = \"2.5\"\noutput = 1",
            "llm-bridge.toml:2: prices.\"corp/gpt-4o\".input: expected a number such as 0.25, \
             not the string \"2.5\"",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(error(Overrides::default(), &[], text), expected, "{text:?}");
    }
    // Unknown keys are still named, under the table that holds them.
    let unknown = error(
        Overrides::default(),
        &[],
        "[providers.local]\nbase_url = \"http://x/v1\"\nmodelz = []",
    );
    assert!(
        unknown.starts_with("llm-bridge.toml:3: providers.local: unknown field `modelz`"),
        "{unknown}"
    );
}

#[test]
fn a_bad_listen_address_names_its_source() {
    let args = Overrides {
        listen: Some("nonsense".into()),
        ..Overrides::default()
    };
    let error = resolve(args, &[], None).unwrap_err().to_string();
    assert!(error.contains("--listen / LLM_BRIDGE_LISTEN"), "{error}");
}

#[test]
fn open_addresses_need_access_keys() {
    let open = Overrides {
        listen: Some("0.0.0.0:6688".into()),
        ..Overrides::default()
    };
    let refused = resolve(open.clone(), &[], None).unwrap_err();
    assert!(matches!(refused, ConfigError::OpenListenAddress { .. }));
    let config = resolve(
        open,
        &[("ACCESS_API_KEYS", " a , ,alice:sk-1, :x, a b:c")],
        None,
    )
    .unwrap();
    let keys: Vec<_> = config
        .access_keys
        .iter()
        .map(|k| (k.name.as_deref(), k.secret.expose()))
        .collect();
    assert_eq!(
        keys,
        [
            (None, "a"),
            (Some("alice"), "sk-1"),
            (None, ":x"),
            (None, "a b:c")
        ]
    );
}

#[test]
fn admin_access_keys_are_named_with_a_slash_admin() {
    let env = [(
        "ACCESS_API_KEYS",
        "root/admin:sk-1, ops /admin : sk-2,/admin:sk-3,bob:sk-4,x/adm:sk-5",
    )];
    let config = resolve(Overrides::default(), &env, None).unwrap();
    let keys: Vec<_> = config
        .access_keys
        .iter()
        .map(|k| (k.name.as_deref(), k.secret.expose(), k.admin))
        .collect();
    assert_eq!(
        keys,
        [
            (Some("root"), "sk-1", true),
            (Some("ops"), "sk-2", true),
            (None, "/admin:sk-3", false),
            (Some("bob"), "sk-4", false),
            (None, "x/adm:sk-5", false),
        ]
    );
}

#[test]
fn access_key_names_and_keys_are_trimmed() {
    let env = [(
        "ACCESS_API_KEYS",
        "alice: sk-1 ,bob :sk-2, carol\t:\tsk-3,dave: ",
    )];
    let config = resolve(Overrides::default(), &env, None).unwrap();
    let keys: Vec<_> = config
        .access_keys
        .iter()
        .map(|k| (k.name.as_deref(), k.secret.expose()))
        .collect();
    assert_eq!(
        keys,
        [
            (Some("alice"), "sk-1"),
            (Some("bob"), "sk-2"),
            (Some("carol"), "sk-3"),
            (None, "dave:"),
        ]
    );
}

#[test]
fn secrets_never_print() {
    let env = [
        ("OPENAI_API_KEY", "sk-very-secret"),
        ("ACCESS_API_KEYS", "acc-secret"),
    ];
    let text = "proxy = \"socks5://user:proxy-secret@127.0.0.1:1080\"\n[providers.openai]\nheaders = { Authorization = \"Bearer hdr-secret\" }";
    let config = resolve(Overrides::default(), &env, Some(text)).unwrap();
    let printed = format!("{config:?}");
    for secret in ["sk-very-secret", "acc-secret", "proxy-secret", "hdr-secret"] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
}

#[test]
fn a_proxy_error_does_not_repeat_the_url() {
    let error = error(
        Overrides::default(),
        &[],
        "proxy = \"gopher://user:pw-secret@h:1\"",
    );
    assert!(!error.contains("pw-secret"), "{error}");
}

#[test]
fn the_shipped_example_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("llm-bridge.example.toml");
    let file = LoadedFile::read(&path).unwrap();
    let config = Config::from_parts(&Overrides::default(), &Env::default(), Some(file)).unwrap();
    assert_eq!(config.default_provider.as_deref(), Some("ollama"));
    assert_eq!(config.aliases.len(), 2);
    assert!(config.provider("corp").unwrap().proxy.is_some());
}

#[test]
fn resilience_settings_merge_provider_over_top_level() {
    let env = [("DEEPSEEK_API_KEY", "sk-a, sk-b,,sk-c")];
    let text = "idle_timeout_secs = 30\ntotal_timeout_secs = 90\n[retry]\nmax_retries = 4\nbackoff_ms = 100\n\n[providers.deepseek]\nidle_timeout_secs = 20\nmax_concurrent = 3\nkey_cooldown_secs = 5\n[providers.deepseek.retry]\nmax_retries = 0\n\n[fallbacks]\n\"deepseek/deepseek-chat\" = [\"openrouter/deepseek/deepseek-chat\", \"qwen/qwen-plus\"]\n";
    let config = resolve(Overrides::default(), &env, Some(text)).unwrap();
    let deepseek = config.provider("deepseek").unwrap();
    let keys: Vec<&str> = deepseek.api_keys.iter().map(|k| k.expose()).collect();
    assert_eq!(keys, ["sk-a", "sk-b", "sk-c"]);
    assert_eq!(deepseek.timeouts.idle.as_secs(), 20);
    assert_eq!(deepseek.timeouts.total.as_secs(), 90);
    assert_eq!(deepseek.retry.max_retries, 0);
    assert_eq!(deepseek.retry.backoff.as_millis(), 100, "from [retry]");
    assert_eq!(
        deepseek.concurrency,
        Some(ConcurrencyLimit {
            max_concurrent: 3,
            max_queued: 100
        })
    );
    assert_eq!(deepseek.key_cooldown.as_secs(), 5);
    let openai = config.provider("openai").unwrap();
    assert_eq!(openai.timeouts.idle.as_secs(), 30);
    assert_eq!(openai.retry.max_retries, 4);
    let chain: Vec<(String, String)> = config.fallbacks["deepseek/deepseek-chat"]
        .iter()
        .map(|t| (t.provider.clone(), t.model.clone()))
        .collect();
    assert_eq!(
        chain,
        [
            ("openrouter".into(), "deepseek/deepseek-chat".into()),
            ("qwen".into(), "qwen-plus".into())
        ]
    );
}
