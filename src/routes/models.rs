//! `GET /v1/models` and `GET /v1/models/{id}` in OpenAI's list format, with
//! `provider/model` ids (and alias names) for every listed provider, so
//! Cherry Studio's "manage models" button fills in. The list cannot change
//! while the server runs, so it is built once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::error::AppError;
use crate::providers::Registry;

/// The model objects for `/v1/models`: every provider that has a key or a
/// section in the config file. When there is none and the gateway runs
/// without access keys, every provider is listed instead, because the
/// client's own key is passed through to them.
pub fn model_objects(registry: &Registry, passthrough: bool) -> Vec<Value> {
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

pub async fn list_models(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.live().models_json.clone(),
    )
        .into_response()
}

pub async fn retrieve_model(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let live = state.live();
    model_objects(&live.registry, !live.access_keys.required())
        .into_iter()
        .find(|m| m["id"] == id.as_str())
        .map(Json)
        .ok_or_else(|| {
            let shown: String = id.chars().take(120).collect();
            AppError::ModelNotFound(format!(
                "model `{shown}` is not in /v1/models; any provider/model name can still be used for chat"
            ))
        })
}
