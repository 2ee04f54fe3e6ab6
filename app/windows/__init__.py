"""Follow-up windows: when each window opens and what completes or cancels it (pure)."""
