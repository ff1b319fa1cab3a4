//! Object ids as the model compares them.

/// Lowercases a GUID-like id so ids from PowerShell and Graph compare equal.
pub(super) fn norm(id: &str) -> String {
    id.trim().to_ascii_lowercase()
}
