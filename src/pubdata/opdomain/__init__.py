"""授权运营域 (OPS-22..26, OPS-33): raw data never leaves the domain; data is usable but not visible.

schema      column classification (role, grade), tables, datasets, grants — plain typed objects
policy      sqlglot policy engine: one checked SELECT or a refusal with a machine code and Chinese reason
engine      DuckDB runner (read-only, external access off, configuration locked, time and memory limits)
disclosure  statistical disclosure control of results and the automatic export checks
synthetic   synthetic population and enterprise registers written straight into DuckDB

See docs/opdomain.md for the threat model and the decisions.
"""
