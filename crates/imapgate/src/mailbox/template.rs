//! Placeholder replaced by the real implementation on merge.
