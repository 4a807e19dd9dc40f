"""mhpcheck: a model checker for Linux memory hot(un)plug lifecycles."""

__version__ = "0.1.0"
