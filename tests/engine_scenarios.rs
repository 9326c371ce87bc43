//! Coordination scenarios against the scripted provider server: each test scripts real HTTP
//! replies per agent (routed by model name), runs the engine through the public API, and
//! asserts on the events and on the requests the agents sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use massgen_tui::backend::chat_completions::{
    ChatCompletionsBackend, ChatCompletionsConfig, HttpOptions, RetryPolicy, WireOptions,
};
use massgen_tui::orchestrator::{self, AgentRuntime, EventBus, LadderCaps, RunInput, RunSettings};
use massgen_tui::protocol::{
    AgentId, AgentInfo, EscalationStep, Event, EventMsg, RunId, RunOutcome, TieBreak,
};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use support::{Chunk, RecordedRequest, Reply, ScriptedProvider};
use tokio_util::sync::CancellationToken;

fn agent(server: &ScriptedProvider, id: &str, model: &str) -> Arc<AgentRuntime> {
    let http = HttpOptions {
        connect_timeout: Duration::from_secs(5),
        idle_read_timeout: Duration::from_secs(20),
        non_streaming_timeout: Duration::from_secs(20),
        retry: RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(10),
            max_total: Duration::from_secs(2),
        },
    };
    let cfg = ChatCompletionsConfig::new("Scripted", server.base_url(), model)
        .with_wire(WireOptions::OPENAI)
        .with_http(http);
    Arc::new(AgentRuntime {
        info: AgentInfo {
            id: AgentId::new(id),
            provider: "Scripted".into(),
            model: model.into(),
            mcp_servers: vec![],
        },
        backend: Arc::new(ChatCompletionsBackend::new(cfg).unwrap()),
        caps: LadderCaps {
            tool_choice_required: true,
            tool_choice_named: true,
        },
        system_message: None,
        tools: None,
        max_answers: None,
        timeout: None,
    })
}

fn settings() -> RunSettings {
    RunSettings {
        orchestrator_timeout: Duration::from_secs(30),
        deadline_warning: Duration::from_secs(1),
        final_presentation: true,
        max_agent_failures: 3,
        retry_base_delay: Duration::from_millis(10),
        max_tool_iterations: 5,
        direct_single_agent: false,
    }
}

async fn run(
    agents: Vec<Arc<AgentRuntime>>,
    settings: RunSettings,
    question: &str,
    history: Vec<(String, String)>,
) -> (orchestrator::RunReport, Vec<Event>) {
    let bus = Arc::new(EventBus::new(RunId::new("test-run")));
    let mut rx = bus.subscribe();
    let input = RunInput {
        question: question.into(),
        history,
        config_path: None,
        warnings: Vec::new(),
    };
    let report = tokio::time::timeout(
        Duration::from_secs(60),
        orchestrator::run(agents, settings, input, bus, CancellationToken::new(), None),
    )
    .await
    .expect("run did not finish within 60s");
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    (report, events)
}

fn answer(text: &str) -> Reply {
    Reply::stream([Chunk::tool_call(
        0,
        "new_answer",
        &json!({ "content": text }).to_string(),
    )])
    .finish("tool_calls")
}

fn vote(label: &str, reason: &str) -> Reply {
    Reply::stream([Chunk::tool_call(
        0,
        "vote",
        &json!({ "agent_id": label, "reason": reason }).to_string(),
    )])
    .finish("tool_calls")
}

fn no_tools(model: &'static str) -> impl Fn(&RecordedRequest) -> bool + Send + Sync + 'static {
    move |r: &RecordedRequest| r.model() == Some(model) && r.tools().is_empty()
}

fn count(events: &[Event], pred: impl Fn(&EventMsg) -> bool) -> usize {
    events.iter().filter(|e| pred(&e.msg)).count()
}

fn assert_seq_contiguous(events: &[Event]) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1, "event sequence has a gap at {i}");
    }
    assert!(matches!(
        events.first().map(|e| &e.msg),
        Some(EventMsg::RunStarted { .. })
    ));
    assert!(matches!(
        events.last().map(|e| &e.msg),
        Some(EventMsg::RunFinished { .. })
    ));
}

