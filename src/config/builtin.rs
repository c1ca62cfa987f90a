//! The providers llm-bridge knows without any config file, and the bare-name
//! prefixes that route to them.

use super::ProviderKind;

/// A provider usable with only an API key in the environment.
pub struct BuiltinProvider {
    /// Name used in `provider/model` and in `NAME_API_KEY` / `NAME_BASE_URL`.
    pub name: &'static str,
    /// The API it speaks unless its section says otherwise.
    pub kind: ProviderKind,
    /// Base URL, its version path included (`/chat/completions` or
    /// `/messages` is appended).
    pub base_url: &'static str,
    /// The base URL of its native API, for a provider whose built-in
    /// `base_url` is an OpenAI-compatible one (Gemini): used when its
    /// section sets `kind` to that native API.
    pub native_base_url: Option<&'static str>,
    /// Whether it serves OpenAI's Responses API itself.
    pub responses_api: bool,
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
        kind: ProviderKind::OpenAi,
        base_url: "https://api.openai.com/v1",
        native_base_url: None,
        responses_api: true,
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
        kind: ProviderKind::OpenAi,
        base_url: "https://api.deepseek.com/v1",
        native_base_url: None,
        responses_api: false,
        extra_key_vars: &[],
        models: &["deepseek-chat", "deepseek-reasoner"],
        stream_usage: true,
    },
    BuiltinProvider {
        name: "openrouter",
        kind: ProviderKind::OpenAi,
        base_url: "https://openrouter.ai/api/v1",
        native_base_url: None,
        responses_api: false,
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
        kind: ProviderKind::OpenAi,
        base_url: "https://dashscope.aliyuncs.com/compatible-mode/v1",
        native_base_url: None,
        responses_api: false,
        extra_key_vars: &["DASHSCOPE_API_KEY"],
        models: &["qwen-turbo-latest", "qwen-plus", "qwen-max"],
        stream_usage: true,
    },
    BuiltinProvider {
        name: "gemini",
        kind: ProviderKind::OpenAi,
        base_url: "https://generativelanguage.googleapis.com/v1beta/openai",
        native_base_url: Some("https://generativelanguage.googleapis.com/v1beta"),
        responses_api: false,
        extra_key_vars: &["GOOGLE_API_KEY"],
        models: &["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash"],
        stream_usage: false,
    },
    BuiltinProvider {
        name: "anthropic",
        kind: ProviderKind::Anthropic,
        base_url: "https://api.anthropic.com/v1",
        native_base_url: None,
        responses_api: false,
        extra_key_vars: &[],
        models: &[
            "claude-sonnet-4-5",
            "claude-opus-4-5",
            "claude-haiku-4-5",
            "claude-sonnet-4-0",
        ],
        // Anthropic streams always report their usage.
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
    ("claude-", "anthropic"),
    ("text-embedding-", "openai"),
];
