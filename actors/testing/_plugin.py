"""pytest plugin entry point (registered as ``orcrt`` in pyproject.toml)."""
