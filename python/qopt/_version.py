from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("qopt")
except _metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0+dev"
