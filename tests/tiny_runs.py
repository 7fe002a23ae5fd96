"""The smallest training configuration the tests share: a few point-maze iterations in seconds."""

import jax

from jaxcrl.config import TrainConfig

# XLA's usual optimisation, which tests/conftest.py turns down for the whole session: a test whose
# time goes into running a long program (not compiling it) asks for it back per program.
FULL_OPTIMISATION = {
    "xla_backend_optimization_level": 3,
    "xla_llvm_disable_expensive_passes": False,
}


def compile_optimised(function, *args):
    """``jax.jit(function)`` compiled for ``args`` with XLA's usual optimisation."""
    return jax.jit(function).lower(*args).compile(compiler_options=FULL_OPTIMISATION)


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
