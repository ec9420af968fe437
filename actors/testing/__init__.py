"""Testing kit for users of orcrt: the simulated controller and its pytest fixtures."""

__all__: list[str] = []
