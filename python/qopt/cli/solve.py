"""``qopt solve FILE``: solve an instance file or a constrained model, here or on a server.

An instance file (Gset/rudy graph, OR-Library bqp, Biq Mac ``.sparse``) is read by
:func:`qopt.io.read_instance` and solved as a BQM; a model file (LP, MPS, QKP, TSPLIB, a
spec JSON, a dimod CQM file) is read by :func:`qopt.model.load_model` and solved as a
constrained model. The format is ``--format``, else what the shared detector says.
"""
from __future__ import annotations

import json
import sys

from qopt.cli.options import file_format, sampler_parameters
from qopt.cli.output import Progress, format_constrained_table, format_table
from qopt.errors import InvalidInput
from qopt.model.formats.detect import MODEL_FORMATS

__all__ = ["cmd_solve", "CONSTRAINED_FORMATS"]

#: ``--format`` values of ``qopt solve`` that name a constrained model (besides the instance
#: formats); ``json`` and ``cqm`` files are detected, not named.
CONSTRAINED_FORMATS = ("lp", "mps", "qkp", "tsplib")


def _solve_here(model, args, params):
    """Solve in this process (no ``--server``): the one place the CLI calls the pipeline."""
    from qopt.solve import solve

    return solve(model, backend=args.backend, time_budget=args.timeout, **params)


def _solve_constrained_file(args, fmt: str) -> int:
    from qopt.model import load_model, to_lp

    try:
        problem = load_model(args.file, format=fmt)
    except (OSError, ValueError) as exc:
        print(f"qopt solve: {exc}", file=sys.stderr)
        return 2
    params = sampler_parameters(args)
    label = f"solving {problem.name or args.file} ({len(problem.cqm.variables)} variables, "
    label += f"{len(problem.cqm.constraints)} constraints)"
    try:
        with Progress(label):
            if args.server:
                from qopt.client import Client

                with Client(args.server) as client:  # LP text keeps the model's own sense
                    result = client.solve(to_lp(problem), backend=args.backend, timeout=args.timeout,
                                          name=problem.name, **params)
            else:
                result = _solve_here(problem, args, params)
    except Exception as exc:  # noqa: BLE001 - a CLI reports every failure in one line
        print(f"qopt solve: {exc}", file=sys.stderr)
        return 1
    if args.json:
        out = result.to_dict()
        out["candidates"] = out["candidates"][: args.top]
        out["instance"] = {"name": problem.name, "sense": problem.sense, "format": fmt}
        print(json.dumps(out))
    else:
        print(format_constrained_table(result, args.top))
    return 0


def cmd_solve(args) -> int:
    """Solve ``args.file``; 0 on success, 2 for an unreadable file, 1 when solving fails."""
    from qopt.io import read_instance

    try:
        fmt = file_format(args.file, args.format)
    except InvalidInput as exc:
        print(f"qopt solve: {exc}", file=sys.stderr)
        return 2
    if fmt in MODEL_FORMATS:
        return _solve_constrained_file(args, fmt)
    try:
        instance = read_instance(args.file, format=fmt, problem=args.problem)
    except (OSError, ValueError) as exc:
        print(f"qopt solve: {exc}", file=sys.stderr)
        return 2
    params = sampler_parameters(args)
    label = f"solving {instance.name} ({instance.bqm.num_variables} variables)"
    try:
        with Progress(label):
            if args.server:
                from qopt.client import Client

                with Client(args.server) as client:
                    result = client.solve(instance.bqm, backend=args.backend, timeout=args.timeout,
                                          name=instance.name, **params)
            else:
                result = _solve_here(instance.bqm, args, params)
    except Exception as exc:  # noqa: BLE001 - a CLI reports every failure in one line
        print(f"qopt solve: {exc}", file=sys.stderr)
        job_id = getattr(exc, "job_id", None)
        if job_id:
            print(f"the server goes on with it as job {job_id}: qopt result {job_id} --server {args.server}",
                  file=sys.stderr)
        return 1
    if args.json:
        out = result.to_dict()
        out["candidates"] = out["candidates"][: args.top]
        for cand in out["candidates"]:
            cand[instance.objective_name.replace(" ", "_")] = instance.to_objective(cand["energy"])
        out["instance"] = {"name": instance.name, "best_known": instance.best_known,
                           "objective": instance.objective_name, "sense": instance.sense}
        print(json.dumps(out))
    else:
        print(format_table(result, instance, args.top))
    return 0
