//! "Fool the AI" in a real window (virtual display, software Vulkan): on the CREMA-D happy
//! clip, the key `k` opens the view on the actor's face, the attack runs on its worker
//! thread and turns the classifier's reading within the budget; the view's Back button
//! closes it and its corner button opens it again (touch). The screenshot shows the
//! original, the hacked crop and the amplified difference side by side. The screenshot
//! stays in target/screenshots/ to look at.
#![cfg(feature = "app")]

mod common;

use image::RgbImage;
use serde_json::Value;

/// The budget of the view's attack (8/255), and the slack of rendering a gray picture
/// through egui into a screenshot (gray levels).
const BUDGET_LEVELS: f32 = 8.0;
const RENDER_SLACK_LEVELS: f32 = 3.0;

fn rect(v: &Value) -> [f32; 4] {
    let a: Vec<f32> = v.as_array().expect("rect").iter().map(|x| x.as_f64().expect("number") as f32).collect();
    [a[0], a[1], a[2], a[3]]
}

/// Gray levels of the screenshot inside `r` (window pixels), sampled on a grid over the
/// central 80% (away from the edges' filtering).
fn samples(shot: &RgbImage, r: [f32; 4]) -> Vec<f32> {
    let n = 24;
    let mut out = Vec::with_capacity(n * n);
    for j in 0..n {
        for i in 0..n {
            let u = 0.1 + 0.8 * (i as f32 + 0.5) / n as f32;
            let v = 0.1 + 0.8 * (j as f32 + 0.5) / n as f32;
            let x = (r[0] + u * (r[2] - r[0])) as u32;
            let y = (r[1] + v * (r[3] - r[1])) as u32;
            let p = shot.get_pixel(x.min(shot.width() - 1), y.min(shot.height() - 1)).0;
            out.push((f32::from(p[0]) + f32::from(p[1]) + f32::from(p[2])) / 3.0);
        }
    }
    out
}

fn mean(v: &[f32]) -> f32 {
    v.iter().sum::<f32>() / v.len().max(1) as f32
}

fn spread(v: &[f32]) -> f32 {
    let m = mean(v);
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f32>() / v.len().max(1) as f32).sqrt()
}

#[test]
fn fool_the_ai_turns_the_actors_face_and_shows_three_pictures() {
    let video = common::data("crema-d/mp4/1001_DFA_HAP_XX.mp4");
    let dir = common::project("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    let png = dir.join("fool-the-ai.png");
    let json = png.with_extension("json");
    let config = dir.join("fool-the-ai-settings.toml");
    for f in [&png, &json, &config] {
        let _ = std::fs::remove_file(f);
    }
    let out = {
        let _one_at_a_time = common::one_display();
        common::xvfb_app(600, common::XVFB_SCREEN)
            .args(["--video", video.to_str().expect("utf8"), "--start-screen", "mirror", "--press", "k"])
            // Wait for the key's attack, close the view, open it by touch, wait for that attack.
            .args(["--tap", "@fool-difference,fool-close,fool,@fool-difference", "--exit-after-frames", "5"])
            .arg("--config")
            .arg(&config)
            .arg("--screenshot")
            .arg(&png)
            .output()
            .expect("xvfb-run (scripts/setup.sh installs it)")
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "app failed: {}\n{stdout}\n{stderr}", out.status);
    assert!(!stderr.contains("panicked") && !stderr.contains("no button"), "{stderr}");

    // Two attacks (key, then touch), each reported with its result line.
    let results: Vec<&str> = stdout.lines().filter(|l| l.starts_with("Fool the AI: ")).collect();
    assert_eq!(results.len(), 2, "one line per attack:\n{stdout}");
    for line in &results {
        assert!(line.ends_with(": fooled"), "the label changed within the budget: {line}");
        let change: u32 = line
            .split("largest change ")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no change in {line}"));
        assert!(change >= 1 && change as f32 <= BUDGET_LEVELS, "{line}");
        let queries: usize = line
            .split(" after ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no queries in {line}"));
        assert!((1..=10_000).contains(&queries), "{line}");
        // The reading changed: the two classes differ.
        let classes: Vec<&str> = line.trim_start_matches("Fool the AI: ").split(" -> ").collect();
        let from = classes[0].split(' ').next();
        let to = classes[1].split(' ').next();
        assert_ne!(from, to, "{line}");
    }

    // The view is open: its three pictures side by side, its buttons, no corner button.
    let shot = image::open(&png).unwrap_or_else(|e| panic!("{}: {e}\n{stderr}", png.display())).into_rgb8();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
    let items = &report["items"];
    let pictures = ["fool-original", "fool-hacked", "fool-difference"].map(|n| rect(&items[n]));
    for w in pictures.windows(2) {
        assert!(w[0][2] <= w[1][0] && (w[0][1] - w[1][1]).abs() < 1.0, "side by side: {pictures:?}");
        assert!(w[0][2] - w[0][0] > 100.0, "large enough to see: {pictures:?}");
    }
    let buttons = &report["buttons"];
    for name in ["fool-prev", "fool-next", "fool-again", "fool-close"] {
        assert!(buttons.get(name).is_some(), "{name} missing: {buttons}");
    }
    assert!(buttons.get("fool").is_none(), "the corner button is hidden while the view is open");

    // What the pictures show: a face (not flat), the hacked one within the budget of it,
    // and the difference around mid-gray.
    let [original, hacked, difference] = pictures.map(|r| samples(&shot, r));
    assert!(spread(&original) > 15.0, "the original crop shows a face: spread {}", spread(&original));
    let max_change = original.iter().zip(&hacked).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(max_change <= BUDGET_LEVELS + RENDER_SLACK_LEVELS, "hacked differs by {max_change} levels");
    assert!((mean(&difference) - 128.0).abs() < 40.0, "difference mean {}", mean(&difference));
    assert!(spread(&difference) > 10.0, "the amplified change shows: spread {}", spread(&difference));
    let unlike: f32 = original.iter().zip(&difference).map(|(a, b)| (a - b).abs()).sum::<f32>() / original.len() as f32;
    assert!(unlike > 10.0, "the difference is not the face itself: {unlike}");
}
