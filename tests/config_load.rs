//! Config loading behaviour a user relies on: each error class names the file, key path and a
//! fix; unknown keys are warned; both MCP shapes; `.env`; key resolution; secrets redaction.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use massgen_tui::config::{
    self, ApiKey, BackendType, ConfigErrorKind, ConfigFormat, DisplayType, Env, KeySource,
    McpTransport, QuickSetup, RunPlan,
};

fn yaml(text: &str) -> Result<RunPlan, config::ConfigError> {
    config::load_str(text, ConfigFormat::Yaml, "test.yaml")
}

fn err(text: &str) -> config::ConfigError {
    yaml(text).expect_err("should be refused")
}

fn warnings(plan: &RunPlan) -> Vec<String> {
    plan.warnings.iter().map(|w| w.to_string()).collect()
}

const LOCAL: &str = "type: chatcompletion, model: m, base_url: \"http://localhost:1234/v1\"";

#[test]
fn agent_wins_over_agents_and_ids_default_to_position() {
    let plan = yaml(&format!(
        "agent: {{backend: {{{LOCAL}}}}}\nagents:\n  - id: x\n    backend: {{{LOCAL}}}\n"
    ))
    .unwrap();
    assert_eq!(plan.agents.len(), 1);
    assert_eq!(plan.agents[0].id, "agent1");
    assert_eq!(plan.agents[0].config_path, "agent");
    assert!(warnings(&plan).iter().any(|w| w.starts_with("agents:")));

    let plan = yaml(&format!(
        "agents:\n  - backend: {{{LOCAL}}}\n  - id: named\n    backend: {{{LOCAL}}}\n  - backend: {{{LOCAL}}}\n"
    ))
    .unwrap();
    let ids: Vec<_> = plan.agents.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["agent1", "named", "agent3"]);
    assert_eq!(plan.agents[2].index, 2);
}

#[test]
fn type_is_case_insensitive_and_inferred_from_model() {
    let plan = yaml("agents:\n  - backend: {type: OpenAI, model: gpt-5}\n  - backend: {model: claude-sonnet-4-20250514}\n  - backend: {model: GLM-4.5}\n").unwrap();
    let types: Vec<_> = plan.agents.iter().map(|a| a.backend_type).collect();
    assert_eq!(
        types,
        [BackendType::OpenAi, BackendType::Claude, BackendType::Zai]
    );
    assert_eq!(
        plan.agents[2].base_url.as_deref(),
        Some("https://api.z.ai/api/paas/v4/")
    );
}

#[test]
fn unknown_model_without_type_is_refused_at_the_type_path() {
    let e = err("agents:\n  - backend: {model: llama3}\n");
    assert_eq!(e.kind, ConfigErrorKind::UnsupportedBackend);
    assert_eq!(e.path, "agents[0].backend.type");
    assert!(e.reason.contains("llama3"));
    assert!(e.fix.contains("chatcompletion"));
    let e = err("agents:\n  - id: a\n    backend: {}\n");
    assert!(e.reason.contains("specified or inferrable"));
}

#[test]
fn unsupported_and_refused_backend_types() {
    let e = err("agents:\n  - backend: {type: mistral, model: m}\n");
    assert_eq!(e.path, "agents[0].backend.type");
    assert!(e.reason.contains("Unsupported backend type: mistral"));
    let e = err(
        "agents:\n  - backend: {type: lmstudio, model: m}\n  - backend: {type: claude_code, cwd: w}\n",
    );
    assert_eq!(e.path, "agents[1].backend.type");
    assert!(e.fix.contains("type: claude"));
}

#[test]
fn cwd_on_backends_without_filesystem_support_is_massgens_error() {
    let e = err("agents:\n  - backend: {type: claude, model: claude-sonnet-4-20250514, cwd: ws}\n");
    assert_eq!(e.path, "agents[0].backend.cwd");
    assert!(
        e.reason
            .contains("does not support filesystem operations. Remove 'cwd'")
    );
    let e = err("agent:\n  backend: {type: azure_openai, model: dep, cwd: ws}\n");
    assert_eq!(e.path, "agent.backend.cwd");
}

