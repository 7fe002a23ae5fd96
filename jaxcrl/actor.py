"""The tanh-squashed Gaussian policy distribution: sampling, log-probabilities and the mode."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

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


def log_prob_of(action: jax.Array, mean: jax.Array, log_std: jax.Array) -> jax.Array:
    """Log-probability of given actions in (-1, 1) (used by behaviour cloning)."""
    # Clip away from +-1 so that atanh stays finite for actions on the box's boundary.
    pre_tanh = jnp.arctanh(jnp.clip(action, -1.0 + 1e-6, 1.0 - 1e-6))
    return _gaussian_log_prob(pre_tanh, mean, log_std) - _log_det_tanh(pre_tanh)


def mode(mean: jax.Array) -> jax.Array:
    """The deterministic action used for evaluation: tanh of the Gaussian mean."""
    return jnp.tanh(mean)
