#pragma once
// Data-parallel gradient averaging overlapped with backward, as DDP's reducer does. The parameters are
// grouped into ~25 MB buckets in reverse registration order (about the order in which backward produces
// their gradients). A hook on each parameter copies its gradient into its bucket, and a bucket's
// all-reduce starts as soon as the bucket is full and every bucket before it has started, so every
// rank starts the same collectives in the same order while backward is still running. finish() starts
// what is left (a parameter without a gradient counts as zeros), waits, and writes the averages into
// .grad. With gradient accumulation only the last micro-batch is armed: its hooks add the gradient
// accumulated so far. The result is ProcessGroup::average_gradients': identical for 2 ranks, and equal up
// to the summation order of the all-reduce for more (the buckets have other boundaries).
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <torch/torch.h>

#include "train/distributed.h"

namespace raddiag::train {

class GradientReducer {
 public:
  GradientReducer(std::shared_ptr<ProcessGroup> group, std::vector<torch::Tensor> params,
                  size_t bucket_bytes = size_t(25) << 20);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // The next backward is the step's last: its hooks fill the buckets and start their all-reduces. Exactly
  // one backward may run between arm() and finish().
  void arm();
  // After that backward: starts the remaining buckets, waits for all, and writes the averages into
  // .grad (which every parameter then has).
  void finish();

  int64_t buckets() const { return static_cast<int64_t>(buckets_.size()); }
  // Buckets whose all-reduce started inside the last armed backward (the overlapped ones).
  int64_t started_during_backward() const { return started_in_backward_; }

 private:
  struct Bucket {
    std::vector<size_t> members;  // parameter indices
    std::vector<int64_t> offsets;  // of each member in `flat`
    int64_t numel = 0;
    torch::Tensor flat;
    size_t filled = 0;
    PendingCollective pending;
  };
  void on_gradient(size_t param, const torch::Tensor& grad);
  void fill(size_t param, const torch::Tensor& value);
  void start_ready_buckets();

  std::shared_ptr<ProcessGroup> group_;
  std::vector<torch::Tensor> params_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_, slot_of_;
  std::vector<bool> filled_;
  std::vector<unsigned> hooks_;
  std::mutex mu_;  // hooks may run on autograd's device threads
  bool armed_ = false;
  size_t next_to_start_ = 0;
  int64_t started_in_backward_ = 0;
};

}  // namespace raddiag::train
