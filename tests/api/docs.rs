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
