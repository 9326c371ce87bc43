//! Provider profiles: the single table that says, for every LLM provider we know, which backend
//! types it serves, how to recognise its base URL, where its API key comes from, its default
//! endpoint and model, which wire protocol it speaks and what its Chat Completions dialect
//! accepts ([`Capabilities`]).
//!
//! Responsibilities: the [`PROVIDERS`] table, resolving a backend type + base URL to a profile
//! ([`resolve`]), MassGen's model → backend-type table ([`infer_backend_type`]) and generating
//! `docs/providers.md` ([`providers_markdown`]). Non-responsibilities: sending requests (the
//! backend reads the profile), reading environment variables (see `config::env`).

use std::fmt;
use std::fmt::Write as _;

/// A MassGen `backend.type` value (case-insensitive in configs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BackendType {
    /// `openai`: OpenAI Responses API.
    OpenAi,
    /// `claude`: Anthropic Messages API.
    Claude,
    /// `gemini`: Google Gemini API.
    Gemini,
    /// `grok`: xAI (Chat Completions).
    Grok,
    /// `chatcompletion`: any OpenAI-compatible Chat Completions endpoint.
    ChatCompletion,
    /// `zai`: Z.ai / Zhipu GLM (Chat Completions).
    Zai,
    /// `lmstudio`: LM Studio's local server (Chat Completions).
    LmStudio,
    /// `claude_code`: Anthropic's Claude Code agent via its Python SDK (refused by this build).
    ClaudeCode,
    /// `azure_openai`: Azure OpenAI deployments (Chat Completions).
    AzureOpenAi,
}

impl BackendType {
    /// Every type, in MassGen's `--backend` order.
    pub const ALL: [BackendType; 9] = [
        BackendType::ChatCompletion,
        BackendType::Claude,
        BackendType::Gemini,
        BackendType::Grok,
        BackendType::OpenAi,
        BackendType::AzureOpenAi,
        BackendType::ClaudeCode,
        BackendType::Zai,
        BackendType::LmStudio,
    ];

    /// Parses a config value, case-insensitively (`"OpenAI"` → [`BackendType::OpenAi`]).
    pub fn parse(text: &str) -> Option<BackendType> {
        let lower = text.trim().to_ascii_lowercase();
        BackendType::ALL.into_iter().find(|t| t.as_str() == lower)
    }

    /// The canonical config spelling (`"chatcompletion"`, `"azure_openai"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            BackendType::OpenAi => "openai",
            BackendType::Claude => "claude",
            BackendType::Gemini => "gemini",
            BackendType::Grok => "grok",
            BackendType::ChatCompletion => "chatcompletion",
            BackendType::Zai => "zai",
            BackendType::LmStudio => "lmstudio",
            BackendType::ClaudeCode => "claude_code",
            BackendType::AzureOpenAi => "azure_openai",
        }
    }

    /// MassGen's model default for this type when the config gives no `model` (§3.8).
    pub fn massgen_default_model(self) -> Option<&'static str> {
        match self {
            BackendType::OpenAi | BackendType::LmStudio => Some("gpt-4o-mini"),
            BackendType::Claude => Some("claude-3-sonnet-20240229"),
            BackendType::Gemini => Some("gemini-2.5-flash"),
            BackendType::Grok => Some("grok-2-1212"),
            BackendType::ChatCompletion => Some("gpt-oss-120b"),
            BackendType::Zai => Some("glm-4.5"),
            BackendType::ClaudeCode | BackendType::AzureOpenAi => None,
        }
    }

    /// Whether MassGen lets this backend use a `cwd` (filesystem layer). `claude` and
    /// `azure_openai` have no filesystem support at v0.0.18.
    pub fn supports_filesystem(self) -> bool {
        !matches!(self, BackendType::Claude | BackendType::AzureOpenAi)
    }
}

impl fmt::Display for BackendType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The wire protocol a provider speaks; the engine picks the backend implementation from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireApi {
    /// `POST {base}/chat/completions` (OpenAI Chat Completions and compatibles).
    ChatCompletions,
    /// `POST {base}/responses` (OpenAI Responses API).
    Responses,
    /// `POST {base}/v1/messages` (Anthropic Messages API).
    AnthropicMessages,
    /// Google Gemini `generateContent` / `streamGenerateContent`.
    Gemini,
    /// No wire protocol we can speak (Claude Code drives a local agent process).
    Unsupported,
}

impl WireApi {
    /// Short human name.
    pub fn as_str(self) -> &'static str {
        match self {
            WireApi::ChatCompletions => "Chat Completions",
            WireApi::Responses => "Responses",
            WireApi::AnthropicMessages => "Anthropic Messages",
            WireApi::Gemini => "Gemini",
            WireApi::Unsupported => "unsupported",
        }
    }
}

/// What to put in `content` of an assistant message that carries `tool_calls`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssistantContent {
    /// `"content": ""` (safest for local chat templates).
    EmptyString,
    /// `"content": null` (the OpenAI reference behaviour).
    Null,
    /// Leave the `content` key out.
    Omit,
}

/// What a provider's Chat Completions dialect accepts. The Chat Completions backend reads these
/// flags instead of matching on provider names; the MCP layer reads the schema fields when it
/// normalises tool schemas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// `content` of an assistant message that has `tool_calls`.
    pub assistant_content_with_tool_calls: AssistantContent,
    /// `tool_choice: "required"` is accepted.
    pub tool_choice_required: bool,
    /// `tool_choice: {"type":"function","function":{"name":..}}` is accepted.
    pub tool_choice_named: bool,
    /// The `parallel_tool_calls` request parameter is accepted.
    pub parallel_tool_calls_param: bool,
    /// Send `stream_options: {"include_usage": true}` to get token usage while streaming.
    pub stream_usage: bool,
    /// `strict: true` on function definitions is accepted.
    pub strict_schemas: bool,
    /// Longest function name the provider accepts.
    pub max_tool_name_len: usize,
    /// Streamed tool-call deltas are unreliable: use non-streaming requests for turns with tools.
    pub streamed_tool_calls_unreliable: bool,
    /// Pass-through request keys the provider rejects (dropped with a warning).
    pub rejected_params: &'static [&'static str],
    /// JSON-Schema keywords to strip from tool parameter schemas.
    pub schema_unsupported_keywords: &'static [&'static str],
    /// Object schemas must carry a `properties` map (add `{}` when missing).
    pub schema_needs_properties: bool,
}

