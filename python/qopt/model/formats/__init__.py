"""Model file formats, one module each, and the one format detector.

* :mod:`~qopt.model.formats.detect`: :func:`detect_format`, the format of a file from its
  name and first bytes (model and instance formats alike).
* :mod:`~qopt.model.formats.source`: whether an importer's argument is a path or text.
* :mod:`~qopt.model.formats.lp`: CPLEX LP (dimod); :func:`objective_sense` of LP text; reading
  under a time limit in a worker process (:mod:`~qopt.model.formats.lp_worker`).
* :mod:`~qopt.model.formats.mps`: MPS / QPS (HiGHS).
* :mod:`~qopt.model.formats.quadratic_program`: ``qiskit_optimization.QuadraticProgram``.
* :mod:`~qopt.model.formats.qkp`: quadratic knapsack instances (Billionnet & Soutif).
* :mod:`~qopt.model.formats.tsplib`: TSPLIB95 TSP / ATSP instances.

The JSON spec format is :func:`qopt.model.from_spec` / :func:`qopt.model.to_spec`;
:func:`qopt.model.load_model` reads any of these, asking the detector when not told.
"""
