"""Graph neural networks by message passing on an edge index (no dense N x N matrix anywhere).

A graph with N nodes and E directed edges is ``x: (N, F)`` node features plus
``edge_index: (2, E)`` int64, row 0 the source j and row 1 the target i of each edge j -> i
(an undirected edge is stored both ways). A layer computes one message per edge from the
gathered endpoint features and sums the messages into their targets with ``index_add``::

    messages = x.index_select(0, src)               # (E, F)   gather x_j for every edge
    out = zeros(N, F).index_add(0, dst, messages)   # (N, F)   out_i = sum_{j -> i} x_j

Layers (the ``torch_geometric.nn`` names; these live in ``nerve.models.gnn``, not ``nerve.nn``):

- ``GCNConv`` (Kipf & Welling, 2017): x' = D^-1/2 (A + I) D^-1/2 X W, D the degrees of A + I.
- ``GATConv`` (Velickovic et al., 2018): x'_i = sum_j alpha_ij W x_j with
  alpha_ij = softmax_j(LeakyReLU(a_src . W x_j + a_dst . W x_i)) over i's neighbours and i itself.
- ``SAGEConv`` (Hamilton et al., 2017), mean aggregator: x'_i = W_1 mean_{j -> i} x_j + W_2 x_i.

``global_mean_pool`` / ``global_add_pool`` turn node features of a batch of graphs into one row per
graph; ``batch: (N,)`` names each node's graph. Models: ``NodeClassifier`` and
``GraphClassifier`` stack these layers (``GNNConfig.conv`` picks which).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import nerve
from nerve import nn
from nerve.nn import functional as F
from nerve.tensor import Tensor


def _check_graph(layer: str, x, edge_index) -> None:
    if not isinstance(x, Tensor) or x.ndim != 2:
        raise ValueError(f"{layer}: x must be a (N, F) tensor, got {getattr(x, 'shape', type(x))}")
    if not isinstance(edge_index, Tensor) or edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise ValueError(
            f"{layer}: edge_index must be a (2, E) integer tensor, "
            f"got {getattr(edge_index, 'shape', type(edge_index))}"
        )
    if edge_index.dtype not in (nerve.int64, nerve.int32):
        raise TypeError(f"{layer}: edge_index must be int64, got {edge_index.dtype}")
    n = x.shape[0]
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= n):
        raise ValueError(f"{layer}: edge_index has node ids outside [0, {n}) (x has {n} rows)")


def add_self_loops(edge_index: Tensor, num_nodes: int) -> Tensor:
    """(2, E) -> (2, E + N): the edges plus i -> i for every node (existing loops are dropped)."""
    keep = edge_index[0] != edge_index[1]
    edges = edge_index[:, keep]  # (2, E')
    loops = nerve.arange(num_nodes, dtype=nerve.int64)
    return nerve.cat([edges, nerve.stack([loops, loops])], dim=1)


def degree(index: Tensor, num_nodes: int, dtype=None) -> Tensor:
    """How many times each node id occurs in ``index: (E,)``: (N,), float32 unless ``dtype``."""
    dtype = dtype or nerve.float32
    ones = nerve.ones(index.shape[0], dtype=dtype)
    return nerve.zeros(num_nodes, dtype=dtype).index_add(0, index, ones)


def scatter_sum(src: Tensor, index: Tensor, num_nodes: int) -> Tensor:
    """out[i] = sum of the rows src[e] with index[e] == i.  src: (E, *), index: (E,) -> (N, *)."""
    return nerve.zeros(num_nodes, *src.shape[1:], dtype=src.dtype).index_add(0, index, src)


def scatter_softmax(scores: Tensor, index: Tensor, num_nodes: int) -> Tensor:
    """Softmax of ``scores: (E, H)`` over the edges that share a target ``index: (E,)``:
    alpha_e = exp(s_e) / sum_{e' : index[e'] = index[e]} exp(s_e')."""
    # NOTE: subtract each target's own maximum score. A softmax is unchanged by a constant shift
    # per group, and the shift needs no gradient, so it is computed on plain NumPy arrays (nerve
    # has no scatter-max). One shift for all edges would not do: exp() of a group far below the
    # global maximum underflows to 0 / 0.
    data, targets = scores.detach().cpu().numpy(), index.cpu().numpy()
    group_max = np.full((num_nodes, *data.shape[1:]), -np.inf, dtype=data.dtype)  # (N, H)
    np.maximum.at(group_max, targets, data)
    shift = nerve.from_numpy(group_max[targets]).to(scores.device)  # (E, H)
    shifted = scores - shift  # (E, H), <= 0
    weights = shifted.exp()  # (E, H)
    totals = scatter_sum(weights, index, num_nodes)  # (N, H)
    return weights / totals.index_select(0, index)  # (E, H)


class GCNConv(nn.Module):
    """Graph convolution (Kipf & Welling, 2017): X' = D^-1/2 (A + I) D^-1/2 X W + b.

    Per node: x'_i = sum_{j in N(i) + i} x_j W / sqrt(d_i d_j), with d the degree in A + I.
    x: (N, in_channels), edge_index: (2, E) -> (N, out_channels).

        >>> conv = GCNConv(3, 8)
        >>> conv(nerve.randn(4, 3), nerve.tensor([[0, 1, 2], [1, 2, 3]])).shape
        nerve.Size([4, 8])
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(nerve.zeros(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.lin.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        _check_graph("GCNConv", x, edge_index)
        n = x.shape[0]
        edge_index = add_self_loops(edge_index, n)  # (2, E + N)
        src, dst = edge_index[0], edge_index[1]
        inv_sqrt = degree(dst, n, x.dtype).pow(-0.5)  # (N,)  d_i^-1/2 (>= 1 thanks to the loops)
        norm = inv_sqrt.index_select(0, src) * inv_sqrt.index_select(0, dst)  # (E + N,)
        h = self.lin(x)  # (N, out)
        messages = h.index_select(0, src) * norm.unsqueeze(1)  # (E + N, out)
        out = scatter_sum(messages, dst, n)  # (N, out)
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"


class GATConv(nn.Module):
    """Graph attention (Velickovic et al., 2018), ``heads`` independent attention heads.

        h = x W                                    # (N, H, C)
        e_ij = LeakyReLU_0.2(a_src . h_j + a_dst . h_i)   for every edge j -> i and i -> i
        alpha_ij = exp(e_ij) / sum_{k -> i} exp(e_ik)
        x'_i = sum_j alpha_ij h_j                  # heads concatenated (N, H*C) or averaged (N, C)

    The softmax runs over the edge list, so an edge stored twice counts twice (as in PyTorch
    Geometric); existing self loops are replaced by one loop per node.

    x: (N, in_channels), edge_index: (2, E). ``return_attention_weights=True`` also returns the
    edge index with self loops and alpha: ((2, E + N), (E + N, H)), as PyTorch Geometric does.
    """

    def __init__(self, in_channels: int, out_channels: int, heads: int = 1, concat: bool = True,
                 negative_slope: float = 0.2, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        if heads < 1:
            raise ValueError(f"GATConv: heads must be >= 1, got {heads}")
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.concat, self.negative_slope, self.dropout = concat, negative_slope, dropout
        self.lin = nn.Linear(in_channels, heads * out_channels, bias=False)
        self.att_src = nn.Parameter(nerve.zeros(1, heads, out_channels))
        self.att_dst = nn.Parameter(nerve.zeros(1, heads, out_channels))
        width = heads * out_channels if concat else out_channels
        self.bias = nn.Parameter(nerve.zeros(width)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.lin.weight)
        nn.init.xavier_uniform_(self.att_src)
        nn.init.xavier_uniform_(self.att_dst)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, edge_index: Tensor, return_attention_weights: bool = False):
        _check_graph("GATConv", x, edge_index)
        n, H, C = x.shape[0], self.heads, self.out_channels
        edge_index = add_self_loops(edge_index, n)  # (2, E + N)
        src, dst = edge_index[0], edge_index[1]
        h = self.lin(x).view(n, H, C)  # (N, H, C)
        score_src = (h * self.att_src).sum(-1)  # (N, H)  a_src . h_j
        score_dst = (h * self.att_dst).sum(-1)  # (N, H)  a_dst . h_i
        scores = score_src.index_select(0, src) + score_dst.index_select(0, dst)  # (E + N, H)
        scores = F.leaky_relu(scores, self.negative_slope)
        alpha = scatter_softmax(scores, dst, n)  # (E + N, H)
        weights = F.dropout(alpha, self.dropout, self.training)
        messages = h.index_select(0, src) * weights.unsqueeze(-1)  # (E + N, H, C)
        out = scatter_sum(messages, dst, n)  # (N, H, C)
        out = out.reshape(n, H * C) if self.concat else out.mean(1)  # (N, H*C) or (N, C)
        if self.bias is not None:
            out = out + self.bias
        return (out, (edge_index, alpha)) if return_attention_weights else out

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, heads={self.heads}"


class SAGEConv(nn.Module):
    """GraphSAGE with the mean aggregator (Hamilton et al., 2017).

    x'_i = W_l mean_{j -> i} x_j + b + W_r x_i  (a node with no in-edges aggregates zeros).
    x: (N, in_channels), edge_index: (2, E) -> (N, out_channels).
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lin_l = nn.Linear(in_channels, out_channels, bias=bias)  # the neighbours
        self.lin_r = nn.Linear(in_channels, out_channels, bias=False)  # the node itself

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        _check_graph("SAGEConv", x, edge_index)
        n = x.shape[0]
        src, dst = edge_index[0], edge_index[1]
        total = scatter_sum(x.index_select(0, src), dst, n)  # (N, in)
        mean = total / degree(dst, n, x.dtype).clamp(min=1.0).unsqueeze(1)  # (N, in)
        return self.lin_l(mean) + self.lin_r(x)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"


def _check_batch(op: str, x, batch) -> None:
    if not isinstance(batch, Tensor) or batch.ndim != 1 or batch.shape[0] != x.shape[0]:
        raise ValueError(
            f"{op}: batch must be a (N,) integer tensor with one graph id per row of x "
            f"(N={x.shape[0]}), got {getattr(batch, 'shape', type(batch))}"
        )


def global_add_pool(x: Tensor, batch: Tensor, size: int | None = None) -> Tensor:
    """Sum of each graph's node rows.  x: (N, F), batch: (N,) graph ids -> (num_graphs, F)."""
    _check_batch("global_add_pool", x, batch)
    size = int(batch.max()) + 1 if size is None else size
    return scatter_sum(x, batch, size)


def global_mean_pool(x: Tensor, batch: Tensor, size: int | None = None) -> Tensor:
    """Mean of each graph's node rows.  x: (N, F), batch: (N,) graph ids -> (num_graphs, F)."""
    _check_batch("global_mean_pool", x, batch)
    size = int(batch.max()) + 1 if size is None else size
    counts = degree(batch, size, x.dtype).clamp(min=1.0).unsqueeze(1)  # (G, 1)
    return scatter_sum(x, batch, size) / counts


# ----------------------------------------------------------------------------------------------
# Models


@dataclass
class GNNConfig:
    in_features: int
    num_classes: int
    hidden: int = 16
    num_layers: int = 2  # graph convolutions, the last one maps to the output (node models)
    conv: str = "gcn"  # "gcn", "gat" or "sage"
    heads: int = 4  # GAT only: hidden layers concatenate `heads` heads of hidden // heads
    dropout: float = 0.5
    pool: str = "mean"  # graph models: "mean" or "add"


def _make_conv(config: GNNConfig, c_in: int, c_out: int, last: bool) -> nn.Module:
    if config.conv == "gcn":
        return GCNConv(c_in, c_out)
    if config.conv == "sage":
        return SAGEConv(c_in, c_out)
    if last:  # GAT output layer: one head (the paper averages several on PPI only)
        return GATConv(c_in, c_out, heads=1, dropout=config.dropout)
    return GATConv(c_in, c_out // config.heads, heads=config.heads, dropout=config.dropout)


def _check_config(config: GNNConfig) -> None:
    if config.conv not in ("gcn", "gat", "sage"):
        raise ValueError(f"GNNConfig: conv must be 'gcn', 'gat' or 'sage', got {config.conv!r}")
    if config.num_layers < 1:
        raise ValueError(f"GNNConfig: num_layers must be >= 1, got {config.num_layers}")
    if config.conv == "gat" and config.hidden % config.heads:
        raise ValueError(
            f"GNNConfig: hidden ({config.hidden}) must be divisible by heads ({config.heads})"
        )
    if config.pool not in ("mean", "add"):
        raise ValueError(f"GNNConfig: pool must be 'mean' or 'add', got {config.pool!r}")


class NodeClassifier(nn.Module):
    """x (N, F) -> [dropout -> conv -> ReLU] x (L-1) -> dropout -> conv -> (N, num_classes)."""

    def __init__(self, config: GNNConfig):
        super().__init__()
        _check_config(config)
        self.config = config
        widths = [config.in_features] + [config.hidden] * (config.num_layers - 1)
        widths.append(config.num_classes)
        self.convs = nn.ModuleList(
            _make_conv(config, a, b, last=k == config.num_layers - 1)
            for k, (a, b) in enumerate(zip(widths[:-1], widths[1:]))
        )

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        for k, conv in enumerate(self.convs):
            x = F.dropout(x, self.config.dropout, self.training)
            x = conv(x, edge_index)  # (N, hidden) ... (N, num_classes)
            if k < len(self.convs) - 1:
                x = F.relu(x)
        return x


class GraphClassifier(nn.Module):
    """A batch of graphs -> [conv -> ReLU] x L -> global pool -> MLP -> (G, num_classes) logits."""

    def __init__(self, config: GNNConfig):
        super().__init__()
        _check_config(config)
        self.config = config
        widths = [config.in_features] + [config.hidden] * config.num_layers
        self.convs = nn.ModuleList(
            _make_conv(config, a, b, last=False) for a, b in zip(widths[:-1], widths[1:])
        )
        self.head = nn.Sequential(
            nn.Linear(config.hidden, config.hidden), nn.ReLU(), nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.num_classes),
        )

    def forward(self, x: Tensor, edge_index: Tensor, batch: Tensor,
                num_graphs: int | None = None) -> Tensor:
        for conv in self.convs:
            x = F.relu(conv(x, edge_index))  # (N, hidden)
        pool = global_mean_pool if self.config.pool == "mean" else global_add_pool
        g = pool(x, batch, num_graphs)  # (G, hidden)
        return self.head(g)  # (G, num_classes)
