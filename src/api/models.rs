//! `GET /v1/models` and `GET /v1/models/{id}` in OpenAI's list format, with
//! `provider/model` ids (and alias names) for every listed provider, so
//! Cherry Studio's "manage models" button fills in. The list changes only
//! with a reload, so it is built once per configuration ([`ModelList`]).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::config::live::Current;
use crate::error::AppError;
use crate::upstream::Registry;

/// The model list of one configuration.
#[derive(Debug)]
pub struct ModelList {
    objects: Vec<Value>,
    /// The `/v1/models` body.
    json: Bytes,
}

impl ModelList {
    /// The list for `registry`; `passthrough` when the gateway has no
    /// access keys (see [`model_objects`]).
    pub fn new(registry: &Registry, passthrough: bool) -> Self {
        let objects = model_objects(registry, passthrough);
        let json = json!({"object": "list", "data": objects}).to_string();
        Self {
            objects,
            json: Bytes::from(json),
        }
    }
}

/// The model objects for `/v1/models`: every provider that has a key or a
/// section in the config file. When there is none and the gateway runs
/// without access keys, every provider is listed instead, because the
/// client's own key is passed through to them.
fn model_objects(registry: &Registry, passthrough: bool) -> Vec<Value> {
    let providers = registry.providers();
    let none_listed = !providers.iter().any(|p| p.listed());
    let listed = providers
        .iter()
        .filter(move |p| p.listed() || (passthrough && none_listed));
    let mut data: Vec<Value> = listed
        .flat_map(|p| {
            p.models()
                .iter()
                .map(move |m| model_object(&format!("{}/{m}", p.name()), p.name()))
        })
        .collect();
    for (alias, target) in registry.aliases() {
        data.push(model_object(alias, &target.provider));
    }
    data
}

fn model_object(id: &str, owner: &str) -> Value {
    json!({"id": id, "object": "model", "created": 0, "owned_by": owner})
}

/// `GET /v1/models`.
pub async fn list_models(State(models): State<Current<ModelList>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        models.now().json.clone(),
    )
        .into_response()
}

/// `GET /v1/models/{id}`.
pub async fn retrieve_model(
    State(models): State<Current<ModelList>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    models
        .now()
        .objects
        .iter()
        .find(|m| m["id"] == id.as_str())
        .cloned()
        .map(Json)
        .ok_or_else(|| {
            let shown: String = id.chars().take(120).collect();
            AppError::ModelNotFound(format!(
                "model `{shown}` is not in /v1/models; any provider/model name can still be used for chat"
            ))
        })
}
