//! Numbers written for people.

/// 4720384 -> "4,720,384" (parameter counts in tables; any integer type, so a count past
/// wasm32's usize is written whole).
pub fn group_digits(n: impl std::fmt::Display) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_grouped() {
        assert_eq!(super::group_digits(4720384), "4,720,384");
        assert_eq!(super::group_digits(999), "999");
        assert_eq!(super::group_digits(1000u64), "1,000");
    }
}
