"""The three networks of CRL: phi(s, a), psi(g) and the policy pi(a | s, g).

All are MLPs of configurable width and depth with optional LayerNorm and residual blocks. A
residual network (Wang et al., "1000 Layer Networks for Self-Supervised RL", 2025) projects the
input to ``width`` with one layer, then stacks ``depth / 4`` blocks of 4 x (Dense -> LayerNorm ->
activation) with an identity skip around each block; a plain network stacks ``depth`` layers.
"""

from __future__ import annotations

from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

ACTIVATIONS = {"swish": nn.swish, "relu": nn.relu, "gelu": nn.gelu, "tanh": jnp.tanh}
RESIDUAL_BLOCK_DEPTH = 4

# Bounds of the policy's log standard deviation (before the tanh squashing).
LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


class MLP(nn.Module):
    """Dense network [..., in] -> [..., output_size] with optional LayerNorm and residual blocks."""

    output_size: int
    width: int = 256
    depth: int = 2
    layer_norm: bool = False
    residual: bool = False
    activation: str = "swish"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        """Apply the network to a batch of flat inputs."""
        activation = ACTIVATIONS[self.activation]

        def hidden_layer(h):
            h = nn.Dense(self.width)(h)
            if self.layer_norm:
                h = nn.LayerNorm()(h)
            return activation(h)

        if self.residual:
            x = hidden_layer(x)
            for _ in range(self.depth // RESIDUAL_BLOCK_DEPTH):
                skip = x
                for _ in range(RESIDUAL_BLOCK_DEPTH):
                    x = hidden_layer(x)
                x = x + skip
        else:
            for _ in range(self.depth):
                x = hidden_layer(x)
        return nn.Dense(self.output_size)(x)


class GaussianPolicy(nn.Module):
    """pi(a | s, g) before squashing: [..., obs] -> (mean, log_std), each [..., action_size]."""

    network: MLP  # its output_size is 2 * action_size: means, then raw log standard deviations

    @property
    def action_size(self) -> int:
        """Dimension of the action."""
        return self.network.output_size // 2

    def __call__(self, observation: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Mean and bounded log standard deviation of the pre-tanh Gaussian."""
        mean, raw_log_std = jnp.split(self.network(observation), 2, axis=-1)
        # A smooth map of the raw output into [LOG_STD_MIN, LOG_STD_MAX] keeps gradients alive.
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (jnp.tanh(raw_log_std) + 1)
        return mean, log_std


class Networks(NamedTuple):
    """Module definitions (no parameters) of the critic's two encoders and the policy."""

    state_action_encoder: MLP  # phi: [B, state + action] -> [B, repr_dim]
    goal_encoder: MLP  # psi: [B, goal] -> [B, repr_dim]
    policy: GaussianPolicy  # [B, state + goal] -> mean, log_std [B, action]


def make_networks(
    action_size: int,
    repr_dim: int,
    width: int,
    depth: int,
    layer_norm: bool,
    residual: bool,
    activation: str,
    actor_width: int | None = None,
    actor_depth: int | None = None,
) -> Networks:
    """Build the three modules; the actor shares the critic's shape unless given its own."""
    critic_shape = dict(
        width=width, depth=depth, layer_norm=layer_norm, residual=residual, activation=activation
    )
    actor_shape = {**critic_shape, "width": actor_width or width, "depth": actor_depth or depth}
    return Networks(
        state_action_encoder=MLP(repr_dim, **critic_shape),
        goal_encoder=MLP(repr_dim, **critic_shape),
        policy=GaussianPolicy(MLP(2 * action_size, **actor_shape)),
    )
