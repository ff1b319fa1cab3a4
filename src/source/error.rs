use std::path::{Path, PathBuf};

use crate::diagnostics::Diagnostic;

/// Why an input could not be read. Every variant names the file; syntax errors also the
/// line and column, so an admin can open the file at the right place.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}: file is empty. If the export really found nothing, write [] \
         (PowerShell's ConvertTo-Json writes nothing for an empty pipeline; \
         use ConvertTo-Json -InputObject @(...))",
        path.display()
    )]
    Empty { path: PathBuf },
    /// The file is not what it should be at a place: shown with the line and a caret.
    #[error("{0}")]
    Syntax(Box<Diagnostic>),
    #[error("{}: {message}", path.display())]
    Content { path: PathBuf, message: String },
}

impl LoadError {
    pub fn content(path: &Path, message: impl Into<String>) -> Self {
        LoadError::Content {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    /// The error on one line, for report fields and summaries; `to_string` adds the
    /// offending line and caret for a terminal.
    pub fn headline(&self) -> String {
        match self {
            LoadError::Syntax(d) => d.headline(),
            other => other.to_string(),
        }
    }

    /// A problem at `line` and byte `column` (1-based, as serde_json reports them) of `text`.
    pub fn syntax(path: &Path, text: &str, line: usize, column: usize, message: String) -> Self {
        LoadError::Syntax(Box::new(Diagnostic::at_line_byte(
            path.display().to_string(),
            text,
            line,
            column,
            message,
        )))
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        LoadError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
