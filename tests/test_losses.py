"""Energies and contrastive losses against small cases computed by hand."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcrl.losses import (
    CONTRASTIVE_LOSSES,
    ENERGIES,
    contrastive_loss,
    critic_diagnostics,
    energy,
    logsumexp_penalty,
    pairwise_logits,
)

PHI = jnp.array([[1.0, 0.0], [0.0, 1.0]])
PSI = jnp.array([[1.0, 0.0], [1.0, 1.0]])
R2 = math.sqrt(2.0)

# logits[i, j] = energy(phi_i, psi_j), worked out on paper for PHI and PSI above.
HAND_ENERGIES = {
    "dot": [[1.0, 1.0], [0.0, 1.0]],
    "l2": [[0.0, -1.0], [-R2, -1.0]],
    "l2_squared": [[0.0, -1.0], [-2.0, -1.0]],
    "l1": [[0.0, -1.0], [-2.0, -1.0]],
    "cosine": [[1.0, 1 / R2], [0.0, 1 / R2]],
}


@pytest.mark.parametrize("kind", ENERGIES)
def test_pairwise_energy_matches_hand_computation(kind):
    logits = pairwise_logits(PHI, PSI, kind)
    assert logits.shape == (2, 2)
    np.testing.assert_allclose(logits, HAND_ENERGIES[kind], atol=1e-5)


@pytest.mark.parametrize("kind", ENERGIES)
def test_fast_pairwise_logits_equal_the_broadcast_definition(kind):
    key_phi, key_psi = jax.random.split(jax.random.PRNGKey(4))
    phi = 3.0 * jax.random.normal(key_phi, (64, 16))
    psi = phi + 0.01 * jax.random.normal(key_psi, (64, 16))  # positives nearly coincide
    broadcast = energy(phi[:, None, :], psi[None, :, :], kind, 0.7)
    np.testing.assert_allclose(
        pairwise_logits(phi, psi, kind, 0.7), broadcast, rtol=1e-4, atol=1e-3
    )
    # The diagonal (positives) is exact, not subject to the expansion's cancellation.
    np.testing.assert_allclose(
        jnp.diagonal(pairwise_logits(phi, psi, kind, 0.7)), energy(phi, psi, kind, 0.7), rtol=1e-6
    )


@pytest.mark.parametrize("kind", ENERGIES)
def test_the_temperature_divides_every_energy(kind):
    scaled = pairwise_logits(PHI, PSI, kind, temperature=4.0)
    np.testing.assert_allclose(scaled, np.array(HAND_ENERGIES[kind]) / 4.0, atol=1e-5)
    np.testing.assert_allclose(energy(PHI, PSI, kind, 4.0), np.diagonal(scaled), atol=1e-5)


def test_cosine_temperature_divides_and_rows_are_normalised_separately():
    scaled = pairwise_logits(3.0 * PHI, PSI, "cosine", temperature=0.5)
    np.testing.assert_allclose(scaled, 2.0 * np.array(HAND_ENERGIES["cosine"]), atol=1e-5)


@pytest.mark.parametrize("kind", ENERGIES)
def test_paired_energy_is_the_diagonal_of_the_pairwise_matrix(kind):
    key_phi, key_psi = jax.random.split(jax.random.PRNGKey(0))
    phi, psi = jax.random.normal(key_phi, (5, 3)), jax.random.normal(key_psi, (5, 3))
    np.testing.assert_allclose(
        energy(phi, psi, kind), jnp.diagonal(pairwise_logits(phi, psi, kind)), rtol=1e-5
    )


LOGITS = jnp.array([[2.0, 0.0], [1.0, 3.0]])
softplus = lambda x: math.log1p(math.exp(x))
HAND_LOSSES = {
    # rows: logsumexp(2, 0) - 2 and logsumexp(1, 3) - 3, both log(1 + e^-2)
    "forward_infonce": math.log1p(math.exp(-2)),
    # columns: logsumexp(2, 1) - 2 = log(1 + e^-1), logsumexp(0, 3) - 3 = log(1 + e^-3)
    "backward_infonce": (math.log1p(math.exp(-1)) + math.log1p(math.exp(-3))) / 2,
    # BCE per entry: positives softplus(-f), negatives softplus(f), mean over all 4
    "binary_nce": (softplus(-2) + softplus(0) + softplus(1) + softplus(-3)) / 4,
}
HAND_LOSSES["symmetric_infonce"] = HAND_LOSSES["forward_infonce"] + HAND_LOSSES["backward_infonce"]


@pytest.mark.parametrize("kind", CONTRASTIVE_LOSSES)
def test_contrastive_loss_matches_hand_computation(kind):
    assert float(contrastive_loss(LOGITS, kind)) == pytest.approx(HAND_LOSSES[kind], rel=1e-5)


# Row 1's goal is not a future of its anchor (has_goal False): only row 0 (or column 0) is a
# positive; row 1 still serves as a negative of row 0.
HAND_LOSSES_ROW_0 = {
    "forward_infonce": math.log1p(math.exp(-2)),
    "backward_infonce": math.log1p(math.exp(-1)),
    "binary_nce": (softplus(-2) + softplus(0) + softplus(1)) / 3,
}
HAND_LOSSES_ROW_0["symmetric_infonce"] = (
    HAND_LOSSES_ROW_0["forward_infonce"] + HAND_LOSSES_ROW_0["backward_infonce"]
)


@pytest.mark.parametrize("kind", CONTRASTIVE_LOSSES)
def test_a_row_without_a_goal_counts_only_as_a_negative(kind):
    has_goal = jnp.array([True, False])
    loss = contrastive_loss(LOGITS, kind, has_goal)
    assert float(loss) == pytest.approx(HAND_LOSSES_ROW_0[kind], rel=1e-5)
    assert float(contrastive_loss(LOGITS, kind, jnp.array([True, True]))) == pytest.approx(
        HAND_LOSSES[kind], rel=1e-6
    )
    # The pair (1, 1) is no positive: the loss does not pull on it.
    objective = lambda logits: contrastive_loss(logits, kind, has_goal)
    assert float(jax.grad(objective)(LOGITS)[1, 1]) == 0.0
    penalty = logsumexp_penalty(LOGITS, has_goal)
    assert float(penalty) == pytest.approx((2 + math.log1p(math.exp(-2))) ** 2, rel=1e-5)
    diagnostics = critic_diagnostics(LOGITS, has_goal)
    assert float(diagnostics["critic/logits_pos"]) == 2.0
    assert float(diagnostics["critic/accuracy"]) == 1.0


def test_logsumexp_penalty_matches_hand_computation():
    rows = [2 + math.log1p(math.exp(-2)), 3 + math.log1p(math.exp(-2))]
    expected = (rows[0] ** 2 + rows[1] ** 2) / 2
    assert float(logsumexp_penalty(LOGITS)) == pytest.approx(expected, rel=1e-5)


def test_critic_diagnostics():
    metrics = critic_diagnostics(jnp.array([[2.0, 0.0], [4.0, 3.0]]))
    assert float(metrics["critic/accuracy"]) == 0.5  # row 1 prefers the wrong goal
    assert float(metrics["critic/logits_pos"]) == pytest.approx(2.5)
    assert float(metrics["critic/logits_neg"]) == pytest.approx(2.0)


def test_infonce_is_stable_for_huge_logits():
    huge = jnp.array([[1e4, -1e4], [-1e4, 1e4]])
    for kind in CONTRASTIVE_LOSSES:
        assert jnp.isfinite(contrastive_loss(huge, kind))


@pytest.mark.parametrize("kind", ENERGIES)
@pytest.mark.parametrize("loss", CONTRASTIVE_LOSSES)
def test_gradients_are_finite_even_for_identical_representations(kind, loss):
    # phi == psi on the diagonal is where -||phi - psi|| has its kink.
    phi = jax.random.normal(jax.random.PRNGKey(1), (4, 3))

    def objective(phi, psi):
        logits = pairwise_logits(phi, psi, kind)
        return contrastive_loss(logits, loss) + 0.1 * logsumexp_penalty(logits)

    grads = jax.grad(objective, argnums=(0, 1))(phi, phi)
    for grad in grads:
        assert grad.shape == phi.shape
        assert bool(jnp.all(jnp.isfinite(grad)))


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="unknown energy"):
        energy(PHI, PSI, "manhattan")
    with pytest.raises(ValueError, match="unknown contrastive loss"):
        contrastive_loss(LOGITS, "triplet")
