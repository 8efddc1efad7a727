//! `bookmygig chat ID`: a gig's chat room as a pipe. What the room says is printed a line at a
//! time; each line read from stdin is said in the room. It serves a person typing at a
//! terminal, a script posting announcements, and the demo's sample viewer.

use bookmygig_api::{ChatErrorCode, ClientMessage, ServerMessage};
use bookmygig_client::ChatError;
use clap::Args;
use tokio::io::AsyncBufReadExt as _;

use super::gig::parse_id;
use crate::Result;
use crate::context::Context;
use crate::error::CliError;

/// `bookmygig chat`.
#[derive(Debug, Args)]
pub struct Cmd {
    /// The gig's id (you need a ticket for it, or to be its creator).
    id: String,
    /// Leave the room once stdin ends and the room has answered every line said (at most
    /// 10 s later), instead of staying to read what the room says until Ctrl-C.
    #[arg(long)]
    leave_at_eof: bool,
}

/// How long `--leave-at-eof` waits for the room to answer what was said last.
const ANSWER_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

impl Cmd {
    /// Runs the chat until the room closes, Ctrl-C, or (with `--leave-at-eof`) the end of
    /// stdin and the room's answer to every line said (its echo, or a refusal such as "slow
    /// down").
    ///
    /// # Errors
    /// The server's refusal of the room (no ticket, banned, cancelled), a connection that
    /// breaks, stdin that cannot be read.
    pub async fn run(self, ctx: &Context) -> Result<()> {
        let id = parse_id(&self.id)?;
        let client = ctx.signed_in()?;
        let me = ctx
            .session()?
            .map(|credential| credential.handle)
            .unwrap_or_default();
        let mut socket = client.chat(id).await.map_err(chat_error)?;
        ctx.note("In the room: lines you type are said; Ctrl-D stops sending, Ctrl-C leaves.");
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        let mut reading = true;
        // Lines said that the room has not answered yet (each Say gets one answer on this
        // socket: its echo or an error).
        let mut unanswered = 0_usize;
        let mut live = None;
        let leave_by = tokio::time::sleep(std::time::Duration::MAX);
        tokio::pin!(leave_by);
        loop {
            if !reading && self.leave_at_eof && unanswered == 0 {
                break;
            }
            tokio::select! {
                line = lines.next_line(), if reading => match line {
                    Ok(Some(line)) => {
                        let text = line.trim();
                        if !text.is_empty() {
                            let say = ClientMessage::Say { text: text.to_owned() };
                            socket.send(&say).await.map_err(chat_error)?;
                            unanswered += 1;
                        }
                    }
                    Ok(None) => {
                        reading = false;
                        leave_by
                            .as_mut()
                            .reset(tokio::time::Instant::now() + ANSWER_PATIENCE);
                    }
                    Err(err) => return Err(CliError::Local(format!("cannot read stdin: {err}"))),
                },
                message = socket.recv() => match message {
                    Some(Ok(message)) => {
                        if answers_me(&message, &me) {
                            unanswered = unanswered.saturating_sub(1);
                        }
                        show(ctx, &message, &mut live)?;
                    }
                    // A frame this client does not understand is skipped.
                    Some(Err(ChatError::Decode(_))) => {}
                    Some(Err(err)) => return Err(chat_error(err)),
                    None => {
                        ctx.note("The room closed the connection.");
                        return Ok(());
                    }
                },
                () = &mut leave_by, if self.leave_at_eof => {
                    ctx.note("The room did not answer every line in time; leaving.");
                    break;
                }
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        socket.close().await.map_err(chat_error)
    }
}

/// Whether `message` is the room's answer to something this socket said: the echo of a
/// message by `me`, or a refusal.
fn answers_me(message: &ServerMessage, me: &str) -> bool {
    match message {
        ServerMessage::Message(said) => said.author == me,
        ServerMessage::Error { .. } => true,
        _ => false,
    }
}

/// Prints one thing the room said: as a JSON line with `--json`, else in plain words. `live`
/// is what the stream was last said to be, so that only its going live or offline is told.
fn show(ctx: &Context, message: &ServerMessage, live: &mut Option<bool>) -> Result<()> {
    if ctx.json {
        let line = serde_json::to_string(message)
            .map_err(|err| CliError::Local(format!("cannot encode JSON: {err}")))?;
        println!("{line}");
        return Ok(());
    }
    if let ServerMessage::Stream(status) = message {
        if *live == Some(status.live) {
            return Ok(());
        }
        *live = Some(status.live);
    }
    for line in describe(message) {
        println!("{line}");
    }
    Ok(())
}

/// What a person reads of `message`: one line per chat message, a line for the rest.
fn describe(message: &ServerMessage) -> Vec<String> {
    let said = |m: &bookmygig_api::ChatMessage| format!("{}: {}", m.author, m.text);
    match message {
        ServerMessage::History { messages } => messages.iter().map(said).collect(),
        ServerMessage::Message(m) => vec![said(m)],
        ServerMessage::Join(user) => vec![format!("* {} joined", user.handle)],
        ServerMessage::Leave(user) => vec![format!("* {} left", user.handle)],
        ServerMessage::Presence { .. } | ServerMessage::Deleted { .. } => Vec::new(),
        ServerMessage::Stream(status) => vec![if status.live {
            "* the stream is live".to_owned()
        } else {
            "* the stream is offline".to_owned()
        }],
        ServerMessage::Error { code, detail } => vec![match code {
            ChatErrorCode::RateLimited => format!("! slow down: {detail}"),
            _ => format!("! {detail}"),
        }],
    }
}

/// A chat failure in the command line's terms: a refusal with a problem is the server's
/// refusal (exit 2), the rest a failed connection.
fn chat_error(err: ChatError) -> CliError {
    match err {
        ChatError::Refused {
            problem: Some(problem),
            ..
        } => CliError::Refused(problem),
        other => CliError::Server(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bookmygig_api::{ChatMessage, ChatUser};

    fn message(author: &str, text: &str) -> ChatMessage {
        ChatMessage {
            id: bookmygig_api::MessageId::new(),
            author: author.to_owned(),
            display_name: author.to_owned(),
            text: text.to_owned(),
            sent_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn history_and_messages_read_as_author_and_text() {
        let history = ServerMessage::History {
            messages: vec![message("ana", "hi"), message("ben", "hello")],
        };
        assert_eq!(describe(&history), vec!["ana: hi", "ben: hello"]);
        let said = ServerMessage::Message(message("ana", "again"));
        assert_eq!(describe(&said), vec!["ana: again"]);
        let joined = ServerMessage::Join(ChatUser {
            handle: "cy".to_owned(),
            display_name: "Cy".to_owned(),
        });
        assert_eq!(describe(&joined), vec!["* cy joined"]);
    }
}
