// The nets' parameter, buffer and module names against torchvision 0.14: tests/golden/data/net_names.json
// (written by tools/golden/net_names.py) lists, per configuration, model.state_dict()'s names, shapes
// and dtypes, which of them named_parameters() yields, and named_modules(). Everything must be equal,
// in order: load_state_dict of torchvision's checkpoints depends on the names and shapes, and the
// order is what users see when they walk a model. Nets are built under SkipInitGuard (no draws).
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <anima/io/json_reader.hpp>
#include <anima/nets/mobilenet_v2.hpp>
#include <anima/nets/registry.hpp>
#include <anima/nets/resnet.hpp>
#include <anima/nets/vgg.hpp>
#include <anima/nn/init.hpp>

namespace anima {
namespace {

io::JsonValue load_names() {
  const std::string path = std::string(ANIMA_GOLDEN_DIR) + "/net_names.json";
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << "cannot open " << path << " (regenerate: /usr/bin/python3 tools/golden/net_names.py)";
  std::stringstream ss;
  ss << f.rdbuf();
  return io::parse_json(ss.str(), "net_names_test", path);
}

std::string shape_of(const io::JsonValue& v) {
  Shape s;
  for (const auto& d : v.items) s.push_back(std::stoll(d.text));
  return shape_str(s);
}

std::shared_ptr<nn::Module> build(const io::JsonValue& cfg) {
  const std::string net = cfg.find("net")->text;
  const int num_classes = std::stoi(cfg.find("num_classes")->text);
  nn::SkipInitGuard skip;
  if (net == "mobilenet_v2") return nets::mobilenet_v2(num_classes, std::stod(cfg.find("width_mult")->text));
  return nets::make_net(net, num_classes);
}

TEST(NetNames, StateDictParametersAndModulesEqualTorchvision) {
  const io::JsonValue doc = load_names();
  const io::JsonValue* configs = doc.find("configs");
  ASSERT_TRUE(configs != nullptr && configs->is_array());
  ASSERT_EQ(configs->items.size(), 7u);
  for (const auto& cfg : configs->items) {
    std::string label = cfg.find("net")->text + " num_classes=" + cfg.find("num_classes")->text;
    if (cfg.find("width_mult")) label += " width_mult=" + cfg.find("width_mult")->text;
    SCOPED_TRACE(label);
    auto net = build(cfg);

    // state_dict: names, shapes, dtypes, in order.
    const io::StateDict sd = net->state_dict();
    const auto& expected = cfg.find("state_dict")->items;
    ASSERT_EQ(sd.size(), expected.size());
    std::vector<std::string> expected_params;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const auto& e = expected[i].items;
      const auto& [name, t] = sd.items()[i];
      ASSERT_EQ(name, e[0].text) << "entry " << i;
      EXPECT_EQ(shape_str(t.shape()), shape_of(e[1])) << name;
      EXPECT_EQ(std::string(dtype_name(t.dtype())), e[2].text) << name;
      if (e[3].text == "p") expected_params.push_back(e[0].text);
    }

    // named_parameters: the "p" entries, in order; all trainable.
    std::vector<std::string> params;
    std::int64_t numel = 0;
    for (const auto& [name, t] : net->named_parameters()) {
      params.push_back(name);
      numel += t.numel();
      EXPECT_TRUE(t.requires_grad()) << name;
    }
    EXPECT_EQ(params, expected_params);
    EXPECT_EQ(std::to_string(numel), cfg.find("num_parameters")->text);
    EXPECT_EQ(std::to_string(net->num_parameters()), cfg.find("num_parameters")->text);

    // named_modules, where the fixture has them.
    if (const io::JsonValue* mods = cfg.find("modules")) {
      std::vector<std::string> want, got;
      for (const auto& m : mods->items) want.push_back(m.text);
      for (const auto& m : net->named_modules()) got.push_back(m.first);
      EXPECT_EQ(got, want);
    }
  }
}

TEST(NetNames, MakeDivisibleAsTorchvision) {
  // _make_divisible(v, 8) from torchvision/models/_utils.py, values worked by hand:
  EXPECT_EQ(nets::make_divisible(32 * 1.0, 8), 32);
  EXPECT_EQ(nets::make_divisible(32 * 0.35, 8), 16);  // 11.2 -> int(15.2)//8*8 = 8 < 0.9*11.2 -> 16
  EXPECT_EQ(nets::make_divisible(16 * 0.35, 8), 8);   // 5.6 -> 8 (min_value)
  EXPECT_EQ(nets::make_divisible(24 * 1.4, 8), 32);   // 33.6 -> int(37.6)//8*8 = 32 >= 30.24
  EXPECT_EQ(nets::make_divisible(1280 * 1.4, 8), 1792);
}

TEST(NetNames, RegistryKnowsTheNetsAndRejectsOthers) {
  EXPECT_EQ(nets::net_names(),
            (std::vector<std::string>{"vgg16", "vgg16_bn", "resnet50", "mobilenet_v2", "inception_v3"}));
  EXPECT_EQ(nets::net_input_size("inception_v3"), 299);
  EXPECT_EQ(nets::net_input_size("resnet50"), 224);
  try {
    nets::make_net("resnet51", 10);
    ADD_FAILURE() << "expected anima::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown net 'resnet51'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("mobilenet_v2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace anima
