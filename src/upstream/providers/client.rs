//! A provider's HTTP client and the base URL it may show.

use crate::config::ProviderConfig;

/// Idle keep-alive connections kept per upstream host.
const MAX_IDLE_CONNECTIONS: usize = 64;

/// The pooled client of one provider.
pub(super) fn build(config: &ProviderConfig) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder()
        // Only the connect timeout is reqwest's: first byte, idle gap and
        // total time are enforced around the body (crate::upstream), where
        // each can be told apart and a stream ended cleanly.
        .connect_timeout(config.timeouts.connect)
        .pool_idle_timeout(std::time::Duration::from_secs(90))
        // Enough warm connections for bursts; past that, a burst's extra
        // connections close instead of holding memory while idle.
        .pool_max_idle_per_host(MAX_IDLE_CONNECTIONS)
        // A proxy relays redirects; it does not follow them (a POST body
        // must not be re-sent somewhere else).
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .user_agent(concat!("llm-bridge/", env!("CARGO_PKG_VERSION")))
        .no_proxy();
    if let Some(proxy) = &config.proxy {
        builder = builder.proxy(reqwest::Proxy::all(proxy.expose())?);
    }
    builder.build()
}

/// `base_url` without its userinfo, as `/health` and logs show it.
pub(super) fn public_base_url(base_url: &reqwest::Url) -> String {
    let mut public = base_url.clone();
    // Only fails for URLs that cannot have credentials, which is fine.
    let _ = public.set_username("");
    let _ = public.set_password(None);
    public.to_string().trim_end_matches('/').to_string()
}
