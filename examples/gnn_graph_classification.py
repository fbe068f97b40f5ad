"""Graph classification: cycles vs. random trees, several graphs batched into one disconnected
graph, GCN/GAT/GraphSAGE layers then global mean pooling (nerve.models.gnn).

    python examples/gnn_graph_classification.py   # ~10 s on 2 cores
"""

import time

import nerve
import nerve.nn.functional as F
from nerve.models.gnn import GNNConfig, GraphClassifier, global_mean_pool
from nerve.models.graphs import batch_graphs, cycles_vs_trees, graph_batches


def fit_graphs(train, test, conv, epochs=20, seed=0):
    nerve.manual_seed(seed)
    config = GNNConfig(train[0].x.shape[1], 2, hidden=32, num_layers=3, conv=conv, dropout=0.0)
    model = GraphClassifier(config)
    opt = nerve.optim.Adam(model.parameters(), lr=0.01)
    start, losses = time.time(), []
    for epoch in range(epochs):
        model.train()
        for b in graph_batches(train, batch_size=32, shuffle=True, seed=epoch):
            loss = F.cross_entropy(model(b.x, b.edge_index, b.batch, b.num_graphs), b.y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    model.eval()
    b = batch_graphs(test)
    with nerve.no_grad():
        pred = model(b.x, b.edge_index, b.batch, b.num_graphs).argmax(1)
    acc = (pred == b.y).float().mean().item()
    return acc, model, time.time() - start, losses


def features_only(train, test, epochs=200):
    """A baseline without message passing: logistic regression on each graph's mean node
    feature (here: its degree histogram)."""
    nerve.manual_seed(0)
    tr, te = batch_graphs(train), batch_graphs(test)
    x_tr = global_mean_pool(tr.x, tr.batch, tr.num_graphs)  # (G, 5)
    x_te = global_mean_pool(te.x, te.batch, te.num_graphs)
    model = nerve.nn.Linear(x_tr.shape[1], 2)
    opt = nerve.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(epochs):
        loss = F.cross_entropy(model(x_tr), tr.y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with nerve.no_grad():
        return (model(x_te).argmax(1) == te.y).float().mean().item()


def main():
    nerve.set_num_threads(1)  # small matrices: a second BLAS thread costs more than it saves
    graphs = cycles_vs_trees(300, min_nodes=6, max_nodes=14, seed=0)
    train, test = graphs[:200], graphs[200:]
    print(f"cycles vs trees: {len(train)} train / {len(test)} test graphs of 6-14 nodes, "
          "one-hot degree features, batches of 32 graphs, 20 epochs, seed 0")
    print(f"{'layer':6s} {'test acc':>8s} {'first/last loss':>16s} {'params':>7s} {'seconds':>8s}")
    for conv in ("gcn", "gat", "sage"):
        acc, model, sec, losses = fit_graphs(train, test, conv)
        params = sum(p.numel() for p in model.parameters())
        print(f"{conv:6s} {acc:8.3f} {losses[0]:7.3f}/{losses[-1]:.4f} {params:7d} {sec:8.1f}")
    print(f"baseline without message passing (mean degree histogram -> logistic regression): "
          f"{features_only(train, test):.3f}: a tree has leaves, a cycle none, so the degree "
          "features alone settle it")


if __name__ == "__main__":
    main()
