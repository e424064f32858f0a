// anima/core/print.hpp — `std::cout << t` prints a tensor's values, shape, dtype and device,
// eliding the middle of long dimensions like PyTorch ("...").
#pragma once

#include <cstdint>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/core/tensor.hpp>

namespace anima {

namespace detail {
inline void print_values(std::ostream& os, const std::vector<double>& v, const Shape& shape, std::size_t dim,
                         std::int64_t offset, int indent, bool integral) {
  constexpr std::int64_t kEdge = 3;  // values shown at each end of a long dimension
  const std::int64_t n = shape[dim];
  const std::int64_t inner = numel_of(Shape(shape.begin() + static_cast<std::ptrdiff_t>(dim) + 1, shape.end()));
  os << "[";
  for (std::int64_t i = 0; i < n; ++i) {
    if (n > 2 * kEdge && i == kEdge) {
      os << (dim + 1 == shape.size() ? "..., " : "...,\n" + std::string(indent + 1, ' '));
      i = n - kEdge;
    }
    if (dim + 1 == shape.size()) {
      if (integral)
        os << static_cast<long long>(v[offset + i]);
      else
        os << std::setprecision(6) << v[offset + i];
    } else {
      print_values(os, v, shape, dim + 1, offset + i * inner, indent + 1, integral);
    }
    if (i + 1 < n) os << (dim + 1 == shape.size() ? ", " : ",\n" + std::string(indent + 1, ' '));
  }
  os << "]";
}
}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "Tensor(undefined)";
  const std::vector<double> v = to_vector<double>(t);
  const bool integral = t.dtype() == DType::Int64 || t.dtype() == DType::Bool;
  os << "tensor(";
  if (t.dim() == 0) {
    if (integral)
      os << static_cast<long long>(v[0]);
    else
      os << std::setprecision(6) << v[0];
  } else if (t.numel() == 0)
    os << "[]";
  else
    detail::print_values(os, v, t.shape(), 0, 0, 7, integral);
  os << ", shape=" << shape_str(t.shape()) << ", dtype=" << dtype_name(t.dtype()) << ", device=" << t.device().str();
  if (t.requires_grad()) os << ", requires_grad";
  return os << ")";
}

inline std::string to_string(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

}  // namespace anima
