// A minimal test harness for the C++ kernels (no framework needed; CTest runs each binary).
//
//   QOPT_TEST(name) { CHECK(cond); CHECK_NEAR(a, b, tol); CHECK_THROWS(expr, Exception); }
//
// A failed check prints file:line and the values, and marks the test failed; the test goes
// on (REQUIRE stops it). main() runs every registered test, or those named on the command
// line, and returns nonzero if any failed.
#pragma once

#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace qopt_test {

struct Case {
  const char* name;
  std::function<void()> body;
};

inline std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

inline int& failures() {
  static int count = 0;
  return count;
}

struct Register {
  Register(const char* name, std::function<void()> body) { registry().push_back({name, std::move(body)}); }
};

struct Abort {};  // thrown by REQUIRE to end the current test

inline void fail(const char* file, int line, const std::string& what) {
  ++failures();
  std::fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what.c_str());
}

template <class A, class B>
std::string describe(const char* expr, const A& a, const B& b) {
  std::ostringstream os;
  os.precision(17);
  os << expr << "  [" << a << " vs " << b << "]";
  return os.str();
}

inline int run(int argc, char** argv) {
  int failed_cases = 0, ran = 0;
  for (const Case& c : registry()) {
    bool selected = argc <= 1;
    for (int a = 1; a < argc; ++a) selected = selected || std::string(argv[a]) == c.name;
    if (!selected) continue;
    ++ran;
    const int before = failures();
    try {
      c.body();
    } catch (const Abort&) {
    } catch (const std::exception& e) {
      fail(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what());
    } catch (...) {
      fail(__FILE__, __LINE__, "unexpected non-standard exception");
    }
    const bool ok = failures() == before;
    failed_cases += ok ? 0 : 1;
    std::printf("%-60s %s\n", c.name, ok ? "ok" : "FAILED");
  }
  std::printf("%d test(s), %d failed\n", ran, failed_cases);
  if (ran == 0) {
    std::fprintf(stderr, "no test matched the names given\n");
    return 2;
  }
  return failed_cases == 0 ? 0 : 1;
}

}  // namespace qopt_test

#define QOPT_TEST_CAT2(a, b) a##b
#define QOPT_TEST_CAT(a, b) QOPT_TEST_CAT2(a, b)
#define QOPT_TEST(name)                                                                   \
  static void QOPT_TEST_CAT(qopt_test_fn_, __LINE__)();                                   \
  static const ::qopt_test::Register QOPT_TEST_CAT(qopt_test_reg_, __LINE__)(            \
      name, &QOPT_TEST_CAT(qopt_test_fn_, __LINE__));                                     \
  static void QOPT_TEST_CAT(qopt_test_fn_, __LINE__)()

#define CHECK(cond)                                                     \
  do {                                                                  \
    if (!(cond)) ::qopt_test::fail(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)

#define REQUIRE(cond)                                                     \
  do {                                                                    \
    if (!(cond)) {                                                        \
      ::qopt_test::fail(__FILE__, __LINE__, "REQUIRE(" #cond ")");        \
      throw ::qopt_test::Abort{};                                         \
    }                                                                     \
  } while (0)

#define CHECK_EQ(a, b)                                                                            \
  do {                                                                                            \
    const auto qopt_a_ = (a);                                                                     \
    const auto qopt_b_ = (b);                                                                     \
    if (!(qopt_a_ == qopt_b_))                                                                    \
      ::qopt_test::fail(__FILE__, __LINE__, ::qopt_test::describe("CHECK_EQ(" #a ", " #b ")", qopt_a_, qopt_b_)); \
  } while (0)

// |a - b| <= tol (absolute).
#define CHECK_NEAR(a, b, tol)                                                                     \
  do {                                                                                            \
    const double qopt_a_ = static_cast<double>(a);                                                \
    const double qopt_b_ = static_cast<double>(b);                                                \
    if (!(std::fabs(qopt_a_ - qopt_b_) <= (tol)))                                                 \
      ::qopt_test::fail(__FILE__, __LINE__,                                                       \
                        ::qopt_test::describe("CHECK_NEAR(" #a ", " #b ", " #tol ")", qopt_a_, qopt_b_)); \
  } while (0)

// a <= b + tol.
#define CHECK_LE(a, b, tol)                                                                       \
  do {                                                                                            \
    const double qopt_a_ = static_cast<double>(a);                                                \
    const double qopt_b_ = static_cast<double>(b);                                                \
    if (!(qopt_a_ <= qopt_b_ + (tol)))                                                            \
      ::qopt_test::fail(__FILE__, __LINE__,                                                       \
                        ::qopt_test::describe("CHECK_LE(" #a ", " #b ", " #tol ")", qopt_a_, qopt_b_)); \
  } while (0)

#define CHECK_THROWS(expr, Exception)                                                   \
  do {                                                                                  \
    bool qopt_thrown_ = false;                                                          \
    try {                                                                               \
      (void)(expr);                                                                     \
    } catch (const Exception&) {                                                        \
      qopt_thrown_ = true;                                                              \
    } catch (...) {                                                                     \
    }                                                                                   \
    if (!qopt_thrown_)                                                                  \
      ::qopt_test::fail(__FILE__, __LINE__, "CHECK_THROWS(" #expr ", " #Exception ")"); \
  } while (0)

#define QOPT_TEST_MAIN() \
  int main(int argc, char** argv) { return ::qopt_test::run(argc, argv); }
