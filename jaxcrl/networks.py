"""The three networks of CRL: phi(s, a), psi(g) and the policy pi(a | s, g).

All are MLPs of configurable width and depth with optional LayerNorm and residual blocks. A
residual network (Wang et al., "1000 Layer Networks for Self-Supervised RL", 2025) projects the
input to ``width`` with one layer, then stacks ``depth / 4`` blocks of 4 x (Dense -> LayerNorm ->
activation) with an identity skip around each block; a plain network stacks ``depth`` layers.

Pixel observations (an env with ``image_shape``: states and goals are flattened uint8 images) go
through a convolutional encoder first. Every network still takes flat inputs: ``PixelInputs``
cuts its leading images out of the flat vector, stacks them on the channel axis (the policy sees
state and goal images as one 6-channel image, the critic's encoders one image each), encodes
them with ``PixelCNN`` and hands the features, followed by the rest of the input (phi's action),
to the MLP head. The CNN is a small IMPALA-style residual network (Espeholt et al., 2018), the
encoder family OGBench uses for its visual tasks.
"""

from __future__ import annotations

import math
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
    layer_norm_after_activation: bool = False  # Dense -> activation -> LayerNorm (OGBench's)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        """Apply the network to a batch of flat inputs."""
        activation = ACTIVATIONS[self.activation]

        def hidden_layer(h):
            h = nn.Dense(self.width)(h)
            if self.layer_norm and not self.layer_norm_after_activation:
                h = nn.LayerNorm()(h)
            h = activation(h)
            if self.layer_norm and self.layer_norm_after_activation:
                h = nn.LayerNorm()(h)
            return h

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


