"""``reset_batch``, ``step_batch`` and ``redraw_reached_goals`` compiled whole, for tests that
call them outside a jitted function: called eagerly, each of their small ops compiles on its own
(a point maze's batch reset took 3.5 s that way and 1 s compiled, on the 2-core CPU)."""

import jax

from jaxcrl.envs import redraw_reached_goals, reset_batch, step_batch

compiled_reset_batch = jax.jit(reset_batch, static_argnums=(0, 3))
compiled_step_batch = jax.jit(step_batch, static_argnums=0)
compiled_redraw = jax.jit(redraw_reached_goals, static_argnums=0)
