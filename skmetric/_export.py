"""Export a trained embedding network as a module built only from ``torch.nn`` layers.

``to_torch()`` of the embedding estimators calls :func:`export_embedder` on
their fitted ``module_``.  skmetric's own modules are rewritten into an
equivalent ``torch.nn.Sequential`` of built-in layers (``Linear``, ``ReLU``,
``RMSNorm``), so ``torch.save(model)`` pickles only classes of ``torch.nn``
and ``torch.load(path, weights_only=False)`` works where skmetric is not
installed:

- the input centring ``x - mean`` becomes a ``Linear`` layer with the
  identity as weight and ``-mean`` as bias (exact: every product is with 0
  or 1);
- the residual embedder ``skip(xc) + mlp(xc / scale)`` becomes one MLP: the
  scaling is folded into the first layer, each eval-mode batch norm into
  the linear layer before it, and the linear skip path travels through the
  ReLUs as the pair ``(s, -s)`` (``relu(s) - relu(-s) = s``);
- L2 normalisation becomes ``RMSNorm`` with weight ``1 / sqrt(dim)``:
  ``x / sqrt(mean(x^2) + eps) / sqrt(dim) = x / sqrt(||x||^2 + dim * eps)``.

Other skmetric modules provide ``as_plain_torch()`` (the same function as a
``Sequential`` of built-in layers).  A user's own module is copied as it
is; loading it then needs its class.
"""

import copy
import math

import torch
from torch import nn

from .nn import Normalized, ResidualEmbedder

__all__ = ["TorchExportMixin", "export_embedder", "is_plain_torch"]

# sqrt(||x||^2 + dim * eps) with dim * eps = _NORM_EPS**2: normalising a
# vector of norm >> 1e-12 as F.normalize does (which clamps the norm at 1e-12).
_NORM_EPS = 1e-12


def is_plain_torch(module):
    """Whether every submodule of ``module`` is a class of ``torch`` itself."""
    return all(type(m).__module__.split(".")[0] == "torch" for m in module.modules())


def _l2_normalize_layer(dim):
    layer = nn.RMSNorm(dim, eps=_NORM_EPS**2 / dim)
    with torch.no_grad():
        layer.weight.fill_(1.0 / math.sqrt(dim))
    return layer


def _linear(weight, bias):
    """A float32 ``nn.Linear`` with the given float64 weight and bias."""
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        layer.weight.copy_(weight.float())
        if bias is not None:
            layer.bias.copy_(bias.float())
    return layer


def _mlp_layers(mlp):
    """``[(weight, bias)]`` (float64) of an MLP of Linear/BatchNorm1d/ReLU/Dropout.

    Each eval-mode batch norm is folded into the linear layer before it;
    between two entries there is one ReLU.  ``None`` when the MLP has any
    other layer or order.
    """
    layers, pending = [], None
    for m in mlp:
        if isinstance(m, nn.Linear):
            if pending is not None:
                return None
            w = m.weight.detach().double()
            b = m.bias.detach().double() if m.bias is not None else torch.zeros(w.shape[0],
                                                                               dtype=w.dtype)
            pending = [w, b]
        elif isinstance(m, nn.BatchNorm1d):
            if pending is None or m.running_mean is None:
                return None
            inv = 1.0 / torch.sqrt(m.running_var.double() + m.eps)
            g = inv * (m.weight.detach().double() if m.affine else 1.0)
            beta = m.bias.detach().double() if m.affine else 0.0
            pending = [pending[0] * g[:, None], (pending[1] - m.running_mean.double()) * g + beta]
        elif isinstance(m, nn.ReLU):
            if pending is None:
                return None
            layers.append(tuple(pending))
            pending = None
        elif isinstance(m, nn.Dropout):
            continue
        else:
            return None
    if pending is None:
        return None
    layers.append(tuple(pending))
    return layers


