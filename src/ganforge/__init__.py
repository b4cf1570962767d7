"""ganforge: generative adversarial networks — one training engine, many applications, measured offline."""
from .version import __version__


def __getattr__(name):  # noqa: D401
    # the API pulls in torch; importing the package (e.g. for __version__) stays light
    if name in ("train", "resume", "load", "info", "plan", "Generator", "TrainResult"):
        from . import api
        return getattr(api, name)
    if name == "augment_data":
        from .apps.synthdata import augment_data
        return augment_data
    if name == "TabularGAN":
        from .apps.tabular import TabularGAN
        return TabularGAN
    raise AttributeError(f"module 'ganforge' has no attribute {name!r}")


__all__ = ["train", "resume", "load", "info", "plan", "Generator", "TrainResult", "TabularGAN", "augment_data",
           "__version__"]
