"""Instance readers: Gset / Biq Mac MaxCut, OR-Library bqp, Biq Mac QUBO ``.sparse``."""
from qopt.io.readers import (
    FORMATS,
    Instance,
    cut_value,
    maxcut_value,
    read_bqp,
    read_bqp_all,
    read_gset,
    read_instance,
    read_sparse,
)

__all__ = [
    "FORMATS",
    "Instance",
    "cut_value",
    "maxcut_value",
    "read_bqp",
    "read_bqp_all",
    "read_gset",
    "read_instance",
    "read_sparse",
]
