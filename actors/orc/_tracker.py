"""Resource tracking: `ResourceTracker` (who owns a definition) and `ResourceManager` (who
holds the resources, such as executor memory, and frees them).

Every definition belongs to a tracker: its JITDylib's default one unless another is given.
Removing a tracker removes its symbols (failing lookups still waiting for them), makes the
responsibilities of its materializers defunct, and then asks every registered
`ResourceManager`, newest first, to release what it recorded under the tracker's key.
Transferring merges one tracker into another of the same JITDylib. Dropping the last
reference to a live tracker transfers its resources to the default tracker (LLVM).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from ._messages import BeginRemoveTracker, TransferTracker

if TYPE_CHECKING:
    from ._jitdylib import JITDylib
    from ._session import ExecutionSession
    from ._table import TrackerRecord

__all__ = ["ResourceManager", "ResourceTracker", "ResourceTrackerBlocking"]


class ResourceTracker:
    """A handle on a set of definitions in one JITDylib (LLVM ``ResourceTracker``).

    Created by ``JITDylib.create_resource_tracker`` (or is the JITDylib's
    ``default_tracker``); never constructed directly. Async methods run on the session's
    loop; `blocking` has them for other threads. Once removed or transferred away the tracker
    is *defunct*: materializers working for it get `ResourceTrackerDefunctError`, and
    removing it again does nothing.
    """

    __slots__ = ("__weakref__", "_blocking", "_record", "_session")

    _session: ExecutionSession
    _record: TrackerRecord
    _blocking: ResourceTrackerBlocking | None

    def __init__(self) -> None:
        raise TypeError("ResourceTracker objects come from JITDylib.create_resource_tracker()")

    @classmethod
    def _create(cls, session: ExecutionSession, record: TrackerRecord) -> ResourceTracker:
        tracker = object.__new__(cls)
        tracker._session = session
        tracker._record = record
        tracker._blocking = None
        return tracker

    def __repr__(self) -> str:
        state = " defunct" if self._record.defunct else ""
        return f"<ResourceTracker {self.key:#x} of {self._record.jd.name}{state}>"

    @property
    def key(self) -> int:
        """The key resource managers file resources under (unique within the session)."""
        return self._record.key

    @property
    def jitdylib(self) -> JITDylib:
        """The JITDylib whose definitions this tracker covers."""
        return self._record.jd.handle

    @property
    def defunct(self) -> bool:
        """True once removed or transferred away (a snapshot; any thread)."""
        return self._record.defunct

    @property
    def blocking(self) -> ResourceTrackerBlocking:
        """`remove` and `transfer_to` as blocking calls, for threads other than the loop's."""
        if self._blocking is None:
            self._blocking = ResourceTrackerBlocking(self)
        return self._blocking

    async def remove(self) -> None:
        """Remove every definition tracked here, then release their resources.

        Symbols still materializing are failed (their lookups get FailedToMaterializeError,
        after the resource managers ran); later lookups of removed names find nothing.
        Idempotent: removing a defunct tracker does nothing.

        Raises:
            Exception: what a resource manager's ``handle_remove_resources`` raised (the
                first; others are reported), after every manager ran.
        """
        removal = await self._session._ask(BeginRemoveTracker(tracker=self._record))
        await self._session._finish_tracker_removal(removal)

    async def transfer_to(self, destination: ResourceTracker) -> None:
        """Move everything this tracker owns to ``destination``; this one becomes defunct.

        A transfer to itself does nothing. Resource managers' ``handle_transfer_resources``
        run under the session lock.

        Raises:
            ValueError: ``destination`` belongs to another JITDylib.
            ResourceTrackerDefunctError: ``destination`` is defunct.
        """
        await self._session._ask(TransferTracker(source=self._record, destination=destination))


class ResourceTrackerBlocking:
    """`ResourceTracker`'s operations as blocking calls (``tracker.blocking``).

    Raises (every method):
        RuntimeError: called on the session's event-loop thread.
    """

    __slots__ = ("_tracker",)

    def __init__(self, tracker: ResourceTracker) -> None:
        self._tracker = tracker

    def remove(self) -> None:
        """See `ResourceTracker.remove`."""
        self._tracker._session._run_blocking(self._tracker.remove())

    def transfer_to(self, destination: ResourceTracker) -> None:
        """See `ResourceTracker.transfer_to`."""
        self._tracker._session._run_blocking(self._tracker.transfer_to(destination))


class ResourceManager(ABC):
    """Something that holds resources for trackers' definitions (LLVM ``ResourceManager``).

    Register it with ``ExecutionSession.register_resource_manager``. The typical one is a
    linking layer, which records the executor memory of each link under the MR's tracker
    key (``mr.with_resource_key_do``) and frees it in `handle_remove_resources`.
    """

    @abstractmethod
    async def handle_remove_resources(self, jd: JITDylib, key: int) -> None:
        """Release everything recorded under ``key`` (its tracker was removed).

        Called once per removal, outside the session lock, on the session's loop; managers
        run newest registration first, and one manager's failure does not stop the others.
        May await (to free executor memory). Raising reports the error to whoever removed
        the tracker.
        """

    @abstractmethod
    def handle_transfer_resources(self, jd: JITDylib, dst_key: int, src_key: int) -> None:
        """Re-file everything recorded under ``src_key`` under ``dst_key`` (a transfer).

        Called under the session lock, on the session's task: must be quick, must not
        block and must not call the session. An exception is reported.
        """
