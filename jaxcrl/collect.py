"""Collect offline datasets from jaxcrl's own envs, in OGBench's layout (train and ``-val`` splits).

Many env copies run in parallel on the device for ``episode_length`` steps (``step_batch`` starts
a fresh start and goal when an episode ends early); the host then lays the episodes end to end.
Each row holds the state before the step and the action taken, and ``terminals`` marks each
episode's last row, as in OGBench.

Stitch mode (``segment_length``) cuts every episode into segments of that many steps with a
terminal at each segment end, like OGBench's ``stitch`` datasets: no single trajectory joins a
start to a far goal, so a learner has to combine pieces.

Policies: ``random`` (uniform actions in [-1, 1]) and ``noisy-checkpoint`` (a trained run's
deterministic policy plus Gaussian noise, clipped to [-1, 1]).
"""

from __future__ import annotations

import dataclasses
import math
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxcrl.arguments import OneLineParser
from jaxcrl.config import (
    ConfigError,
    TrainConfig,
    command_name,
    merged_env_options,
    option_name,
    parse_env_options,
    warnings_in_one_line,
)
from jaxcrl.config_files import read_run_config
from jaxcrl.dataset import (
    Dataset,
    as_stored_states,
    new_dataset_paths,
    save_splits,
)
from jaxcrl.devices import gib, host_memory_bytes
from jaxcrl.envs import (
    GoalEnv,
    portable_env,
    registered_envs,
    reset_batch,
    step_batch,
)
from jaxcrl.envs.mjx_base import PHYSICS_IMPLS
from jaxcrl.envs.ogbench_envs import ogbench_env_ids
from jaxcrl.envs.own_envs import unknown_env_problem
from jaxcrl.ogbench_data import how_to_get_data
from jaxcrl.validation import check_episode_length

POLICIES = ("random", "noisy-checkpoint")
# ([num_envs, obs] observations, key) -> [num_envs, action] actions in [-1, 1]
ActionFunction = Callable[[jax.Array, jax.Array], jax.Array]


def random_actions(action_size: int) -> ActionFunction:
    """Uniform actions in [-1, 1]^action_size."""
    return lambda obs, key: jax.random.uniform(
        key, (obs.shape[0], action_size), minval=-1.0, maxval=1.0
    )


def noisy_checkpoint_actions(
    run_dir: str | Path,
    noise_std: float,
    member: int = 0,
    step: int | None = None,
    env: GoalEnv | None = None,
) -> ActionFunction:
    """A trained run's deterministic policy plus Gaussian noise of ``noise_std``, clipped.

    ``env``, the env it will act in, must observe and act as the run's did (ValueError if not:
    env options such as image_size=32 change what the policy reads)."""
    # Imported here: the run's host side (checkpoint layout, members) is only needed for this.
    from jaxcrl.saved_runs import load_member_policy

    run_env, _, policy = load_member_policy(Path(run_dir), member, step)
    if env is not None:
        facts = lambda e: (e.observation_size, e.action_size, e.image_shape)
        if facts(env) != facts(run_env):
            seen = lambda e: f"{e.image_shape or e.observation_size} observations"
            raise ValueError(
                f"--run-dir {run_dir} was trained on {seen(run_env)} and {run_env.action_size} "
                f"actions, but these env options give {seen(env)} and {env.action_size}; drop "
                "the --env-options that change them"
            )
    return with_action_noise(policy, noise_std)


def with_action_noise(policy: Callable[[jax.Array], jax.Array], noise_std: float) -> ActionFunction:
    """A deterministic policy's actions plus Gaussian noise of ``noise_std``, clipped to [-1, 1]."""

    def act(obs, key):
        mode = policy(obs)
        return jnp.clip(mode + noise_std * jax.random.normal(key, mode.shape), -1.0, 1.0)

    return act


