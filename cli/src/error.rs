//! The one error type of the command line, and how each kind maps to an exit code and a line of
//! plain words.
//!
//! Exit codes: 1 when the server or the network failed (5xx, unreachable, an answer we cannot
//! read), 2 when the input was bad (local validation, clap's usage errors) or the server refused
//! it (every 4xx problem, whose `detail` is shown as written for people).

use bookmygig_api::Problem;
use bookmygig_client::ClientError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad usage or input caught before anything was sent: names the flag at fault.
    #[error("{0}")]
    Usage(String),
    /// The server refused the request (4xx) with a problem.
    #[error("{}", describe_problem(.0))]
    Refused(Problem),
    /// The server could not be reached; names the URL tried.
    #[error("cannot reach the server at {url}: {reason}")]
    Unreachable {
        /// The URL the request went to.
        url: String,
        /// The innermost cause, in the HTTP stack's words.
        reason: String,
    },
    /// The server failed (5xx, or an answer that is not what the API promises).
    #[error("the server failed: {0}")]
    Server(String),
    /// Something on this machine failed: the config dir, the terminal, the player.
    #[error("{0}")]
    Local(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::Refused(_) => 2,
            CliError::Unreachable { .. } | CliError::Server(_) | CliError::Local(_) => 1,
        }
    }

    /// A next step for the person, when there is an obvious one.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            CliError::Refused(problem) => match problem.code() {
                "unauthorized" => Some("sign in with `bookmygig login --handle HANDLE`"),
                "insufficient-funds" => Some("add funds with `bookmygig wallet topup AMOUNT`"),
                _ => None,
            },
            _ => None,
        }
    }

    /// A usage error naming `flag`.
    pub fn flag(flag: &str, reason: impl std::fmt::Display) -> Self {
        CliError::Usage(format!("{flag}: {reason}"))
    }
}

/// A problem in plain words: the flag (when the field has one) or the title, then the detail.
fn describe_problem(problem: &Problem) -> String {
    match &problem.field {
        Some(field) => format!("{}: {}", flag_of(field), problem.detail),
        None => format!("{}: {}", problem.title, problem.detail),
    }
}

/// The command-line flag of a wire field (`starts_at` → `--date/--start`).
fn flag_of(field: &str) -> String {
    match field {
        "starts_at" => "--date/--start".to_owned(),
        "ends_at" => "--end".to_owned(),
        // Asked at a prompt (or read from stdin), never given as a flag.
        "new_password" => "new password".to_owned(),
        other => format!("--{}", other.replace('_', "-")),
    }
}

impl From<ClientError> for CliError {
    fn from(err: ClientError) -> Self {
        match err {
            ClientError::Problem(problem) if problem.status < 500 => CliError::Refused(problem),
            ClientError::Problem(problem) => CliError::Server(problem.detail),
            ClientError::UnexpectedStatus { status, body } if status < 500 => {
                CliError::Refused(Problem {
                    kind: "about:blank".to_owned(),
                    title: format!("HTTP {status}"),
                    status,
                    detail: first_line(&body),
                    field: None,
                })
            }
            ClientError::UnexpectedStatus { status, body } => {
                CliError::Server(format!("HTTP {status}: {}", first_line(&body)))
            }
            ClientError::Transport(err) => {
                let url = err
                    .url()
                    .map(|u| u.to_string())
                    .unwrap_or_else(|| "(unknown URL)".to_owned());
                CliError::Unreachable {
                    url,
                    reason: innermost_cause(&err),
                }
            }
            ClientError::Decode(reason) => CliError::Server(reason),
            ClientError::InvalidBaseUrl(reason) => CliError::flag("--server", reason),
            ClientError::Tls(err) => CliError::flag("--cacert", err.to_string()),
        }
    }
}

/// The deepest source of an error: "connection refused" rather than "error sending request".
fn innermost_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// The first line of a body, shortened, so an error stays one line.
fn first_line(body: &str) -> String {
    let line = body.lines().next().unwrap_or("").trim();
    let short: String = line.chars().take(200).collect();
    if short.is_empty() {
        "(no body)".to_owned()
    } else {
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(status: u16, field: Option<&str>) -> Problem {
        Problem {
            kind: "https://bookmygig.dev/problems/validation".to_owned(),
            title: "Validation failed".to_owned(),
            status,
            detail: "the end must be after the start".to_owned(),
            field: field.map(str::to_owned),
        }
    }

    #[test]
    fn refusals_exit_2_and_name_the_flag() {
        let err = CliError::from(ClientError::Problem(problem(422, Some("ends_at"))));
        assert_eq!(err.exit_code(), 2);
        assert_eq!(err.to_string(), "--end: the end must be after the start");
    }

    #[test]
    fn server_failures_exit_1() {
        let err = CliError::from(ClientError::Problem(problem(500, None)));
        assert_eq!(err.exit_code(), 1);
        let err = CliError::from(ClientError::UnexpectedStatus {
            status: 502,
            body: "Bad Gateway\nmore".to_owned(),
        });
        assert_eq!(err.exit_code(), 1);
        assert_eq!(err.to_string(), "the server failed: HTTP 502: Bad Gateway");
    }
}
