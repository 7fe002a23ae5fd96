"""Convolution forms inside a training-style loop, and one pixel training iteration.

    python benchmarks/pixel_convolution.py

Part 1 times four gradient steps of one 3x3 convolution ([32, 64, 64, 16] input, 16 channels out)
inside ``lax.scan``, written as ``lax.conv_general_dilated`` and as the shifted-slices matmul that
``jaxcrl.networks.Conv3x3`` uses on the CPU. Part 2 times ``run_iterations`` of a pixel env with the
library's own networks (``--env``, ``--num-envs``, ``--batch-size``), after compilation.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
from arguments import fail, named_env, positive_int  # sibling modules
from episodes import refuse_host_evaluated

from jaxcrl.config import TrainConfig, updates_per_iteration
from jaxcrl.networks import conv3x3_as_matmul
from jaxcrl.trainer import make_trainer


def lax_conv(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """XLA's own 'SAME' convolution."""
    dimensions = ("NHWC", "HWIO", "NHWC")
    return jax.lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=dimensions)


def seconds(function, *args, repeats: int = 3) -> tuple[float, float]:
    """(compile + first run, mean of later runs) in seconds of ``jit(function)(*args)``."""
    compiled = jax.jit(function)
    start = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(repeats):
        jax.block_until_ready(compiled(*args))
    return first, (time.perf_counter() - start) / repeats


def conv_in_a_loop(convolution) -> float:
    """Seconds of four (weight + input) gradient steps of ``convolution`` inside lax.scan."""
    x = jax.random.uniform(jax.random.PRNGKey(0), (32, 64, 64, 16))
    kernel = jax.random.normal(jax.random.PRNGKey(1), (3, 3, 16, 16)) * 0.1
    loss = lambda kernel, x: jnp.sum(convolution(x, kernel) ** 2)

    def four_steps(kernel, x):
        def step(kernel, _):
            kernel_grad, x_grad = jax.grad(loss, argnums=(0, 1))(kernel, x)
            return kernel - 1e-6 * kernel_grad + 1e-9 * x_grad[0, 0, 0, 0], None

        return jax.lax.scan(step, kernel, None, length=4)[0]

    return seconds(four_steps, kernel, x)[1]


def main() -> None:
    """Print both parts."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--env", default="point_u_maze_pixels", help="a pixel env (default point_u_maze_pixels)"
    )
    parser.add_argument("--num-envs", type=positive_int, default=16, help="(default 16)")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="(default 32)")
    parser.add_argument(
        "--iterations", type=positive_int, default=2, help="timed training iterations (default 2)"
    )
    args = parser.parse_args()
    env = named_env(args.env)  # an unknown name stops here, before the timings
    refuse_host_evaluated(env)  # an OGBench env's images are rendered on the host
    if env.image_shape is None:
        fail(f"{args.env} observes states, not images; give a pixel env (its name ends _pixels)")
    print(f"backend {jax.default_backend()}, {jax.devices()}")
    print(f"4 conv gradient steps in lax.scan: lax.conv {conv_in_a_loop(lax_conv):.3f} s, ", end="")
    print(f"shifted-slices matmul {conv_in_a_loop(conv3x3_as_matmul):.3f} s")

    config = TrainConfig(
        env=args.env, num_envs=args.num_envs, batch_size=args.batch_size, prefill_steps=4096
    )
    trainer = make_trainer(config, env, env.default_params())
    state = jax.block_until_ready(jax.jit(trainer.init)(jax.random.PRNGKey(0)))
    run = jax.jit(trainer.run_iterations, donate_argnums=0)
    start = time.perf_counter()
    state, _ = jax.block_until_ready(run(state, jnp.asarray(1, jnp.int32)))
    compile_and_first = time.perf_counter() - start
    start = time.perf_counter()
    state, _ = jax.block_until_ready(run(state, jnp.asarray(args.iterations, jnp.int32)))
    per_iteration = (time.perf_counter() - start) / args.iterations
    updates = updates_per_iteration(config)
    print(
        f"{args.env}, {args.num_envs} envs, batch {args.batch_size}, default networks: "
        f"{per_iteration:.2f} s per iteration ({updates} gradient steps, "
        f"{per_iteration / updates:.3f} s each, env steps included); compile + first "
        f"{compile_and_first:.1f} s"
    )


if __name__ == "__main__":
    main()
