"""Pure parsers: bytes and text in, small immutable records out. No I/O, no imports from daemon."""
