"""Shared helpers of the displays: the lazy matplotlib import and axes set-up."""

__all__ = ["check_matplotlib", "check_transformer", "get_ax"]


def check_matplotlib(caller):
    """Import ``matplotlib.pyplot`` or raise an ImportError naming the extra.

    Parameters
    ----------
    caller : str
        Name of the method that needs matplotlib, used in the message.

    Returns
    -------
    pyplot : module
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} needs matplotlib, which is not installed. Install the "
            "`plot` extra: pip install \"skmetric[plot]\" (or pip install matplotlib)."
        ) from exc
    return plt


def get_ax(ax, caller):
    """``ax``, or the axes of a new figure when ``ax`` is None."""
    plt = check_matplotlib(caller)
    if ax is None:
        _, ax = plt.subplots()
    return ax


def check_transformer(estimator, caller):
    """Raise a TypeError naming ``caller`` unless ``estimator`` has ``transform``."""
    if not hasattr(estimator, "transform"):
        raise TypeError(
            f"{caller} needs an estimator with `transform`; "
            f"{type(estimator).__name__} has none."
        )
