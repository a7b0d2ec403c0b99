"""Mean-scale hyperprior (Minnen et al. 2018, no context model).

Written from the method doc (shared/docs/sgaplus-method.md, section 2). Module,
parameter and buffer names follow CompressAI's ``MeanScaleHyperprior`` so that
state_dicts can be exchanged with it in both directions.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

LIKELIHOOD_BOUND = 1e-9
SCALE_BOUND = 0.11
TAIL_MASS = 1e-9


# ---------------------------------------------------------------------------
# Lower bound with a custom gradient
# ---------------------------------------------------------------------------


class _LowerBoundFn(torch.autograd.Function):
    """max(x, bound) whose gradient is not cut off when it would push x up.

    A plain max() gives zero gradient below the bound, so a parameter that
    fell below it could never come back. Here gradient passes where x >= bound
    or where the incoming gradient is negative (gradient descent then
    increases x, towards the valid region).
    """

    @staticmethod
    def forward(ctx, x: Tensor, bound: Tensor) -> Tensor:
        ctx.save_for_backward(x, bound)
        return torch.max(x, bound)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, bound = ctx.saved_tensors
        pass_through = (x >= bound) | (grad < 0)
        return pass_through.type_as(grad) * grad, None


class LowerBound(nn.Module):
    """Module wrapper; the bound is a buffer named ``bound`` (CompressAI layout)."""

    bound: Tensor

    def __init__(self, bound: float):
        super().__init__()
        self.register_buffer("bound", torch.tensor([float(bound)]))

    def forward(self, x: Tensor) -> Tensor:
        return _LowerBoundFn.apply(x, self.bound.to(x.dtype))


class NonNegativeParametrizer(nn.Module):
    """Stores p with effective value v = max(p, b)^2 - eps^2 (section 2.2).

    Squaring keeps v >= 0 and gives better-conditioned gradients near zero
    than optimising v directly; the pedestal eps^2 keeps p away from 0.
    """

    pedestal: Tensor

    def __init__(self, minimum: float = 0.0, reparam_offset: float = 2.0**-18):
        super().__init__()
        pedestal = reparam_offset**2
        self.register_buffer("pedestal", torch.tensor([pedestal]))
        self.lower_bound = LowerBound(math.sqrt(minimum + pedestal))

    def init(self, v: Tensor) -> Tensor:
        return torch.sqrt(torch.clamp(v + self.pedestal, min=float(self.pedestal)))

    def forward(self, p: Tensor) -> Tensor:
        return self.lower_bound(p) ** 2 - self.pedestal.to(p.dtype)


class GDN(nn.Module):
    """GDN: x_i / sqrt(beta_i + sum_j gamma_ij x_j^2); inverse=True gives IGDN."""

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6, gamma_init: float = 0.1):
        super().__init__()
        self.inverse = bool(inverse)
        self.beta_reparam = NonNegativeParametrizer(minimum=beta_min)
        self.gamma_reparam = NonNegativeParametrizer()
        beta = torch.ones(channels)
        gamma = gamma_init * torch.eye(channels)
        self.beta = nn.Parameter(self.beta_reparam.init(beta))
        self.gamma = nn.Parameter(self.gamma_reparam.init(gamma))

    def effective(self) -> Tuple[Tensor, Tensor]:
        """Effective (beta, gamma); gamma is [out i, in j]."""
        return self.beta_reparam(self.beta), self.gamma_reparam(self.gamma)

    def forward(self, x: Tensor) -> Tensor:
        beta, gamma = self.effective()
        c = gamma.shape[0]
        # The normaliser is a 1x1 convolution of x^2 with weight gamma and bias beta.
        norm = F.conv2d(x * x, gamma.reshape(c, c, 1, 1), beta)
        return x * torch.sqrt(norm) if self.inverse else x * torch.rsqrt(norm)


def conv(cin: int, cout: int, k: int = 5, stride: int = 2) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)


def deconv(cin: int, cout: int, k: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    # output_padding = stride - 1 makes it an exact x stride upsampling.
    return nn.ConvTranspose2d(cin, cout, k, stride=stride, padding=k // 2, output_padding=stride - 1)


# ---------------------------------------------------------------------------
# Entropy models
# ---------------------------------------------------------------------------


class _CoderBuffersMixin:
    """Empty coder-table buffers (CompressAI names). The TypeScript codec builds
    its own tables, but the buffers must exist for state_dict exchange; they may
    have any size in a loaded checkpoint, so loading resizes them."""

    _RESIZABLE = ("_offset", "_quantized_cdf", "_cdf_length", "scale_table")

    def _register_coder_buffers(self) -> None:
        self.register_buffer("_offset", torch.zeros(0, dtype=torch.int32))
        self.register_buffer("_quantized_cdf", torch.zeros(0, dtype=torch.int32))
        self.register_buffer("_cdf_length", torch.zeros(0, dtype=torch.int32))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name in self._RESIZABLE:
            key = prefix + name
            if key in state_dict and name in self._buffers:
                src = state_dict[key]
                self._buffers[name] = torch.zeros_like(src, device=self._buffers[name].device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class EntropyBottleneck(_CoderBuffersMixin, nn.Module):
    """Factorised prior for z: one learned monotone CDF per channel (section 2.3)."""

    def __init__(self, channels: int, filters=(3, 3, 3, 3), init_scale: float = 10.0, tail_mass: float = TAIL_MASS):
        super().__init__()
        self.channels = int(channels)
        self.filters = tuple(filters)
        self.tail_mass = float(tail_mass)
        widths = (1,) + self.filters + (1,)
        scale = init_scale ** (1.0 / (len(self.filters) + 1))
        for i in range(len(self.filters) + 1):
            # softplus(init) = 1 / (scale * width_out): the initial density is
            # a wide bump of total spread ~init_scale.
            init = math.log(math.expm1(1.0 / scale / widths[i + 1]))
            self.register_parameter(f"_matrix{i}", nn.Parameter(torch.full((channels, widths[i + 1], widths[i]), init)))
            self.register_parameter(f"_bias{i}", nn.Parameter(torch.rand(channels, widths[i + 1], 1) - 0.5))
            if i < len(self.filters):
                self.register_parameter(f"_factor{i}", nn.Parameter(torch.zeros(channels, widths[i + 1], 1)))
        self.quantiles = nn.Parameter(torch.tensor([-init_scale, 0.0, init_scale]).repeat(channels, 1, 1))
        t = math.log(2.0 / self.tail_mass - 1.0)
        # Persistent, as in CompressAI's state_dict; a state_dict without it is
        # still accepted (MeanScaleHyperprior.load_state_dict fills it in).
        self.register_buffer("target", torch.tensor([-t, 0.0, t]))
        self.likelihood_lower_bound = LowerBound(LIKELIHOOD_BOUND)
        self._register_coder_buffers()

    def medians(self) -> Tensor:
        return self.quantiles[:, 0, 1]

    def logits_cumulative(self, v: Tensor, stop_gradient: bool = False) -> Tensor:
        """c(v) for v of shape [C, 1, K]; returns [C, 1, K] (logit of the CDF)."""
        h = v
        for i in range(len(self.filters) + 1):
            m = getattr(self, f"_matrix{i}")
            b = getattr(self, f"_bias{i}")
            if stop_gradient:
                m, b = m.detach(), b.detach()
            h = torch.matmul(F.softplus(m), h) + b
            if i < len(self.filters):
                a = getattr(self, f"_factor{i}")
                if stop_gradient:
                    a = a.detach()
                h = h + torch.tanh(a) * torch.tanh(h)
        return h

    def likelihood_cv(self, v: Tensor) -> Tensor:
        """P(v) on [C, 1, K] values, unfloored."""
        lower = self.logits_cumulative(v - 0.5)
        upper = self.logits_cumulative(v + 0.5)
        # Evaluate in the tail where both sigmoids are small (no cancellation).
        # torch.sign would give 0 when lower+upper == 0, so pick +-1 explicitly.
        s = torch.where(lower + upper > 0, -torch.ones_like(lower), torch.ones_like(lower)).detach()
        return torch.abs(torch.sigmoid(s * upper) - torch.sigmoid(s * lower))

    def loss(self) -> Tensor:
        """Auxiliary loss: trains only the quantiles (network is detached)."""
        logits = self.logits_cumulative(self.quantiles, stop_gradient=True)
        return torch.abs(logits - self.target.to(logits.dtype)).sum()

    def _to_cv(self, z: Tensor) -> Tensor:
        return z.transpose(0, 1).reshape(z.shape[1], 1, -1)

    def _from_cv(self, v: Tensor, shape) -> Tensor:
        b, c = shape[0], shape[1]
        return v.reshape(c, b, *shape[2:]).transpose(0, 1)

    def quantize(self, z: Tensor, training: bool) -> Tensor:
        if training:
            return z + torch.empty_like(z).uniform_(-0.5, 0.5)
        med = self.medians().detach().reshape(1, -1, *([1] * (z.dim() - 2)))
        return torch.round(z - med) + med

    def likelihood(self, z_hat: Tensor) -> Tensor:
        lik = self._from_cv(self.likelihood_cv(self._to_cv(z_hat)), z_hat.shape)
        return self.likelihood_lower_bound(lik)

    def forward(self, z: Tensor, training: Optional[bool] = None) -> Tuple[Tensor, Tensor]:
        training = self.training if training is None else training
        z_hat = self.quantize(z, training)
        return z_hat, self.likelihood(z_hat)

    @torch.no_grad()
    def update_quantiles(self, radius: float = 1e5, iters: int = 80) -> None:
        """Set quantiles to the exact solutions of c(q) = target by bisection.

        The auxiliary optimiser only approaches them slowly; coder tables and
        the median used for rounding should come from the exact values.
        c is monotone increasing, so bisection is safe.
        """
        c = self.channels
        for k in range(3):
            lo = torch.full((c, 1, 1), -radius, device=self.quantiles.device)
            hi = torch.full((c, 1, 1), radius, device=self.quantiles.device)
            t = float(self.target[k])
            for _ in range(iters):
                mid = 0.5 * (lo + hi)
                below = self.logits_cumulative(mid, stop_gradient=True) < t
                lo = torch.where(below, mid, lo)
                hi = torch.where(below, hi, mid)
            self.quantiles.data[:, 0, k] = (0.5 * (lo + hi))[:, 0, 0]


class GaussianConditional(_CoderBuffersMixin, nn.Module):
    """Conditional Gaussian for y given (scale, mean) from h_s (section 2.4)."""

    def __init__(self, scale_bound: float = SCALE_BOUND):
        super().__init__()
        self.lower_bound_scale = LowerBound(scale_bound)
        self.likelihood_lower_bound = LowerBound(LIKELIHOOD_BOUND)
        self.register_buffer("scale_table", torch.zeros(0))
        self.register_buffer("scale_bound", torch.tensor([float(scale_bound)]))
        self._register_coder_buffers()

    @staticmethod
    def _phi(u: Tensor) -> Tensor:
        # erfc form keeps precision in the lower tail.
        return 0.5 * torch.erfc(-u / math.sqrt(2.0))

    def likelihood(self, y_hat: Tensor, scales: Tensor, means: Tensor) -> Tensor:
        s = self.lower_bound_scale(scales)
        v = torch.abs(y_hat - means)  # |.| keeps both terms in the lower tail
        lik = self._phi((0.5 - v) / s) - self._phi((-0.5 - v) / s)
        return self.likelihood_lower_bound(lik)

    def quantize(self, y: Tensor, means: Tensor, training: bool) -> Tensor:
        if training:
            # Noise proxy without mean shift (the noise is symmetric anyway).
            return y + torch.empty_like(y).uniform_(-0.5, 0.5)
        return torch.round(y - means) + means

    def forward(self, y: Tensor, scales: Tensor, means: Tensor, training: Optional[bool] = None):
        training = self.training if training is None else training
        y_hat = self.quantize(y, means, training)
        return y_hat, self.likelihood(y_hat, scales, means)


# ---------------------------------------------------------------------------
# Full model
# ---------------------------------------------------------------------------


class MeanScaleHyperprior(nn.Module):
    def __init__(self, N: int = 128, M: int = 192):
        super().__init__()
        self.N, self.M = int(N), int(M)
        m3 = M * 3 // 2
        self.g_a = nn.Sequential(
            conv(3, N), GDN(N), conv(N, N), GDN(N), conv(N, N), GDN(N), conv(N, M)
        )
        self.g_s = nn.Sequential(
            deconv(M, N), GDN(N, inverse=True), deconv(N, N), GDN(N, inverse=True),
            deconv(N, N), GDN(N, inverse=True), deconv(N, 3),
        )
        self.h_a = nn.Sequential(
            conv(M, N, 3, 1), nn.LeakyReLU(0.01), conv(N, N), nn.LeakyReLU(0.01), conv(N, N)
        )
        self.h_s = nn.Sequential(
            deconv(N, M), nn.LeakyReLU(0.01), deconv(M, m3), nn.LeakyReLU(0.01), conv(m3, 2 * M, 3, 1)
        )
        self.entropy_bottleneck = EntropyBottleneck(N)
        self.gaussian_conditional = GaussianConditional()

    def network_parameters(self):
        return [p for n, p in self.named_parameters() if not n.endswith("quantiles")]

    def aux_parameters(self):
        return [p for n, p in self.named_parameters() if n.endswith("quantiles")]

    def aux_loss(self) -> Tensor:
        return self.entropy_bottleneck.loss()

    def hyper_params(self, z_hat: Tensor) -> Tuple[Tensor, Tensor]:
        """h_s output split into (scales, means): first M channels are scales."""
        gp = self.h_s(z_hat)
        return gp[:, : self.M], gp[:, self.M:]

    def forward(self, x: Tensor, training: Optional[bool] = None) -> Dict[str, Tensor]:
        training = self.training if training is None else training
        y = self.g_a(x)
        z = self.h_a(y)
        z_hat, z_lik = self.entropy_bottleneck(z, training=training)
        scales, means = self.hyper_params(z_hat)
        y_hat, y_lik = self.gaussian_conditional(y, scales, means, training=training)
        x_hat = self.g_s(y_hat)
        return {
            "x_hat": x_hat, "y": y, "z": z, "y_hat": y_hat, "z_hat": z_hat,
            "scales": scales, "means": means,
            "likelihoods": {"y": y_lik, "z": z_lik},
        }

    def load_state_dict(self, state_dict, strict: bool = True):
        # "target" is a constant of tail_mass; accept state_dicts that lack it.
        sd = dict(state_dict)
        sd.setdefault("entropy_bottleneck.target", self.entropy_bottleneck.target.clone())
        return super().load_state_dict(sd, strict=strict)


def rd_loss(out: Dict[str, Tensor], x: Tensor, lmbda: float) -> Dict[str, Tensor]:
    """L = lambda * 255^2 * MSE + bpp (section 2.5)."""
    n, _, h, w = x.shape
    num_pixels = n * h * w
    bpp = sum(-torch.log2(l).sum() for l in out["likelihoods"].values()) / num_pixels
    mse = F.mse_loss(out["x_hat"], x)
    return {"loss": lmbda * 255.0**2 * mse + bpp, "bpp": bpp, "mse": mse}


def rd_step(l: Dict[str, Tensor], model: "MeanScaleHyperprior", opt, aux_opt, net_params, clip: float) -> Tuple[bool, Tensor]:
    """One optimiser step on an R-D loss: backward, gradient-norm clip and Adam, skipped when the
    loss is not finite (one bad batch must not poison the weights); then one step on the
    entropy bottleneck's auxiliary (quantile) loss. Returns (loss was finite, aux loss)."""
    opt.zero_grad(set_to_none=True)
    finite = bool(torch.isfinite(l["loss"]))
    if finite:
        l["loss"].backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(net_params, clip)
        opt.step()
    aux = model.aux_loss()
    aux_opt.zero_grad(set_to_none=True)
    aux.backward()
    aux_opt.step()
    return finite, aux