#[tokio::test]
async fn three_agents_converge_and_the_winner_presents() {
    let server = ScriptedProvider::start().await;
    server.push_matching(
        no_tools("ma"),
        Reply::text("Final: Paris is the capital of France."),
    );
    server.push_for_model("ma", answer("Paris."));
    server.push_for_model(
        "mb",
        answer("Paris, France.").initial_delay(Duration::from_millis(80)),
    );
    server.push_for_model(
        "mc",
        answer("It is Paris.").initial_delay(Duration::from_millis(160)),
    );
    for m in ["ma", "mb", "mc"] {
        server.always_for_model(m, vote("agent1", "complete and correct"));
    }
    let agents = vec![
        agent(&server, "a", "ma"),
        agent(&server, "b", "mb"),
        agent(&server, "c", "mc"),
    ];
    let (report, events) = run(agents, settings(), "What is the capital of France?", vec![]).await;

    assert_eq!(report.outcome, RunOutcome::Completed);
    assert_eq!(report.winner, Some(AgentId::new("a")));
    assert_eq!(
        report.final_answer.as_deref(),
        Some("Final: Paris is the capital of France.")
    );
    assert_seq_contiguous(&events);
    assert_eq!(
        count(&events, |m| matches!(m, EventMsg::AnswerSubmitted { .. })),
        3
    );
    // A tool call keeps one id from its first streamed fragment to its end.
    for started in events
        .iter()
        .filter(|e| matches!(e.msg, EventMsg::ToolCallStarted { .. }))
    {
        let id = started.call_id.clone().unwrap();
        assert!(
            events.iter().any(|e| e.call_id.as_ref() == Some(&id)
                && matches!(e.msg, EventMsg::ToolCallEnd { .. })),
            "no end event for streamed call {id}"
        );
    }
    let winner = events
        .iter()
        .find_map(|e| match &e.msg {
            EventMsg::WinnerSelected {
                tally, tie_break, ..
            } => Some((tally.clone(), *tie_break)),
            _ => None,
        })
        .unwrap();
    assert_eq!(winner.0[0], (AgentId::new("a"), 3));
    assert_eq!(winner.1, TieBreak::None);

    // What the agents were sent: the first launch offers only new_answer (nothing to vote
    // for yet), in MassGen's message layout.
    let reqs = server.chat_requests();
    let first_a = reqs.iter().find(|r| r.model() == Some("ma")).unwrap();
    assert_eq!(first_a.tool_names(), vec!["new_answer"]);
    let user = first_a.last_content("user").unwrap();
    assert!(user.starts_with(
        "<ORIGINAL MESSAGE> What is the capital of France? <END OF ORIGINAL MESSAGE>"
    ));
    assert!(user.contains("(no answers available yet)"));
    let sys = first_a.messages()[0]["content"].as_str().unwrap();
    assert!(sys.starts_with("You are evaluating answers from multiple agents"));
    // A later launch sees all three answers, anonymised and in label order, and may vote.
    let last_b = reqs
        .iter()
        .rfind(|r| r.model() == Some("mb") && !r.tools().is_empty())
        .unwrap();
    let user = last_b.last_content("user").unwrap();
    assert!(user.contains("<agent1> Paris. <end of agent1>\n<agent2> Paris, France. <end of agent2>\n<agent3> It is Paris. <end of agent3>"));
    assert_eq!(
        last_b.pointer("/tools/1/function/parameters/properties/agent_id/enum"),
        Some(&json!(["agent1", "agent2", "agent3"]))
    );
    // The presentation: no tools, MassGen's presentation prompt with all answers.
    let pres = reqs.iter().find(|r| r.tools().is_empty()).unwrap();
    assert_eq!(pres.model(), Some("ma"));
    assert!(
        pres.messages()[0]["content"]
            .as_str()
            .unwrap()
            .contains("winning presenter")
    );
    let pu = pres.last_content("user").unwrap();
    assert!(pu.contains("You received 3 vote(s) with feedback: complete and correct"));
    assert!(pu.contains("a (YOUR ANSWER): \"Paris.\""));
    assert!(pu.ends_with("Based on the coordination process above, present your final answer:"));
}

