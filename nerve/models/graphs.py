"""Small graph data sets for the GNNs, and batching several graphs into one.

- ``karate_club()``: Zachary's karate club (34 members, 78 friendships; networkx ships it),
  labelled by the club each member joined after the split (0 = Mr. Hi, 1 = Officer).
- ``stochastic_block_model()``: a seeded SBM graph whose node features are noisy class means, so
  that the features alone are weak evidence and the neighbours make up the difference.
- ``cycles_vs_trees()``: a graph-classification set: cycle graphs (label 1) and random trees
  (label 0) with the same numbers of nodes; node features are one-hot degrees (the usual
  choice for graphs without features), so the classes differ only in structure.
- ``batch_graphs()``: G graphs -> one disconnected graph (node ids offset) plus ``batch: (N,)``.

A ``Graph`` holds NumPy arrays: ``x: (N, F)`` float32, ``edge_index: (2, E)`` int64 (both
directions of every undirected edge), ``y``: (N,) node labels or a graph label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import nerve
from nerve.datasets.common import require


@dataclass
class Graph:
    x: np.ndarray  # (N, F) float32 node features
    edge_index: np.ndarray  # (2, E) int64, row 0 sources, row 1 targets
    y: np.ndarray | int  # (N,) int64 node labels, or one int graph label

    @property
    def num_nodes(self) -> int:
        return self.x.shape[0]

    def tensors(self):
        """(x, edge_index) as nerve tensors."""
        return nerve.from_numpy(self.x), nerve.from_numpy(self.edge_index)


@dataclass
class GraphBatch:
    x: nerve.Tensor  # (N, F) all graphs' nodes
    edge_index: nerve.Tensor  # (2, E) with node ids offset per graph
    batch: nerve.Tensor  # (N,) int64, the graph each node belongs to
    y: nerve.Tensor  # (G,) int64 graph labels
    num_graphs: int


def undirected_edge_index(edges) -> np.ndarray:
    """[(u, v), ...] -> (2, 2E) int64 with both u -> v and v -> u."""
    e = np.asarray(list(edges), dtype=np.int64).reshape(-1, 2)
    return np.concatenate([e.T, e[:, ::-1].T], axis=1)


def karate_club() -> Graph:
    """Zachary's karate club: x = one-hot node identity (34, 34), y = club (0 Mr. Hi, 1 Officer)."""
    require("networkx", "nerve.models.graphs.karate_club", extra="zoo")
    import networkx as nx

    g = nx.karate_club_graph()
    n = g.number_of_nodes()
    y = np.array([0 if g.nodes[i]["club"] == "Mr. Hi" else 1 for i in range(n)], dtype=np.int64)
    return Graph(np.eye(n, dtype=np.float32), undirected_edge_index(g.edges()), y)


def stochastic_block_model(sizes=(60, 60, 60), p_in: float = 0.1, p_out: float = 0.01,
                           num_features: int = 8, feature_noise: float = 2.0,
                           seed: int = 0) -> Graph:
    """A stochastic block model: nodes of block a and b are linked with probability p_in if
    a == b, else p_out. Node features: a random unit mean per block plus N(0, feature_noise^2)."""
    if not (0 <= p_out <= 1 and 0 <= p_in <= 1):
        raise ValueError(
            f"stochastic_block_model: p_in, p_out must be in [0, 1], got {p_in}, {p_out}"
        )
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"stochastic_block_model: sizes must be >= 2 positive ints, got {sizes}")
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(sizes)), sizes).astype(np.int64)  # (N,)
    n = y.size
    prob = np.where(y[:, None] == y[None, :], p_in, p_out)  # (N, N) generation only
    upper = np.triu(rng.random((n, n)) < prob, k=1)
    edges = np.argwhere(upper)  # (E, 2) with u < v
    means = rng.normal(size=(len(sizes), num_features))
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    x = means[y] + feature_noise * rng.normal(size=(n, num_features))
    return Graph(x.astype(np.float32), undirected_edge_index(edges), y)


