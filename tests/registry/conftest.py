from __future__ import annotations

import pytest

from pubdata.identity.roles import Role
from tests.factories import actor_of, make_user


@pytest.fixture
def subject(db_session):  # type: ignore[no-untyped-def]
    return actor_of(make_user(db_session, Role.REGISTRATION_SUBJECT))


@pytest.fixture
def clerk(db_session):  # type: ignore[no-untyped-def]
    return actor_of(make_user(db_session, Role.REGISTRATION_INSTITUTION))


@pytest.fixture
def tmp(tmp_path):  # type: ignore[no-untyped-def]
    return tmp_path
