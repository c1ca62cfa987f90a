//! The README stays true to the files it quotes.

use std::path::Path;

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

#[test]
fn the_readme_config_excerpt_is_taken_from_the_example_file() {
    let readme = read("README.md");
    let example = read("llm-bridge.example.toml");
    let start = readme
        .find("`llm-bridge.example.toml` shows every key")
        .expect("the README introduces the example file");
    let block = &readme[start..];
    let block = &block[block.find("```toml\n").unwrap() + 8..];
    let block = &block[..block.find("```").unwrap()];
    let lines: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 5, "{block}");
    let example_lines: Vec<&str> = example.lines().collect();
    for line in lines {
        assert!(
            example_lines.contains(&line),
            "README line not in llm-bridge.example.toml: {line}"
        );
    }
}

#[test]
fn the_readme_layout_names_every_module() {
    let readme = read("README.md");
    let layout = &readme[readme.find("## Layout").expect("a layout section")..];
    let lib = read("src/lib.rs");
    let modules: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    assert!(modules.len() > 10);
    for module in modules {
        let file = format!("src/{module}.rs");
        let folder = format!("src/{module}/");
        assert!(
            layout.contains(&file) || layout.contains(&folder),
            "README's layout lacks {module}"
        );
        assert!(
            lib.contains(&format!("[`{module}`]")),
            "lib.rs docs lack {module}"
        );
    }
}

/// The top-level modules each top-level module of `src/` uses, read from
/// its code (comments and test modules left out).
fn module_uses() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut uses = std::collections::BTreeMap::new();
    let mut folders = vec![src.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap();
            let module = relative.components().next().unwrap();
            let module = module
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if ["main", "lib"].contains(&module.as_str()) || path.ends_with("tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
            let used: &mut std::collections::BTreeSet<String> =
                uses.entry(module.clone()).or_default();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (at, _) in line.match_indices("crate::") {
                    let rest = &line[at + 7..];
                    let names: Vec<&str> = match rest.strip_prefix('{') {
                        Some(list) => list.split([',', '}']).collect(),
                        None => vec![rest],
                    };
                    for name in names {
                        let name: String = name
                            .trim()
                            .chars()
                            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                            .collect();
                        if !name.is_empty() && name != module && name != "self" {
                            used.insert(name);
                        }
                    }
                }
            }
        }
    }
    uses
}

#[test]
fn the_top_level_modules_use_each_other_one_way() {
    let uses = module_uses();
    assert!(uses.len() > 15, "{uses:?}");
    // A cycle shows as a module reachable from itself.
    for start in uses.keys() {
        let mut seen = std::collections::BTreeSet::new();
        let mut todo: Vec<&String> = uses[start].iter().collect();
        while let Some(module) = todo.pop() {
            assert_ne!(module, start, "{start} reaches itself: {uses:?}");
            if seen.insert(module.clone())
                && let Some(next) = uses.get(module)
            {
                todo.extend(next);
            }
        }
    }
    // Only the composition root, and the commands it serves, use it.
    for (module, used) in &uses {
        if module != "cli" {
            assert!(!used.contains("wiring"), "{module} uses the wiring");
        }
        assert!(!used.contains("cli"), "{module} uses the command line");
    }
}
