//! Composite byte keys whose lexicographic order is the order lists need.

/// Maps an i64 to bytes that sort like the number.
pub fn i64_be(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1u64 << 63)).to_be_bytes()
}

#[cfg(test)]
fn i64_from_be(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    (u64::from_be_bytes(a) ^ (1u64 << 63)) as i64
}

pub fn u64_from_be(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

/// `scope \0` prefix; ids never contain a NUL byte, so prefixes never overlap.
pub fn scope_prefix(scope: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(scope.len() + 18);
    k.extend_from_slice(scope.as_bytes());
    k.push(0);
    k
}

/// Record monitor-view key: `scope \0 view created(be) seq(be)`.
pub fn view_key(scope: &str, view: u8, created_micros: i64, seq: u64) -> Vec<u8> {
    let mut k = scope_prefix(scope);
    k.push(view);
    k.extend_from_slice(&i64_be(created_micros));
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Prefix of every key of one view within a scope.
pub fn view_prefix(scope: &str, view: u8) -> Vec<u8> {
    let mut k = scope_prefix(scope);
    k.push(view);
    k
}

pub fn count_key(scope: &str, view: u8) -> Vec<u8> {
    view_prefix(scope, view)
}

/// `scope \0 seq(be)`, for run and history indexes.
pub fn seq_key(scope: &str, seq: u64) -> Vec<u8> {
    let mut k = scope_prefix(scope);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The smallest key greater than every key starting with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; prefix.len() + 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_keys_sort_by_time_then_seq() {
        let a = view_key("t:lead", 2, -5, 9);
        let b = view_key("t:lead", 2, 3, 1);
        let c = view_key("t:lead", 2, 3, 2);
        assert!(a < b && b < c);
        assert_eq!(i64_from_be(&i64_be(-5)), -5);
    }

    #[test]
    fn prefix_end_bounds_the_prefix() {
        let p = view_prefix("s:x", 1);
        let end = prefix_end(&p);
        assert!(view_key("s:x", 1, i64::MAX, u64::MAX) < end);
        assert!(view_key("s:x", 2, i64::MIN, 0) >= end);
    }
}
