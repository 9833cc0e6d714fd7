"""Imports every context's models so that ``Base.metadata`` is complete (Alembic, FK resolution)."""

import pubdata.audit.models  # noqa: F401
import pubdata.calendar.models  # noqa: F401
import pubdata.identity.models  # noqa: F401
from pubdata.db.base import Base

metadata = Base.metadata
