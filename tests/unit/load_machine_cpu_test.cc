#include <gtest/gtest.h>

#include "tools/load/machine_cpu.h"

namespace tg::load {
namespace {

TEST(LoadMachineCpu, ReadsTheAggregateLineIdleAndIowaitAsIdle) {
  // user nice system idle iowait irq softirq steal guest guest_nice
  const auto ticks =
      parse_proc_stat("cpu  100 5 50 800 20 3 2 1 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\n");
  ASSERT_TRUE(ticks.has_value());
  EXPECT_EQ(ticks->total, 981u);
  EXPECT_EQ(ticks->busy, 161u);
}

TEST(LoadMachineCpu, RefusesTextThatIsNotTheAggregateLine) {
  EXPECT_FALSE(parse_proc_stat("").has_value());
  EXPECT_FALSE(parse_proc_stat("cpu0 1 2 3 4 5 6 7 8\n").has_value());
  EXPECT_FALSE(parse_proc_stat("cpu  1 2 3\n").has_value());  // too few columns
  EXPECT_FALSE(parse_proc_stat("cpu  1 2 x 4 5 6 7 8\n").has_value());
}

TEST(LoadMachineCpu, BusyFractionIsTheShareOfTicksBetweenTwoReadings) {
  const MachineTicks begin{.busy = 100, .total = 1000};
  const MachineTicks end{.busy = 250, .total = 1200};
  const auto fraction = busy_fraction(begin, end);
  ASSERT_TRUE(fraction.has_value());
  EXPECT_DOUBLE_EQ(*fraction, 0.75);
  EXPECT_FALSE(busy_fraction(begin, begin).has_value());       // no tick passed
  EXPECT_FALSE(busy_fraction(std::nullopt, end).has_value());  // unreadable at the start
  EXPECT_FALSE(busy_fraction(end, begin).has_value());         // readings out of order
}

TEST(LoadMachineCpu, ThisMachineReportsSomeTicks) {
  const auto ticks = read_machine_ticks();
  ASSERT_TRUE(ticks.has_value());
  EXPECT_GT(ticks->total, 0u);
  EXPECT_LE(ticks->busy, ticks->total);
}

}  // namespace
}  // namespace tg::load
