"""Controlled vocabularies shipped as data (REG-7): GB/T 2260 regions, GB/T 4754-2017 industries.

Import from the submodules — ``pubdata.reference.regions`` and ``pubdata.reference.industries`` — whose
names are also those of their listing functions, so nothing is re-exported here.
"""
