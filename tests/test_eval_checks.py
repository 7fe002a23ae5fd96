"""eval.py's checks before evaluating, swept runs summarised per value, and loading one member."""

import dataclasses
import json
import re
import shutil

import jax.numpy as jnp
import pytest
from tiny_runs import TINY

import jaxcrl.saved_runs
from jaxcrl.cli import eval_main, format_summary
from jaxcrl.config import ConfigError
from jaxcrl.config_files import write_config
from jaxcrl.run import resume, train
from jaxcrl.saved_runs import evaluate_run, load_member, load_member_policy


def never_evaluated(*args, **kwargs):
    raise AssertionError("evaluated although the command line was refused")


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--video", "out.avi"], "must end in one of .mp4, .gif"),
        (["--video", "episode"], "must end in one of .mp4, .gif"),
        (["--video", ".mp4"], "video path '.mp4' needs a name before .mp4: out.mp4"),
        (["--video", "taken/episode.gif"], "is a file, not a directory"),
        (["--video", "/proc/jaxcrl-test/episode.gif"], "cannot write in /proc ("),
        (["--member", "3"], "--member 3 is not in this run; it has only member 0"),
        (["--goal", "nan,1"], "every coordinate must be a finite number"),
        (["--goal", "1,inf"], "every coordinate must be a finite number"),
    ],
)
def test_bad_flags_are_one_error_line_before_anything_is_evaluated(
    flags, message, tmp_path, monkeypatch, capsys
):
    # A run directory's config.yaml is all the checks read: no training needed.
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_config(TINY, run_dir / "config.yaml", {"env_info": {}, "jax": {}})
    (tmp_path / "taken").write_text("a file where a directory would go")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(jaxcrl.saved_runs, "evaluate_run", never_evaluated)
    with pytest.raises(SystemExit) as stopped:
        eval_main(["--run-dir", str(run_dir), *flags])
    assert stopped.value.code != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("error: ") and message in line, line


def test_more_episodes_than_the_memory_holds_are_refused_before_restoring(tmp_path, capsys):
    # Checked before the checkpoint is read: the run directory needs only its config.yaml.
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_config(TINY, run_dir / "config.yaml", {"env_info": {}, "jax": {}})
    with pytest.raises(SystemExit):
        eval_main(["--run-dir", str(run_dir), "--episodes", str(10**9)])
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert re.match(r"error: the run.s evaluation needs 1\d\d\.\d GiB .*lower --episodes$", line)