def rollout_states_and_actions(
    env: GoalEnv, env_params: Any, act: ActionFunction, key: jax.Array, num_envs: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``episode_length`` steps of ``num_envs`` copies: states [E, T, S], actions [E, T, A],
    dones [E, T]."""
    reset_key, steps_key = jax.random.split(key)
    env_states = reset_batch(env, env_params, reset_key, num_envs)

    def one_step(env_states, step_key):
        actions = act(env_states.obs, step_key)
        next_states = step_batch(env, env_params, env_states, actions)
        return next_states, (env_states.obs[:, : env.state_size], actions, next_states.done)

    keys = jax.random.split(steps_key, env.episode_length)
    _, (states, actions, dones) = jax.lax.scan(one_step, env_states, keys)
    to_env_major = lambda x: jnp.swapaxes(x, 0, 1)  # [T, E, ...] -> [E, T, ...]
    return to_env_major(states), to_env_major(actions), to_env_major(dones)


def segment_terminals(dones: np.ndarray, segment_length: int | None) -> np.ndarray:
    """Terminals [E, T]: each episode's end, the window's end, and (stitch) every segment's end.

    An episode's last segment is never a single step (no goal follows it in its segment, so
    it would never be sampled): such a step joins the segment before it.
    """
    episode_ends = dones > 0
    episode_ends[:, -1] = True  # the last recorded step ends its episode, cut by the window
    terminals = episode_ends.copy()
    if segment_length is not None:
        # Steps left in the episode after each step, counted back from the episode's end.
        steps_left = np.zeros(dones.shape, np.int64)
        for t in range(dones.shape[1] - 2, -1, -1):
            steps_left[:, t] = np.where(episode_ends[:, t], 0, steps_left[:, t + 1] + 1)
        # Steps since the episode began, restarting after every episode end.
        position = np.zeros(dones.shape[0], np.int64)
        for t in range(dones.shape[1]):
            segment_end = (position + 1) % segment_length == 0
            terminals[:, t] |= segment_end & (steps_left[:, t] >= 2)
            position = np.where(episode_ends[:, t], 0, position + 1)
    return terminals.astype(np.float32)


def collect_episodes(
    env: GoalEnv,
    env_params: Any,
    act: ActionFunction,
    key: jax.Array,
    num_episodes: int,
    envs_per_call: int = 1024,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """States [N, T, S], actions [N, T, A] and dones [N, T] of ``num_episodes`` env copies.

    The copies run in calls of equal size, at most ``envs_per_call``, so that one program is
    compiled; a last call's copies past ``num_episodes`` are dropped."""
    calls = math.ceil(num_episodes / envs_per_call)
    copies_per_call = math.ceil(num_episodes / calls)
    rollout = jax.jit(
        lambda key: rollout_states_and_actions(env, env_params, act, key, copies_per_call)
    )
    chunks = [jax.device_get(rollout(jax.random.fold_in(key, index))) for index in range(calls)]
    return tuple(np.concatenate(parts)[:num_episodes] for parts in zip(*chunks, strict=True))


def episodes_dataset(
    states: np.ndarray, actions: np.ndarray, dones: np.ndarray, segment_length: int | None
) -> Dataset:
    """The episodes of ``collect_episodes`` laid end to end, with their (stitch) terminals."""
    return Dataset(
        observations=as_stored_states(states.reshape(-1, states.shape[-1])),
        actions=actions.reshape(-1, actions.shape[-1]).astype(np.float32),
        terminals=segment_terminals(np.array(dones), segment_length).reshape(-1),
    )


def collect_dataset(
    env: GoalEnv,
    env_params: Any,
    act: ActionFunction,
    key: jax.Array,
    num_episodes: int,
    segment_length: int | None = None,
    envs_per_call: int = 1024,
) -> Dataset:
    """``num_episodes`` episodes of ``episode_length`` steps, laid end to end."""
    episodes = collect_episodes(env, env_params, act, key, num_episodes, envs_per_call)
    return episodes_dataset(*episodes, segment_length)