#[test]
fn structural_errors() {
    let e = err("ui: {display_type: simple}\n");
    assert_eq!(e.kind, ConfigErrorKind::NoAgents);
    let e = err("agents: []\n");
    assert_eq!(e.kind, ConfigErrorKind::NoAgents);
    let e = err("");
    assert_eq!(e.kind, ConfigErrorKind::NoAgents);
    let e = err("agents:\n  a: {backend: {type: openai}}\n");
    assert_eq!(e.path, "agents");
    assert!(e.reason.contains("must be a list"));
    let e = err("- just\n- a list\n");
    assert!(e.reason.contains("map of sections"));
    let e = err(&format!(
        "agents:\n  - id: a\n    backend: {{{LOCAL}}}\n  - id: a\n    backend: {{{LOCAL}}}\n"
    ));
    assert_eq!(e.kind, ConfigErrorKind::DuplicateAgentId);
    assert_eq!(e.path, "agents[1].id");
    // A default id can collide with an explicit one.
    let e = err(&format!(
        "agents:\n  - id: agent2\n    backend: {{{LOCAL}}}\n  - backend: {{{LOCAL}}}\n"
    ));
    assert_eq!(e.kind, ConfigErrorKind::DuplicateAgentId);
    let e = err(&format!(
        "agents:\n  - id: ../etc\n    backend: {{{LOCAL}}}\n"
    ));
    assert_eq!(e.path, "agents[0].id");
}

#[test]
fn wrong_types_name_the_key_path() {
    for (text, path) in [
        (
            "agents:\n  - backend: {type: openai, model: gpt-5, temperature: hot}\n",
            "agents[0].backend.temperature",
        ),
        (
            "agents:\n  - backend: {type: openai, model: [gpt-5]}\n",
            "agents[0].backend.model",
        ),
        (
            "agents:\n  - backend: {type: openai, model: gpt-5, max_tokens: 0}\n",
            "agents[0].backend.max_tokens",
        ),
        (
            "agents:\n  - backend: {type: openai, model: gpt-5, enable_web_search: yes please}\n",
            "agents[0].backend.enable_web_search",
        ),
        (
            "agents:\n  - backend: {type: openai, model: gpt-5, allowed_tools: [a, 3]}\n",
            "agents[0].backend.allowed_tools[1]",
        ),
        (
            "agents:\n  - backend: {type: openai, model: gpt-5}\n    system_message: [a]\n",
            "agents[0].system_message",
        ),
        (
            "agents:\n  - backend: {type: openai, model: gpt-5}\nui: {display_type: fancy}\n",
            "ui.display_type",
        ),
        (
            "agents:\n  - backend: {type: openai, model: gpt-5}\nui: {logging_enabled: maybe}\n",
            "ui.logging_enabled",
        ),
        (
            "agents:\n  - backend: {type: openai, model: gpt-5}\ntimeout_settings: {orchestrator_timeout_seconds: -5}\n",
            "timeout_settings.orchestrator_timeout_seconds",
        ),
        (
            "agents:\n  - backend: {type: openai, model: gpt-5}\ntimeout_settings: {agent_timeout_seconds: 5}\n",
            "timeout_settings.agent_timeout_seconds",
        ),
        (
            "agents:\n  - backend: {type: chatcompletion, model: m, base_url: localhost:1234}\n",
            "agents[0].backend.base_url",
        ),
        (
            "agents:\n  - backend: {type: openai, model: gpt-5}\n    massgen_tui: {max_answers: 0}\n",
            "agents[0].massgen_tui.max_answers",
        ),
        (
            "agents:\n  - backend: {type: openai, model: gpt-5}\nmassgen_tui: {final_presentation: 1}\n",
            "massgen_tui.final_presentation",
        ),
    ] {
        let e = err(text);
        assert_eq!(e.path, path, "{text}: {e}");
        assert!(!e.fix.is_empty(), "{e}");
        assert!(e.to_string().starts_with("test.yaml: "), "{e}");
    }
}