def test_a_video_of_an_ogbench_run_is_refused_before_evaluating(tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = dataclasses.replace(TINY, env="pointmaze-medium-v0", dataset=str(tmp_path / "d.npz"))
    write_config(config, run_dir / "config.yaml", {"env_info": {}, "jax": {}})
    monkeypatch.setattr(jaxcrl.saved_runs, "evaluate_run", never_evaluated)
    with pytest.raises(SystemExit):
        eval_main(["--run-dir", str(run_dir), "--video", str(tmp_path / "episode.mp4")])
    assert "pointmaze-medium-v0 runs in OGBench's own simulator" in capsys.readouterr().err


@pytest.fixture(scope="module")
def swept_run(tmp_path_factory):
    """A tiny point_open run (its TrainResult) of 4 members: critic_lr 1e-3 and 3e-4, seeds 0, 1."""
    run_dir = tmp_path_factory.mktemp("swept") / "run"
    config = dataclasses.replace(
        TINY, num_seeds=2, sweep=("critic_lr=1e-3,3e-4",), run_dir=str(run_dir)
    )
    return train(config)


def test_a_loaded_member_has_its_own_seed_and_swept_values(swept_run):
    loaded = load_member(swept_run.run_dir, member=3)
    assert loaded.config.seed == 1 and loaded.config.critic_lr == 3e-4
    assert loaded.config.num_seeds == 1 and loaded.config.sweep == ()
    assert load_member(swept_run.run_dir, member=0).config.critic_lr == 1e-3


def test_a_member_policy_is_read_alone_from_the_checkpoint_asked_for(swept_run):
    import jax
    import numpy as np

    from jaxcrl import agent

    steps = sorted(int(p.name) for p in (swept_run.run_dir / "checkpoints").iterdir())
    env, _, policy = load_member_policy(swept_run.run_dir, member=3, step=steps[0])
    loaded = load_member(swept_run.run_dir, member=3, step=steps[0])
    obs = jax.random.normal(jax.random.PRNGKey(0), (5, env.observation_size))
    expected = agent.policy_action(loaded.trainer.networks, loaded.learner.policy_params, obs)
    np.testing.assert_allclose(policy(obs), expected, rtol=1e-5, atol=1e-6)
    newest = load_member_policy(swept_run.run_dir, member=3)[2]
    assert not np.allclose(newest(obs), expected, atol=1e-3)  # another checkpoint, policy
    # A list is an observation too, and a wrong size is named (a flax shape error, before).
    np.testing.assert_allclose(policy(np.asarray(obs[0]).tolist()), expected[0], atol=1e-5)
    with pytest.raises(ValueError, match=r"takes observations of 4 numbers .*got shape \(5, 2\)"):
        policy(obs[:, :2])
    # A checkpoint's number given as text was reported as missing ("no checkpoint 28").
    with pytest.raises(ConfigError, match="step must be a checkpoint's number, a whole number"):
        load_member(swept_run.run_dir, step=str(steps[0]))


def test_a_swept_run_is_summarised_per_swept_value(swept_run, capsys):
    eval_main(["--run-dir", str(swept_run.run_dir), "--episodes", "4"])
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "critic_lr=0.001" and printed[4] == "critic_lr=0.0003"
    assert printed[1].startswith("  success") and printed[1].endswith("over 2 seeds")
    result = json.loads(printed[-1])
    assert "summary" not in result  # no figure pools members trained differently
    first, second = result["groups"]
    assert first["values"] == {"critic_lr": 1e-3} and first["members"] == [0, 1]
    assert second["values"] == {"critic_lr": 3e-4} and second["members"] == [2, 3]
    successes = [row["eval/success"] for row in result["members"][2:]]
    assert second["summary"]["eval/success"]["count"] == 2
    assert second["summary"]["eval/success"]["mean"] == pytest.approx(sum(successes) / 2)


def test_without_a_seed_eval_plays_the_runs_own_evaluation_of_that_checkpoint(swept_run, capsys):
    from jaxcrl.logger import read_metrics

    rows = read_metrics(swept_run.run_dir / "metrics.jsonl")
    logged = {row["member"]: row for row in rows if row["env_steps"] == rows[-1]["env_steps"]}
    names = ("eval/success", "eval/time_near_goal", "eval/final_distance")
    eval_main(["--run-dir", str(swept_run.run_dir)])
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    for row in result["members"]:
        for name in names:
            assert row[name] == pytest.approx(logged[row["member"]][name], rel=1e-5, abs=1e-6)
    eval_main(["--run-dir", str(swept_run.run_dir), "--member", "2"])
    alone = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert alone["eval/final_distance"] == pytest.approx(logged[2]["eval/final_distance"], 1e-5)
    eval_main(["--run-dir", str(swept_run.run_dir), "--member", "2", "--seed", "0"])
    other = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert other["eval/final_distance"] != pytest.approx(alone["eval/final_distance"], 1e-3)


def test_member_evaluates_that_member_alone(swept_run, capsys, tmp_path):
    eval_main(["--run-dir", str(swept_run.run_dir), "--episodes", "4"])
    every = json.loads(capsys.readouterr().out.splitlines()[-1])
    video = tmp_path / "member.gif"
    flags = ["--episodes", "4", "--member", "3", "--video", str(video)]
    eval_main(["--run-dir", str(swept_run.run_dir), *flags])
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("success rate    ")
    # The video names the agent it films, one of four.
    assert printed[-1].startswith("video of ") and printed[-1].endswith(
        f"frames of member 3 (seed=1 critic_lr=0.0003) written to {video}"
    )
    alone = json.loads(printed[-2])
    assert (alone["member"], alone["seed"], alone["critic_lr"]) == (3, 1, 3e-4)
    assert alone["eval/success"] == every["members"][3]["eval/success"]


def test_the_memory_check_of_one_member_counts_that_member_alone(swept_run, monkeypatch):
    # eval.py --member 0 of a 4-member run was refused for the memory all 4 would need.
    needs = []

    def record(state, need, **options):
        needs.append(need)
        raise ConfigError("checked")  # no need to evaluate

    monkeypatch.setattr(jaxcrl.saved_runs, "check_memory", record)
    for member in (None, 0):
        with pytest.raises(ConfigError, match="checked"):
            evaluate_run(swept_run.run_dir, episodes=4096, member=member)
    assert needs[1] == pytest.approx(needs[0] / 4, rel=1e-3)


def test_an_env_whose_code_changed_since_training_is_refused_or_warned_about(
    swept_run, tmp_path, capsys
):
    # An own env's module edited after training (its episode length, its state size) had been
    # used as it was now: a resume trained in another env, and a changed size failed as
    # "checkpoint N cannot be read" with orbax's shape error. config.yaml's env_info, what the
    # run trained in, is edited here in its stead.
    run_dir = tmp_path / "run"
    shutil.copytree(swept_run.run_dir, run_dir)
    original = (run_dir / "config.yaml").read_text()
    assert "  episode_length: 50\n" in original and "  state_size: 2\n" in original
    (run_dir / "config.yaml").write_text(
        original.replace("  episode_length: 50\n", "  episode_length: 40\n")
    )
    with pytest.raises(ConfigError, match=(
        r"trained in point_open with episode_length 40, but that env now has episode_length "
        r"50: its code changed since the run started; put it back as it was to go on"
    )):  # fmt: skip
        resume(run_dir, total_env_steps=2 * TINY.total_env_steps)
    evaluate_run(run_dir, episodes=4, member=0)  # evaluated, and told
    assert (
        "warning: point_open now has episode_length 50, not the episode_length 40 "
        f"{run_dir} trained with"
    ) in capsys.readouterr().err
    (run_dir / "config.yaml").write_text(original.replace("  state_size: 2\n", "  state_size: 3\n"))
    for load in (evaluate_run, load_member, load_member_policy):
        with pytest.raises(
            ConfigError, match="with state_size 3, but that env now has state_size 2"
        ):
            load(run_dir)


def test_a_seed_beyond_32_bits_or_a_member_that_is_not_a_number_is_refused(swept_run, capsys):
    # eval.py took --seed 2**32 as seed 0 (the same episodes), and 2**63 failed with a traceback;
    # evaluate_run took member=True as member 1.
    for seed in ("4294967296", "-1", "9223372036854775808"):
        with pytest.raises(SystemExit):
            eval_main(["--run-dir", str(swept_run.run_dir), "--seed", seed])
        assert capsys.readouterr().err == (
            f"error: --seed must be a whole number from 0 to 2**32 - 1, got {seed}: JAX keys "
            "take 32-bit seeds\n"
        )
    with pytest.raises(ConfigError, match="--member must be a whole number, got True"):
        evaluate_run(swept_run.run_dir, episodes=4, member=True)


def test_training_ends_with_one_summary_per_swept_value(swept_run):
    lines = format_summary(swept_run).splitlines()
    assert len(lines) == 4 + 2  # a line per member, then one per swept value
    assert lines[4].startswith("critic_lr=0.001: success rate over 2 seeds: mean")
    assert lines[5].startswith("critic_lr=0.0003: success rate over 2 seeds: mean")
    assert f"run dir {swept_run.run_dir}" in lines[5]


def test_one_seed_per_swept_value_is_its_rate_alone_and_values_read_alike_on_every_line():
    # It printed "over 1 seeds ... 95% bootstrap interval [0.250, 0.250]", and member lines
    # said target_entropy=-1 where group lines said target_entropy=-1.0.
    from types import SimpleNamespace

    from jaxcrl.stats import summarize

    rows = [
        {"member": m, "seed": 0, "target_entropy": v, "eval/success": r, "eval/time_near_goal": r}
        for m, (v, r) in enumerate([(-1.0, 0.25), (-0.5, 0.5)])
    ]
    groups = [
        {"values": {"target_entropy": row["target_entropy"]}, "summary": summarize([r])}
        for row, r in zip(rows, (0.25, 0.5), strict=True)
    ]
    result = SimpleNamespace(
        final_rows=rows,
        members=[SimpleNamespace(values={"target_entropy": -1.0})],
        groups=lambda metric: groups,
        final={"env_steps": 256, "wall_time_s": 3.0},
        run_dir="runs/x",
    )
    lines = format_summary(result).splitlines()
    assert lines[0].startswith("  member   0 seed    0 target_entropy=-1: success 0.250")
    assert lines[2] == "target_entropy=-1: success rate of 1 seed: 0.250"
    assert lines[3].startswith("target_entropy=-0.5: success rate of 1 seed: 0.500 | 256 env")


@pytest.fixture(scope="module")
def ogbench_run(tmp_path_factory):
    """A tiny offline run on generated pointmaze-medium data, its dataset moved away after."""
    from test_ogbench import train_on_generated_point_maze_data

    tmp_path = tmp_path_factory.mktemp("ogbench")
    run_dir = train_on_generated_point_maze_data(tmp_path, "--num-updates", "10")
    (tmp_path / "pm.npz").rename(tmp_path / "moved.npz")
    return run_dir


def test_an_offline_runs_policy_loads_without_its_dataset(ogbench_run):
    loaded = load_member(ogbench_run)
    assert loaded.config.dataset.endswith("pm.npz") and loaded.buffer is None
    env, _, policy = load_member_policy(ogbench_run)
    observations = jnp.zeros((1, env.state_size + len(env.goal_indices)))  # [1, state ++ goal]
    assert policy(observations).shape == (1, env.action_size)


@pytest.mark.parametrize("asked", [3, 7])
def test_ogbench_evaluation_reports_the_episodes_that_ran(ogbench_run, asked, capsys):
    eval_main(["--run-dir", str(ogbench_run), "--episodes", str(asked)])
    captured = capsys.readouterr()
    assert json.loads(captured.out.splitlines()[-1])["episodes"] == 5  # one of each of 5 tasks
    assert f"note: ran 5 episodes, not {asked}" in captured.err


@pytest.mark.parametrize(
    "goal, message",
    [
        ("1.5,2.5", "--goal 1.5,2.5: (1.5, 2.5) lies inside a wall (row 2, column 1 of the map)"),
        ("40,40", "(40, 40) lies outside the maze, which spans x in [0, 5), y in [0, 5)"),
    ],
)
def test_a_goal_in_a_wall_or_outside_the_maze_is_refused_before_evaluating(
    goal, message, tmp_path, capsys
):
    run_dir = tmp_path / "run"
    run_dir.mkdir()  # config.yaml alone: the goal is refused before any checkpoint is read
    config = dataclasses.replace(TINY, env="point_u_maze")
    write_config(config, run_dir / "config.yaml", {"env_info": {}, "jax": {}})
    with pytest.raises(SystemExit):
        eval_main(["--run-dir", str(run_dir), "--goal", goal])
    assert message in capsys.readouterr().err
