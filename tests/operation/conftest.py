from __future__ import annotations

import pytest

from tests.operation.support import cast


@pytest.fixture
def c(db_session):  # type: ignore[no-untyped-def]
    return cast(db_session)


@pytest.fixture
def tmp(tmp_path):  # type: ignore[no-untyped-def]
    return tmp_path
