//! The OpenAPI document, generated: every path and method from the one
//! route table ([`crate::service::routes`], which also builds the router),
//! every request, response and event body's JSON Schema from the Rust types
//! themselves (schemars). `sync/hq/openapi.json` is this document written out;
//! a test keeps the file equal to it (`UPDATE_OPENAPI=1` rewrites it).

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use tillcard_protocol::wire::ErrorBody;

/// Makes the schema of one body (a `$ref` into `components/schemas`).
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The [`SchemaFn`] of `T`.
pub fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// The [`SchemaFn`] of a JSON array of `T`.
pub fn list<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<Vec<T>>()
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// A provisioned terminal, by its signature (PROTOCOL.md, "Signing").
    Terminal,
    /// The admin bearer token.
    Admin,
    /// The admin bearer token or a dashboard session.
    AdminOrSession,
    /// A dashboard session (HTML pages).
    Session,
}

/// A body of a request or an answer.
#[derive(Debug, Clone, Copy)]
pub struct Body {
    /// Its media type.
    pub content_type: &'static str,
    /// Its schema, if it is JSON.
    pub schema: Option<SchemaFn>,
    /// Whether it travels gzip-compressed (`Content-Encoding: gzip`).
    pub gzip: bool,
}

impl Body {
    /// Plain JSON of `T`'s schema.
    pub const fn json(schema: SchemaFn) -> Body {
        Body {
            content_type: "application/json",
            schema: Some(schema),
            gzip: false,
        }
    }

    /// Gzip-compressed JSON (the terminal protocol).
    pub const fn gzip_json(schema: SchemaFn) -> Body {
        Body {
            content_type: "application/json",
            schema: Some(schema),
            gzip: true,
        }
    }

    /// An HTML form of `T`'s fields.
    pub const fn form(schema: SchemaFn) -> Body {
        Body {
            content_type: "application/x-www-form-urlencoded",
            schema: Some(schema),
            gzip: false,
        }
    }

    /// A body that is not JSON.
    pub const fn other(content_type: &'static str) -> Body {
        Body {
            content_type,
            schema: None,
            gzip: false,
        }
    }
}

/// A query parameter (always optional, a string).
#[derive(Debug, Clone, Copy)]
pub struct Query {
    /// Its name.
    pub name: &'static str,
    /// What it means.
    pub description: &'static str,
    /// Its JSON Schema string format (`date-time`), if any.
    pub format: Option<&'static str>,
}

/// What the document says of one route.
#[derive(Debug, Clone, Copy)]
pub struct Doc {
    /// One line.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Its query parameters.
    pub query: &'static [Query],
    /// Its request body, if any.
    pub request: Option<Body>,
    /// Its success status.
    pub status: u16,
    /// Its success body, if any.
    pub response: Option<Body>,
    /// The error statuses it answers (each with an [`ErrorBody`]) besides
    /// those every route may answer (500, and 413 where a body is taken).
    pub errors: &'static [u16],
}

/// Statuses whose answer is not an [`ErrorBody`]: a redirect, or the
/// dashboard's HTML pages.
const NOT_JSON: [u16; 3] = [303, 401, 429];

/// The document for `routes` ((method, path, doc)).
pub fn document<'a>(routes: impl IntoIterator<Item = (&'a str, &'a str, &'a Doc)>) -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut generator = SchemaGenerator::new(settings);
    let error = schema::<ErrorBody>(&mut generator);
    let mut paths = Map::new();
    for (method, path, doc) in routes {
        let operation = operation(path, doc, &error, &mut generator);
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        if let Some(entry) = entry.as_object_mut() {
            entry.insert(method.to_string(), operation);
        }
    }
    let schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Tillcard head office",
            "version": "1",
            "description": "Generated from the service's route table and its Rust types \
                (sync/hq/src/openapi.rs). sync/PROTOCOL.md is the full contract: signing, \
                gzip, sealed personal data, bounds, idempotency, retries.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "sessionCookie": {
                    "type": "apiKey", "in": "cookie", "name": "tillcard_hq_session",
                    "description": "Dashboard session from POST /dashboard/login \
                        (HttpOnly, SameSite=Strict).",
                },
                "terminalSignature": {
                    "type": "apiKey", "in": "header", "name": "x-tillcard-signature",
                    "description": "Ed25519 signature of the canonical request, with \
                        x-tillcard-terminal and x-tillcard-timestamp (PROTOCOL.md, Signing).",
                },
            },
        },
    })
}

