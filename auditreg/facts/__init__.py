"""Facts: what the ledger records about the registry, lineage and reports."""
