"""Structure extraction by relative total variation (RTV): Xu, Yan, Xia and Jia, "Structure extraction from
texture via relative total variation", ACM TOG (SIGGRAPH Asia) 2012, as MEDFE's ``tsmooth.m`` implements it.

The paper minimises, per channel, ``sum_p (S_p - I_p)^2 + lambda * RTV(S)`` with
``RTV(S) = sum_p D_x(p) / (L_x(p) + eps) + D_y(p) / (L_y(p) + eps)`` (Eq. 4): the windowed total variation
``D`` over the windowed inherent variation ``L``. Its Eq. 6-8 turn this into a sequence of quadratic problems:
with texture weights ``u_x * w_x`` (``u``: from the Gaussian-filtered gradients, ``w``: from the gradient
magnitude) each iteration solves the sparse 5-point linear system (Eq. 8)::

    (I + lambda * (D_x^T W_x D_x + D_y^T W_y D_y)) S = I

``tsmooth.m`` computes one weight map for the three channels (means over channels), halves ``lambda`` before
the first iteration, keeps the input ``I`` as the right-hand side of every iteration and halves the Gaussian's
sigma after each (not below 0.5). :func:`rtv_smooth` follows it; its defaults are MEDFE's call
``tsmooth(img, 0.015, 3, 0.001, 3)`` (``generate_structure_images.m``). MATLAB stops its ``pcg`` at relative
residual 0.1 (preconditioned by ``ichol``); ``solver="exact"`` solves the system exactly, ``"cg"`` to ``tol``.

**Mask-aware form** (``known`` given, 1 = known): the data term ``(S - I)^2`` counts on known pixels only,
``(M + lambda * L_w) S = M I``, so hole pixels are filled by the smoothness term alone, and the first
iteration's texture weights read known pixels only (differences that touch the hole are zero, the Gaussian is
normalised over known pixels). The hole content of the input never reaches the output: an RTV prior without
a ground-truth leak.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange, reduce, repeat
from torch import Tensor

SOLVERS = ("auto", "exact", "cg")
PRECONDITIONERS = ("multigrid", "jacobi")
GRADIENT_FLOOR = 1e-3  # tsmooth.m's vareps: the floor of the filtered-gradient mean in u_x, u_y
COARSEST_UNKNOWNS = 64  # the multigrid preconditioner solves levels this small directly


# ----------------------------------------------------------------------------------------------- weights
def gaussian_taps(sigma: float, device: torch.device | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
    """MATLAB's ``fspecial('gaussian', [1, k], sigma)`` with ``k = bitor(round(5 sigma), 1)`` (as ``conv2_sep``)."""
    size = math.floor(5.0 * sigma + 0.5) | 1  # MATLAB rounds halves away from zero
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    taps = torch.exp(-(coords**2) / (2.0 * sigma**2))
    taps = torch.where(taps < torch.finfo(torch.float64).eps * taps.max(), 0.0, taps)
    return (taps / taps.sum()).to(device=device, dtype=dtype)


