"""The README's commands and Python stay true: every command parses and validates, every name
it points to exists, and its Python snippets run (nothing is trained)."""

import importlib
import re
import shlex
from pathlib import Path

import pytest
import tyro

from jaxcrl.cli import EvalArgs, parse_resume_args, parse_train_args
from jaxcrl.collect import parse_options
from jaxcrl.config_files import write_config
from jaxcrl.envs import registered_envs
from jaxcrl.plot import parse_args as parse_plot_args
from jaxcrl.program import make_run_env
from jaxcrl.validation import validate

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def code_blocks(language: str) -> list[str]:
    """The README's fenced code blocks in ``language``."""
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.S | re.M)


def commands() -> list[list[str]]:
    """Every command of the README's bash blocks, as tokens (continuations joined, comments
    dropped, ``a && b`` split)."""
    found = []
    for block in code_blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            tokens = shlex.split(line, comments=True)
            while tokens:
                end = tokens.index("&&") if "&&" in tokens else len(tokens)
                found.append(tokens[:end])
                tokens = tokens[end + 1 :]
    return found


def script_commands(*script: str) -> list[list[str]]:
    """The arguments of each README command that runs ``script`` (e.g. ``"train.py"``)."""
    size = len(script)
    return [
        tokens[1 + size :]
        for tokens in commands()
        if tokens[:1] == ["python"] and tuple(tokens[1 : 1 + size]) == script
    ]


def test_the_readme_has_the_commands_this_test_reads():
    assert len(script_commands("train.py")) >= 10
    assert script_commands("eval.py") and script_commands("collect.py")
    assert script_commands("-m", "jaxcrl.plot") and script_commands("-m", "jaxcrl.ogbench_data")


def train_commands(*, of_runs: bool) -> list[list[str]]:
    """README train.py commands that name an earlier run (``--resume``, a run's config.yaml), or
    those that start from flags and presets alone (``--help`` left out)."""
    found = []
    for args in script_commands("train.py"):
        names_run = "--resume" in args or any(arg.endswith("config.yaml") for arg in args)
        if "--help" not in args and names_run == of_runs:
            found.append(args)
    return found


@pytest.mark.parametrize("args", train_commands(of_runs=False), ids=" ".join)
def test_every_train_command_parses_and_validates(args):
    config = parse_train_args(args)
    validate(config, registered_envs(), dataset_must_exist=False)
    if config.env_options:
        make_run_env(config)  # the env takes the options (a maze map, for one)


def inline_env_options() -> list[list[str]]:
    """The README's inline examples of ``--env``/``--config`` with ``--env-options``, as tokens."""
    spans = re.findall(r"(?<!`)`(--(?:env|config)\s[^`]*--env-options\s[^`]+)`", README)
    return [shlex.split(" ".join(span.split())) for span in spans]


def test_the_readme_has_inline_env_options_examples():
    assert len(inline_env_options()) >= 2


@pytest.mark.parametrize("args", inline_env_options(), ids=" ".join)
def test_every_inline_env_options_example_builds_its_env(args):
    # "--config ant --env-options goal_max_radius=5" was refused: the ant's goals start at 10 m.
    config = parse_train_args(args)
    validate(config, registered_envs(), dataset_must_exist=False)
    make_run_env(config)


@pytest.fixture
def readme_run(tmp_path, monkeypatch):
    """runs/umaze/config.yaml under a fresh working directory, as the README's first training
    command writes it."""
    first = next(args for args in train_commands(of_runs=False) if "--run-dir" in args)
    config = parse_train_args(first)
    run_dir = tmp_path / config.run_dir
    run_dir.mkdir(parents=True)
    write_config(config, run_dir / "config.yaml", {})
    monkeypatch.chdir(tmp_path)
    return config


def test_commands_that_name_an_earlier_run_parse(readme_run):
    commands = train_commands(of_runs=True)
    assert len(commands) >= 3
    for args in commands:
        if "--resume" in args:
            run_dir, lengths = parse_resume_args(args)
            assert run_dir == Path(readme_run.run_dir)
            assert set(lengths) <= {"total_env_steps", "num_updates"}
        else:
            config = parse_train_args(args)
            assert config.env == readme_run.env and config.run_dir is None  # a new run


@pytest.mark.parametrize("args", script_commands("eval.py"), ids=" ".join)
def test_every_eval_command_parses(args):
    assert tyro.cli(EvalArgs, args=args).run_dir == Path(args[args.index("--run-dir") + 1])


def test_collect_plot_and_ogbench_data_commands_parse():
    for args in script_commands("collect.py"):
        assert parse_options(args).out.endswith(".npz")
    for args in script_commands("-m", "jaxcrl.plot"):
        assert parse_plot_args(args).run_dirs
    ogbench_data = importlib.import_module("jaxcrl.ogbench_data")
    for args in script_commands("-m", "jaxcrl.ogbench_data"):
        assert args[args.index("--env") + 1] in ogbench_data.LOCAL_ENV_IDS


def test_every_jaxcrl_name_the_readme_points_to_exists():
    names = set(re.findall(r"`(jaxcrl(?:\.\w+)+)", README))
    assert len(names) >= 4
    for dotted in sorted(names):
        module_name, _, attribute = dotted.rpartition(".")
        try:
            importlib.import_module(dotted)  # a module
        except ModuleNotFoundError:
            assert hasattr(importlib.import_module(module_name), attribute), dotted


def test_every_repository_path_the_readme_names_exists():
    root = Path(__file__).resolve().parents[1]
    named = r"((?:jaxcrl|envs|benchmarks|configs|examples|tests)/[\w./]+\.\w+)"
    paths = set(re.findall(rf"`{named}`", README))  # a path on its own
    paths |= set(re.findall(rf"(?:^|`)(?:bash|python)\s+{named}", README, re.MULTILINE))  # a script
    assert len(paths) >= 10
    assert "benchmarks/success_by_goal_distance.py" in paths
    assert [path for path in sorted(paths) if not (root / path).exists()] == []


def test_the_readme_python_that_trains_nothing_runs():
    trains = re.compile(r"^[^#\n]*\btrain\(", flags=re.M)  # a call, not a comment
    snippets = [block for block in code_blocks("python") if not trains.search(block)]
    assert snippets  # register_maze's example
    for snippet in snippets:
        exec(compile(snippet, "README.md", "exec"), {})


def test_the_readme_python_that_trains_runs_at_a_tiny_size(tmp_path, monkeypatch):
    # Its last line used `observations`, which it never defined: it failed when pasted.
    import dataclasses

    from tiny_runs import TINY

    import jaxcrl

    def tiny(**options):
        """The test's tiny run (its programs compiled by other tests already), in a folder of
        the test's, in place of the example's config."""
        return dataclasses.replace(TINY, progress=False, run_dir=str(tmp_path / "run"))

    monkeypatch.setattr(jaxcrl, "TrainConfig", tiny)
    trains = re.compile(r"^[^#\n]*\btrain\(", flags=re.M)
    blocks = [block for block in code_blocks("python") if trains.search(block)]
    assert blocks
    for block in blocks:
        namespace = {}
        exec(compile(block, "README.md", "exec"), namespace)
        if "actions" in namespace:  # acted with the trained policy
            assert namespace["actions"].shape == (namespace["env"].action_size,)
