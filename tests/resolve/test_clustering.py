"""Tests for clustering with cannot-link constraints, checked against networkx."""

from __future__ import annotations

import logging
import math
import random
import sys
from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.resolve.clustering import (
    ClusterResult,
    Edge,
    cluster,
    cluster_with_report,
    join_singletons,
)

WEIGHTS = [0.1, 0.5, 0.5, 0.9, math.inf]

# Nodes, edges and cannot-link pairs.
Graph = tuple[list[str], list[Edge], list[tuple[str, str]]]


def node_name(number: int) -> str:
    return f"r{number:03d}"


def members_by_label(labels: dict[str, str]) -> dict[str, set[str]]:
    members: dict[str, set[str]] = defaultdict(set)
    for node, label in labels.items():
        members[label].add(node)
    return dict(members)


def clusters_of(labels: dict[str, str]) -> set[frozenset[str]]:
    return {frozenset(members) for members in members_by_label(labels).values()}


def accepted_graph(nodes: list[str], edges: list[Edge]) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((edge.a, edge.b) for edge in edges)
    return graph


def expected_components(nodes: list[str], edges: list[Edge]) -> set[frozenset[str]]:
    return {frozenset(part) for part in nx.connected_components(accepted_graph(nodes, edges))}


@st.composite
def graphs(draw: st.DrawFn, with_constraints: bool) -> Graph:
    """Draw nodes, edges with self-loops, duplicates and tied weights, and cannot-link pairs."""
    count = draw(st.integers(min_value=0, max_value=25))
    nodes = [node_name(number) for number in range(count)]
    # Edges may name up to three records that are not in ``nodes``.
    endpoint = st.integers(min_value=0, max_value=count + 2).map(node_name)
    edge = st.builds(Edge, endpoint, endpoint, st.sampled_from(WEIGHTS))
    edges = draw(st.lists(edge, max_size=3 * count + 5))
    cannot_link: list[tuple[str, str]] = []
    if with_constraints:
        pair = st.tuples(endpoint, endpoint).filter(lambda ends: ends[0] != ends[1])
        cannot_link = draw(st.lists(pair, max_size=6))
    return nodes, edges, cannot_link


def random_graph(rng: random.Random, count: int, edge_count: int, pair_count: int) -> Graph:
    nodes = [node_name(number) for number in range(count)]
    edges = [
        Edge(rng.choice(nodes), rng.choice(nodes), rng.choice([*WEIGHTS, rng.random()]))
        for _ in range(edge_count)
    ]
    cannot_link = []
    for _ in range(pair_count):
        first, second = rng.sample(nodes, 2)
        cannot_link.append((first, second))
    return nodes, edges, cannot_link


# Unconstrained clustering equals networkx.connected_components.


@settings(max_examples=300, deadline=None)
@given(graphs(with_constraints=False))
def test_unconstrained_matches_networkx(
    graph: Graph,
) -> None:
    nodes, edges, _ = graph
    labels = cluster(nodes, edges)
    assert clusters_of(labels) == expected_components(nodes, edges)


@settings(max_examples=100, deadline=None)
@given(graphs(with_constraints=False))
def test_label_is_smallest_member(
    graph: Graph,
) -> None:
    nodes, edges, _ = graph
    labels = cluster(nodes, edges)
    for label, members in members_by_label(labels).items():
        assert label == min(members)


@pytest.mark.parametrize(("count", "edge_count"), [(1, 0), (10, 3), (500, 300), (20_000, 15_000)])
def test_unconstrained_random_sizes(count: int, edge_count: int) -> None:
    nodes, edges, _ = random_graph(random.Random(count), count, edge_count, 0)
    labels = cluster(nodes, edges)
    assert clusters_of(labels) == expected_components(nodes, edges)


