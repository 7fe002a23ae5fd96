"""jaxcrl: Contrastive RL for goal-conditioned agents, trained end to end on the accelerator."""

from jaxcrl.config import TrainConfig

__version__ = "0.1.0"


def train(config: TrainConfig):
    """Train CRL as ``config`` says; returns a TrainResult (final state, metrics, run dir)."""
    from jaxcrl.run import train as _train

    return _train(config)


__all__ = ["TrainConfig", "train", "__version__"]
