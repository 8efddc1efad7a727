//! The three Open Payments OpenAPI documents, loaded from YAML at start and compiled into one
//! JSON-Schema validator per request body and per documented response of every operation.
//!
//! This module owns the contract only: which operation a route is, and whether a body fits it.
//! What happens to a body that does not fit (a 400 and a recorded violation for a request, a
//! panic in debug builds for a response of ours) is decided by the HTTP layer.
//!
//! Two defects of the published v1.1.0 documents are patched at load time, each listed in
//! [`Spec::errata`]: see [`ERRATUM_REF_SIBLING_ADDITIONAL_PROPERTIES`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jsonschema::{Draft, Validator};
use serde_json::{Value, json};

/// The environment variable naming a directory holding the three YAML documents, overriding
/// the copy vendored in this crate.
pub const SPEC_DIR_ENV: &str = "BOOKMYGIG_OPEN_PAYMENTS_SPEC_DIR";

/// The directory of the copy vendored in this crate (identical to `../shared/open-payments`).
pub fn vendored_spec_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/spec"))
}

/// The directory the documents are read from: [`SPEC_DIR_ENV`] when set, else the vendored copy.
pub fn default_spec_dir() -> PathBuf {
    std::env::var_os(SPEC_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(vendored_spec_dir)
}

/// Erratum: in `resource-server.yaml` two schemas put `additionalProperties: false` beside a
/// `$ref` (the items of the incoming-payment list and the body of the complete response). Under
/// JSON Schema 2020-12, which OpenAPI 3.1 uses, that sibling applies on its own and, having no
/// `properties` beside it, forbids every property: only `{}` would be valid. Read as intended
/// (the object of the referenced schema), the sibling is dropped.
pub const ERRATUM_REF_SIBLING_ADDITIONAL_PROPERTIES: &str = "`additionalProperties: false` beside a `$ref` with no `properties` would forbid every property under JSON Schema 2020-12; dropped";

/// One of the three OpenAPI documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Document {
    /// `wallet-address-server.yaml`: wallet address documents and their keys.
    WalletAddress,
    /// `auth-server.yaml`: the GNAP authorization server.
    Auth,
    /// `resource-server.yaml`: incoming payments, quotes, outgoing payments.
    Resource,
}

impl Document {
    /// Every document, in load order.
    pub const ALL: [Document; 3] = [Document::WalletAddress, Document::Auth, Document::Resource];

    /// The document's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            Document::WalletAddress => "wallet-address-server.yaml",
            Document::Auth => "auth-server.yaml",
            Document::Resource => "resource-server.yaml",
        }
    }
}

/// Why the documents could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A document could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A document is not YAML.
    #[error("parsing {path}: {source}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_norway::Error,
    },
    /// A schema in a document does not compile.
    #[error("compiling the schema at {pointer} of {document:?}: {message}")]
    Schema {
        /// The document.
        document: Document,
        /// Where in it.
        pointer: String,
        /// The validator's complaint.
        message: String,
    },
    /// A document lacks something this server relies on.
    #[error("{document:?} has no {what}")]
    Missing {
        /// The document.
        document: Document,
        /// What is missing.
        what: String,
    },
}

/// The compiled schemas of one operation.
struct Operation {
    document: Document,
    request: Option<Validator>,
    responses: HashMap<u16, Validator>,
}

/// The loaded documents: one validator per request body and documented JSON response.
pub struct Spec {
    operations: HashMap<String, Operation>,
    /// Fallback for an error status an operation does not document (the resource server's
    /// `error-response`).
    resource_error: Validator,
    errata: Vec<String>,
    dir: PathBuf,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("dir", &self.dir)
            .field("operations", &self.operations.len())
            .field("errata", &self.errata)
            .finish()
    }
}

impl Spec {
    /// Loads and compiles the three documents from `dir`.
    ///
    /// # Errors
    ///
    /// A file missing or unreadable, not YAML, or a schema that does not compile.
    pub fn load(dir: &Path) -> Result<Spec, SpecError> {
        let mut operations = HashMap::new();
        let mut errata = Vec::new();
        let mut resource_error = None;
        for document in Document::ALL {
            let path = dir.join(document.file_name());
            let text = std::fs::read_to_string(&path).map_err(|source| SpecError::Read {
                path: path.clone(),
                source,
            })?;
            let mut doc: Value =
                serde_norway::from_str(&text).map_err(|source| SpecError::Yaml {
                    path: path.clone(),
                    source,
                })?;
            patch_ref_siblings(&mut doc, &mut String::new(), document, &mut errata);
            compile_operations(&doc, document, &mut operations)?;
            if document == Document::Resource {
                resource_error = Some(compile(
                    &doc,
                    document,
                    "#/components/schemas/error-response",
                )?);
            }
        }
        let resource_error = resource_error.ok_or(SpecError::Missing {
            document: Document::Resource,
            what: "error-response schema".into(),
        })?;
        Ok(Spec {
            operations,
            resource_error,
            errata,
            dir: dir.to_path_buf(),
        })
    }