#[tokio::test]
async fn a_late_answer_restarts_everyone_and_votes_in_flight_are_ignored() {
    let server = ScriptedProvider::start().await;
    server.push_matching(no_tools("ma"), Reply::text("Final."));
    server.push_for_model("ma", answer("Answer A"));
    // a's first vote is slow; b's answer lands while it is in flight.
    server.push_for_model(
        "ma",
        vote("agent1", "slow vote").initial_delay(Duration::from_millis(900)),
    );
    server.push_for_model(
        "mb",
        answer("Answer B").initial_delay(Duration::from_millis(150)),
    );
    for m in ["ma", "mb"] {
        server.always_for_model(m, vote("agent2", "B is better"));
    }
    let agents = vec![agent(&server, "a", "ma"), agent(&server, "b", "mb")];
    let (report, events) = run(agents, settings(), "Q", vec![]).await;

    assert_eq!(report.outcome, RunOutcome::Completed);
    assert_eq!(report.winner, Some(AgentId::new("b")));
    let ignored: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.msg, EventMsg::VoteIgnored { .. }))
        .collect();
    assert_eq!(ignored.len(), 1, "the in-flight vote must be ignored");
    assert_eq!(ignored[0].agent, Some(AgentId::new("a")));
    assert!(count(&events, |m| matches!(m, EventMsg::AgentRestarted { .. })) >= 1);
    // The ignored vote was never counted.
    let tally = events
        .iter()
        .find_map(|e| match &e.msg {
            EventMsg::WinnerSelected { tally, .. } => Some(tally.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(tally, vec![(AgentId::new("a"), 0), (AgentId::new("b"), 2)]);
}

#[tokio::test]
async fn a_duplicate_answer_is_rejected() {
    let server = ScriptedProvider::start().await;
    server.push_matching(no_tools("ma"), Reply::text("Final."));
    server.push_for_model("ma", answer("The same answer."));
    // b's first launch saw no answers; its identical answer arrives after a's.
    server.push_for_model(
        "mb",
        answer("The same  answer.").initial_delay(Duration::from_millis(300)),
    );
    // Relaunched, b repeats itself: the tool error tells it to vote instead, and it does.
    server.push_for_model("mb", answer("The same answer."));
    server.push_for_model("mb", vote("agent1", "already answered"));
    server.always_for_model("ma", vote("agent1", "mine"));
    server.always_for_model("mb", vote("agent1", "agree"));
    let agents = vec![agent(&server, "a", "ma"), agent(&server, "b", "mb")];
    let (report, events) = run(agents, settings(), "Q", vec![]).await;

    assert_eq!(report.outcome, RunOutcome::Completed);
    assert_eq!(
        report.totals.answers, 1,
        "the duplicate must not be accepted"
    );
    assert_eq!(
        count(&events, |m| matches!(m, EventMsg::AnswerRejected { .. })),
        1
    );
    let b_reqs: Vec<RecordedRequest> = server
        .chat_requests()
        .into_iter()
        .filter(|r| r.model() == Some("mb"))
        .collect();
    let told = b_reqs.iter().any(|r| {
        r.messages().iter().any(|m| {
            m["role"] == "tool"
                && m["content"]
                    .as_str()
                    .is_some_and(|c| c.contains("Answer already provided by agent1"))
        })
    });
    assert!(told, "b must be told its answer duplicates agent1's");
}

#[tokio::test]
async fn an_agent_whose_provider_always_fails_is_marked_failed_and_the_others_finish() {
    let server = ScriptedProvider::start().await;
    server.push_matching(no_tools("ma"), Reply::text("Final."));
    server.push_for_model("ma", answer("A"));
    server.push_for_model("mb", answer("B").initial_delay(Duration::from_millis(50)));
    server.always_for_model("ma", vote("agent1", "ok"));
    server.always_for_model("mb", vote("agent1", "ok"));
    server.always_for_model("mc", Reply::error(500, "upstream exploded"));
    let agents = vec![
        agent(&server, "a", "ma"),
        agent(&server, "b", "mb"),
        agent(&server, "c", "mc"),
    ];
    let (report, events) = run(agents, settings(), "Q", vec![]).await;

    assert_eq!(report.outcome, RunOutcome::Completed);
    assert_eq!(report.winner, Some(AgentId::new("a")));
    let failed: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.msg, EventMsg::AgentFailed { .. }))
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].agent, Some(AgentId::new("c")));
    assert_eq!(
        count(&events, |m| matches!(m, EventMsg::AgentRetried { .. })),
        2,
        "two retries, then failed on the third failure"
    );
    assert!(count(&events, |m| matches!(m, EventMsg::BackendRetry { .. })) >= 3);
}

