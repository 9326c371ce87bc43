//! Prompt texts and the workflow-tool schemas, as MassGen v0.0.18 builds them
//! (`massgen/message_templates.py`), plus the texts of our own escalation steps.
//!
//! Responsibilities: every string an agent is shown by the engine.
//! Non-responsibilities: deciding which prompt to send when (the agent loop does).

use crate::backend::{ChatMessage, ToolSpec};
use serde_json::json;

/// Name of the answer tool.
pub const NEW_ANSWER: &str = "new_answer";
/// Name of the vote tool.
pub const VOTE: &str = "vote";

/// MassGen's enforcement re-prompt.
pub const ENFORCEMENT: &str = "Finish your work above by making a tool call of `vote` or `new_answer`. Make sure you actually call the tool.";

/// The evaluation system message with the current local time.
pub fn evaluation_system_message(now: chrono::DateTime<chrono::Local>) -> String {
    format!(
        "You are evaluating answers from multiple agents for final response to a message.\n\
Different agents may have different builtin tools and capabilities.\n\
Does the best CURRENT ANSWER address the ORIGINAL MESSAGE well?\n\n\
If YES, use the `vote` tool to record your vote and skip the `new_answer` tool.\n\
Otherwise, digest existing answers, combine their strengths, and do additional work to address their weaknesses,\n\
then use the `new_answer` tool to record a better answer to the ORIGINAL MESSAGE.\n\
Make sure you actually call `vote` or `new_answer` (in tool call format).\n\n\
*Note*: The CURRENT TIME is **{}**.",
        now.format("%Y-%m-%d %H:%M:%S")
    )
}

const CONTEXT_NOTE: &str = "\n            \nIMPORTANT: You are responding to the latest message in an ongoing conversation. Consider the full conversation context when evaluating answers and providing your response.";

/// The system message of a coordination launch (MassGen §2.9.4).
pub fn coordination_system_message(
    custom: Option<&str>,
    has_history: bool,
    now: chrono::DateTime<chrono::Local>,
) -> String {
    let eval = evaluation_system_message(now);
    match (custom.filter(|c| !c.trim().is_empty()), has_history) {
        (None, false) => eval,
        (Some(c), false) => format!("{eval}\n\n#Special Requirement\n{c}"),
        (None, true) => format!("{eval}{CONTEXT_NOTE}"),
        (Some(c), true) => format!("{c}\n\n{eval}{CONTEXT_NOTE}"),
    }
}

/// `<ORIGINAL MESSAGE> … <END OF ORIGINAL MESSAGE>`.
pub fn original_message(task: &str) -> String {
    format!("<ORIGINAL MESSAGE> {task} <END OF ORIGINAL MESSAGE>")
}

/// The `<CONVERSATION_HISTORY>` block; empty when there is no history.
pub fn conversation_history(history: &[(String, String)]) -> String {
    if history.is_empty() {
        return String::new();
    }
    let mut lines = vec!["<CONVERSATION_HISTORY>".to_owned()];
    for (user, assistant) in history {
        lines.push(format!("User: {user}"));
        lines.push(format!("Assistant: {assistant}"));
    }
    lines.push("<END OF CONVERSATION_HISTORY>".to_owned());
    lines.join("\n")
}

/// The CURRENT ANSWERS block. `answers` are `(label, text)` in label order.
pub fn current_answers(answers: &[(String, String)]) -> String {
    if answers.is_empty() {
        return "<CURRENT ANSWERS from the agents>\n(no answers available yet)\n<END OF CURRENT ANSWERS>"
            .to_owned();
    }
    let mut lines = vec!["<CURRENT ANSWERS from the agents>".to_owned()];
    for (label, text) in answers {
        lines.push(format!("<{label}> {text} <end of {label}>"));
    }
    lines.push("<END OF CURRENT ANSWERS>".to_owned());
    lines.join("\n")
}

/// The user message of a coordination launch (MassGen §2.9.3).
pub fn coordination_user_message(
    task: &str,
    history: &[(String, String)],
    answers: &[(String, String)],
) -> String {
    let original = original_message(task);
    let answers = current_answers(answers);
    if history.is_empty() {
        format!("{original}\n\n{answers}")
    } else {
        format!(
            "{}\n\n{original}\n\n{answers}",
            conversation_history(history)
        )
    }
}

/// Workflow tools offered in a launch. `labels` are the anonymous labels of the answers the
/// agent sees; `vote` is offered only when there is something to vote for, and its enum lists
/// exactly those labels (MassGen lists `agent1..N` for all agents; see
/// `docs/behaviour-vs-massgen.md`). `allow_answer` is false once an agent reached its answer
/// limit.
pub fn workflow_tools(labels: &[String], allow_answer: bool) -> Vec<ToolSpec> {
    let mut tools = Vec::new();
    if allow_answer {
        tools.push(ToolSpec {
            name: NEW_ANSWER.to_owned(),
            description: "Provide an improved answer to the ORIGINAL MESSAGE".to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "content": {
                        "type": "string",
                        "description": "Your improved answer. If any builtin tools like search or code execution were used, mention how they are used here."
                    }
                },
                "required": ["content"]
            }),
        });
    }
    if !labels.is_empty() {
        tools.push(ToolSpec {
            name: VOTE.to_owned(),
            description: "Vote for the best agent to present final answer".to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "agent_id": {
                        "type": "string",
                        "description": "Anonymous agent ID to vote for (e.g., 'agent1', 'agent2')",
                        "enum": labels
                    },
                    "reason": {
                        "type": "string",
                        "description": "Brief reason why this agent has the best answer"
                    }
                },
                "required": ["agent_id", "reason"]
            }),
        });
    }
    tools
}