    /// Loads from [`default_spec_dir`].
    ///
    /// # Errors
    ///
    /// As [`Spec::load`].
    pub fn load_default() -> Result<Spec, SpecError> {
        Spec::load(&default_spec_dir())
    }

    /// The patches applied to the published documents, one line each (pointer and reason).
    pub fn errata(&self) -> &[String] {
        &self.errata
    }

    /// Whether `operation_id` names an operation of the documents.
    pub fn has_operation(&self, operation_id: &str) -> bool {
        self.operations.contains_key(operation_id)
    }

    /// Checks a request body of `operation_id`. `Ok` when the operation takes no JSON body.
    ///
    /// # Errors
    ///
    /// The validator's messages, each with the place in the body it concerns.
    pub fn check_request(&self, operation_id: &str, body: &Value) -> Result<(), Vec<String>> {
        let Some(op) = self.operations.get(operation_id) else {
            return Err(vec![format!("unknown operation {operation_id}")]);
        };
        match &op.request {
            Some(validator) => run(validator, body),
            None => Ok(()),
        }
    }

    /// Checks a response body of ours. A status the operation does not document is checked
    /// against the resource server's `error-response` when it is an error of the resource
    /// server, and otherwise accepted (the auth server documents its error bodies per status).
    ///
    /// # Errors
    ///
    /// The validator's messages.
    pub fn check_response(
        &self,
        operation_id: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), Vec<String>> {
        let Some(op) = self.operations.get(operation_id) else {
            return Err(vec![format!("unknown operation {operation_id}")]);
        };
        match op.responses.get(&status) {
            Some(validator) => run(validator, body),
            None if status >= 400 && op.document == Document::Resource => {
                run(&self.resource_error, body)
            }
            None => Ok(()),
        }
    }
}

fn run(validator: &Validator, body: &Value) -> Result<(), Vec<String>> {
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// A pointer segment escaped as RFC 6901 says, then percent-encoded for a URI fragment
/// (path templates carry `{` and `}`).
fn escape(segment: &str) -> String {
    let mut out = String::new();
    for c in segment.replace('~', "~0").replace('/', "~1").chars() {
        if c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@".contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn compile(doc: &Value, document: Document, pointer: &str) -> Result<Validator, SpecError> {
    // The document itself is the root schema: its OpenAPI keys are no JSON Schema keywords, so
    // only the `$ref` applies, and every `#/components/...` inside resolves against it.
    let mut root = doc.clone();
    if let Some(obj) = root.as_object_mut() {
        obj.insert("$ref".into(), json!(pointer));
    }
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .with_format("uint64", |s: &str| {
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u64>().is_ok()
        })
        .build(&root)
        .map_err(|e| SpecError::Schema {
            document,
            pointer: pointer.to_string(),
            message: e.to_string(),
        })
}

/// Follows a `$ref` to `#/components/responses/...` (responses may be shared).
fn resolve_response<'a>(doc: &'a Value, response: &'a Value) -> (&'a Value, Option<String>) {
    match response.get("$ref").and_then(Value::as_str) {
        Some(r) => match r.strip_prefix('#').and_then(|p| doc.pointer(p)) {
            Some(target) => (target, Some(r.to_string())),
            None => (response, None),
        },
        None => (response, None),
    }
}

fn compile_operations(
    doc: &Value,
    document: Document,
    into: &mut HashMap<String, Operation>,
) -> Result<(), SpecError> {
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .ok_or(SpecError::Missing {
            document,
            what: "paths".into(),
        })?;
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(op) = item.get(method) else {
                continue;
            };
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let op_ptr = format!("#/paths/{}/{method}", escape(path));
            let request = match op.pointer("/requestBody/content/application~1json/schema") {
                Some(_) => Some(compile(
                    doc,
                    document,
                    &format!("{op_ptr}/requestBody/content/application~1json/schema"),
                )?),
                None => None,
            };
            let mut responses = HashMap::new();
            if let Some(map) = op.get("responses").and_then(Value::as_object) {
                for (status, response) in map {
                    let Ok(code) = status.parse::<u16>() else {
                        continue;
                    };
                    let (target, via) = resolve_response(doc, response);
                    if target
                        .pointer("/content/application~1json/schema")
                        .is_none()
                    {
                        continue;
                    }
                    let base = match via {
                        Some(r) => r,
                        None => format!("{op_ptr}/responses/{status}"),
                    };
                    let validator = compile(
                        doc,
                        document,
                        &format!("{base}/content/application~1json/schema"),
                    )?;
                    responses.insert(code, validator);
                }
            }
            into.insert(
                id.to_string(),
                Operation {
                    document,
                    request,
                    responses,
                },
            );
        }
    }
    Ok(())
}

