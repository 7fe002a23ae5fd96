"""Train a goal-conditioned agent with Contrastive RL: ``python train.py --help``."""

from jaxcrl.cli import train_main

if __name__ == "__main__":
    train_main()
