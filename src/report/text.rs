//! Text from the inputs, made safe for people to read: defused for terminals and documents,
//! escaped for XML. (CSV has its own [`neutralize`](super::neutralize); the HTML report's
//! template escapes for itself.)

/// `c`, or U+FFFD if `c` must not reach a reader as itself: a control character (the ANSI
/// and OSC escapes a hostile display name can carry, invalid in XML 1.0 too) or a
/// bidirectional override or isolate, which makes text show in another order than it reads.
/// Every format written for people (table, Markdown, HTML, JUnit, checklists) passes names
/// through this; JSON and CSV keep the text as it is, for records.
pub fn defuse(c: char) -> char {
    if c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
        '\u{FFFD}'
    } else {
        c
    }
}

/// `text` for a terminal: everything [`defuse`] replaces is replaced, line breaks are kept.
/// For messages that can quote an input (errors, warnings, names in command output).
pub fn defused(text: &str) -> String {
    text.chars()
        .map(|c| if c == '\n' { c } else { defuse(c) })
        .collect()
}

/// [`defuse`] for text in HTML or XML, where line breaks and tabs are whitespace and kept.
pub fn defuse_in_markup(c: char) -> char {
    if matches!(c, '\n' | '\t' | '\r') {
        c
    } else {
        defuse(c)
    }
}

/// Escapes text for XML (the HTML report's template escapes its own), in element content and
/// quoted attributes; see [`defuse_in_markup`] for what else is replaced.
pub fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(defuse_in_markup(c)),
        }
    }
    out
}
