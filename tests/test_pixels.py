"""Pixel observations: the CNN encoders, the image point maze, and training end to end on images."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from env_batches import compiled_redraw, compiled_reset_batch, compiled_step_batch
from tiny_runs import TINY

from jaxcrl.envs import make_env, step_batch
from jaxcrl.envs.pixel_point_maze import POINT, WALL
from jaxcrl.networks import (
    MLP,
    PixelCNN,
    PixelInputs,
    conv3x3_as_matmul,
    make_networks,
    max_pool_halving,
)
from jaxcrl.trainer import FIRST_NONFINITE, make_trainer

IMAGE = (16, 16, 3)  # small images keep the CPU tests fast; the envs default to 64 x 64


def test_the_cpu_convolution_equals_lax_conv_and_pooling_halves_odd_sides_too():
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 7, 9, 5))
    kernel = jax.random.normal(jax.random.PRNGKey(1), (3, 3, 5, 4))
    expected = jax.lax.conv_general_dilated(
        x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    np.testing.assert_allclose(conv3x3_as_matmul(x, kernel), expected, rtol=1e-4, atol=1e-4)
    pooled = max_pool_halving(x)
    assert pooled.shape == (2, 4, 5, 5)
    np.testing.assert_array_equal(pooled[:, 1, 2], jnp.max(x[:, 2:4, 4:6], axis=(1, 2)))
    np.testing.assert_array_equal(pooled[:, 3, 4], x[:, 6, 8])  # the odd last row and column


def test_cnn_halves_the_image_per_stack_and_ends_in_normalised_features():
    cnn = PixelCNN(channels=(4, 8), feature_size=12)
    images = jnp.zeros((5, 16, 16, 3), jnp.uint8)
    params = cnn.init(jax.random.PRNGKey(0), images)
    features = cnn.apply(params, images)
    assert features.shape == (5, 12) and features.dtype == jnp.float32
    # Two stacks: 16 -> 8 -> 4 pixels a side, 8 channels, flattened into the Dense layer.
    assert params["params"]["Dense_0"]["kernel"].shape == (4 * 4 * 8, 12)
    assert params["params"]["Conv3x3_0"]["kernel"].shape == (3, 3, 3, 4)


def test_pixel_inputs_stack_images_on_channels_and_append_the_rest():
    net = PixelInputs(MLP(7, width=8, depth=1), PixelCNN((4,), 6), IMAGE, num_images=2)
    pixels = jax.random.randint(jax.random.PRNGKey(0), (3, 2 * 16 * 16 * 3), 0, 256)
    x = jnp.concatenate([pixels.astype(jnp.float32), jnp.ones((3, 2))], axis=-1)
    params = net.init(jax.random.PRNGKey(1), x)
    assert params["params"]["cnn"]["Conv3x3_0"]["kernel"].shape == (3, 3, 6, 4)  # 2 images x RGB
    # The head sees the CNN's 6 features plus the 2 trailing entries.
    assert params["params"]["head"]["Dense_0"]["kernel"].shape == (6 + 2, 8)
    out = net.apply(params, x)
    assert out.shape == (3, 7) and net.output_size == 7
    # Leading axes other than one batch axis pass through.
    assert net.apply(params, x.reshape(1, 3, -1)).shape == (1, 3, 7)
    np.testing.assert_allclose(net.apply(params, x.reshape(1, 3, -1))[0], out, rtol=1e-5)
    # Each image and the trailing entries change the output.
    image_size = 16 * 16 * 3
    swapped = jnp.concatenate([x[:, image_size : 2 * image_size], x[:, :image_size], x[:, -2:]], 1)
    assert not np.allclose(net.apply(params, swapped), out)
    assert not np.allclose(net.apply(params, x.at[:, -1].set(-1.0)), out)


def test_make_networks_puts_a_cnn_in_front_of_each_network_for_images():
    nets = make_networks(3, 8, 16, 1, False, False, "relu", image_shape=IMAGE, cnn_channels=(4,))
    assert all(
        isinstance(net, PixelInputs)
        for net in (nets.state_action_encoder, nets.goal_encoder, nets.policy.network)
    )
    assert nets.policy.network.num_images == 2 and nets.state_action_encoder.num_images == 1
    assert nets.policy.action_size == 3
    state = jnp.zeros((2, 16 * 16 * 3), jnp.uint8)
    phi = nets.state_action_encoder.init(jax.random.PRNGKey(0), jnp.zeros((2, 16 * 16 * 3 + 3)))
    mean, log_std = nets.policy.apply(
        nets.policy.init(jax.random.PRNGKey(1), jnp.concatenate([state, state], -1)),
        jnp.concatenate([state, state], -1),
    )
    assert mean.shape == log_std.shape == (2, 3)
    assert nets.state_action_encoder.apply(phi, jnp.zeros((2, 16 * 16 * 3 + 3))).shape == (2, 8)


@pytest.fixture(scope="module")
def env():
    return make_env("point_u_maze_pixels", image_size=32)


def image_of(env, flat):
    """A flat state back to [H, W, 3]."""
    return np.asarray(flat).reshape(env.image_shape)


def point_centre(env, image):
    """(x, y) in cell units of the drawn point's pixel centroid."""
    rows, cols = env.maze.walls.shape
    ys, xs = np.nonzero((image == np.array(POINT)).all(-1))
    size = env.image_size
    return np.array([(xs.mean() + 0.5) / size * cols, (1 - (ys.mean() + 0.5) / size) * rows])


