"""Source adapters: small named functions for exports that need more than column mapping.

An adapter module has `build(ctx) -> {table: SQL}`; each query returns the canonical
columns as text plus `_file` and `_line`, and ingest then casts and checks them like
any export. Each adapter sits beside its config (configs/sources/<name>.yml names it).
"""
