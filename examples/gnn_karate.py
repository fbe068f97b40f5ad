"""Node classification with GCN, GAT and GraphSAGE on Zachary's karate club and on a stochastic
block model; message passing on an edge index (nerve.models.gnn).

    python examples/gnn_karate.py        # ~10 s on 2 cores; writes examples/output/gnn_karate.png
"""

import time
from pathlib import Path

import numpy as np

import nerve
import nerve.nn.functional as F
from nerve.models.gnn import GNNConfig, NodeClassifier
from nerve.models.graphs import karate_club, split_nodes, stochastic_block_model

OUT = Path(__file__).parent / "output"


def fit_nodes(graph, conv, per_class, epochs=200, seed=0, hidden=16):
    """Train on ``per_class`` labelled nodes per class; return (test accuracy, model, seconds)."""
    nerve.manual_seed(seed)
    x, edge_index = graph.tensors()
    y = nerve.from_numpy(graph.y)
    train_idx, test_idx = split_nodes(graph.y, per_class, seed)
    config = GNNConfig(x.shape[1], int(graph.y.max()) + 1, hidden=hidden, conv=conv)
    model = NodeClassifier(config)
    opt = nerve.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    start = time.time()
    for _ in range(epochs):
        model.train()
        loss = F.cross_entropy(model(x, edge_index)[train_idx], y[train_idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with nerve.no_grad():
        pred = model(x, edge_index).argmax(1).numpy()
    return float((pred[test_idx] == graph.y[test_idx]).mean()), model, time.time() - start


def features_only(graph, per_class, seed=0):
    """The same split with a graph-free baseline: logistic regression on the node features."""
    nerve.manual_seed(seed)
    train_idx, test_idx = split_nodes(graph.y, per_class, seed)
    x, y = nerve.from_numpy(graph.x), nerve.from_numpy(graph.y)
    model = nerve.nn.Linear(x.shape[1], int(graph.y.max()) + 1)
    opt = nerve.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    for _ in range(200):
        loss = F.cross_entropy(model(x[train_idx]), y[train_idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with nerve.no_grad():
        pred = model(x).argmax(1).numpy()
    return float((pred[test_idx] == graph.y[test_idx]).mean())


def main():
    nerve.set_num_threads(1)  # small matrices: a second BLAS thread costs more than it saves
    OUT.mkdir(exist_ok=True)
    karate, sbm = karate_club(), stochastic_block_model(seed=0)
    print(f"karate club: {karate.num_nodes} nodes, {karate.edge_index.shape[1] // 2} edges, "
          "2 labelled nodes per club")
    print(f"SBM: {sbm.num_nodes} nodes in 3 blocks, {sbm.edge_index.shape[1] // 2} edges, "
          f"{sbm.x.shape[1]} noisy features, 5 labelled nodes per block")
    print(f"  features-only logistic regression on the SBM: {features_only(sbm, 5):.3f}")
    print(f"{'layer':6s} {'karate acc':>10s} {'SBM acc':>8s} {'params (SBM)':>13s} {'seconds':>8s}")
    for conv in ("gcn", "gat", "sage"):
        acc_k, model_k, sec_k = fit_nodes(karate, conv, per_class=2)
        acc_s, model_s, sec_s = fit_nodes(sbm, conv, per_class=5)
        params = sum(p.numel() for p in model_s.parameters())
        print(f"{conv:6s} {acc_k:10.3f} {acc_s:8.3f} {params:13d} {sec_k + sec_s:8.1f}")
        if conv == "gcn":
            gcn_karate = model_k
    draw(karate, gcn_karate, split_nodes(karate.y, 2, 0)[0], OUT / "gnn_karate.png")


def draw(graph, model, labelled, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    x, edge_index = graph.tensors()
    with nerve.no_grad():
        pred = model(x, edge_index).argmax(1).numpy()
    g = nx.karate_club_graph()
    pos = nx.spring_layout(g, seed=0)
    fig, ax = plt.subplots(figsize=(6, 5))
    wrong = pred != graph.y
    nx.draw_networkx_edges(g, pos, ax=ax, alpha=0.3)
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color=np.where(pred == 0, "tab:blue", "tab:orange"),
                           edgecolors=np.where(wrong, "red", "black"),
                           linewidths=np.where(wrong, 3, 1))
    nx.draw_networkx_nodes(g, pos, ax=ax, nodelist=labelled.tolist(), node_shape="s",
                           node_size=420, node_color="none", edgecolors="black", linewidths=2)
    nx.draw_networkx_labels(g, pos, ax=ax, font_size=7)
    ax.set_title("GCN prediction (colour); squares = the 4 labelled members; red ring = wrong")
    ax.axis("off")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