impl Capabilities {
    /// The OpenAI reference dialect.
    pub const OPENAI: Capabilities = Capabilities {
        assistant_content_with_tool_calls: AssistantContent::Null,
        tool_choice_required: true,
        tool_choice_named: true,
        parallel_tool_calls_param: true,
        stream_usage: true,
        strict_schemas: true,
        max_tool_name_len: 64,
        streamed_tool_calls_unreliable: false,
        rejected_params: &[],
        schema_unsupported_keywords: &[],
        schema_needs_properties: true,
    };

    /// A conservative dialect for servers we know nothing about.
    pub const CONSERVATIVE: Capabilities = Capabilities {
        assistant_content_with_tool_calls: AssistantContent::EmptyString,
        tool_choice_required: false,
        tool_choice_named: false,
        parallel_tool_calls_param: false,
        stream_usage: false,
        strict_schemas: false,
        max_tool_name_len: 64,
        streamed_tool_calls_unreliable: false,
        rejected_params: &[],
        schema_unsupported_keywords: &["$schema"],
        schema_needs_properties: true,
    };
}

/// How a provider's API key is obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPolicy {
    /// One of `api_key_env` (first non-empty wins) or an explicit `api_key` is required.
    Required,
    /// Used when present (explicit `api_key` or the env vars), otherwise no key is sent.
    Optional,
    /// Local server: no key is read or sent unless the config gives `api_key`.
    None,
}

/// One provider. All fields are public and `'static`: the table is data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProviderProfile {
    /// Stable id (`"cerebras"`, `"lmstudio"`, ...), used in logs and run records.
    pub id: &'static str,
    /// Name shown to users.
    pub display_name: &'static str,
    /// Backend types this profile serves.
    pub backend_types: &'static [BackendType],
    /// Host suffixes that identify the provider in a `base_url` (`together.ai` matches
    /// `api.together.ai`). Empty for local servers (matched by port) and fallbacks.
    pub host_patterns: &'static [&'static str],
    /// Default port on a local host (`localhost`, `127.0.0.1`, `0.0.0.0`, `[::1]`).
    pub local_port: Option<u16>,
    /// Base URL used when the config gives none.
    pub default_base_url: Option<&'static str>,
    /// Environment variables holding the API key, in lookup order.
    pub api_key_env: &'static [&'static str],
    /// Whether a key is needed.
    pub key_policy: KeyPolicy,
    /// Other environment variables the provider reads (Azure endpoint and API version).
    pub other_env: &'static [&'static str],
    /// Model used when the config gives none.
    pub default_model: Option<&'static str>,
    /// Runs on the user's machine (no key, no cost).
    pub local: bool,
    /// Wire protocol.
    pub api: WireApi,
    /// Chat Completions dialect.
    pub caps: Capabilities,
    /// Known quirks and uncertainties, for humans.
    pub quirks: &'static str,
}

impl ProviderProfile {
    /// Whether this build can drive the provider at all.
    pub fn is_supported(&self) -> bool {
        self.api != WireApi::Unsupported
    }
}

const CC: &[BackendType] = &[BackendType::ChatCompletion];
const LOCAL_HOSTS: &[&str] = &["localhost", "127.0.0.1", "0.0.0.0", "::1", "ip6-localhost"];

