#pragma once
// Items produced ahead of their consumer on worker threads and handed back in their order: the input side
// of batch prediction, where the next cases are decoded while the model runs on the current ones.
//
// produce(k) builds item k of `keys` (in any thread); take() returns the items in the order of `keys`,
// blocking until the next one is ready. At most `capacity` items are built ahead of the consumer (memory
// stays bounded whatever the number of items). An exception thrown by produce(k) is rethrown by the
// take() of item k, so a failing item fails where it would have failed without threads. With 0 workers
// take() builds the item itself: the same results, in the same order, on the caller's thread.
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace raddiag {

template <typename T>
class OrderedPrefetch {
 public:
  using Producer = std::function<T(int64_t key)>;

  // `on_worker_start` runs once at the start of each worker thread (e.g. to limit its intra-op threads).
  OrderedPrefetch(std::vector<int64_t> keys, Producer produce, int workers, int capacity,
                  std::function<void()> on_worker_start = nullptr)
      : keys_(std::move(keys)), produce_(std::move(produce)), capacity_(std::max(1, capacity)) {
    const int n = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(std::max(0, workers)), keys_.size()));
    for (int w = 0; w < n; ++w)
      threads_.emplace_back([this, on_worker_start] {
        if (on_worker_start) on_worker_start();
        work();
      });
  }
  ~OrderedPrefetch() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    room_.notify_all();
    for (auto& t : threads_) t.join();
  }
  OrderedPrefetch(const OrderedPrefetch&) = delete;
  OrderedPrefetch& operator=(const OrderedPrefetch&) = delete;

  bool done() const { return consumed_ >= keys_.size(); }
  // The key of the item the next take() returns.
  int64_t next_key() const { return keys_.at(consumed_); }

  // The next item in order (rethrows its producer's exception). Throws std::out_of_range past the end.
  T take() {
    if (done()) throw std::out_of_range("OrderedPrefetch::take past the last item");
    const std::size_t k = consumed_;
    if (threads_.empty()) {
      ++consumed_;
      return produce_(keys_[k]);
    }
    Slot slot;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_cv_.wait(lock, [&] { return ready_.count(k) > 0; });
      slot = std::move(ready_.at(k));
      ready_.erase(k);
      ++consumed_;
      consumed_shared_ = consumed_;
    }
    room_.notify_all();
    if (slot.error) std::rethrow_exception(slot.error);
    return std::move(*slot.value);
  }

 private:
  struct Slot {
    std::optional<T> value;
    std::exception_ptr error;
  };

  void work() {
    for (;;) {
      std::size_t k = 0;
      {
        std::unique_lock<std::mutex> lock(mu_);
        room_.wait(lock, [&] {
          return stopping_ || (next_ < keys_.size() && next_ < consumed_shared_ + static_cast<std::size_t>(capacity_));
        });
        if (stopping_ || next_ >= keys_.size()) return;
        k = next_++;
      }
      Slot slot;
      try {
        slot.value.emplace(produce_(keys_[k]));
      } catch (...) {
        slot.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        ready_.emplace(k, std::move(slot));
      }
      ready_cv_.notify_all();
      // A worker that ran out of keys leaves; the others finish theirs.
    }
  }

  const std::vector<int64_t> keys_;
  const Producer produce_;
  const int capacity_;
  std::size_t consumed_ = 0;  // the consumer's own count (read without the lock by done()/next_key())

  std::mutex mu_;
  std::condition_variable room_;      // workers wait for room ahead of the consumer
  std::condition_variable ready_cv_;  // the consumer waits for its item
  std::size_t next_ = 0;              // next position to hand to a worker
  std::size_t consumed_shared_ = 0;   // consumed_, as the workers see it
  std::map<std::size_t, Slot> ready_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace raddiag
