//! HTML: one self-contained file (no external scripts, styles or fonts) with the summary
//! counts, filters by severity, rule, app and outcome, and every finding expandable to its
//! evidence and remediation. Filters can be preset in the URL fragment
//! (`report.html#severity=high&rule=CRED-001&app=sysaid`), which is also how the browser
//! test drives them.
//!
//! Above [`GROUP_ABOVE`] findings the page groups them instead: a section per rule and
//! outcome, with the rule's remediation once and a table row per app listing its findings'
//! messages (evidence is left out), and says so at the top. A 10k-app tenant six months after
//! its export has ~36,000 findings; one expandable section each, with pretty-printed evidence
//! and the rule's remediation and references repeated, made a page of ~100 MB.
//!
//! The page is a maud template: every spliced value is escaped unless it is wrapped in
//! `PreEscaped`, and text from the inputs or the rules goes through [`Text`], which also
//! defuses it. The page is rendered without its findings, which are then rendered and
//! written one at a time (or a group at a time) in its place, so a large report is never
//! whole in memory.

use std::collections::HashMap;
use std::io::{self, Write};

use maud::{DOCTYPE, Markup, PreEscaped, Render, html};

use super::{Report, defuse_in_markup, format_as_of};
use crate::finding::{Finding, Outcome, Severity, Subject, SubjectKind};

