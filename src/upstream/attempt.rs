//! One attempt at one model: through the provider's gate, the request
//! sent, its status and (for a success) its first chunk awaited within the
//! first-byte timeout, and the outcome sorted for [`super::retrying`].

use axum::body::Bytes;
use axum::http::HeaderValue;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::time::Instant;

use super::body::UpstreamBody;
use super::head::AnswerHead;
use super::providers::{Provider, Slot, UpstreamRequest};
use super::send::{error_chain, send};
use super::{Answer, CallPlan, Target};
use crate::config::ProviderKind;
use crate::error::AppError;
use crate::headers::ANSWERING_MODEL;
use crate::stream::timeout::Limits;
use crate::wire::BodyKind;

/// How one attempt ended.
pub(super) enum Attempt {
    /// A success with its first chunk: commit.
    Answer(Answer),
    /// A non-success response, and the key it was sent with.
    Status(Answer, Option<usize>),
    /// No response (connect error, timeout, body broke before its first
    /// byte).
    Refused(AppError),
    /// The provider's queue is full.
    Busy(AppError),
    /// 404 without an API error body: the provider's URL looks wrong.
    NotFound(AppError),
}

/// A response's head, its first chunk (for a success) and the rest.
type Exchanged = (
    AnswerHead,
    Option<Bytes>,
    BoxStream<'static, Result<Bytes, String>>,
);

pub(super) async fn attempt(plan: &CallPlan, target: &Target, deadline: Instant) -> Attempt {
    let provider = target.route.provider.as_ref();
    let name = || provider.name().to_string();
    let slot = match enter_gate(provider, deadline).await {
        Ok(slot) => slot,
        Err(attempt) => return attempt,
    };
    let timeouts = provider.timeouts();
    let first_byte_by = (Instant::now() + timeouts.first_byte).min(deadline);
    let UpstreamRequest { request, key } = provider.request(&target.request, &plan.forwarded);
    let exchanged = tokio::time::timeout_at(first_byte_by, exchange(plan, target, request)).await;
    let (head, first, rest) = match exchanged {
        Err(_) => {
            tracing::warn!(
                provider = provider.name(),
                "no answer before the first-byte timeout"
            );
            return Attempt::Refused(AppError::UpstreamTimeout { provider: name() });
        }
        Ok(Err(error)) => return Attempt::Refused(error),
        Ok(Ok(exchanged)) => exchanged,
    };
    let limits = Limits {
        idle: timeouts.idle,
        deadline,
        total: timeouts.total,
    };
    let answer = Answer {
        route: target.route.clone(),
        head,
        body: UpstreamBody::new(first, rest, limits, slot, plan.redactor.stream()),
    };
    sort(provider, &target.request.url, answer, key)
}

/// A slot of the provider's concurrency cap, when it has one.
async fn enter_gate(provider: &Provider, deadline: Instant) -> Result<Option<Slot>, Attempt> {
    let Some(gate) = provider.gate() else {
        return Ok(None);
    };
    let name = || provider.name().to_string();
    match tokio::time::timeout_at(deadline, gate.enter()).await {
        Ok(Ok(slot)) => Ok(Some(slot)),
        Ok(Err(_)) => {
            tracing::warn!(provider = provider.name(), "provider queue full");
            Err(Attempt::Busy(AppError::ProviderBusy { provider: name() }))
        }
        Err(_) => Err(Attempt::Refused(AppError::UpstreamTimeout {
            provider: name(),
        })),
    }
}

/// Sends the request and reads its head and, for a success, its first
/// chunk (an error answer is judged by its status alone).
async fn exchange(
    plan: &CallPlan,
    target: &Target,
    request: reqwest::RequestBuilder,
) -> Result<Exchanged, AppError> {
    let provider = target.route.provider.as_ref();
    let response = send(request, provider).await?;
    let model = &target.route.upstream_model;
    let mut head = AnswerHead::of(&response, provider.name(), model, target.request.answers);
    plan.redactor.headers(&mut head.headers);
    if let Ok(value) = HeaderValue::from_str(&target.route.label()) {
        head.headers.insert(ANSWERING_MODEL, value);
    }
    // Error texts without the URL: it may carry credentials.
    let mut rest = response
        .bytes_stream()
        .map(|chunk| chunk.map_err(|e| error_chain(&e.without_url())))
        .boxed();
    if !head.status.is_success() {
        return Ok((head, None, rest));
    }
    match rest.next().await {
        Some(Ok(chunk)) => Ok((head, Some(chunk), rest)),
        Some(Err(error)) => {
            tracing::warn!(
                provider = provider.name(),
                %error,
                "upstream body broke off before its first byte"
            );
            Err(AppError::UpstreamBrokeOff {
                provider: provider.name().to_string(),
            })
        }
        None => Ok((head, None, rest)),
    }
}

/// Commit, retry material, or a 404 that says the URL is wrong.
fn sort(provider: &Provider, url: &reqwest::Url, answer: Answer, key: Option<usize>) -> Attempt {
    if answer.head.status.is_success() {
        return Attempt::Answer(answer);
    }
    if answer.head.status == reqwest::StatusCode::NOT_FOUND {
        return not_found(provider, url, answer, key);
    }
    tracing::warn!(
        provider = provider.name(),
        status = answer.head.status.as_u16(),
        "upstream answered with an error"
    );
    Attempt::Status(answer, key)
}

/// A 404 from the API's path. With an API error body (OpenAI's "model does
/// not exist") it is relayed like any error; without one (a web server's
/// "404 page not found") the URL itself was not found, almost always a
/// base URL without its version path, and the client gets a message that
/// says so instead of the server's page. The log says it either way.
fn not_found(
    provider: &Provider,
    url: &reqwest::Url,
    answer: Answer,
    key: Option<usize>,
) -> Attempt {
    let base_url = provider.public_base_url();
    // The API's path below the base URL (no query: it may carry a key).
    let base_path =
        reqwest::Url::parse(base_url).map(|u| u.path().trim_end_matches('/').to_string());
    let endpoint = match &base_path {
        Ok(base) => url.path().strip_prefix(base.as_str()).unwrap_or(url.path()),
        Err(_) => url.path(),
    };
    let versioned = base_url.ends_with("/v1") || provider.kind() != ProviderKind::OpenAi;
    let hint = if versioned {
        format!("check its base URL ({base_url})")
    } else {
        format!(
            "check its base URL ({base_url}): OpenAI-compatible servers usually want it to end \
             in /v1, e.g. {base_url}/v1"
        )
    };
    tracing::warn!(
        provider = provider.name(),
        "upstream answered 404 Not Found to {endpoint}: {hint}"
    );
    if answer.head.kind == Some(BodyKind::Json) {
        return Attempt::Status(answer, key);
    }
    Attempt::NotFound(AppError::UpstreamNotFound(format!(
        "provider `{}` answered 404 Not Found for POST {base_url}{endpoint}; {hint} \
         (NAME_BASE_URL or [providers.NAME] base_url)",
        provider.name()
    )))
}