/// The provider table: the single source of truth (docs/providers.md is generated from it).
pub static PROVIDERS: &[ProviderProfile] = &[
    ProviderProfile {
        id: "openai",
        display_name: "OpenAI (Responses API)",
        backend_types: &[BackendType::OpenAi],
        host_patterns: &[],
        local_port: None,
        default_base_url: Some("https://api.openai.com/v1"),
        api_key_env: &["OPENAI_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: Some("gpt-4o-mini"),
        local: false,
        api: WireApi::Responses,
        caps: Capabilities::OPENAI,
        quirks: "`type: openai` always speaks the Responses API (`POST /responses`); `max_tokens` is renamed to `max_output_tokens`; `reasoning` and `text` pass through verbatim. MassGen ignores a `base_url` here; we honour it.",
    },
    ProviderProfile {
        id: "openai-chat",
        display_name: "OpenAI",
        backend_types: CC,
        host_patterns: &["openai.com"],
        local_port: None,
        default_base_url: Some("https://api.openai.com/v1"),
        api_key_env: &["OPENAI_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: Some("gpt-4o-mini"),
        local: false,
        api: WireApi::ChatCompletions,
        caps: Capabilities::OPENAI,
        quirks: "`chatcompletion` without a `base_url` talks to OpenAI's Chat Completions endpoint (MassGen then relies on the SDK's `OPENAI_API_KEY` fallback; we require it explicitly). Reasoning models reject `temperature`/`top_p` other than the defaults (provider docs). Handled by the backend and covered by tests against our scripted server: `tool_choice` and `parallel_tool_calls` are rejected when no tools are sent, so they are only sent with tools; `retry-after-ms` is honoured (it wins over `Retry-After`); a 429 whose error is `insufficient_quota` is a quota problem, not a rate limit, and is not retried; `strict: true` needs `additionalProperties: false` and every property listed in `required`, so `strict` is only added to schemas that already qualify.",
    },
    ProviderProfile {
        id: "azure-openai",
        display_name: "Azure OpenAI",
        backend_types: &[BackendType::AzureOpenAi],
        host_patterns: &["openai.azure.com", "cognitiveservices.azure.com"],
        local_port: None,
        default_base_url: None,
        api_key_env: &["AZURE_OPENAI_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &["AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_VERSION"],
        default_model: None,
        local: false,
        api: WireApi::ChatCompletions,
        caps: Capabilities::OPENAI,
        quirks: "`model` is the deployment name. The endpoint comes from `base_url`, `azure_endpoint` or `AZURE_OPENAI_ENDPOINT` (required); the API version from `api_version`, `AZURE_OPENAI_API_VERSION` or `2024-12-01-preview`. Requests go to `{endpoint}/openai/deployments/{model}/chat/completions?api-version=..` with an `api-key` header (both covered by tests against our scripted server). The first streamed chunk has an empty `choices` array and carries `prompt_filter_results`; it is skipped (tested). No `cwd` support (as in MassGen).",
    },
    ProviderProfile {
        id: "anthropic",
        display_name: "Anthropic Claude",
        backend_types: &[BackendType::Claude],
        host_patterns: &["anthropic.com"],
        local_port: None,
        default_base_url: Some("https://api.anthropic.com"),
        api_key_env: &["ANTHROPIC_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: Some("claude-3-sonnet-20240229"),
        local: false,
        api: WireApi::AnthropicMessages,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::Omit,
            tool_choice_required: true,
            tool_choice_named: true,
            parallel_tool_calls_param: false,
            stream_usage: false,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &[
                "reasoning",
                "text",
                "frequency_penalty",
                "presence_penalty",
                "seed",
                "n",
            ],
            schema_unsupported_keywords: &["$schema"],
            schema_needs_properties: false,
        },
        quirks: "Messages API: `max_tokens` is mandatory (MassGen default 4096); `tool_choice` is `{type: any}` for \"required\" and `{type: tool, name}` for a named tool. MassGen's default model `claude-3-sonnet-20240229` is retired by Anthropic: set `model` explicitly. MassGen forwards `type` to the SDK (a crash); we never forward it. No `cwd` support (as in MassGen).",
    },
    ProviderProfile {
        id: "gemini",
        display_name: "Google Gemini",
        backend_types: &[BackendType::Gemini],
        host_patterns: &["generativelanguage.googleapis.com"],
        local_port: None,
        default_base_url: Some("https://generativelanguage.googleapis.com/v1beta"),
        api_key_env: &["GOOGLE_API_KEY", "GEMINI_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: Some("gemini-2.5-flash"),
        local: false,
        api: WireApi::Gemini,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::EmptyString,
            tool_choice_required: true,
            tool_choice_named: true,
            parallel_tool_calls_param: false,
            stream_usage: true,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &["reasoning", "text", "parallel_tool_calls"],
            schema_unsupported_keywords: &[
                "$schema",
                "$id",
                "$ref",
                "$defs",
                "definitions",
                "additionalProperties",
                "default",
                "examples",
                "const",
            ],
            schema_needs_properties: true,
        },
        quirks: "Key lookup order is MassGen's: `GOOGLE_API_KEY`, then `GEMINI_API_KEY`. Function declarations accept an OpenAPI subset of JSON Schema; `additionalProperties`, `$ref`/`$defs` and `default` are rejected (uncertain for `format` beyond `enum`/`date-time`). `max_tokens` maps to `maxOutputTokens`. A `chatcompletion` agent pointed at Gemini's OpenAI-compatibility layer (`.../v1beta/openai`) gets the generic OpenAI-compatible profile; that layer may omit `index` on streamed tool-call deltas, so a new tool-call id starts a new call (handled; tested against our scripted server).",
    },
    ProviderProfile {
        id: "xai",
        display_name: "xAI Grok",
        backend_types: &[BackendType::Grok],
        host_patterns: &["x.ai"],
        local_port: None,
        default_base_url: Some("https://api.x.ai/v1"),
        api_key_env: &["XAI_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: Some("grok-2-1212"),
        local: false,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::Null,
            tool_choice_required: true,
            tool_choice_named: true,
            parallel_tool_calls_param: true,
            stream_usage: true,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &[
                "reasoning",
                "text",
                "presence_penalty",
                "frequency_penalty",
                "stop",
            ],
            schema_unsupported_keywords: &[],
            schema_needs_properties: true,
        },
        quirks: "OpenAI-compatible Chat Completions at `api.x.ai`. xAI's reasoning guide (docs.x.ai) says reasoning models (grok-3-mini, grok-4) answer `presencePenalty`, `frequencyPenalty` and `stop` with an error. The rule is per model but the table is per provider, so `presence_penalty`, `frequency_penalty` and `stop` are dropped (with a warning) for every Grok model, non-reasoning ones (grok-2, grok-3) included. Per the same guide only grok-3-mini accepts `reasoning_effort` (grok-3 and grok-4 reject it; not dropped, since grok-3-mini needs it) and only grok-3-mini returns `reasoning_content` in Chat Completions. `enable_web_search` maps to `extra_body.search_parameters` in MassGen. MassGen forwards `type` to the SDK (a crash); we never forward it.",
    },
    ProviderProfile {
        id: "cerebras",
        display_name: "Cerebras",
        backend_types: CC,
        host_patterns: &["cerebras.ai"],
        local_port: None,
        default_base_url: Some("https://api.cerebras.ai/v1"),
        api_key_env: &["CEREBRAS_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: Some("gpt-oss-120b"),
        local: false,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::Null,
            tool_choice_required: false,
            tool_choice_named: false,
            parallel_tool_calls_param: false,
            stream_usage: false,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &[
                "frequency_penalty",
                "presence_penalty",
                "logit_bias",
                "parallel_tool_calls",
                "service_tier",
                "reasoning",
                "text",
            ],
            schema_unsupported_keywords: &[
                "$schema",
                "format",
                "pattern",
                "minLength",
                "maxLength",
            ],
            schema_needs_properties: true,
        },
        quirks: "`tool_choice` accepts only `auto`/`none` (no forced or named choice); `frequency_penalty`, `presence_penalty`, `logit_bias`, `parallel_tool_calls` and `service_tier` are rejected with 400. `strict` schemas are not sent: Qwen models on Cerebras reject them, and strict mode rejects `format`/`pattern`/length keywords. Usage arrives in the final chunk without `stream_options` (treated as unsupported). Some client libraries report that streaming is not supported together with tools; MassGen v0.0.18 streamed tool turns on Cerebras, so streaming is kept (uncertain).",
    },
    ProviderProfile {
        id: "together",
        display_name: "Together AI",
        backend_types: CC,
        host_patterns: &["together.ai", "together.xyz"],
        local_port: None,
        default_base_url: Some("https://api.together.xyz/v1"),
        api_key_env: &["TOGETHER_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: None,
        local: false,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::EmptyString,
            tool_choice_required: true,
            tool_choice_named: true,
            parallel_tool_calls_param: false,
            stream_usage: true,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &["reasoning", "text"],
            schema_unsupported_keywords: &["$schema"],
            schema_needs_properties: true,
        },
        quirks: "Both `together.ai` and `together.xyz` hosts are recognised (MassGen v0.0.18 only looked up the key for `together.ai`). Tool-call support depends on the model; `parallel_tool_calls` is not documented (treated as unsupported).",
    },
    ProviderProfile {
        id: "fireworks",
        display_name: "Fireworks AI",
        backend_types: CC,
        host_patterns: &["fireworks.ai", "fireworks.xyz"],
        local_port: None,
        default_base_url: Some("https://api.fireworks.ai/inference/v1"),
        api_key_env: &["FIREWORKS_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: None,
        local: false,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::EmptyString,
            tool_choice_required: true,
            tool_choice_named: true,
            parallel_tool_calls_param: false,
            stream_usage: true,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &["reasoning", "text"],
            schema_unsupported_keywords: &["$schema"],
            schema_needs_properties: true,
        },
        quirks: "MassGen v0.0.18 looked for `fireworks.xyz`, so `api.fireworks.ai` configs got no key; we match both. `tool_choice: \"required\"` is spelled `any` in older Fireworks docs (uncertain whether `required` is accepted on every model).",
    },
    ProviderProfile {
        id: "groq",
        display_name: "Groq",
        backend_types: CC,
        host_patterns: &["groq.com"],
        local_port: None,
        default_base_url: Some("https://api.groq.com/openai/v1"),
        api_key_env: &["GROQ_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: None,
        local: false,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::Null,
            tool_choice_required: true,
            tool_choice_named: true,
            parallel_tool_calls_param: true,
            stream_usage: false,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &[
                "logprobs",
                "logit_bias",
                "top_logprobs",
                "n",
                "reasoning",
                "text",
            ],
            schema_unsupported_keywords: &["$schema"],
            schema_needs_properties: true,
        },
        quirks: "Streamed usage arrives as `x_groq.usage` in the last chunk (read by the backend; tested against our scripted server); `stream_options` is not needed. gpt-oss models stream their reasoning in `delta.reasoning`. `logprobs`, `logit_bias`, `top_logprobs`, `messages[].name` and `n > 1` are rejected with 400; `temperature: 0` is turned into 1e-8.",
    },
    ProviderProfile {
        id: "nebius",
        display_name: "Nebius AI Studio",
        backend_types: CC,
        host_patterns: &["nebius.ai", "nebius.com"],
        local_port: None,
        default_base_url: Some("https://api.studio.nebius.com/v1"),
        api_key_env: &["NEBIUS_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: None,
        local: false,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::EmptyString,
            tool_choice_required: true,
            tool_choice_named: true,
            parallel_tool_calls_param: true,
            stream_usage: true,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &["reasoning", "text"],
            schema_unsupported_keywords: &["$schema"],
            schema_needs_properties: true,
        },
        quirks: "MassGen v0.0.18 looked for `nebius.com`, so `api.studio.nebius.ai` configs got no key; we match both. Served by vLLM, so the dialect follows vLLM (uncertain).",
    },
    ProviderProfile {
        id: "openrouter",
        display_name: "OpenRouter",
        backend_types: CC,
        host_patterns: &["openrouter.ai"],
        local_port: None,
        default_base_url: Some("https://openrouter.ai/api/v1"),
        api_key_env: &["OPENROUTER_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: None,
        local: false,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::Null,
            tool_choice_required: true,
            tool_choice_named: true,
            parallel_tool_calls_param: true,
            stream_usage: true,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &["text"],
            schema_unsupported_keywords: &[],
            schema_needs_properties: true,
        },
        quirks: "A router: what is accepted depends on the upstream provider; unsupported parameters are usually ignored. Handled by the backend and covered by tests against our scripted server: streams contain `: OPENROUTER PROCESSING` SSE comments (ignored); an in-stream error object has a numeric `code` and the upstream provider's own message in `error.metadata.raw` (shown to the user); reasoning text arrives in `delta.reasoning`.",
    },
    ProviderProfile {
        id: "zai",
        display_name: "Z.ai (GLM)",
        backend_types: &[BackendType::Zai, BackendType::ChatCompletion],
        host_patterns: &["z.ai", "bigmodel.cn"],
        local_port: None,
        default_base_url: Some("https://api.z.ai/api/paas/v4/"),
        api_key_env: &["ZAI_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: Some("glm-4.5"),
        local: false,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::EmptyString,
            tool_choice_required: false,
            tool_choice_named: false,
            parallel_tool_calls_param: false,
            stream_usage: false,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &[
                "reasoning",
                "text",
                "parallel_tool_calls",
                "frequency_penalty",
                "presence_penalty",
                "stream_options",
            ],
            schema_unsupported_keywords: &["$schema"],
            schema_needs_properties: true,
        },
        quirks: "`tool_choice` only supports `auto` (Zhipu's API reference as mirrored by API gateways, and client libraries that degrade forced choices to `auto`; not checked against a live server), so forced and named choices are never sent; `frequency_penalty`, `presence_penalty` and `stream_options` are not accepted; `strict` is not supported; `temperature`/`top_p` have narrower ranges than OpenAI. GLM reasoning arrives in `delta.reasoning_content`; usage is sent in the last chunk. `bigmodel.cn` (mainland endpoint) uses the same key variable.",
    },
    ProviderProfile {
        id: "moonshot",
        display_name: "Kimi (Moonshot AI)",
        backend_types: CC,
        host_patterns: &["moonshot.ai", "moonshot.cn"],
        local_port: None,
        default_base_url: Some("https://api.moonshot.ai/v1"),
        api_key_env: &["MOONSHOT_API_KEY", "KIMI_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: None,
        local: false,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::EmptyString,
            tool_choice_required: false,
            tool_choice_named: false,
            parallel_tool_calls_param: false,
            stream_usage: false,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &["reasoning", "text"],
            schema_unsupported_keywords: &["$schema"],
            schema_needs_properties: true,
        },
        quirks: "Added to MassGen in v0.0.20. Forced `tool_choice` (`required` or a named function) is rejected with 400 (`tool_choice ... is incompatible with thinking enabled`) on the thinking Kimi models, so only `auto` is used: reported by third-party probes against the live API, not found in Moonshot's own docs (unverified by us). On kimi-k2 models sampling parameters are fixed by the platform. Reasoning arrives in `delta.reasoning_content`; client libraries replay it in the history of tool-call turns, which we never do (unverified whether Kimi requires it).",
    },
    ProviderProfile {
        id: "qwen",
        display_name: "Qwen (DashScope)",
        backend_types: CC,
        host_patterns: &["aliyuncs.com"],
        local_port: None,
        default_base_url: Some("https://dashscope-intl.aliyuncs.com/compatible-mode/v1"),
        api_key_env: &["QWEN_API_KEY", "DASHSCOPE_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: None,
        local: false,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::EmptyString,
            tool_choice_required: false,
            tool_choice_named: true,
            parallel_tool_calls_param: true,
            stream_usage: true,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &["reasoning", "text"],
            schema_unsupported_keywords: &["$schema"],
            schema_needs_properties: true,
        },
        quirks: "Added to MassGen around v0.1.12. `tool_choice: required` is not supported; a named function is. Thinking models stream `delta.reasoning_content`.",
    },
    ProviderProfile {
        id: "mistral",
        display_name: "Mistral AI",
        backend_types: CC,
        host_patterns: &["mistral.ai"],
        local_port: None,
        default_base_url: Some("https://api.mistral.ai/v1"),
        api_key_env: &["MISTRAL_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: None,
        local: false,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::EmptyString,
            tool_choice_required: true,
            tool_choice_named: true,
            parallel_tool_calls_param: false,
            stream_usage: false,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &["reasoning", "text"],
            schema_unsupported_keywords: &["$schema"],
            schema_needs_properties: true,
        },
        quirks: "Not a MassGen v0.0.18 provider. OpenAI-compatible Chat Completions at `https://api.mistral.ai/v1` (Mistral's migration guide: point an OpenAI client there and change only the model). `tool_choice` accepts `auto`, `none`, `any`/`required` and a named function (Mistral's client docs). Tool-call ids must be exactly 9 characters from `[a-zA-Z0-9]`: any other id in the history is rejected with 400 (`Tool call id was ... but must be a-z, A-Z, 0-9, with a length of 9`, widely reported by client libraries; not checked by us). Mistral returns such ids and we send them back unchanged, but an id we synthesise for a streamed call that came without one (`call_<prefix>_<n>`) would be rejected on the next turn. `parallel_tool_calls` and `stream_options` are treated as unsupported (unverified).",
    },
    ProviderProfile {
        id: "deepseek",
        display_name: "DeepSeek",
        backend_types: CC,
        host_patterns: &["deepseek.com"],
        local_port: None,
        default_base_url: Some("https://api.deepseek.com/v1"),
        api_key_env: &["DEEPSEEK_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: None,
        local: false,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::EmptyString,
            tool_choice_required: true,
            tool_choice_named: true,
            parallel_tool_calls_param: false,
            stream_usage: true,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &["reasoning", "text"],
            schema_unsupported_keywords: &["$schema"],
            schema_needs_properties: true,
        },
        quirks: "Not a MassGen v0.0.18 provider. OpenAI-compatible Chat Completions at `api.deepseek.com` (`/v1` is accepted as well). Reasoning arrives in `delta.reasoning_content`; we never send reasoning back in the history. DeepSeek's guide for the original `deepseek-reasoner` (R1) says a `reasoning_content` field in input messages is a 400 error, which we therefore never trigger. Its newer thinking-mode guide, as quoted in many client bug reports (not read by us directly), requires the `reasoning_content` of tool-call turns to be passed back, otherwise 400: multi-turn tool use with a thinking model is expected to fail here, so give agents with tools the non-thinking model. `tool_choice: required`, named choices and `stream_options.include_usage` follow DeepSeek-specific client SDKs (unverified against the live API); `strict` exists only on the beta endpoint and is not sent.",
    },
    ProviderProfile {
        id: "poe",
        display_name: "Poe",
        backend_types: CC,
        host_patterns: &["poe.com"],
        local_port: None,
        default_base_url: Some("https://api.poe.com/v1"),
        api_key_env: &["POE_API_KEY"],
        key_policy: KeyPolicy::Required,
        other_env: &[],
        default_model: None,
        local: false,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::EmptyString,
            tool_choice_required: false,
            tool_choice_named: false,
            parallel_tool_calls_param: true,
            stream_usage: true,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &["reasoning", "text"],
            schema_unsupported_keywords: &["$schema"],
            schema_needs_properties: true,
        },
        quirks: "Added to MassGen around v0.0.24. Bots are addressed by name in `model`; tool support depends on the bot (uncertain), many sampling parameters are ignored.",
    },
    ProviderProfile {
        id: "lmstudio",
        display_name: "LM Studio",
        backend_types: &[BackendType::LmStudio, BackendType::ChatCompletion],
        host_patterns: &[],
        local_port: Some(1234),
        default_base_url: Some("http://localhost:1234/v1"),
        api_key_env: &[],
        key_policy: KeyPolicy::None,
        other_env: &[],
        default_model: Some("gpt-4o-mini"),
        local: true,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::EmptyString,
            tool_choice_required: true,
            tool_choice_named: false,
            parallel_tool_calls_param: false,
            stream_usage: true,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &["reasoning", "text"],
            schema_unsupported_keywords: &["$schema"],
            schema_needs_properties: true,
        },
        quirks: "No key (MassGen sends the dummy key `lm-studio`). MassGen's LM Studio backend starts the server and downloads/loads the model with the `lms` CLI; we do not touch your installation: start LM Studio's server and load the model yourself. Named `tool_choice` is not supported. Assistant messages with tool calls carry `content: \"\"` because local chat templates may reject `null` (reported; unverified).",
    },
    ProviderProfile {
        id: "ollama",
        display_name: "Ollama",
        backend_types: CC,
        host_patterns: &[],
        local_port: Some(11434),
        default_base_url: Some("http://localhost:11434/v1"),
        api_key_env: &[],
        key_policy: KeyPolicy::None,
        other_env: &[],
        default_model: None,
        local: true,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::EmptyString,
            tool_choice_required: false,
            tool_choice_named: false,
            parallel_tool_calls_param: false,
            stream_usage: true,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &["reasoning", "text"],
            schema_unsupported_keywords: &["$schema"],
            schema_needs_properties: true,
        },
        quirks: "OpenAI compatibility layer at `/v1`. Ollama's OpenAI-compatibility docs list `tools` as supported and `tool_choice` as not supported, so no forced or named choice is sent (the model decides). Tool calls arrive whole in one delta rather than as argument fragments (observed by client-library maintainers, not guaranteed by Ollama; unverified by us); the backend accepts both. Versions before 0.4.6 could not stream tool calls at all, and some later reports say streamed tool calls can still be lost (unverified; streaming is kept). May send `finish_reason: \"stop\"` after tool calls; the calls are kept (handled; tested against our scripted server). Reasoning arrives in `delta.reasoning`. Assistant messages with tool calls carry `content: \"\"`.",
    },
    ProviderProfile {
        id: "vllm",
        display_name: "vLLM",
        backend_types: CC,
        host_patterns: &[],
        local_port: Some(8000),
        default_base_url: Some("http://localhost:8000/v1"),
        api_key_env: &[],
        key_policy: KeyPolicy::None,
        other_env: &[],
        default_model: None,
        local: true,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::Null,
            tool_choice_required: true,
            tool_choice_named: true,
            parallel_tool_calls_param: true,
            stream_usage: true,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &["reasoning", "text"],
            schema_unsupported_keywords: &[],
            schema_needs_properties: false,
        },
        quirks: "Tool calling needs `--enable-auto-tool-choice --tool-call-parser ...` on the server; `tool_choice: required` and named choices use guided decoding (vLLM ≥ 0.8.3). Reasoning arrives in `delta.reasoning_content` with a reasoning parser. Some tool-call parsers end a tool-call turn with `finish_reason: \"stop\"`; the calls are kept (handled; tested against our scripted server). Port 8000 is also MassGen's test MCP server port: a local URL on :8000 is assumed to be vLLM.",
    },
    ProviderProfile {
        id: "sglang",
        display_name: "SGLang",
        backend_types: CC,
        host_patterns: &[],
        local_port: Some(30000),
        default_base_url: Some("http://localhost:30000/v1"),
        api_key_env: &[],
        key_policy: KeyPolicy::None,
        other_env: &[],
        default_model: None,
        local: true,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::EmptyString,
            tool_choice_required: true,
            tool_choice_named: true,
            parallel_tool_calls_param: false,
            stream_usage: true,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: false,
            rejected_params: &["reasoning", "text"],
            schema_unsupported_keywords: &[],
            schema_needs_properties: false,
        },
        quirks: "Tool calling needs `--tool-call-parser` on the server. Support for `parallel_tool_calls` is uncertain (treated as unsupported).",
    },
    ProviderProfile {
        id: "llamacpp",
        display_name: "llama.cpp server",
        backend_types: CC,
        host_patterns: &[],
        local_port: Some(8080),
        default_base_url: Some("http://localhost:8080/v1"),
        api_key_env: &[],
        key_policy: KeyPolicy::None,
        other_env: &[],
        default_model: None,
        local: true,
        api: WireApi::ChatCompletions,
        caps: Capabilities {
            assistant_content_with_tool_calls: AssistantContent::EmptyString,
            tool_choice_required: true,
            tool_choice_named: false,
            parallel_tool_calls_param: true,
            stream_usage: true,
            strict_schemas: false,
            max_tool_name_len: 64,
            streamed_tool_calls_unreliable: true,
            rejected_params: &["reasoning", "text"],
            schema_unsupported_keywords: &["$schema"],
            schema_needs_properties: true,
        },
        quirks: "Tools need `llama-server --jinja`. Streaming tool calls depends on the build and the chat template, so turns with tools use non-streaming requests. Chat templates may fail on `content: null`, hence the empty string (reported; unverified). Some builds end a tool-call turn with `finish_reason: \"stop\"`; the calls are kept (handled; tested against our scripted server). `model` is informational (the server serves one model).",
    },
    ProviderProfile {
        id: "local",
        display_name: "Local server",
        backend_types: CC,
        host_patterns: &[],
        local_port: None,
        default_base_url: None,
        api_key_env: &[],
        key_policy: KeyPolicy::None,
        other_env: &[],
        default_model: None,
        local: true,
        api: WireApi::ChatCompletions,
        caps: Capabilities::CONSERVATIVE,
        quirks: "Any OpenAI-compatible server on localhost / 127.0.0.1 / 0.0.0.0 / [::1] on a port we do not recognise. Conservative dialect: no forced tool choice, no stream usage, `content: \"\"` next to tool calls (local chat templates may reject `null`; reported, unverified).",
    },
    ProviderProfile {
        id: "openai-compatible",
        display_name: "OpenAI-compatible",
        backend_types: CC,
        host_patterns: &[],
        local_port: None,
        default_base_url: None,
        api_key_env: &[],
        key_policy: KeyPolicy::Optional,
        other_env: &[],
        default_model: None,
        local: false,
        api: WireApi::ChatCompletions,
        caps: Capabilities::CONSERVATIVE,
        quirks: "Any other host. As in MassGen no key is looked up: give `api_key` in the config if the server needs one. Conservative dialect.",
    },
    ProviderProfile {
        id: "claude-code",
        display_name: "Claude Code",
        backend_types: &[BackendType::ClaudeCode],
        host_patterns: &[],
        local_port: None,
        default_base_url: None,
        api_key_env: &["ANTHROPIC_API_KEY"],
        key_policy: KeyPolicy::Optional,
        other_env: &[],
        default_model: None,
        local: false,
        api: WireApi::Unsupported,
        caps: Capabilities::CONSERVATIVE,
        quirks: "Refused at load: MassGen drives Anthropic's Claude Code agent through its Python SDK (`claude-code-sdk`), which has no equivalent here. Use `type: claude` (Anthropic Messages API) and give the agent tools with `mcp_servers` instead.",
    },
];

