//! The dependency graph of the library's top-level modules points one way: no cycles, and
//! the stages (`source`, `vision`, `tracking`) know nothing of the settings file, the
//! composition or the app; the game rules and the score table stand alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules of `src/` (a file `x.rs` or a folder `x/`), without the binary's `cli`.
fn modules(src: &Path) -> BTreeSet<String> {
    std::fs::read_dir(src)
        .expect("src")
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".rs").unwrap_or(&name).to_string();
            (!matches!(stem.as_str(), "lib" | "main" | "cli")).then_some(stem)
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("dir").filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules `text` refers to through `crate::name` (code and `use` lines;
/// comments are skipped, so doc links do not count).
fn references(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if modules.contains(&name) {
                found.insert(name);
            }
        }
        // `use crate::{a, b::c}` groups.
        if let Some(group) = code.split("crate::{").nth(1) {
            for part in group.split(',') {
                let name: String = part.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if modules.contains(&name) {
                    found.insert(name);
                }
            }
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    let mut graph = BTreeMap::new();
    for m in &mods {
        let mut files = Vec::new();
        let dir = src.join(m);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        } else {
            files.push(src.join(format!("{m}.rs")));
        }
        let mut deps = BTreeSet::new();
        for f in files {
            let text = std::fs::read_to_string(&f).expect("source file");
            deps.extend(references(&text, &mods));
        }
        deps.remove(m);
        graph.insert(m.clone(), deps);
    }
    graph
}

fn cycle_from(
    node: &str,
    graph: &BTreeMap<String, BTreeSet<String>>,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(i) = path.iter().position(|p| p == node) {
        let mut cycle = path[i..].to_vec();
        cycle.push(node.to_string());
        return Some(cycle);
    }
    if done.contains(node) {
        return None;
    }
    path.push(node.to_string());
    for next in graph.get(node).into_iter().flatten() {
        if let Some(c) = cycle_from(next, graph, path, done) {
            return Some(c);
        }
    }
    path.pop();
    done.insert(node.to_string());
    None
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = graph();
    assert!(graph.len() >= 8, "{graph:?}");
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = cycle_from(node, &graph, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}\n{graph:#?}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_stages_do_not_know_the_settings_file_or_the_app() {
    let graph = graph();
    for stage in ["source", "vision", "tracking"] {
        let deps = &graph[stage];
        for forbidden in ["config", "compose", "app", "engine", "report"] {
            assert!(!deps.contains(forbidden), "{stage} imports {forbidden}: {deps:?}");
        }
    }
    assert!(!graph["engine"].contains("config"), "the engine takes specs, not settings");
}

#[test]
fn the_game_rules_and_the_score_table_stand_alone() {
    let graph = graph();
    // The rules are plain logic driven by plain observations; the score table is storage.
    // Neither knows the window, the engine, the settings file or the other.
    for (module, forbidden) in [
        ("game", ["app", "engine", "config", "compose", "store", "source", "vision"].as_slice()),
        ("store", ["app", "engine", "config", "compose", "game", "source", "vision", "tracking"].as_slice()),
    ] {
        let deps = &graph[module];
        for f in forbidden {
            assert!(!deps.contains(*f), "{module} imports {f}: {deps:?}");
        }
    }
}

#[test]
fn the_checker_sees_imports_and_ignores_comments() {
    let mods: BTreeSet<String> = ["config", "vision", "app"].iter().map(|s| s.to_string()).collect();
    let text = "use crate::{config::Settings, vision};\n// crate::app is only mentioned\nlet x = crate::vision::f();";
    let found = references(text, &mods);
    assert_eq!(found, ["config", "vision"].iter().map(|s| s.to_string()).collect());
}
