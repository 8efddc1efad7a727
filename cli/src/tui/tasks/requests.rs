//! The one-shot requests of [`Effect`]s, each answered with one [`Action`]; and signing in.

use bookmygig_api::limits::PAGE_LIMIT_MAX;
use bookmygig_api::{GigPatch, NewAccount, NewSession};
use bookmygig_client::{Client, ClientError, TrustRoots};

use crate::error::CliError;
use crate::settings::Store;
use crate::tui::action::{Action, Effect, SignedInAs, TopUpRefusal};
use crate::tui::my_gigs::{CHART_PAGES, CreatorData};
use crate::tui::sign_in::{Mode, Submission};
use crate::tui::update::WALLET_PAGE;
use crate::tui::wallet::TopUpField;

/// The answer to a one-shot effect.
pub(super) async fn answer(client: &Client, effect: Effect) -> Option<Action> {
    let words = |err: bookmygig_client::ClientError| CliError::from(err).to_string();
    Some(match effect {
        Effect::FetchCatalogue { request, query } => {
            let more = query.cursor.is_some();
            let result = client.list_gigs(&query).await.map_err(words);
            if more {
                Action::MoreLoaded { request, result }
            } else {
                Action::CatalogueLoaded { request, result }
            }
        }
        Effect::FetchTickets => Action::TicketsLoaded(
            client
                .my_tickets()
                .await
                .map(|page| page.items)
                .map_err(words),
        ),
        Effect::FetchWallet => Action::WalletLoaded(
            client
                .wallet(None, Some(1))
                .await
                .map(|wallet| wallet.balance)
                .map_err(words),
        ),
        Effect::FetchWalletPage { cursor } => Action::WalletPageLoaded {
            more: cursor.is_some(),
            result: client
                .wallet(cursor.as_deref(), Some(WALLET_PAGE))
                .await
                .map_err(words),
        },
        Effect::FetchCreatorData => {
            Action::CreatorLoaded(creator_data(client).await.map_err(words))
        }
        Effect::RequestPayout { gig } => Action::PayoutRequested {
            gig,
            result: client.request_payout(gig).await.map_err(refusal_words),
        },
        Effect::SetReplayWindow { gig, hours } => Action::ReplayWindowSet {
            gig,
            hours,
            result: client
                .update_gig(
                    gig,
                    &GigPatch {
                        replay_hours: Some(hours),
                        ..GigPatch::default()
                    },
                )
                .await
                .map_err(refusal_words),
        },
        Effect::FetchPayouts { epoch } => Action::PayoutsLoaded {
            epoch,
            result: client
                .payouts()
                .await
                .map(|payouts| payouts.items)
                .map_err(words),
        },
        Effect::TopUp {
            amount,
            from,
            idempotency_key,
        } => {
            let result = client
                .start_top_up(amount, from.as_deref(), Some(&idempotency_key))
                .await
                .map_err(top_up_refusal);
            Action::ToppedUp {
                idempotency_key,
                result,
            }
        }
        Effect::BuyTicket {
            gig,
            idempotency_key,
        } => Action::TicketBought {
            gig,
            result: client
                .buy_ticket(gig, &idempotency_key)
                .await
                .map_err(words),
        },
        Effect::FetchReplayChat { room, gig } => Action::ReplayChatLoaded {
            room,
            result: client.chat_history(gig).await.map_err(words),
        },
        Effect::FetchMe => match client.me().await {
            Err(err) if err.status() == Some(401) => Action::SessionExpired,
            result => Action::MeLoaded(result.map_err(words)),
        },
        Effect::JoinRoom { .. }
        | Effect::Authenticate(_)
        | Effect::UseSession(_)
        | Effect::WatchMonetization
        | Effect::WatchTickets
        | Effect::Notify { .. }
        | Effect::LeaveRoom
        | Effect::Say { .. }
        | Effect::StartPlayer { .. }
        | Effect::StopPlayer
        | Effect::SeekPlayer(_)
        | Effect::TogglePause
        | Effect::FollowTopUp(_)
        | Effect::OpenBrowser(_)
        | Effect::RememberTopUpWallet { .. } => return None,
    })
}