def test_pixel_maze_states_are_uint8_images_of_the_hidden_positions(env):
    params = env.default_params()
    assert env.image_shape == (32, 32, 3) and env.state_size == 32 * 32 * 3
    assert env.goal_indices == tuple(range(env.state_size)) and env.action_size == 2
    assert env.episode_length == make_env("point_u_maze").episode_length
    states = compiled_reset_batch(env, params, jax.random.PRNGKey(0), 8)
    assert states.obs.shape == (8, env.observation_size) and states.obs.dtype == jnp.uint8
    step = jax.jit(lambda s, a: step_batch(env, params, s, a))
    for i in range(10):
        actions = jax.random.uniform(jax.random.PRNGKey(i), (8, 2), minval=-1, maxval=1)
        states = step(states, actions)
    assert states.obs.dtype == jnp.uint8
    for copy in range(8):
        image = image_of(env, states.obs[copy, : env.state_size])
        goal_image = image_of(env, states.obs[copy, env.state_size :])
        # The point is drawn where the hidden position is (within a pixel), the goal image shows
        # the point at the goal position, and the walls are where the layout has them.
        cell = env.maze.walls.shape[0] / env.image_size
        centre = point_centre(env, image)
        np.testing.assert_allclose(centre, states.physics.position[copy], atol=cell)
        goal_centre = point_centre(env, goal_image)
        np.testing.assert_allclose(goal_centre, states.physics.goal_position[copy], atol=cell)
        assert (image == np.array(WALL)).all(-1).sum() > 0
    distance = np.linalg.norm(states.physics.position - states.physics.goal_position, axis=-1)
    np.testing.assert_allclose(states.metrics["distance"], distance, rtol=1e-5)


def test_pixel_maze_moves_like_the_point_maze_and_succeeds_at_the_goal(env):
    params = env.default_params()
    point_env = make_env("point_u_maze")
    key = jax.random.PRNGKey(3)
    pixel_state, point_state = env.reset(key, params), point_env.reset(key, params)
    np.testing.assert_array_equal(pixel_state.physics.position, point_state.physics)
    for i in range(20):
        action = jax.random.uniform(jax.random.PRNGKey(10 + i), (2,), minval=-1, maxval=1)
        pixel_state = env.step(pixel_state, action, params)
        point_state = point_env.step(point_state, action, params)
    np.testing.assert_allclose(pixel_state.physics.position, point_state.physics, rtol=1e-6)
    # A goal at the current position: the goal image is the state image, and it counts.
    at_goal = env.with_goal(pixel_state, pixel_state.physics.position)
    np.testing.assert_array_equal(at_goal.obs[: env.state_size], at_goal.obs[env.state_size :])
    assert float(env.step(at_goal, jnp.zeros(2), params).metrics["success"]) == 1.0
    far = env.with_goal(pixel_state, pixel_state.physics.position + jnp.array([0.0, 3.0]))
    assert float(env.step(far, jnp.zeros(2), params).metrics["success"]) == 0.0
    with pytest.raises(ValueError, match="goal position"):
        env.with_goal(pixel_state, jnp.zeros(env.goal_size))
    assert env.goal_argument_size == 2 and "position (x, y)" in env.goal_argument_meaning
    # --dense-reward reaches the wrapped point maze: reward = -distance.
    dense = make_env("point_u_maze_pixels", image_size=32, dense_reward=True)
    stepped = dense.step(pixel_state, jnp.zeros(2), params)
    np.testing.assert_allclose(stepped.reward, -stepped.metrics["distance"], rtol=1e-6)


