// OrderedPrefetch: items built on worker threads come back in their order, whatever the workers' timing;
// a producer's exception surfaces at its own item; no more than `capacity` items are built ahead.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "util/ordered_prefetch.h"

namespace raddiag {
namespace {

// Later keys finish sooner (the workers' completion order is reversed within each window).
std::string slow_then_fast(int64_t key) {
  std::this_thread::sleep_for(std::chrono::milliseconds((key * 7) % 5));
  return "item-" + std::to_string(key);
}

std::vector<std::string> take_all(OrderedPrefetch<std::string>& p) {
  std::vector<std::string> out;
  while (!p.done()) out.push_back(p.take());
  return out;
}

TEST(OrderedPrefetch, ReturnsItemsInKeyOrderForAnyWorkerCount) {
  const std::vector<int64_t> keys{9, 2, 7, 0, 5, 11, 3, 3, 8, 1, 4, 6};
  std::vector<std::string> expected;
  for (auto k : keys) expected.push_back("item-" + std::to_string(k));
  for (int workers : {0, 1, 3, 8}) {
    OrderedPrefetch<std::string> p(keys, slow_then_fast, workers, 4);
    EXPECT_EQ(take_all(p), expected) << workers << " workers";
  }
}

TEST(OrderedPrefetch, AProducersExceptionSurfacesAtItsOwnItem) {
  OrderedPrefetch<int> p({0, 1, 2, 3}, [](int64_t k) -> int {
    if (k == 2) throw std::runtime_error("case 2 is truncated");
    return static_cast<int>(k * 10);
  }, 2, 2);
  EXPECT_EQ(p.take(), 0);
  EXPECT_EQ(p.take(), 10);
  EXPECT_EQ(p.next_key(), 2);
  try {
    p.take();
    FAIL() << "item 2 should throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "case 2 is truncated");
  }
  EXPECT_EQ(p.take(), 30);  // the items after a failure still come
  EXPECT_TRUE(p.done());
  EXPECT_THROW(p.take(), std::out_of_range);
}

TEST(OrderedPrefetch, BuildsAtMostCapacityItemsAheadOfTheConsumer) {
  std::atomic<int> built{0};
  std::vector<int64_t> keys(40);
  for (int64_t i = 0; i < 40; ++i) keys[static_cast<std::size_t>(i)] = i;
  OrderedPrefetch<int64_t> p(keys, [&](int64_t k) { built.fetch_add(1); return k; }, 4, 3);
  int taken = 0;
  int max_ahead = 0;
  while (!p.done()) {
    // Let the workers run as far as they are allowed.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    max_ahead = std::max(max_ahead, built.load() - taken);
    EXPECT_EQ(p.take(), taken);
    ++taken;
  }
  EXPECT_EQ(built.load(), 40);
  EXPECT_LE(max_ahead, 3);
  EXPECT_GE(max_ahead, 2);  // and they did work ahead
}

TEST(OrderedPrefetch, StopsCleanlyWithItemsLeftAndRunsTheWorkerStartHook) {
  std::atomic<int> started{0};
  {
    OrderedPrefetch<int64_t> p({1, 2, 3, 4, 5, 6}, [](int64_t k) { return k; }, 3, 2, [&] { started.fetch_add(1); });
    EXPECT_EQ(p.take(), 1);
  }  // destroyed with items unconsumed and workers waiting for room: must not hang
  EXPECT_EQ(started.load(), 3);
}

}  // namespace
}  // namespace raddiag
