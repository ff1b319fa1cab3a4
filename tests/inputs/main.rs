//! What the scanner reads: every input format, real-world and generated tenants, bad and
//! hostile input, and the fuzz corpus. Run one module with `cargo test --test inputs MODULE::`
//! (e.g. `cargo test --test inputs hostile::`).
//!
//! - `bad_input`: clear errors naming the file, exit 2, the other sources still scanned
//! - `fuzz_corpus`: the fuzz seeds and every input a fuzzer once crashed on
//! - `hostile`: deep nesting, huge strings and arrays, encodings, hostile names, in bounded memory
//! - `loaders`: every input format gives the same normalized app
//! - `real_world`: public app-registration documents with independently computed counts
//! - `streamed`: the streamed scan of an export equals reading it whole
//! - `synthetic`: a generated 1,000-app tenant scans with the counts its data implies

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod fuzz_corpus;
mod hostile;
mod loaders;
mod real_world;
mod streamed;
mod synthetic;
