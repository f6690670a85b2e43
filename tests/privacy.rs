//! Privacy by construction: a full scripted game in a real window writes nothing but the
//! score database (and a settings file, a status file or logs, if any) in the folders it
//! may write to (config, data, home, temp, the current folder), no picture anywhere there,
//! and opens no network socket (traced system calls: only local sockets, e.g. the display's).
#![cfg(feature = "app")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A CREMA-D clip with a happy face (the game's one target).
const CLIP: &str = "crema-d/mp4/1001_DFA_HAP_XX.mp4";
/// Seconds the whole run may take.
const TIMEOUT_S: &str = "300";
/// Names a run may leave behind: the score database with SQLite's side files, the
/// settings file, the health status file.
const ALLOWED_NAMES: [&str; 5] =
    ["scores.sqlite3", "scores.sqlite3-wal", "scores.sqlite3-shm", "settings.toml", "status.json"];
/// Extensions of log files, also allowed.
const LOG_EXTENSIONS: [&str; 1] = ["log"];
/// Picture extensions that must not appear at all.
const PICTURE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "bmp", "webp", "gif"];
/// Socket families that reach beyond this machine.
const NETWORK_FAMILIES: [&str; 3] = ["AF_INET", "AF_INET6", "AF_PACKET"];

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, found);
        } else {
            found.push(p);
        }
    }
}

#[test]
fn a_full_game_writes_only_scores_and_opens_no_network_socket() {
    let root = tempfile::tempdir().expect("tempdir");
    let dirs = ["config", "data", "home", "tmp", "cwd"].map(|d| root.path().join(d));
    for d in &dirs {
        std::fs::create_dir_all(d).expect("folder");
    }
    let [config, data, home, tmp, cwd] = &dirs;
    // The trace lives outside the watched folders.
    let trace_dir = tempfile::tempdir().expect("tempdir");
    let trace = trace_dir.path().join("syscalls.txt");
    let data_dir = data.join("emoji-mirror");
    let out = Command::new("timeout")
        .arg(TIMEOUT_S)
        .args(["xvfb-run", "-a", "-s", "-screen 0 1280x720x24"])
        .args(["strace", "-f", "-qq", "-e", "trace=socket,connect", "-e", "signal=none", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_emoji-mirror"))
        .arg("--video")
        .arg(common::data(CLIP))
        .args(["--autoplay", "--demo-sequence", "happy", "--data-dir"])
        .arg(&data_dir)
        .current_dir(cwd)
        .env("XDG_CONFIG_HOME", config)
        .env("XDG_DATA_HOME", data)
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("HOME", home)
        .env("TMPDIR", tmp)
        // The graphics driver's own shader cache is not the app's writing.
        .env("MESA_SHADER_CACHE_DISABLE", "true")
        // The app itself turns ONNX Runtime's telemetry off; the test must not do it for it.
        .env_remove("ORT_DISABLE_TELEMETRY")
        .output()
        .expect("timeout, xvfb-run and strace (scripts/setup.sh installs them)");
    let err = common::stderr(&out);
    assert!(out.status.success(), "the game failed: {}\n{err}", out.status);

    let mut written = Vec::new();
    files_under(root.path(), &mut written);
    assert!(
        written.iter().any(|p| p.file_name().is_some_and(|n| n == "scores.sqlite3")),
        "the game is stored (else this test proves nothing): {written:?}"
    );
    for p in &written {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
        assert!(!PICTURE_EXTENSIONS.contains(&ext.as_str()), "a picture was written: {}", p.display());
        assert!(
            ALLOWED_NAMES.contains(&name) || LOG_EXTENSIONS.contains(&ext.as_str()),
            "a file other than scores, settings and logs was written: {}",
            p.display()
        );
    }

    let calls = std::fs::read_to_string(&trace).expect("the trace");
    assert!(calls.contains("socket(") || calls.contains("connect("), "the trace holds the display's socket:\n{calls}");
    let network: Vec<&str> = calls.lines().filter(|l| NETWORK_FAMILIES.iter().any(|f| l.contains(f))).collect();
    assert!(network.is_empty(), "network sockets were opened:\n{}", network.join("\n"));
}
