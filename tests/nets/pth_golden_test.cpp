// The .pth load path end to end: tests/nets/data/mobilenet_v2_w025.pth is torch.save(state_dict()) of
// torchvision's mobilenet_v2(width_mult=0.25, num_classes=8) after the deterministic fill (torch 1.13,
// zip format; tools/golden/nets.py `pth`). anima::io::load_weights reads it, load_state_dict (strict)
// puts it into anima's MobileNetV2(8, 0.25), and
//   - every tensor read from the file equals anima::nn::deterministic_fill's, bit for bit (the file
//     holds the script's fill, which the fill test holds equal to ours): the reader lost no name, shape,
//     dtype or byte;
//   - eval logits [2, 8] for two 64x64 images match PyTorch's (mobilenet_v2_w025_expected.safetensors)
//     within 1e-4 of their scale (net_golden.hpp: float32 summation order only).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include <anima/io/weights_file.hpp>
#include <anima/nets/mobilenet_v2.hpp>

#include "nets/net_golden.hpp"

namespace anima {
namespace {

TEST(PthGolden, MobileNetV2Width025LoadsAndMatchesTorchvision) {
  const std::string dir = ANIMA_TEST_DATA_DIR;
  const io::StateDict sd = io::load_weights(dir + "/mobilenet_v2_w025.pth");
  EXPECT_EQ(static_cast<int>(io::detect_weights_format(dir + "/mobilenet_v2_w025.pth")),
            static_cast<int>(io::WeightsFormat::PthZip));

  std::shared_ptr<nets::MobileNetV2> net;
  {
    nn::SkipInitGuard skip;
    net = nets::mobilenet_v2(8, 0.25);
  }
  const nn::LoadReport report = net->load_state_dict(sd);  // strict: every name and shape must match
  EXPECT_TRUE(report.ok()) << report.str();
  EXPECT_EQ(report.loaded.size(), sd.size());

  // The same net filled here: the file's tensors are these, bit for bit.
  auto filled = nets_golden::build_filled([] { return nets::mobilenet_v2(8, 0.25); });
  const io::StateDict want = filled->state_dict();
  ASSERT_EQ(sd.size(), want.size());
  for (const auto& item : want.items()) {
    const Tensor* got = sd.find(item.first);
    ASSERT_NE(got, nullptr) << item.first << " is not in the file";
    ASSERT_EQ(dtype_name(got->dtype()), std::string(dtype_name(item.second.dtype()))) << item.first;
    ASSERT_EQ(shape_str(got->shape()), shape_str(item.second.shape())) << item.first;
    const Tensor a = contiguous_copy(*got), b = contiguous_copy(item.second);
    EXPECT_EQ(0, std::memcmp(a.raw_data(), b.raw_data(), static_cast<std::size_t>(a.numel()) * element_size(a.dtype())))
        << item.first << " differs from the deterministic fill";
  }

  const nets_golden::Fixture fx("mobilenet_v2_w025_expected.safetensors", dir);
  net->eval();
  NoGradGuard no_grad;
  const Tensor logits = net->forward(nets_golden::make_input(fx.at("input_size")));
  nets_golden::expect_not_degenerate(logits, "logits");
  nets_golden::expect_close(logits, fx.at("logits"), nets_golden::kEvalRel, "logits");
}

}  // namespace
}  // namespace anima
