"""What a model importer's argument names: a file path or the model's text.

An importer (:func:`qopt.model.from_lp`, :func:`qopt.model.load_model`, ...) takes either a
path or the file's contents. A :class:`os.PathLike` is a path; a ``str`` (or ``bytes``) of
one line shorter than 4096 characters is a path too; anything else is the text itself.
"""
from __future__ import annotations

import os
import pathlib

__all__ = ["source_path", "read_source"]

#: Longest one-line ``str`` taken as a path rather than as model text.
MAX_PATH_LENGTH = 4096


def source_path(path_or_text) -> pathlib.Path | None:
    """The path that ``path_or_text`` names, or None when it is the text itself.

    Args:
        path_or_text: a path (``str``, ``bytes`` or :class:`os.PathLike`) or a model's text.

    Returns:
        The path of an existing file, or None for text.

    Raises:
        FileNotFoundError: a path (a PathLike, or a one-line string) that names no file.
    """
    if isinstance(path_or_text, bytes):
        path_or_text = path_or_text.decode()
    if isinstance(path_or_text, os.PathLike):
        p = pathlib.Path(path_or_text)
    elif isinstance(path_or_text, str) and "\n" not in path_or_text and len(path_or_text) < MAX_PATH_LENGTH:
        p = pathlib.Path(path_or_text)
    else:
        return None
    if not p.is_file():
        raise FileNotFoundError(f"no such file: {str(path_or_text)!r}")
    return p


def read_source(path_or_text) -> tuple[str, str | None]:
    """The text of ``path_or_text`` and the path it was read from.

    Args:
        path_or_text: a path or a model's text (see :func:`source_path`).

    Returns:
        ``(text, path)``: the file's text and its path as ``str``, or ``(text, None)`` when
        the argument is the text itself.

    Raises:
        FileNotFoundError: a path that names no file.
    """
    p = source_path(path_or_text)
    if p is not None:
        return p.read_text(), str(p)
    if isinstance(path_or_text, bytes):
        return path_or_text.decode(), None
    return path_or_text, None