def _export_residual(module):
    """``ResidualEmbedder`` -> ``Sequential`` of Linear and ReLU layers, or None."""
    mean = module.mean.detach().double()
    scale = module.scale.detach().double()
    n_features = mean.shape[0]
    skip = module.skip.weight.detach().double()  # (n_components, n_features)
    n_components = skip.shape[0]
    center = _linear(torch.eye(n_features, dtype=torch.float64), -mean)
    if module.mlp is None:
        return nn.Sequential(center, _linear(skip, None))
    mlp = _mlp_layers(module.mlp)
    if mlp is None or len(mlp) < 2:
        return None
    eye = torch.eye(n_components, dtype=torch.float64)
    out = [center]
    # Hidden layers: [mlp units, s, -s], with s the skip output.
    w0, b0 = mlp[0]
    w0 = w0 / scale[None, :]
    out.append(_linear(torch.cat([w0, skip, -skip]),
                       torch.cat([b0, torch.zeros(2 * n_components, dtype=b0.dtype)])))
    out.append(nn.ReLU())
    for w, b in mlp[1:-1]:
        h_out, h_in = w.shape
        weight = torch.zeros(h_out + 2 * n_components, h_in + 2 * n_components,
                             dtype=torch.float64)
        weight[:h_out, :h_in] = w
        weight[h_out:, h_in:] = torch.eye(2 * n_components, dtype=torch.float64)
        out.append(_linear(weight, torch.cat([b, torch.zeros(2 * n_components,
                                                             dtype=b.dtype)])))
        out.append(nn.ReLU())
    w_last, b_last = mlp[-1]
    out.append(_linear(torch.cat([w_last, eye, -eye], dim=1), b_last))
    return nn.Sequential(*out)


def _export(module, embedding_size):
    """Plain-torch copy of ``module``, or None when it is not one of ours."""
    if isinstance(module, Normalized):
        inner = _export(module.module, embedding_size)
        if inner is None:
            if embedding_size is None or not is_plain_torch(module.module):
                return None
            inner = copy.deepcopy(module.module)
        layers = list(inner) if type(inner) is nn.Sequential else [inner]
        return nn.Sequential(*layers, _l2_normalize_layer(embedding_size))
    if isinstance(module, ResidualEmbedder):
        return _export_residual(module)
    plain = getattr(module, "as_plain_torch", None)
    if callable(plain):  # skmetric modules that know their torch.nn form
        return plain()
    return None


def export_embedder(module, embedding_size):
    """A copy of a trained embedding ``module`` built from ``torch.nn`` layers.

    Parameters
    ----------
    module : torch.nn.Module
        A fitted ``module_`` of an embedding estimator.
    embedding_size : int
        Width of the module's output.

    Returns
    -------
    exported : torch.nn.Module
        In eval mode, float32, on the CPU.  skmetric's
        modules (``ResidualEmbedder`` and the output normalisation) become an
        ``nn.Sequential`` of ``Linear``, ``ReLU`` and ``RMSNorm`` layers that
        computes the same embedding to float32 rounding; any other module is
        deep-copied as it is.
    """
    with torch.no_grad():
        exported = _export(module, embedding_size)
    if exported is None:
        exported = copy.deepcopy(module)
    return exported.float().cpu().eval()


def centered_linear(mean, weight, bias=None):
    """``Sequential(x - mean, Linear)`` of built-in layers: ``weight (x - mean) + bias``.

    ``weight`` has shape (out_features, in_features); the centring is a
    ``Linear`` layer with the identity as weight (exact, see the module doc).
    """
    mean = torch.as_tensor(mean).detach().double()
    weight = torch.as_tensor(weight).detach().double()
    center = _linear(torch.eye(mean.shape[0], dtype=torch.float64), -mean)
    bias = None if bias is None else torch.as_tensor(bias).detach().double()
    return nn.Sequential(center, _linear(weight, bias))


class TorchExportMixin:
    """``to_torch()`` for estimators with a fitted embedding network ``module_``."""

    def to_torch(self):
        """The trained embedder as a plain ``torch.nn.Module`` (float32, CPU, eval mode).

        Input centring and scaling and the output normalisation are included,
        and the default networks are rebuilt from ``torch.nn`` layers only, so
        ``torch.save(model)`` loads where skmetric is not installed; see
        "Exporting the embedder" in the user guide.  ``model(x)`` equals
        :meth:`transform` to float32 rounding.

        Returns
        -------
        model : torch.nn.Module
            A copy; the estimator is not changed.
        """
        from .utils._validation import check_is_fitted

        check_is_fitted(self)
        return export_embedder(self.module_, self._n_features_out)


def standardized_mlp(mean, scale, mlp):
    """``mlp((x - mean) / scale)`` as a ``Sequential`` of built-in layers, or None.

    ``mlp`` is a ``Sequential`` of Linear / BatchNorm1d / ReLU / Dropout
    layers; the scaling is folded into its first linear layer and each
    eval-mode batch norm into the linear layer before it.
    """
    layers = _mlp_layers(mlp)
    if layers is None:
        return None
    mean = torch.as_tensor(mean).detach().double()
    scale = torch.as_tensor(scale).detach().double()
    out = [_linear(torch.eye(mean.shape[0], dtype=torch.float64), -mean)]
    for i, (w, b) in enumerate(layers):
        if i == 0:
            w = w / scale[None, :]
        else:
            out.append(nn.ReLU())
        out.append(_linear(w, b))
    return nn.Sequential(*out)