#[test]
fn syntax_errors_carry_line_and_column() {
    let e = err("agents:\n  - id: a\n    backend:\n      type: \"openai\n");
    assert_eq!(e.kind, ConfigErrorKind::Syntax);
    assert!(e.location.is_some(), "{e}");
    let e = config::load_str("{\"agents\": [1,]}", ConfigFormat::Json, "x.json").unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::Syntax);
    assert_eq!(e.location, Some((1, 15)));
    assert!(
        !e.reason.contains(" at line "),
        "location is not repeated: {e}"
    );
    let e = err("agents:\n  - id: a\n    id: b\n    backend: {type: openai}\n");
    assert!(e.reason.contains("duplicate key `id`"), "{e}");
}

#[test]
fn file_level_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = config::load(&dir.path().join("missing.yaml")).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::NotFound);
    let toml = dir.path().join("c.toml");
    std::fs::write(&toml, "x").unwrap();
    assert_eq!(
        config::load(&toml).unwrap_err().kind,
        ConfigErrorKind::UnsupportedFormat
    );
    let bin = dir.path().join("b.yaml");
    std::fs::write(&bin, [0xff, 0xfe, 0x00]).unwrap();
    assert_eq!(
        config::load(&bin).unwrap_err().kind,
        ConfigErrorKind::Unreadable
    );
    assert_eq!(
        config::load(dir.path()).unwrap_err().kind,
        ConfigErrorKind::Unreadable
    );
    let e = config::find_config(&dir.path().join("nope.yaml")).unwrap_err();
    assert!(e.reason.contains("Configuration file not found"));
    // MassGen's fallback: a missing path is looked up by name in our configs/ directory.
    let found = config::find_config(Path::new("/nonexistent/single_agent_local.yaml")).unwrap();
    assert!(found.ends_with("configs/single_agent_local.yaml"));
}

#[test]
fn json_configs_load_like_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.json");
    std::fs::write(
        &p,
        r#"{"agents": [{"id": "j", "backend": {"type": "chatcompletion", "model": "m", "base_url": "http://127.0.0.1:11434/v1", "temperature": 0.2}}]}"#,
    )
    .unwrap();
    let plan = config::load(&p).unwrap();
    assert_eq!(plan.agents[0].provider.id, "ollama");
    assert_eq!(plan.source, config::ConfigSource::File(p));
}

#[test]
fn unknown_keys_are_warned_with_their_path_never_dropped_silently() {
    let plan = yaml(
        "agents:\n  - id: a\n    backend: {type: openai, model: gpt-5, temprature: 0.3, reasoning: {effort: low}}\n    role: x\nui: {display_type: simple, colour: red}\norchestrator: {context_paths: [a]}\nsomething: 1\ndisplay: {type: rich_terminal}\n",
    )
    .unwrap();
    let w = warnings(&plan);
    for path in [
        "agents[0].backend.temprature",
        "agents[0].role",
        "ui.colour",
        "orchestrator.context_paths",
        "something",
        "display",
    ] {
        assert!(
            w.iter().any(|x| x.starts_with(&format!("{path}:"))),
            "{path} not in {w:#?}"
        );
    }
    assert!(
        w.iter().any(|x| x.contains("did you mean `temperature`")),
        "{w:#?}"
    );
    // Unknown backend keys are forwarded like MassGen does, framework keys never are.
    let a = &plan.agents[0];
    assert_eq!(
        a.params.keys().collect::<Vec<_>>(),
        ["temprature", "reasoning"]
    );
}

#[test]
fn params_keep_file_order_and_drop_framework_keys() {
    let plan = yaml("agents:\n  - backend:\n      type: grok\n      model: grok-3-mini\n      top_p: 0.9\n      enable_web_search: true\n      temperature: 0.1\n      cwd: ws\n      max_tokens: 100\n      provider_name: MyGrok\n      extra_body: {search_parameters: {mode: auto}}\n").unwrap();
    let a = &plan.agents[0];
    assert_eq!(
        a.params.keys().collect::<Vec<_>>(),
        ["top_p", "temperature", "max_tokens", "extra_body"]
    );
    assert!(a.builtin_tools.web_search);
    assert_eq!(a.cwd.as_deref(), Some(Path::new("ws")));
    assert_eq!(a.provider_display_name(), "MyGrok");
}

