//! HTML: one self-contained file (no external scripts, styles or fonts) with the summary
//! counts, filters by severity, rule, app and outcome, and every finding expandable to its
//! evidence and remediation. Filters can be preset in the URL fragment
//! (`report.html#severity=high&rule=CRED-001&app=sysaid`), which is also how the browser
//! test drives them.

use std::io::{self, Write};

use super::{Report, format_as_of};
use crate::finding::{Outcome, Severity};

use super::escape_markup as esc;

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1b1f24}
h1{font-size:1.4rem}.meta{color:#57606a}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.6rem 1rem;min-width:7rem}
.card b{display:block;font-size:1.5rem}
.filters{display:flex;gap:.8rem;flex-wrap:wrap;margin:1rem 0;align-items:center}
details.finding{border:1px solid #d0d7de;border-radius:6px;margin:.35rem 0;padding:.4rem .8rem}
details.finding summary{cursor:pointer}
.sev{display:inline-block;min-width:5.5rem;font-weight:600}
.critical{color:#a40e26}.high{color:#cf222e}.medium{color:#9a6700}.low{color:#0969da}.info{color:#57606a}
.rule{font-family:ui-monospace,monospace;margin:0 .6rem}
pre{background:#f6f8fa;padding:.6rem;overflow:auto;white-space:pre-wrap}
.tag{font-size:.8rem;border:1px solid #d0d7de;border-radius:1rem;padding:0 .5rem;margin-left:.4rem}
"#;

const SCRIPT: &str = r#"
(function(){
  var rows=[].slice.call(document.querySelectorAll('details.finding'));
  var f={severity:document.getElementById('f-severity'),rule:document.getElementById('f-rule'),
         outcome:document.getElementById('f-outcome'),app:document.getElementById('f-app')};
  function apply(){
    var app=f.app.value.trim().toLowerCase(), shown=0;
    rows.forEach(function(r){
      var ok=(!f.severity.value||r.dataset.severity===f.severity.value)
        &&(!f.rule.value||r.dataset.rule===f.rule.value)
        &&(!f.outcome.value||r.dataset.outcome===f.outcome.value)
        &&(!app||r.dataset.app.indexOf(app)>=0);
      r.hidden=!ok; if(ok)shown++;
    });
    document.getElementById('shown').textContent=String(shown);
  }
  var params=new URLSearchParams(location.hash.replace(/^#/,''));
  Object.keys(f).forEach(function(k){ if(params.has(k))f[k].value=params.get(k);
    f[k].addEventListener('input',apply); f[k].addEventListener('change',apply); });
  apply();
})();
"#;

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    let shown: Vec<_> = report
        .findings
        .iter()
        .filter(|f| report.includes_passed || f.outcome != Outcome::Pass)
        .collect();
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    )?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>m365audit report, as of {}</title>\n<style>{STYLE}</style></head><body>",
        esc(&format_as_of(report.as_of))
    )?;
    writeln!(out, "<h1>m365audit report</h1>")?;
    writeln!(
        out,
        "<p class=\"meta\">As of {} · generated {} · m365audit {}</p>",
        esc(&format_as_of(report.as_of)),
        esc(&crate::dates::rfc3339(report.generated_at)),
        esc(report.tool_version)
    )?;
    for src in &report.sources {
        writeln!(
            out,
            "<p class=\"meta\">Source <code>{}</code>: {} app(s){}</p>",
            esc(&src.path),
            src.apps,
            src.tenant
                .as_deref()
                .map(|t| format!(", tenant {}", esc(t)))
                .unwrap_or_default()
        )?;
    }
    writeln!(out, "<div class=\"cards\">")?;
    let mut card = |id: &str, label: &str, n: usize| {
        writeln!(
            out,
            "<div class=\"card\" id=\"count-{id}\" data-count=\"{n}\"><b>{n}</b>{label}</div>"
        )
    };
    card("fail", "failing", s.fail)?;
    for sev in Severity::ALL.iter().rev() {
        let n = s.by_severity.get(sev).copied().unwrap_or(0);
        card(sev.as_str(), sev.as_str(), n)?;
    }
    card("not_evaluated", "not evaluated", s.not_evaluated)?;
    card("waived", "waived", s.waived)?;
    card("pass", "passed", s.pass)?;
    writeln!(out, "</div>")?;
    if let Some(c) = &report.changes {
        writeln!(
            out,
            "<p>Against <code>{}</code>: {} new, {} unchanged, {} resolved.</p>",
            esc(&c.baseline),
            c.new,
            c.unchanged,
            c.resolved.len()
        )?;
    }

    let mut rules: Vec<&str> = shown
        .iter()
        .map(|f| report.rules.rules[f.rule].id.as_str())
        .collect();
    rules.sort_unstable();
    rules.dedup();
    writeln!(out, "<div class=\"filters\">")?;
    writeln!(
        out,
        "<label>Severity <select id=\"f-severity\"><option value=\"\">all</option>"
    )?;
    for sev in Severity::ALL.iter().rev() {
        writeln!(out, "<option>{}</option>", sev.as_str())?;
    }
    writeln!(out, "</select></label>")?;
    writeln!(
        out,
        "<label>Rule <select id=\"f-rule\"><option value=\"\">all</option>"
    )?;
    for r in &rules {
        writeln!(out, "<option>{}</option>", esc(r))?;
    }
    writeln!(out, "</select></label>")?;
    writeln!(
        out,
        "<label>Outcome <select id=\"f-outcome\"><option value=\"\">all</option>"
    )?;
    for o in ["fail", "not_evaluated", "waived", "pass"] {
        writeln!(out, "<option>{o}</option>")?;
    }
    writeln!(out, "</select></label>")?;
    writeln!(
        out,
        "<label>App <input id=\"f-app\" type=\"search\" placeholder=\"name or id\"></label>"
    )?;
    writeln!(
        out,
        "<span><span id=\"shown\">{}</span> shown</span></div>",
        shown.len()
    )?;

    for f in &shown {
        let rule = &report.rules.rules[f.rule];
        let subj = &f.subject;
        let name = subj
            .display_name
            .as_deref()
            .or(subj.identity.as_deref())
            .unwrap_or("(unnamed)");
        let app_key = format!(
            "{} {} {}",
            name,
            subj.app_id.as_deref().unwrap_or_default(),
            subj.object_id.as_deref().unwrap_or_default()
        )
        .to_lowercase();
        let sev_label = match f.outcome {
            Outcome::Fail => f.severity.as_str().to_string(),
            other => other.as_str().replace('_', " "),
        };
        let change = match report.change(f) {
            Some(c) => format!("<span class=\"tag\">{}</span>", c.as_str()),
            None => String::new(),
        };
        writeln!(
            out,
            "<details class=\"finding\" data-severity=\"{}\" data-rule=\"{}\" data-outcome=\"{}\" data-app=\"{}\">",
            f.severity.as_str(),
            esc(&rule.id),
            f.outcome.as_str(),
            esc(&app_key)
        )?;
        writeln!(
            out,
            "<summary><span class=\"sev {}\">{}</span><span class=\"rule\">{}</span><b>{}</b> — {}{change}</summary>",
            f.severity.as_str(),
            esc(&sev_label),
            esc(&rule.id),
            esc(name),
            esc(&f.message)
        )?;
        writeln!(
            out,
            "<p><b>{}</b> ({}) · {}{}</p>",
            esc(&rule.title),
            esc(&rule.slug),
            esc(subj
                .app_id
                .as_deref()
                .or(subj.identity.as_deref())
                .unwrap_or("-")),
            f.item
                .as_deref()
                .map(|i| format!(" · item {}", esc(i)))
                .unwrap_or_default()
        )?;
        let evidence = serde_json::to_string_pretty(&f.evidence).unwrap_or_default();
        writeln!(out, "<p>Evidence</p><pre>{}</pre>", esc(&evidence))?;
        writeln!(
            out,
            "<p><b>Remediation.</b> {}</p>",
            esc(&rule.docs.remediation)
        )?;
        if !rule.docs.references.is_empty() {
            writeln!(out, "<ul>")?;
            for r in &rule.docs.references {
                writeln!(out, "<li>{}</li>", esc(r))?;
            }
            writeln!(out, "</ul>")?;
        }
        writeln!(
            out,
            "<p class=\"meta\">fingerprint {}</p></details>",
            esc(&f.fingerprint)
        )?;
    }
    writeln!(out, "<script>{SCRIPT}</script></body></html>")
}
