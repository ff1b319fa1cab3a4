//! The order findings are reported in: fail, not evaluated, waived, pass; then severity
//! (most severe first), subject, rule id, item and source. Every format writes the findings
//! in this order, so [`sort`] runs once, when the report is built.

use rayon::prelude::*;

use crate::engine::RuleSet;
use crate::finding::{Finding, Outcome};

/// Sorts `findings` into the report's order.
pub(super) fn sort(rules: &RuleSet, findings: &mut [Finding]) {
    let outcome_rank = |o: Outcome| match o {
        Outcome::Fail => 0,
        Outcome::NotEvaluated => 1,
        Outcome::Waived => 2,
        Outcome::Pass => 3,
    };
    // Rules by id, as a number per rule index.
    let rule_rank = ranks(rules.rules.len(), |i| rules.rules[i].id.as_str());
    // Sort keys side by side (the fields compared in order), sorted by index, then the
    // findings moved into place: a merge sort of the findings themselves would copy them
    // all into a buffer as large as the list, and comparing through each finding's
    // subject would chase two pointers per comparison. Stable, so equal findings keep
    // the order the rules produced them in.
    let subject_rank = subject_ranks(findings);
    let keys: Vec<_> = findings
        .par_iter()
        .zip(subject_rank)
        .map(|(f, subject)| {
            (
                (outcome_rank(f.outcome), std::cmp::Reverse(f.severity)),
                subject,
                rule_rank[f.rule],
                f.item.as_deref(),
                f.source,
            )
        })
        .collect();
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.par_sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    drop(keys);
    permute(findings, order);
}

/// Per finding, the rank of its subject by display name, then app id (equal subjects rank
/// equal). An app's findings share one subject and lie side by side before the sort, so the
/// names are compared once per app instead of in every comparison of the findings' sort.
fn subject_ranks(findings: &[Finding]) -> Vec<usize> {
    // Runs of findings about the same subject, and each run's subject.
    let mut run_of = Vec::with_capacity(findings.len());
    let mut subjects: Vec<&crate::finding::Subject> = Vec::new();
    for f in findings {
        if subjects
            .last()
            .is_none_or(|last| !std::ptr::eq(*last, &*f.subject))
        {
            subjects.push(&f.subject);
        }
        run_of.push(subjects.len() - 1);
    }
    let rank = ranks(subjects.len(), |i| {
        (
            subjects[i].display_name.as_deref(),
            subjects[i].app_id.as_deref(),
        )
    });
    run_of.into_iter().map(|run| rank[run]).collect()
}

/// For each of `0..n`, its place in the order of `key`; equal keys get the same rank.
fn ranks<K: Ord>(n: usize, key: impl Fn(usize) -> K + Sync) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.par_sort_unstable_by(|&a, &b| key(a).cmp(&key(b)));
    let mut rank = vec![0; n];
    let mut current = 0;
    for (position, &index) in order.iter().enumerate() {
        if position > 0 && key(order[position - 1]) != key(index) {
            current = position;
        }
        rank[index] = current;
    }
    rank
}

/// Reorders `items` so that `items[k]` becomes the old `items[order[k]]`, in place: each
/// cycle of the permutation is followed once, by swaps.
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..items.len() {
        // Positions already in place, or done by an earlier cycle, point at themselves.
        let mut k = start;
        while order[k] != start {
            let from = order[k];
            order[k] = k;
            items.swap(k, from);
            k = from;
        }
        order[k] = k;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ranks_order_keys_and_tie_equal_ones() {
        let keys = ["b", "a", "c", "a", "b"];
        assert_eq!(super::ranks(keys.len(), |i| keys[i]), [2, 0, 4, 0, 2]);
        assert!(super::ranks(0, |i| keys[i]).is_empty());
    }

    #[test]
    fn permute_moves_every_item_to_its_sorted_place() {
        // Several cycles, fixed points and a long cycle.
        let orders: [&[usize]; 5] = [&[], &[0], &[2, 0, 1], &[1, 0, 2, 4, 3], &[5, 0, 1, 2, 3, 4]];
        for order in orders {
            let mut items: Vec<String> = (0..order.len()).map(|i| format!("item{i}")).collect();
            let expected: Vec<String> = order.iter().map(|&i| items[i].clone()).collect();
            super::permute(&mut items, order.to_vec());
            assert_eq!(items, expected, "order {order:?}");
        }
    }
}
