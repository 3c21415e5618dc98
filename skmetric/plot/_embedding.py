"""EmbeddingDisplay: a 2-D map of an embedding, one colour per class."""

import numpy as np

from ._base import check_matplotlib, check_transformer, get_ax

__all__ = ["EmbeddingDisplay"]

_METHODS = ("pca", "tsne", None)


def _to_2d(embedding, method, random_state):
    """Reduce ``embedding`` to 2 columns with PCA or t-SNE (``None``: as is)."""
    if method not in _METHODS:
        raise ValueError(f"`method` must be one of {list(_METHODS)}; got {method!r}.")
    Z = np.asarray(embedding, dtype=np.float64)
    if Z.ndim != 2:
        raise ValueError(f"The embedding must be 2-D (n_samples, n_features); got shape {Z.shape}.")
    if method is None:
        if Z.shape[1] != 2:
            raise ValueError(
                f"method=None draws the embedding as is and needs 2 features; got "
                f"{Z.shape[1]}. Use method='pca' or method='tsne'."
            )
        return Z
    if Z.shape[0] < 3:
        raise ValueError(f"method={method!r} needs at least 3 samples; got {Z.shape[0]}.")
    if method == "pca":
        from sklearn.decomposition import PCA

        if Z.shape[1] < 2:
            return np.column_stack([Z[:, 0], np.zeros(len(Z))])
        return PCA(n_components=2, random_state=random_state).fit_transform(Z)
    from sklearn.manifold import TSNE

    perplexity = min(30.0, (Z.shape[0] - 1) / 3)
    return TSNE(n_components=2, init="pca", perplexity=perplexity,
                random_state=random_state).fit_transform(Z)


