"""GCNConv, GATConv and SAGEConv against the papers' equations written densely with torch ops
(same weights, float64: outputs and the gradients of x and of every parameter), plus shapes,
parameter counts, pooling, a falling loss and the accuracies on the karate club, a stochastic
block model and cycles vs. trees."""

import os
import time

import numpy as np
import pytest
import torch
from zoo_oracle import blas_threads, count

import nerve
import nerve.nn.functional as F
from nerve.models.gnn import (
    GATConv,
    GCNConv,
    GNNConfig,
    GraphClassifier,
    NodeClassifier,
    SAGEConv,
    add_self_loops,
    degree,
    global_add_pool,
    global_mean_pool,
    scatter_softmax,
)
from nerve.models.graphs import (
    batch_graphs,
    cycles_vs_trees,
    graph_batches,
    karate_club,
    split_nodes,
    stochastic_block_model,
)

SLOW = bool(os.environ.get("NERVE_SLOW"))


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with blas_threads(1):
        yield


# A small directed graph with what trips message passing up: a node with several in-edges, a
# duplicate edge (1 -> 2 twice), an existing self loop (3 -> 3), a node with no in-edges (0)
# and an isolated node (5).
EDGES = np.array([[1, 2, 0, 4, 1, 1, 3, 2, 4],
                  [2, 0, 3, 3, 2, 4, 3, 1, 1]], dtype=np.int64)
N = 6


def _dense_adjacency(edge_index, n, self_loops):
    """A[i, j] = number of edges j -> i (torch, float64); self_loops: A + I without old loops."""
    src, dst = torch.from_numpy(edge_index[0]), torch.from_numpy(edge_index[1])
    a = torch.zeros(n, n, dtype=torch.float64)
    a.index_put_((dst, src), torch.ones(src.shape[0], dtype=torch.float64), accumulate=True)
    if self_loops:
        a = a * (1 - torch.eye(n, dtype=torch.float64)) + torch.eye(n, dtype=torch.float64)
    return a


def _graph_inputs(in_channels, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, in_channels))
    return x, EDGES


def _compare(layer, reference, x, edge_index, **kwargs):
    """Run nerve's layer and the torch reference on the same weights; compare outputs and the
    gradients of x and of every parameter for a random upstream gradient."""
    layer = layer.double()
    params = dict(layer.named_parameters())
    xn = nerve.tensor(x, requires_grad=True)
    out = layer(xn, nerve.tensor(edge_index), **kwargs)
    upstream = np.random.default_rng(1).normal(size=tuple(out.shape))
    (out * nerve.tensor(upstream)).sum().backward()

    xt = torch.tensor(x, requires_grad=True)
    pt = {k: torch.tensor(v.detach().numpy(), requires_grad=True) for k, v in params.items()}
    expected = reference(xt, edge_index, pt)
    (expected * torch.from_numpy(upstream)).sum().backward()

    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, p in params.items():
        np.testing.assert_allclose(p.grad.numpy(), pt[name].grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)


def _gcn_reference(x, edge_index, p):
    """Kipf & Welling (2017), eq. 2: D^-1/2 (A + I) D^-1/2 X W + b, D_ii = sum_j (A + I)_ij."""
    a_hat = _dense_adjacency(edge_index, x.shape[0], self_loops=True)
    d_inv_sqrt = a_hat.sum(1).pow(-0.5)
    norm = d_inv_sqrt[:, None] * a_hat * d_inv_sqrt[None, :]
    return norm @ (x @ p["lin.weight"].T) + p["bias"]


def _gat_reference(heads, concat):
    def reference(x, edge_index, p):
        """Velickovic et al. (2018), eqs. 1-4: e_ij = LeakyReLU_0.2(a^T [W h_i || W h_j]),
        alpha_ij = softmax over j in N(i) + {i}, h'_i = sum_j alpha_ij W h_j, per head."""
        n = x.shape[0]
        # log A: -inf off the graph; a duplicate edge j -> i counts twice, as in PyG's scatter.
        log_a = _dense_adjacency(edge_index, n, self_loops=True).log()  # (N, N) j -> i
        h = (x @ p["lin.weight"].T).view(n, heads, -1)  # (N, H, C)
        outs = []
        for k in range(heads):
            s_dst = h[:, k] @ p["att_dst"][0, k]  # (N,) a_dst . W h_i
            s_src = h[:, k] @ p["att_src"][0, k]  # (N,) a_src . W h_j
            e = torch.nn.functional.leaky_relu(s_dst[:, None] + s_src[None, :], 0.2)  # (N, N)
            alpha = torch.softmax(e + log_a, dim=1)  # over j, weighted by edge multiplicity
            outs.append(alpha @ h[:, k])  # (N, C)
        out = torch.cat(outs, 1) if concat else torch.stack(outs).mean(0)
        return out + p["bias"]

    return reference


