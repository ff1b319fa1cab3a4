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
