"""``qopt solve FILE``: solve an instance file or a constrained model, here or on a server.

The file is read by :func:`qopt.cli.options.load_input` (every format; detected when
``--format`` is absent): an instance file (Gset/rudy graph, OR-Library bqp, Biq Mac
``.sparse``) is solved as a BQM, a model file (LP, MPS, QKP, TSPLIB, a spec JSON, a dimod
CQM file) as a constrained model. ``--server`` sends it to a qopt server (with ``--token``
/ ``$QOPT_TOKEN`` and ``--ca-cert``); without it the same pipeline runs here.
"""
from __future__ import annotations

import json

from qopt.cli.options import client_for, load_input, sampler_parameters
from qopt.cli.output import Progress, format_result, result_document

__all__ = ["cmd_solve", "solve_input"]


def solve_input(inp, args, params: dict, on_progress=None):
    """Solve a read FILE here or on ``args.server``: the one place the CLI calls the pipeline.

    Args:
        inp: the :class:`qopt.cli.options.Input`.
        args: the command's arguments (``server``, ``token``, ``ca_cert``, ``backend``, ``timeout``).
        params: sampler parameters.
        on_progress: in-process only: receives the pipeline's progress events (new best, bound;
            see :func:`qopt.solve`). A ``Solve`` call to a server is one request and reports none.

    Returns:
        The :class:`qopt.Result`.

    Raises:
        qopt.errors.QoptError: in-process failures (by class, see :mod:`qopt.cli.exit_codes`).
        qopt.client.SolveError: the server refused or failed the call.
    """
    if args.server:
        from qopt.model import to_lp

        # a constrained model travels as LP text, which keeps its own sense
        model = to_lp(inp.model) if inp.constrained else inp.model
        with client_for(args) as client:
            return client.solve(model, backend=args.backend, timeout=args.timeout, name=inp.name, **params)
    from qopt.solve import solve

    return solve(inp.model, backend=args.backend, time_budget=args.timeout, on_progress=on_progress, **params)


def cmd_solve(args) -> int:
    """Solve ``args.file`` and print its top candidates (a table, or one JSON document) on
    ``args.out``; 0 on success. Failures raise (the exit code is chosen by class)."""
    inp = load_input(args)
    params = sampler_parameters(args)
    try:
        with Progress(f"solving {inp.describe()}", inp=inp) as progress:
            result = solve_input(inp, args, params, on_progress=progress.update if progress.active else None)
    except Exception as exc:
        job_id = getattr(exc, "job_id", None)
        if job_id:
            exc.add_note(f"the server goes on with it as job {job_id}: qopt result {job_id} --server {args.server}")
        raise
    if args.json:
        args.out.write(json.dumps(result_document(result, args.top, inp)) + "\n")
    else:
        args.out.write(format_result(result, args.top, inp) + "\n")
    return 0
