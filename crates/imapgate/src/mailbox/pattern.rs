//! Placeholder replaced by the real implementation on merge.
pub fn matches(pattern: &str, name: &str, delimiter: Option<char>) -> bool { let _ = (pattern, name, delimiter); todo!() }
pub fn implied_parent(pattern: &str, name: &str, delimiter: Option<char>) -> Option<String> { let _ = (pattern, name, delimiter); todo!() }