@dataclasses.dataclass(frozen=True)
class CollectOptions:
    """What ``collect.py`` was asked for."""

    env: str
    out: str
    episodes: int
    policy: str = "random"
    val_episodes: int | None = None
    segment_length: int | None = None
    seed: int = 0
    episode_length: int | None = None
    run_dir: str | None = None
    noise_std: float = 0.2
    member: int | None = None  # noisy-checkpoint: which member of the run acts (None: 0)
    env_options: tuple[str, ...] | None = None  # NAME=VALUE; noisy-checkpoint: over the run's
    physics: str | None = None  # MJX back end; noisy-checkpoint: the run's, else jax


def collect_splits(options: CollectOptions) -> tuple[Path, Path]:
    """Collect the train and ``-val`` splits described by ``options`` and write both files."""
    from jaxcrl.program import make_run_env

    env_options, physics = options.env_options, options.physics
    if options.policy != "random":
        run_config = read_run_config(Path(options.run_dir))
        if run_config.env != options.env:
            raise ValueError(
                f"--run-dir {options.run_dir} was trained on {run_config.env}, not --env {options.env}"
            )
        # Options given add to the run's, replacing those of the same name (as over a preset):
        # in full, they dropped the run's own, a custom maze's layout among them.
        env_options = merged_env_options(run_config.env_options, tuple(env_options or ()))
        member = acting_member(run_config, options.member)
        physics = run_config.physics if physics is None else physics
    env_options = tuple(env_options or ())
    if options.episode_length is not None:  # replaces a noisy-checkpoint run's own override
        env_options = merged_env_options(env_options, (f"episode_length={options.episode_length}",))
    env_name, env_options = portable_env(options.env, env_options)
    env = make_run_env(TrainConfig(env=env_name, env_options=env_options, physics=physics or "jax"))
    env_params = env.default_params()
    if options.policy == "random":
        act = random_actions(env.action_size)
    else:
        act = noisy_checkpoint_actions(options.run_dir, options.noise_std, member, env=env)
    val_episodes = options.val_episodes
    if val_episodes is None:
        val_episodes = max(1, options.episodes // 10)  # OGBench's val splits are a tenth
    if options.segment_length is not None and env.episode_length < 4:  # segments of 2, rest 1
        raise ValueError(
            f"--segment-length: episodes of {env.episode_length} steps are too short to stitch "
            "(segments take at least 2 steps); raise --episode-length to at least 4, or drop "
            "--segment-length"
        )
    if options.segment_length is not None and options.segment_length >= env.episode_length - 1:
        raise ValueError(
            f"--segment-length {options.segment_length} cuts no episode of {env.episode_length} "
            f"steps (a 1-step rest joins the segment before it); give at most "
            f"{env.episode_length - 2} to stitch, or drop --segment-length"
        )
    new_dataset_paths(options.out)  # refused before collecting, not after
    check_collection_memory(env, options.episodes + val_episodes)
    # Both splits come from one compiled rollout: the first episodes train, the rest validate.
    key = jax.random.PRNGKey(options.seed)
    episodes = collect_episodes(env, env_params, act, key, options.episodes + val_episodes)
    train, val = (
        episodes_dataset(*(part[rows] for part in episodes), options.segment_length)
        for rows in (slice(options.episodes), slice(options.episodes, None))
    )
    for split, data in (("train", train), ("-val", val)):
        refuse_non_finite(env, split, data, env.episode_length)
    source = {"env": env_name, "env_options": list(env_options)}
    return save_splits(options.out, train, val, env.image_shape, source)


def refuse_non_finite(env: GoalEnv, split: str, data: Dataset, episode_length: int) -> None:
    """Raise ValueError, before anything is written, when ``data`` (the ``split`` split) holds
    NaN or Inf states or actions: training would refuse the file only later."""
    for field in ("observations", "actions"):
        values = np.asarray(getattr(data, field))
        if not np.issubdtype(values.dtype, np.floating):
            continue
        bad_rows = np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(axis=1))
        if len(bad_rows):
            episode, step = divmod(int(bad_rows[0]), episode_length)
            raise ValueError(
                f"{env.name} gave non-finite {field} in {len(bad_rows)} steps of the {split} "
                f"split (first at step {step} of episode {episode}); nothing was written: check "
                "the env's step and its options"
            )