#[tokio::test]
async fn every_agent_failing_ends_the_run_with_a_clear_error() {
    let server = ScriptedProvider::start().await;
    server.always_for_model("ma", Reply::error(401, "invalid api key"));
    let agents = vec![agent(&server, "a", "ma")];
    let (report, _) = run(agents, settings(), "Q", vec![]).await;
    assert_eq!(report.outcome, RunOutcome::Failed);
    let err = report.error.unwrap();
    assert!(
        err.contains("every agent stopped before giving an answer"),
        "{err}"
    );
    // Auth errors are not retried by the backend: one request per launch.
    assert_eq!(server.chat_requests().len(), 3);
}

#[tokio::test]
async fn the_orchestrator_timeout_presents_the_available_answer() {
    let server = ScriptedProvider::start().await;
    server.push_for_model("ma", answer("Best effort answer."));
    server.always_for_model(
        "ma",
        Reply::text("still thinking").initial_delay(Duration::from_secs(10)),
    );
    server.always_for_model(
        "mb",
        Reply::text("slow").initial_delay(Duration::from_secs(10)),
    );
    let agents = vec![agent(&server, "a", "ma"), agent(&server, "b", "mb")];
    let mut s = settings();
    s.orchestrator_timeout = Duration::from_millis(800);
    s.deadline_warning = Duration::from_millis(300);
    let (report, events) = run(agents, s, "Q", vec![]).await;

    assert_eq!(report.outcome, RunOutcome::TimedOutWithAnswer);
    assert_eq!(report.final_answer.as_deref(), Some("Best effort answer."));
    assert_eq!(report.winner, Some(AgentId::new("a")));
    assert!(events.iter().any(|e| matches!(
        &e.msg,
        EventMsg::WinnerSelected {
            tie_break: TieBreak::NoVotesBestInformed,
            ..
        }
    )));
    assert!(events.iter().any(|e| matches!(
        &e.msg,
        EventMsg::FinalAnswer {
            presented: false,
            ..
        }
    )));
    // No presentation request was made after the deadline.
    assert!(server.chat_requests().iter().all(|r| !r.tools().is_empty()));
}

#[tokio::test]
async fn the_orchestrator_timeout_without_answers_is_reported() {
    let server = ScriptedProvider::start().await;
    server.always_for_model(
        "ma",
        Reply::text("slow").initial_delay(Duration::from_secs(10)),
    );
    let agents = vec![agent(&server, "a", "ma")];
    let mut s = settings();
    s.orchestrator_timeout = Duration::from_millis(300);
    let (report, _) = run(agents, s, "Q", vec![]).await;
    assert_eq!(report.outcome, RunOutcome::TimedOutWithoutAnswer);
    assert!(report.final_answer.is_none());
}

#[tokio::test]
async fn ties_are_broken_by_config_order() {
    let server = ScriptedProvider::start().await;
    // Config order: zed, alpha. Labels sort by id: alpha = agent1, zed = agent2.
    server.push_matching(no_tools("mz"), Reply::text("Zed presents."));
    server.push_for_model("mz", answer("Z answer"));
    server.push_for_model(
        "ma",
        answer("A answer").initial_delay(Duration::from_millis(100)),
    );
    server.always_for_model("mz", vote("agent1", "alpha is good")); // zed votes alpha
    server.always_for_model("ma", vote("agent2", "zed is good")); // alpha votes zed
    let agents = vec![agent(&server, "zed", "mz"), agent(&server, "alpha", "ma")];
    let (report, events) = run(agents, settings(), "Q", vec![]).await;

    assert_eq!(report.outcome, RunOutcome::Completed);
    assert_eq!(report.winner, Some(AgentId::new("zed")));
    let (tally, tie) = events
        .iter()
        .find_map(|e| match &e.msg {
            EventMsg::WinnerSelected {
                tally, tie_break, ..
            } => Some((tally.clone(), *tie_break)),
            _ => None,
        })
        .unwrap();
    assert_eq!(tie, TieBreak::ConfigOrder);
    assert_eq!(
        tally,
        vec![(AgentId::new("zed"), 1), (AgentId::new("alpha"), 1)]
    );
    assert_eq!(report.final_answer.as_deref(), Some("Zed presents."));
}

