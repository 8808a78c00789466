//! Delta debugging (Zeller and Hildebrandt, "Simplifying and Isolating Failure-Inducing
//! Input", 2002): `ddmin` finds a 1-minimal part of a failing input — removing any one piece of
//! what it returns makes the failure go. Over datagrams of a sequence, then over the bytes of
//! each datagram, as AFL's `afl-tmin` does with chunks of bytes.

use std::collections::HashMap;
use std::hash::Hash;

/// The smallest part of `items` (in order) that still `fails`, given that all of it does.
/// `fails` answers `None` when it may not try any more (its budget is spent): the smallest
/// failing part found so far is returned then.
pub fn ddmin<T: Clone + Eq + Hash>(
    items: Vec<T>,
    mut fails: impl FnMut(&[T]) -> Option<bool>,
) -> Vec<T> {
    let mut tried: HashMap<Vec<T>, bool> = HashMap::new();
    let mut test = |part: &[T]| -> Option<bool> {
        if let Some(&known) = tried.get(part) {
            return Some(known);
        }
        let verdict = fails(part)?;
        tried.insert(part.to_vec(), verdict);
        Some(verdict)
    };
    let mut current = items;
    let mut n = 2usize;
    while current.len() >= 2 {
        let chunks = split(&current, n);
        let mut next = None;
        // Reduce to a subset: one chunk alone fails.
        for chunk in &chunks {
            match test(chunk) {
                None => return current,
                Some(true) => {
                    next = Some((chunk.clone(), 2));
                    break;
                }
                Some(false) => {}
            }
        }
        // Reduce to a complement: everything but one chunk fails.
        if next.is_none() && n > 2 {
            for i in 0..chunks.len() {
                let complement: Vec<T> = chunks
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .flat_map(|(_, c)| c.iter().cloned())
                    .collect();
                match test(&complement) {
                    None => return current,
                    Some(true) => {
                        next = Some((complement, (n - 1).max(2)));
                        break;
                    }
                    Some(false) => {}
                }
            }
        }
        match next {
            Some((smaller, granularity)) => {
                current = smaller;
                n = granularity;
            }
            None if n >= current.len() => break,
            None => n = (2 * n).min(current.len()),
        }
    }
    // A single item may still go entirely.
    if current.len() == 1 && test(&[]) == Some(true) {
        current.clear();
    }
    current
}

/// `items` in `n` chunks of nearly equal size, in order.
fn split<T: Clone>(items: &[T], n: usize) -> Vec<Vec<T>> {
    let n = n.clamp(1, items.len().max(1));
    let mut chunks = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let end = start + (items.len() - start) / (n - i);
        chunks.push(items[start..end].to_vec());
        start = end;
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_one_item() {
        let items: Vec<u32> = (0..100).collect();
        let mut calls = 0;
        let got = ddmin(items, |part| {
            calls += 1;
            Some(part.contains(&37))
        });
        assert_eq!(got, [37]);
        assert!(calls < 40, "{calls} tests");
    }

    #[test]
    fn finds_a_pair_far_apart() {
        let items: Vec<u32> = (0..64).collect();
        let got = ddmin(items, |p| Some(p.contains(&3) && p.contains(&60)));
        assert_eq!(got, [3, 60]);
    }

    #[test]
    fn the_papers_example_is_one_minimal() {
        // Fails when it holds 1, 7 and 8 (Zeller's running example).
        let items: Vec<u32> = (1..=8).collect();
        let got = ddmin(items, |p| Some([1, 7, 8].iter().all(|x| p.contains(x))));
        assert_eq!(got, [1, 7, 8]);
    }

    #[test]
    fn bytes_shrink_to_what_matters() {
        let input = b"xxxxxxxxxxCRASHxxxxxxxxxx".to_vec();
        let got = ddmin(input, |p| Some(p.windows(2).any(|w| w == b"SH")));
        assert_eq!(got, b"SH");
        // Nothing needed at all: everything goes.
        assert_eq!(ddmin(b"abc".to_vec(), |_| Some(true)), b"");
    }

    #[test]
    fn a_spent_budget_keeps_the_best_so_far() {
        let items: Vec<u32> = (0..100).collect();
        let mut left = 3;
        let got = ddmin(items, |p| {
            if left == 0 {
                return None;
            }
            left -= 1;
            Some(p.contains(&10))
        });
        assert!(got.contains(&10) && got.len() <= 50, "{got:?}");
    }

    #[test]
    fn splits_evenly() {
        assert_eq!(split(&[1, 2, 3, 4, 5], 2), vec![vec![1, 2], vec![3, 4, 5]]);
        assert_eq!(split(&[1, 2], 4), vec![vec![1], vec![2]]);
    }
}
