"""公共数据资源目录 (REG-35): a public, searchable projection of registered records, province-wide and per city."""
