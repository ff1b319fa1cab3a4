//! Positions in the files people write and export: rule files, profiles, the configuration
//! and JSON inputs.

/// 1-based line and column of a byte offset.
pub fn line_column(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    (line, offset - line_start + 1)
}

/// The candidate closest to `name`, when it is close enough to be what was meant (a typo or
/// a slip of case): for "did you mean" hints.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&name, &c.to_ascii_lowercase()), c))
        .filter(|(distance, c)| *distance <= (c.len() / 3).clamp(1, 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// For serde's "unknown field `severty`, expected one of `id`, `severity`, ..." (the message
/// of every struct that denies unknown fields): the expected field the unknown one is a typo
/// of, if any.
fn misspelt_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    let expected = expected.strip_prefix(", expected ")?;
    let candidates = expected.split('`').skip(1).step_by(2);
    closest(field, candidates)
}

/// A problem at a place in a file people write or export: a rule file, a profile, the
/// configuration or a JSON input. Shown as one greppable line, `path:line:column: context:
/// message` (the form editors jump to), then the offending line with a caret under the place
/// and the hint, rendered by `annotate-snippets` as rustc and cargo do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", self.render())]
pub struct Diagnostic {
    pub path: String,
    /// 1-based line and column.
    pub position: Option<(usize, usize)>,
    /// What in the file it is about: "rule PERM-001", "profile sage-crm".
    pub context: Option<Box<str>>,
    pub message: String,
    /// What to do about it, shown under the caret.
    pub hint: Option<Box<str>>,
    /// Boxed: diagnostics travel in `Result`s, which stay small this way.
    excerpt: Option<Box<Excerpt>>,
}

/// The offending line (a window of it when it is long: a minified JSON file is one line) and
/// the caret's byte range in that window.
#[derive(Debug, Clone)]
struct Excerpt {
    text: String,
    caret: std::ops::Range<usize>,
}

/// How much of a long line is shown on each side of the caret, in characters.
const WINDOW: usize = 60;

impl Diagnostic {
    /// A problem with a file as a whole (cannot read it, nothing in it).
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        Diagnostic {
            path: path.into(),
            position: None,
            context: None,
            hint: misspelt_field(&message).map(|f| format!("did you mean `{f}`?").into()),
            message,
            excerpt: None,
        }
    }

    /// A problem at byte range `span` of `text`, the file's contents; the caret covers the
    /// span's part on its first line. Without a span, the file as a whole.
    pub fn at(
        path: impl Into<String>,
        text: &str,
        span: Option<std::ops::Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        let mut d = Diagnostic::new(path, message);
        if let Some(span) = span {
            let start = floor_char_boundary(text, span.start.min(text.len()));
            let line_start = text[..start].rfind('\n').map_or(0, |p| p + 1);
            let line_end = text[start..].find('\n').map_or(text.len(), |p| start + p);
            let end = floor_char_boundary(text, span.end.clamp(start, line_end));
            let line = text[..start].matches('\n').count() + 1;
            let column = text[line_start..start].chars().count() + 1;
            let shown = text[line_start..line_end].trim_end_matches('\r');
            d.position = Some((line, column));
            d.excerpt = Some(Box::new(Excerpt::of(
                shown,
                start - line_start..(end - line_start).min(shown.len()),
            )));
        }
        d
    }

    /// A problem at `line` and `column` (1-based, in characters) of a file whose offending
    /// line is `line_text`: for parsers that report positions, not byte offsets.
    pub fn at_line(
        path: impl Into<String>,
        line: usize,
        column: usize,
        line_text: &str,
        message: impl Into<String>,
    ) -> Self {
        let mut d = Diagnostic::new(path, message);
        d.position = Some((line, column));
        let line_text = line_text.trim_end_matches(['\r', '\n']);
        let start = line_text
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(line_text.len(), |(i, _)| i);
        d.excerpt = Some(Box::new(Excerpt::of(line_text, start..start)));
        d
    }

    /// A problem at `line` and byte `column` (both 1-based, as serde_json counts them) of
    /// `text`.
    pub fn at_line_byte(
        path: impl Into<String>,
        text: &str,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        let line_start = if line <= 1 {
            0
        } else {
            text.match_indices('\n')
                .nth(line - 2)
                .map_or(text.len(), |(i, _)| i + 1)
        };
        let offset = (line_start + column.saturating_sub(1)).min(text.len());
        Diagnostic::at(path, text, Some(offset..offset), message)
    }

    /// A problem at a known position of a file whose text is not at hand.
    pub fn at_position(
        path: impl Into<String>,
        position: Option<(usize, usize)>,
        message: impl Into<String>,
    ) -> Self {
        let mut d = Diagnostic::new(path, message);
        d.position = position;
        d
    }

    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into().into());
        self
    }

    pub fn with_context(mut self, context: Option<String>) -> Self {
        self.context = context.map(String::into_boxed_str);
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into().into());
        self
    }

    /// The first line: `path:line:column: context: message`.
    pub fn headline(&self) -> String {
        let mut out = self.path.clone();
        if let Some((line, column)) = self.position {
            out += &format!(":{line}:{column}");
        }
        out += ": ";
        if let Some(c) = &self.context {
            out += c;
            out += ": ";
        }
        out += &self.message;
        out
    }

    fn render(&self) -> String {
        use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
        let mut out = self.headline();
        let (Some((line, _)), Some(excerpt)) = (self.position, &self.excerpt) else {
            if let Some(hint) = &self.hint {
                out += &format!("\n  = help: {hint}");
            }
            return out;
        };
        let mut annotation = AnnotationKind::Primary.span(excerpt.caret.clone());
        if let Some(hint) = &self.hint {
            annotation = annotation.label(&**hint);
        }
        let group = Group::with_level(Level::ERROR).element(
            Snippet::source(excerpt.text.as_str())
                .line_start(line)
                .annotation(annotation),
        );
        out.push('\n');
        out += Renderer::plain().render(&[group]).trim_end();
        out
    }
}

