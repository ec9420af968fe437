"""The dependency graph that decides when emitted symbols become Ready (LLVM's WaitingOnGraph).

Pure bookkeeping: no asyncio, no session state. The ExecutionSession actor owns one
`DependencyGraph` and calls it under its "lock" (its mailbox).

Theory of operation
-------------------
A symbol is Ready when it and everything it transitively depends on has been emitted. A
symbol's outgoing edges are known when it is emitted (``notify_emitted`` names them), so the
graph only ever holds three kinds of nodes:

- *not emitted* nodes (materializing, or never searched) that something waits on;
- *emitted, waiting* nodes: emitted, but some node they transitively depend on is not;
- *ready* nodes, which nothing needs to remember (dependencies on them are dropped).

Every emitted, waiting node belongs to a `Group`, and a group records the set ``waiting_on``
of not-emitted nodes its members transitively wait on. Dependencies on emitted nodes are
flattened at emission time (a node that depends on an emitted node waits on what that node's
group waits on), so a group never waits on an emitted node and every not-emitted node knows
the groups that wait on it (``waiters``). Groups whose ``waiting_on`` sets become equal are
merged (LLVM 22 calls them supernodes), so members that share a fate are handled as one.

Emitting X: X's set is its not-emitted dependencies plus the sets of its emitted
dependencies' groups, minus X itself. Each group that waited on X replaces X by X's set;
a group whose remaining set is contained in X's set then has exactly X's set and merges with
X's group. A group whose set becomes empty is Ready, all members at once. Cycles need no
special case: a group that waits on X and that X depends on ends with X's own set (the
cycle collapses into one group), and X's set never contains X.

Cost: each emission touches X's direct dependencies, the groups waiting on X, and sets of
the size of X's set. A chain emitted in any order, fan-in, fan-out and cycles are linear in
the number of nodes and edges (merging keeps one group per chain segment); merges move the
smaller member list into the larger. A dense web whose nodes wait on many different
not-emitted nodes can cost more (the product of waiters and set sizes), as LLVM's graph does.

Failure of a not-emitted node fails every group waiting on it (their members are returned to
the caller, which marks them failed); a failed or removed emitted node is only marked dead
and skipped when its group becomes ready.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["DependencyGraph", "Group", "Node"]


class Node:
    """What the graph keeps on each symbol; the session's symbol entries subclass it.

    ``waiters``: groups waiting on this (not yet emitted) node; ``group``: this emitted
    node's group while it waits (possibly a merged-away group: see `DependencyGraph.group_of`);
    ``ready``: emitted and Ready; ``dead``: failed or removed while emitted (skipped);
    ``next_member``: the next member of the same group (members form a linked list, so two
    groups merge in constant time).
    """

    __slots__ = ("dead", "group", "next_member", "ready", "waiters")

    def __init__(self) -> None:
        self.waiters: set[Group] | None = None
        self.group: Group | None = None
        self.next_member: Node | None = None
        self.ready = False
        self.dead = False


class Group:
    """Emitted nodes that wait on exactly the same set of not-emitted nodes (a supernode)."""

    __slots__ = ("head", "parent", "size", "tail", "waiting_on")

    def __init__(self, member: Node, waiting_on: set[Node]) -> None:
        self.head: Node | None = member
        self.tail: Node | None = member
        self.size = 1
        self.waiting_on = waiting_on
        self.parent: Group | None = None  # set when merged into another group

    def __repr__(self) -> str:
        return f"<Group members={self.size} waiting_on={len(self.waiting_on)}>"

    def add(self, node: Node) -> None:
        """Append ``node`` to the members."""
        node.next_member = None
        if self.tail is None:
            self.head = node
        else:
            self.tail.next_member = node
        self.tail = node
        self.size += 1

    def take_members(self) -> list[Node]:
        """Remove and return every member (unlinking them)."""
        members = []
        node = self.head
        while node is not None:
            members.append(node)
            node.group = None
            following = node.next_member
            node.next_member = None
            node = following
        self.head = self.tail = None
        self.size = 0
        return members


class DependencyGraph:
    """Tracks emitted-but-not-Ready nodes; see the module docstring. Not thread-safe."""

    __slots__ = ("_groups",)

    def __init__(self) -> None:
        self._groups = 0  # live groups, for statistics and tests

    @property
    def group_count(self) -> int:
        """How many groups (supernodes) currently wait."""
        return self._groups

    @staticmethod
    def group_of(node: Node) -> Group | None:
        """The live group of an emitted, waiting node (None for other nodes)."""
        group = node.group
        if group is None:
            return None
        root = group
        while root.parent is not None:
            root = root.parent
        while group.parent is not None:  # path compression
            group.parent, group = root, group.parent
        node.group = root
        return root

    def emit(self, node: Node, dependencies: Iterable[Node]) -> list[Node]:
        """``node`` was emitted depending on ``dependencies``; return the nodes now Ready.

        ``node`` must be neither emitted nor ready; dependencies may include ``node`` itself,
        repeat, or be in any state except failed (the caller checks that first). The result
        may include ``node`` and nodes emitted earlier; they are marked ready (dead ones are
        left out).
        """
        direct: set[Node] = set()
        dep_groups: dict[Group, None] = {}
        for dep in dependencies:
            if dep is node or dep.ready:
                continue
            if dep.group is None:
                direct.add(dep)
            else:
                group = self.group_of(dep)
                assert group is not None
                dep_groups[group] = None
        waiting = node.waiters
        node.waiters = None

        # Fast path: every dependency is Ready.
        if not direct and not dep_groups:
            return self._ready_now(node, waiting)

        # Fast path: the node waits on what one emitted dependency's group waits on (fan-in
        # onto a waiting node): it joins that group without copying its set.
        if len(dep_groups) == 1 and not waiting:
            (only,) = dep_groups
            if node not in only.waiting_on and direct <= only.waiting_on:
                only.add(node)
                node.group = only
                return []

        pending = direct
        for group in dep_groups:
            pending |= group.waiting_on
        pending.discard(node)
        if not pending:
            return self._ready_now(node, waiting)

        own = Group(node, pending)
        self._groups += 1
        node.group = own
        for target in pending:
            if target.waiters is None:
                target.waiters = {own}
            else:
                target.waiters.add(own)
        # A dependency group with exactly the same set shares the node's fate.
        for group in dep_groups:
            if (
                group.parent is None
                and group is not own
                and len(group.waiting_on) == len(own.waiting_on)
                and node not in group.waiting_on  # a group waiting on the node: see below
            ):
                own = self._merge(own, group)
        if waiting:
            for group in list(waiting):
                if group.parent is not None:
                    continue  # merged into ``own`` above
                group.waiting_on.discard(node)
                if group.waiting_on <= own.waiting_on:
                    own = self._merge(own, group)
                else:
                    for target in own.waiting_on:
                        if target not in group.waiting_on:
                            group.waiting_on.add(target)
                            waiters = target.waiters
                            assert waiters is not None
                            waiters.add(group)
        return []

    def fail(self, node: Node) -> list[Node]:
        """``node`` failed or was removed; return the emitted nodes that must fail with it.

        For a not-emitted node: every group waiting on it is dissolved and its live members
        returned (marked dead). For an emitted, waiting node: it is marked dead and nothing
        else changes. Ready nodes: nothing to do.
        """
        if node.group is not None:
            node.dead = True
            return []
        waiting = node.waiters
        node.waiters = None
        if not waiting:
            return []
        failed: list[Node] = []
        for group in waiting:
            if group.parent is not None:
                continue
            for member in self._dissolve(group):
                if not member.dead:
                    member.dead = True
                    failed.append(member)
        return failed

    # -- internals ------------------------------------------------------------------------------

    def _ready_now(self, node: Node, waiting: set[Group] | None) -> list[Node]:
        node.ready = True
        ready = [node]
        if waiting:
            for group in waiting:
                if group.parent is not None:
                    continue
                group.waiting_on.discard(node)
                if not group.waiting_on:
                    self._groups -= 1
                    for member in group.take_members():
                        if not member.dead:
                            member.ready = True
                            ready.append(member)
        return ready

    def _merge(self, a: Group, b: Group) -> Group:
        """Merge two groups with the same ``waiting_on`` (b's may be a subset of a's)."""
        if a.size < b.size:
            a, b = b, a
            # The survivor takes the larger set; register it where the other one waited.
            for target in b.waiting_on - a.waiting_on:
                a.waiting_on.add(target)
                waiters = target.waiters
                assert waiters is not None
                waiters.add(a)
        for target in b.waiting_on:
            waiters = target.waiters
            if waiters is not None:
                waiters.discard(b)
        # Splice b's member list onto a's; b's members find a through b.parent.
        if b.head is not None:
            if a.tail is None:
                a.head = b.head
            else:
                a.tail.next_member = b.head
            a.tail = b.tail
            a.size += b.size
        b.head = b.tail = None
        b.size = 0
        b.waiting_on = set()
        b.parent = a
        self._groups -= 1
        return a

    def _dissolve(self, group: Group) -> list[Node]:
        for target in group.waiting_on:
            waiters = target.waiters
            if waiters is not None:
                waiters.discard(group)
        group.waiting_on = set()
        self._groups -= 1
        return group.take_members()
