"""Evaluate a trained run: ``python eval.py --run-dir DIR [--episodes N]``."""

from jaxcrl.cli import eval_main

if __name__ == "__main__":
    eval_main()
