//! `[server]` settings: how many client connections, how long and how large
//! a request head may be, and how long a shutdown waits.

use std::ops::RangeInclusive;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use super::file::LoadedFile;

/// Open client connections at once. Twice the 1,000 concurrent slow streams
/// the gateway is benchmarked with, so that load fits with room to spare;
/// an idle connection costs about 10 KiB (hyper's 8 KiB read buffer and its
/// task), so even a full house of idle ones stays near 20 MiB.
pub const DEFAULT_MAX_CONNECTIONS: usize = 2048;
/// Time for a request head to arrive, and for the next one on an idle
/// keep-alive connection. Real clients send a head in one packet; ten
/// seconds covers slow mobile links while a slowloris client is shed fast.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head. API requests carry a handful of short headers;
/// 64 KiB leaves room for long cookies or tokens from a browser page. Heads
/// being read take at most this per connection: 128 MiB at the default cap.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;
/// Time for a whole request body to arrive. 10 MiB (the default body
/// limit) arrives in under a minute even at 2 Mbit/s; a client trickling a
/// body cannot hold a connection longer than this.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a shutdown waits for requests, streams and cache writes. Most
/// answers finish well within it; long ones are cut.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// hyper refuses an HTTP/1 read buffer below 8 KiB (it asserts, so it is
/// checked here rather than met with a panic at start-up).
const MIN_HEADER_BYTES: u64 = 8 * 1024;
/// hyper adds the header timeout to the current instant without checking
/// for overflow; an hour is far beyond any useful value anyway.
const MAX_HEADER_READ_SECS: u64 = 3600;
/// Request bodies held at once by default: room for a few bodies of the
/// largest size allowed (`max_body_bytes`, 10 MiB) and for hundreds of
/// ordinary requests (a long Claude Code conversation is a few hundred KiB).
pub const DEFAULT_BODIES_IN_FLIGHT_BYTES: u64 = 64 * 1024 * 1024;
const MIN_BODIES_IN_FLIGHT_BYTES: u64 = 1024 * 1024;
/// A semaphore counts this many KiB easily.
const MAX_BODIES_IN_FLIGHT_BYTES: u64 = 1 << 50;

/// Far above any open-file limit, far below what a semaphore can count.
const MAX_CONNECTIONS: u64 = 1_000_000;

/// `[server]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub max_connections: Option<Spanned<u64>>,
    pub header_read_timeout_secs: Option<Spanned<u64>>,
    pub max_header_bytes: Option<Spanned<u64>>,
    pub shutdown_grace_secs: Option<Spanned<u64>>,
    pub body_read_timeout_secs: Option<Spanned<u64>>,
    pub max_body_bytes: Option<Spanned<usize>>,
    pub bodies_in_flight_bytes: Option<Spanned<u64>>,
    /// Host names the gateway answers to besides loopback ones (see
    /// [`super::hosts`]); reloadable, so kept out of [`ServerConfig`].
    #[serde(default)]
    pub allowed_hosts: Vec<Spanned<String>>,
}

/// Validated server settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Past this many open connections the server stops accepting until one
    /// closes; further clients wait in the kernel's backlog.
    pub max_connections: usize,
    /// An HTTP/1 request head (and the first request of any connection)
    /// must arrive within this; idle keep-alive connections close after it.
    pub header_read_timeout: Duration,
    /// Largest HTTP/1 request head and HTTP/2 header list.
    pub max_header_bytes: usize,
    /// How long a shutdown waits before cutting what is still running.
    pub shutdown_grace: Duration,
    /// A request body must arrive whole within this.
    pub body_read_timeout: Duration,
    /// Request bodies held at once, in bytes, at most: past it new
    /// requests get a fast 503 `overloaded` instead of growing memory.
    pub bodies_in_flight_bytes: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            bodies_in_flight_bytes: DEFAULT_BODIES_IN_FLIGHT_BYTES,
        }
    }
}

/// Builds the settings from the file's `[server]`, defaults for the rest.
pub fn resolve(file: Option<&LoadedFile>) -> Result<ServerConfig, ConfigError> {
    let empty = ServerSection::default();
    let raw = file.map_or(&empty, |f| &f.config.server);
    let within = |value, field, range| bounded(value, field, file, range);
    let defaults = ServerConfig::default();
    Ok(ServerConfig {
        max_connections: within(
            &raw.max_connections,
            "server.max_connections",
            1..=MAX_CONNECTIONS,
        )?
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(defaults.max_connections),
        header_read_timeout: within(
            &raw.header_read_timeout_secs,
            "server.header_read_timeout_secs",
            1..=MAX_HEADER_READ_SECS,
        )?
        .map_or(defaults.header_read_timeout, Duration::from_secs),
        max_header_bytes: within(
            &raw.max_header_bytes,
            "server.max_header_bytes",
            MIN_HEADER_BYTES..=u64::from(u32::MAX),
        )?
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(defaults.max_header_bytes),
        shutdown_grace: super::positive(
            &raw.shutdown_grace_secs,
            "server.shutdown_grace_secs",
            file,
        )?
        .map_or(defaults.shutdown_grace, Duration::from_secs),
        body_read_timeout: within(
            &raw.body_read_timeout_secs,
            "server.body_read_timeout_secs",
            1..=MAX_HEADER_READ_SECS,
        )?
        .map_or(defaults.body_read_timeout, Duration::from_secs),
        bodies_in_flight_bytes: within(
            &raw.bodies_in_flight_bytes,
            "server.bodies_in_flight_bytes",
            MIN_BODIES_IN_FLIGHT_BYTES..=MAX_BODIES_IN_FLIGHT_BYTES,
        )?
        .unwrap_or(defaults.bodies_in_flight_bytes),
    })
}