impl Excerpt {
    /// `line` with the caret on `caret`, cut to a window around it when the line is long.
    fn of(line: &str, caret: std::ops::Range<usize>) -> Self {
        // An empty caret still points at one character (or just past the end).
        let caret_end = if caret.is_empty() {
            line[caret.start..]
                .chars()
                .next()
                .map_or(caret.start, |c| caret.start + c.len_utf8())
        } else {
            caret.end
        };
        let from = line[..caret.start]
            .char_indices()
            .rev()
            .nth(WINDOW - 1)
            .map_or(0, |(i, _)| i);
        let to = line[caret_end..]
            .char_indices()
            .nth(WINDOW)
            .map_or(line.len(), |(i, _)| caret_end + i);
        let prefix = if from > 0 { "…" } else { "" };
        let suffix = if to < line.len() { "…" } else { "" };
        let text = format!("{prefix}{}{suffix}", &line[from..to]);
        let shift = prefix.len();
        Excerpt {
            text,
            caret: caret.start - from + shift..caret_end - from + shift,
        }
    }
}

/// The largest char boundary of `text` at or before `i`.
fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diagnostic_shows_the_line_and_a_caret_under_the_span() {
        let text = "id = \"ORG-001\"\nseverty = \"medium\"\n";
        let d = Diagnostic::at(
            "rules/ORG-001.toml",
            text,
            Some(15..22),
            "unknown field `severty`",
        )
        .context("rule ORG-001")
        .hint("did you mean `severity`?");
        assert_eq!(
            d.to_string(),
            "rules/ORG-001.toml:2:1: rule ORG-001: unknown field `severty`\n  |\n2 | severty = \"medium\"\n  | ^^^^^^^ did you mean `severity`?"
        );
    }

    #[test]
    fn a_long_line_is_cut_to_a_window_around_the_caret() {
        let line = format!(
            "[{}{{\"id\": tru}}{}]",
            "{\"id\": 1},".repeat(50),
            "{\"id\": 2},".repeat(50)
        );
        let column = line.find("tru}").expect("typo") + 1;
        let d = Diagnostic::at_line("apps.json", 1, column, &line, "expected `true`");
        let shown = d.to_string();
        let excerpt = shown.lines().nth(2).expect("the line");
        assert!(
            excerpt.starts_with("1 | …") && excerpt.ends_with('…'),
            "{shown}"
        );
        assert!(excerpt.chars().count() < 140, "{shown}");
        let caret = shown.lines().nth(3).expect("the caret");
        // Columns, not bytes: the window's "…" is one column and three bytes.
        let at = caret.chars().position(|c| c == '^').expect("a caret");
        let under: String = excerpt.chars().skip(at).take(3).collect();
        assert_eq!(under, "tru", "{shown}");
    }

    #[test]
    fn a_json_position_points_at_its_byte() {
        let text = "[\n  {\"id\": \"é\", \"n\": tru}\n]";
        let column = text
            .lines()
            .nth(1)
            .expect("line 2")
            .find("tru")
            .expect("tru")
            + 1;
        let d = Diagnostic::at_line_byte("t.json", text, 2, column, "expected value");
        let shown = d.to_string();
        // serde_json counts bytes; the column shown counts characters, as editors do.
        assert!(shown.starts_with("t.json:2:20: expected value"), "{shown}");
        let lines: Vec<&str> = shown.lines().collect();
        let at = lines[3].chars().position(|c| c == '^').expect("a caret");
        assert_eq!(lines[2].chars().nth(at), Some('t'), "{shown}");
        let end = Diagnostic::at_line_byte("t.json", text, 9, 1, "EOF");
        assert!(end.to_string().starts_with("t.json:3:2: EOF"), "{end}");
    }

    #[test]
    fn a_span_past_the_end_or_inside_a_character_does_not_panic() {
        let text = "naïve = 1";
        for span in [0..0, 3..4, 9..9, 9..40, 40..50] {
            let d = Diagnostic::at("x.toml", text, Some(span.clone()), "m");
            assert!(d.to_string().starts_with("x.toml:1:"), "{span:?}");
        }
        let d = Diagnostic::new("x.toml", "cannot read").hint("check the path");
        assert_eq!(
            d.to_string(),
            "x.toml: cannot read\n  = help: check the path"
        );
        let d = Diagnostic::new(
            "x.toml",
            "unknown field `severty`, expected one of `id`, `severity`",
        );
        assert_eq!(d.hint.as_deref(), Some("did you mean `severity`?"));
        let d = Diagnostic::new("x.toml", "unknown field `colour`, expected `id` or `slug`");
        assert_eq!(d.hint, None);
        let d = Diagnostic::new("x.toml", "unknown field `slg`, expected `id` or `slug`");
        assert_eq!(d.hint.as_deref(), Some("did you mean `slug`?"));
        assert_eq!(
            Diagnostic::new("x.toml", "cannot read").to_string(),
            "x.toml: cannot read"
        );
    }
}
