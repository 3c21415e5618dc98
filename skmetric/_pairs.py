"""``PairMetricLearner``: learn an embedding from pairs of rows."""

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score, roc_curve
from torch import nn

from ._training import guarded_fit
from ._tuple_input import (
    TUPLE_PARAMETER_CONSTRAINTS,
    TupleLearnerMixin,
    row_ids,
    sq_distances,
)
from .losses import CoSENTLoss, NTXentLoss
from .utils._validation import _fit_context, check_is_fitted

__all__ = ["PairMetricLearner"]

_STRATEGIES = ("accuracy", "f_beta", "max_tpr", "max_tnr")


def pair_components(ids):
    """Connected components of the graph whose edges are the pairs ``ids`` (n, 2)."""
    return row_components(ids, np.ones(ids.shape[0], dtype=bool))[:, 0]


def row_components(ids, keep):
    """Item of every row of the pairs ``ids`` (n, 2): the connected components
    of the graph whose edges are the pairs where ``keep`` is true; a row in no
    kept pair is an item of its own.  Returns an int array (n, 2)."""
    nodes, inverse = np.unique(ids, return_inverse=True)
    inverse = inverse.reshape(ids.shape)
    m = nodes.size
    edges = inverse[np.asarray(keep, dtype=bool)]
    graph = coo_matrix((np.ones(edges.shape[0]), (edges[:, 0], edges[:, 1])), shape=(m, m))
    _, labels = connected_components(graph, directed=False)
    return labels[inverse].astype(np.int64)


def pair_recall(A, B, groups):
    """Share of rows ``i`` whose nearest row of ``B`` is ``B[i]``.

    Rows ``j`` of the same group as ``i`` (the same item, by the pair graph)
    are not competitors; rows with no competitor are left out.  Returns NaN
    when no row has a competitor.
    """
    A = torch.as_tensor(np.asarray(A, dtype=np.float64))
    B = torch.as_tensor(np.asarray(B, dtype=np.float64))
    g = torch.as_tensor(groups)
    hits, counted = 0, 0
    own_all = ((A - B) ** 2).sum(1)
    for start in range(0, A.shape[0], 1024):
        d = torch.cdist(A[start : start + 1024], B) ** 2
        rival = g[start : start + 1024, None] != g[None, :]
        d = d.masked_fill(~rival, float("inf"))
        best = d.min(1).values
        has = rival.any(1)
        own = own_all[start : start + 1024]
        hits += int((own[has] < best[has]).sum())
        counted += int(has.sum())
    return hits / counted if counted else float("nan")


def _pair_score(mode, a, b, y):
    """Held-out score of embedded pairs (greater is better)."""
    sim = -np.sqrt(sq_distances(a, b))
    if mode == "positive":
        return pair_recall(a, b, y)
    if mode == "binary":
        return float(roc_auc_score(y > 0, sim))
    return float(spearmanr(sim, y).statistic)


class _PairCriterion(nn.Module):
    """``criterion(embeddings of 2B rows, pair targets)`` for the three forms of y.

    ±1 targets are rows ``(label, item of the first row, item of the second
    row)``; ``in_batch`` passes the rows' items as labels (every row of
    another item in the batch is a negative), otherwise the labelled pairs
    go to the loss as an ``indices_tuple``.
    """

    def __init__(self, loss, mode, in_batch=False):
        super().__init__()
        self.loss = loss
        self.mode = mode
        self.in_batch = in_batch

    def forward(self, out, y):
        B = y.shape[0]
        if self.mode == "positive":  # y: group of each pair; rows of a group never negatives
            return self.loss(out, torch.cat([y, y]))
        if self.mode == "binary":
            if self.in_batch:
                return self.loss(out, torch.cat([y[:, 1], y[:, 2]]))
            i = torch.arange(B, device=out.device)
            pos = y[:, 0] > 0
            indices = (i[pos], i[pos] + B, i[~pos], i[~pos] + B)
            return self.loss(out, torch.arange(2 * B, device=out.device), indices)
        return self.loss.graded(out[:B], out[B:], y)


