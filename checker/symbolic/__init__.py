"""checker/symbolic."""