/// Above this many findings shown, the page groups them by rule, outcome and app.
pub const GROUP_ABOVE: usize = 2_000;

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1b1f24}
h1{font-size:1.4rem}.meta{color:#57606a}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.6rem 1rem;min-width:7rem}
.card b{display:block;font-size:1.5rem}
.trend figure,.overview figure{margin:1rem 0;overflow-x:auto}.trend figcaption,.overview figcaption{color:#57606a;margin-bottom:.3rem}
.overview svg{font-size:13px;font-family:inherit;max-width:100%;height:auto}
.overview h2,.plan h2{font-size:1.15rem}
.plan table{border-collapse:collapse;width:100%}.plan td,.plan th{border-top:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}.plan ol{margin:0;padding-left:1.2rem}
.filters{display:flex;gap:.8rem;flex-wrap:wrap;margin:1rem 0;align-items:center}
details.finding{border:1px solid #d0d7de;border-radius:6px;margin:.35rem 0;padding:.4rem .8rem}
details.finding summary{cursor:pointer}
.sev{display:inline-block;min-width:5.5rem;font-weight:600}
.critical{color:#a40e26}.high{color:#cf222e}.medium{color:#9a6700}.low{color:#0969da}.info{color:#57606a}
.rule{font-family:ui-monospace,monospace;margin:0 .6rem}
pre{background:#f6f8fa;padding:.6rem;overflow:auto;white-space:pre-wrap}
.tag{font-size:.8rem;border:1px solid #d0d7de;border-radius:1rem;padding:0 .5rem;margin-left:.4rem}
.notice{border-left:4px solid #9a6700;background:#fff8c5;padding:.5rem .8rem}
details.group{border:1px solid #d0d7de;border-radius:6px;margin:.35rem 0;padding:.4rem .8rem}
details.group table{border-collapse:collapse;width:100%}details.group td{border-top:1px solid #d0d7de;padding:.3rem .5rem;vertical-align:top}
details.group ul{margin:0;padding-left:1.1rem}
"#;

const SCRIPT: &str = r#"
(function(){
  var f={severity:document.getElementById('f-severity'),rule:document.getElementById('f-rule'),
         outcome:document.getElementById('f-outcome'),app:document.getElementById('f-app')};
  function row(el,rule,outcome){ return {el:el,sev:el.dataset.severity,app:el.dataset.app,
    rule:rule||el.dataset.rule,outcome:outcome||el.dataset.outcome,count:Number(el.dataset.count||1)}; }
  // Grouped: a section per rule and outcome, a row per app (data-count: its findings).
  var groups=[].slice.call(document.querySelectorAll('details.group')).map(function(g){
    return {el:g,rule:g.dataset.rule,outcome:g.dataset.outcome,
      rows:[].slice.call(g.querySelectorAll('tr.grouped')).map(function(r){
        return row(r,g.dataset.rule,g.dataset.outcome); })};
  });
  // Not grouped: each finding is a group of its own.
  [].slice.call(document.querySelectorAll('details.finding')).forEach(function(d){
    var r=row(d); groups.push({el:d,rule:r.rule,outcome:r.outcome,rows:[r]});
  });
  // Attributes are only written when they change: a large page has tens of thousands of rows.
  function show(el,on){ if(el.hidden===on) el.hidden=!on; }
  function apply(){
    var sev=f.severity.value, app=f.app.value.trim().toLowerCase(), shown=0;
    groups.forEach(function(g){
      var n=0;
      if((!f.rule.value||g.rule===f.rule.value)&&(!f.outcome.value||g.outcome===f.outcome.value)){
        g.rows.forEach(function(r){
          var ok=(!sev||r.sev===sev)&&(!app||r.app.indexOf(app)>=0);
          if(r.el!==g.el) show(r.el,ok);
          if(ok) n+=r.count;
        });
      }
      show(g.el,n>0); shown+=n;
    });
    document.getElementById('shown').textContent=String(shown);
  }
  var params=new URLSearchParams(location.hash.replace(/^#/,''));
  Object.keys(f).forEach(function(k){ if(params.has(k))f[k].value=params.get(k);
    f[k].addEventListener('input',apply); f[k].addEventListener('change',apply); });
  apply();
  // When the page became usable, in ms since navigation began (the browser test reads it).
  document.body.dataset.ready=String(Math.round(performance.now()));
})();
"#;

/// Where the findings go in the page. Escaped text cannot contain it (`<` is always
/// escaped), nor do the style and script, so its first occurrence is this one.
const FINDINGS: &str = "<!--findings-->";

/// Text from the inputs or the rules, as the page shows it: what [`defuse_in_markup`]
/// replaces is replaced, then maud escapes it like every other splice.
struct Text<'a>(&'a str);

impl Render for Text<'_> {
    fn render_to(&self, buffer: &mut String) {
        let defused: String = self.0.chars().map(defuse_in_markup).collect();
        defused.render_to(buffer);
    }
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let shown: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| report.includes_passed || f.outcome != Outcome::Pass)
        .collect();
    let grouped = shown.len() > GROUP_ABOVE;
    let page = page(report, &shown, grouped).into_string();
    let (head, tail) = page
        .split_once(FINDINGS)
        .expect("the page has a place for the findings");
    out.write_all(head.as_bytes())?;
    if grouped {
        for g in groups(&shown) {
            out.write_all(group(report, &g).into_string().as_bytes())?;
        }
    } else {
        for f in shown {
            out.write_all(finding(report, f).into_string().as_bytes())?;
        }
    }
    out.write_all(tail.as_bytes())?;
    // A text file ends with a line break.
    out.write_all(b"\n")
}

/// The page around the findings: summary cards, filters, style and script.
fn page(report: &Report, shown: &[&Finding], grouped: bool) -> Markup {
    let s = &report.summary;
    let as_of = format_as_of(report.as_of);
    let mut cards = vec![("fail", "failing", s.fail)];
    for sev in Severity::ALL.iter().rev() {
        let n = s.by_severity.get(sev).copied().unwrap_or(0);
        cards.push((sev.as_str(), sev.as_str(), n));
    }
    cards.extend([
        ("not_evaluated", "not evaluated", s.not_evaluated),
        ("waived", "waived", s.waived),
        ("pass", "passed", s.pass),
    ]);
    let mut rules: Vec<&str> = shown
        .iter()
        .map(|f| report.rules.rules[f.rule].id.as_str())
        .collect();
    rules.sort_unstable();
    rules.dedup();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "m365audit report, as of " (Text(&as_of)) }
                // A constant of this file: no input reaches it.
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "m365audit report" }
                p.meta {
                    "As of " (Text(&as_of))
                    " · generated " (Text(&crate::dates::rfc3339(report.generated_at)))
                    " · m365audit " (Text(report.tool_version))
                }
                @for src in &report.sources {
                    p.meta {
                        "Source " code { (Text(&src.path)) } ": " (src.apps) " app(s)"
                        @if let Some(tenant) = &src.tenant { ", tenant " (Text(tenant)) }
                    }
                }
                div.cards {
                    @for (id, label, n) in cards {
                        div.card id={ "count-" (id) } data-count=(n) { b { (n) } (label) }
                    }
                }
                @if let Some(c) = &report.changes {
                    p {
                        "Against " code { (Text(&c.baseline)) } ": " (c.new) " new, "
                        (c.unchanged) " unchanged, " (c.resolved.len()) " resolved."
                    }
                }
                @if let Some(svg) = report.trend.as_deref().and_then(super::history::trend_svg) {
                    section.trend #trend {
                        h2 { "Trend" }
                        figure {
                            figcaption { "Failing findings of each run in the findings store, by severity, this run at the right" }
                            // Built from dates and counts only: no input text reaches it.
                            (PreEscaped(svg))
                        }
                    }
                }
                @if let Some(o) = &report.overview {
                    section.overview #overview {
                        h2 { "Overview" }
                        figure #reach-map {
                            figcaption {
                                "Mailbox reach: " (o.placed()) " placement(s) of apps that reach mail, by how far and how; an app reaching mail two ways is in two rows"
                            }
                            (o.reach_map())
                        }
                        figure #expiry-timeline {
                            figcaption { "Credential expiry: live credentials by the month they expire in, expired ones at the left" }
                            (o.timeline())
                        }
                        @if let Some(plan) = &o.plan {
                            (plan_rows(plan))
                        }
                    }
                }
                @if grouped {
                    p.notice #grouped {
                        "This report has " (shown.len()) " findings, more than "
                        (GROUP_ABOVE) ": they are grouped by rule and outcome, with a row per app listing its findings' messages; evidence is left out. "
                        "The JSON report has every finding with its evidence ("
                        code { "m365audit scan --format json" } ")."
                    }
                }
                div.filters {
                    label {
                        "Severity "
                        select #f-severity {
                            option value="" { "all" }
                            @for sev in Severity::ALL.iter().rev() { option { (sev.as_str()) } }
                        }
                    }
                    label {
                        "Rule "
                        select #f-rule {
                            option value="" { "all" }
                            @for r in &rules { option { (Text(r)) } }
                        }
                    }
                    label {
                        "Outcome "
                        select #f-outcome {
                            option value="" { "all" }
                            @for o in ["fail", "not_evaluated", "waived", "pass"] { option { (o) } }
                        }
                    }
                    label { "App " input #f-app type="search" placeholder="name or id"; }
                    span { span #shown { (shown.len()) } " shown" }
                }
                // A comment of this file's, replaced by the findings in `write`.
                (PreEscaped(FINDINGS))
                // A constant of this file: no input reaches it.
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
}