#[test]
fn mcp_servers_list_and_map_shapes_normalise_to_the_same_plan() {
    let list = yaml("agents:\n  - backend:\n      type: openai\n      model: gpt-5\n      mcp_servers:\n        - name: weather\n          type: stdio\n          command: \"npx -y @x/weather\"\n          args: [--port, 8000]\n").unwrap();
    let map = yaml("agents:\n  - backend:\n      type: openai\n      model: gpt-5\n      mcp_servers:\n        weather:\n          type: stdio\n          command: [npx, -y, \"@x/weather\"]\n          args: [\"--port\", \"8000\"]\n").unwrap();
    let (a, b) = (
        &list.agents[0].mcp_servers[0],
        &map.agents[0].mcp_servers[0],
    );
    assert_eq!(a.name, b.name);
    assert_eq!(a.transport, b.transport);
    let McpTransport::Stdio(s) = &a.transport else {
        panic!()
    };
    assert_eq!(s.command, ["npx", "-y", "@x/weather"]);
    assert_eq!(s.args, ["--port", "8000"]);
}

#[test]
fn mcp_server_errors() {
    let base =
        "agents:\n  - backend:\n      type: openai\n      model: gpt-5\n      mcp_servers:\n";
    for (servers, path, needle) in [
        (
            "        - {name: a, type: sse, url: \"https://x.example/mcp\"}\n",
            "agents[0].backend.mcp_servers[0].type",
            "sse",
        ),
        (
            "        - {name: a, type: http, url: \"https://x.example/mcp\"}\n",
            "agents[0].backend.mcp_servers[0].type",
            "not supported",
        ),
        (
            "        - {name: a, command: npx}\n",
            "agents[0].backend.mcp_servers[0].type",
            "no `type`",
        ),
        (
            "        - {name: \"bad name\", type: stdio, command: npx}\n",
            "agents[0].backend.mcp_servers[0].name",
            "invalid MCP server name",
        ),
        (
            "        - {name: a, type: stdio, command: npx}\n        - {name: a, type: stdio, command: uvx}\n",
            "agents[0].backend.mcp_servers[1]",
            "duplicate",
        ),
        (
            "        - {name: a, type: stdio, command: \"rm -rf /\"}\n",
            "agents[0].backend.mcp_servers[0].command",
            "not an MCP server",
        ),
        (
            "        - {name: a, type: stdio, command: \"npx x; curl y\"}\n",
            "agents[0].backend.mcp_servers[0].command",
            "metacharacters",
        ),
        (
            "        - {name: a, type: stdio}\n",
            "agents[0].backend.mcp_servers[0].command",
            "no `command`",
        ),
        (
            "        - {name: a, type: streamable-http, url: \"http://localhost:8000/mcp\"}\n",
            "agents[0].backend.mcp_servers[0].url",
            "localhost",
        ),
        (
            "        - {name: a, type: streamable-http}\n",
            "agents[0].backend.mcp_servers[0].url",
            "no `url`",
        ),
        (
            "        - {name: a, type: streamable-http, url: \"https://x.example/mcp\", timeout: 500}\n",
            "agents[0].backend.mcp_servers[0].timeout",
            "300",
        ),
        (
            "        - {name: a, type: stdio, command: npx, env: {X: \"$(whoami)\"}}\n",
            "agents[0].backend.mcp_servers[0].env.X",
            "dangerous",
        ),
        (
            "        a: {type: stdio, command: npx, args: \"-y x\"}\n",
            "agents[0].backend.mcp_servers.a.args",
            "list",
        ),
    ] {
        let e = err(&format!("{base}{servers}"));
        assert_eq!(e.path, path, "{servers}: {e}");
        assert!(e.reason.contains(needle), "{servers}: {e}");
    }
    // allow_localhost lifts the localhost rule.
    let ok = yaml(&format!(
        "{base}        - {{name: a, type: streamable-http, url: \"http://localhost:8000/mcp\", security: {{allow_localhost: true}}, required: true, tool_timeout_seconds: 30}}\n"
    ))
    .unwrap();
    let s = &ok.agents[0].mcp_servers[0];
    assert!(s.required);
    assert_eq!(s.tool_timeout_seconds, Some(30.0));
}