def max_pool_halving(x: jax.Array) -> jax.Array:
    """2x2 max-pool of stride 2 over [B, H, W, C] (odd sides repeat their last row or column).

    Written as a reshape and a max, whose gradient is elementwise: on the CPU the whole CNN's
    gradient took 140 ms this way against 222 ms with a 3x3 windowed max-pool (batch 64).
    """
    pad_h, pad_w = x.shape[1] % 2, x.shape[2] % 2
    if pad_h or pad_w:
        x = jnp.pad(x, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    batch, height, width, channels = x.shape
    return x.reshape(batch, height // 2, 2, width // 2, 2, channels).max(axis=(2, 4))


def conv3x3_as_matmul(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """'SAME' 3x3 convolution of [B, H, W, C] as nine shifted slices and one matmul."""
    height, width = x.shape[1], x.shape[2]
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    shifted = [padded[:, i : i + height, j : j + width] for i in range(3) for j in range(3)]
    return jnp.concatenate(shifted, axis=-1) @ kernel.reshape(-1, kernel.shape[-1])


class Conv3x3(nn.Module):
    """3x3 'SAME' convolution with bias: [B, H, W, C] -> [B, H, W, features].

    On the CPU it runs as shifted slices and a matmul: XLA's CPU convolution gradients inside a
    loop (the training scan) measured 10-20x slower than this form
    (benchmarks/pixel_convolution.py); other back ends use lax.conv.
    """

    features: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        """Convolve and add the bias."""
        shape = (3, 3, x.shape[-1], self.features)
        kernel = self.param("kernel", nn.initializers.lecun_normal(), shape)
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
        if jax.default_backend() == "cpu":
            y = conv3x3_as_matmul(x, kernel)
        else:
            y = jax.lax.conv_general_dilated(
                x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
            )
        return y + bias


class PixelCNN(nn.Module):
    """IMPALA-style encoder: images [B, H, W, C] (0-255) -> features [B, feature_size].

    Each stack is a 3x3 convolution, a 2x2 max-pool of stride 2 and one residual block of two
    3x3 convolutions; a Dense layer with LayerNorm maps the flattened result to the features.
    """

    channels: tuple[int, ...] = (16, 32, 32)
    feature_size: int = 256

    @nn.compact
    def __call__(self, images: jax.Array) -> jax.Array:
        """Encode a batch of images given as integers or floats in [0, 255]."""
        x = images.astype(jnp.float32) / 255.0
        for channels in self.channels:
            x = Conv3x3(channels)(x)
            x = max_pool_halving(x)
            skip = x
            x = Conv3x3(channels)(nn.relu(x))
            x = Conv3x3(channels)(nn.relu(x))
            x = x + skip
        x = nn.relu(x).reshape(x.shape[0], -1)
        return nn.LayerNorm()(nn.Dense(self.feature_size)(x))


class PixelInputs(nn.Module):
    """A head MLP over flat inputs that begin with ``num_images`` flattened images.

    [..., num_images * H * W * C + rest] -> images stacked on channels [B, H, W, num_images * C]
    -> PixelCNN features [B, F] -> concat with the rest [B, F + rest] -> head [..., output_size].
    """

    head: MLP
    cnn: PixelCNN
    image_shape: tuple[int, int, int]  # (H, W, C) of one image
    num_images: int

    @property
    def output_size(self) -> int:
        """Size of the head's output."""
        return self.head.output_size

    def __call__(self, x: jax.Array) -> jax.Array:
        """Encode the images, append the remaining inputs and apply the head."""
        height, width, channels = self.image_shape
        pixels_end = self.num_images * math.prod(self.image_shape)
        leading = x.shape[:-1]
        x = x.reshape(-1, x.shape[-1])  # any leading axes -> one batch axis
        images = x[:, :pixels_end].reshape(-1, self.num_images, height, width, channels)
        images = jnp.moveaxis(images, 1, 3).reshape(x.shape[0], height, width, -1)
        features = self.cnn(images)
        out = self.head(jnp.concatenate([features, x[:, pixels_end:].astype(jnp.float32)], -1))
        return out.reshape(leading + (out.shape[-1],))


class GaussianPolicy(nn.Module):
    """pi(a | s, g) before squashing: [..., obs] -> (mean, log_std), each [..., action_size]."""

    network: MLP | PixelInputs  # output_size 2 * action_size: means, then raw log stds

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

    state_action_encoder: MLP | PixelInputs  # phi: [B, state + action] -> [B, repr_dim]
    goal_encoder: MLP | PixelInputs  # psi: [B, goal] -> [B, repr_dim]
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
    actor_layer_norm: bool = True,
    layer_norm_after_activation: bool = False,
    image_shape: tuple[int, int, int] | None = None,
    cnn_channels: tuple[int, ...] = (16, 32, 32),
    cnn_features: int = 256,
) -> Networks:
    """Build the three modules; the actor shares the critic's shape unless given its own
    (``actor_layer_norm`` False: LayerNorm in the critic's encoders only, as OGBench builds CRL).

    With ``image_shape``, states and goals are flattened images and each network gets its own CNN.
    """
    critic_shape = dict(
        width=width,
        depth=depth,
        layer_norm=layer_norm,
        residual=residual,
        activation=activation,
        layer_norm_after_activation=layer_norm_after_activation,
    )
    actor_shape = {
        **critic_shape,
        "width": actor_width or width,
        "depth": actor_depth or depth,
        "layer_norm": layer_norm and actor_layer_norm,
    }
    state_action = MLP(repr_dim, **critic_shape)
    goal = MLP(repr_dim, **critic_shape)
    policy = MLP(2 * action_size, **actor_shape)
    if image_shape is not None:
        with_cnn = lambda head, num_images: PixelInputs(
            head, PixelCNN(tuple(cnn_channels), cnn_features), tuple(image_shape), num_images
        )
        state_action, goal, policy = (
            with_cnn(state_action, 1),
            with_cnn(goal, 1),
            with_cnn(policy, 2),
        )
    return Networks(
        state_action_encoder=state_action, goal_encoder=goal, policy=GaussianPolicy(policy)
    )
