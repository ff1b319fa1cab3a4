use std::path::{Path, PathBuf};

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
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
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

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        LoadError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