/// `[server] max_body_bytes`, or the top-level key older files have; both
/// at once is an error naming both lines, since one would silently lose.
pub fn resolve_max_body_bytes(file: Option<&LoadedFile>) -> Result<usize, ConfigError> {
    let Some(loaded) = file else {
        return Ok(super::DEFAULT_MAX_BODY_BYTES);
    };
    match (
        &loaded.config.server.max_body_bytes,
        &loaded.config.max_body_bytes,
    ) {
        (Some(new), Some(old)) => Err(ConfigError::Invalid {
            location: loaded.locate(new, "server.max_body_bytes"),
            message: format!(
                "max_body_bytes is also set at the top level, on line {}; keep only the one in [server]",
                loaded.line(old)
            ),
        }),
        (Some(value), None) | (None, Some(value)) => Ok(*value.get_ref()),
        (None, None) => Ok(super::DEFAULT_MAX_BODY_BYTES),
    }
}

/// A positive number from the file that must also lie within `range`.
fn bounded(
    value: &Option<Spanned<u64>>,
    field: &str,
    file: Option<&LoadedFile>,
    range: RangeInclusive<u64>,
) -> Result<Option<u64>, ConfigError> {
    let Some(number) = super::positive(value, field, file)? else {
        return Ok(None);
    };
    if range.contains(&number) {
        return Ok(Some(number));
    }
    let location = match (value, file) {
        (Some(spanned), Some(loaded)) => loaded.locate(spanned, field),
        _ => field.to_string(),
    };
    Err(ConfigError::Invalid {
        location,
        message: format!(
            "must be between {} and {}, not {number}",
            range.start(),
            range.end()
        ),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn resolve_text(text: &str) -> Result<ServerConfig, ConfigError> {
        let file = LoadedFile::parse(Path::new("bridge.toml"), text.to_string())?;
        resolve(Some(&file))
    }

    #[test]
    fn defaults_without_a_section() {
        assert_eq!(resolve(None).unwrap(), ServerConfig::default());
        assert_eq!(resolve_text("").unwrap(), ServerConfig::default());
    }

    #[test]
    fn reads_every_field() {
        let config = resolve_text(
            "[server]\nmax_connections = 3\nheader_read_timeout_secs = 2\n\
             max_header_bytes = 9000\nshutdown_grace_secs = 4\nbody_read_timeout_secs = 5\n\
             bodies_in_flight_bytes = 2097152\n",
        )
        .unwrap();
        assert_eq!(
            config,
            ServerConfig {
                max_connections: 3,
                header_read_timeout: Duration::from_secs(2),
                max_header_bytes: 9000,
                shutdown_grace: Duration::from_secs(4),
                body_read_timeout: Duration::from_secs(5),
                bodies_in_flight_bytes: 2 << 20,
            }
        );
    }

    #[test]
    fn zero_and_out_of_range_values_name_the_line_and_field() {
        let error = resolve_text("[server]\n\nshutdown_grace_secs = 0\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "bridge.toml:3: server.shutdown_grace_secs: must be greater than 0, not 0"
        );
        let error = resolve_text("[server]\nmax_connections = 0\n").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("bridge.toml:2: server.max_connections: must be greater than 0"),
            "{error}"
        );
        let error = resolve_text("[server]\nmax_header_bytes = 100\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "bridge.toml:2: server.max_header_bytes: must be between 8192 and 4294967295, not 100"
        );
        let error = resolve_text("[server]\nheader_read_timeout_secs = 99999\n").unwrap_err();
        assert!(error.to_string().contains("between 1 and 3600"), "{error}");
    }

    #[test]
    fn max_body_bytes_is_read_in_server_or_at_the_top_level() {
        let size = |text: &str| {
            let file = LoadedFile::parse(Path::new("bridge.toml"), text.to_string())?;
            resolve_max_body_bytes(Some(&file))
        };
        assert_eq!(size("").unwrap(), 10 * 1024 * 1024);
        assert_eq!(size("[server]\nmax_body_bytes = 1000\n").unwrap(), 1000);
        assert_eq!(size("max_body_bytes = 2000\n").unwrap(), 2000);
        let error = size("max_body_bytes = 2000\n\n[server]\nmax_body_bytes = 1000\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "bridge.toml:4: server.max_body_bytes: max_body_bytes is also set at the top level, \
             on line 1; keep only the one in [server]"
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let error = resolve_text("[server]\nmax_conections = 3\n").unwrap_err();
        assert!(error.to_string().starts_with("bridge.toml:2"), "{error}");
    }
}
