"""krmfn: the MultiDomain KRM function."""

__version__ = "0.1.0"