def check_collection_memory(env: GoalEnv, episodes: int) -> None:
    """Raise ValueError, before collecting, when ``episodes`` episodes of ``env`` (both splits)
    would not fit in the host's memory: they are gathered there, then joined into one array."""
    have = host_memory_bytes()
    state_bytes = env.state_size * (1 if env.image_shape is not None else 4)  # uint8 or float32
    need = 2 * episodes * env.episode_length * (state_bytes + 4 * env.action_size + 4)
    if have is not None and need > 0.9 * have:
        raise ValueError(
            f"{episodes} episodes of {env.episode_length} steps of {env.name} (both splits) need "
            f"about {gib(need)} of memory to gather, more than the {gib(0.9 * have)} this "
            "machine may hold; collect fewer --episodes (or a smaller image_size), in parts"
        )


def acting_member(run_config: TrainConfig, member: int | None) -> int:
    """The member of a noisy-checkpoint run that collects (``--member``, else 0, said aloud when
    the run has several); a member the run lacks is a ConfigError."""
    from jaxcrl.members import run_members
    from jaxcrl.saved_runs import check_member

    count = len(run_members(run_config))
    if member is None and count > 1:
        print(
            f"collecting with member 0 of the run's {count}; --member picks another",
            file=sys.stderr,
        )
    member = 0 if member is None else member
    check_member(run_config, member)
    return member


def collectable_envs() -> list[str]:
    """The registered envs that step on the device (all but OGBench's own)."""
    return sorted(set(registered_envs()) - set(ogbench_env_ids()))