/// A failed top-up request in words, under the dialog's field when the server named one.
fn top_up_refusal(err: ClientError) -> TopUpRefusal {
    let field = err
        .problem()
        .filter(|problem| problem.status < 500)
        .and_then(|problem| match problem.field.as_deref() {
            Some("amount") => Some(TopUpField::Amount),
            Some("from") => Some(TopUpField::From),
            _ => None,
        });
    match (field, err.problem()) {
        // Beside its field, the detail says it all.
        (Some(field), Some(problem)) => TopUpRefusal {
            field: Some(field),
            reason: problem.detail.clone(),
        },
        _ => TopUpRefusal {
            field: None,
            reason: CliError::from(err).to_string(),
        },
    }
}

/// A refusal in the server's own words (its detail says it all: the field it names is the
/// gig the key was pressed on); anything else in the command line's words.
fn refusal_words(err: ClientError) -> String {
    match err.problem().filter(|problem| problem.status < 500) {
        Some(problem) => problem.detail.clone(),
        None => CliError::from(err).to_string(),
    }
}

/// The creator's gigs, earnings, payouts, and the newest wallet entries (for the charts).
async fn creator_data(client: &Client) -> Result<CreatorData, ClientError> {
    let (gigs, earnings, payouts) =
        tokio::try_join!(client.my_gigs(), client.earnings(), client.payouts())?;
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..CHART_PAGES {
        let page = client
            .wallet(cursor.as_deref(), Some(PAGE_LIMIT_MAX))
            .await?;
        entries.extend(page.entries);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    Ok(CreatorData {
        gigs: gigs.items,
        earnings: earnings.gigs,
        entries,
        payouts: payouts.items,
    })
}

/// Signs in or up as the form says, and saves the session (as `bookmygig login` does, making
/// the server the default).
pub(super) async fn authenticate(
    submission: Submission,
    roots: TrustRoots,
    store: &Store,
) -> Result<SignedInAs, String> {
    let words = |err: bookmygig_client::ClientError| CliError::from(err).to_string();
    let client = Client::with_roots(&submission.server, roots).map_err(words)?;
    let (account, token) = match submission.mode {
        Mode::SignIn => {
            let session = client
                .sign_in(&NewSession {
                    handle: submission.handle,
                    password: submission.password,
                })
                .await
                .map_err(words)?;
            (session.account, session.token)
        }
        Mode::SignUp => {
            let signed = client
                .sign_up(&NewAccount {
                    handle: submission.handle,
                    display_name: submission.display_name,
                    password: submission.password,
                })
                .await
                .map_err(words)?;
            (signed.account, signed.token)
        }
    };
    store
        .remember_session(&submission.server, &account.handle, &token)
        .map_err(|err| err.to_string())?;
    Ok(SignedInAs {
        server: submission.server,
        account,
        token,
    })
}

#[cfg(test)]
mod tests {
    use bookmygig_api::Problem;

    use super::*;

    fn problem(status: u16, field: Option<&str>) -> ClientError {
        ClientError::Problem(Problem {
            kind: "https://bookmygig.dev/problems/validation".to_owned(),
            title: "Invalid input".to_owned(),
            status,
            detail: "not a wallet this server can ask".to_owned(),
            field: field.map(str::to_owned),
        })
    }

    #[test]
    fn payout_refusals_are_the_servers_words() {
        assert_eq!(
            refusal_words(problem(422, Some("gig_id"))),
            "not a wallet this server can ask"
        );
        assert_eq!(
            refusal_words(problem(403, None)),
            "not a wallet this server can ask"
        );
        // A server in trouble is told as the command line tells it.
        let trouble = refusal_words(problem(503, None));
        assert!(trouble.contains("not a wallet"), "{trouble}");
    }

    #[test]
    fn top_up_refusals_naming_amount_or_from_go_under_that_field() {
        let refusal = top_up_refusal(problem(422, Some("from")));
        assert_eq!(
            refusal,
            TopUpRefusal {
                field: Some(TopUpField::From),
                reason: "not a wallet this server can ask".to_owned(),
            }
        );
        assert_eq!(
            top_up_refusal(problem(422, Some("amount"))).field,
            Some(TopUpField::Amount)
        );
        // Anything else is the dialog's as a whole, in the command line's words.
        let other = top_up_refusal(problem(403, None));
        assert_eq!(other.field, None);
        assert!(other.reason.contains("not a wallet"), "{}", other.reason);
        assert_eq!(top_up_refusal(problem(502, Some("from"))).field, None);
    }
}