#[tokio::test]
async fn a_prose_only_model_climbs_the_escalation_ladder_and_still_answers() {
    let server = ScriptedProvider::start().await;
    let prose = || Reply::text("I believe the answer is four.");
    // Launch 1 (nothing to vote for yet): prose, prose after the enforcement prompt, prose
    // with tool_choice required, prose with `new_answer` forced, then the text protocol works.
    server.push_for_model("mp", prose());
    server.push_for_model("mp", prose());
    server.push_for_model("mp", prose());
    server.push_for_model("mp", prose());
    server.push_for_model(
        "mp",
        Reply::text("ACTION: new_answer\nCONTENT:\nTwo plus two is four."),
    );
    // Launch 2: the same ladder; with an answer to vote for, the model is first asked for its
    // decision in words, and that function is forced; it ends in a text-protocol vote.
    server.push_for_model("mp", prose());
    server.push_for_model("mp", prose());
    server.push_for_model("mp", prose());
    server.push_for_model("mp", Reply::text("vote"));
    server.push_for_model("mp", prose());
    server.push_for_model(
        "mp",
        Reply::text("ACTION: vote\nAGENT: agent1\nREASON: it is right"),
    );
    // The presentation.
    server.push_for_model("mp", Reply::text("Four."));
    let agents = vec![agent(&server, "p", "mp")];
    let (report, events) = run(agents, settings(), "What is 2+2?", vec![]).await;

    assert_eq!(report.outcome, RunOutcome::Completed, "{:?}", report.error);
    assert_eq!(report.final_answer.as_deref(), Some("Four."));
    let steps: Vec<EscalationStep> = events
        .iter()
        .filter_map(|e| match &e.msg {
            EventMsg::Escalated { step, .. } => Some(*step),
            _ => None,
        })
        .collect();
    use EscalationStep::*;
    assert_eq!(
        steps,
        vec![
            EnforcementPrompt,
            ToolChoiceRequired,
            ForcedFunction,
            TextProtocol,
            EnforcementPrompt,
            ToolChoiceRequired,
            ForcedFunction,
            TextProtocol
        ]
    );
    let reqs = server.chat_requests();
    assert_eq!(reqs.len(), 12);
    assert!(
        reqs[1]
            .last_content("user")
            .unwrap()
            .starts_with("Finish your work above by making a tool call")
    );
    assert_eq!(reqs[2].pointer("/tool_choice"), Some(&json!("required")));
    assert_eq!(
        reqs[3].pointer("/tool_choice"),
        Some(&json!({"type": "function", "function": {"name": "new_answer"}}))
    );
    assert!(
        reqs[4].tools().is_empty(),
        "the text protocol offers no tools"
    );
    assert!(
        reqs[8].tools().is_empty(),
        "the decision question offers no tools"
    );
    assert_eq!(
        reqs[9].pointer("/tool_choice"),
        Some(&json!({"type": "function", "function": {"name": "vote"}}))
    );
    assert_eq!(report.totals.answers, 1);
    assert_eq!(report.totals.votes, 1);
}

#[tokio::test]
async fn a_follow_up_question_carries_the_conversation_history() {
    let server = ScriptedProvider::start().await;
    server.push_matching(no_tools("ma"), Reply::text("Follow-up final."));
    server.push_for_model("ma", answer("It is 4."));
    server.always_for_model("ma", vote("agent1", "ok"));
    let agents = vec![agent(&server, "a", "ma")];
    let history = vec![("What is 2+2?".to_owned(), "Four.".to_owned())];
    let (report, events) = run(agents, settings(), "And times 3?", history).await;
    assert_eq!(report.outcome, RunOutcome::Completed);
    let first = &server.chat_requests()[0];
    let user = first.last_content("user").unwrap();
    assert!(user.starts_with(
        "<CONVERSATION_HISTORY>\nUser: What is 2+2?\nAssistant: Four.\n<END OF CONVERSATION_HISTORY>\n\n<ORIGINAL MESSAGE> And times 3? <END OF ORIGINAL MESSAGE>"
    ));
    let sys = first.messages()[0]["content"].as_str().unwrap();
    assert!(sys.contains("ongoing conversation"));
    assert!(matches!(
        &events[0].msg,
        EventMsg::RunStarted { history, .. } if history.len() == 1
    ));
}