class _ValidScore:
    """Validation score of the fit loop: :func:`_pair_score` on held-out pairs.

    For ±1 pairs, ``signal="recall"`` scores the held-out similar pairs by
    Recall@1 (:func:`pair_recall`, rows of the same item excluded) instead of
    the ROC-AUC of all held-out pairs.
    """

    def __init__(self, mode, signal="auc"):
        self.mode = mode
        self.signal = signal

    def __call__(self, module, X, y):
        out = module(X).cpu().numpy()
        B = out.shape[0] // 2
        y = np.asarray(y)
        if self.mode == "binary":
            if self.signal == "recall":
                pos = y[:, 0] > 0
                return pair_recall(out[:B][pos], out[B:][pos], y[pos, 1])
            y = y[:, 0]
        return _pair_score(self.mode, out[:B], out[B:], y)


class PairMetricLearner(TupleLearnerMixin, BaseEstimator):
    """Learn an embedding from pairs of rows, without class labels.

    ``fit(pairs, y)`` takes pairs of rows -- a float array ``(n_pairs, 2,
    n_features)`` or integer indices ``(n_pairs, 2)`` into the
    ``preprocessor`` array -- as metric-learn's pair learners do, and one of
    three kinds of supervision:

    - ``y=None``: every pair is (anchor, positive), e.g. (query, relevant
      document) or two views of an item.  Each batch trains with in-batch
      negatives (InfoNCE / multiple-negatives ranking): the other pairs'
      rows are the negatives, except rows of the same item -- rows joined by
      a chain of pairs (the connected components of the pair graph over row
      identities: indices, or equal rows) are never each other's negative.
    - ``y`` in {+1, -1} (or {1, 0}): similar / dissimilar pairs.  With the
      default loss the similar pairs train as (anchor, positive) pairs with
      in-batch negatives, the listed dissimilar rows among them: every row
      of the batch that is not of the same item -- joined to it by a chain
      of similar pairs -- is a negative (a dissimilar pair inside one such
      item therefore counts as similar).  ``benchmarks/bench_pairs.py
      --ablation`` compares it with CoSENT on the labelled pairs.
    - ``y`` floats in [0, 1]: graded similarities (only their order is
      used), with a CoSENT ranking loss.

    The default network starts at the input features (see
    :class:`MetricLearner`), so an untrained model ranks pairs as the
    (centred, scaled) raw features do.  A fraction of the pairs is held out
    (``validation_fraction``) and scored each epoch; the best epoch is kept,
    epoch 0 -- the starting embedding -- included, with a warning when it
    wins.

    Tuple input is 3-D, so this estimator cannot pass scikit-learn's
    ``check_estimator``; it clones, pickles, and works in
    :class:`~sklearn.model_selection.GridSearchCV` over pairs with
    :meth:`score`.

    Parameters
    ----------
    loss : str or torch.nn.Module, default="auto"
        ``"auto"``: NT-Xent (``temperature=0.05``) with in-batch negatives
        for ``y=None`` and for ±1 labels (see above), CoSENT (``scale=20``)
        for graded pairs (and for ±1 labels whose similar pairs join every
        row into one item).  Otherwise a name of
        :data:`skmetric.losses.LOSSES` or a loss object: with ``y=None`` it
        is called with the pairs' group labels (any pair-based loss:
        ``"supcon"``, ``"multi_similarity"``...), with ±1 labels with the
        explicit positive and negative pairs as ``indices_tuple``
        (``"contrastive"``, ``"cosent"``...); graded pairs need a loss with
        a ``graded`` method (``"cosent"``).
    preprocessor : array-like of shape (n_rows, n_features), default=None
        The rows that integer ``pairs`` index (metric-learn's
        ``preprocessor`` array; it is not copied when already float).
    shared : bool, default=True
        One embedding for both elements of a pair.  ``False``: a query-side
        adapter -- the first element of each pair (the query) goes through
        the learned map, the second (the corpus, e.g. frozen document
        vectors) through the fixed starting map (centring and scaling of the
        raw features), so corpus embeddings never need recomputing.  Use
        ``transform(X, side="corpus")`` for them.
    module : {"mlp", "linear"} or torch.nn.Module, default="mlp"
        As in :class:`MetricLearner`.
    n_components : int, default=None
        ``None``: ``min(n_features, 128)``.
    hidden_sizes : tuple of int, default=(512, 512)
    dropout : float, default=0.2
    normalize : bool or "auto", default="auto"
        L2-normalise the embedding (``"auto"``: when the loss works on
        cosine similarities, as the default losses do).
    max_epochs : int, default=30
    batch_size : int, default=256
        Pairs per batch (the number of in-batch negatives grows with it).
    lr : float, default=2e-3
    weight_decay : float, default=1e-4
    optimizer : {"adamw", "adam", "sgd", "rmsprop"} or optimizer class, default="adamw"
    optimizer_params : dict or None, default=None
        Further keyword arguments of the optimizer; ``set_params(optimizer__momentum=0.9)``
        sets one key (see :class:`MetricLearner`).
    lr_schedule : {"cosine", "constant"}, default="cosine"
    validation_fraction : float or None, default=0.1
        Fraction of the pairs held out (in proportion for ±1 labels) and
        scored each epoch -- Recall@1 of the held-out positive (or, with ±1
        labels and the default loss, similar) pairs among each other, rows
        of the same item excluded; ROC-AUC for ±1 pairs with another loss;
        Spearman correlation for graded pairs -- for early
        stopping and to keep the best epoch.  ``None`` trains on all pairs
        for ``max_epochs``.
    patience : int or None, default=10
    device : {"cpu", "cuda", "auto"}, default="cpu"
    random_state : int, RandomState instance or None, default=None
        With an int, fits are identical bit for bit on CPU,
        also when fits run in threads.
    verbose : int, default=0
    callbacks : list of skorch callbacks or None, default=None
    accelerator : accelerate.Accelerator or None, default=None

    Attributes
    ----------
    n_features_in_ : int
    embedding_size_ : int
    embedder_ : torch.nn.Module
        The learned (query-side) embedding network.
    corpus_embedder_ : torch.nn.Module
        The network of the second elements (``embedder_`` unless
        ``shared=False``).
    loss_ : torch.nn.Module
    preprocessor_ : ndarray or None
    threshold_ : float
        Pairs with ``decision_function >= threshold_`` are predicted +1.
        Set after a fit on ±1 labels (best training accuracy) and by
        :meth:`calibrate_threshold`.
    fit_mode_ : {"positive", "binary", "graded"}
        The kind of ``y`` seen by ``fit``.
    baseline_score_, best_score_ : float or None
        Validation score of the starting embedding and of the kept epoch.
    net_, module_, history_, n_epochs_, best_epoch_, stop_reason_
        From the shared fit loop (``history_[0]`` is epoch 0;
        ``best_epoch_ == 0``: the starting embedding was kept, with a
        ``StartingModelKeptWarning``).

    See Also
    --------
    MetricLearner : The same embedding learned from class labels.
    TripletMetricLearner : Learn from (anchor, positive, negative) triplets.

    References
    ----------
    A. van den Oord, Y. Li and O. Vinyals. "Representation Learning with
    Contrastive Predictive Coding". 2018. arXiv:1807.03748.
    M. Henderson et al. "Efficient Natural Language Response Suggestion for
    Smart Reply". 2017. arXiv:1705.00652.
    J. Su. "CoSENT". 2022. https://kexue.fm/archives/8847

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skmetric import PairMetricLearner
    >>> X, y = load_digits(return_X_y=True)
    >>> rng = np.random.RandomState(0)
    >>> a = rng.randint(len(X), size=2000)
    >>> b = np.array([rng.choice(np.flatnonzero(y == y[i])) for i in a])
    >>> pairs = np.stack([a, b], axis=1)  # same-digit pairs, as indices
    >>> model = PairMetricLearner(preprocessor=X, max_epochs=3, random_state=0)
    >>> model.fit(pairs).transform(X).shape
    (1797, 64)
    """

    _parameter_constraints = {
        **TUPLE_PARAMETER_CONSTRAINTS,
        "shared": ["boolean"],
    }
    _tuple_size = 2
    _tuple_name = "pairs"

    def __init__(
        self,
        loss="auto",
        *,
        preprocessor=None,
        shared=True,
        module="mlp",
        n_components=None,
        hidden_sizes=(512, 512),
        dropout=0.2,
        normalize="auto",
        max_epochs=30,
        batch_size=256,
        lr=2e-3,
        weight_decay=1e-4,
        optimizer="adamw",
        optimizer_params=None,
        lr_schedule="cosine",
        validation_fraction=0.1,
        patience=10,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
        accelerator=None,
    ):
        self.loss = loss
        self.preprocessor = preprocessor
        self.shared = shared
        self.module = module
        self.n_components = n_components
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.normalize = normalize
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
        self.lr_schedule = lr_schedule
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.accelerator = accelerator

    # ------------------------------------------------------------- targets
    @staticmethod
    def _check_y(y, n_pairs):
        """``(mode, targets)``: mode "positive", "binary" (targets 1/0) or "graded"."""
        if y is None:
            return "positive", None
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != n_pairs:
            raise ValueError(
                f"`y` must hold one value per pair: {n_pairs} pairs but y of shape "
                f"{y.shape}."
            )
        accepted = (
            "`y` must be None (positive pairs), +1/-1 or 1/0 labels (similar / "
            "dissimilar), or graded similarities in [0, 1]"
        )
        if y.dtype.kind not in "iufb":
            raise ValueError(f"{accepted}; got dtype {y.dtype}.")
        y = y.astype(np.float64)
        if not np.isfinite(y).all():
            raise ValueError(f"{accepted}; got NaN or infinity.")
        values = np.unique(y)
        if set(values) <= {-1.0, 1.0} or set(values) <= {0.0, 1.0}:
            if values.size < 2:
                raise ValueError(
                    f"`y` holds only the label {values[0]:g}: labelled pairs need both "
                    "similar and dissimilar pairs (for positive pairs only, pass y=None)."
                )
            return "binary", (y > 0).astype(np.int64)
        if values.min() < 0 or values.max() > 1:
            raise ValueError(
                f"{accepted}; got values from {values.min():g} to {values.max():g}."
            )
        if values.size < 2:
            raise ValueError("Graded similarities `y` are all equal: nothing to rank.")
        return "graded", y

    def _auto_loss(self, mode):
        if mode == "positive":
            return NTXentLoss(temperature=0.05)
        return CoSENTLoss(scale=20.0)

    # ----------------------------------------------------------------- fit
    @guarded_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, pairs, y=None):
        """Learn the embedding from pairs.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features) or (n_pairs, 2)
            Rows, or integer indices into ``preprocessor``.
        y : None or array-like of shape (n_pairs,), default=None
            None (positive pairs, in-batch negatives), +1/-1 or 1/0
            labels, or graded similarities in [0, 1].

        Returns
        -------
        self : PairMetricLearner
        """
        vars(self).pop("threshold_", None)  # a refit without labels has none
        pairs, is_index = self._check_tuples(pairs, fitting=True, min_tuples=2)
        mode, targets = self._check_y(y, pairs.shape[0])
        seed = self._make_seed()
        rng = np.random.RandomState(seed)
        groups = None
        if mode == "positive":
            targets = pair_components(row_ids(pairs, is_index))
            if np.unique(targets).size < 2:
                raise ValueError(
                    f"In-batch negatives need pairs of at least 2 different items; the "
                    f"{pairs.shape[0]} pairs all join the same rows into one group (the "
                    "pair graph has 1 connected component), so no row has a negative."
                )
        in_batch = False
        if mode == "binary":
            groups = targets
            items = row_components(row_ids(pairs, is_index), targets > 0)
            # the default loss: the similar pairs with in-batch negatives, the
            # rows of other items (the listed dissimilar rows among them)
            in_batch = (isinstance(self.loss, str) and self.loss == "auto"
                        and np.unique(items).size > 1)
            targets = np.column_stack([targets, items])
        valid_idx = self._split(pairs.shape[0], rng, groups)
        if valid_idx is not None and mode == "positive" and np.unique(targets[valid_idx]).size < 2:
            valid_idx = None
        signal = "auc"
        if in_batch and valid_idx is not None:
            held = targets[valid_idx]
            if np.unique(held[held[:, 0] > 0, 1]).size > 1:
                signal = "recall"
        loss = self._build_tuple_loss(mode) if not in_batch else NTXentLoss(temperature=0.05)
        self._fit_tuples(
            pairs, is_index, targets, _PairCriterion(loss, mode, in_batch), mode=mode,
            valid_idx=valid_idx, valid_scoring=_ValidScore(mode, signal), seed=seed, loss=loss,
        )
        self.fit_mode_ = mode
        if mode == "binary":
            self.calibrate_threshold(pairs, groups, strategy="accuracy")
        return self

    # ---------------------------------------------------------- pair maps
    def decision_function(self, pairs):
        """Similarity of each pair: minus the distance of its embeddings.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features) or (n_pairs, 2)

        Returns
        -------
        scores : ndarray of shape (n_pairs,)
            Higher means more similar.
        """
        a, b = self._tuple_embeddings(pairs)
        return -np.sqrt(sq_distances(a, b))

    def calibrate_threshold(self, pairs, y, *, strategy="accuracy", beta=1.0, min_rate=None):
        """Set ``threshold_`` from labelled pairs.

        Pairs with ``decision_function >= threshold_`` are predicted similar.
        The threshold is placed halfway between the chosen pair's score and
        the next lower one.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features) or (n_pairs, 2)
        y : array-like of shape (n_pairs,)
            +1/-1 or 1/0 labels.
        strategy : {"accuracy", "f_beta", "max_tpr", "max_tnr"}, default="accuracy"
            ``"accuracy"``: the best accuracy; ``"f_beta"``: the best
            F-beta score; ``"max_tpr"``: the best true positive rate with a
            true negative rate of at least ``min_rate``; ``"max_tnr"``: the
            best true negative rate with a true positive rate of at least
            ``min_rate``.
        beta : float, default=1.0
            Of ``"f_beta"``.
        min_rate : float, default=None
            Required by ``"max_tpr"`` and ``"max_tnr"``, in [0, 1].

        Returns
        -------
        self : PairMetricLearner
        """
        if strategy not in _STRATEGIES:
            raise ValueError(f"`strategy` must be one of {list(_STRATEGIES)}; got {strategy!r}.")
        if strategy in ("max_tpr", "max_tnr") and (
            min_rate is None or not 0 <= min_rate <= 1
        ):
            raise ValueError(
                f"strategy={strategy!r} needs `min_rate` in [0, 1]; got {min_rate!r}."
            )
        if strategy == "f_beta" and not beta > 0:
            raise ValueError(f"`beta` must be positive; got {beta!r}.")
        scores = self.decision_function(pairs)
        mode, target = self._check_y(y, scores.shape[0])
        if mode != "binary":
            raise ValueError("calibrate_threshold needs +1/-1 or 1/0 labels `y`.")
        pos = target > 0
        n_pos, n_neg = int(pos.sum()), int((~pos).sum())
        fpr, tpr, thresholds = roc_curve(pos, scores, drop_intermediate=False)
        tp, fp = tpr * n_pos, fpr * n_neg
        if strategy == "accuracy":
            value = (tp + n_neg - fp) / (n_pos + n_neg)
        elif strategy == "f_beta":
            b2 = beta * beta
            denom = (1 + b2) * tp + b2 * (n_pos - tp) + fp
            value = np.where(denom > 0, (1 + b2) * tp / np.where(denom > 0, denom, 1), 0.0)
        elif strategy == "max_tpr":
            value = np.where(1 - fpr >= min_rate, tpr, -np.inf)
        else:
            value = np.where(tpr >= min_rate, 1 - fpr, -np.inf)
        best = int(np.argmax(value))
        finite = np.sort(np.unique(scores))
        if not np.isfinite(thresholds[best]):  # predict nothing similar
            self.threshold_ = float(finite[-1] + 1.0)
        else:
            lower = finite[finite < thresholds[best]]
            t = thresholds[best]
            self.threshold_ = float((t + lower[-1]) / 2) if lower.size else float(t)
        return self

    def predict(self, pairs):
        """+1 (similar) or -1 (dissimilar) for each pair, from ``threshold_``.

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features) or (n_pairs, 2)

        Returns
        -------
        y_pred : ndarray of shape (n_pairs,)
        """
        check_is_fitted(self)
        if "threshold_" not in vars(self):
            # NotFittedError is both a ValueError and an AttributeError
            raise NotFittedError(
                "PairMetricLearner has no threshold_: it was fitted without +1/-1 "
                "labels; call calibrate_threshold(pairs, y) first."
            )
        return np.where(self.decision_function(pairs) >= self.threshold_, 1, -1)

    def score(self, pairs, y=None):
        """How well the embedding ranks ``pairs`` (greater is better).

        Parameters
        ----------
        pairs : array-like of shape (n_pairs, 2, n_features) or (n_pairs, 2)
        y : None or array-like of shape (n_pairs,), default=None
            +1/-1 or 1/0 labels: ROC-AUC of :meth:`decision_function`;
            graded similarities: its Spearman correlation with ``y``;
            None (positive pairs): Recall@1 of each first element among all
            second elements (rows of the same item excluded).

        Returns
        -------
        score : float
        """
        a, b = self._tuple_embeddings(pairs)
        mode, target = self._check_y(y, a.shape[0])
        if mode == "positive":
            pairs_v, is_index = self._check_tuples(pairs)
            target = pair_components(row_ids(pairs_v, is_index))
        return _pair_score(mode, a, b, target)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags
