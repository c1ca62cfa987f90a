//! The providers llm-bridge knows without any config file, and the bare-name
//! prefixes that route to them.

/// A provider usable with only an API key in the environment.
pub struct BuiltinProvider {
    /// Name used in `provider/model` and in `NAME_API_KEY` / `NAME_BASE_URL`.
    pub name: &'static str,
    /// OpenAI-compatible base URL; `/chat/completions` is appended.
    pub base_url: &'static str,
    /// Further variables accepted for the key, after `NAME_API_KEY`: the names
    /// users of the Python tools this replaces already have in their `.env`.
    pub extra_key_vars: &'static [&'static str],
    /// What `/v1/models` lists unless the config file replaces it.
    pub models: &'static [&'static str],
    /// Whether it accepts `stream_options.include_usage` (so streamed answers
    /// can report their tokens). Gemini's compatible endpoint is left out:
    /// its support is not documented, and an unknown field could fail every
    /// stream.
    pub stream_usage: bool,
}

/// Built-in providers, in the order `/v1/models` and `/health` list them.
pub const BUILTIN_PROVIDERS: &[BuiltinProvider] = &[
    BuiltinProvider {
        name: "openai",
        base_url: "https://api.openai.com/v1",
        extra_key_vars: &[],
        models: &[
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4.1-nano",
            "gpt-4o",
            "gpt-4o-mini",
            "o3",
            "o4-mini",
        ],
        stream_usage: true,
    },
    BuiltinProvider {
        name: "deepseek",
        base_url: "https://api.deepseek.com/v1",
        extra_key_vars: &[],
        models: &["deepseek-chat", "deepseek-reasoner"],
        stream_usage: true,
    },
    BuiltinProvider {
        name: "openrouter",
        base_url: "https://openrouter.ai/api/v1",
        extra_key_vars: &[],
        models: &[
            "openai/gpt-4o-mini",
            "anthropic/claude-3.5-sonnet",
            "anthropic/claude-sonnet-4",
            "google/gemini-2.5-flash",
            "deepseek/deepseek-chat",
            "meta-llama/llama-3.3-70b-instruct",
        ],
        stream_usage: true,
    },
    BuiltinProvider {
        name: "qwen",
        base_url: "https://dashscope.aliyuncs.com/compatible-mode/v1",
        extra_key_vars: &["DASHSCOPE_API_KEY"],
        models: &["qwen-turbo-latest", "qwen-plus", "qwen-max"],
        stream_usage: true,
    },
    BuiltinProvider {
        name: "gemini",
        base_url: "https://generativelanguage.googleapis.com/v1beta/openai",
        extra_key_vars: &["GOOGLE_API_KEY"],
        models: &["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash"],
        stream_usage: false,
    },
];

/// Bare model-name prefixes and the built-in provider each routes to, tried
/// in order after aliases and before the default provider.
pub const BARE_NAME_PREFIXES: &[(&str, &str)] = &[
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("chatgpt-", "openai"),
    ("deepseek-", "deepseek"),
    ("qwen", "qwen"),
    ("gemini-", "gemini"),
];
