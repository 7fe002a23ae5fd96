"""jaxcrl: Contrastive RL for goal-conditioned agents, trained end to end on the accelerator."""

from jaxcrl.xla_flags import set_default_flags

set_default_flags()  # before anything starts a JAX backend

from jaxcrl.config import TrainConfig  # noqa: E402

__version__ = "0.1.0"


def train(config: TrainConfig):
    """Train CRL as ``config`` says; returns a TrainResult (final state, metrics, run dir)."""
    from jaxcrl.run import train as _train

    return _train(config)


__all__ = ["TrainConfig", "train", "__version__"]
