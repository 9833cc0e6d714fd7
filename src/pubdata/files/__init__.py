"""Content-addressed attachment store: files named by their SM3 digest, one row per upload."""

from pubdata.files.models import StoredFile
from pubdata.files.service import exists, get_file_meta, open_blob, parse_digest, record_upload, store_upload

__all__ = ["StoredFile", "exists", "get_file_meta", "open_blob", "parse_digest", "record_upload", "store_upload"]
