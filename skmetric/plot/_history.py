"""TrainingHistoryDisplay: training loss and validation score per epoch."""

import numpy as np

from ._base import get_ax

__all__ = ["TrainingHistoryDisplay"]


def _column(history, key):
    """Values of ``key`` per epoch (NaN where an epoch lacks it), or None if absent."""
    values = [row.get(key) for row in history]
    if all(v is None for v in values):
        return None
    return np.array([np.nan if v is None else float(v) for v in values])


class TrainingHistoryDisplay:
    """Training loss (left axis) and validation score (right axis) per epoch.

    Reads the ``history_`` (a ``skorch.History``) that every torch estimator
    of skmetric keeps: ``train_loss`` for each trained epoch and, when the
    estimator holds out validation data (``validation_fraction``),
    ``valid_score``.  Its first row is epoch 0, the starting model: it has a
    validation score (the estimator's ``baseline_score_``) but no training
    loss, so the score curve starts at 0 and the loss curve at 1.

    Parameters
    ----------
    epochs : array-like of int
        Epoch numbers (0 = the starting model, 1, 2, ...).
    train_loss : array-like of float
        Mean training loss of each epoch (NaN where there is none, as for
        epoch 0: not drawn).
    valid_score : array-like of float, default=None
        Validation score of each epoch (greater is better).
    best_epoch : int, default=None
        Epoch whose weights the estimator kept (0 = the initial weights);
        drawn as a dotted vertical line.
    name : str, default=None
        Title of the plot.

    Attributes
    ----------
    loss_line_ : matplotlib.lines.Line2D
        The training-loss curve.
    score_line_ : matplotlib.lines.Line2D or None
        The validation-score curve (on ``score_ax_``).
    best_line_ : matplotlib.lines.Line2D or None
        The vertical line at ``best_epoch``.
    ax_ : matplotlib.axes.Axes
        Axes of the loss.
    score_ax_ : matplotlib.axes.Axes or None
        Twin axes (right) of the validation score.
    figure_ : matplotlib.figure.Figure
        Figure of the plot.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skmetric.plot import TrainingHistoryDisplay
    >>> history = [{"epoch": 1, "train_loss": 0.9, "valid_score": 0.70},
    ...            {"epoch": 2, "train_loss": 0.5, "valid_score": 0.80},
    ...            {"epoch": 3, "train_loss": 0.4, "valid_score": 0.78}]
    >>> disp = TrainingHistoryDisplay.from_history(history, best_epoch=2)
    >>> disp.loss_line_.get_ydata().tolist()
    [0.9, 0.5, 0.4]
    """

    def __init__(self, *, epochs, train_loss, valid_score=None, best_epoch=None, name=None):
        self.epochs = epochs
        self.train_loss = train_loss
        self.valid_score = valid_score
        self.best_epoch = best_epoch
        self.name = name

    def plot(self, ax=None, *, name=None, loss_kwargs=None, score_kwargs=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes of the loss; a new figure when None.  The validation score
            goes on a twin axes sharing its x axis.
        name : str, default=None
            Title; overrides the ``name`` given at construction.
        loss_kwargs, score_kwargs : dict, default=None
            Passed to ``Axes.plot`` for the loss and the score curve.

        Returns
        -------
        display : TrainingHistoryDisplay
        """
        ax = get_ax(ax, "TrainingHistoryDisplay.plot")
        epochs = np.asarray(self.epochs)
        loss = np.asarray(self.train_loss, dtype=np.float64)
        if epochs.shape != loss.shape:
            raise ValueError(
                f"`epochs` and `train_loss` must have the same length; got "
                f"{len(epochs)} and {len(loss)}."
            )
        loss_kwargs = {"color": "tab:blue", **(loss_kwargs or {})}
        score_kwargs = {"color": "tab:orange", **(score_kwargs or {})}
        self.loss_line_, = ax.plot(epochs, loss, label="train_loss", **loss_kwargs)
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss", color=loss_kwargs["color"])
        handles = [self.loss_line_]
        self.score_ax_ = None
        self.score_line_ = None
        if self.valid_score is not None:
            score = np.asarray(self.valid_score, dtype=np.float64)
            if score.shape != epochs.shape:
                raise ValueError(
                    f"`valid_score` must have one value per epoch ({len(epochs)}); "
                    f"got {len(score)}."
                )
            self.score_ax_ = ax.twinx()
            self.score_line_, = self.score_ax_.plot(epochs, score, label="valid_score",
                                                    **score_kwargs)
            self.score_ax_.set_ylabel("validation score", color=score_kwargs["color"])
            handles.append(self.score_line_)
        self.best_line_ = None
        if self.best_epoch is not None:
            self.best_line_ = ax.axvline(self.best_epoch, color="grey", ls=":",
                                         label=f"kept epoch {self.best_epoch}")
            handles.append(self.best_line_)
        # above the axes, so that it never hides a curve
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                  ncol=len(handles), frameon=False, fontsize="small")
        title = self.name if name is None else name
        if title is not None:
            ax.set_title(title, pad=22)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_history(cls, history, *, best_epoch=None, ax=None, name=None, **kwargs):
        """Plot a ``skorch.History`` (or any list of per-epoch dicts).

        Parameters
        ----------
        history : skorch.History or list of dict
            One dict per epoch with ``"train_loss"`` (a row may lack it, as
            epoch 0 does) and optionally ``"epoch"`` and ``"valid_score"``.
        best_epoch : int, default=None
            Epoch to mark.
        ax, name, **kwargs
            As in :meth:`plot`.

        Returns
        -------
        display : TrainingHistoryDisplay
        """
        rows = list(history)
        if not rows:
            raise ValueError("The history is empty: the estimator trained for no epoch.")
        loss = _column(rows, "train_loss")
        if loss is None:
            keys = sorted({key for row in rows for key in row})
            raise ValueError(f"The history has no 'train_loss'; its keys are {keys}.")
        epochs = _column(rows, "epoch")
        epochs = np.arange(1, len(rows) + 1) if epochs is None else epochs.astype(int)
        display = cls(epochs=epochs, train_loss=loss, valid_score=_column(rows, "valid_score"),
                      best_epoch=best_epoch, name=name)
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, **kwargs):
        """Plot the ``history_`` of a fitted skmetric torch estimator.

        Parameters
        ----------
        estimator : fitted estimator with ``history_``
            ``MetricLearner``, ``ProtoClassifier``, ``HyperbolicOneClass``,
            ``AnyLossClassifier``.  Its ``best_epoch_`` is marked when it
            validated during training.
        ax, name, **kwargs
            As in :meth:`plot`; ``name`` defaults to the estimator's class name.

        Returns
        -------
        display : TrainingHistoryDisplay
        """
        history = getattr(estimator, "history_", None)
        if history is None:
            raise TypeError(
                f"{type(estimator).__name__} has no `history_`: fit a skmetric torch "
                "estimator first, or use TrainingHistoryDisplay.from_history."
            )
        rows = list(history)
        validated = any("valid_score" in row for row in rows)
        best_epoch = getattr(estimator, "best_epoch_", None) if validated else None
        name = type(estimator).__name__ if name is None else name
        return cls.from_history(rows, best_epoch=best_epoch, ax=ax, name=name, **kwargs)
