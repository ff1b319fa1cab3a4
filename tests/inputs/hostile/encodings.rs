//! Byte-level encodings: BOMs and UTF-16 (Windows PowerShell 5's `Out-File` and `>` write
//! UTF-16 LE with a BOM) are read like UTF-8; invalid UTF-8 is an error with its position.

use std::path::Path;

use super::{demo_copy, report_lines};
use crate::common::{Scan, TempDir, root};

/// Every file of the export, re-encoded by `encode`.
fn reencode(dir: &Path, encode: &dyn Fn(&str) -> Vec<u8>) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("read the export") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            n += reencode(&path, encode);
        } else {
            let text = std::fs::read_to_string(&path).expect("UTF-8 demo file");
            std::fs::write(&path, encode(&text)).expect("rewrite");
            n += 1;
        }
    }
    n
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for unit in text.encode_utf16() {
        out.extend(if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    out
}

#[test]
fn every_export_file_in_utf16_or_with_a_bom_scans_like_utf8() {
    let demo = root().join("examples/demo-tenant");
    let expected = Scan::new(&demo).format("json").run();
    expected.assert_scanned();
    let expected = report_lines(&expected.stdout());
    assert!(expected.len() > 10);
    type Encoder = fn(&str) -> Vec<u8>;
    let encodings: [(&str, Encoder); 3] = [
        ("utf-16le", |t| utf16(t, false)),
        ("utf-16be", |t| utf16(t, true)),
        ("utf-8 bom", |t| {
            [b"\xEF\xBB\xBF".as_slice(), t.as_bytes()].concat()
        }),
    ];
    for (name, encode) in encodings {
        let tmp = TempDir::new(&format!("hostile-{}", name.replace(' ', "-")));
        let export = demo_copy(&tmp);
        // Every file of the demo's layout: snapshot.json and the parts it lists.
        let files = 1 + std::fs::read_to_string(demo.join("snapshot.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|m| m["parts"].as_array().map(Vec::len))
            .expect("the demo's snapshot.json lists its parts");
        assert_eq!(reencode(&export, &encode), files, "{name}: every demo file");
        let run = Scan::new(&export).format("json").run();
        run.assert_scanned();
        assert_eq!(report_lines(&run.stdout()), expected, "{name}");
        // A single file too (an application list saved by PowerShell 5).
        let run = Scan::new(export.join("applications.json"))
            .format("json")
            .run();
        run.assert_scanned();
    }
}

#[test]
fn broken_encodings_are_errors_with_a_position() {
    let tmp = TempDir::new("hostile-bad-utf8");
    let export = demo_copy(&tmp);
    let file = export.join("servicePrincipals.json");
    let mut bytes = std::fs::read(&file).expect("demo file");
    let at = bytes
        .iter()
        .position(|&b| b == b'\n')
        .expect("a second line")
        + 5;
    bytes[at] = 0xFF;
    std::fs::write(&file, &bytes).expect("write");
    Scan::new(&export)
        .format("json")
        .run()
        .assert_input_error(&["servicePrincipals.json:2:", "invalid UTF-8"]);
    // A UTF-16 file cut in the middle of a code unit, and one with a lone surrogate.
    std::fs::write(&file, [0xFF, 0xFE, b'[', 0, b']']).expect("write");
    Scan::new(&export)
        .format("json")
        .run()
        .assert_input_error(&["servicePrincipals.json", "odd number"]);
    std::fs::write(&file, [0xFF, 0xFE, b'[', 0, 0x00, 0xD8, b']', 0]).expect("write");
    Scan::new(&export)
        .format("json")
        .run()
        .assert_input_error(&["servicePrincipals.json", "UTF-16"]);
}
