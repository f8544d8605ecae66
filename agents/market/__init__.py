"""Local energy market: order books, clearing rules (pure functions), market time."""
