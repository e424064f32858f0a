// `anima agreement` (tools/anima/agreement_command.hpp) on two annotators' VIA files against what
// scikit-learn 1.2 computes from the same regions (tools/golden/agreement.py ->
// tests/golden/data/agreement/{a,b,expected}.json): the pairing by mask IoU, the counts, Cohen's kappa,
// the consistency measures, per class and the confusion. Floating-point figures to 1e-12 relative
// (float64 on both sides from the same integer counts, summed in another order); counts exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "anima/agreement_command.hpp"
#include "run_subcommand.hpp"

namespace anima::cli {
namespace agreement_test {

const std::string kDir = std::string(ANIMA_GOLDEN_DIR) + "/agreement";

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

void expect_same_json(const nlohmann::json& got, const nlohmann::json& want, const std::string& where) {
  if (want.is_number_float()) {
    ASSERT_TRUE(got.is_number()) << where << ": " << got;
    const double w = want.get<double>();
    EXPECT_NEAR(got.get<double>(), w, 1e-12 * std::max(1.0, std::abs(w))) << where;
  } else if (want.is_object()) {
    ASSERT_TRUE(got.is_object()) << where;
    for (const auto& [key, value] : want.items()) {
      ASSERT_TRUE(got.contains(key)) << where << " has no " << key;
      expect_same_json(got[key], value, where + "." + key);
    }
  } else if (want.is_array()) {
    ASSERT_TRUE(got.is_array()) << where;
    ASSERT_EQ(got.size(), want.size()) << where;
    for (std::size_t i = 0; i < want.size(); ++i) expect_same_json(got[i], want[i], where + "[" + std::to_string(i) + "]");
  } else {
    EXPECT_EQ(got, want) << where;
  }
}

TEST(AgreementCli, EqualsScikitLearnOnTwoAnnotatorsFiles) {
  const std::string out =
      testing::run_subcommand(add_agreement_command, {"agreement", kDir + "/a.json", kDir + "/b.json", "--json"});
  nlohmann::json got = nlohmann::json::parse(out);
  const nlohmann::json want = read_json(kDir + "/expected.json");
  // The pairs come in the command's order; the fixture lists them by image and A's region.
  for (auto& p : got["pairs"]) {
    EXPECT_GT(p["iou"].get<double>(), 0.5) << p;
    p.erase("iou");
  }
  std::sort(got["pairs"].begin(), got["pairs"].end(), [](const nlohmann::json& x, const nlohmann::json& y) {
    return std::make_tuple(x["image"].get<std::string>(), x["a"].get<int>()) <
           std::make_tuple(y["image"].get<std::string>(), y["a"].get<int>());
  });
  expect_same_json(got, want, "agreement");
  EXPECT_EQ(got["schema"], "anima.agreement/1");
  // The fixture is a real test of the measures: some regions unmatched, some labels changed.
  EXPECT_GT(want["regions"]["unmatched_a"].get<int>(), 0);
  EXPECT_GT(want["regions"]["unmatched_b"].get<int>(), 0);
  EXPECT_LT(want["attributes"]["emotion"]["kappa"].get<double>(), 0.95);
  EXPECT_GT(want["attributes"]["emotion"]["kappa"].get<double>(), 0.3);
}

TEST(AgreementCli, TextReportAndErrors) {
  const std::string text = testing::run_subcommand(add_agreement_command, {"agreement", kDir + "/a.json", kDir + "/b.json"});
  EXPECT_NE(text.find("emotion: kappa "), std::string::npos) << text;
  EXPECT_NE(text.find("confusion of matched regions"), std::string::npos) << text;
  const std::string missing = testing::error_message(
      [] { testing::run_subcommand(add_agreement_command, {"agreement", kDir + "/a.json", kDir + "/nope.json"}); });
  EXPECT_NE(missing.find("nope.json"), std::string::npos) << missing;
  const std::string attribute = testing::error_message([] {
    testing::run_subcommand(add_agreement_command,
                            {"agreement", kDir + "/a.json", kDir + "/b.json", "--attribute", "colour"});
  });
  EXPECT_NE(attribute.find("colour"), std::string::npos) << attribute;
}

}  // namespace agreement_test
}  // namespace anima::cli