def _sage_reference(x, edge_index, p):
    """Hamilton et al. (2017), mean aggregator: W_l mean_{j in N(i)} x_j + b + W_r x_i."""
    a = _dense_adjacency(edge_index, x.shape[0], self_loops=False)
    mean = (a @ x) / a.sum(1, keepdim=True).clamp(min=1)
    return mean @ p["lin_l.weight"].T + p["lin_l.bias"] + x @ p["lin_r.weight"].T


def test_gcn_matches_the_dense_formula_with_gradients():
    nerve.manual_seed(0)
    x, edge_index = _graph_inputs(5)
    layer = GCNConv(5, 4)
    nerve.nn.init.normal_(layer.bias)  # a non-zero bias, so that its gradient path is checked
    _compare(layer, _gcn_reference, x, edge_index)


@pytest.mark.parametrize("heads, concat", [(1, True), (3, True), (3, False)])
def test_gat_matches_masked_dense_attention_with_gradients(heads, concat):
    nerve.manual_seed(0)
    x, edge_index = _graph_inputs(5)
    layer = GATConv(5, 4, heads=heads, concat=concat)
    nerve.nn.init.normal_(layer.bias)
    _compare(layer, _gat_reference(heads, concat), x, edge_index)


def test_sage_matches_the_mean_aggregator_with_gradients():
    nerve.manual_seed(0)
    x, edge_index = _graph_inputs(5)
    _compare(SAGEConv(5, 4), _sage_reference, x, edge_index)


def test_gat_attention_weights_sum_to_one_over_each_neighbourhood():
    nerve.manual_seed(0)
    x, edge_index = _graph_inputs(5)
    layer = GATConv(5, 4, heads=2)
    _, (edges, alpha) = layer(nerve.tensor(x).float(), nerve.tensor(edge_index),
                              return_attention_weights=True)
    assert tuple(edges.shape) == (2, EDGES.shape[1] - 1 + N)  # the old loop 3 -> 3 replaced
    assert tuple(alpha.shape) == (EDGES.shape[1] - 1 + N, 2)
    totals = np.zeros((N, 2))
    np.add.at(totals, edges[1].numpy(), alpha.detach().numpy())
    np.testing.assert_allclose(totals, 1.0, rtol=1e-6)


def test_scatter_softmax_is_stable_for_large_scores():
    scores = nerve.tensor([[1000.0], [1001.0], [-5.0]])
    alpha = scatter_softmax(scores, nerve.tensor([0, 0, 1]), 2).numpy()[:, 0]
    e = np.exp([-1.0, 0.0])
    np.testing.assert_allclose(alpha, [e[0] / e.sum(), e[1] / e.sum(), 1.0], rtol=1e-6)


def test_helpers_self_loops_and_degree():
    loops = add_self_loops(nerve.tensor(EDGES), N).numpy()
    assert loops.shape == (2, EDGES.shape[1] - 1 + N)
    assert sorted(map(tuple, loops.T.tolist())).count((3, 3)) == 1
    np.testing.assert_array_equal(degree(nerve.tensor(EDGES[1]), N).numpy(), [1, 2, 2, 3, 1, 0])


def test_layers_run_on_a_graph_too_large_for_a_dense_matrix():
    """200,000 nodes: a dense N x N float32 matrix would take 160 GB."""
    n = 200_000
    path = np.stack([np.arange(n - 1), np.arange(1, n)]).astype(np.int64)
    edge_index = nerve.from_numpy(np.concatenate([path, path[::-1]], 1))
    x = nerve.randn(n, 3)
    for layer in (GCNConv(3, 2), GATConv(3, 2, heads=2), SAGEConv(3, 2)):
        out = layer(x, edge_index)
        assert tuple(out.shape) == (n, 4 if isinstance(layer, GATConv) else 2)
        assert np.isfinite(out.detach().numpy()).all()


def test_layer_shapes_and_parameter_counts():
    x, e = nerve.randn(N, 5), nerve.tensor(EDGES)
    assert tuple(GCNConv(5, 7)(x, e).shape) == (N, 7) and count(GCNConv(5, 7)) == 5 * 7 + 7
    assert tuple(SAGEConv(5, 7)(x, e).shape) == (N, 7) and count(SAGEConv(5, 7)) == 2 * 5 * 7 + 7
    gat = GATConv(5, 7, heads=3)
    assert tuple(gat(x, e).shape) == (N, 21) and count(gat) == 5 * 21 + 2 * 21 + 21
    gat = GATConv(5, 7, heads=3, concat=False)
    assert tuple(gat(x, e).shape) == (N, 7) and count(gat) == 5 * 21 + 2 * 21 + 7


