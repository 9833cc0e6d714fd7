from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.products.support import World, world


@pytest.fixture
def w(db_session: Session, tmp_path: Path, monkeypatch: Any) -> World:
    return world(db_session, tmp_path, monkeypatch)


# The live demo server of the browser tests.
from tests.web.conftest import live_engine, live_settings, server  # noqa: E402, F401
