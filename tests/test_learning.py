"""CRL learns the open point-mass arena within a small CPU budget."""

from jaxcrl import TrainConfig, train


def test_crl_reaches_goals_in_the_open_arena(tmp_path):
    # Measured on a 2-core CPU (2026-11-25), 50k env steps, 256 eval episodes, about 25 s:
    # success 1.00 / 1.00 / 1.00 and time near goal 0.79 / 0.79 / 0.77 for seeds 0 / 1 / 2.
    # The untrained policy reaches 0.11 success and 0.03 time near goal on the same episodes.
    # Under the tests' fast-compile XLA flags (tests/conftest.py, 2026-11-27): success 1.00 for
    # all three seeds, time near goal 0.79 / 0.79 / 0.73.
    config = TrainConfig(
        env="point_open",
        seed=0,
        total_env_steps=50_000,
        num_evals=1,
        eval_episodes=256,
        run_dir=str(tmp_path / "run"),
        progress=False,
    )
    final = train(config).final
    assert final["eval/success"] >= 0.9, final
    assert final["eval/time_near_goal"] >= 0.6, final