def parse_options(argv: list[str] | None = None) -> CollectOptions:
    """Read and check ``collect.py``'s flags."""
    parser = OneLineParser(
        prog=command_name("collect.py"),
        description="Collect an OGBench-layout offline dataset (NAME.npz and NAME-val.npz) "
        "from one of jaxcrl's envs, stepped in parallel on the device.",
    )
    parser.add_argument(
        "--env",
        required=True,
        metavar="ENV",
        help="one of jaxcrl's envs: "
        + ", ".join(collectable_envs())
        + "; or MODULE:CLASS, a GoalEnv subclass of your own",
    )
    parser.add_argument("--out", required=True, help="path of the train split, NAME.npz")
    parser.add_argument(
        "--episodes",
        type=int,
        required=True,
        help="env copies in the train split, each stepped for one episode length (envs that end "
        "episodes early, such as falling robots, hold more, shorter episodes)",
    )
    parser.add_argument(
        "--policy",
        default="random",
        choices=POLICIES,
        help="uniform random actions, or a trained run's deterministic policy plus Gaussian noise "
        "(default: random)",
    )
    parser.add_argument("--val-episodes", type=int, help="episodes in NAME-val.npz (default N/10)")
    parser.add_argument(
        "--segment-length",
        type=int,
        help="stitch mode: cut episodes into segments of L steps (a 1-step rest joins the last)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="fixes starts, goals and actions, from 0 to 2**32 - 1 (default: 0)",
    )
    parser.add_argument("--episode-length", type=int, help="override the env's episode length")
    parser.add_argument("--run-dir", help="noisy-checkpoint: the trained run to act with")
    parser.add_argument(
        "--noise-std",
        type=float,
        help="noisy-checkpoint: std of the Gaussian action noise (default: 0.2)",
    )
    parser.add_argument(
        "--member",
        type=int,
        help="noisy-checkpoint: which member of a multi-seed or swept run acts (default: 0)",
    )
    parser.add_argument(
        "--env-options",
        nargs="*",
        metavar="NAME=VALUE",
        help="env constructor arguments, as in training (noisy-checkpoint: added to the run's, "
        "replacing those of the same name)",
    )
    parser.add_argument(
        "--physics",
        choices=PHYSICS_IMPLS,
        help="MJX physics back end (noisy-checkpoint default: the run's; else jax)",
    )
    args = parser.parse_args(argv)
    given = {name: value for name, value in vars(args).items() if value is not None}
    options = CollectOptions(**given)
    if options.env in ogbench_env_ids():
        how = how_to_get_data(options.env, options.out)
        parser.error(
            f"--env {options.env} is one of OGBench's own envs, which run on the host: {how}"
        )
    problem = unknown_env_problem(options.env, collectable_envs())
    if problem is not None:
        parser.error(problem)
    if options.episodes <= 0 or (options.val_episodes is not None and options.val_episodes <= 0):
        parser.error("--episodes and --val-episodes must be positive integers")
    if not 0 <= options.seed < 2**32:
        parser.error(
            f"--seed must be from 0 to 2**32 - 1, got {options.seed}: JAX keys take 32-bit "
            "seeds, and others would repeat another seed's data"
        )
    if options.segment_length is not None and options.segment_length < 2:
        parser.error("--segment-length must be at least 2 (a goal needs a later step)")
    try:
        new_dataset_paths(options.out)
    except ValueError as error:
        parser.error(str(error))
    if options.policy == "noisy-checkpoint" and options.run_dir is None:
        parser.error("--policy noisy-checkpoint needs --run-dir of a trained run")
    if options.policy == "random":
        ignored = [flag for flag in ("run_dir", "noise_std", "member") if flag in given]
        if ignored:
            flags = " and ".join("--" + flag.replace("_", "-") for flag in ignored)
            verb = "apply" if len(ignored) > 1 else "applies"
            parser.error(
                f"{flags} only {verb} to --policy noisy-checkpoint; add it, or drop {flags} "
                "to collect with random actions"
            )
    if not (math.isfinite(options.noise_std) and options.noise_std >= 0):
        parser.error(f"--noise-std must be a finite number >= 0, got {options.noise_std}")
    for spec in options.env_options or ():  # train.py's --dense-reward has no collect.py twin
        if option_name(spec.partition("=")[0]) == "dense_reward":
            parser.error(
                f"--env-options {spec!r}: datasets hold no rewards (CRL learns from the goals "
                "reached), so the reward kind changes nothing here; drop it"
            )
    try:
        check_episode_length(options.episode_length, "--episode-length")
        named = parse_env_options(tuple(options.env_options or ()))
        check_episode_length(named.get("episode_length"), "--env-options episode_length")
    except ConfigError as error:
        parser.error(str(error))
    if options.episode_length is not None and "episode_length" in named:
        parser.error(
            "--episode-length and --env-options episode_length=... both set the episode length; "
            "keep one"
        )
    return options


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``collect.py``."""
    from jaxcrl.checkpoint import CheckpointError  # orbax, only needed once collecting starts

    warnings_in_one_line()
    options = parse_options(argv)
    start = time.perf_counter()
    try:
        train_path, val_path = collect_splits(options)
    except (ValueError, CheckpointError) as error:  # a bad option or run dir, in one line
        sys.exit(f"error: {error}")
    except OSError as error:  # a full disk, or a file where a folder was named: nothing is left
        sys.exit(f"error: --out {options.out}: cannot write it ({error.strerror or error})")
    except KeyboardInterrupt:  # Ctrl-C: the splits are written whole or not at all
        print(f"interrupted: nothing was written to {options.out}", file=sys.stderr)
        raise SystemExit(128 + signal.SIGINT) from None
    elapsed = time.perf_counter() - start
    print(f"wrote {train_path} and {val_path} in {elapsed:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
