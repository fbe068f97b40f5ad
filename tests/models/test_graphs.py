"""The graph data sets and batching of nerve.models.graphs."""

import numpy as np
import pytest

from nerve.models.graphs import (
    MAX_DEGREE,
    batch_graphs,
    cycles_vs_trees,
    degree_features,
    graph_batches,
    karate_club,
    split_nodes,
    stochastic_block_model,
    undirected_edge_index,
)


def test_undirected_edge_index_stores_both_directions():
    e = undirected_edge_index([(0, 1), (1, 2)])
    assert e.dtype == np.int64
    assert sorted(map(tuple, e.T.tolist())) == [(0, 1), (1, 0), (1, 2), (2, 1)]


def test_karate_club():
    import networkx as nx

    karate = karate_club()
    assert karate.num_nodes == 34 and karate.edge_index.shape == (2, 156)  # 78 friendships
    assert karate.x.shape == (34, 34) and np.array_equal(karate.x, np.eye(34))
    assert np.bincount(karate.y).tolist() == [17, 17]
    g = nx.karate_club_graph()
    assert karate.y[0] == 0 and g.nodes[0]["club"] == "Mr. Hi"  # the instructor
    assert karate.y[33] == 1 and g.nodes[33]["club"] == "Officer"  # the administrator
    x, edge_index = karate.tensors()
    assert tuple(x.shape) == (34, 34) and tuple(edge_index.shape) == (2, 156)


def test_stochastic_block_model():
    sbm = stochastic_block_model(seed=0)
    assert sbm.x.shape == (180, 8) and sbm.x.dtype == np.float32
    assert np.bincount(sbm.y).tolist() == [60, 60, 60]
    src, dst = sbm.edge_index
    assert not (src == dst).any()
    same = sbm.y[src] == sbm.y[dst]
    # p_in = 0.1, p_out = 0.01: expected 3 * 177 in-block vs 3 * 36 cross-block edges
    assert 0.75 < same.mean() < 0.95
    assert np.array_equal(stochastic_block_model(seed=0).edge_index, sbm.edge_index)
    assert not np.array_equal(stochastic_block_model(seed=1).x, sbm.x)
    with pytest.raises(ValueError, match="p_in, p_out"):
        stochastic_block_model(p_in=1.5)
    with pytest.raises(ValueError, match="sizes"):
        stochastic_block_model(sizes=(10,))


def test_cycles_vs_trees():
    graphs = cycles_vs_trees(40, min_nodes=6, max_nodes=14, seed=0)
    assert sum(g.y for g in graphs) == 20
    for g in graphs:
        assert 6 <= g.num_nodes <= 14
        edges = g.edge_index.shape[1] // 2
        assert edges == (g.num_nodes if g.y == 1 else g.num_nodes - 1)
        degrees = np.bincount(g.edge_index[1], minlength=g.num_nodes)
        assert np.array_equal(g.x.argmax(1), np.minimum(degrees, MAX_DEGREE))
        if g.y == 1:
            assert (degrees == 2).all()
    with pytest.raises(ValueError, match="min_nodes"):
        cycles_vs_trees(min_nodes=2)


def test_degree_features_cap_the_degree():
    star = undirected_edge_index([(0, k) for k in range(1, 7)])  # centre of degree 6
    x = degree_features(star, 7)
    assert x.shape == (7, MAX_DEGREE + 1)
    assert x[0].argmax() == MAX_DEGREE and (x[1:].argmax(1) == 1).all()


def test_batch_graphs_offsets_node_ids():
    graphs = cycles_vs_trees(3, seed=1)
    b = batch_graphs(graphs)
    sizes = [g.num_nodes for g in graphs]
    assert b.num_graphs == 3 and b.batch.numpy().tolist() == sum(
        ([k] * n for k, n in enumerate(sizes)), [])
    edges = b.edge_index.numpy()
    # every edge stays inside its graph, and the graphs' edges follow each other, offset
    assert (b.batch.numpy()[edges[0]] == b.batch.numpy()[edges[1]]).all()
    first = graphs[0].edge_index.shape[1]
    np.testing.assert_array_equal(edges[:, first:first + graphs[1].edge_index.shape[1]],
                                  graphs[1].edge_index + sizes[0])
    assert b.y.numpy().tolist() == [g.y for g in graphs]
    with pytest.raises(ValueError, match="at least one graph"):
        batch_graphs([])


def test_graph_batches_cover_every_graph_once():
    graphs = cycles_vs_trees(10, seed=0)
    batches = list(graph_batches(graphs, batch_size=4, shuffle=True, seed=3))
    assert [b.num_graphs for b in batches] == [4, 4, 2]
    assert sum(b.x.shape[0] for b in batches) == sum(g.num_nodes for g in graphs)


def test_split_nodes():
    y = np.repeat(np.arange(3), 60)
    train, test = split_nodes(y, 5, seed=0)
    assert len(train) == 15 and len(test) == 165 and not set(train) & set(test)
    assert np.bincount(y[train]).tolist() == [5, 5, 5]
    assert np.array_equal(split_nodes(y, 5, seed=0)[0], train)
