//! The rules engine: rule files in, findings out.

pub mod eval;
pub mod loader;
pub mod rule;
pub mod waiver;

pub use eval::{EvalOptions, Evaluation, evaluate};
pub use loader::RuleSet;
pub use rule::{Docs, Example, Origin, Rule};
