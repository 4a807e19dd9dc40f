"""checker/explicit."""
