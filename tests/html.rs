//! The HTML report: self-contained, escaped, counts equal to the JSON report's; and, in
//! headless Chromium, the page loads and its filters show exactly the matching findings.
//!
//! The browser test needs Debian's `chromium` (`.ci/run` installs it and runs it with
//! `cargo test --test html -- --include-ignored`); it is ignored by a plain `cargo test` so a
//! fresh machine without a browser still passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Scan, TempDir};
use serde_json::Value;

fn html_report(dir: &TempDir, sources: &[&str]) -> PathBuf {
    let out = dir.path().join("report.html");
    Scan::of(sources)
        .format("html")
        .output(&out)
        .run()
        .assert_code(0);
    out
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn html_is_self_contained_escaped_and_counts_match_the_json() {
    let tmp = TempDir::new("html");
    let json = Scan::new("examples/demo-tenant")
        .format("json")
        .run()
        .json();
    let html = std::fs::read_to_string(html_report(&tmp, &["examples/demo-tenant"])).expect("html");
    let findings = json["findings"].as_array().expect("findings");
    assert_eq!(count(&html, "<details class=\"finding\""), findings.len());
    assert!(html.contains(&format!(
        "id=\"count-fail\" data-count=\"{}\"",
        json["summary"]["fail"]
    )));
    assert!(html.contains(&format!(
        "id=\"count-not_evaluated\" data-count=\"{}\"",
        json["summary"]["not_evaluated"]
    )));
    // Each app's finding says whose app it is, as the JSON subject does.
    for org in ["this_tenant", "microsoft", "other"] {
        assert!(
            findings
                .iter()
                .any(|f| f["subject"]["organization"]["kind"] == org),
            "{org} in the JSON"
        );
    }
    assert_eq!(
        count(&html, "<span class=\"org\">"),
        findings
            .iter()
            .filter(|f| f["subject"]["organization"].is_object())
            .count()
    );
    for shown in [
        "<span class=\"org\">this tenant</span>",
        "<span class=\"org\">Microsoft</span>",
        "<span class=\"org\">another organization: mailmerge-magic.example (publisher not verified)</span>",
        "<span class=\"org\">another organization: Fabrikam, Inc. (verified publisher)</span>",
    ] {
        assert!(html.contains(shown), "{shown}");
    }
    // Nothing is loaded from elsewhere.
    for external in ["src=\"http", "href=\"http", "<link", "@import", "url("] {
        assert!(!html.contains(external), "{external}");
    }

    // A hostile display name is text, not markup.
    let file = tmp.write(
        "app.json",
        r#"{"id": "00000000-0000-4000-8000-0000000000ac", "appId": "11111111-0000-4000-8000-0000000000ac",
            "displayName": "<img src=x onerror=alert(1)>\"'", "web": {"redirectUris": ["http://evil.example/cb"]}}"#,
    );
    let html =
        std::fs::read_to_string(html_report(&tmp, &[file.to_str().expect("utf-8")])).expect("html");
    assert!(!html.contains("<img"), "raw markup in the report");
    // The apostrophe stays: every attribute is in double quotes, so it can end none.
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;&quot;'"));
}

#[test]
fn hostile_names_are_text_in_elements_and_attributes() {
    let tmp = TempDir::new("html-hostile");
    let names = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        // An ANSI escape and a right-to-left override: defused, as in the other formats.
        "\u{1b}[31mRed\u{202E}txt.exe",
    ];
    let apps: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            serde_json::json!({
                "id": format!("00000000-0000-4000-8000-00000000000{i}"),
                "appId": format!("11111111-0000-4000-8000-00000000000{i}"),
                "displayName": name,
                "web": {"redirectUris": ["http://evil.example/cb"]},
            })
        })
        .collect();
    let file = tmp.write("apps.json", Value::from(apps).to_string());
    let html =
        std::fs::read_to_string(html_report(&tmp, &[file.to_str().expect("utf-8")])).expect("html");

    assert_eq!(count(&html, "<script"), 1, "only the report's own script");
    assert!(!html.contains("<img"), "raw markup in the report");
    // In element content (the finding's summary) and in an attribute (the app filter's key).
    assert!(html.contains("<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>"));
    assert!(html.contains("<b>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</b>"));
    assert!(html.contains("data-app=\"&lt;script&gt;alert(1)&lt;/script&gt; 11111111-"));
    assert!(html.contains("data-app=\"&quot;&gt;&lt;img src=x onerror=alert(1)&gt; 11111111-"));
    assert!(html.contains("<b>\u{FFFD}[31mRed\u{FFFD}txt.exe</b>"));
    let hidden: Vec<char> = html
        .chars()
        .filter(|&c| {
            (c.is_control() && !"\n\t\r".contains(c))
                || ('\u{202A}'..='\u{202E}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .map(|n| Path::new("/usr/bin").join(n))
        .find(|p| p.exists())
}

/// The page's DOM after its script ran, as headless Chromium renders `url`.
fn dump_dom(browser: &Path, url: &str, profile: &Path) -> String {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Findings the page shows (not hidden by a filter).
fn visible(dom: &str) -> usize {
    dom.split("<details class=\"finding\"")
        .skip(1)
        .filter(|tail| {
            let tag_end = tail.find('>').unwrap_or(0);
            !tail[..tag_end].contains(" hidden")
        })
        .count()
}

#[test]
#[ignore = "needs Debian's chromium; .ci/run runs it"]
fn filters_work_in_headless_chromium() {
    let browser = chromium().expect("chromium is installed (apt-get install chromium)");
    let tmp = TempDir::new("html-browser");
    let json = Scan::new("examples/demo-tenant")
        .format("json")
        .run()
        .json();
    let page = html_report(&tmp, &["examples/demo-tenant"]);
    let url = format!("file://{}", page.display());
    let profile = tmp.path().join("profile");
    let findings: Vec<&Value> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .collect();

    let dom = dump_dom(&browser, &url, &profile);
    assert_eq!(visible(&dom), findings.len());
    assert!(dom.contains(&format!("<span id=\"shown\">{}</span>", findings.len())));

    let cases: Vec<(String, usize)> = vec![
        (
            "severity=high".into(),
            findings.iter().filter(|f| f["severity"] == "high").count(),
        ),
        (
            "rule=CRED-001".into(),
            findings
                .iter()
                .filter(|f| f["rule_id"] == "CRED-001")
                .count(),
        ),
        (
            "outcome=not_evaluated".into(),
            findings
                .iter()
                .filter(|f| f["outcome"] == "not_evaluated")
                .count(),
        ),
        (
            "app=sysaid&severity=medium".into(),
            findings
                .iter()
                .filter(|f| {
                    f["severity"] == "medium"
                        && f["subject"]["display_name"]
                            .as_str()
                            .is_some_and(|n| n.to_lowercase().contains("sysaid"))
                })
                .count(),
        ),
    ];
    for (fragment, expected) in cases {
        assert!(expected > 0, "{fragment}: the demo has matching findings");
        let dom = dump_dom(&browser, &format!("{url}#{fragment}"), &profile);
        assert_eq!(visible(&dom), expected, "{fragment}");
        assert!(
            dom.contains(&format!("<span id=\"shown\">{expected}</span>")),
            "{fragment}"
        );
    }
}
