//! The OpenAPI document, generated from the handlers' annotations and the wire types.

use std::borrow::Cow;

use bookmygig_api::limits::{DESCRIPTION_PATTERN, LINE_PATTERN, PAYMENT_POINTER_PATTERN};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{Object, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use super::problem::responses as problems;
use super::{
    accounts, chat, earnings, flv, gigs, health, monetization, payouts, playback, pricing,
    recordings, replay, stream_status, tickets, wallet,
};

/// The whole API, served at `/api/v1/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(title = "BookMyGig API", description = "Tickets, wallets and live online shows. Money is integer micro-USD. \
        Every error is an RFC 9457 problem (`application/problem+json`) whose `field` names the offending wire field."),
    paths(
        accounts::sign_up, accounts::sign_in, accounts::sign_out, accounts::sign_out_everywhere,
        accounts::change_password, accounts::me,
        gigs::list, gigs::create, gigs::show, gigs::update, gigs::cancel, gigs::rotate_stream_key, gigs::mine,
        tickets::buy, tickets::mine,
        playback::playback, stream_status::status, flv::flv,
        replay::grant, replay::file, recordings::show, recordings::delete, recordings::mine,
        chat::enter, chat::history,
        wallet::show, wallet::top_up, wallet::top_up_status, monetization::channel, earnings::mine,
        payouts::request, payouts::mine,
        health::healthz, pricing::show,
    ),
    components(
        schemas(bookmygig_api::Problem, bookmygig_api::ClientMessage, bookmygig_api::ServerMessage,
            bookmygig_api::MonetizationEvent),
        responses(problems::BadRequest, problems::Unauthorized, problems::PaymentRequired,
            problems::Forbidden, problems::NotFound, problems::Conflict, problems::RangeNotSatisfiable, problems::PayloadTooLarge,
            problems::UnsupportedMediaType, problems::Unprocessable, problems::UpgradeRequired, problems::TooManyRequests,
            problems::Internal, problems::Unavailable, problems::BadGateway),
    ),
    modifiers(&BearerAuth, &TextRules),
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

/// The text fields' patterns, from the constants the server checks against (attributes take
/// only literals, and these are long): which component, which field, which pattern.
const TEXT_RULES: [(&str, &str, &str); 9] = [
    ("NewAccount", "display_name", LINE_PATTERN),
    ("NewGig", "creator_name", LINE_PATTERN),
    ("NewGig", "title", LINE_PATTERN),
    ("NewGig", "description", DESCRIPTION_PATTERN),
    ("NewGig", "payment_pointer", PAYMENT_POINTER_PATTERN),
    ("GigPatch", "creator_name", LINE_PATTERN),
    ("GigPatch", "title", LINE_PATTERN),
    ("GigPatch", "description", DESCRIPTION_PATTERN),
    ("GigPatch", "payment_pointer", PAYMENT_POINTER_PATTERN),
];

/// Puts [`TEXT_RULES`] into the document.
struct TextRules;

impl Modify for TextRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for (component, field, pattern) in TEXT_RULES {
            let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(component)
            else {
                continue;
            };
            if let Some(RefOr::T(Schema::Object(property))) = object.properties.get_mut(field) {
                property.pattern = Some(pattern.to_owned());
            }
        }
    }
}

/// One server-sent event of the monetization channel as the document describes it (the
/// OpenAPI 3.2 reading of an event stream's schema): `event` names the state and `data` is a
/// JSON [`bookmygig_api::MonetizationEvent`].
pub struct MonetizationStreamEvent;

impl PartialSchema for MonetizationStreamEvent {
    fn schema() -> RefOr<Schema> {
        let mut data = Object::with_type(Type::String);
        data.content_media_type = "application/json".to_owned();
        // utoipa has no field for JSON Schema's `contentSchema`; extensions serialize as is.
        data.extensions = Some(
            [(
                "contentSchema",
                serde_json::json!({"$ref": "#/components/schemas/MonetizationEvent"}),
            )]
            .into_iter()
            .collect(),
        );
        let mut event = Object::with_type(Type::String);
        event.enum_values = Some(vec!["started".into(), "pending".into(), "stopped".into()]);
        let mut object = Object::with_type(Type::Object);
        object.description = Some(
            "One event: `event` is its state, `data` the JSON MonetizationEvent of that state."
                .to_owned(),
        );
        object.properties.insert("event".to_owned(), event.into());
        object.properties.insert("data".to_owned(), data.into());
        object.required = vec!["event".to_owned(), "data".to_owned()];
        RefOr::T(Schema::Object(object))
    }
}

impl ToSchema for MonetizationStreamEvent {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("MonetizationStreamEvent")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            <bookmygig_api::MonetizationEvent as ToSchema>::name().into_owned(),
            bookmygig_api::MonetizationEvent::schema(),
        ));
        bookmygig_api::MonetizationEvent::schemas(schemas);
    }
}
