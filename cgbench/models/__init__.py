"""Guards (prompt formats and parsers), inference backends and the ConsistentGuard trainer."""
