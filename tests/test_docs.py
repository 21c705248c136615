"""Every example in README.md and docs/*.md runs.

Each file's ```python blocks are joined in order into one script (later blocks use the names
earlier ones define, as a reader would) and run in a subprocess with a time limit. The
documented address ``127.0.0.1:50051`` is replaced by a real server's, started here on
``127.0.0.1:0``. The cheap ```bash lines (``qopt solve ...``, ``qopt backends``) run too,
against the same server; a ``--json`` one must print exactly one JSON document on stdout.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

import qopt
from qopt.service.server import Server

REPO = pathlib.Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
DOC_ADDRESS = "127.0.0.1:50051"
SNIPPET_SECONDS = 120  # per file; the examples use small models (a few seconds each file here)
CHEAP_COMMANDS = ("qopt solve ", "qopt backends")



def fenced_blocks(path: pathlib.Path, language: str) -> list[str]:
    """The bodies of the ```<language> blocks of ``path``, in order."""
    pattern = re.compile(rf"^```{language}[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
    return [m.group(1) for m in pattern.finditer(path.read_text())]


def _env() -> dict:
    env = dict(os.environ)
    package_root = str(pathlib.Path(qopt.__file__).resolve().parents[1])  # the qopt under test
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    return env


@pytest.fixture(scope="module")
def server():
    srv = Server("127.0.0.1:0", max_workers=4).start()
    yield srv
    srv.stop(grace=1.0)


def test_every_doc_file_is_found_and_has_examples():
    names = {p.name for p in DOCS}
    assert {"README.md", "service.md"} <= names
    assert fenced_blocks(REPO / "README.md", "python"), "README.md has no ```python examples"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_python_examples_run(path, server, tmp_path):
    blocks = fenced_blocks(path, "python")
    if not blocks:
        pytest.skip(f"{path.name} has no ```python blocks")
    script = "\n\n".join(blocks).replace(DOC_ADDRESS, server.address)
    (tmp_path / "snippets.py").write_text(script)
    proc = subprocess.run([sys.executable, "snippets.py"], cwd=tmp_path, env=_env(), capture_output=True,
                          text=True, timeout=SNIPPET_SECONDS)
    assert proc.returncode == 0, f"{path.name} examples failed:\n{proc.stderr[-4000:]}"


def cheap_commands(path: pathlib.Path) -> list[str]:
    """The ``qopt solve`` / ``qopt backends`` lines of the ```bash blocks, comments removed."""
    out = []
    for block in fenced_blocks(path, "bash"):
        for line in block.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line.startswith(CHEAP_COMMANDS):
                out.append(line)
    return out


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_cheap_shell_examples_run(path, server):
    commands = cheap_commands(path)
    if not commands:
        pytest.skip(f"{path.name} has no cheap qopt commands")
    for line in commands:
        argv = shlex.split(line.replace(DOC_ADDRESS, server.address))
        proc = subprocess.run([sys.executable, "-m", "qopt", *argv[1:]], cwd=REPO, env=_env(), capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, f"`{line}` exited {proc.returncode}:\n{proc.stderr[-3000:]}"
        if "--json" in argv:
            json.loads(proc.stdout)  # exactly one JSON document, nothing else on stdout
        else:
            assert proc.stdout.strip(), f"`{line}` printed nothing"


@pytest.mark.parametrize("page", sorted((REPO / "benchmarks").glob("*.md")), ids=lambda p: p.name)
def test_benchmark_pages_show_committed_plots(page):
    """Each benchmarks/*.md shows at least one plot, and every image it shows exists in the tree."""
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text())
    assert images, f"{page.name} shows no plot"
    for image in images:
        path = (page.parent / image).resolve()
        assert path.is_file() and path.suffix == ".png", f"{page.name} shows {image}, which is not a committed PNG"
        assert "results" not in path.relative_to(REPO).parts, f"{image} is under the gitignored results/"
