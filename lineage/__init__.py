"""Lineage: datasets and snapshots, code, environments, training runs, artifacts, and the
edges between them, recorded through the ledger. Its models arrive with the lineage and
ingestion work; the app is registered now so its migrations start from the first release."""
