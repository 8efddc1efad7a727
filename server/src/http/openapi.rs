//! The OpenAPI document, generated from the handlers' annotations and the wire types.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{accounts, chat, earnings, gigs, health, live, monetization, pricing, tickets, wallet};

/// The whole API, served at `/api/v1/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(title = "BookMyGig API", description = "Tickets, wallets and live online shows. Money is integer micro-USD."),
    paths(
        accounts::sign_up, accounts::sign_in, accounts::sign_out, accounts::me,
        gigs::list, gigs::create, gigs::show, gigs::update, gigs::cancel, gigs::rotate_stream_key, gigs::mine,
        tickets::buy, tickets::mine,
        live::playback, live::status,
        chat::enter,
        wallet::show, wallet::top_up, monetization::channel, earnings::mine,
        health::healthz, pricing::show,
    ),
    components(schemas(bookmygig_api::Problem, bookmygig_api::ClientMessage, bookmygig_api::ServerMessage)),
    modifiers(&BearerAuth),
    tags((name = "accounts"), (name = "gigs"), (name = "tickets"), (name = "wallet"), (name = "live"), (name = "chat"), (name = "operations"))
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme the paths refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}