/// Looks a profile up by its id.
pub fn by_id(id: &str) -> Option<&'static ProviderProfile> {
    PROVIDERS.iter().find(|p| p.id == id)
}

fn profile(id: &str) -> &'static ProviderProfile {
    // Every id used by `resolve` is in the table (a unit test checks it); fall back to the
    // generic profile rather than panic.
    by_id(id).unwrap_or(&FALLBACK)
}

static FALLBACK: ProviderProfile = ProviderProfile {
    id: "openai-compatible",
    display_name: "OpenAI-compatible",
    backend_types: CC,
    host_patterns: &[],
    local_port: None,
    default_base_url: None,
    api_key_env: &[],
    key_policy: KeyPolicy::Optional,
    other_env: &[],
    default_model: None,
    local: false,
    api: WireApi::ChatCompletions,
    caps: Capabilities::CONSERVATIVE,
    quirks: "",
};

/// The host and port of a URL, lower-cased (`"https://API.x.ai:443/v1"` → `("api.x.ai", Some(443))`).
/// IPv6 literals lose their brackets. Returns `None` when there is no host.
pub fn url_host_port(url: &str) -> Option<(String, Option<u16>)> {
    let rest = url.trim();
    let rest = match rest.find("://") {
        Some(i) => &rest[i + 3..],
        None => rest,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or("");
    if authority.is_empty() {
        return None;
    }
    let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
        let end = stripped.find(']')?;
        let host = &stripped[..end];
        let port = stripped[end + 1..]
            .strip_prefix(':')
            .and_then(|p| p.parse().ok());
        (host.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some((host.to_ascii_lowercase(), port))
}

/// Whether a host names this machine (`localhost`, `127.0.0.1`, `0.0.0.0`, `::1`, ...).
pub fn is_local_host(host: &str) -> bool {
    LOCAL_HOSTS.contains(&host) || host.starts_with("127.") || host.ends_with(".localhost")
}

fn host_matches(host: &str, pattern: &str) -> bool {
    host == pattern || host.ends_with(&format!(".{pattern}"))
}

/// Resolves a backend type and optional base URL to a profile.
///
/// `chatcompletion` is resolved by host (both spellings of every provider's domain), then
/// local hosts by port, then the generic OpenAI-compatible profile; without a `base_url` it is
/// OpenAI. Every other type has its own profile.
pub fn resolve(backend: BackendType, base_url: Option<&str>) -> &'static ProviderProfile {
    match backend {
        BackendType::OpenAi => profile("openai"),
        BackendType::Claude => profile("anthropic"),
        BackendType::Gemini => profile("gemini"),
        BackendType::Grok => profile("xai"),
        BackendType::Zai => profile("zai"),
        BackendType::LmStudio => profile("lmstudio"),
        BackendType::ClaudeCode => profile("claude-code"),
        BackendType::AzureOpenAi => profile("azure-openai"),
        BackendType::ChatCompletion => {
            let Some(url) = base_url else {
                return profile("openai-chat");
            };
            let Some((host, port)) = url_host_port(url) else {
                return profile("openai-compatible");
            };
            if is_local_host(&host) {
                return PROVIDERS
                    .iter()
                    .find(|p| p.local && p.local_port.is_some() && p.local_port == port)
                    .unwrap_or_else(|| profile("local"));
            }
            PROVIDERS
                .iter()
                .filter(|p| p.backend_types.contains(&BackendType::ChatCompletion))
                .find(|p| p.host_patterns.iter().any(|pat| host_matches(&host, pat)))
                .unwrap_or_else(|| profile("openai-compatible"))
        }
    }
}

/// MassGen's model → backend-type table (`utils.MODEL_MAPPINGS`, exact, case-insensitive).
pub fn infer_backend_type(model: &str) -> Option<BackendType> {
    const OPENAI: &[&str] = &[
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "gpt-4o-mini",
        "gpt-4o",
        "o3",
        "o3-low",
        "o3-medium",
        "o3-high",
        "o3-mini",
        "o3-mini-low",
        "o3-mini-medium",
        "o3-mini-high",
        "o4-mini",
        "o4-mini-low",
        "o4-mini-medium",
        "o4-mini-high",
    ];
    const CLAUDE: &[&str] = &[
        "claude-opus-4-1-20250805",
        "claude-opus-4-20250514",
        "claude-sonnet-4-20250514",
        "claude-3-5-sonnet-latest",
        "claude-3-5-haiku-latest",
        "claude-3-5-sonnet-20250114",
        "claude-3-5-haiku-20241022",
        "claude-3-opus-20240229",
    ];
    const GEMINI: &[&str] = &["gemini-2.5-flash", "gemini-2.5-pro"];
    const GROK: &[&str] = &["grok-3-mini", "grok-3", "grok-4"];
    const ZAI: &[&str] = &["glm-4.5", "glm-4.5-air"];
    let m = model.trim().to_ascii_lowercase();
    let table: [(&[&str], BackendType); 5] = [
        (OPENAI, BackendType::OpenAi),
        (CLAUDE, BackendType::Claude),
        (GEMINI, BackendType::Gemini),
        (GROK, BackendType::Grok),
        (ZAI, BackendType::Zai),
    ];
    table
        .iter()
        .find(|(names, _)| names.contains(&m.as_str()))
        .map(|(_, t)| *t)
}

fn list_or_dash(items: &[&str], code: bool) -> String {
    if items.is_empty() {
        return "–".to_string();
    }
    items
        .iter()
        .map(|s| {
            if code {
                format!("`{s}`")
            } else {
                (*s).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Renders `docs/providers.md` from [`PROVIDERS`]. `tests/config_providers_doc.rs` keeps the
/// file in sync (`UPDATE_DOCS=1 cargo test --test config_providers_doc` rewrites it).
pub fn providers_markdown() -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Providers");
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "<!-- GENERATED from src/config/providers.rs by `UPDATE_DOCS=1 cargo test --test config_providers_doc`. Do not edit by hand. -->"
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Every agent resolves to one provider profile from its `backend.type` and `backend.base_url`. \
`chatcompletion` agents are matched by the host of `base_url` (a host matches a pattern when it equals it \
or ends with `.pattern`), then local hosts (`localhost`, `127.0.0.1`, `0.0.0.0`, `[::1]`) by port; an unknown \
host is the generic OpenAI-compatible profile; no `base_url` means OpenAI. An explicit `backend.api_key` always \
wins over the environment. Keys are read from the process environment overlaid by `.env` in the working directory."
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "## Summary");
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "| id | name | backend types | base-URL hosts / local port | default base URL | API key variables | key | default model | wire API |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    for p in PROVIDERS {
        let types: Vec<&str> = p.backend_types.iter().map(|t| t.as_str()).collect();
        let hosts = match p.local_port {
            Some(port) => format!("local :{port}"),
            None if p.id == "local" => "local, other ports".to_string(),
            None => list_or_dash(p.host_patterns, true),
        };
        let key = match p.key_policy {
            KeyPolicy::Required => "required",
            KeyPolicy::Optional => "optional",
            KeyPolicy::None => "none",
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.id,
            p.display_name,
            list_or_dash(&types, true),
            hosts,
            p.default_base_url
                .map_or("–".to_string(), |u| format!("`{u}`")),
            list_or_dash(p.api_key_env, true),
            key,
            p.default_model
                .map_or("–".to_string(), |m| format!("`{m}`")),
            if p.is_supported() {
                p.api.as_str()
            } else {
                "refused"
            },
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "## Chat Completions dialects");
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "| id | assistant content with tool calls | `tool_choice: required` | named `tool_choice` | `parallel_tool_calls` | stream usage | `strict` | max tool name | non-streaming tool turns | schema needs `properties` |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
    for p in PROVIDERS.iter().filter(|p| p.is_supported()) {
        let c = &p.caps;
        let content = match c.assistant_content_with_tool_calls {
            AssistantContent::EmptyString => "`\"\"`",
            AssistantContent::Null => "`null`",
            AssistantContent::Omit => "omitted",
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.id,
            content,
            yes_no(c.tool_choice_required),
            yes_no(c.tool_choice_named),
            yes_no(c.parallel_tool_calls_param),
            yes_no(c.stream_usage),
            yes_no(c.strict_schemas),
            c.max_tool_name_len,
            yes_no(c.streamed_tool_calls_unreliable),
            yes_no(c.schema_needs_properties),
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "## Details");
    for p in PROVIDERS {
        let _ = writeln!(s);
        let _ = writeln!(s, "### {} (`{}`)", p.display_name, p.id);
        let _ = writeln!(s);
        if !p.other_env.is_empty() {
            let _ = writeln!(s, "- Other variables: {}", list_or_dash(p.other_env, true));
        }
        if p.is_supported() {
            let _ = writeln!(
                s,
                "- Parameters dropped from requests: {}",
                list_or_dash(p.caps.rejected_params, true)
            );
            let _ = writeln!(
                s,
                "- Schema keywords stripped from tool schemas: {}",
                list_or_dash(p.caps.schema_unsupported_keywords, true)
            );
        }
        let _ = writeln!(s, "- Notes: {}", p.quirks);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resolved_id_exists() {
        for id in [
            "openai",
            "anthropic",
            "gemini",
            "xai",
            "zai",
            "lmstudio",
            "claude-code",
            "azure-openai",
            "openai-chat",
            "openai-compatible",
            "local",
        ] {
            assert!(by_id(id).is_some(), "{id}");
        }
    }

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<_> = PROVIDERS.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), PROVIDERS.len());
    }

    #[test]
    fn host_parsing() {
        assert_eq!(
            url_host_port("https://API.x.ai:443/v1"),
            Some(("api.x.ai".into(), Some(443)))
        );
        assert_eq!(
            url_host_port("http://[::1]:1234/v1"),
            Some(("::1".into(), Some(1234)))
        );
        assert_eq!(url_host_port("http:///v1"), None);
    }

    #[test]
    fn resolution_by_host_both_spellings() {
        let cc = BackendType::ChatCompletion;
        for (url, id) in [
            ("https://api.cerebras.ai/v1", "cerebras"),
            ("https://api.together.xyz/v1", "together"),
            ("https://api.together.ai/v1", "together"),
            ("https://api.fireworks.ai/inference/v1", "fireworks"),
            ("https://api.studio.nebius.ai/v1", "nebius"),
            ("https://api.studio.nebius.com/v1", "nebius"),
            ("https://api.z.ai/api/paas/v4/", "zai"),
            ("https://open.bigmodel.cn/api/paas/v4", "zai"),
            ("https://api.moonshot.cn/v1", "moonshot"),
            ("https://api.mistral.ai/v1", "mistral"),
            ("https://api.deepseek.com", "deepseek"),
            ("http://localhost:1234/v1", "lmstudio"),
            ("http://127.0.0.1:11434/v1", "ollama"),
            ("http://0.0.0.0:8000/v1", "vllm"),
            ("http://[::1]:30000/v1", "sglang"),
            ("http://localhost:8080/v1", "llamacpp"),
            ("http://localhost:9999/v1", "local"),
            ("https://llm.example.com/v1", "openai-compatible"),
            ("https://notz.ai.example.com/v1", "openai-compatible"),
        ] {
            assert_eq!(resolve(cc, Some(url)).id, id, "{url}");
        }
        assert_eq!(resolve(cc, None).id, "openai-chat");
    }

    #[test]
    fn model_inference() {
        assert_eq!(infer_backend_type("GPT-5-nano"), Some(BackendType::OpenAi));
        assert_eq!(infer_backend_type("glm-4.5-air"), Some(BackendType::Zai));
        assert_eq!(infer_backend_type("llama3"), None);
    }
}
