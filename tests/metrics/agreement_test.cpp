// Inter-annotator agreement (include/anima/metrics/agreement.hpp) against scikit-learn 1.2's
// cohen_kappa_score on fixed label pairs (tools/golden/agreement.py ->
// tests/golden/data/agreement.safetensors), the consistency measures on hand-counted cases, and the
// one-to-one pairing of regions (region_matching.hpp).
//
// Tolerance 1e-12 relative: both sides evaluate 1 − Σ w·C / Σ w·E in float64 from the same integer
// counts; numpy sums the k x k products in another order (at most 64 terms here), which moves the
// result by a few ulps.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <anima/core/copy.hpp>
#include <anima/metrics/agreement.hpp>
#include <anima/metrics/region_matching.hpp>

#include "../core/expect_error.hpp"
#include "../golden/golden_file.hpp"

namespace anima {
namespace {

const testing::GoldenFile& fixture() { return testing::golden("agreement.safetensors"); }

std::vector<int> ints(const std::string& name) {
  const std::vector<std::int64_t> v = fixture().int64s(name);
  return std::vector<int>(v.begin(), v.end());
}

TEST(CohenKappaGolden, EqualsScikitLearnForEveryCaseAndWeighting) {
  const std::vector<std::string> cases = fixture().list("cases");
  ASSERT_EQ(cases.size(), 7u);
  const std::pair<const char*, metrics::KappaWeights> weightings[] = {{"none", metrics::KappaWeights::None},
                                                                     {"linear", metrics::KappaWeights::Linear},
                                                                     {"quadratic", metrics::KappaWeights::Quadratic}};
  for (const std::string& c : cases) {
    const std::vector<int> y1 = ints(c + "/y1"), y2 = ints(c + "/y2");
    const std::vector<int> labels = fixture().has(c + "/labels") ? ints(c + "/labels") : std::vector<int>{};
    for (const auto& [name, w] : weightings) {
      const double expected = item<double>(fixture().at(c + "/kappa_" + name));
      const double got = metrics::cohen_kappa(y1, y2, labels, w);
      if (std::isnan(expected)) {
        EXPECT_TRUE(std::isnan(got)) << c << " " << name << ": " << got;
      } else {
        EXPECT_NEAR(got, expected, 1e-12 * std::max(1.0, std::abs(expected))) << c << " " << name;
      }
    }
  }
}

TEST(CohenKappaGolden, CasesCoverWhatTheyClaim) {
  // The fixture's edge cases are what the test relies on: identical lists give 1, a constant label
  // gives NaN, independent lists give about 0.
  EXPECT_EQ(item<double>(fixture().at("perfect/kappa_none")), 1.0);
  EXPECT_TRUE(std::isnan(item<double>(fixture().at("constant/kappa_none"))));
  EXPECT_LT(std::abs(item<double>(fixture().at("chance/kappa_none"))), 0.1);
}

TEST(CohenKappa, TextbookExample) {
  // Two raters, 50 items, yes/no: 20 both yes, 15 both no, 5 yes/no, 10 no/yes (the example of
  // Cohen's kappa on Wikipedia): p_o = 0.7, p_e = 0.5, kappa = 0.4.
  std::vector<int> a, b;
  auto add = [&](int n, int x, int y) {
    for (int i = 0; i < n; ++i) a.push_back(x), b.push_back(y);
  };
  add(20, 1, 1), add(15, 0, 0), add(5, 1, 0), add(10, 0, 1);
  EXPECT_NEAR(metrics::cohen_kappa(a, b), 0.4, 1e-15);
  EXPECT_TRUE(std::isnan(metrics::cohen_kappa({}, {})));
  EXPECT_NE(testing::error_of([] { metrics::cohen_kappa({1, 2}, {1}); }).find("the same number"), std::string::npos);
}

TEST(InterIndexerConsistency, HooperAndRollingFromCounts) {
  // A = 10 regions, B = 8, C = 6 in common: Hooper 6 / 12, Rolling 12 / 18.
  EXPECT_DOUBLE_EQ(metrics::hooper_consistency(10, 8, 6), 0.5);
  EXPECT_DOUBLE_EQ(metrics::rolling_consistency(10, 8, 6), 12.0 / 18.0);
  EXPECT_DOUBLE_EQ(metrics::hooper_consistency(5, 5, 5), 1.0);
  EXPECT_DOUBLE_EQ(metrics::rolling_consistency(3, 4, 0), 0.0);
  EXPECT_TRUE(std::isnan(metrics::hooper_consistency(0, 0, 0)));
  EXPECT_NE(testing::error_of([] { metrics::rolling_consistency(2, 3, 4); }).find("min(A, B)"), std::string::npos);
}

TEST(RegionMatching, GreedyByIouOneToOne) {
  // A0 overlaps B0 (0.9) and B1 (0.6); A1 overlaps B0 (0.7) only: A0-B0 goes first, then A1 has
  // nothing left above the threshold, and B1 stays unmatched because A0 is taken.
  const std::vector<std::vector<double>> iou = {{0.9, 0.6}, {0.7, 0.0}};
  const auto m = metrics::match_by_iou(iou, 0.5);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].a, 0u);
  EXPECT_EQ(m[0].b, 0u);
  const auto all = metrics::match_by_iou({{0.9, 0.0}, {0.0, 0.55}, {0.1, 0.2}}, 0.5);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].a, 1u);
  EXPECT_EQ(all[1].b, 1u);
  EXPECT_TRUE(metrics::match_by_iou({{0.49}}, 0.5).empty());
  EXPECT_TRUE(metrics::match_by_iou({}, 0.5).empty());
}

TEST(RegionMatching, MaskAndBoxIou) {
  const std::vector<std::uint8_t> a = {1, 1, 0, 0}, b = {0, 1, 1, 0};
  EXPECT_DOUBLE_EQ(metrics::mask_iou(a, b), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(metrics::mask_iou({0, 0}, {0, 0}), 0.0);
  EXPECT_DOUBLE_EQ(metrics::box_iou({0, 0, 2, 2}, {1, 0, 3, 2}), 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(metrics::box_iou({0, 0, 1, 1}, {2, 2, 3, 3}), 0.0);
  EXPECT_NE(testing::error_of([] { metrics::mask_iou({1}, {1, 0}); }).find("mask_iou"), std::string::npos);
}

}  // namespace
}  // namespace anima