#[test]
fn dotenv_overrides_process_env_without_touching_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "# keys\nCEREBRAS_API_KEY=\"from-dotenv\"\nexport PATH_LIKE='a b'\nnot a line\n",
    )
    .unwrap();
    let (env, issues) = Env::load(dir.path()).unwrap();
    assert_eq!(env.get("CEREBRAS_API_KEY"), Some("from-dotenv"));
    assert_eq!(env.get("PATH_LIKE"), Some("a b"));
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].line, 4);
    assert!(std::env::var("CEREBRAS_API_KEY").map_or(true, |v| v != "from-dotenv"));
    // .env wins over the process environment.
    let mut env = Env::from_pairs([("K", "process")]);
    env.overlay_dotenv("K=dotenv\n");
    assert_eq!(env.get("K"), Some("dotenv"));
    // Debug never prints values.
    assert!(!format!("{env:?}").contains("dotenv\""));
}

#[test]
fn key_resolution() {
    let plan = yaml(
        "agents:\n  - id: g\n    backend: {type: gemini, model: gemini-2.5-flash}\n  - id: k\n    backend: {type: chatcompletion, model: kimi-k2, base_url: \"https://api.moonshot.ai/v1\"}\n  - id: l\n    backend: {type: chatcompletion, model: m, base_url: \"http://localhost:8080/v1\"}\n  - id: x\n    backend: {type: chatcompletion, model: m, base_url: \"https://llm.example.com/v1\", api_key: sk-explicit}\n  - id: u\n    backend: {type: chatcompletion, model: m, base_url: \"https://llm.example.com/v1\"}\n",
    )
    .unwrap();
    let env = Env::from_pairs([("GEMINI_API_KEY", "g-key"), ("KIMI_API_KEY", "k-key")]);
    let keys = plan.resolve_keys(&env).unwrap();
    assert_eq!(
        keys.get("g").unwrap().source,
        KeySource::EnvVar("GEMINI_API_KEY")
    );
    assert_eq!(
        keys.get("k").unwrap().source,
        KeySource::EnvVar("KIMI_API_KEY")
    );
    assert_eq!(keys.get("l").unwrap().api_key, None);
    assert_eq!(
        keys.get("x").unwrap().api_key.as_ref().unwrap().expose(),
        "sk-explicit"
    );
    assert_eq!(keys.get("x").unwrap().source, KeySource::Config);
    assert_eq!(keys.get("u").unwrap().api_key, None);
    // GOOGLE_API_KEY is looked up first, as in MassGen.
    let env = Env::from_pairs([
        ("GEMINI_API_KEY", "g"),
        ("GOOGLE_API_KEY", "google"),
        ("MOONSHOT_API_KEY", "m"),
    ]);
    assert_eq!(
        plan.resolve_keys(&env).unwrap().get("g").unwrap().source,
        KeySource::EnvVar("GOOGLE_API_KEY")
    );
    // Missing: one error naming agent and variables; blank values count as missing.
    let e = plan
        .resolve_keys(&Env::from_pairs([("GOOGLE_API_KEY", " ")]))
        .unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::MissingApiKey);
    assert!(
        e.reason.contains("agent `g`") && e.reason.contains("GOOGLE_API_KEY or GEMINI_API_KEY"),
        "{e}"
    );
    assert!(
        e.reason.contains("agent `k`") && e.reason.contains("MOONSHOT_API_KEY or KIMI_API_KEY"),
        "{e}"
    );
    assert!(!e.reason.contains("agent `l`"));
}

#[test]
fn azure_needs_key_and_endpoint() {
    let plan = yaml("agent:\n  backend: {type: azure_openai, model: my-deployment}\n").unwrap();
    let e = plan
        .resolve_keys(&Env::from_pairs([("AZURE_OPENAI_API_KEY", "a")]))
        .unwrap_err();
    assert!(e.reason.contains("AZURE_OPENAI_ENDPOINT"), "{e}");
    let keys = plan
        .resolve_keys(&Env::from_pairs([
            ("AZURE_OPENAI_API_KEY", "a"),
            ("AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com"),
        ]))
        .unwrap();
    let k = keys.get("agent1").unwrap();
    assert_eq!(k.base_url.as_deref(), Some("https://r.openai.azure.com"));
    assert_eq!(
        k.api_version.as_deref(),
        Some(config::DEFAULT_AZURE_API_VERSION)
    );
    let e = err("agent:\n  backend: {type: azure_openai}\n");
    assert!(e.fix.contains("deployment"), "{e}");
}

