"""The per-user cache folder of the package (data downloads, named models)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["user_cache_dir"]


def user_cache_dir() -> Path:
    """The per-user cache folder of the package, pooch.os_cache("unet_tutorial") (e.g. ~/.cache/unet_tutorial on Linux), absolute."""
    import pooch  # imported lazily: only the cache fallbacks need it

    return Path(pooch.os_cache("unet_tutorial")).expanduser().resolve()