/// The first rows of the action plan: what to do first, and why.
fn plan_rows(plan: &crate::plan::Plan) -> Markup {
    html! {
        div.plan #plan {
            h2 { "Do first" }
            p.meta {
                "The first " (plan.rows.len().min(super::overview::PLAN_ROWS)) " of " (plan.rows.len())
                " rows of the action plan (" code { "m365audit plan" } " lists them all, with commands), ranked by risk score."
            }
            table {
                thead { tr { th { "#" } th { "App" } th { "Score" } th { "Why" } th { "First steps" } } }
                tbody {
                    @for row in plan.rows.iter().take(super::overview::PLAN_ROWS) {
                        tr.plan-row data-score=(row.score) {
                            td { (row.rank) }
                            td { b { (Text(row.name())) } }
                            td { (row.score) }
                            td { (Text(&crate::plan::compact(&row.factors))) }
                            td {
                                ol {
                                    @for step in row.steps.iter().take(3) {
                                        li { (Text(&step.text)) " (" (Text(&step.rule_ids.join(", "))) ")" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The findings of one rule with one outcome, by app.
struct Group<'a> {
    rule: usize,
    outcome: Outcome,
    /// Each app's findings, apps in the order the report first names them.
    apps: Vec<(&'a Subject, Vec<&'a Finding>)>,
    findings: usize,
}

/// The findings grouped by rule and outcome, groups in the order the report first names
/// them (the report's order: failing first, worst first).
fn groups<'a>(shown: &[&'a Finding]) -> Vec<Group<'a>> {
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of: HashMap<(usize, Outcome), usize> = HashMap::new();
    // Per group, the row of each app; an app's findings share its subject.
    let mut row_of: HashMap<(usize, *const Subject), usize> = HashMap::new();
    for f in shown {
        let g = *group_of.entry((f.rule, f.outcome)).or_insert_with(|| {
            groups.push(Group {
                rule: f.rule,
                outcome: f.outcome,
                apps: Vec::new(),
                findings: 0,
            });
            groups.len() - 1
        });
        let group = &mut groups[g];
        let row = *row_of
            .entry((g, std::sync::Arc::as_ptr(&f.subject)))
            .or_insert_with(|| {
                group.apps.push((&f.subject, Vec::new()));
                group.apps.len() - 1
            });
        group.apps[row].1.push(f);
        group.findings += 1;
    }
    groups
}

/// One rule's findings with one outcome: its remediation once, then a row per app.
fn group(report: &Report, g: &Group) -> Markup {
    let rule = &report.rules.rules[g.rule];
    let worst = |findings: &[&Finding]| {
        findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(rule.severity)
    };
    let all: Vec<&Finding> = g.apps.iter().flat_map(|(_, f)| f.iter().copied()).collect();
    let severity = worst(&all);
    let label = match g.outcome {
        Outcome::Fail => severity.as_str().to_string(),
        other => other.as_str().replace('_', " "),
    };
    html! {
        details.group
            data-rule=(Text(&rule.id))
            data-outcome=(g.outcome.as_str())
            data-count=(g.findings)
        {
            summary {
                span.sev.(severity.as_str()) { (Text(&label)) }
                span.rule { (Text(&rule.id)) }
                b { (Text(&rule.title)) }
                " — " (g.findings) " finding(s) about " (g.apps.len()) " subject(s)"
            }
            p { b { "Remediation." } " " (Text(&rule.docs.remediation)) }
            @if !rule.docs.references.is_empty() {
                ul { @for r in &rule.docs.references { li { (Text(r)) } } }
            }
            table {
                tbody {
                    @for (subj, findings) in &g.apps {
                        @let sev = worst(findings);
                        // The rule and outcome are the group's.
                        tr.grouped
                            data-severity=(sev.as_str())
                            data-app=(Text(&app_key(subj)))
                            data-count=(findings.len())
                        {
                            td {
                                b { (Text(subj.shown_name())) }
                                br;
                                (Text(subj.app_id.as_deref().or(subj.identity.as_deref()).unwrap_or("-")))
                                @if subj.kind == SubjectKind::ServicePrincipal { " (service principal)" }
                            }
                            td {
                                ul {
                                    @for f in findings {
                                        li {
                                            @if let Some(item) = &f.item { code { (Text(item)) } ": " }
                                            (Text(&f.message))
                                            @if let Some(change) = report.change(f) { span.tag { (change.as_str()) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What the app filter matches: the subject's name and ids, lower-cased.
fn app_key(subj: &Subject) -> String {
    format!(
        "{} {} {}",
        subj.shown_name(),
        subj.app_id.as_deref().unwrap_or_default(),
        subj.object_id.as_deref().unwrap_or_default()
    )
    .to_lowercase()
}

/// One finding, expandable to its evidence and remediation; its `data-*` attributes are
/// what the filters match.
fn finding(report: &Report, f: &Finding) -> Markup {
    let rule = &report.rules.rules[f.rule];
    let subj = &f.subject;
    let name = subj.shown_name();
    let app_key = app_key(subj);
    let sev_label = match f.outcome {
        Outcome::Fail => f.severity.as_str().to_string(),
        other => other.as_str().replace('_', " "),
    };
    let evidence = serde_json::to_string_pretty(&f.evidence).unwrap_or_default();
    html! {
        details.finding
            data-severity=(f.severity.as_str())
            data-rule=(Text(&rule.id))
            data-outcome=(f.outcome.as_str())
            data-app=(Text(&app_key))
        {
            summary {
                span.sev.(f.severity.as_str()) { (Text(&sev_label)) }
                span.rule { (Text(&rule.id)) }
                b { (Text(name)) }
                " — " (Text(&f.message))
                @if let Some(change) = report.change(f) { span.tag { (change.as_str()) } }
            }
            p {
                b { (Text(&rule.title)) }
                " (" (Text(&rule.slug)) ") · "
                (Text(subj.app_id.as_deref().or(subj.identity.as_deref()).unwrap_or("-")))
                @if subj.kind == SubjectKind::ServicePrincipal { " (service principal)" }
                @if let Some(org) = &subj.organization { " · " span.org { (Text(&org.describe())) } }
                @if let Some(item) = &f.item { " · item " (Text(item)) }
            }
            p { "Evidence" }
            pre { (Text(&evidence)) }
            p { b { "Remediation." } " " (Text(&rule.docs.remediation)) }
            @if !rule.docs.references.is_empty() {
                ul { @for r in &rule.docs.references { li { (Text(r)) } } }
            }
            p.meta { "fingerprint " (Text(&f.fingerprint)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use maud::html;

    use super::Text;

    #[test]
    fn text_is_escaped_and_defused_in_content_and_attributes() {
        let name = "\"><img src=x onerror=alert(1)>\u{1b}[2J\u{202E}\tx\ny";
        let markup = html! { b title=(Text(name)) { (Text(name)) } }.into_string();
        let text = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\u{FFFD}[2J\u{FFFD}\tx\ny";
        assert_eq!(markup, format!("<b title=\"{text}\">{text}</b>"));
    }
}