@pytest.mark.parametrize("count", [10, 500, 5_000])
def test_union_find_without_scipy(count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    nodes, edges, cannot_link = random_graph(random.Random(count), count, count, count // 50)
    with_scipy = cluster_with_report(nodes, edges, cannot_link)
    # A None entry in sys.modules makes the import raise ImportError.
    monkeypatch.setitem(sys.modules, "scipy.sparse", None)
    without_scipy = cluster_with_report(nodes, edges, cannot_link)
    assert without_scipy == with_scipy


def test_edges_add_unknown_nodes() -> None:
    labels = cluster(["a"], [Edge("b", "c", 0.5)])
    assert labels == {"a": "a", "b": "b", "c": "b"}


def test_empty_input_gives_empty_result() -> None:
    assert cluster_with_report([], []) == ClusterResult({}, ())


def test_nan_weight_is_rejected() -> None:
    with pytest.raises(ValueError, match="NaN weight"):
        cluster(["a", "b"], [Edge("a", "b", math.nan)])


# Properties of constrained clustering, checked with networkx.


def check_constrained_properties(
    nodes: list[str], edges: list[Edge], cannot_link: list[tuple[str, str]]
) -> None:
    result = cluster_with_report(nodes, edges, cannot_link)
    labels = result.labels
    members = members_by_label(labels)
    graph = accepted_graph(nodes, edges)
    known_pairs = [(x, y) for x, y in cannot_link if x in labels and y in labels]

    assert set(labels) == set(graph.nodes)
    for x, y in known_pairs:
        assert labels[x] != labels[y], f"cannot-link pair ({x}, {y}) shares a cluster"
    for label, cluster_members in members.items():
        assert nx.is_connected(graph.subgraph(cluster_members)), f"cluster {label} is disconnected"

    forbidden = {frozenset(pair) for pair in known_pairs}
    between = [edge for edge in edges if labels[edge.a] != labels[edge.b]]
    for edge in between:
        merged = members[labels[edge.a]] | members[labels[edge.b]]
        assert any(pair <= merged for pair in forbidden), f"edge {edge} could merge its clusters"

    cut_pairs = sorted((cut.edge.a, cut.edge.b) for cut in result.cut_edges)
    assert cut_pairs == sorted((min(e.a, e.b), max(e.a, e.b)) for e in between)
    for cut in result.cut_edges:
        assert cut.edge.a < cut.edge.b
        first, second = cut.cannot_link
        sides = {labels[cut.edge.a], labels[cut.edge.b]}
        assert {labels[first], labels[second]} == sides, f"cut {cut} names an unrelated pair"

    for component in nx.connected_components(graph):
        if not any(pair <= component for pair in forbidden):
            assert len({labels[node] for node in component}) == 1


@settings(max_examples=400, deadline=None)
@given(graphs(with_constraints=True))
def test_constrained_properties(
    graph: Graph,
) -> None:
    check_constrained_properties(*graph)


@pytest.mark.parametrize(
    ("count", "edge_count", "pair_count"),
    [(5, 8, 2), (60, 90, 10), (400, 600, 40), (3_000, 4_500, 100)],
)
def test_constrained_random_sizes(count: int, edge_count: int, pair_count: int) -> None:
    rng = random.Random(count * 7 + pair_count)
    check_constrained_properties(*random_graph(rng, count, edge_count, pair_count))


@settings(max_examples=150, deadline=None)
@given(graphs(with_constraints=True), st.randoms(use_true_random=False))
def test_input_order_does_not_matter(graph: Graph, rng: random.Random) -> None:
    nodes, edges, cannot_link = graph
    shuffled_nodes = rng.sample(nodes, len(nodes))
    flipped_edges = [Edge(e.b, e.a, e.weight) if rng.random() < 0.5 else e for e in edges]
    shuffled_edges = rng.sample(flipped_edges, len(flipped_edges))
    shuffled_pairs = [(y, x) for x, y in rng.sample(cannot_link, len(cannot_link))]
    expected = cluster_with_report(nodes, edges, cannot_link)
    assert cluster_with_report(shuffled_nodes, shuffled_edges, shuffled_pairs) == expected


# Greedy weakest-edge behaviour on hand-built hard cases.


@dataclass(frozen=True)
class SplitCase:
    name: str
    edges: list[tuple[str, str, float]]
    cannot_link: list[tuple[str, str]]
    clusters: set[frozenset[str]]
    cuts: list[tuple[str, str]]
    nodes: list[str] = field(default_factory=list)


INF = math.inf
SPLIT_CASES = [
    SplitCase(
        "chain cut at weaker second edge",
        [("A", "B", 0.9), ("B", "C", 0.5)],
        [("A", "C")],
        {frozenset("AB"), frozenset("C")},
        [("B", "C")],
    ),
    SplitCase(
        "chain cut at weaker first edge",
        [("A", "B", 0.4), ("B", "C", 0.8)],
        [("C", "A")],
        {frozenset("A"), frozenset("BC")},
        [("A", "B")],
    ),
    SplitCase(
        "chain tie broken by record order",
        [("C", "B", 0.5), ("B", "A", 0.5)],
        [("A", "C")],
        {frozenset("AB"), frozenset("C")},
        [("B", "C")],
    ),
    SplitCase(
        "triangles split at weak bridge",
        [
            ("A", "B", 0.9),
            ("B", "C", 0.9),
            ("A", "C", 0.8),
            ("D", "E", 0.9),
            ("E", "F", 0.9),
            ("D", "F", 0.8),
            ("C", "D", 0.2),
        ],
        [("A", "F")],
        {frozenset("ABC"), frozenset("DEF")},
        [("C", "D")],
    ),
    SplitCase(
        "must-link kept over weaker edge",
        [("A", "B", INF), ("B", "C", 0.3)],
        [("A", "C")],
        {frozenset("AB"), frozenset("C")},
        [("B", "C")],
    ),
    SplitCase(
        "cannot-link overrides must-link",
        [("A", "B", INF)],
        [("A", "B")],
        {frozenset("A"), frozenset("B")},
        [("A", "B")],
    ),
    SplitCase(
        "must-link chain cut at last tie",
        [("B", "C", INF), ("A", "B", INF)],
        [("A", "C")],
        {frozenset("AB"), frozenset("C")},
        [("B", "C")],
    ),
    SplitCase(
        "weak edge joins after two cuts",
        [("A", "B", 0.9), ("B", "C", 0.8), ("A", "C", 0.7)],
        [("A", "B"), ("B", "C")],
        {frozenset("AC"), frozenset("B")},
        [("A", "B"), ("B", "C")],
    ),
    SplitCase(
        "constraint across components changes nothing",
        [("A", "B", 0.9), ("C", "D", 0.1)],
        [("A", "C")],
        {frozenset("AB"), frozenset("CD")},
        [],
    ),
    SplitCase(
        "constraint on unknown record changes nothing",
        [("A", "B", 0.9)],
        [("A", "Z")],
        {frozenset("AB")},
        [],
    ),
    SplitCase(
        "self-loop and duplicate edges",
        [("A", "A", 0.9), ("A", "B", 0.6), ("B", "A", 0.6), ("B", "C", 0.7)],
        [("A", "C")],
        {frozenset("A"), frozenset("BC")},
        [("A", "B"), ("A", "B")],
    ),
    SplitCase(
        "isolated nodes stay singletons",
        [("A", "B", 0.9)],
        [("A", "B")],
        {frozenset("A"), frozenset("B"), frozenset("X")},
        [("A", "B")],
        nodes=["X"],
    ),
]


@pytest.mark.parametrize("case", SPLIT_CASES, ids=[case.name for case in SPLIT_CASES])
def test_greedy_split_cases(case: SplitCase) -> None:
    edges = [Edge(a, b, weight) for a, b, weight in case.edges]
    result = cluster_with_report(case.nodes, edges, case.cannot_link)
    assert clusters_of(result.labels) == case.clusters
    assert [(cut.edge.a, cut.edge.b) for cut in result.cut_edges] == case.cuts


def test_cut_edge_names_blocking_pair() -> None:
    edges = [Edge("A", "B", 0.9), Edge("C", "B", 0.5)]
    result = cluster_with_report([], edges, [("C", "A")])
    assert [cut.cannot_link for cut in result.cut_edges] == [("A", "C")]


def test_cut_edge_keeps_weight() -> None:
    edges = [Edge("A", "B", 0.9), Edge("C", "B", 0.5)]
    result = cluster_with_report([], edges, [("C", "A")])
    assert [cut.edge.weight for cut in result.cut_edges] == [0.5]


def test_cut_edges_strongest_first() -> None:
    edges = [Edge("A", "B", 0.2), Edge("B", "C", 0.9), Edge("C", "D", 0.5)]
    result = cluster_with_report([], edges, [("A", "B"), ("B", "C"), ("C", "D")])
    assert [cut.edge.weight for cut in result.cut_edges] == [0.9, 0.5, 0.2]


def test_must_link_conflict_logs_both_ids(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="accord.resolve.clustering"):
        cluster(["x1", "y2"], [Edge("x1", "y2", math.inf)], [("y2", "x1")])
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1
    assert "'x1'" in messages[0]
    assert "'y2'" in messages[0]


def test_weak_cut_does_not_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="accord.resolve.clustering"):
        cluster(["a", "b"], [Edge("a", "b", 0.7)], [("a", "b")])
    assert caplog.records == []


def test_self_cannot_link_ignored(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="accord.resolve.clustering"):
        labels = cluster([], [Edge("a", "b", 0.7)], [("a", "a")])
    assert labels == {"a": "a", "b": "a"}
    assert "'a'" in caplog.records[0].getMessage()


# Attaching lone records equals clustering again with the new edges.


def split_labels(result: ClusterResult) -> set[str]:
    return {result.labels[end] for cut in result.cut_edges for end in (cut.edge.a, cut.edge.b)}


@settings(max_examples=500, deadline=None)
@given(graphs(with_constraints=True), st.randoms(use_true_random=False))
def test_join_singletons_equals_clustering_again(graph: Graph, rng: random.Random) -> None:
    nodes, edges, cannot_link = graph
    result = cluster_with_report(nodes, edges, cannot_link)
    labels = result.labels
    sizes = {label: list(labels.values()).count(label) for label in labels.values()}
    lone = [record for record in labels if sizes[labels[record]] == 1]
    links = [(record, rng.choice(sorted(labels))) for record in rng.sample(lone, len(lone) // 2)]
    joined = join_singletons(labels, links, cannot_link, split_labels(result))
    linked = [Edge(a, b, 1e6) for a, b in links]
    constrained = {record for pair in cannot_link for record in pair}
    if not any(record in constrained for record, _ in links):
        assert joined is not None
    if joined is not None:
        assert joined == cluster(nodes, edges + linked, cannot_link)


def test_join_singletons_keeps_lone_record_apart_from_partner() -> None:
    result = cluster_with_report(["a", "b", "c", "d"], [Edge("b", "c", 1.0)], [("a", "d")])
    joined = join_singletons(result.labels, [("a", "b")], [("a", "d")], split_labels(result))
    assert joined == {"a": "a", "b": "a", "c": "a", "d": "d"}


def test_join_singletons_rejects_partner_in_group() -> None:
    labels = cluster(["a", "b", "c"], [Edge("b", "c", 1.0)], [("a", "c")])
    assert join_singletons(labels, [("a", "b")], [("a", "c")]) is None


def test_join_singletons_rejects_split_cluster() -> None:
    edges = [Edge("b", "c", 1.0), Edge("c", "d", 0.5)]
    result = cluster_with_report(["a", "b", "c", "d", "e"], edges, [("b", "d"), ("a", "e")])
    joined = join_singletons(
        result.labels, [("a", "b")], [("b", "d"), ("a", "e")], split_labels(result)
    )
    assert joined is None


def test_join_singletons_rejects_clustered_record() -> None:
    labels = cluster(["a", "b", "c"], [Edge("b", "c", 1.0)])
    assert join_singletons(labels, [("b", "a")], []) is None


def test_join_singletons_relabels_with_smallest_id() -> None:
    labels = cluster(["a", "b", "c"], [Edge("b", "c", 1.0)])
    assert join_singletons(labels, [("a", "c")], []) == {"a": "a", "b": "a", "c": "a"}
