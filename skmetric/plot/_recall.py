"""RecallAtKDisplay: the Recall@K curve of an embedding."""

import numpy as np

from ._base import check_transformer, get_ax

__all__ = ["RecallAtKDisplay"]


class RecallAtKDisplay:
    """Recall@K against K for one embedding; several models share one axis.

    Recall@K is the deep-metric-learning hit rate: the fraction of queries
    with at least one same-class item among their K nearest references
    (:func:`skmetric.metrics.recall_at_k`).  Draw a second model on the
    same axes by passing ``ax=display.ax_``.

    Parameters
    ----------
    ks : array-like of int
        The values of K.
    recalls : array-like of float
        Recall@K for each K.
    name : str, default=None
        Label of the curve in the legend.

    Attributes
    ----------
    line_ : matplotlib.lines.Line2D
        The curve.
    ax_ : matplotlib.axes.Axes
        Axes of the plot.
    figure_ : matplotlib.figure.Figure
        Figure of the plot.

    See Also
    --------
    skmetric.metrics.retrieval_report : every retrieval metric at once.
    sklearn.metrics.RocCurveDisplay : the scikit-learn display this mimics.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.decomposition import PCA
    >>> from skmetric.plot import RecallAtKDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> raw = RecallAtKDisplay.from_embedding(X, y, name="raw features")
    >>> pca = RecallAtKDisplay.from_estimator(PCA(1).fit(X), X, y, ax=raw.ax_)
    >>> [text.get_text() for text in pca.ax_.get_legend().get_texts()]
    ['raw features (R@1 = 0.960)', 'PCA (R@1 = 0.887)']
    """

    def __init__(self, *, ks, recalls, name=None):
        self.ks = ks
        self.recalls = recalls
        self.name = name

    def plot(self, ax=None, *, name=None, **kwargs):
        """Draw the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        name : str, default=None
            Legend label; overrides the ``name`` given at construction.  The
            label ends with the Recall@1 (or the first K) value.
        **kwargs : dict
            Passed to ``Axes.plot``.

        Returns
        -------
        display : RecallAtKDisplay
        """
        ax = get_ax(ax, "RecallAtKDisplay.plot")
        ks = np.asarray(self.ks)
        recalls = np.asarray(self.recalls, dtype=np.float64)
        if ks.shape != recalls.shape or ks.ndim != 1 or len(ks) == 0:
            raise ValueError(
                f"`ks` and `recalls` must be 1-D of the same length; got shapes "
                f"{ks.shape} and {recalls.shape}."
            )
        name = self.name if name is None else name
        label = f"R@{ks[0]} = {recalls[0]:.3f}"
        label = label if name is None else f"{name} ({label})"
        kwargs.setdefault("marker", "o")
        self.line_, = ax.plot(ks, recalls, label=label, **kwargs)
        ax.set_xscale("log", base=2)
        # Tick at every K drawn on these axes (several curves may share them).
        ticks = sorted({int(k) for line in ax.get_lines() for k in line.get_xdata()})
        ax.set_xticks(ticks, [str(k) for k in ticks])
        ax.minorticks_off()
        ax.set_xlabel("K (neighbours retrieved)")
        ax.set_ylabel("Recall@K")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_embedding(cls, X, y, *, ks=(1, 2, 4, 8), X_ref=None, y_ref=None,
                       metric="euclidean", ax=None, name=None, **kwargs):
        """Score an embedding with :func:`~skmetric.metrics.retrieval_report` and plot.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query embeddings.
        y : array-like of shape (n_queries,)
            Query labels.
        ks : sequence of int, default=(1, 2, 4, 8)
            The values of K.
        X_ref, y_ref : array-like, default=None
            Reference set; ``None`` scores ``X`` leave-one-out.
        metric : {"euclidean", "cosine", "dot"}, default="euclidean"
            Neighbour ranking.
        ax, name, **kwargs
            As in :meth:`plot`.

        Returns
        -------
        display : RecallAtKDisplay
        """
        from ..metrics import retrieval_report

        ks = [int(k) for k in ks]
        report = retrieval_report(X, y, ks=ks, X_ref=X_ref, labels_ref=y_ref, metric=metric)
        recalls = [report[f"recall@{k}"] for k in ks]
        return cls(ks=np.asarray(ks), recalls=np.asarray(recalls), name=name).plot(
            ax=ax, **kwargs
        )

    @classmethod
    def from_estimator(cls, estimator, X, y, *, ks=(1, 2, 4, 8), X_ref=None, y_ref=None,
                       metric="euclidean", ax=None, name=None, **kwargs):
        """Embed ``X`` (and ``X_ref``) with ``estimator.transform``, score and plot.

        Parameters
        ----------
        estimator : fitted transformer
            Anything with ``transform``.
        X, y, ks, X_ref, y_ref, metric, ax, **kwargs
            As in :meth:`from_embedding`, with ``X`` and ``X_ref`` in input space.
        name : str, default=None
            Legend label; the estimator's class name when None.

        Returns
        -------
        display : RecallAtKDisplay
        """
        check_transformer(estimator, "RecallAtKDisplay.from_estimator")
        name = type(estimator).__name__ if name is None else name
        Z_ref = None if X_ref is None else estimator.transform(X_ref)
        return cls.from_embedding(estimator.transform(X), y, ks=ks, X_ref=Z_ref, y_ref=y_ref,
                                  metric=metric, ax=ax, name=name, **kwargs)
