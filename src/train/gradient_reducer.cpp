#include "train/gradient_reducer.h"

#include <algorithm>

#include "util/error.h"

namespace raddiag::train {

GradientReducer::GradientReducer(std::shared_ptr<ProcessGroup> group, std::vector<torch::Tensor> params, size_t bucket_bytes)
    : group_(std::move(group)), params_(std::move(params)) {
  if (!group_) throw Error("gradient reducer", "no process group");
  const size_t n = params_.size();
  bucket_of_.assign(n, 0);
  slot_of_.assign(n, 0);
  filled_.assign(n, false);
  // Reverse order: the last layers' gradients come first in backward.
  for (size_t k = n; k-- > 0;) {
    const auto& p = params_[k];
    const size_t bytes = static_cast<size_t>(p.numel()) * p.element_size();
    bool open = !buckets_.empty();
    if (open) {
      const auto& b = buckets_.back();
      const auto& first = params_[b.members.front()];
      const size_t b_bytes = static_cast<size_t>(b.numel) * first.element_size();
      open = first.scalar_type() == p.scalar_type() && first.device() == p.device() && b_bytes + bytes <= bucket_bytes;
    }
    if (!open) buckets_.emplace_back();
    auto& b = buckets_.back();
    bucket_of_[k] = buckets_.size() - 1;
    slot_of_[k] = b.members.size();
    b.members.push_back(k);
    b.offsets.push_back(b.numel);
    b.numel += p.numel();
  }
  for (auto& b : buckets_) {
    const auto& first = params_[b.members.front()];
    b.flat = torch::zeros({b.numel}, first.options().requires_grad(false));
  }
  for (size_t k = 0; k < n; ++k)  // all checked before any hook exists (a throw must leave none behind)
    if (!params_[k].requires_grad()) throw Error("gradient reducer", "parameter " + std::to_string(k) + " does not require a gradient");
  for (size_t k = 0; k < n; ++k) hooks_.push_back(params_[k].register_hook([this, k](torch::Tensor g) { on_gradient(k, g); }));
}

GradientReducer::~GradientReducer() {
  for (size_t k = 0; k < hooks_.size(); ++k) params_[k].remove_hook(hooks_[k]);
}

void GradientReducer::arm() {
  std::lock_guard<std::mutex> lock(mu_);
  armed_ = true;
  started_in_backward_ = 0;
}

void GradientReducer::fill(size_t k, const torch::Tensor& value) {
  auto& b = buckets_[bucket_of_[k]];
  const auto& p = params_[k];
  torch::Tensor slot = b.flat.narrow(0, b.offsets[slot_of_[k]], p.numel());
  if (value.defined()) slot.copy_(value.reshape({-1}));
  else slot.zero_();
  if (!filled_[k]) {
    filled_[k] = true;
    ++b.filled;
  }
}

void GradientReducer::start_ready_buckets() {
  while (next_to_start_ < buckets_.size() && buckets_[next_to_start_].filled == buckets_[next_to_start_].members.size()) {
    auto& b = buckets_[next_to_start_++];
    b.pending = group_->start_all_reduce_sum(b.flat);
    if (armed_) ++started_in_backward_;
  }
}

void GradientReducer::on_gradient(size_t k, const torch::Tensor& grad) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!armed_) return;  // an earlier micro-batch: plain accumulation into .grad
  // Autograd sums all uses of a parameter before its hook, so a second call means a second backward in
  // one armed micro-batch, whose bucket may already be on the wire.
  if (filled_[k]) throw Error("gradient reducer", "parameter " + std::to_string(k) + " got a second gradient in one armed backward");
  torch::NoGradGuard no_grad;
  // What .grad becomes once autograd has accumulated this gradient.
  const torch::Tensor& acc = params_[k].grad();
  fill(k, acc.defined() ? acc + grad : grad);
  start_ready_buckets();
}

void GradientReducer::finish() {
  std::lock_guard<std::mutex> lock(mu_);
  armed_ = false;
  // Ready for the next step even when a collective below throws.
  struct Reset {
    GradientReducer& r;
    ~Reset() {
      for (auto& b : r.buckets_) b.filled = 0;
      std::fill(r.filled_.begin(), r.filled_.end(), false);
      r.next_to_start_ = 0;
    }
  } reset{*this};
  torch::NoGradGuard no_grad;
  // Parameters whose hooks did not fire (unused in this step, or no armed backward): their .grad, or zeros.
  for (size_t k = 0; k < params_.size(); ++k)
    if (!filled_[k]) fill(k, params_[k].grad());
  start_ready_buckets();
  const double world = static_cast<double>(group_->world_size());
  for (auto& b : buckets_) {
    b.pending.wait();
    b.flat.div_(world);
    for (size_t j = 0; j < b.members.size(); ++j) {
      auto& p = params_[b.members[j]];
      torch::Tensor avg = b.flat.narrow(0, b.offsets[j], p.numel()).view(p.sizes());
      if (p.grad().defined()) p.mutable_grad().copy_(avg);
      else p.mutable_grad() = torch::empty_like(p).copy_(avg);  // the parameter's layout (e.g. channels-last)
    }
  }
}

}  // namespace raddiag::train
