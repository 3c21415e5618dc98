"""OneClassScoreDisplay: score histograms of inliers and outliers."""

import numpy as np

from ._base import get_ax

__all__ = ["OneClassScoreDisplay"]

_RESPONSES = ("score_samples", "decision_function")


class OneClassScoreDisplay:
    """Histograms of an outlier detector's scores, inliers against outliers.

    Works with any detector in scikit-learn's convention (greater score =
    more normal): ``HyperbolicOneClass``, ``OneClassSVM``,
    ``IsolationForest``, ``LocalOutlierFactor(novelty=True)``...

    Parameters
    ----------
    inlier_scores, outlier_scores : array-like of float
        Scores of the true inliers and of the true outliers.
    threshold : float, default=None
        The detector's decision threshold on these scores (``offset_`` for
        ``score_samples``, 0 for ``decision_function``); drawn as a dashed line.
    name : str, default=None
        Title of the plot.

    Attributes
    ----------
    roc_auc_ : float
        ROC-AUC of the scores (inliers positive); NaN without both groups.
    inlier_bars_, outlier_bars_ : matplotlib.container.BarContainer
        The two histograms.
    threshold_line_ : matplotlib.lines.Line2D or None
        The vertical line at ``threshold``.
    ax_ : matplotlib.axes.Axes
        Axes of the plot.
    figure_ : matplotlib.figure.Figure
        Figure of the plot.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skmetric.plot import OneClassScoreDisplay
    >>> disp = OneClassScoreDisplay.from_predictions(
    ...     [1, 1, 1, -1, -1], [0.9, 0.8, 0.4, 0.5, 0.1], threshold=0.45)
    >>> round(disp.roc_auc_, 3)
    0.833
    """

    def __init__(self, *, inlier_scores, outlier_scores, threshold=None, name=None):
        self.inlier_scores = inlier_scores
        self.outlier_scores = outlier_scores
        self.threshold = threshold
        self.name = name

    def plot(self, ax=None, *, name=None, bins=40, density=True, **kwargs):
        """Draw the histograms.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        name : str, default=None
            Title; overrides the ``name`` given at construction.  The ROC-AUC
            is appended.
        bins : int, default=40
            Number of bins, shared by both histograms.
        density : bool, default=True
            Normalise each histogram to unit area (the groups may differ in size).
        **kwargs : dict
            Passed to both ``Axes.hist`` calls.

        Returns
        -------
        display : OneClassScoreDisplay
        """
        ax = get_ax(ax, "OneClassScoreDisplay.plot")
        s_in = np.asarray(self.inlier_scores, dtype=np.float64).ravel()
        s_out = np.asarray(self.outlier_scores, dtype=np.float64).ravel()
        if s_in.size == 0 and s_out.size == 0:
            raise ValueError("OneClassScoreDisplay needs at least one score.")
        both = np.concatenate([s_in, s_out])
        finite = both[np.isfinite(both)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        if self.threshold is not None and np.isfinite(self.threshold):
            lo, hi = min(lo, self.threshold), max(hi, self.threshold)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, int(bins) + 1)
        kwargs.setdefault("alpha", 0.6)
        self.roc_auc_ = _auc(s_in, s_out)
        _, _, self.inlier_bars_ = ax.hist(s_in, bins=edges, density=density, color="tab:blue",
                                          label=f"inliers (n={s_in.size})", **kwargs)
        _, _, self.outlier_bars_ = ax.hist(s_out, bins=edges, density=density,
                                           color="tab:orange",
                                           label=f"outliers (n={s_out.size})", **kwargs)
        self.threshold_line_ = None
        if self.threshold is not None:
            self.threshold_line_ = ax.axvline(self.threshold, color="k", ls="--",
                                              label=f"threshold = {self.threshold:.3g}")
        ax.set_xlabel("score (greater = more normal)")
        ax.set_ylabel("density" if density else "count")
        title = self.name if name is None else name
        auc = f"ROC-AUC = {self.roc_auc_:.3f}"
        ax.set_title(auc if title is None else f"{title}: {auc}")
        ax.legend(loc="best")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(cls, y_true, y_score, *, inlier_label=1, threshold=None, ax=None,
                         name=None, **kwargs):
        """Plot precomputed scores.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Ground truth: ``inlier_label`` for inliers, anything else for
            outliers (scikit-learn's detectors use +1 / -1).
        y_score : array-like of shape (n_samples,)
            Scores, greater = more normal.
        inlier_label : int, bool or str, default=1
            Value of ``y_true`` marking inliers.
        threshold : float, default=None
            Decision threshold to draw.
        ax, name, **kwargs
            As in :meth:`plot`.

        Returns
        -------
        display : OneClassScoreDisplay
        """
        y_true = np.asarray(y_true)
        y_score = np.asarray(y_score, dtype=np.float64)
        if y_true.shape != y_score.shape or y_true.ndim != 1:
            raise ValueError(
                f"`y_true` and `y_score` must be 1-D of the same length; got shapes "
                f"{y_true.shape} and {y_score.shape}."
            )
        inlier = y_true == inlier_label
        display = cls(inlier_scores=y_score[inlier], outlier_scores=y_score[~inlier],
                      threshold=threshold, name=name)
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, response_method="score_samples",
                       inlier_label=1, ax=None, name=None, **kwargs):
        """Score ``X`` with a fitted detector and plot.

        Parameters
        ----------
        estimator : fitted outlier detector
            With ``score_samples`` or ``decision_function``.
        X : array-like of shape (n_samples, n_features)
            Samples to score, inliers and outliers.
        y : array-like of shape (n_samples,)
            Ground truth, ``inlier_label`` for inliers.
        response_method : {"score_samples", "decision_function"}, default="score_samples"
            Which scores to draw.  The threshold is the estimator's
            ``offset_`` for ``score_samples`` (when it has one) and 0 for
            ``decision_function``.
        inlier_label, ax, name, **kwargs
            As in :meth:`from_predictions`; ``name`` defaults to the
            estimator's class name.

        Returns
        -------
        display : OneClassScoreDisplay
        """
        if response_method not in _RESPONSES:
            raise ValueError(
                f"`response_method` must be one of {list(_RESPONSES)}; got {response_method!r}."
            )
        if not hasattr(estimator, response_method):
            raise TypeError(
                f"{type(estimator).__name__} has no `{response_method}`; "
                f"OneClassScoreDisplay needs an outlier detector."
            )
        scores = getattr(estimator, response_method)(X)
        if response_method == "decision_function":
            threshold = 0.0
        else:
            offset = getattr(estimator, "offset_", None)
            threshold = None if offset is None else float(offset)
        name = type(estimator).__name__ if name is None else name
        return cls.from_predictions(y, scores, inlier_label=inlier_label, threshold=threshold,
                                    ax=ax, name=name, **kwargs)


def _auc(s_in, s_out):
    """P(inlier score > outlier score), ties count 1/2 (the Mann-Whitney ROC-AUC)."""
    if s_in.size == 0 or s_out.size == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([s_in, s_out]))
    u = ranks[: s_in.size].sum() - s_in.size * (s_in.size + 1) / 2
    return float(u / (s_in.size * s_out.size))