def _blur(x: Tensor, taps: Tensor) -> Tensor:
    """Separable convolution with zero padding, the output the input's size (``conv2(.., 'same')``)."""
    radius = taps.numel() // 2
    channels = x.shape[1]
    x = F.conv2d(F.pad(x, [radius, radius, 0, 0]), taps.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    return F.conv2d(F.pad(x, [0, 0, radius, radius]), taps.view(1, 1, -1, 1).expand(channels, 1, -1, 1),
                    groups=channels)


def _forward_differences(x: Tensor) -> tuple[Tensor, Tensor]:
    """``x[.., j + 1] - x[.., j]`` along width and height, zero in the last column / row (``diff`` + ``padarray``)."""
    return (F.pad(x[..., :, 1:] - x[..., :, :-1], [0, 1, 0, 0]),
            F.pad(x[..., 1:, :] - x[..., :-1, :], [0, 0, 0, 1]))


def texture_weights(x: Tensor, sigma: float, sharpness: float, known: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The RTV weights of Eq. 8, ``(B, 1, H, W)`` each: ``u_x w_x`` and ``u_y w_y`` of the current estimate ``x``.

    ``w = 1 / max(mean_c sqrt(f_x^2 + f_y^2), sharpness)`` from the forward differences ``f`` (``sharpness`` is
    the paper's epsilon_s), ``u_x = 1 / max(mean_c |d/dx (G_sigma * x)|, 1e-3)`` from the Gaussian-filtered
    image, likewise ``u_y``; the last column of the x weight and the last row of the y weight are zero. With
    ``known``: differences touching a hole pixel are zero and ``G_sigma * x`` is normalised over known pixels
    (zero padding at the border as without ``known``, so an all-ones ``known`` gives ``tsmooth.m``'s weights).
    """
    taps = gaussian_taps(sigma, x.device, x.dtype)
    fx, fy = _forward_differences(x)
    if known is None:
        filtered = _blur(x, taps)
    else:
        both_x = F.pad(known[..., :, 1:] * known[..., :, :-1], [0, 1, 0, 0])
        both_y = F.pad(known[..., 1:, :] * known[..., :-1, :], [0, 0, 0, 1])
        fx, fy = fx * both_x, fy * both_y
        weight = 1.0 - _blur(1.0 - known, taps)  # beyond the border counts as known zeros, as in tsmooth.m
        filtered = _blur(x * known, taps) / weight.clamp_min(1e-6) * (weight > 1e-6)
    w = 1.0 / torch.sqrt(fx**2 + fy**2).mean(dim=1, keepdim=True).clamp_min(sharpness)
    gfx, gfy = _forward_differences(filtered)
    if known is not None:
        gfx, gfy = gfx * both_x, gfy * both_y
    ux = 1.0 / gfx.abs().mean(dim=1, keepdim=True).clamp_min(GRADIENT_FLOOR)
    uy = 1.0 / gfy.abs().mean(dim=1, keepdim=True).clamp_min(GRADIENT_FLOOR)
    weight_x, weight_y = ux * w, uy * w
    weight_x[..., :, -1] = 0.0
    weight_y[..., -1, :] = 0.0
    return weight_x, weight_y


# ------------------------------------------------------------------------------ the 5-point operator
class _Level:
    """One grid of ``A = diag(data) + D_x^T diag(ax) D_x + D_y^T diag(ay) D_y`` (maps ``(N, 1, h, w)``)."""

    def __init__(self, data: Tensor, ax: Tensor, ay: Tensor) -> None:
        self.data, self.ax, self.ay = data, ax, ay
        self.diagonal = (data + ax + F.pad(ax[..., :, :-1], [1, 0, 0, 0])
                         + ay + F.pad(ay[..., :-1, :], [0, 0, 1, 0]))
        self.inverse_diagonal = 1.0 / self.diagonal.clamp_min(torch.finfo(data.dtype).tiny)

    def apply(self, x: Tensor) -> Tensor:
        gx = self.ax[..., :, :-1] * (x[..., :, 1:] - x[..., :, :-1])
        gy = self.ay[..., :-1, :] * (x[..., 1:, :] - x[..., :-1, :])
        return (self.data * x + F.pad(gx, [1, 0, 0, 0]) - F.pad(gx, [0, 1, 0, 0])
                + F.pad(gy, [0, 0, 1, 0]) - F.pad(gy, [0, 0, 0, 1]))

    def coarsen(self) -> _Level:
        """The Galerkin operator ``P^T A P`` of 2x2 aggregation (``P``: piecewise-constant prolongation): data
        weights add up, and a coarse link carries the two fine links that cross it."""
        height, width = self.data.shape[-2:]
        pad = [0, width % 2, 0, height % 2]
        data, ax, ay = (F.pad(t, pad) for t in (self.data, self.ax, self.ay))
        return _Level(reduce(data, "n c (h a) (w b) -> n c h w", "sum", a=2, b=2),
                      ax[..., 0::2, 1::2] + ax[..., 1::2, 1::2], ay[..., 1::2, 0::2] + ay[..., 1::2, 1::2])

    def dense(self) -> Tensor:
        """``A`` as ``(N, h w, h w)`` matrices (row-major pixel order)."""
        height, width = self.data.shape[-2:]
        basis = torch.eye(height * width, dtype=self.data.dtype, device=self.data.device)
        basis = rearrange(basis, "k (h w) -> 1 k h w", h=height).expand(self.data.shape[0], -1, -1, -1)
        return rearrange(self.apply(basis), "n k h w -> n k (h w)")


def _restrict(r: Tensor) -> Tensor:
    height, width = r.shape[-2:]
    return reduce(F.pad(r, [0, width % 2, 0, height % 2]), "n c (h a) (w b) -> n c h w", "sum", a=2, b=2)


def _prolong(e: Tensor, height: int, width: int) -> Tensor:
    return repeat(e, "n c h w -> n c (h a) (w b)", a=2, b=2)[..., :height, :width]


class _Multigrid:
    """A symmetric V-cycle of aggregation multigrid (damped Jacobi smoothing, exact coarsest solve): an SPD
    preconditioner for the conjugate gradient, robust to the RTV weights' range (``lambda * u * w`` up to ~1e4)."""

    def __init__(self, finest: _Level, sweeps: int = 2, damping: float = 2.0 / 3.0) -> None:
        self.levels = [finest]
        while self.levels[-1].data.shape[-2:].numel() > COARSEST_UNKNOWNS:
            self.levels.append(self.levels[-1].coarsen())
        self.sweeps, self.damping = sweeps, damping
        coarsest = self.levels[-1]
        # the coarsest matrices are small (<= COARSEST_UNKNOWNS unknowns): the solve multiplies by their inverses
        self.coarsest_inverse = torch.cholesky_inverse(torch.linalg.cholesky(coarsest.dense().double()))

    def __call__(self, r: Tensor) -> Tensor:
        return self._cycle(0, r)

    def _cycle(self, index: int, r: Tensor) -> Tensor:
        level = self.levels[index]
        if index == len(self.levels) - 1:
            height = r.shape[-2]
            # a broadcast product, not bmm: these matrices are tiny, and BLAS calls on them cost ~100x more on a CPU
            flat = rearrange(r.double(), "n c h w -> n c 1 (h w)")
            solution = (flat * self.coarsest_inverse[:, None]).sum(dim=-1)
            return rearrange(solution, "n c (h w) -> n c h w", h=height).to(r.dtype)
        x = self.damping * level.inverse_diagonal * r
        for _ in range(self.sweeps - 1):
            x = x + self.damping * level.inverse_diagonal * (r - level.apply(x))
        coarse = self._cycle(index + 1, _restrict(r - level.apply(x)))
        x = x + _prolong(coarse, *r.shape[-2:])
        for _ in range(self.sweeps):
            x = x + self.damping * level.inverse_diagonal * (r - level.apply(x))
        return x


def conjugate_gradient(level: _Level, rhs: Tensor, start: Tensor, tol: float, max_iter: int,
                       preconditioner: str) -> tuple[Tensor, int]:
    """Preconditioned CG on all systems of ``rhs (N, C, h, w)`` at once; each stops at ``|r| <= tol |b|``.
    Returns the solution and the iterations run."""
    precondition = (_Multigrid(level) if preconditioner == "multigrid"
                    else (lambda r: level.inverse_diagonal * r))
    x = start.clone()
    r = rhs - level.apply(x)
    z = precondition(r)
    p = z
    rz = (r * z).sum(dim=(-2, -1), keepdim=True)
    limit = tol * rhs.flatten(-2).norm(dim=-1)[..., None, None]
    iterations = max_iter
    for step in range(max_iter):
        active = r.flatten(-2).norm(dim=-1)[..., None, None] > limit
        if step % 4 == 0 and not active.any():  # one host-device sync every 4 iterations
            iterations = step
            break
        ap = level.apply(p)
        alpha = torch.where(active, rz / (p * ap).sum(dim=(-2, -1), keepdim=True).clamp_min(1e-30), 0.0)
        x = x + alpha * p
        r = r - alpha * ap
        z = precondition(r)
        rz_next = (r * z).sum(dim=(-2, -1), keepdim=True)
        p = z + torch.where(active, rz_next / rz.clamp_min(1e-30), 0.0) * p
        rz = rz_next
    return x, iterations


def _exact_solve(level: _Level, rhs: Tensor) -> Tensor:
    """scipy's sparse LU (SuperLU) of each image's ``A``, shared by its channels."""
    try:
        import scipy.sparse as sparse
        import scipy.sparse.linalg as sparse_linalg
    except ImportError as error:  # scipy is not a core dependency
        raise ImportError("rtv_smooth(solver='exact') needs scipy: pip install scipy (or tsgl-encoder[bench], "
                          "whose scikit-image requires it), or use solver='cg'") from error
    import numpy as np

    batch, _, height, width = rhs.shape
    count = height * width
    index = np.arange(count).reshape(height, width)
    out = torch.empty_like(rhs)
    for n in range(batch):
        ax = level.ax[n, 0].double().cpu().numpy()
        ay = level.ay[n, 0].double().cpu().numpy()
        rows = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
        cols = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
        links = np.concatenate([ax[:, :-1].ravel(), ay[:-1, :].ravel()])
        upper = sparse.coo_matrix((-links, (rows, cols)), shape=(count, count))
        diagonal = sparse.diags(level.diagonal[n, 0].double().cpu().numpy().ravel())
        matrix = (upper + upper.T + diagonal).tocsc()
        solution = sparse_linalg.splu(matrix).solve(rearrange(rhs[n].double().cpu().numpy(), "c h w -> (h w) c"))
        out[n] = torch.from_numpy(rearrange(solution, "(h w) c -> c h w", h=height)).to(rhs)
    return out


def _scipy_available() -> bool:
    try:
        import scipy.sparse.linalg  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------------------------- public
def _check_arguments(image_unit: object, lam: object, sigma: object, sharpness: object, max_iter: object,
                     known: object, solver: object, tol: object, preconditioner: object) -> None:
    if not isinstance(image_unit, Tensor):
        raise TypeError(f"image_unit must be a torch.Tensor, got {type(image_unit).__name__}")
    if not image_unit.is_floating_point():
        raise TypeError(f"image_unit must be a floating-point tensor in [0, 1], got dtype {image_unit.dtype}")
    if image_unit.ndim != 4 or image_unit.shape[1] != 3 or min(image_unit.shape[-2:]) < 2:
        raise ValueError(f"image_unit must have shape (B, 3, H, W) with H, W >= 2, got {tuple(image_unit.shape)}")
    for name, value in (("lam", lam), ("sigma", sigma), ("sharpness", sharpness), ("tol", tol)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a float, got {type(value).__name__}")
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int):
        raise TypeError(f"max_iter must be an int, got {type(max_iter).__name__}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if preconditioner not in PRECONDITIONERS:
        raise ValueError(f"preconditioner must be one of {PRECONDITIONERS}, got {preconditioner!r}")
    if known is not None:
        if not isinstance(known, Tensor):
            raise TypeError(f"known must be a torch.Tensor or None, got {type(known).__name__}")
        expected = (image_unit.shape[0], 1, *image_unit.shape[-2:])
        if tuple(known.shape) != expected:
            raise ValueError(f"known must have shape {expected} (1 = known), got {tuple(known.shape)}")
        if known.device != image_unit.device:
            raise ValueError(f"known is on {known.device}, image_unit on {image_unit.device}; move both to one device")


@torch.no_grad()
def rtv_smooth(
    image_unit: Tensor, lam: float = 0.015, sigma: float = 3.0, sharpness: float = 0.001, max_iter: int = 3,
    known: Tensor | None = None, solver: str = "auto", tol: float = 1e-4, max_cg_iter: int = 500,
    preconditioner: str = "multigrid",
) -> Tensor:
    """RTV structure image (Xu et al. 2012, Eq. 8 iterated as ``tsmooth.m``) of ``image_unit (B, 3, H, W)``.

    Args:
        image_unit: the image in [0, 1].
        lam: the smoothness weight lambda (halved once before the first iteration, as ``tsmooth.m``).
        sigma: the Gaussian scale of the windowed variations (the largest texture element), halved per
            iteration, not below 0.5.
        sharpness: epsilon_s, the floor of the gradient magnitude in the weights (smaller: sharper).
        max_iter: iterations of weights + linear solve.
        known: optional ``(B, 1, H, W)`` mask, 1 = known: the mask-aware form (data term on known pixels only;
            the hole content of ``image_unit`` never influences the output).
        solver: ``"exact"`` (scipy sparse LU on the CPU; scipy is an optional dependency), ``"cg"`` (batched
            preconditioned conjugate gradient in torch, for GPUs: all images and channels at once) or
            ``"auto"``: exact on a CPU when scipy is importable, else cg.
        tol: cg's stopping rule, relative residual ``|b - A x| <= tol |b|`` per image and channel.
        max_cg_iter: cg's iteration limit per linear solve.
        preconditioner: cg's ``"multigrid"`` (an aggregation V-cycle) or ``"jacobi"`` (the diagonal).

    Returns:
        ``(B, 3, H, W)`` in the dtype of ``image_unit``. The exact solution lies in the input's range per
        channel (``A`` is an M-matrix with ``A 1 = 1``); cg's within its tolerance of it.
    """
    _check_arguments(image_unit, lam, sigma, sharpness, max_iter, known, solver, tol, preconditioner)
    if solver == "auto":
        solver = "exact" if image_unit.device.type == "cpu" and _scipy_available() else "cg"
    dtype = torch.float64 if image_unit.dtype == torch.float64 else torch.float32
    image = image_unit.to(dtype)
    out = torch.zeros_like(image)
    if known is None:
        data = torch.ones_like(image[:, :1])
        solved = torch.arange(image.shape[0], device=image.device)
    else:
        data = (known > 0.5).to(dtype)
        solved = data.flatten(1).amax(dim=1).nonzero().flatten()  # an image without known pixels stays 0
        if not solved.numel():
            return out.to(image_unit.dtype)
        image, data = image[solved] * data[solved], data[solved]
    rhs = data * image
    x = rhs
    half_lambda = lam / 2.0
    for step in range(max_iter):
        weight_x, weight_y = texture_weights(x, sigma, sharpness, data if known is not None and step == 0 else None)
        level = _Level(data, half_lambda * weight_x, half_lambda * weight_y)
        if solver == "exact":
            x = _exact_solve(level, rhs)
        else:
            x, _ = conjugate_gradient(level, rhs, x, tol, max_cg_iter, preconditioner)
        sigma = max(sigma / 2.0, 0.5)
    out[solved] = x
    return out.to(image_unit.dtype)