def _random_tree(n: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    # Each new node attaches to a uniformly chosen earlier node: a random recursive tree.
    return [(int(rng.integers(0, v)), v) for v in range(1, n)]


MAX_DEGREE = 4


def degree_features(edge_index: np.ndarray, num_nodes: int) -> np.ndarray:
    """(N, MAX_DEGREE + 1) float32 one-hot of each node's in-degree, capped at MAX_DEGREE."""
    deg = np.minimum(np.bincount(edge_index[1], minlength=num_nodes), MAX_DEGREE)
    return np.eye(MAX_DEGREE + 1, dtype=np.float32)[deg]


def cycles_vs_trees(num_graphs: int = 200, min_nodes: int = 6, max_nodes: int = 14,
                    seed: int = 0) -> list[Graph]:
    """Half cycle graphs C_n (y = 1), half random trees (y = 0), n uniform in [min, max] nodes.

    Node features: one-hot degree, capped at ``MAX_DEGREE`` (N, MAX_DEGREE + 1). Nodes are
    shuffled so that ids carry no information.

    NOTE: with constant features instead, mean/sum message passing sees a cycle's nodes and a
    tree's inner nodes alike; a 3-layer GCN then stayed at chance (~50 %) after 30 epochs.
    """
    if min_nodes < 3 or max_nodes < min_nodes:
        raise ValueError(
            f"cycles_vs_trees: need 3 <= min_nodes <= max_nodes, got {min_nodes}, {max_nodes}"
        )
    rng = np.random.default_rng(seed)
    graphs = []
    for k in range(num_graphs):
        n = int(rng.integers(min_nodes, max_nodes + 1))
        label = k % 2
        edges = [(v, (v + 1) % n) for v in range(n)] if label else _random_tree(n, rng)
        perm = rng.permutation(n)
        edges = [(perm[u], perm[v]) for u, v in edges]
        edge_index = undirected_edge_index(edges)
        graphs.append(Graph(degree_features(edge_index, n), edge_index, label))
    order = rng.permutation(num_graphs)
    return [graphs[i] for i in order]


def batch_graphs(graphs: list[Graph]) -> GraphBatch:
    """Stack graphs into one big disconnected graph: node ids of graph g are offset by the number
    of nodes before it; ``batch[i]`` is node i's graph."""
    if not graphs:
        raise ValueError("batch_graphs: need at least one graph, got an empty list")
    offsets = np.cumsum([0] + [g.num_nodes for g in graphs[:-1]])
    x = np.concatenate([g.x for g in graphs])  # (N, F)
    edge_index = np.concatenate([g.edge_index + o for g, o in zip(graphs, offsets)], axis=1)
    batch = np.repeat(np.arange(len(graphs)), [g.num_nodes for g in graphs]).astype(np.int64)
    y = np.asarray([g.y for g in graphs], dtype=np.int64)
    return GraphBatch(nerve.from_numpy(x), nerve.from_numpy(edge_index.astype(np.int64)),
                      nerve.from_numpy(batch), nerve.from_numpy(y), len(graphs))


def graph_batches(graphs: list[Graph], batch_size: int, shuffle: bool = False, seed: int = 0):
    """Yield ``GraphBatch``es of ``batch_size`` graphs (the last may be smaller)."""
    order = np.random.default_rng(seed).permutation(len(graphs)) if shuffle else range(len(graphs))
    order = list(order)
    for start in range(0, len(order), batch_size):
        yield batch_graphs([graphs[i] for i in order[start:start + batch_size]])


def split_nodes(y: np.ndarray, per_class: int, seed: int = 0):
    """A semi-supervised split: ``per_class`` labelled training nodes per class, the rest test.
    Returns (train_idx, test_idx) int64 arrays."""
    rng = np.random.default_rng(seed)
    train = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False)
                            for c in np.unique(y)])
    test = np.setdiff1d(np.arange(y.size), train)
    return np.sort(train).astype(np.int64), test.astype(np.int64)
