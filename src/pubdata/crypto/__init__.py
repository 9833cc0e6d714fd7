"""国密 primitives behind small interfaces: SM3 digests (here), SM2 signatures (crypto.sm2)."""
