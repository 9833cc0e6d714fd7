"""Imports every context's models so that ``Base.metadata`` is complete (Alembic, FK resolution)."""

# ruff: noqa: F401
import pubdata.audit.models
import pubdata.calendar.models
import pubdata.catalog.index  # the catalog's tables and the hook that keeps them in step with the registry
import pubdata.certificates.models
import pubdata.evidence.models
import pubdata.files.models
import pubdata.identity.models
import pubdata.ledger.models
import pubdata.objections.models
import pubdata.opdomain.models
import pubdata.operation.models
import pubdata.products.models
import pubdata.registry.models
import pubdata.supervision.models
import pubdata.thirdparty.models
from pubdata.db.base import Base

metadata = Base.metadata
