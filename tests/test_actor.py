"""The tanh-Gaussian policy distribution."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcrl import actor


def test_samples_lie_in_the_box_and_log_prob_matches_log_prob_of():
    mean = jnp.array([[0.3, -1.0], [2.0, 0.0]])
    log_std = jnp.array([[-0.5, 0.2], [-1.0, 0.0]])
    action, log_prob = actor.sample_action(jax.random.PRNGKey(0), mean, log_std)
    assert action.shape == (2, 2) and log_prob.shape == (2,)
    assert bool(jnp.all(jnp.abs(action) < 1))
    np.testing.assert_allclose(log_prob, actor.log_prob_of(action, mean, log_std), rtol=1e-4)


def test_density_integrates_to_one_in_one_dimension():
    mean, log_std = jnp.array([[0.4]]), jnp.array([[-0.3]])
    grid = jnp.linspace(-0.99999, 0.99999, 200_001)[:, None]
    density = jnp.exp(actor.log_prob_of(grid, mean, log_std))
    integral = float(jnp.trapezoid(density, grid[:, 0]))
    assert integral == pytest.approx(1.0, abs=2e-3)


def test_log_prob_is_finite_at_the_box_edges():
    edge = jnp.array([[1.0, -1.0]])
    assert bool(
        jnp.all(jnp.isfinite(actor.log_prob_of(edge, jnp.zeros((1, 2)), jnp.zeros((1, 2)))))
    )


def test_mode_is_tanh_of_mean():
    mean = jnp.array([[-3.0, 0.0, 0.5]])
    np.testing.assert_allclose(actor.mode(mean), jnp.tanh(mean))


def test_behaviour_cloning_gradient_is_finite_at_the_box_edges_and_points_to_the_data():
    data = jnp.array([[1.0, -1.0], [0.5, -0.2]])
    mean, log_std = jnp.zeros((2, 2)), jnp.zeros((2, 2))
    nll = lambda mean, log_std: -jnp.sum(actor.log_prob_of(data, mean, log_std))
    grad_mean, grad_log_std = jax.grad(nll, argnums=(0, 1))(mean, log_std)
    assert bool(jnp.all(jnp.isfinite(grad_mean))) and bool(jnp.all(jnp.isfinite(grad_log_std)))
    # Descending the negative log-likelihood moves each mean toward atanh(data action).
    assert bool(jnp.all(-grad_mean * jnp.sign(data) > 0))


def test_a_saturated_data_action_takes_the_tails_mean_density_and_the_whole_still_integrates():
    # A data action of exactly 1 scored -log pi = 14.1 (0.34 at 0.9) and a log-std gradient of
    # -51, so saturated rows dominated behaviour cloning and drove the std up.
    mean, log_std = jnp.zeros((1, 1)), jnp.zeros((1, 1))
    nll = lambda action: -actor.log_prob_of(jnp.array([[action]]), mean, log_std)[0]
    assert float(nll(1.0)) < 3.0 and float(nll(1.0)) == pytest.approx(float(nll(-1.0)))
    grad_log_std = jax.grad(lambda s: -actor.log_prob_of(jnp.ones((1, 1)), mean, s)[0])(log_std)
    assert abs(float(grad_log_std[0, 0])) < 20.0  # 15.3: the tail's mass, 7e-5 at std 1
    # Wide and off-centre, so that the tails hold mass: inside plus both tails is 1.
    mean, log_std = jnp.array([[2.5]]), jnp.array([[0.5]])
    grid = jnp.linspace(-actor.EDGE, actor.EDGE, 400_001)[:, None]
    inside = float(jnp.trapezoid(jnp.exp(actor.log_prob_of(grid, mean, log_std)), grid[:, 0]))
    ends = jnp.array([[1.0], [-1.0]])
    tails = float(jnp.sum(jnp.exp(actor.log_prob_of(ends, mean, log_std)))) * (1 - actor.EDGE)
    assert tails > 0.05 and inside + tails == pytest.approx(1.0, abs=2e-3)
