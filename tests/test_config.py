"""The config's options: derived sizes, sweeps and the choices they offer."""

import dataclasses
import subprocess
import sys
import types

import pytest

from jaxcrl.cli import EvalArgs
from jaxcrl.config import TrainConfig, derived_sizes


def test_derived_sizes():
    sizes = derived_sizes(
        TrainConfig(
            num_envs=8,
            unroll_length=10,
            update_to_data_ratio=0.05,
            buffer_size=1000,
            prefill_steps=150,
            total_env_steps=1000,
        )
    )
    assert sizes["steps_per_iteration"] == 80
    assert sizes["updates_per_iteration"] == 4
    assert sizes["buffer_capacity_per_env"] == 120  # 125 rounded down to whole unrolls
    assert sizes["prefill_iterations"] == 2
    assert sizes["training_iterations"] == (1000 - 160) // 80


def test_the_literal_options_offer_what_the_library_implements():
    from jaxcrl.losses import CONTRASTIVE_LOSSES, ENERGIES
    from jaxcrl.networks import ACTIVATIONS
    from jaxcrl.validation import CHOICES

    assert CHOICES["energy"] == ENERGIES
    assert CHOICES["contrastive_loss"] == CONTRASTIVE_LOSSES
    assert CHOICES["activation"] == tuple(ACTIVATIONS)


def test_an_energy_or_loss_added_in_losses_py_is_offered_by_the_config():
    # config.py and validation.py take their choices from losses.py's Literal types; a fresh
    # interpreter adds a name there and rebuilds both from it.
    code = (
        "import importlib, typing, tyro\n"
        "from jaxcrl import config, losses, validation\n"
        "losses.Energy = typing.Literal[(*losses.ENERGIES, 'new_energy')]\n"
        "losses.ContrastiveLoss = typing.Literal[(*losses.CONTRASTIVE_LOSSES, 'new_loss')]\n"
        "config = importlib.reload(config)\n"
        "validation = importlib.reload(validation)\n"
        "args = ['--energy', 'new_energy', '--contrastive-loss', 'new_loss']\n"
        "parsed = tyro.cli(config.TrainConfig, args=args)\n"
        "validation.validate(parsed)\n"
        "print(parsed.energy, parsed.contrastive_loss)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["new_energy", "new_loss"]


@pytest.mark.parametrize("options", [TrainConfig, EvalArgs], ids=["train.py", "eval.py"])
def test_every_option_has_a_one_line_help_string(options):
    # The CLI keeps a docstring's line breaks, so a wrapped one prints broken mid-sentence.
    import ast
    import inspect

    body = ast.parse(inspect.getsource(options)).body[0].body
    helps = {
        field.target.id: after.value.value
        for field, after in zip(body, body[1:], strict=False)
        if isinstance(field, ast.AnnAssign)
        and isinstance(after, ast.Expr)
        and isinstance(after.value, ast.Constant)
    }
    assert set(helps) == {field.name for field in dataclasses.fields(options)}
    assert [name for name, text in helps.items() if "\n" in text] == []


def test_messages_name_the_command_that_started_the_process(monkeypatch):
    # From an installed wheel, "python train.py --resume" named a script the user does not have.
    from jaxcrl.cli import train_main
    from jaxcrl.config import command_name, resume_command

    # The main module of train.py and of the installed command both call train_main.
    monkeypatch.setitem(sys.modules, "__main__", types.SimpleNamespace(train_main=train_main))
    monkeypatch.setattr(sys, "argv", ["/venv/bin/jaxcrl-train", "--env", "point_open"])
    assert resume_command("runs/a") == "jaxcrl-train --resume runs/a"
    assert command_name("eval.py") == "eval.py"
    monkeypatch.setattr(sys, "argv", ["train.py"])
    assert resume_command("runs/a") == "python train.py --resume runs/a"
    # Launched from elsewhere, the script's path as given (a bare train.py did not exist there).
    monkeypatch.setattr(sys, "argv", ["../jaxcrl/train.py", "--env", "point_open"])
    assert resume_command("runs/a") == "python ../jaxcrl/train.py --resume runs/a"
    monkeypatch.setattr(sys, "argv", ["/my runs/train.py"])
    assert resume_command("runs/a") == "python '/my runs/train.py' --resume runs/a"


def test_the_other_commands_name_the_training_command_the_user_has(monkeypatch, tmp_path):
    # eval.py, collect.py and plot told wheel users to run train.py, which they do not have.
    from jaxcrl.config import resume_elsewhere

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["/venv/bin/jaxcrl-eval", "--run-dir", "runs/a"])
    assert resume_elsewhere("runs/a") == "jaxcrl-train --resume runs/a"
    monkeypatch.setattr(sys, "argv", ["/venv/lib/jaxcrl/plot.py", "runs/a"])  # python -m
    assert resume_elsewhere("runs/a") == "jaxcrl-train --resume runs/a"
    (tmp_path / "train.py").write_text("")  # in a checkout of the repository
    monkeypatch.setattr(sys, "argv", ["eval.py", "--run-dir", "runs/a"])
    assert resume_elsewhere("runs/a") == "python train.py --resume runs/a"
    monkeypatch.chdir(tmp_path / "..")  # the checkout's scripts run from elsewhere
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "eval.py"), "--run-dir", "runs/a"])
    assert resume_elsewhere("runs/a") == f"python {tmp_path / 'train.py'} --resume runs/a"
    monkeypatch.setattr(sys, "argv", ["/venv/bin/jaxcrl-collect"])
    assert resume_elsewhere("runs/a") == "jaxcrl-train --resume runs/a"


def test_a_run_trained_from_python_is_told_the_python_call_that_resumes_it(monkeypatch):
    # A notebook's or script's train(config) used to be told "python train.py --resume".
    from jaxcrl.config import resume_command

    monkeypatch.setattr(sys, "argv", ["/venv/lib/ipykernel_launcher.py", "-f", "kernel.json"])
    assert resume_command("runs/a b") == "jaxcrl.run.resume('runs/a b')"
    monkeypatch.setattr(sys, "argv", [])  # an embedded interpreter
    assert resume_command("runs/a") == "jaxcrl.run.resume('runs/a')"
    # A script of the user's named train.py that calls train() was told "python train.py
    # --resume", which reruns that script.
    monkeypatch.setitem(sys.modules, "__main__", types.SimpleNamespace(train=print))
    monkeypatch.setattr(sys, "argv", ["train.py"])
    assert resume_command("runs/a") == "jaxcrl.run.resume('runs/a')"
