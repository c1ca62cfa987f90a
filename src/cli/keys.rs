//! `llm-bridge keys …`: set, unset and list the variables of `.env` from a
//! shell. Arguments are all checked before the file is read, so bad input
//! leaves it untouched; values are never printed, only names and masks.
//! The editing itself is [`crate::config::env_file`]'s. A name the environment
//! also sets gets a warning: real variables win over `.env`, so the edit
//! would otherwise look as if it did nothing.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use super::{KeysArgs, KeysCommand};
use crate::config::secret::mask;
use crate::config::{Env, dotenv, env_file};

/// Runs one keys command, printing to stdout. `list` exits with 1 when a line
/// of the file cannot be parsed (dotenvy stops loading there). `process_env`
/// is the environment without `.env`, to warn about names it shadows.
pub fn run(args: KeysArgs, process_env: &Env) -> Result<ExitCode, String> {
    let path = args.env_file.as_path();
    let mut out = String::new();
    let code = match args.command {
        KeysCommand::Set { pairs } => {
            let pairs = parse_pairs(&pairs)?;
            let code = set(path, &pairs, &mut out)?;
            for (name, value) in &pairs {
                if process_env.shadows(name, value) {
                    eprintln!("llm-bridge: warning: {}", dotenv::shadowed_warning(name));
                }
            }
            code
        }
        KeysCommand::Unset { names } => {
            let code = unset(path, &names, &mut out)?;
            let mut warned: Vec<&str> = Vec::new();
            for name in names.iter().filter(|name| process_env.is_set(name)) {
                if warned.contains(&name.as_str()) {
                    continue;
                }
                warned.push(name);
                eprintln!("llm-bridge: warning: {}", dotenv::still_set_warning(name));
            }
            code
        }
        KeysCommand::List => list(path, &mut out)?,
    };
    print!("{out}");
    Ok(code)
}

/// `NAME=VALUE` arguments, checked. Errors name the argument by position and
/// name but never show a value: a mistyped argument may be all secret.
fn parse_pairs(arguments: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut pairs: Vec<(String, String)> = Vec::with_capacity(arguments.len());
    for (index, argument) in arguments.iter().enumerate() {
        let position = index + 1;
        let Some((name, value)) = argument.split_once('=') else {
            return Err(format!(
                "argument {position} has no `=`: expected NAME=VALUE (NAME= sets an empty value){}",
                option_hint(argument)
            ));
        };
        check_name(name, position)?;
        if let Some(problem) = env_file::value_problem(value) {
            return Err(format!(
                "the value of {name} (argument {position}) contains {problem}; .env values are one line"
            ));
        }
        if pairs.iter().any(|(n, _)| n == name) {
            return Err(format!(
                "{name} is given twice (argument {position}); give each name once"
            ));
        }
        pairs.push((name.to_string(), value.to_string()));
    }
    Ok(pairs)
}

fn check_name(name: &str, position: usize) -> Result<(), String> {
    if env_file::valid_name(name) {
        Ok(())
    } else {
        Err(format!(
            "argument {position}: `{name}` is not a variable name \
             (letters, digits and _, not starting with a digit){}",
            option_hint(name)
        ))
    }
}

/// `set` takes every argument after its first NAME=VALUE as another one (so
/// that a mistyped `--NAME=secret` reaches us rather than clap's error, which
/// would print it whole); say where options go.
fn option_hint(argument: &str) -> &'static str {
    if argument.starts_with('-') {
        "; options such as --env-file go before the NAME=VALUE arguments"
    } else {
        ""
    }
}

fn read(path: &Path) -> Result<Option<String>, String> {
    env_file::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    env_file::write_atomic(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn set(path: &Path, pairs: &[(String, String)], out: &mut String) -> Result<ExitCode, String> {
    let text = read(path)?;
    let (edited, outcome) = env_file::set(text.as_deref().unwrap_or(""), pairs);
    write(path, &edited)?;
    let mut changes = Vec::new();
    if !outcome.updated.is_empty() {
        changes.push(format!("updated {}", outcome.updated.join(", ")));
    }
    if !outcome.added.is_empty() {
        changes.push(format!("added {}", outcome.added.join(", ")));
    }
    let created = if text.is_none() { " (new file)" } else { "" };
    let _ = writeln!(out, "{} in {}{created}", changes.join(", "), path.display());
    Ok(ExitCode::SUCCESS)
}

fn unset(path: &Path, names: &[String], out: &mut String) -> Result<ExitCode, String> {
    for (index, name) in names.iter().enumerate() {
        check_name(name, index + 1)?;
    }
    let text = read(path)?;
    let (edited, removed) = env_file::unset(text.as_deref().unwrap_or(""), names);
    if !removed.is_empty() {
        write(path, &edited)?;
    }
    let mut absent: Vec<&str> = Vec::new();
    for name in names {
        if !removed.contains(name) && !absent.contains(&name.as_str()) {
            absent.push(name);
        }
    }
    let file = path.display();
    let line = match (removed.is_empty(), absent.is_empty()) {
        (false, true) => format!("removed {} from {file}", removed.join(", ")),
        (false, false) => format!(
            "removed {} from {file}; not set there: {}",
            removed.join(", "),
            absent.join(", ")
        ),
        _ => format!("not set in {file}: {}; nothing changed", absent.join(", ")),
    };
    let _ = writeln!(out, "{line}");
    Ok(ExitCode::SUCCESS)
}

fn list(path: &Path, out: &mut String) -> Result<ExitCode, String> {
    let text = read(path)?.ok_or_else(|| format!("{} does not exist", path.display()))?;
    let variables = env_file::variables(&text);
    let width = variables
        .values
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0);
    for (name, value) in &variables.values {
        let _ = writeln!(out, "{name:<width$}  {}", mask(value));
    }
    if variables.values.is_empty() && variables.unreadable_line.is_none() {
        eprintln!("llm-bridge: no variables in {}", path.display());
    }
    match variables.unreadable_line {
        Some(line) => {
            eprintln!("llm-bridge: {}", dotenv::unreadable(path, line));
            Ok(ExitCode::from(1))
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_show_at_most_seven_characters() {
        assert_eq!(mask("sk-proj-abcdef1111"), "sk-…1111");
        assert_eq!(mask("123456789012"), "123…9012");
        assert_eq!(mask("12345678901"), "****");
        assert_eq!(mask("密钥密钥密钥密钥密钥密钥"), "密钥密…密钥密钥");
        assert_eq!(mask(""), "(empty)");
    }

    #[test]
    fn bad_arguments_are_named_without_their_value() {
        let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let error = parse_pairs(&args(&["A=1", "sk-secret"])).unwrap_err();
        assert!(
            error.contains("argument 2") && !error.contains("secret"),
            "{error}"
        );
        let error = parse_pairs(&args(&["BAD-NAME=sk-secret"])).unwrap_err();
        assert!(
            error.contains("BAD-NAME") && !error.contains("secret"),
            "{error}"
        );
        let error = parse_pairs(&args(&["A=sk-\nsecret"])).unwrap_err();
        assert!(error.contains("A ") && !error.contains("secret"), "{error}");
        let error = parse_pairs(&args(&["A=1", "A=2"])).unwrap_err();
        assert!(error.contains("twice"), "{error}");
        assert_eq!(
            parse_pairs(&args(&["A=", "B=x=y"])).unwrap(),
            vec![("A".into(), String::new()), ("B".into(), "x=y".into())]
        );
    }
}
