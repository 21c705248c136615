#!/usr/bin/env python3
"""Regenerate the Python protobuf/gRPC code in python/qopt/v1 from protos/qopt/v1.

Run with a Python that has grpcio-tools:  python scripts/gen_protos.py [--check]
``--check`` regenerates into a temporary folder and fails if the committed code differs.
Imports are package-qualified (``from qopt.v1 import model_pb2``) because protoc runs with
``-Iprotos`` and the output root is ``python/``.
"""
from __future__ import annotations

import argparse
import filecmp
import pathlib
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[1]
PROTOS = REPO / "protos"
OUT = REPO / "python"


def generate(out_root: pathlib.Path) -> list[pathlib.Path]:
    import grpc_tools
    from grpc_tools import protoc

    files = sorted(str(p.relative_to(PROTOS)) for p in (PROTOS / "qopt" / "v1").glob("*.proto"))
    include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    import google.rpc.status_pb2  # googleapis-common-protos ships google/rpc/*.proto beside the modules

    googleapis = pathlib.Path(google.rpc.status_pb2.__file__).parents[2]
    (out_root / "qopt" / "v1").mkdir(parents=True, exist_ok=True)
    args = ["grpc_tools.protoc", f"-I{PROTOS}", f"-I{include}", f"-I{googleapis}", f"--python_out={out_root}",
            f"--pyi_out={out_root}", f"--grpc_python_out={out_root}", *files]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    init = out_root / "qopt" / "v1" / "__init__.py"
    init.write_text('"""Generated protobuf and gRPC code for qopt.v1 (scripts/gen_protos.py; do not edit)."""\n')
    return sorted((out_root / "qopt" / "v1").iterdir())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed code is stale")
    args = parser.parse_args()
    if not args.check:
        generate(OUT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        produced = generate(pathlib.Path(tmp))
        stale = [p.name for p in produced if p.is_file()
                 and not filecmp.cmp(p, OUT / "qopt" / "v1" / p.name, shallow=False)]
        if stale:
            print("stale generated files (run scripts/gen_protos.py):", ", ".join(stale))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