#[tokio::test]
async fn cancelling_a_run_stops_every_agent_and_finishes_the_stream() {
    let server = ScriptedProvider::start().await;
    server.always_for_model(
        "ma",
        Reply::text("slow").initial_delay(Duration::from_secs(20)),
    );
    let agents = vec![agent(&server, "a", "ma")];
    let bus = Arc::new(EventBus::new(RunId::new("c")));
    let mut rx = bus.subscribe();
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        c2.cancel();
    });
    let report = tokio::time::timeout(
        Duration::from_secs(10),
        orchestrator::run(agents, settings(), RunInput::default(), bus, cancel, None),
    )
    .await
    .unwrap();
    assert_eq!(report.outcome, RunOutcome::Cancelled);
    let mut last = None;
    while let Ok(e) = rx.try_recv() {
        last = Some(e);
    }
    assert!(matches!(
        last.unwrap().msg,
        EventMsg::RunFinished {
            outcome: RunOutcome::Cancelled,
            ..
        }
    ));
}

#[tokio::test]
async fn a_single_agent_in_direct_mode_answers_without_coordination() {
    let server = ScriptedProvider::start().await;
    server.push_for_model(
        "ma",
        Reply::stream([Chunk::text("Direct "), Chunk::text("answer.")]).finish("stop"),
    );
    let agents = vec![agent(&server, "solo", "ma")];
    let mut s = settings();
    s.direct_single_agent = true;
    let history = vec![("Earlier?".to_owned(), "Yes.".to_owned())];
    let (report, events) = run(agents, s, "Now?", history).await;
    assert_eq!(report.outcome, RunOutcome::Completed);
    assert_eq!(report.final_answer.as_deref(), Some("Direct answer."));
    assert_seq_contiguous(&events);
    assert_eq!(
        count(&events, |m| matches!(
            m,
            EventMsg::AnswerSubmitted { .. } | EventMsg::VoteCast { .. }
        )),
        0
    );
    let req = &server.chat_requests()[0];
    assert!(req.tools().is_empty());
    let roles: Vec<&str> = req
        .messages()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, vec!["system", "user", "assistant", "user"]);
    assert_eq!(req.last_content("user"), Some("Now?"));
}

#[tokio::test]
async fn an_agent_at_its_answer_limit_is_offered_only_vote() {
    let server = ScriptedProvider::start().await;
    server.push_matching(no_tools("ma"), Reply::text("Final."));
    server.push_for_model("ma", answer("First answer."));
    server.always_for_model("ma", vote("agent1", "mine is fine"));
    let mut a = agent(&server, "a", "ma");
    Arc::get_mut(&mut a).unwrap().max_answers = Some(1);
    let (report, _) = run(vec![a], settings(), "Q", vec![]).await;
    assert_eq!(report.outcome, RunOutcome::Completed);
    let reqs = server.chat_requests();
    assert_eq!(reqs[0].tool_names(), vec!["new_answer"]);
    // After its one answer, the relaunch may only vote.
    assert_eq!(reqs[1].tool_names(), vec!["vote"]);
}

#[tokio::test]
async fn an_agent_past_its_own_time_limit_stops_and_the_others_finish() {
    let server = ScriptedProvider::start().await;
    server.push_matching(no_tools("ma"), Reply::text("Final from a."));
    server.push_for_model("ma", answer("A's answer."));
    server.always_for_model("ma", vote("agent1", "good"));
    server.always_for_model(
        "mb",
        Reply::text("thinking very slowly").initial_delay(Duration::from_secs(20)),
    );
    let a = agent(&server, "a", "ma");
    let mut b = agent(&server, "b", "mb");
    Arc::get_mut(&mut b).unwrap().timeout = Some(Duration::from_millis(400));
    let (report, events) = run(vec![a, b], settings(), "Q", vec![]).await;
    assert_eq!(report.outcome, RunOutcome::Completed);
    assert_eq!(report.winner, Some(AgentId::new("a")));
    let timed_out: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.msg, EventMsg::AgentTimedOut { .. }))
        .collect();
    assert_eq!(timed_out.len(), 1);
    assert_eq!(timed_out[0].agent, Some(AgentId::new("b")));
}
