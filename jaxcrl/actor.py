"""The tanh-squashed Gaussian policy distribution: sampling, log-probabilities and the mode."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import jax.scipy.stats

_LOG_2PI = math.log(2.0 * math.pi)  # a Python float: importing starts no JAX backend


def _gaussian_log_prob(pre_tanh: jax.Array, mean: jax.Array, log_std: jax.Array) -> jax.Array:
    """Diagonal Gaussian log-density summed over the last axis."""
    z = (pre_tanh - mean) * jnp.exp(-log_std)
    return jnp.sum(-0.5 * z**2 - log_std - 0.5 * _LOG_2PI, axis=-1)


def _log_det_tanh(pre_tanh: jax.Array) -> jax.Array:
    """log |d tanh(u) / du| summed over the last axis, in a form that never takes log(0)."""
    # log(1 - tanh(u)^2) = 2 * (log 2 - u - softplus(-2u)).
    return jnp.sum(2.0 * (jnp.log(2.0) - pre_tanh - jax.nn.softplus(-2.0 * pre_tanh)), axis=-1)


def sample_action(
    key: jax.Array, mean: jax.Array, log_std: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Reparameterised sample a = tanh(mean + std * eps) and its log-probability [...]."""
    pre_tanh = mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape)
    log_prob = _gaussian_log_prob(pre_tanh, mean, log_std) - _log_det_tanh(pre_tanh)
    return jnp.tanh(pre_tanh), log_prob


# Data actions this close to the box's edge (saturated actions, as clipped datasets hold many)
# are scored by the tail's mean density: at atanh(1 - 1e-6) the density's own log, -14 against
# -0.3 nearby, let those rows dominate behaviour cloning and drove the std up.
EDGE = 0.999


def log_prob_of(action: jax.Array, mean: jax.Array, log_std: jax.Array) -> jax.Array:
    """Log-probability of given actions in [-1, 1] (used by behaviour cloning); a coordinate
    beyond +-EDGE takes the mean density of the distribution's mass beyond EDGE on its side, as
    the original CRL code's tanh distribution does, so the density still integrates to 1."""
    pre_tanh = jnp.arctanh(jnp.clip(action, -EDGE, EDGE))
    z = (pre_tanh - mean) * jnp.exp(-log_std)
    log_det = 2.0 * (jnp.log(2.0) - pre_tanh - jax.nn.softplus(-2.0 * pre_tanh))
    inside = -0.5 * z**2 - log_std - 0.5 * _LOG_2PI - log_det  # per coordinate
    edge = math.atanh(EDGE)
    tail_width = math.log(1.0 - EDGE)
    above = jax.scipy.stats.norm.logcdf((mean - edge) * jnp.exp(-log_std)) - tail_width
    below = jax.scipy.stats.norm.logcdf((-edge - mean) * jnp.exp(-log_std)) - tail_width
    per_coordinate = jnp.where(action >= EDGE, above, jnp.where(action <= -EDGE, below, inside))
    return jnp.sum(per_coordinate, axis=-1)


def mode(mean: jax.Array) -> jax.Array:
    """The deterministic action used for evaluation: tanh of the Gaussian mean."""
    return jnp.tanh(mean)
