//! Execution providers: asking for a GPU provider where it cannot start (the CPU build of
//! ONNX Runtime, no GPU) runs on the CPU, says so in one line, and finds the same faces.

mod common;

/// `predict --json` on a real photo with `extra` options: (faces and labels, stderr).
fn predict(extra: &[&str]) -> (Vec<String>, String) {
    let photo = common::data("dlib-faces/2008_002470.jpg");
    let o = common::run(&[&["predict", "--json", "--image", photo.to_str().expect("utf8")], extra].concat());
    assert!(o.status.success(), "{}", common::stderr(&o));
    let frame: serde_json::Value = serde_json::from_str(common::stdout(&o).trim()).expect("one JSON line");
    let faces = frame["faces"].as_array().expect("faces");
    let labels = faces.iter().map(|f| format!("{} {}", f["box"], f["label"])).collect();
    (labels, common::stderr(&o))
}

fn fallback_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains("cannot start") && l.contains("running on the CPU")).collect()
}

#[test]
fn cuda_without_a_gpu_library_falls_back_to_the_cpu_with_one_line() {
    let (on_cpu, quiet) = predict(&[]);
    assert!(fallback_lines(&quiet).is_empty(), "the CPU needs no fallback: {quiet}");
    let (fallen_back, stderr) = predict(&["--execution-provider", "cuda"]);
    let lines = fallback_lines(&stderr);
    // Two sessions (detector, classifier) fall back; one line says it.
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("execution provider cuda"), "{}", lines[0]);
    assert_eq!(fallen_back, on_cpu, "the same faces and labels on the CPU");
}

#[test]
fn the_settings_file_chooses_the_provider() {
    let dir = common::project("target/test-execution-provider");
    std::fs::create_dir_all(&dir).expect("test folder");
    let config = dir.join("settings.toml");
    std::fs::write(&config, "execution_provider = \"tensorrt\"\n").expect("settings file");
    let (_, stderr) = predict(&["--config", config.to_str().expect("utf8")]);
    let lines = fallback_lines(&stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("execution provider tensorrt"), "{}", lines[0]);
    let o = common::run(&["predict", "--execution-provider", "rocm", "--image", "x.jpg"]);
    assert!(!o.status.success());
    assert!(common::stderr(&o).contains("cpu, cuda, tensorrt"), "{}", common::stderr(&o));
}
