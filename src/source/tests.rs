use super::*;

#[test]
fn placeholder_source_tests_compile() {}