fn operation(path: &str, doc: &Doc, error: &Schema, generator: &mut SchemaGenerator) -> Value {
    let mut operation = Map::new();
    operation.insert("summary".into(), json!(doc.summary));
    let mut parameters = Vec::new();
    for name in path_parameters(path) {
        // Terminals and members are named by UUIDs; stores, clerks and
        // users by codes and names of their own shapes.
        let schema = match name {
            "terminal_id" | "member_id" => json!({"type": "string", "format": "uuid"}),
            "username" => json!({"type": "string", "pattern": "^[A-Za-z0-9._@-]{1,64}$"}),
            _ => json!({"type": "string", "pattern": "^[A-Za-z0-9._-]{1,32}$"}),
        };
        parameters.push(json!({
            "name": name, "in": "path", "required": true, "schema": schema,
        }));
    }
    if doc.access == Access::Terminal {
        for (name, description) in [
            ("x-tillcard-terminal", "The terminal's id (a UUID)."),
            (
                "x-tillcard-timestamp",
                "Unix seconds; within 300 s of head office's clock.",
            ),
        ] {
            parameters.push(json!({
                "name": name, "in": "header", "required": true, "description": description,
                "schema": {"type": "string"},
            }));
        }
    }
    for query in doc.query {
        let mut schema = json!({"type": "string"});
        if let Some(format) = query.format {
            schema["format"] = json!(format);
        }
        parameters.push(json!({
            "name": query.name, "in": "query", "required": false,
            "description": query.description, "schema": schema,
        }));
    }
    if !parameters.is_empty() {
        operation.insert("parameters".into(), Value::Array(parameters));
    }
    let security = match doc.access {
        Access::Public => None,
        Access::Terminal => Some(json!([{"terminalSignature": []}])),
        Access::Admin => Some(json!([{"bearerAuth": []}])),
        Access::AdminOrSession => Some(json!([{"bearerAuth": []}, {"sessionCookie": []}])),
        Access::Session => Some(json!([{"sessionCookie": []}])),
    };
    if let Some(security) = security {
        operation.insert("security".into(), security);
    }
    if let Some(body) = &doc.request {
        operation.insert(
            "requestBody".into(),
            json!({"required": true, "content": content(body, generator)}),
        );
    }
    let mut responses = Map::new();
    let mut success =
        json!({"description": if doc.response.is_some() { "Done" } else { "Done; no body" }});
    if let Some(body) = &doc.response {
        success["content"] = content(body, generator);
        if body.gzip {
            success["description"] = json!("Done (Content-Encoding: gzip)");
        }
    }
    responses.insert(doc.status.to_string(), success);
    let mut errors: Vec<u16> = doc.errors.to_vec();
    errors.push(500);
    if doc.request.is_some() {
        errors.push(413);
    }
    errors.sort_unstable();
    errors.dedup();
    // The dashboard's pages answer HTML and redirects, not ErrorBodies.
    let page = doc.status == 303
        || doc
            .response
            .is_some_and(|b| b.content_type.starts_with("text/html"));
    for status in errors {
        let response = if page && status == 303 {
            json!({"description": describe(status)})
        } else if page && NOT_JSON.contains(&status) {
            json!({"description": describe(status), "content": {"text/html": {}}})
        } else {
            json!({
                "description": describe(status),
                "content": {"application/json": {"schema": error}},
            })
        };
        responses.insert(status.to_string(), response);
    }
    operation.insert("responses".into(), Value::Object(responses));
    Value::Object(operation)
}

fn content(body: &Body, generator: &mut SchemaGenerator) -> Value {
    let mut media = json!({});
    if let Some(schema) = body.schema {
        media["schema"] = Value::from(schema(generator));
    }
    json!({ body.content_type: media })
}

fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
}

fn describe(status: u16) -> &'static str {
    match status {
        303 => "Redirect",
        400 => "Malformed or out of bounds (bad_request, invalid_*; see PROTOCOL.md)",
        401 => "Not authenticated (see the error codes in PROTOCOL.md)",
        403 => {
            "Refused (revoked terminal, enrollment or setup code refused, role, \
            admin disabled; see PROTOCOL.md)"
        }
        404 => "No such resource (not_found, unknown_store, unknown_staff, ...)",
        409 => {
            "Conflicts with what is stored (sequence_conflict, store_exists, \
            staff_exists, duplicate_staff_name)"
        }
        413 => "Body too large (too_large)",
        415 => "Not a form (unsupported_media_type)",
        429 => "Too many failed sign-ins",
        500 => "Internal error (internal): retry later",
        503 => "The store does not answer (store_unavailable)",
        _ => "Error",
    }
}
