//! Text decoding: the bytes of a file as PowerShell, `az` and Graph write them, to text.

use std::path::Path;

use crate::diagnostics::line_column;
use crate::source::LoadError;

/// Decodes a file's bytes to text. PowerShell writes UTF-8 with a BOM (`Set-Content`,
/// PowerShell 7) or UTF-16 LE with a BOM (Windows PowerShell 5.1 `Out-File` and `>`), so both
/// BOMs are honoured; anything else must be UTF-8.
pub fn decode_text(path: &Path, bytes: Vec<u8>) -> Result<String, LoadError> {
    let utf16 = |big_endian: bool| -> Result<String, LoadError> {
        let body = &bytes[2..];
        if !body.len().is_multiple_of(2) {
            return Err(LoadError::content(
                path,
                "UTF-16 file has an odd number of bytes (truncated?)",
            ));
        }
        let units: Vec<u16> = body
            .chunks_exact(2)
            .map(|c| {
                if big_endian {
                    u16::from_be_bytes([c[0], c[1]])
                } else {
                    u16::from_le_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16(&units)
            .map_err(|_| LoadError::content(path, "file has a UTF-16 BOM but is not valid UTF-16"))
    };
    match bytes.as_slice() {
        [0xFF, 0xFE, ..] => utf16(false),
        [0xFE, 0xFF, ..] => utf16(true),
        _ => {
            let start = if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
                3
            } else {
                0
            };
            let mut bytes = bytes;
            bytes.drain(..start);
            String::from_utf8(bytes).map_err(|e| {
                // The line is shown with the bad bytes replaced, so the caret has text to
                // stand under; the column counts the bytes before them, as for JSON errors.
                let offset = e.utf8_error().valid_up_to();
                let (line, column) = line_column(e.as_bytes(), offset);
                let shown = String::from_utf8_lossy(e.as_bytes());
                LoadError::syntax(
                    path,
                    &shown,
                    line,
                    column,
                    "invalid UTF-8 (save the file as UTF-8 or UTF-16 with a BOM)".into(),
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn boms_and_utf16_are_decoded() {
        let p = PathBuf::from("t.json");
        let mut utf8 = vec![0xEF, 0xBB, 0xBF];
        utf8.extend_from_slice(b"[]");
        assert_eq!(decode_text(&p, utf8).unwrap(), "[]");
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "{\"id\":\"é\"}".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_text(&p, utf16).unwrap(), "{\"id\":\"é\"}");
        let err = decode_text(&p, b"[\n\"\xff\"]".to_vec()).unwrap_err();
        assert!(err.to_string().starts_with("t.json:2:2"), "{err}");
    }
}