def test_a_redrawn_goal_changes_the_goal_image_and_its_hidden_position_together(env):
    params = env.default_params()
    states = compiled_reset_batch(env, params, jax.random.PRNGKey(5), 2)
    on_goal = jax.vmap(env.with_goal)(states, states.physics.position)
    stepped = compiled_step_batch(env, params, on_goal, jnp.zeros((2, 2)))
    redrawn, reached = compiled_redraw(env, params, stepped, jax.random.PRNGKey(6))
    assert np.asarray(reached).tolist() == [1.0, 1.0]
    positions = np.asarray(redrawn.physics.goal_position)
    assert not np.allclose(positions, np.asarray(stepped.physics.goal_position))
    # The new goal is one the copy has not reached (judged by the hidden positions).
    away = np.linalg.norm(positions - np.asarray(redrawn.physics.position), axis=-1)
    assert away.min() >= float(params.success_threshold)
    assert not np.asarray(jax.vmap(env.goal_reached, in_axes=(0, None))(redrawn, params)).any()
    for copy in range(2):
        expected = env.draw(redrawn.physics.goal_position[copy], params)
        np.testing.assert_array_equal(redrawn.obs[copy, env.state_size :], expected)
        np.testing.assert_array_equal(redrawn.goal[copy], expected)
    np.testing.assert_array_equal(
        redrawn.obs[:, : env.state_size], stepped.obs[:, : env.state_size]
    )


def test_pixel_maze_goals_differ_between_episodes_and_it_renders(env):
    params = env.default_params()
    states = compiled_reset_batch(env, params, jax.random.PRNGKey(5), 50)
    assert len(np.unique(np.asarray(states.obs[:, env.state_size :]), axis=0)) > 40
    frame = env.render(jax.tree.map(lambda leaf: leaf[0], states), params)
    assert frame.dtype == np.uint8 and frame.ndim == 3


def test_pixel_maze_refuses_a_point_smaller_than_a_pixel_or_larger_than_its_cell():
    with pytest.raises(ValueError, match="under 0.71 pixels"):
        make_env("point_medium_pixels", image_size=8, point_radius=0.2)
    # A radius of 10 cells painted every image of the open arena the same.
    with pytest.raises(ValueError, match="point_radius must be at most 0.5 cells"):
        make_env("point_open_pixels", image_size=16, point_radius=10)
    assert make_env("point_open_pixels", image_size=16, point_radius=0.5).point_radius == 0.5


def test_training_on_images_keeps_uint8_in_the_buffer_and_stays_finite(env):
    config = dataclasses.replace(
        TINY, env="point_u_maze_pixels", cnn_channels=(4,), cnn_features=16, batch_size=8
    )
    trainer = make_trainer(config, env, env.default_params())
    state = jax.jit(trainer.init)(jax.random.PRNGKey(0))
    assert state.buffer.states.dtype == jnp.uint8
    assert state.buffer.states.shape[1:] == (config.num_envs, env.state_size)
    state, metrics = jax.jit(trainer.run_iterations)(state, jnp.asarray(2, jnp.int32))
    assert int(metrics[FIRST_NONFINITE]) == -1 and int(state.agent.gradient_steps) > 0
    evaluation = jax.jit(trainer.evaluate)(state.agent.policy_params, jax.random.PRNGKey(1))
    assert 0.0 <= float(evaluation["eval/success"]) <= 1.0
    toward = jax.jit(trainer.evaluate)(
        state.agent.policy_params, jax.random.PRNGKey(1), jnp.array([1.5, 1.5])
    )
    assert np.isfinite(float(toward["eval/final_distance"]))


def test_more_cnn_stacks_than_the_image_can_halve_are_refused():
    # Eight stacks on a 16-pixel image trained; the last four saw a 1x1 map and only cost time.
    from jaxcrl.config import ConfigError, TrainConfig
    from jaxcrl.program import build

    config = TrainConfig(env="point_open_pixels", env_options=("image_size=16", "point_radius=0.5"))
    with pytest.raises(ConfigError, match="--cnn-channels gives 5 stacks, but a 16-pixel image"):
        build(dataclasses.replace(config, cnn_channels=(4,) * 5), load_dataset=False)
    build(dataclasses.replace(config, cnn_channels=(4,) * 4), load_dataset=False)
