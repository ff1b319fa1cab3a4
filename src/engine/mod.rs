//! The rules engine: rule files in, findings out.

pub mod eval;
pub mod finding;
pub mod loader;
pub mod rego;
pub mod rule;
pub mod waiver;

pub use eval::{EvalOptions, Evaluation, STREAM_BATCH, StreamedScan, evaluate, evaluate_stream};
pub use finding::{Evidence, Finding, FindingEvidence, Outcome, Severity, Subject, SubjectKind};
pub use loader::{RuleError, RuleSet};
pub use rule::{Docs, Example, Origin, Rule};
