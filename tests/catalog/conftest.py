from tests.registry.conftest import clerk, subject, tmp  # noqa: F401  (same actors as the registry tests)
