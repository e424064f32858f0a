// A downstream program: includes anima through anima::anima and uses it — a tensor, a matrix
// product on the packed GEMM, a gradient through the tape, and an anima::Error for a bad shape.
#include <cmath>
#include <cstdio>
#include <string>

#include <anima/autograd/engine.hpp>
#include <anima/core/copy.hpp>
#include <anima/ops/elementwise.hpp>
#include <anima/ops/factory.hpp>
#include <anima/ops/matmul.hpp>
#include <anima/ops/reduce.hpp>

int main() {
  using namespace anima;
  // y = Σ (A·x)², A = [[1, 2], [3, 4]], x = [1, 1]: A·x = [3, 7], y = 58, dy/dx = 2·Aᵀ·(A·x) = [48, 68].
  Tensor a = from_vector<float>({1, 2, 3, 4}, {2, 2});
  Tensor x = from_vector<float>({1, 1}, {2}, TensorOptions().with_requires_grad());
  Tensor y = sum(pow(matmul(a, x), 2.0));
  backward(y);
  const auto g = to_vector<float>(x.grad());
  if (item<float>(y) != 58.0f || g[0] != 48.0f || g[1] != 68.0f) {
    std::fprintf(stderr, "wrong result: y %g, grad [%g, %g]\n", item<float>(y), g[0], g[1]);
    return 1;
  }
  try {
    matmul(a, zeros({3, 1}));
    std::fprintf(stderr, "a shape mismatch did not throw\n");
    return 1;
  } catch (const Error& e) {
    if (std::string(e.what()).find("anima::matmul") == std::string::npos) {
      std::fprintf(stderr, "unexpected message: %s\n", e.what());
      return 1;
    }
    std::printf("anima consumer ok: y = %g, dy/dx = [%g, %g]; error: %s\n", item<float>(y), g[0], g[1], e.what());
  }
  return 0;
}
