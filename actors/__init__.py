"""The asyncio actor system of orcrt: Session, ResourceManagers, ControllerAccess, dispatchers."""

__all__: list[str] = []
