"""Maximum likelihood for the BTYD models: an optimiser that settles, and says where.

lifetimes fits by unbounded BFGS on log-parameters and gives up ("ConvergenceError")
whenever BFGS stops short of its gradient tolerance -- which it does on real
transactions wherever the likelihood's maximum lies on the edge of the parameter space
(BG/NBD's dropout parameter a going to 0, say: log a runs off to minus infinity and the
line search loses precision). Whether it gives up then depends on rounding, so a fit on
weighted unique rows could fail where the same fit on every customer did not.

Here every fit ends at a point that is checked, not trusted: L-BFGS-B (with the
gradient from autograd, or central differences for Pareto/NBD, whose hypergeometric term
autograd cannot differentiate) inside a box of log-parameters (+-BOUND, far past any
real estimate), from lifetimes' own start, restarted from its own end until it stops
improving. It reaches lifetimes' maximum where lifetimes' BFGS converges (to 1e-6 of
every CDNOW parameter) and keeps going where BFGS gives up; it also warns of nothing
(BFGS's line search does, from whichever thread a stage runs the fit on).

A point is *stationary* when its projected gradient (the gradient with the components
that would leave the box set to zero) is below GTOL. Its `at_bound` says which
parameters are at 0 or infinity: beyond EDGE, or -- where the likelihood flattens into a
ridge the optimiser stops on short of the edge -- along a probe direction (each
parameter alone, and the caller's `ridges`, groups that run off together such as a shape
and its scale) in which moving e^PROBE times further does not lower the likelihood
(or, where the likelihood overflows that far out, as far as it can be computed).
Callers decide what such a boundary means for their model (pipeline.btyd).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import minimize

# Box of log-parameters the optimiser searches (time scaled to max(T) = 1, values to
# their mean: every parameter is unitless): e^+-30.
BOUND = 30.0
# A parameter beyond 1e6 or below 1e-6 is at the boundary: a Gamma or Beta mixing
# distribution with such a shape is a point mass (every customer alike, or all at 0),
# and a scale that far from the data's is its limit. Published and bank estimates lie
# within e^+-5 (CDNOW: 0.11 to 2.4).
EDGE = float(np.log(1e6))
# Largest projected gradient component of the mean negative log-likelihood per customer
# at an accepted optimum: scipy's BFGS default.
GTOL = 1e-5
RESTARTS = 4
# How far a probe moves (log-parameters: e^5 ~ 150 times), and by how little the mean
# negative log-likelihood per customer may then rise for the maximum to lie further out.
PROBE = 5.0
PROBE_RISE = 1e-9
# Where the objective cannot be evaluated PROBE out (it overflows), the probe is halved
# up to this many times (down to e^0.16): the optimiser may have stopped at the edge of
# where the likelihood can be computed, short of a maximum that lies further out.
PROBE_HALVINGS = 5

Objective = Callable[..., float]


@dataclass(frozen=True)
class Optimum:
    """Where a minimisation ended: log-parameters, the objective (mean negative
    log-likelihood per customer, with any penalty), the projected gradient's largest
    component, and which parameters lie on the box's lower or upper edge."""

    log_params: np.ndarray
    objective: float
    projected_gradient: float
    at_lower: tuple[bool, ...]
    at_upper: tuple[bool, ...]
    method: str

    @property
    def stationary(self) -> bool:
        return bool(np.isfinite(self.objective) and self.projected_gradient <= GTOL)

    @property
    def at_bound(self) -> tuple[bool, ...]:
        return tuple(lo or hi for lo, hi in zip(self.at_lower, self.at_upper, strict=True))


def numeric_gradient(objective: Objective, x: np.ndarray, args: tuple, step: float = 1e-6):
    """Central differences, for objectives autograd cannot differentiate (Pareto/NBD's
    hypergeometric term)."""
    grad = np.zeros_like(x)
    for i in range(len(x)):
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        grad[i] = (objective(up, *args) - objective(down, *args)) / (2 * step)
    return grad


# What the optimiser is told where the likelihood overflows (a trial step far out): a
# wall it backs away from. L-BFGS-B stops at a NaN; mean negative log-likelihoods per
# customer are in the tens.
WALL = 1e10


