"""Network shapes, residual blocks, LayerNorm and the policy's bounds."""

import jax
import jax.numpy as jnp
import pytest

from jaxcrl.networks import LOG_STD_MAX, LOG_STD_MIN, MLP, GaussianPolicy, make_networks


def count_dense_layers(params) -> int:
    return sum(1 for name in params["params"] if name.startswith("Dense"))


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_plain_mlp_shapes_and_depth(depth):
    mlp = MLP(output_size=7, width=16, depth=depth)
    params = mlp.init(jax.random.PRNGKey(0), jnp.zeros((1, 5)))
    assert mlp.apply(params, jnp.ones((4, 5))).shape == (4, 7)
    assert count_dense_layers(params) == depth + 1


def test_residual_mlp_has_projection_blocks_and_layer_norm():
    mlp = MLP(output_size=3, width=8, depth=8, residual=True, layer_norm=True)
    params = mlp.init(jax.random.PRNGKey(0), jnp.zeros((1, 5)))
    assert mlp.apply(params, jnp.ones((2, 5))).shape == (2, 3)
    # one projection + 2 blocks x 4 layers + output layer; one LayerNorm per hidden layer
    assert count_dense_layers(params) == 1 + 8 + 1
    assert sum(1 for name in params["params"] if name.startswith("LayerNorm")) == 9


def test_residual_skip_is_identity_when_block_outputs_vanish():
    mlp = MLP(output_size=2, width=4, depth=4, residual=True)
    params = mlp.init(jax.random.PRNGKey(0), jnp.zeros((1, 3)))
    x = jax.random.normal(jax.random.PRNGKey(1), (5, 3))
    # Zeroing the last Dense of the block makes the block add swish(0) = 0: output = projection.
    zeroed = jax.tree_util.tree_map_with_path(
        lambda path, leaf: (
            jnp.zeros_like(leaf) if "Dense_4" in jax.tree_util.keystr(path) else leaf
        ),
        params,
    )
    inner = params["params"]
    projection = jax.nn.swish(x @ inner["Dense_0"]["kernel"] + inner["Dense_0"]["bias"])
    expected = projection @ inner["Dense_5"]["kernel"] + inner["Dense_5"]["bias"]
    assert jnp.allclose(mlp.apply(zeroed, x), expected, atol=1e-5)


def test_policy_outputs_mean_and_bounded_log_std():
    policy = GaussianPolicy(MLP(output_size=6, width=16, depth=2))
    assert policy.action_size == 3
    params = policy.init(jax.random.PRNGKey(0), jnp.zeros((1, 6)))
    mean, log_std = policy.apply(params, 100.0 * jax.random.normal(jax.random.PRNGKey(1), (9, 6)))
    assert mean.shape == log_std.shape == (9, 3)
    assert bool(jnp.all(log_std >= LOG_STD_MIN)) and bool(jnp.all(log_std <= LOG_STD_MAX))


def test_make_networks_builds_three_modules():
    nets = make_networks(
        2, repr_dim=5, width=8, depth=2, layer_norm=False, residual=False, activation="relu"
    )
    assert nets.state_action_encoder.output_size == 5
    assert nets.goal_encoder.output_size == 5
    assert nets.policy.action_size == 2


def layer_norm_count(params) -> int:
    paths = jax.tree_util.tree_flatten_with_path(params)[0]
    return len({jax.tree_util.keystr(path[:-1]) for path, _ in paths if "LayerNorm" in str(path)})


def test_layer_norm_after_the_activation_normalises_each_hidden_output():
    mlp = MLP(output_size=3, width=8, depth=2, layer_norm=True, layer_norm_after_activation=True)
    params = mlp.init(jax.random.PRNGKey(0), jnp.zeros((1, 5)))
    x = jax.random.normal(jax.random.PRNGKey(1), (4, 5))
    inner = params["params"]
    hidden = x
    for layer in range(2):  # Dense -> swish -> LayerNorm (scale 1, bias 0 at init)
        hidden = jax.nn.swish(hidden @ inner[f"Dense_{layer}"]["kernel"])
        mean, var = hidden.mean(-1, keepdims=True), hidden.var(-1, keepdims=True)
        hidden = (hidden - mean) / jnp.sqrt(var + 1e-6)
    expected = hidden @ inner["Dense_2"]["kernel"]
    assert jnp.allclose(mlp.apply(params, x), expected, atol=1e-4)
    before = MLP(output_size=3, width=8, depth=2, layer_norm=True)
    assert not jnp.allclose(before.apply(params, x), expected, atol=1e-2)


def test_the_actor_can_leave_out_the_layer_norm_of_the_critics_encoders():
    nets = make_networks(
        2, 5, 8, 2, layer_norm=True, residual=False, activation="gelu", actor_layer_norm=False
    )
    init = lambda module, size: module.init(jax.random.PRNGKey(0), jnp.zeros((1, size)))
    assert layer_norm_count(init(nets.state_action_encoder, 4)) == 2
    assert layer_norm_count(init(nets.goal_encoder, 2)) == 2
    assert layer_norm_count(init(nets.policy, 4)) == 0
