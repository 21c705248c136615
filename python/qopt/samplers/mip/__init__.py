"""Exact classical backends: HiGHS MIP, OR-Tools CP-SAT and SCIP, as dimod samplers sharing
one neutral model (:mod:`.model`) and one interface (:mod:`.base`): ``sample(bqm)`` and
``sample_cqm(cqm)`` return the best solution(s) found with the solver's status, proven dual
bound and gap. Solver libraries are imported when a backend runs."""
