// One bind_<concept>() per file; module.cpp only calls them. Shared here: the array types
// the bindings accept (C-contiguous, converted on the way in) and the CSR check.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>

#include "qopt/anneal.hpp"

namespace qopt::bindings {

using f64 = pybind11::array_t<double, pybind11::array::c_style | pybind11::array::forcecast>;
using i64 = pybind11::array_t<std::int64_t, pybind11::array::c_style | pybind11::array::forcecast>;
using i32 = pybind11::array_t<std::int32_t, pybind11::array::c_style | pybind11::array::forcecast>;
using i8 = pybind11::array_t<std::int8_t, pybind11::array::c_style | pybind11::array::forcecast>;

// A view of the arrays as qopt::IsingCSR (anneal.hpp), after checking their shapes and
// validate_csr(); throws std::invalid_argument. Defined in bind_anneal.cpp.
IsingCSR make_csr(const f64& h, const i32& row_ptr, const i32& col, const f64& J);

void bind_anneal(pybind11::module_& m);
void bind_bnb(pybind11::module_& m);
void bind_descent(pybind11::module_& m);
void bind_presolve(pybind11::module_& m);
void bind_pt(pybind11::module_& m);
void bind_statevector(pybind11::module_& m);
}  // namespace qopt::bindings
