"""Controlled vocabularies shipped as data: GB/T 2260 regions, GB/T 4754-2017 industries."""
