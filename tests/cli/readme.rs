//! The README shows generated text: the rule table (from the rule files), the demo scan, the
//! demo's mailbox reach and action plan, and one go-live checklist.
//! This test fails when either is stale; `UPDATE_README=1 cargo test --test cli readme::`
//! rewrites them.

use crate::common::{code, m365audit, root, stderr, stdout};

/// Replaces the text between `<!-- NAME:start -->` and `<!-- NAME:end -->`.
fn replace_section(readme: &str, name: &str, body: &str) -> String {
    let start = format!("<!-- {name}:start -->\n");
    let end = format!("<!-- {name}:end -->");
    let s = readme
        .find(&start)
        .unwrap_or_else(|| panic!("README has no {start:?}"))
        + start.len();
    let e = readme[s..]
        .find(&end)
        .unwrap_or_else(|| panic!("README has no {end:?}"))
        + s;
    format!("{}{body}{}", &readme[..s], &readme[e..])
}

#[test]
fn readme_generated_sections_are_current() {
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");

    let rules = m365audit(["rules", "list", "--format", "markdown"]);
    assert_eq!(code(&rules), 0, "{}", stderr(&rules));
    let demo = m365audit(["scan", "examples/demo-tenant", "--as-of", "2026-11-22"]);
    assert_eq!(code(&demo), 0, "{}", stderr(&demo));
    assert!(
        stderr(&demo).is_empty(),
        "demo scan warns: {}",
        stderr(&demo)
    );

    let reach = m365audit(["reach", "examples/demo-tenant"]);
    assert_eq!(code(&reach), 0, "{}", stderr(&reach));

    let checklist = m365audit([
        "checklist",
        "--profile",
        "exact-exchange-online",
        "--app",
        "Exact Globe+ Exchange Online",
        "--as-of",
        "2026-11-22",
        "examples/demo-tenant",
    ]);
    assert_eq!(code(&checklist), 1, "{}", stderr(&checklist));

    let plan = m365audit([
        "plan",
        "examples/demo-tenant",
        "--as-of",
        "2026-11-22",
        "--top",
        "5",
    ]);
    assert_eq!(code(&plan), 0, "{}", stderr(&plan));

    let expected = replace_section(&readme, "rules", &stdout(&rules));
    let expected = replace_section(
        &expected,
        "plan",
        &format!(
            "```text\n$ m365audit plan examples/demo-tenant --as-of 2026-11-22 --top 5\n{}```\n",
            stdout(&plan)
        ),
    );
    let expected = replace_section(
        &expected,
        "checklist",
        &format!("```text\n{}```\n", stdout(&checklist)),
    );
    let expected = replace_section(
        &expected,
        "reach",
        &format!("```text\n{}```\n", stdout(&reach)),
    );
    let expected = replace_section(
        &expected,
        "demo",
        &format!("```text\n{}```\n", stdout(&demo)),
    );
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(&path, &expected).expect("write README.md");
        return;
    }
    assert!(
        readme == expected,
        "README.md is stale: run `UPDATE_README=1 cargo test --test cli readme::` and review the diff"
    );
}
