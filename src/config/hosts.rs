//! `[server] allowed_hosts`: the `Host` names the gateway answers to besides
//! loopback ones, checked against DNS rebinding (see [`crate::edge::guard`]).
//! Each entry is a host name or IP address, optionally with a port
//! (`llm.internal`, `192.168.1.20:6688`, `[fd00::1]:6688`); no scheme, no
//! path.

use super::ConfigError;
use super::file::LoadedFile;

/// The entries, lower-cased and checked.
pub fn resolve(file: Option<&LoadedFile>) -> Result<Vec<String>, ConfigError> {
    let Some(loaded) = file else {
        return Ok(Vec::new());
    };
    loaded
        .config
        .server
        .allowed_hosts
        .iter()
        .map(|entry| {
            let text = entry.get_ref().trim().to_ascii_lowercase();
            match valid(&text) {
                true => Ok(text),
                false => Err(ConfigError::Invalid {
                    location: loaded.locate(entry, "server.allowed_hosts"),
                    message: format!(
                        "`{}` is not a host name: write it as it appears in the Host header, \
                         like llm.internal or 192.168.1.20:6688 (no scheme, no path)",
                        entry.get_ref()
                    ),
                }),
            }
        })
        .collect()
}

fn valid(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']'))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn resolve_text(text: &str) -> Result<Vec<String>, ConfigError> {
        let file = LoadedFile::parse(Path::new("bridge.toml"), text.to_string())?;
        resolve(Some(&file))
    }

    #[test]
    fn entries_are_lower_cased_and_checked() {
        assert_eq!(
            resolve_text("[server]\nallowed_hosts = [\"LLM.internal\", \"10.0.0.2:6688\"]\n")
                .unwrap(),
            vec!["llm.internal".to_string(), "10.0.0.2:6688".to_string()]
        );
        let error =
            resolve_text("[server]\nallowed_hosts = [\"https://llm.internal/\"]\n").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("bridge.toml:2: server.allowed_hosts: `https://llm.internal/`"),
            "{error}"
        );
        assert!(resolve(None).unwrap().is_empty());
    }
}