def _value_and_gradient(objective: Objective, autodiff: bool):
    if autodiff:
        from autograd import value_and_grad

        differentiated = value_and_grad(objective)

        def exact(x, *args):
            value, grad = differentiated(x, *args)
            return float(value), np.asarray(grad, dtype=float)

        compute = exact
    else:

        def compute(x, *args):
            return float(objective(x, *args)), numeric_gradient(objective, x, args)

    def both(x, *args):
        value, grad = compute(x, *args)
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return WALL, np.zeros_like(np.asarray(x, dtype=float))
        return value, grad

    return both


def _finish(both, x: np.ndarray, args: tuple, method: str) -> Optimum:
    x = np.clip(np.asarray(x, dtype=float), -BOUND, BOUND)
    with np.errstate(all="ignore"):
        value, grad = both(x, *args)
    lower = x <= -EDGE
    upper = x >= EDGE
    # the box's edges stop a descent that would leave it: those components do not count
    blocked = ((x <= -BOUND + 1e-9) & (grad > 0)) | ((x >= BOUND - 1e-9) & (grad < 0))
    projected = np.where(blocked, 0.0, grad)
    norm = float(np.max(np.abs(projected))) if value < WALL else np.inf
    return Optimum(x, value if value < WALL else np.inf, norm, tuple(lower), tuple(upper), method)


def _probe_value(objective: Objective, x: np.ndarray, d: np.ndarray, args: tuple) -> float | None:
    """The objective PROBE along `d` from `x`; where it cannot be evaluated there (an
    overflow: Pareto/NBD's far along its dropout ridge), at the farthest of PROBE / 2,
    PROBE / 4, ... PROBE / 2^PROBE_HALVINGS where it can; None if nowhere (or `d` leads
    out of the box at once)."""
    for halvings in range(PROBE_HALVINGS + 1):
        moved = np.clip(x + PROBE / 2**halvings * d, -BOUND, BOUND)
        if np.allclose(moved, x):
            return None
        with np.errstate(all="ignore"):
            value = float(objective(moved, *args))
        if np.isfinite(value):
            return value
    return None


def _probed(objective: Objective, found: Optimum, args: tuple, ridges) -> Optimum:
    """`found` with the parameters of every probe direction the likelihood does not fall
    along marked at 0 (moving down) or infinity (moving up)."""
    if not np.isfinite(found.objective):
        return found
    n = len(found.log_params)
    directions = []
    for group in [(i,) for i in range(n)] + [tuple(g) for g in ridges]:
        d = np.zeros(n)
        d[list(group)] = 1.0
        directions += [d, -d]
    lower, upper = list(found.at_lower), list(found.at_upper)
    for d in directions:
        value = _probe_value(objective, found.log_params, d, args)
        if value is not None and value <= found.objective + PROBE_RISE:
            for i in np.flatnonzero(d):
                (upper if d[i] > 0 else lower)[i] = True
    return replace(found, at_lower=tuple(lower), at_upper=tuple(upper))


def minimise(
    objective: Objective,
    x0: np.ndarray,
    args: tuple,
    autodiff: bool = True,
    ridges: tuple[tuple[int, ...], ...] = (),
) -> Optimum:
    """The minimum of `objective(log_params, *args)` (see the module's text): the best of
    bounded L-BFGS-B restarts from `x0` (`autodiff` False: central differences give the
    gradient), with the parameters at 0 or infinity marked (`ridges`: the module's text)."""
    both = _value_and_gradient(objective, autodiff)
    box = [(-BOUND, BOUND)] * len(x0)
    tried: list[Optimum] = []
    with np.errstate(all="ignore"):  # per thread, unlike warnings filters
        start = np.asarray(x0, dtype=float)
        for _ in range(RESTARTS):
            out = minimize(
                both,
                np.clip(start, -BOUND, BOUND),
                jac=True,
                method="L-BFGS-B",
                bounds=box,
                args=args,
                options={"maxiter": 5000, "maxfun": 20000, "ftol": 1e-15, "gtol": 1e-10},
            )
            found = _finish(both, out.x, args, "L-BFGS-B")
            improved = not tried or found.objective < min(t.objective for t in tried) - 1e-13
            tried.append(found)
            if found.stationary or not improved:
                break
            start = found.log_params
        best = min(tried, key=lambda o: (not o.stationary, o.objective))
        return _probed(objective, best, args, ridges)