/// Applies [`ERRATUM_REF_SIBLING_ADDITIONAL_PROPERTIES`] wherever it occurs.
fn patch_ref_siblings(
    value: &mut Value,
    pointer: &mut String,
    document: Document,
    errata: &mut Vec<String>,
) {
    match value {
        Value::Object(map) => {
            if map.contains_key("$ref")
                && !map.contains_key("properties")
                && map.get("additionalProperties") == Some(&Value::Bool(false))
            {
                map.remove("additionalProperties");
                errata.push(format!(
                    "{}#{pointer}: {ERRATUM_REF_SIBLING_ADDITIONAL_PROPERTIES}",
                    document.file_name()
                ));
            }
            for (key, child) in map.iter_mut() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape(key));
                patch_ref_siblings(child, pointer, document, errata);
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                patch_ref_siblings(child, pointer, document, errata);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]
    use super::*;

    fn spec() -> Spec {
        Spec::load(&vendored_spec_dir()).expect("the vendored documents load")
    }

    #[test]
    fn every_operation_of_the_three_documents_is_known() {
        let spec = spec();
        for id in [
            "get-wallet-address",
            "get-wallet-address-keys",
            "post-request",
            "post-continue",
            "delete-continue",
            "post-token",
            "delete-token",
            "create-incoming-payment",
            "list-incoming-payments",
            "get-incoming-payment",
            "complete-incoming-payment",
            "create-quote",
            "get-quote",
            "create-outgoing-payment",
            "list-outgoing-payments",
            "get-outgoing-payment",
        ] {
            assert!(spec.has_operation(id), "{id}");
        }
        assert_eq!(spec.errata().len(), 2, "{:?}", spec.errata());
    }

    #[test]
    fn incoming_payment_body_without_wallet_address_is_refused() {
        let spec = spec();
        assert!(
            spec.check_request("create-incoming-payment", &json!({}))
                .is_err()
        );
        assert!(
            spec.check_request(
                "create-incoming-payment",
                &json!({"walletAddress": "http://127.0.0.1:1/a",
                        "incomingAmount": {"value": "12", "assetCode": "USD", "assetScale": 2}})
            )
            .is_ok()
        );
        let bad_amount = json!({"walletAddress": "http://127.0.0.1:1/a",
            "incomingAmount": {"value": "-1", "assetCode": "USD", "assetScale": 2}});
        assert!(
            spec.check_request("create-incoming-payment", &bad_amount)
                .is_err()
        );
    }

    #[test]
    fn completed_incoming_payment_with_properties_is_valid_after_the_erratum() {
        let spec = spec();
        let body = json!({
            "id": "http://127.0.0.1:1/op/incoming-payments/1",
            "walletAddress": "http://127.0.0.1:1/a",
            "completed": true,
            "receivedAmount": {"value": "0", "assetCode": "USD", "assetScale": 2},
            "createdAt": "2025-01-01T00:00:00Z"
        });
        spec.check_response("complete-incoming-payment", 200, &body)
            .unwrap();
    }

    #[test]
    fn responses_are_checked_too() {
        let spec = spec();
        assert!(
            spec.check_response("create-outgoing-payment", 201, &json!({}))
                .is_err()
        );
        // The quote schema closes its properties.
        let quote = json!({
            "id": "http://127.0.0.1:1/op/quotes/1",
            "walletAddress": "http://127.0.0.1:1/a",
            "receiver": "http://127.0.0.1:1/op/incoming-payments/1",
            "receiveAmount": {"value": "1", "assetCode": "USD", "assetScale": 2},
            "debitAmount": {"value": "1", "assetCode": "USD", "assetScale": 2},
            "method": "ilp",
            "createdAt": "2025-01-01T00:00:00Z",
        });
        spec.check_response("get-quote", 200, &quote).unwrap();
        let mut extra = quote.clone();
        extra["surprise"] = json!(true);
        assert!(spec.check_response("get-quote", 200, &extra).is_err());
        // An error body of the resource server must have error.code and error.description.
        assert!(
            spec.check_response("get-quote", 404, &json!({"error": {"code": "x"}}))
                .is_err()
        );
    }

    #[test]
    fn vendored_spec_matches_shared_copy() {
        let shared = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/open-payments"
        ));
        if !shared.is_dir() {
            return; // a clone without ../shared: nothing to compare
        }
        for document in Document::ALL {
            let ours = std::fs::read(vendored_spec_dir().join(document.file_name())).unwrap();
            let theirs = std::fs::read(shared.join(document.file_name())).unwrap();
            assert!(
                ours == theirs,
                "{} differs from ../shared/open-payments: copy it into spec/",
                document.file_name()
            );
        }
    }
}
