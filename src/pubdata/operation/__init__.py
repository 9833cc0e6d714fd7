"""授权运营 (OPS-5..21, OPS-32, OPS-36). See docs/operation.md."""
