"""``Embedding``: a learnable lookup table from integer ids to vectors."""

from __future__ import annotations

from nerve.nn import init
from nerve.nn.functional.embedding import embedding
from nerve.nn.module import Module
from nerve.nn.parameter import Parameter
from nerve.ops import creation
from nerve.tensor import Tensor


class Embedding(Module):
    """y[...] = weight[x[...]].

    x: (*) integer ids in [0, num_embeddings) -> y: (*, embedding_dim);
    weight: (num_embeddings, embedding_dim).

    Default initialization (PyTorch's): weight ~ N(0, 1), with the ``padding_idx`` row zero;
    that row also gets no gradient, so it stays zero during training.

        >>> emb = nn.Embedding(10, 3, padding_idx=0)
        >>> emb(nerve.tensor([[1, 2, 0]])).shape
        nerve.Size([1, 3, 3])
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight=None,
        _freeze: bool = False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        for name, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Embedding: {name} must be a positive integer, got {value!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx must be within [-{num_embeddings}, {num_embeddings}), "
                    f"got {padding_idx}"
                )
            padding_idx %= num_embeddings
        if scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding: scale_grad_by_freq and sparse are not supported")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            self.weight = Parameter(
                creation.empty(num_embeddings, embedding_dim, device=device, dtype=dtype),
                requires_grad=not _freeze,
            )
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"Embedding: _weight must have shape ({num_embeddings}, {embedding_dim}), "
                    f"got {tuple(_weight.shape)}"
                )
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"Embedding: expected a Tensor of integer ids, got {type(x).__name__}")
        try:
            return embedding(x, self.weight, self.padding_idx, self.max_norm, self.norm_type)
        except (TypeError, IndexError) as err:
            raise type(err)(f"{self!r}: {str(err).removeprefix('embedding: ')}") from None

    @classmethod
    def from_pretrained(
        cls,
        embeddings,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding whose weight is ``embeddings`` (2-D); ``freeze`` turns off its gradient."""
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            got = tuple(embeddings.shape) if isinstance(embeddings, Tensor) else type(embeddings)
            raise ValueError(
                f"Embedding.from_pretrained: embeddings must be a 2-D tensor, got {got}"
            )
        rows, cols = embeddings.shape
        return cls(
            rows,
            cols,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
            _weight=embeddings,
            _freeze=freeze,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        return s
