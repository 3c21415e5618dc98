"""Prototypical loss (Snell, Swersky & Zemel, 2017)."""

import torch
from torch import nn

from ..distances import prototype_distances
from .base import BaseMetricLoss, zero_loss

__all__ = ["PrototypicalLoss"]

_METRICS = ("sqeuclidean", "cosine")


class PrototypicalLoss(BaseMetricLoss):
    r"""Softmax over negative distances to the batch's class prototypes.

    The batch is an episode: for each class present, its **first**
    ``n_shot`` samples (in batch order) are the support set and the others
    are queries.  With prototypes :math:`c_k`, the mean support embedding of
    class :math:`k`, the loss is the mean over the queries :math:`q` of

    .. math::
        -\log \frac{\exp(-d(f_q, c_{y_q}) / T)}{\sum_k \exp(-d(f_q, c_k) / T)}

    computed with ``log_softmax``.  :math:`d` is the **squared** Euclidean
    distance (the paper's choice), or ``1 - cos`` with ``metric="cosine"``.
    The softmax runs over the classes of the batch only.

    Parameters
    ----------
    n_shot : int or None, default=None
        Support samples per class.  ``None``: the first half of each class's
        samples in the batch (at least one).  A class with no sample beyond
        its support has a prototype (it is a distractor in the softmax) but
        no query.
    metric : {"sqeuclidean", "cosine"}, default="sqeuclidean"
    temperature : float, default=1.0
        Logits are ``-d / temperature``.

    Notes
    -----
    :class:`~skmetric.ProtoClassifier` fills in ``n_shot`` and samples
    episodes whose support comes first, so this rule picks exactly the
    episode's support.  A miner's ``indices_tuple`` is ignored: an episode,
    not mined pairs, defines what the loss compares.  With no query in the batch the loss is a zero that
    still backpropagates.

    References
    ----------
    J. Snell, K. Swersky and R. Zemel. "Prototypical Networks for Few-shot
    Learning". NeurIPS 2017. arXiv:1703.05175.
    """

    min_samples_per_class = 2
    prefers_normalized = False
    # estimators sample episodes (support first, then queries) for this loss
    requires_episodes = True

    def __init__(self, *, n_shot=None, metric="sqeuclidean", temperature=1.0):
        super().__init__()
        self.n_shot = n_shot
        self.metric = metric
        self.temperature = temperature

    def compute_loss(self, embeddings, labels, indices_tuple):
        if self.metric not in _METRICS:
            raise ValueError(
                f"PrototypicalLoss: `metric` must be one of {list(_METRICS)}; "
                f"got {self.metric!r}."
            )
        classes, inverse, counts = torch.unique(labels, return_inverse=True, return_counts=True)
        n_classes = classes.numel()
        # rank of each sample among the samples of its class, in batch order
        order = torch.argsort(inverse, stable=True)
        starts = torch.cumsum(counts, 0) - counts
        rank = torch.empty_like(inverse)
        rank[order] = torch.arange(inverse.numel(), device=inverse.device) - starts[inverse[order]]
        if self.n_shot is None:
            n_support = torch.clamp(counts // 2, min=1)
        else:
            n_support = torch.full_like(counts, int(self.n_shot))
        is_support = rank < n_support[inverse]
        is_query = ~is_support
        if not bool(is_query.any()):
            return zero_loss(embeddings)

        emb = embeddings
        sup_emb, sup_lab = emb[is_support], inverse[is_support]
        sums = emb.new_zeros((n_classes, emb.shape[1])).index_add_(0, sup_lab, sup_emb)
        sup_counts = torch.bincount(sup_lab, minlength=n_classes).to(emb.dtype)
        prototypes = sums / sup_counts[:, None]
        queries = emb[is_query]
        dist = prototype_distances(queries, prototypes, self.metric)
        logits = -dist / self.temperature
        return nn.functional.cross_entropy(logits, inverse[is_query])