/// The question used by the "decide, then force" escalation step.
pub fn decision_question(labels: &[String]) -> String {
    format!(
        "Decide now. Reply with exactly one word: `vote` if one of the CURRENT ANSWERS ({}) already \
answers the ORIGINAL MESSAGE well, or `new_answer` if you will write a better answer.",
        labels.join(", ")
    )
}

/// The documented text protocol (last escalation step). See `docs/behaviour-vs-massgen.md`.
pub fn text_protocol_instructions(labels: &[String], allow_answer: bool) -> String {
    let mut s = String::from(
        "Your tool calls could not be read. Reply in plain text using EXACTLY one of these formats and nothing else.\n\n",
    );
    if allow_answer {
        s.push_str(
            "To give a new answer:\nACTION: new_answer\nCONTENT:\n<your complete answer>\n\n",
        );
    }
    if !labels.is_empty() {
        s.push_str(&format!(
            "To vote for an existing answer:\nACTION: vote\nAGENT: <one of {}>\nREASON: <one sentence>\n",
            labels.join(", ")
        ));
    }
    s
}

/// The warning added to launches when the orchestrator deadline is near.
pub fn deadline_warning(secs_left: u64) -> String {
    format!(
        "TIME IS ALMOST UP: about {secs_left} seconds remain for this coordination. Do not start new \
research. If an existing answer is good enough, vote for it now; otherwise submit your best complete \
answer with `new_answer` immediately."
    )
}

/// The final-presentation system message (MassGen §2.7b).
pub fn final_presentation_system_message(custom: Option<&str>) -> String {
    let instructions = "You have been selected as the winning presenter in a coordination process.\nPresent the best possible coordinated answer by combining the strengths from all participants.\n\n";
    match custom.filter(|c| !c.trim().is_empty()) {
        Some(c) => format!("{c}\n\n{instructions}"),
        None => instructions.to_owned(),
    }
}

/// The final-presentation user message. `answers` are `(real id, text)` in config order;
/// `votes` are `(reason)` of the votes the winner received.
pub fn final_presentation_user_message(
    task: &str,
    winner: &str,
    answers: &[(String, String)],
    votes_received: &[String],
    tie_broken: bool,
) -> String {
    let n = votes_received.len();
    let mut summary = format!("You received {n} vote(s)");
    let reasons: Vec<&str> = votes_received
        .iter()
        .map(String::as_str)
        .filter(|r| !r.trim().is_empty())
        .collect();
    if !reasons.is_empty() {
        summary.push_str(" with feedback: ");
        summary.push_str(&reasons.join("; "));
    }
    if tie_broken {
        summary.push_str(" (tie-broken by registration order)");
    }
    let mut s = format!(
        "{}\n\nVOTING RESULTS:\n{summary}\n\nAll answers provided during coordination:\n",
        original_message(task)
    );
    for (id, text) in answers {
        let mine = if id == winner { " (YOUR ANSWER)" } else { "" };
        s.push_str(&format!("\n{id}{mine}: \"{text}\"\n"));
    }
    s.push_str("\nBased on the coordination process above, present your final answer:");
    s
}

/// Messages of a final presentation.
pub fn final_presentation_messages(
    custom: Option<&str>,
    task: &str,
    winner: &str,
    answers: &[(String, String)],
    votes_received: &[String],
    tie_broken: bool,
) -> Vec<ChatMessage> {
    vec![
        ChatMessage::system(final_presentation_system_message(custom)),
        ChatMessage::user(final_presentation_user_message(
            task,
            winner,
            answers,
            votes_received,
            tie_broken,
        )),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_message_layouts() {
        let m = coordination_user_message("Q?", &[], &[]);
        assert_eq!(
            m,
            "<ORIGINAL MESSAGE> Q? <END OF ORIGINAL MESSAGE>\n\n<CURRENT ANSWERS from the agents>\n(no answers available yet)\n<END OF CURRENT ANSWERS>"
        );
        let m = coordination_user_message(
            "Q?",
            &[("hi".into(), "hello".into())],
            &[("agent1".into(), "A".into())],
        );
        assert!(m.starts_with(
            "<CONVERSATION_HISTORY>\nUser: hi\nAssistant: hello\n<END OF CONVERSATION_HISTORY>\n\n<ORIGINAL MESSAGE>"
        ));
        assert!(m.ends_with("<agent1> A <end of agent1>\n<END OF CURRENT ANSWERS>"));
    }

    #[test]
    fn vote_tool_lists_only_existing_labels() {
        let tools = workflow_tools(&[], true);
        assert_eq!(tools.len(), 1);
        assert_eq!(tools[0].name, NEW_ANSWER);
        let tools = workflow_tools(&["agent1".into(), "agent2".into()], true);
        assert_eq!(
            tools[1].parameters["properties"]["agent_id"]["enum"],
            json!(["agent1", "agent2"])
        );
    }

    #[test]
    fn system_message_order_matches_massgen() {
        let now = chrono::Local::now();
        let s = coordination_system_message(Some("Be brief."), false, now);
        assert!(s.ends_with("#Special Requirement\nBe brief."));
        let s = coordination_system_message(Some("Be brief."), true, now);
        assert!(s.starts_with("Be brief.\n\nYou are evaluating"));
        assert!(s.contains("ongoing conversation"));
    }
}
