"""The smallest training configuration the tests share: a few point-maze iterations in seconds."""

from jaxcrl.config import TrainConfig

TINY = TrainConfig(
    env="point_open",
    num_envs=4,
    unroll_length=4,
    batch_size=16,
    buffer_size=4 * 24,
    prefill_steps=32,  # 2 prefill iterations of 4 envs x 4 steps
    update_to_data_ratio=0.25,
    total_env_steps=256,
    hidden_width=16,
    repr_dim=8,
    eval_episodes=6,
)