#[test]
fn api_key_in_yaml_works_and_never_leaks() {
    let plan = yaml(
        "agents:\n  - backend:\n      type: openai\n      model: gpt-5\n      api_key: sk-very-secret\n      max_tokens: 5\n      extra_body: {access_token: tok-in-params}\n      mcp_servers:\n        - name: s\n          type: stdio\n          command: npx\n          env: {TOKEN: literal-secret, REF: \"${MY_TOKEN}\"}\n        - name: h\n          type: streamable-http\n          url: \"https://mcp.example.com/mcp\"\n          headers: {Authorization: Bearer abc123}\n",
    )
    .unwrap();
    assert!(matches!(plan.agents[0].api_key, ApiKey::Explicit(_)));
    let debug = format!("{plan:?}");
    let json = plan.redacted_json().to_string();
    let yaml_out = plan.redacted_yaml();
    for secret in [
        "sk-very-secret",
        "literal-secret",
        "abc123",
        "tok-in-params",
    ] {
        assert!(!debug.contains(secret), "Debug leaks {secret}");
        assert!(!json.contains(secret), "redacted JSON leaks {secret}");
        assert!(!yaml_out.contains(secret), "redacted YAML leaks {secret}");
    }
    // References and ordinary numbers stay readable.
    assert!(json.contains("${MY_TOKEN}"));
    assert!(json.contains("\"max_tokens\":5"), "{json}");
    let keys = plan.resolve_keys(&Env::default()).unwrap();
    assert!(!format!("{keys:?}").contains("sk-very-secret"));
}

#[test]
fn quick_setup_is_massgens_synthesised_config() {
    let plan = config::quick_setup(&QuickSetup::default()).unwrap();
    let a = &plan.agents[0];
    assert_eq!(
        (a.id.as_str(), a.model.as_str(), a.backend_type),
        ("agent1", "gpt-4o-mini", BackendType::OpenAi)
    );
    assert_eq!(
        a.system_message.as_deref(),
        Some("You are a helpful AI assistant.")
    );
    assert_eq!(plan.ui.display_type, DisplayType::RichTerminal);
    let plan = config::quick_setup(&QuickSetup {
        backend: Some("chatcompletion".into()),
        model: Some("qwen3:8b".into()),
        base_url: Some("http://localhost:11434/v1".into()),
        system_message: None,
    })
    .unwrap();
    assert_eq!(plan.agents[0].provider.id, "ollama");
    assert_eq!(plan.source, config::ConfigSource::CommandLine);
    let e = config::quick_setup(&QuickSetup {
        model: Some("llama3".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(e.path, "--backend");
    assert_eq!(e.file, "<command line>");
}

#[test]
fn extension_settings() {
    let plan = yaml(
        "agents:\n  - backend: {type: openai, model: gpt-5}\n    massgen_tui: {max_answers: 2, timeout_seconds: 60}\nmassgen_tui:\n  run_dir: runs\n  final_presentation: false\n  max_agent_failures: 1\n  max_answers_per_agent: 4\n  agent_timeout_seconds: 300\n  mcp_max_tool_iterations: 5\n  mcp_result_max_chars: 1000\nui: {use_orchestrator_for_single_agent: false}\n",
    )
    .unwrap();
    let r = &plan.run;
    assert_eq!(r.run_dir.as_deref(), Some(Path::new("runs")));
    assert!(!r.final_presentation);
    assert_eq!(
        (
            r.max_agent_failures,
            r.max_answers_per_agent,
            r.agent_timeout_seconds
        ),
        (1, Some(4), Some(300))
    );
    assert_eq!(
        (r.mcp_max_tool_iterations, r.mcp_result_max_chars),
        (5, 1000)
    );
    assert_eq!(plan.agents[0].limits.max_answers, Some(2));
    assert_eq!(plan.agents[0].limits.timeout_seconds, Some(60));
    assert!(!plan.ui.use_orchestrator_for_single_agent);
    let d = yaml("agents:\n  - backend: {type: openai, model: gpt-5}\n")
        .unwrap()
        .run;
    assert_eq!(d, config::RunSettings::default());
    assert!(d.final_presentation);
    assert_eq!(d.max_agent_failures, 3);
}
