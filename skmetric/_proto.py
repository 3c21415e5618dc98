"""``ProtoClassifier``: prototypical networks with few-shot addition of classes."""

import warnings
from math import comb
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_array, column_or_1d
from torch import nn

from ._embedding import EmbeddingLearnerMixin
from ._export import TorchExportMixin
from ._training import TRAINING_PARAMETER_CONSTRAINTS, guarded_fit
from ._training._callbacks import StartingModelKeptWarning
from ._training._class_folds import (
    MAX_FOLDS,
    ReplayScore,
    StopAtEpoch,
    choose_epoch,
    class_folds,
    fold_plan,
    padded_curves,
    run_folds,
)
from ._training._sampler import EpisodicBatchSampler
from .distances import prototype_distances
from .utils._validation import (
    Interval,
    StrOptions,
    _fit_context,
    check_classification_targets,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

__all__ = ["ProtoClassifier"]

# support draws averaged by the held-out-classes validation score
_N_VALID_DRAWS = 10
# training samples whose prototypes the held-out-samples validation score uses
_MAX_VALID_REFERENCE = 20_000
# the fewest folds of validation_split="class_folds" that are evidence
# enough to train for classes never seen (the most: MAX_FOLDS)
_MIN_CLASS_FOLDS = 3
# fold-mean validation scores closer than this to the best count as the best
_EPOCH_TOLERANCE = 0.02


def _fold_layout(n_classes, fraction):
    """``(n_valid, n_folds, overlapping)`` of the class folds, or None.

    Rotating folds (:func:`class_folds`, no class held out twice) when they
    make ``_MIN_CLASS_FOLDS`` folds.  With fewer classes (4 training
    classes: 2 rotating folds of 2) but at least ``_MIN_CLASS_FOLDS``
    distinct groups of ``n_valid`` classes, each leaving 2 classes to train
    on, ``_MIN_CLASS_FOLDS`` *overlapping* folds (a class is held out more
    than once).  None when not even that is possible.
    """
    plan = fold_plan(n_classes, fraction, _MIN_CLASS_FOLDS, MAX_FOLDS)
    if plan is not None:
        return plan[0], plan[1], False
    n_valid = max(2, int(round(fraction * n_classes)))
    if n_classes - n_valid < 2 or comb(n_classes, n_valid) < _MIN_CLASS_FOLDS:
        return None
    return n_valid, _MIN_CLASS_FOLDS, True


def _held_out_groups(classes, fraction, rng):
    """The held-out class groups of the folds (:func:`_fold_layout`), or None.

    Overlapping folds start with the rotating ones (every class held out
    once) and add distinct groups drawn at random.
    """
    layout = _fold_layout(classes.size, fraction)
    if layout is None:
        return None
    n_valid, n_folds, overlapping = layout
    groups = class_folds(classes, n_valid, MAX_FOLDS, rng)
    seen = {tuple(g) for g in groups}
    while overlapping and len(groups) < n_folds:
        group = np.sort(rng.choice(classes, n_valid, replace=False))
        if tuple(group) not in seen:
            seen.add(tuple(group))
            groups.append(group)
    return groups


class _PrototypeAccuracy:
    """Validation score: nearest-prototype accuracy of held-out data.

    With ``X_ref`` (held-out *samples*), prototypes are the class means of
    the reference embeddings and every validation sample is a query.
    Otherwise (held-out *classes*), each boolean mask of ``supports`` marks a
    few support samples per held-out class; the prototypes are their means,
    the other held-out samples are the queries, and the accuracy is averaged
    over the masks: the few-shot use of the embedding on unseen classes.
    """

    def __init__(self, metric, *, X_ref=None, y_ref=None, supports=None):
        self.metric = metric
        self.X_ref = X_ref
        self.y_ref = y_ref
        self.supports = supports

    @staticmethod
    def _means(emb, labels, n_classes):
        sums = emb.new_zeros((n_classes, emb.shape[1])).index_add_(0, labels, emb)
        counts = torch.bincount(labels, minlength=n_classes).to(emb.dtype)
        return sums / counts.clamp(min=1)[:, None]

    def __call__(self, module, X, y):
        emb = module(X).double()
        y_t = torch.as_tensor(y, device=emb.device)
        if self.X_ref is not None:
            ref = module(torch.as_tensor(self.X_ref, device=X.device)).double()
            y_ref = torch.as_tensor(self.y_ref, device=emb.device)
            n_classes = int(max(y_ref.max(), y_t.max())) + 1
            protos = self._means(ref, y_ref, n_classes)
            pred = prototype_distances(emb, protos, self.metric).argmin(1)
            return float((pred == y_t).double().mean())
        n_classes = int(y_t.max()) + 1
        scores = []
        for mask in self.supports:
            m = torch.as_tensor(mask, device=emb.device)
            protos = self._means(emb[m], y_t[m], n_classes)
            pred = prototype_distances(emb[~m], protos, self.metric).argmin(1)
            scores.append(float((pred == y_t[~m]).double().mean()))
        return float(np.mean(scores))


# queries x support entries per block of the matching vote (bounded memory)
_MATCHING_BLOCK = 4_000_000


def _refine_prototypes(queries, sums, counts, prototypes, metric, temperature, n_steps):
    """Soft k-means refinement of prototypes with unlabelled queries.

    Ren et al. (2018), eq. for the refined prototype: the labelled examples
    count with weight 1, every query with its soft assignment
    ``z_qk = softmax_k(-d(q, c_k) / temperature)`` computed from the current
    prototypes; ``n_steps`` such updates.  Classes without labelled examples
    (zero-shot) start from their given prototype.  All arrays are float64.
    """
    q = torch.as_tensor(queries, dtype=torch.float64)
    s = torch.as_tensor(sums, dtype=torch.float64)
    n = torch.as_tensor(counts, dtype=torch.float64)
    c = torch.as_tensor(prototypes, dtype=torch.float64)
    for _ in range(n_steps):
        z = torch.softmax(-prototype_distances(q, c, metric) / temperature, dim=1)
        den = n + z.sum(0)
        new = (s + z.T @ q) / den.clamp(min=torch.finfo(torch.float64).tiny)[:, None]
        c = torch.where((den > 0)[:, None], new, c)
    return c.numpy()


def _matching_log_proba(queries, support, support_labels, n_classes, temperature):
    """Log of the Matching Networks vote (Vinyals et al., 2016).

    ``p(k | q) = sum_{i: y_i = k} a(q, s_i)`` with the attention
    ``a(q, s_i) = softmax_i(cos(q, s_i) / temperature)`` over the whole
    support set; computed per class as a log-sum-exp (exact, no underflow).
    Returns an array of shape ``(n_queries, n_classes)`` (float64).
    """
    q = nn.functional.normalize(torch.as_tensor(queries, dtype=torch.float64), dim=1)
    s = nn.functional.normalize(torch.as_tensor(support, dtype=torch.float64), dim=1)
    labels = np.asarray(support_labels)
    order = np.argsort(labels, kind="stable")
    s = s[torch.as_tensor(order)]
    bounds = np.searchsorted(labels[order], np.arange(n_classes + 1))
    out = np.full((q.shape[0], n_classes), -np.inf)
    step = max(1, _MATCHING_BLOCK // max(s.shape[0], 1))
    for start in range(0, q.shape[0], step):
        logits = q[start : start + step] @ s.T / temperature
        total = torch.logsumexp(logits, dim=1)
        for k in range(n_classes):
            a, b = bounds[k], bounds[k + 1]
            if b > a:
                out[start : start + step, k] = (
                    torch.logsumexp(logits[:, a:b], dim=1) - total
                ).numpy()
    return out


def _is_string_kind(labels):
    return np.asarray(labels).dtype.kind in "OUS"


class ProtoClassifier(
    ClassNamePrefixFeaturesOutMixin,
    ClassifierMixin,
    TransformerMixin,
    TorchExportMixin,
    EmbeddingLearnerMixin,
    BaseEstimator,
):
    """Prototypical-network classifier that takes new classes from a few examples.

    ``ProtoClassifier`` learns an embedding ``f(X)`` and represents each class
    by a *prototype*, the mean embedding of its examples.  A sample belongs to
    the class of the nearest prototype, and ``predict_proba`` is the softmax
    of the negative distances.  Because a class is nothing but a prototype,
    :meth:`add_classes` (or :meth:`partial_fit`) adds new classes, or refines
    existing ones, from a handful of labelled examples in one forward pass,
    without retraining.

    By default the embedding is trained *episodically* with the prototypical
    loss: each step draws ``n_way`` training classes with ``n_shot`` support
    and ``n_query`` query samples each, and maximises the probability of the
    queries' classes given the support prototypes, i.e. it practises exactly
    what :meth:`add_classes` does later.  Any loss of
    :data:`skmetric.losses.LOSSES` can be used instead.

    The default network starts at the input features (see
    :class:`~skmetric.MetricLearner`), and how long it trains is decided on
    the few-shot accuracy of held-out *classes*, where epoch 0 (the
    raw-feature embedding) competes too.  By default
    (``validation_split="auto"``) the held-out classes rotate over folds
    (``"class_folds"``) when there are at least 4 training classes, so that
    the starting embedding is kept when training does not transfer to new
    classes; with 3, nothing can be held out and it trains for
    ``max_epochs``.

    Parameters
    ----------
    loss : str or torch.nn.Module, default="prototypical"
        ``"prototypical"`` (episodic training, see ``n_way``), any other name
        of :data:`skmetric.losses.LOSSES`, or a loss object (copied, never
        modified).  Nested parameters (``loss__temperature``) work.  A
        prototypical loss given by name uses this estimator's ``metric`` and
        ``temperature``; a loss object keeps its own, and ``n_shot`` is always
        this estimator's.
    n_way : int or None, default=None
        Classes per training episode; ``None``: all training classes.
    n_shot : int, default=5
        Support samples per class in a training episode (also the support
        size of the held-out-classes validation score).
    n_query : int, default=5
        Query samples per class in a training episode.
    metric : {"sqeuclidean", "cosine"}, default="sqeuclidean"
        Distance to the prototypes: squared Euclidean (as in the paper) or
        ``1 - cosine``.
    temperature : float, default=1.0
        ``predict_proba`` is ``softmax(-distance / temperature)``.  With
        ``metric="cosine"`` a small value (0.1) gives sharper probabilities.
        The same temperature sharpens the matching vote and the soft
        assignments of ``transductive``.
    rule : {"prototype", "matching"}, default="prototype"
        How queries are classified.  ``"prototype"``: nearest prototype
        (Snell et al., 2017).  ``"matching"``: the attention vote of
        Matching Networks (Vinyals et al., 2016), ``p(k | x) = sum over the
        support examples of class k of softmax_i(cos(f(x), f(x_i)) /
        temperature)``, over the examples given to :meth:`add_classes` and,
        when fitted with ``rule="matching"``, the training examples (a
        zero-shot class votes with its prototype);
        cosine whatever ``metric``, so a small ``temperature`` (0.1) suits
        it.  Training does not depend on the rule: the embedding is trained
        with ``loss`` (in 1-shot the two rules coincide up to the distance;
        an episodic matching loss measured no better, see docs/proto.md).
    transductive : bool or int, default=False
        Refine the prototypes with the unlabelled batch passed to
        ``predict`` (and the other prediction methods) before classifying
        it: ``transductive`` soft k-means steps (``True`` = 1 step), where
        each query counts for each class with weight
        ``softmax(-distance / temperature)`` beside the class's labelled
        examples (Ren et al., 2018).  Predictions then depend on the whole
        batch (deterministically): predict a few-shot episode's queries
        together.  Needs ``rule="prototype"``.
    reject_threshold : float or None, default=None
        Samples farther than this from every prototype (``metric``'s
        distance) are predicted ``reject_label``; ``None``: never reject.
        :meth:`calibrate_reject` sets it from held-out known-class data.
    reject_label : int, float, str or None, default=None
        Label of rejected samples; ``None``: ``-1`` for numeric classes,
        ``"unknown"`` for string classes.  It must not be a class, and must
        be a string exactly when the classes are.
    module : {"mlp", "linear"} or torch.nn.Module, default="mlp"
        As in :class:`~skmetric.MetricLearner`.
    n_components : int, default=None
        Embedding size; ``None``: ``min(n_features, 128)``.
    hidden_sizes : tuple of int, default=(512, 512)
    dropout : float, default=0.2
    normalize : bool or "auto", default="auto"
        L2-normalise the embedding; ``"auto"``: when the loss works on
        cosine similarities (not for the prototypical loss).
    samples_per_class : int, "auto" or None, default="auto"
        Batching of non-episodic losses, as in
        :class:`~skmetric.MetricLearner`.
    max_epochs : int, default=100
        An epoch has about as many samples as the training set.
    batch_size : int, default=256
        Batch size of non-episodic losses (an episode has
        ``n_way * (n_shot + n_query)`` samples).
    lr : float, default=1e-3
    weight_decay : float, default=1e-4
    optimizer : {"adamw", "adam", "sgd", "rmsprop"} or optimizer class, default="adamw"
    optimizer_params : dict or None, default=None
        Further keyword arguments of the optimizer (``{"momentum": 0.9}``,
        ``{"betas": (0.9, 0.99)}``); ``lr`` and ``weight_decay`` have their own
        parameters.  ``set_params(optimizer__momentum=0.9)`` sets one key, so
        ``optimizer__<name>`` can be grid-searched.  ``"sgd"`` defaults to
        ``momentum=0.9`` (torch's class, passed as such, to 0).  Unknown keys
        raise a ValueError naming the optimizer.
    lr_schedule : {"cosine", "constant"}, default="cosine"
    validation_fraction : float or None, default=0.1
        Fraction of the classes (or samples) held out for early stopping;
        ``None`` trains on everything for ``max_epochs``.
    validation_split : {"auto", "classes", "class_folds", "samples"}, default="auto"
        ``"auto"``: ``"class_folds"`` when the training classes allow its 3
        folds (at least 4 classes with the default ``validation_fraction``),
        else ``"classes"``; the resolved value is ``validation_split_``.  It
        is the setting for few-shot use on new classes (see docs/proto.md),
        and it costs up to 6 fits where it resolves to ``"class_folds"``.
        ``"classes"``: hold out whole classes (at least 2) and score the
        ``n_shot``-shot nearest-prototype accuracy among them, i.e. how well
        new classes will be added; ``"class_folds"``: the same score over
        rotating held-out classes: up to 5 folds, each holding out
        ``max(2, round(validation_fraction * n_classes))`` classes and
        training a fresh embedding on the others (early stopping with
        ``patience``); the folds' curves are averaged epoch by epoch, and the
        embedding is then trained on every class for the latest epoch within
        0.02 of that mean's best (none, i.e. the starting embedding, when no
        epoch beats epoch 0); ``history_`` holds the mean curve of the kept
        epochs.  It needs 3 folds: where the rotation gives fewer (4
        classes with the default fraction: 2 folds of 2), distinct groups of
        as many classes drawn at random are added up to 3 *overlapping*
        folds, each leaving at least 2 classes to train on, and an epoch
        then counts only if it beats the start in every fold (weak evidence
        each: 2 training classes).  With fewer classes (3) it warns and keeps
        the starting embedding.  It costs up to 6 fits.  ``"samples"``: hold
        out a stratified fraction of each class and score the accuracy of
        the prototypes.
        Every class, held out or not, gets its prototype after training.
        With fewer than 4 classes, ``"classes"`` trains for ``max_epochs``
        without validation.
    patience : int or None, default=25
        Epochs without a better validation score before training stops
        (the held-out-classes score is noisy: a long patience lets training
        get past early dips).
    device : {"cpu", "cuda", "auto"}, default="cpu"
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, episodes, dropout and validation split; with an
        int, fits are identical bit for bit on CPU,
        also when fits run in threads.
    verbose : int, default=0
    callbacks : list of skorch callbacks or None, default=None
        Extra callbacks for the fit loop.  An exception raised in one
        leaves the estimator unfitted; a ``KeyboardInterrupt`` during the
        epochs keeps the weights so far (``stop_reason_ == "interrupted"``,
        a :class:`~skmetric.TrainingInterruptedWarning`) and is raised again.
    accelerator : accelerate.Accelerator or None, default=None
        Train through skorch's Hugging Face Accelerate integration (the
        ``accelerate`` extra): multi-GPU with ``accelerate launch``, mixed
        precision.  The accelerator places module and data; ``device`` is
        then ignored.  ``None`` trains on ``device`` in plain torch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Training classes (sorted), then the classes added later, in the order
        they were added; the columns of :meth:`predict_proba`.
    prototypes_ : ndarray of shape (n_classes, embedding_size_)
        Mean embedding of each class (float64).
    class_count_ : ndarray of shape (n_classes,)
        Number of examples behind each prototype.
    embedding_sum_ : ndarray of shape (n_classes, embedding_size_)
        Sum of the embeddings of each class, so refining a prototype with
        new examples gives exactly the mean of all of them.
    support_embeddings_ : ndarray of shape (n_support, embedding_size_)
        Embeddings of the examples given to :meth:`add_classes`, after those
        of the training examples when fitted with ``rule="matching"`` (the
        support set of the matching vote).
    support_labels_ : ndarray of shape (n_support,)
        Their classes, as indices into ``classes_``.
    attribute_coef_, attribute_intercept_ : ndarray
        The attribute-to-prototype map of :meth:`fit_attribute_map`
        (prototype ``= a @ attribute_coef_ + attribute_intercept_``); defined
        after that call.
    n_attributes_ : int
        Length of the attribute vectors; defined with the map.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has string feature names.
    validation_split_ : {"classes", "class_folds", "samples"}
        ``validation_split`` with ``"auto"`` resolved for the training
        classes (``"classes"`` when ``validation_fraction=None``: nothing is
        held out).
    embedding_size_ : int
    loss_ : torch.nn.Module
    module_ : torch.nn.Module
        The trained embedding network.
    net_ : skorch.NeuralNet
    history_ : skorch.History
        One row per epoch: ``history_[0]`` is epoch 0 (the starting
        embedding, its ``valid_score`` only), ``history_[k]`` epoch ``k``
        (``train_loss``, ``valid_score``).
    best_epoch_ : int
        Epoch whose weights were kept (``n_epochs_`` without validation;
        0 = the starting embedding, with a ``StartingModelKeptWarning``).
    n_epochs_ : int
        Epochs trained (``len(history_) - 1``).
    baseline_score_, best_score_ : float or None
        Validation score of the starting embedding (epoch 0) and of the kept
        epoch; None without validation.
    stop_reason_ : {"max_epochs", "patience", "callback", "interrupted"}
        Why training stopped.

    See Also
    --------
    sklearn.neighbors.NearestCentroid : Nearest class mean on raw features.
    skmetric.MetricLearner : Embedding learning with any metric loss.
    skmetric.metrics.few_shot_accuracy : N-way K-shot episodic evaluation.

    References
    ----------
    J. Snell, K. Swersky and R. Zemel. "Prototypical Networks for Few-shot
    Learning". NeurIPS 2017. arXiv:1703.05175.

    O. Vinyals, C. Blundell, T. Lillicrap, K. Kavukcuoglu and D. Wierstra.
    "Matching Networks for One Shot Learning". NeurIPS 2016. arXiv:1606.04080.

    M. Ren, E. Triantafillou, S. Ravi, J. Snell, K. Swersky, J. Tenenbaum,
    H. Larochelle and R. Zemel. "Meta-Learning for Semi-Supervised Few-Shot
    Classification". ICLR 2018. arXiv:1803.00676.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skmetric import ProtoClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> old, new = y < 5, y >= 5
    >>> clf = ProtoClassifier(max_epochs=3, random_state=0).fit(X[old], y[old])
    >>> # five labelled examples of each new digit, no retraining
    >>> support = np.concatenate([np.flatnonzero(y == c)[:5] for c in range(5, 10)])
    >>> clf = clf.add_classes(X[support], y[support])
    >>> clf.classes_
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> bool(clf.score(X[new], y[new]) > 0.6)  # 10-way; chance is 0.1
    True
    """

    # predictions run on a float64 copy of the network (batch-invariant)
    _float64_inference = True

    _parameter_constraints = {
        "loss": [str, nn.Module],
        "n_way": [Interval(Integral, 2, None, closed="left"), None],
        "n_shot": [Interval(Integral, 1, None, closed="left")],
        "n_query": [Interval(Integral, 1, None, closed="left")],
        "metric": [StrOptions({"sqeuclidean", "cosine"})],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "rule": [StrOptions({"prototype", "matching"})],
        "transductive": ["boolean", Interval(Integral, 0, None, closed="left")],
        "reject_threshold": [Interval(Real, 0, None, closed="left"), None],
        "reject_label": [str, Real, None],
        "module": [StrOptions({"mlp", "linear"}), nn.Module],
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "hidden_sizes": [tuple, list],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "normalize": ["boolean", StrOptions({"auto"})],
        "samples_per_class": [
            Interval(Integral, 2, None, closed="left"),
            StrOptions({"auto"}),
            None,
        ],
        "validation_split": [StrOptions({"auto", "classes", "class_folds", "samples"})],
        "lr_schedule": [StrOptions({"cosine", "constant"})],
        **TRAINING_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        loss="prototypical",
        *,
        n_way=None,
        n_shot=5,
        n_query=5,
        metric="sqeuclidean",
        temperature=1.0,
        rule="prototype",
        transductive=False,
        reject_threshold=None,
        reject_label=None,
        module="mlp",
        n_components=None,
        hidden_sizes=(512, 512),
        dropout=0.2,
        normalize="auto",
        samples_per_class="auto",
        max_epochs=100,
        batch_size=256,
        lr=1e-3,
        weight_decay=1e-4,
        optimizer="adamw",
        optimizer_params=None,
        lr_schedule="cosine",
        validation_fraction=0.1,
        validation_split="auto",
        patience=25,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
        accelerator=None,
    ):
        self.loss = loss
        self.n_way = n_way
        self.n_shot = n_shot
        self.n_query = n_query
        self.metric = metric
        self.temperature = temperature
        self.rule = rule
        self.transductive = transductive
        self.reject_threshold = reject_threshold
        self.reject_label = reject_label
        self.module = module
        self.n_components = n_components
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.normalize = normalize
        self.samples_per_class = samples_per_class
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
        self.lr_schedule = lr_schedule
        self.validation_fraction = validation_fraction
        self.validation_split = validation_split
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.accelerator = accelerator

    # --------------------------------------------------------------------- fit
    def _check_episodes(self, y_enc, train_idx, valid_idx):
        """Clear errors for episodes the training classes cannot supply."""
        train_classes, counts = np.unique(y_enc[train_idx], return_counts=True)
        held_out = ""
        if valid_idx is not None and self.validation_split_ != "samples":
            n_held = self.classes_.size - train_classes.size
            held_out = (
                f" ({n_held} of the {self.classes_.size} classes are held out for "
                "validation; see `validation_split` and `validation_fraction`)"
            )
        if self.n_way is not None and self.n_way > train_classes.size:
            raise ValueError(
                f"`n_way`={self.n_way} is larger than the number of training "
                f"classes ({train_classes.size}){held_out}."
            )
        need = self.n_shot + self.n_query
        worst = int(np.argmin(counts))
        if counts[worst] < need:
            label = self.classes_[train_classes[worst]].item()
            split = ""
            if valid_idx is not None and self.validation_split_ == "samples":
                split = " after holding out validation samples"
            raise ValueError(
                f"`n_shot` + `n_query` = {self.n_shot} + {self.n_query} = {need} is "
                f"larger than the smallest training class: class {label!r} has "
                f"{counts[worst]} samples{split}."
            )
        return train_classes.size

    def _loss_build_params(self, cls, *, by_name):
        """An episodic loss gets ``n_shot`` (and, by name, ``metric`` and ``temperature``)."""
        if not getattr(cls, "requires_episodes", False):
            return {}
        params = {"n_shot": self.n_shot}
        if by_name:
            params.update(metric=self.metric, temperature=self.temperature)
        return params

    def _valid_kwargs(self, X, y_enc, train_idx, valid_idx, rng):
        if valid_idx is None:
            return {}
        if self.validation_split_ == "samples":
            ref = train_idx
            if ref.size > _MAX_VALID_REFERENCE:
                ref = np.sort(rng.permutation(ref)[:_MAX_VALID_REFERENCE])
            scoring = _PrototypeAccuracy(
                self.metric, X_ref=X[ref].astype(np.float32), y_ref=y_enc[ref]
            )
            return dict(X_valid=X[valid_idx], y_valid=y_enc[valid_idx], valid_scoring=scoring)
        return self._class_valid_kwargs(X, y_enc, valid_idx, rng)

    def _class_valid_kwargs(self, X, y_enc, valid_idx, rng):
        """Held-out classes: fixed random supports of n_shot samples per class."""
        _, y_valid = np.unique(y_enc[valid_idx], return_inverse=True)
        supports = []
        for _ in range(_N_VALID_DRAWS):
            mask = np.zeros(valid_idx.size, dtype=bool)
            for c in range(y_valid.max() + 1):
                idx = np.flatnonzero(y_valid == c)
                k = min(self.n_shot, idx.size - 1)  # keep >= 1 query
                mask[rng.permutation(idx)[:max(k, 1)]] = True
            supports.append(mask)
        scoring = _PrototypeAccuracy(self.metric, supports=supports)
        return dict(X_valid=X[valid_idx], y_valid=y_valid, valid_scoring=scoring)

    def _resolve_validation_split(self, y_enc):
        """``validation_split`` with ``"auto"`` resolved for these labels.

        ``"class_folds"`` when the training classes allow the folds (the
        same minimums as the folds themselves: ``_MIN_CLASS_FOLDS`` folds,
        each leaving 2 classes to train on), else ``"classes"`` (which
        itself trains without validation when fewer than 4 classes leave
        nothing to hold out).
        """
        if self.validation_split != "auto":
            return self.validation_split
        if self.validation_fraction is None:
            return "classes"  # nothing is held out either way
        layout = _fold_layout(np.unique(y_enc).size, self.validation_fraction)
        return "classes" if layout is None else "class_folds"

    def _split_validation(self, y, rng, *, by="samples", min_train=2, min_valid=2):
        # called by the shared _start_fit with the encoded labels: the place
        # where "auto" meets the data
        self.validation_split_ = self._resolve_validation_split(y)
        # class folds: the final fit trains on every class (the folds are
        # fitted separately, see _fold_curve)
        if self.validation_split_ == "class_folds":
            return np.arange(y.shape[0]), None
        by = "classes" if self.validation_split_ == "classes" else "samples"
        return super()._split_validation(
            y, rng, by=by, min_train=min_train, min_valid=min_valid
        )

    def _train_kwargs(self, loss, y_enc, train_idx, valid_idx, y_train, train_classes):
        """Batching of the fit loop for this loss (episodes or P x K batches)."""
        if getattr(loss, "requires_episodes", False):
            n_way = self._check_episodes(y_enc, train_idx, valid_idx)
            if self.n_way is not None:
                n_way = self.n_way
            n_shot, n_query = self.n_shot, self.n_query

            def batch_sampler(labels, generator):
                return EpisodicBatchSampler(
                    labels, n_way, n_shot, n_query, generator=generator
                )

            return dict(batch_sampler=batch_sampler)
        self._check_class_counts(y_train, train_classes, loss, None)
        return dict(samples_per_class=self._resolve_samples_per_class(loss, None))

    def _fold_curve(self, X, y_enc, rng):
        """Held-out-classes validation curves over class folds.

        Each fold (:func:`_held_out_groups`) holds out
        ``max(2, round(validation_fraction * n_classes))`` classes, trains a
        fresh embedding on the others through the fit loop (early stopping
        with ``patience`` on the held-out classes) and records its
        validation score per epoch.  Returns the epoch-by-epoch mean over
        the folds (see :func:`mean_curve`), the folds' epochs, their padded
        curves and whether the folds overlap.  Without the folds (too few
        classes) it warns and returns ``(None, [], None, False)``: the
        starting embedding is kept.
        """
        classes = np.unique(y_enc)
        n_valid = max(2, int(round(self.validation_fraction * classes.size)))
        groups = _held_out_groups(classes, self.validation_fraction, rng)
        if groups is None:
            warnings.warn(
                f"{type(self).__name__}: `validation_split`='class_folds' needs "
                f"{_MIN_CLASS_FOLDS} distinct groups of {n_valid} held-out classes, "
                f"each leaving at least 2 to train on; with {classes.size} classes "
                "there is no evidence that training transfers to new classes, so the "
                "starting embedding is kept. Use `validation_split`='samples' to "
                "train for the training classes themselves.",
                UserWarning,
                stacklevel=3,
            )
            return None, [], None, False
        def fit_fold(train_idx, valid_idx, seed):
            train_classes, y_train = np.unique(y_enc[train_idx], return_inverse=True)
            module, loss, _, _ = self._build_blocks(X[train_idx], train_classes.size, seed)
            train_kwargs = self._train_kwargs(
                loss, y_enc, train_idx, valid_idx, y_train, train_classes
            )
            self._train_embedding(
                module, loss, None, X[train_idx], y_train, seed=seed,
                normalize=self._resolve_normalize(loss),
                **train_kwargs,
                **self._class_valid_kwargs(X, y_enc, valid_idx, rng),
            )
            return [row["valid_score"] for row in self.history_]

        curves = run_folds(y_enc, groups, rng, fit_fold)
        folds = padded_curves(curves)
        overlapping = _fold_layout(classes.size, self.validation_fraction)[2]
        return folds.mean(axis=0), [len(c) - 1 for c in curves], folds, overlapping

    @guarded_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the embedding, then compute one prototype per class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (strings or any integers).

        Returns
        -------
        self : ProtoClassifier
        """
        self._check_rule_settings()
        f = self._start_fit(X, y)
        loss = f.loss
        train_kwargs = self._train_kwargs(
            loss, f.y_enc, f.train_idx, f.valid_idx, f.y_train, f.train_classes
        )
        valid_kwargs = self._valid_kwargs(f.X, f.y_enc, f.train_idx, f.valid_idx, f.rng)
        curve = None
        folded = (self.validation_split_ == "class_folds"
                  and self.validation_fraction is not None)
        if folded:
            curve, fold_epochs, folds, overlapping = self._fold_curve(f.X, f.y_enc, f.rng)
            # too few classes for the folds: keep the start (no score);
            # overlapping folds (few classes, 2 to train on in each: weak
            # evidence each) count an epoch only if it beats the start in
            # every fold, as MetricLearner's class folds do
            best = 0 if curve is None else choose_epoch(
                curve, _EPOCH_TOLERANCE, folds if overlapping else None)
            if curve is None:
                curve = np.full(1, np.nan)
            if best > 0:
                # train on every class for the chosen budget, no validation
                train_kwargs["max_epochs"] = best
                valid_kwargs = {}
            else:
                # replay the start's score: the loop keeps epoch 0 (and says so)
                valid_kwargs = dict(
                    X_valid=f.X[:1], y_valid=np.zeros(1, dtype=np.int64),
                    valid_scoring=ReplayScore(curve[:1]),
                )
                where = ("in every one of the overlapping class folds" if overlapping
                         else "on the class folds' mean validation curve")
                message = (
                    f"no epoch beat the starting embedding {where} "
                    f"(folds trained {fold_epochs} epochs)"
                )
                train_kwargs["extra_callbacks"] = [("class_folds", StopAtEpoch(1, message))]
        with warnings.catch_warnings():
            if folded and np.isnan(curve[0]):  # the folds' own warning said why
                warnings.simplefilter("ignore", StartingModelKeptWarning)
            self._train_embedding(
                f.module,
                loss,
                None,
                f.X_train,
                f.y_train,
                seed=f.seed,
                normalize=self._resolve_normalize(loss),
                **train_kwargs,
                **valid_kwargs,
            )
        if folded:
            # the fold-mean curve is the validation record of the kept epochs
            scores = [None if np.isnan(v) else float(v) for v in curve]
            for epoch in range(min(len(self.history_), len(scores))):
                self.history_[epoch]["valid_score"] = scores[epoch]
            self.best_epoch_ = best
            self.baseline_score_ = scores[0]
            self.best_score_ = scores[best]
        self.embedding_size_ = int(f.embedding_size)
        X, y_enc = f.X, f.y_enc

        # prototypes of every class (held-out validation classes included)
        emb = self._embed(X)
        n_classes = self.classes_.size
        self.embedding_sum_ = np.zeros((n_classes, emb.shape[1]))
        np.add.at(self.embedding_sum_, y_enc, emb)
        self.class_count_ = np.bincount(y_enc, minlength=n_classes).astype(np.int64)
        self.prototypes_ = self.embedding_sum_ / self.class_count_[:, None]
        # the matching vote's support set: the training examples only when
        # fitted for that rule (they would otherwise only weigh on pickles)
        if self.rule == "matching":
            self.support_embeddings_ = emb
            self.support_labels_ = y_enc.astype(np.int64)
        else:
            self.support_embeddings_ = np.zeros((0, emb.shape[1]))
            self.support_labels_ = np.zeros(0, dtype=np.int64)
        # a refit makes the attribute map stale
        for name in ("attribute_coef_", "attribute_intercept_", "n_attributes_"):
            vars(self).pop(name, None)
        return self

    def _rule_params_plausible(self):
        """Cheap check of the parameters read at predict time (the full
        validation costs about as much as a small forward pass)."""
        t = self.transductive
        r = self.reject_threshold
        return (
            self.rule in ("prototype", "matching")
            and isinstance(t, (bool, np.bool_, Integral)) and t >= 0
            and (r is None or (isinstance(r, Real) and not isinstance(r, bool) and r >= 0))
            and (self.reject_label is None or isinstance(self.reject_label, (str, Real)))
            and isinstance(self.temperature, Real) and self.temperature > 0
            and self.metric in ("sqeuclidean", "cosine")
        )

    def _check_rule_settings(self):
        """Checks of combinations of the prediction rules' parameters."""
        if self.transductive and self.rule != "prototype":
            raise ValueError(
                f"`transductive`={self.transductive!r} refines prototypes and needs "
                f"`rule`='prototype'; got `rule`={self.rule!r}."
            )

    # ------------------------------------------------------------- few-shot
    def add_classes(self, X_support=None, y_support=None, classes=None, *,
                    attributes=None, replace=False):
        """Add new classes, or refine existing ones, from a few examples or attributes.

        The embedding is not touched.  With examples, the support set goes
        through the network once; new classes get the mean of their
        embeddings as prototype (appended to ``classes_`` in sorted order),
        and existing classes get the exact mean of their old and new
        examples.  With ``attributes`` (zero-shot), each new class gets the
        prototype the map learned by :meth:`fit_attribute_map` gives its
        attribute vector.

        Parameters
        ----------
        X_support : array-like of shape (n_support, n_features), default=None
        y_support : array-like of shape (n_support,), default=None
        classes : array-like, default=None
            With a support set: classes that must be present in ``y_support``
            (each needs at least one support example); ``None``: the classes
            of ``y_support``.  With ``attributes``: the label of each row.
        attributes : array-like of shape (n_new_classes, n_attributes), default=None
            Attribute vectors of classes without examples (zero-shot); give
            ``classes`` and no support set.  A zero-shot class that later gets
            examples (``add_classes(X, y)``) takes the mean of its examples
            as prototype.
        replace : bool, default=False
            Forget every current class first, so the classifier knows only
            the classes given now (a few-shot episode, or zero-shot among new
            classes only).  The embedding and the attribute map are kept.

        Returns
        -------
        self : ProtoClassifier
        """
        check_is_fitted(self)
        if attributes is not None:
            if X_support is not None or y_support is not None:
                raise ValueError(
                    "Give either a support set (`X_support`, `y_support`) or "
                    "`attributes` with `classes`, not both."
                )
            return self._add_from_attributes(attributes, classes, replace)
        if X_support is None or y_support is None:
            raise ValueError(
                "add_classes needs a support set (`X_support` and `y_support`) or "
                "`attributes` with `classes`."
            )
        X, y = validate_data(
            self, X_support, y_support, reset=False, dtype=[np.float32, np.float64]
        )
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        check_classification_targets(y)
        new_labels, inverse = np.unique(y, return_inverse=True)
        if classes is not None:
            classes = np.unique(column_or_1d(np.asarray(classes)))
            missing = np.setdiff1d(classes, new_labels)
            if missing.size:
                raise ValueError(
                    f"Every class needs at least one support example; class "
                    f"{missing[0].item()!r} has zero in `y_support`."
                )
            extra = np.setdiff1d(new_labels, classes)
            if extra.size:
                raise ValueError(
                    f"`y_support` has label {extra[0].item()!r}, which is not in "
                    "`classes`."
                )
        if not replace:
            self._check_label_kind(new_labels, "`y_support` labels")
        emb = self._embed(X)
        sums = np.zeros((new_labels.size, emb.shape[1]))
        np.add.at(sums, inverse, emb)
        counts = np.bincount(inverse, minlength=new_labels.size)
        state = self._class_state(replace, new_labels.dtype)

        position = {label: i for i, label in enumerate(state["classes_"].tolist())}
        where = np.array([position.get(label, -1) for label in new_labels.tolist()],
                         dtype=np.int64)
        old, new = where >= 0, where < 0
        embedding_sum = state["embedding_sum_"].copy()
        class_count = state["class_count_"].copy()
        embedding_sum[where[old]] += sums[old]
        class_count[where[old]] += counts[old]
        n_before = state["classes_"].size
        where[new] = n_before + np.arange(new.sum())
        embedding_sum = np.vstack([embedding_sum, sums[new]])
        class_count = np.concatenate([class_count, counts[new]])
        # zero-shot prototypes stay until their class gets examples
        previous = np.vstack([state["prototypes_"], np.zeros((new.sum(), emb.shape[1]))])
        with np.errstate(invalid="ignore", divide="ignore"):
            means = embedding_sum / class_count[:, None]
        self.classes_ = np.concatenate([state["classes_"], new_labels[new]])
        self.embedding_sum_ = embedding_sum
        self.class_count_ = class_count
        self.prototypes_ = np.where(class_count[:, None] > 0, means, previous)
        self.support_embeddings_ = np.vstack([state["support_embeddings_"], emb])
        self.support_labels_ = np.concatenate([state["support_labels_"], where[inverse]])
        return self

    def _class_state(self, replace, dtype):
        """The per-class fitted arrays, or empty ones when ``replace``."""
        names = ("classes_", "embedding_sum_", "class_count_", "prototypes_",
                 "support_embeddings_", "support_labels_")
        if not replace:
            return {name: getattr(self, name) for name in names}
        width = self.prototypes_.shape[1]
        return {
            "classes_": np.empty(0, dtype=dtype),
            "embedding_sum_": np.zeros((0, width)),
            "class_count_": np.zeros(0, dtype=np.int64),
            "prototypes_": np.zeros((0, width)),
            "support_embeddings_": np.zeros((0, width)),
            "support_labels_": np.zeros(0, dtype=np.int64),
        }

    def _check_label_kind(self, labels, what):
        if _is_string_kind(self.classes_) != _is_string_kind(labels):
            raise ValueError(
                f"{what} ({np.asarray(labels).dtype}) must be of the same kind "
                f"as the fitted classes ({self.classes_.dtype}): strings and numbers "
                "cannot be mixed."
            )

    # ------------------------------------------------------------- zero-shot
    def fit_attribute_map(self, attributes, classes=None, *, alpha=1.0):
        """Learn a linear map from class attribute vectors to prototypes (zero-shot).

        A ridge regression (with intercept, closed form) from the attribute
        vectors of classes that have examples to their prototypes.  Then
        ``add_classes(attributes=..., classes=...)`` adds classes that have
        no examples at all, with prototype ``g(a) = a W + b``.

        This is the zero-shot variant of prototypical networks (Snell et al.,
        2017, section 2.7) learned *after* training, on the trained
        embedding: the paper learns ``g`` jointly with the embedding and
        fixes ``g(a)`` to unit length (as we recall it; unverified).  Here the
        embedding is not retrained and ``g`` regresses onto the actual
        prototypes, so any metric works; its quality depends on how many
        classes with attributes it is fitted on.

        Parameters
        ----------
        attributes : array-like of shape (n_classes_with_attributes, n_attributes)
            One attribute vector per class, in the order of ``classes``.
        classes : array-like of shape (n_classes_with_attributes,), default=None
            Labels of the rows, all classes with examples; ``None``: every
            class of ``classes_``, in that order.
        alpha : float, default=1.0
            Ridge penalty on ``W`` (attributes on a unit scale suit 1.0).

        Returns
        -------
        self : ProtoClassifier
        """
        check_is_fitted(self)
        if not (isinstance(alpha, Real) and not isinstance(alpha, bool) and alpha >= 0):
            raise ValueError(f"`alpha` must be a float >= 0; got {alpha!r}.")
        A = check_array(attributes, dtype=np.float64)
        labels = self.classes_ if classes is None else column_or_1d(np.asarray(classes))
        if A.shape[0] != labels.size:
            raise ValueError(
                f"`attributes` has {A.shape[0]} rows but there are {labels.size} "
                "classes: one attribute vector per class."
            )
        if np.unique(labels).size != labels.size:
            raise ValueError("`classes` lists a class more than once.")
        idx = self._class_positions(labels)
        empty = self.class_count_[idx] == 0
        if empty.any():
            raise ValueError(
                f"fit_attribute_map learns from classes with examples; class "
                f"{labels[np.flatnonzero(empty)[0]].item()!r} has none."
            )
        if labels.size < 2:
            raise ValueError("fit_attribute_map needs at least 2 classes with attributes.")
        P = self.prototypes_[idx]
        a_mean, p_mean = A.mean(axis=0), P.mean(axis=0)
        Ac, Pc = A - a_mean, P - p_mean
        gram = Ac.T @ Ac + alpha * np.eye(A.shape[1])
        coef = np.linalg.lstsq(gram, Ac.T @ Pc, rcond=None)[0]
        self.attribute_coef_ = coef
        self.attribute_intercept_ = p_mean - a_mean @ coef
        self.n_attributes_ = A.shape[1]
        return self

    def _class_positions(self, labels):
        position = {label: i for i, label in enumerate(self.classes_.tolist())}
        idx = []
        for label in np.asarray(labels).tolist():
            if label not in position:
                raise ValueError(f"Class {label!r} is not in `classes_`.")
            idx.append(position[label])
        return np.asarray(idx, dtype=np.int64)

    def _add_from_attributes(self, attributes, classes, replace):
        if "attribute_coef_" not in vars(self):
            raise ValueError(
                "Adding classes from `attributes` needs the map learned by "
                "fit_attribute_map(attributes, classes) first."
            )
        if classes is None:
            raise ValueError("`attributes` needs `classes`: the label of each row.")
        A = check_array(attributes, dtype=np.float64)
        labels = column_or_1d(np.asarray(classes))
        if A.shape[1] != self.n_attributes_:
            raise ValueError(
                f"`attributes` has {A.shape[1]} columns, but the attribute map was "
                f"fitted on {self.n_attributes_}."
            )
        if A.shape[0] != labels.size:
            raise ValueError(
                f"`attributes` has {A.shape[0]} rows but there are {labels.size} "
                "classes: one attribute vector per class."
            )
        new_labels, first = np.unique(labels, return_index=True)
        if new_labels.size != labels.size:
            raise ValueError("`classes` lists a class more than once.")
        if not replace:
            self._check_label_kind(new_labels, "`classes`")
            known = np.isin(new_labels, self.classes_)
            if known.any():
                raise ValueError(
                    f"Class {new_labels[np.flatnonzero(known)[0]].item()!r} already "
                    "has a prototype; zero-shot classes must be new."
                )
        protos = A[first] @ self.attribute_coef_ + self.attribute_intercept_
        state = self._class_state(replace, new_labels.dtype)
        n = new_labels.size
        self.classes_ = np.concatenate([state["classes_"], new_labels])
        self.embedding_sum_ = np.vstack([state["embedding_sum_"], np.zeros_like(protos)])
        self.class_count_ = np.concatenate([state["class_count_"], np.zeros(n, np.int64)])
        self.prototypes_ = np.vstack([state["prototypes_"], protos])
        self.support_embeddings_ = state["support_embeddings_"]
        self.support_labels_ = state["support_labels_"]
        return self

    def partial_fit(self, X, y, classes=None):
        """Fit if unfitted, else :meth:`add_classes` (no retraining).

        scikit-learn's ``partial_fit`` convention: the first call trains the
        embedding on ``(X, y)``; later calls add new classes or refine the
        prototypes of existing ones.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like, default=None
            Classes that must each have at least one example in ``y``.

        Returns
        -------
        self : ProtoClassifier
        """
        if not hasattr(self, "prototypes_"):
            if classes is not None:
                y_arr = column_or_1d(np.asarray(y))
                missing = np.setdiff1d(np.unique(column_or_1d(np.asarray(classes))), y_arr)
                if missing.size:
                    raise ValueError(
                        f"Every class needs at least one example; class "
                        f"{missing[0].item()!r} has zero in `y`."
                    )
            return self.fit(X, y)
        return self.add_classes(X, y, classes=classes)

    # ------------------------------------------------------------- predict
    def transform(self, X):
        """Embed ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, embedding_size_)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        return self._embed(X).astype(X.dtype, copy=False)

    def _embed(self, X):
        """Embeddings of ``X`` as float64 (a float64 copy of the network: an
        embedding does not depend on which other rows share its batch)."""
        return self._forward(X, dtype=np.float64)

    def _batch_prototypes(self, emb):
        """The prototypes a batch is classified with (refined on it when transductive)."""
        n_steps = int(self.transductive)
        if not n_steps:
            return self.prototypes_
        return _refine_prototypes(
            emb, self.embedding_sum_, self.class_count_, self.prototypes_,
            self.metric, self.temperature, n_steps,
        )

    def _matching_support(self):
        """Support entries of the matching vote: every stored example, plus the
        prototype of each class without examples (zero-shot) as one entry."""
        empty = np.flatnonzero(self.class_count_ == 0)
        stored = np.bincount(self.support_labels_, minlength=self.classes_.size)
        missing = np.flatnonzero((stored == 0) & (self.class_count_ > 0))
        if missing.size:
            raise ValueError(
                f"`rule`='matching' votes over stored examples, and class "
                f"{self.classes_[missing[0]].item()!r} has none: fit keeps the training "
                "examples' embeddings only with `rule`='matching'. Refit with "
                "`rule`='matching', or give the classes' examples with "
                "add_classes(X, y, replace=True)."
            )
        support = np.vstack([self.support_embeddings_, self.prototypes_[empty]])
        labels = np.concatenate([self.support_labels_, empty])
        return support, labels

    def _infer(self, X):
        """``(logits, distances)``: the rule's class logits (softmax = proba) and
        the distances to the prototypes, for a validated batch ``X``."""
        check_is_fitted(self)
        if not self._rule_params_plausible():  # set after fit: scikit-learn's message
            self._validate_params()
        self._check_rule_settings()
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        emb = self._embed(X)
        protos = torch.as_tensor(self._batch_prototypes(emb), dtype=torch.float64)
        dist = prototype_distances(torch.as_tensor(emb), protos, self.metric).numpy()
        if self.rule == "matching":
            support, labels = self._matching_support()
            logits = _matching_log_proba(
                emb, support, labels, self.classes_.size, self.temperature
            )
        else:
            logits = -dist / self.temperature
        return logits, dist

    def _logits(self, X):
        return self._infer(X)[0]

    def decision_function(self, X):
        """Class scores: the logits of :meth:`predict_proba`.

        ``rule="prototype"``: negative distances to the prototypes divided by
        ``temperature``; ``rule="matching"``: the log of the attention vote.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), or (n_samples,) with 2 classes
            With two classes, the score of ``classes_[1]`` minus that of
            ``classes_[0]`` (positive means ``classes_[1]``).
        """
        logits = self._logits(X)
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X):
        """Class probabilities of the rule (rejection does not change them).

        ``rule="prototype"``: softmax of ``-distance / temperature`` over the
        prototypes; ``rule="matching"``: the attention vote over the support
        set.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        logits = self._logits(X)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (computed stably)."""
        logits = self._logits(X)
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def predict(self, X):
        """Class of each sample, or ``reject_label`` when it is rejected.

        The class is the argmax of :meth:`predict_proba` (ties go to the
        first in ``classes_``).  With ``reject_threshold`` set, samples whose
        distance to the nearest prototype exceeds it get the reject label.
        """
        logits, dist = self._infer(X)
        pred = self.classes_[np.argmax(logits, axis=1)]
        if self.reject_threshold is None:
            return pred
        label = self._reject_label()
        out = pred.astype(np.result_type(pred.dtype, np.asarray([label]).dtype))
        out[dist.min(axis=1) > self.reject_threshold] = label
        return out

    def score_samples(self, X):
        """Negative distance to the nearest prototype (higher: more like a known class).

        The distance is ``metric``'s, to the prototypes :meth:`predict` uses
        (refined on the batch when ``transductive``), whatever the ``rule``.
        Use it to score unknown-class detection (e.g. ROC AUC with the known
        classes as positives); ``reject_threshold`` rejects samples with
        ``-score_samples(X) > reject_threshold``.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        return -self._infer(X)[1].min(axis=1)

    def calibrate_reject(self, X_known, *, false_reject_rate=0.05):
        """Set ``reject_threshold`` from held-out samples of known classes.

        The threshold is the smallest distance to the nearest prototype that
        rejects at most ``false_reject_rate`` of ``X_known`` (an upper
        quantile of their distances; FoPro's "realistic prototypes" idea:
        the spread of real known-class samples around their prototypes sets
        the boundary).  ``X_known`` should not have been used to compute the
        prototypes (they would sit too close).

        Parameters
        ----------
        X_known : array-like of shape (n_samples, n_features)
            Samples of classes in ``classes_``, not used in ``fit`` or
            :meth:`add_classes`.
        false_reject_rate : float, default=0.05
            Largest fraction of ``X_known`` to reject, in (0, 1).

        Returns
        -------
        self : ProtoClassifier
            With ``reject_threshold`` set (a parameter: ``clone`` keeps it).
        """
        if not (isinstance(false_reject_rate, Real) and 0 < false_reject_rate < 1):
            raise ValueError(
                f"`false_reject_rate` must be in (0, 1); got {false_reject_rate!r}."
            )
        dist = self._infer(X_known)[1].min(axis=1)
        self.reject_threshold = float(np.quantile(dist, 1 - false_reject_rate,
                                                  method="higher"))
        return self

    def _reject_label(self):
        label = self.reject_label
        is_str = _is_string_kind(self.classes_)
        if label is None:
            label = "unknown" if is_str else -1
        elif isinstance(label, str) != is_str:
            raise ValueError(
                f"`reject_label`={label!r} must be of the same kind as the classes "
                f"({self.classes_.dtype}): strings and numbers cannot be mixed."
            )
        if label in self.classes_.tolist():
            raise ValueError(
                f"`reject_label`={label!r} is one of the classes; choose a label "
                "that is not in `classes_`."
            )
        return label

    @property
    def _n_features_out(self):
        return self.embedding_size_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = False
        return tags