@pytest.mark.parametrize("conv, params", [
    ("gcn", (34 * 16 + 16) + (16 * 2 + 2)),
    ("sage", (2 * 34 * 16 + 16) + (2 * 16 * 2 + 2)),
    # hidden: 4 heads of 4 channels; output: one head of 2
    ("gat", (34 * 16 + 2 * 16 + 16) + (16 * 2 + 2 * 2 + 2)),
])
def test_node_classifier_shapes_and_parameter_counts(conv, params):
    x, e = karate_club().tensors()
    model = NodeClassifier(GNNConfig(34, 2, hidden=16, conv=conv))
    assert tuple(model(x, e).shape) == (34, 2)
    assert count(model) == params


def test_graph_classifier_shapes_parameter_counts_and_pooling():
    graphs = cycles_vs_trees(6, seed=0)
    b = batch_graphs(graphs)
    assert b.num_graphs == 6 and tuple(b.y.shape) == (6,)
    assert int(b.batch.max()) == 5 and b.x.shape[0] == sum(g.num_nodes for g in graphs)
    model = GraphClassifier(GNNConfig(5, 2, hidden=8, num_layers=3, conv="gcn"))
    assert tuple(model(b.x, b.edge_index, b.batch, b.num_graphs).shape) == (6, 2)
    convs = (5 * 8 + 8) + 2 * (8 * 8 + 8)
    assert count(model) == convs + (8 * 8 + 8) + (8 * 2 + 2)
    x = nerve.tensor([[1.0, 2.0], [3.0, 4.0], [10.0, 20.0]])
    batch = nerve.tensor([0, 0, 2])
    np.testing.assert_allclose(global_add_pool(x, batch).numpy(), [[4, 6], [0, 0], [10, 20]])
    np.testing.assert_allclose(global_mean_pool(x, batch).numpy(), [[2, 3], [0, 0], [10, 20]])


def test_bad_inputs_raise():
    x = nerve.randn(3, 2)
    with pytest.raises(ValueError, match="edge_index must be a"):
        GCNConv(2, 2)(x, nerve.tensor([0, 1]))
    with pytest.raises(ValueError, match="outside"):
        SAGEConv(2, 2)(x, nerve.tensor([[0, 3], [1, 0]]))
    with pytest.raises(TypeError, match="int64"):
        GATConv(2, 2)(x, nerve.tensor([[0.0], [1.0]]))
    with pytest.raises(ValueError, match="conv must be"):
        NodeClassifier(GNNConfig(2, 2, conv="gin"))
    with pytest.raises(ValueError, match="divisible"):
        NodeClassifier(GNNConfig(2, 2, hidden=10, heads=4, conv="gat"))
    with pytest.raises(ValueError, match="batch must be"):
        global_mean_pool(x, nerve.tensor([0, 1]))


# ------------------------------------------------------------------------------ training


def _fit_nodes(graph, conv, per_class, epochs, seed=0):
    """Semi-supervised node classification as in Kipf & Welling: Adam 0.01, weight decay 5e-4,
    full-batch on ``per_class`` labelled nodes per class.
    Returns (test accuracy, [training loss in eval mode (no dropout) before, after])."""
    nerve.manual_seed(seed)
    x, edge_index = graph.tensors()
    y = nerve.from_numpy(graph.y)
    train_idx, test_idx = split_nodes(graph.y, per_class, seed)
    model = NodeClassifier(GNNConfig(x.shape[1], int(graph.y.max()) + 1, hidden=16, conv=conv))
    opt = nerve.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)

    def eval_loss():
        model.eval()
        with nerve.no_grad():
            return F.cross_entropy(model(x, edge_index)[train_idx], y[train_idx]).item()

    losses = [eval_loss()]
    model.train()
    for _ in range(epochs):
        loss = F.cross_entropy(model(x, edge_index)[train_idx], y[train_idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    losses.append(eval_loss())
    with nerve.no_grad():
        pred = model(x, edge_index).argmax(1).numpy()
    return float((pred[test_idx] == graph.y[test_idx]).mean()), losses


def _fit_graphs(conv, epochs, seed=0):
    """Cycles vs. trees, batches of 32 graphs, Adam 0.01. Returns (test accuracy,
    [loss on all training graphs before, after])."""
    graphs = cycles_vs_trees(300, seed=0)
    train, test = graphs[:200], graphs[200:]
    nerve.manual_seed(seed)
    config = GNNConfig(train[0].x.shape[1], 2, hidden=32, num_layers=3, conv=conv, dropout=0.0)
    model = GraphClassifier(config)
    opt = nerve.optim.Adam(model.parameters(), lr=0.01)

    def evaluate(graphs):  # (loss, accuracy) in eval mode
        model.eval()
        b = batch_graphs(graphs)
        with nerve.no_grad():
            logits = model(b.x, b.edge_index, b.batch, b.num_graphs)
        return F.cross_entropy(logits, b.y).item(), (logits.argmax(1) == b.y).float().mean().item()

    losses = [evaluate(train)[0]]
    for epoch in range(epochs):
        model.train()
        for b in graph_batches(train, batch_size=32, shuffle=True, seed=epoch):
            loss = F.cross_entropy(model(b.x, b.edge_index, b.batch, b.num_graphs), b.y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    losses.append(evaluate(train)[0])
    return evaluate(test)[1], losses


@pytest.mark.parametrize("conv", ["gcn", "gat", "sage"])
def test_short_run_loss_falls(conv):
    # Measured (seed 0), karate 60 epochs: gcn 0.72 -> 0.08, gat 0.72 -> 0.29, sage 0.71 -> 0.01;
    # cycles vs trees, 1 epoch: gcn 0.68 -> 0.20, gat 0.70 -> 0.46, sage 0.70 -> 0.20.
    _, (before, after) = _fit_nodes(karate_club(), conv, per_class=2, epochs=60)
    assert after < 0.5 * before, (before, after)
    _, (before, after) = _fit_graphs(conv, epochs=1)
    assert after < 0.8 * before, (before, after)


# Accuracy bars, seed 0 (which also picks the labelled nodes). Karate club: 2 labelled members
# per club, 30 test members (one member = 3.3 points); SBM: 5 labelled nodes per block, 165 test
# nodes, where logistic regression on the features alone reaches 0.38 (chance 0.33); cycles vs.
# trees: 200 train / 100 test graphs. NERVE_SLOW=1: 200 epochs (node) / 20 epochs (graph);
# default (CI): 100 / 8. Measured on a busy 2-core machine, one BLAS thread:
#
#            full (200 epochs)       CI (100 epochs)        bars full / CI
#            karate   SBM            karate   SBM           karate       SBM
#   gcn      0.967    0.933          0.967    0.903         0.90/0.85    0.85/0.80
#   gat      0.967    0.879          0.967    0.915         0.90/0.85    0.80/0.80
#   sage     0.867    0.842          0.833    0.788         0.80/0.75    0.75/0.70
#
# Seeds 1-4 spread: karate 0.70-1.00 (SAGE lowest: its root weight W_r x_i on a one-hot
# identity is untrained for unlabelled members), SBM 0.63-0.92 (GAT at 100 epochs lowest).
# Cycles vs. trees: 1.000 for every layer in both forms (degree one-hot features: a tree has
# leaves, a cycle none, so the task is easy; the bar checks the batching and pooling).
NODE_EPOCHS, GRAPH_EPOCHS = (200, 20) if SLOW else (100, 8)
KARATE_BAR = {"gcn": 0.90, "gat": 0.90, "sage": 0.80} if SLOW else \
    {"gcn": 0.85, "gat": 0.85, "sage": 0.75}
SBM_BAR = {"gcn": 0.85, "gat": 0.80, "sage": 0.75} if SLOW else \
    {"gcn": 0.80, "gat": 0.80, "sage": 0.70}


@pytest.mark.slow
@pytest.mark.parametrize("conv", ["gcn", "gat", "sage"])
def test_node_classification_accuracy(conv):
    start = time.perf_counter()
    karate, _ = _fit_nodes(karate_club(), conv, per_class=2, epochs=NODE_EPOCHS)
    sbm, _ = _fit_nodes(stochastic_block_model(seed=0), conv, per_class=5, epochs=NODE_EPOCHS)
    print(f"{conv}: karate {karate:.3f}, SBM {sbm:.3f}, {NODE_EPOCHS} epochs, "
          f"{time.perf_counter() - start:.1f} s")
    assert karate >= KARATE_BAR[conv]
    assert sbm >= SBM_BAR[conv]


@pytest.mark.slow
@pytest.mark.parametrize("conv", ["gcn", "gat", "sage"])
def test_graph_classification_accuracy(conv):
    """Cycles vs. trees, test accuracy >= 0.95 (chance 0.5)."""
    start = time.perf_counter()
    accuracy, _ = _fit_graphs(conv, GRAPH_EPOCHS)
    print(f"{conv}: cycles vs trees {accuracy:.3f}, {GRAPH_EPOCHS} epochs, "
          f"{time.perf_counter() - start:.1f} s")
    assert accuracy >= 0.95
