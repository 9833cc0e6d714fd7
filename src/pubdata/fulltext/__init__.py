"""Chinese-aware full-text search shared by the catalog and the public notice list: one tokeniser (text), one
way to find candidates in a posting table (postings), one spelling of substring tests per database (sql)."""