class EmbeddingDisplay:
    """A 2-D map of an embedding, coloured by class.

    Build it with :meth:`from_estimator` (embeds ``X`` with the estimator's
    ``transform``) or :meth:`from_embedding`; both reduce the embedding to
    two dimensions with PCA or t-SNE and call :meth:`plot`.

    Parameters
    ----------
    embedding_2d : ndarray of shape (n_samples, 2)
        The coordinates to draw.
    labels : array-like of shape (n_samples,)
        Class of each point (any hashable values).
    method : {"pca", "tsne"} or None, default=None
        How ``embedding_2d`` was obtained; names the axes.
    name : str, default=None
        Title of the plot (e.g. the estimator's name).

    Attributes
    ----------
    collections_ : list of matplotlib.collections.PathCollection
        One scatter per class, in the order of ``classes_``.
    classes_ : ndarray
        The sorted distinct labels.
    legend_ : matplotlib.legend.Legend or None
        The class legend (``None`` when ``legend=False``).
    ax_ : matplotlib.axes.Axes
        Axes of the plot.
    figure_ : matplotlib.figure.Figure
        Figure of the plot.

    See Also
    --------
    RecallAtKDisplay : Recall@K curve of an embedding.
    sklearn.inspection.DecisionBoundaryDisplay : the scikit-learn display this mimics.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.decomposition import PCA
    >>> from skmetric.plot import EmbeddingDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> disp = EmbeddingDisplay.from_estimator(PCA(3).fit(X), X, y, name="PCA(3)")
    >>> len(disp.collections_)
    3
    """

    def __init__(self, *, embedding_2d, labels, method=None, name=None):
        self.embedding_2d = embedding_2d
        self.labels = labels
        self.method = method
        self.name = name

    def plot(self, ax=None, *, name=None, legend=True, cmap=None, **kwargs):
        """Draw the map.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        name : str, default=None
            Title; overrides the ``name`` given at construction.
        legend : bool, default=True
            Add a legend with one entry per class.
        cmap : str or Colormap, default=None
            Colormap of the classes: ``"tab10"`` up to 10 classes,
            ``"tab20"`` up to 20, else ``"viridis"``.
        **kwargs : dict
            Passed to ``Axes.scatter`` (e.g. ``s``, ``alpha``).

        Returns
        -------
        display : EmbeddingDisplay
        """
        ax = get_ax(ax, "EmbeddingDisplay.plot")
        plt = check_matplotlib("EmbeddingDisplay.plot")
        Z = np.asarray(self.embedding_2d, dtype=np.float64)
        labels = np.asarray(self.labels)
        if Z.ndim != 2 or Z.shape[1] != 2 or Z.shape[0] != labels.shape[0]:
            raise ValueError(
                f"`embedding_2d` must have shape (n_samples, 2) with n_samples = "
                f"len(labels) = {labels.shape[0]}; got {Z.shape}."
            )
        self.classes_ = np.unique(labels)
        n = len(self.classes_)
        if cmap is None:
            cmap = "tab10" if n <= 10 else "tab20" if n <= 20 else "viridis"
        cmap = plt.get_cmap(cmap)
        qualitative = getattr(cmap, "N", 256) <= 20
        kwargs.setdefault("s", 8)
        kwargs.setdefault("alpha", 0.8)
        self.collections_ = []
        for i, cls in enumerate(self.classes_):
            mask = labels == cls
            color = cmap(i % cmap.N) if qualitative else cmap(i / max(n - 1, 1))
            self.collections_.append(
                ax.scatter(Z[mask, 0], Z[mask, 1], color=color, label=str(cls), **kwargs)
            )
        prefix = {"pca": "PC", "tsne": "t-SNE", None: "dimension"}[self.method]
        ax.set_xlabel(f"{prefix} 1")
        ax.set_ylabel(f"{prefix} 2")
        title = name if name is not None else self.name
        if title is not None:
            ax.set_title(title)
        self.legend_ = None
        if legend:
            self.legend_ = ax.legend(title="class", markerscale=2, fontsize="small",
                                     loc="best", ncol=1 if n <= 12 else 2)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_embedding(cls, embedding, y, *, method="pca", random_state=None, ax=None,
                       name=None, legend=True, **kwargs):
        """Map a precomputed embedding.

        Parameters
        ----------
        embedding : array-like of shape (n_samples, n_features)
            The embedding (e.g. ``MetricLearner().fit(X, y).transform(X)``).
        y : array-like of shape (n_samples,)
            Class labels.
        method : {"pca", "tsne"} or None, default="pca"
            Reduction to 2-D; ``None`` draws a 2-column embedding as is.
        random_state : int, RandomState instance or None, default=None
            Seed of PCA's randomized solver or of t-SNE.
        ax, name, legend, **kwargs
            As in :meth:`plot`.

        Returns
        -------
        display : EmbeddingDisplay
        """
        check_matplotlib("EmbeddingDisplay.from_embedding")
        y = np.asarray(y)
        if len(y) != len(embedding):
            raise ValueError(
                f"`embedding` has {len(embedding)} samples but `y` has {len(y)}."
            )
        Z = _to_2d(embedding, method, random_state)
        display = cls(embedding_2d=Z, labels=y, method=method, name=name)
        return display.plot(ax=ax, legend=legend, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, method="pca", random_state=None, ax=None,
                       name=None, legend=True, **kwargs):
        """Embed ``X`` with a fitted estimator's ``transform`` and map it.

        Parameters
        ----------
        estimator : fitted transformer
            Anything with ``transform`` (``MetricLearner``, ``ProtoClassifier``,
            a ``Pipeline``, ``PCA``...).
        X : array-like of shape (n_samples, n_features)
            Input samples.
        y : array-like of shape (n_samples,)
            Class labels.
        method, random_state, ax, name, legend, **kwargs
            As in :meth:`from_embedding`; ``name`` defaults to the
            estimator's class name.

        Returns
        -------
        display : EmbeddingDisplay
        """
        check_matplotlib("EmbeddingDisplay.from_estimator")
        check_transformer(estimator, "EmbeddingDisplay.from_estimator")
        name = type(estimator).__name__ if name is None else name
        return cls.from_embedding(estimator.transform(X), y, method=method,
                                  random_state=random_state, ax=ax, name=name,
                                  legend=legend, **kwargs)
