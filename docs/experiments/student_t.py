#!/usr/bin/env python3
"""student_t.py: Student's t distribution function and quantiles (Simpson's rule on the density,
then bisection), for the experiment scripts' intervals at any number of replicates. Only the
Python standard library is used."""
import functools
import math


def t_cdf(x, df):
    """P(T <= x) for Student's t with df degrees of freedom."""
    if x < 0:
        return 1.0 - t_cdf(-x, df)
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    n = 4000  # even; the density is smooth, so the error is far below the 1e-9 used below
    h = x / n
    s = 0.0
    for i in range(n + 1):
        w = 1 if i in (0, n) else (4 if i % 2 else 2)
        s += w * (1 + (i * h) ** 2 / df) ** (-(df + 1) / 2)
    return 0.5 + c * s * h / 3


@functools.lru_cache(maxsize=None)
def t_quantile(p, df):
    """x with P(T <= x) = p, for 0.5 < p < 1."""
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2
    while hi - lo > 1e-9:
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
