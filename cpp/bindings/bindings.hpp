// One bind_<concept>() per file; module.cpp only calls them.
#pragma once
#include <pybind11/pybind11.h>

namespace qopt::bindings {
void bind_anneal(pybind11::module_& m);
void bind_descent(pybind11::module_& m);
void bind_presolve(pybind11::module_& m);
void bind_statevector(pybind11::module_& m);
}  // namespace qopt::bindings
