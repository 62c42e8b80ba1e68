"""Canonical given names for nickname equivalence.

The ``nicknames`` package (1.0.1, a hand-curated list of English given names
by Carlton Northern and Nick Crews) stores directed pairs such as "robert has
nickname bob". Those pairs do not form
clean groups: the data lists "bill has nickname robert" next to "robert has
nickname bill", and "alexandria has nickname alexander". This module picks
one representative per name, deterministically:

1. A name in :data:`PREFERRED_NAMES` is its own representative.
2. Otherwise, among the names that list it as a nickname, a preferred name
   wins; failing that, a name that dominates it (see :func:`_dominates`).
3. Ties go to the candidate that starts with the same letter, then shares
   more nicknames, then shares more letters, then has more nicknames, then
   sorts first.
4. Each name follows its chosen candidate until it reaches a representative,
   so ``representative(representative(x)) == representative(x)``.

Equal representatives mean that the data links the names ("bob" and
"robert" give "robert"). The grouping is a heuristic. Some nicknames belong
to several names ("chris", "sam"), and each gets one group.
"""

from __future__ import annotations

import functools

from nicknames import NickNamer
from rapidfuzz.distance import LCSseq

from accord.standardize.base import word_set

PREFERRED_NAMES: frozenset[str] = word_set(
    "aaron abigail albert alexander alexandra alfred amanda andrea andrew angela anna "
    "anthony arthur barbara benjamin brenda carol catherine charles christina christine "
    "christopher cynthia daniel david deborah dennis diane donald donna dorothy douglas "
    "edward elizabeth emily eugene frances francis frederick gerald gregory harold helen "
    "henry jacob james jane janet jeffrey jennifer jessica joan john jonathan joseph "
    "joshua judith katherine kathleen kenneth kimberly lawrence leonard linda louis "
    "margaret maria martha mary matthew melissa michael nancy nicholas pamela patricia "
    "patrick peter philip raymond rebecca richard robert ronald samantha samuel sandra "
    "sarah stephen steven susan theodore thomas timothy victoria vincent walter william "
    "zachary"
)
"""Common English given names that always represent their group.

The raw data would otherwise send "mary" to "marietta" and "tom" to "thom",
because rarer entries list more variants.
"""


class _Graph:
    """Nickname pairs from the ``nicknames`` package, as lookup tables."""

    def __init__(self) -> None:
        namer = NickNamer()
        self.nicknames: dict[str, set[str]] = namer.nickname_lookup
        self.canonicals: dict[str, set[str]] = namer.canonical_lookup
        self.names: set[str] = set(self.nicknames) | set(self.canonicals)

    def degree(self, name: str) -> int:
        return len(self.nicknames.get(name, ()))


def _dominates(graph: _Graph, candidate: str, name: str) -> bool:
    """Return whether ``candidate`` is a more formal form of ``name``.

    ``candidate`` already lists ``name`` as a nickname. It dominates when
    ``name`` has no nicknames of its own, or when ``candidate`` has more
    nicknames and either ``name`` lists ``candidate`` back or ``candidate``
    is longer and shares most of ``name``'s nicknames.
    """
    if graph.degree(name) == 0:
        return True
    if graph.degree(candidate) <= graph.degree(name):
        return False
    own = graph.nicknames.get(name, set())
    if candidate in own:
        return True
    shared = own & graph.nicknames.get(candidate, set())
    return len(name) < len(candidate) and 2 * len(shared) > len(own)


def _next_name(graph: _Graph, name: str) -> str:
    """Return the name that ``name`` points to on the way to its representative."""
    if name in PREFERRED_NAMES:
        return name
    candidates = sorted(graph.canonicals.get(name, ()))
    preferred = [c for c in candidates if c in PREFERRED_NAMES]
    candidates = preferred or [c for c in candidates if _dominates(graph, c, name)]
    if not candidates:
        return name
    own = {name} | graph.nicknames.get(name, set())

    def score(candidate: str) -> tuple[bool, int, float, int]:
        shared = len(graph.nicknames.get(candidate, set()) & own)
        letters = LCSseq.similarity(name, candidate)
        return (candidate[0] == name[0], shared, letters, graph.degree(candidate))

    # max() keeps the first of equal scores, and candidates are sorted.
    return max(candidates, key=score)


@functools.cache
def representative_table() -> dict[str, str]:
    """Map every name in the nickname data to its representative, lowercase."""
    graph = _Graph()
    pointer = {name: _next_name(graph, name) for name in sorted(graph.names)}
    table: dict[str, str] = {}
    for start in sorted(graph.names):
        path: list[str] = []
        position: dict[str, int] = {}
        name = start
        while name not in table and pointer[name] != name and name not in position:
            position[name] = len(path)
            path.append(name)
            name = pointer[name]
        if name in table:
            root = table[name]
        elif pointer[name] == name:
            root = name
        else:
            # A cycle: its alphabetically first member becomes the root.
            root = min(path[position[name] :])
            pointer[root] = root
        for member in path:
            table[member] = root
        table.setdefault(name, root)
    return table


def nickname_key(folded_given_name: str) -> str:
    """Return the representative of a folded given name.

    Args:
        folded_given_name: A given name folded to lowercase ASCII letters.

    Returns:
        The representative of its nickname group, or the name itself when
        the nickname data does not list it.
    """
    return representative_table().get(folded_given_name, folded_given_name)
