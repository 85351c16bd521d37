#include "data/case_loader.h"

#include <spdlog/spdlog.h>

#include "util/error.h"

namespace raddiag::data {

namespace {
constexpr uint64_t kItemStream = 0x4954454dULL;
constexpr size_t kRecentFailures = 32;
}  // namespace

CaseLoader::CaseLoader(std::shared_ptr<const CaseTensorSource> source, std::shared_ptr<const Sampler> sampler,
                       LoaderOptions options, CaseTransform transform, SamplerPosition start)
    : source_(std::move(source)), sampler_(std::move(sampler)), opt_(options), transform_(std::move(transform)),
      cursor_(sampler_, start), consumed_(start) {
  if (!source_) throw Error("loader", "no case source");
  if (opt_.batch_size < 1) throw Error("loader", "batch_size must be >= 1");
  if (opt_.workers < 0) throw Error("loader", "workers must be >= 0");
  if (opt_.prefetch_batches < 1) opt_.prefetch_batches = 1;
  if (opt_.drop_last && sampler_->epoch_size() < opt_.batch_size)
    throw Error("loader", "an epoch has " + std::to_string(sampler_->epoch_size()) + " cases, fewer than one batch of " +
                              std::to_string(opt_.batch_size) + " (drop_last would never yield a batch)");
  start_workers();
}

CaseLoader::~CaseLoader() { stop_workers(); }

int64_t CaseLoader::batches_per_epoch() const {
  const int64_t n = sampler_->epoch_size();
  return opt_.drop_last ? n / opt_.batch_size : (n + opt_.batch_size - 1) / opt_.batch_size;
}

int64_t CaseLoader::failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_;
}

std::vector<LoadFailure> CaseLoader::recent_failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return recent_;
}

CaseLoader::Slot CaseLoader::build(const SampledItem& item) const {
  Slot s{item, std::nullopt, {}};
  try {
    CaseRng rng(derive_seed(opt_.seed ^ kItemStream, static_cast<uint64_t>(item.epoch),
                            static_cast<uint64_t>(item.offset), static_cast<uint64_t>(item.index)));
    CaseTensors t = source_->get(item.index, rng);
    if (transform_) transform_(t, rng);
    s.tensors = std::move(t);
  } catch (const std::exception& e) {
    s.error = e.what();
    if (s.error.empty()) s.error = "unknown error";
  }
  return s;
}

void CaseLoader::start_workers() {
  stopping_ = false;
  for (int w = 0; w < opt_.workers; ++w) threads_.emplace_back([this] { worker_loop(); });
}

void CaseLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_work_.notify_all();
  cv_ready_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void CaseLoader::worker_loop() {
  const int64_t capacity = static_cast<int64_t>(opt_.prefetch_batches) * opt_.batch_size + opt_.workers;
  for (;;) {
    SampledItem item;
    int64_t seq;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_work_.wait(lock, [&] { return stopping_ || dispatched_ - consumed_seq_ < capacity; });
      if (stopping_) return;
      seq = dispatched_++;
      item = cursor_.next();
    }
    Slot slot = build(item);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      ready_.emplace(seq, std::move(slot));
    }
    cv_ready_.notify_all();
  }
}

CaseLoader::Slot CaseLoader::take_next() {
  if (opt_.workers == 0) {
    SampledItem item;
    {
      std::lock_guard<std::mutex> lock(mu_);
      item = cursor_.next();
      ++dispatched_;
      ++consumed_seq_;
    }
    return build(item);
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_ready_.wait(lock, [&] { return ready_.count(consumed_seq_) > 0; });
  auto it = ready_.find(consumed_seq_);
  Slot s = std::move(it->second);
  ready_.erase(it);
  ++consumed_seq_;
  lock.unlock();
  cv_work_.notify_all();
  return s;
}

LoadedBatch CaseLoader::next() {
  std::vector<CaseTensors> cases;
  LoadedBatch out;
  int consecutive_failures = 0;
  int epoch_ends = 0;  // epoch ends passed while filling this batch
  std::string last_failure;
  const int64_t epoch_size = sampler_->epoch_size();
  while (static_cast<int>(cases.size()) < opt_.batch_size) {
    Slot s = take_next();
    // The consumer's position follows the stream item by item.
    consumed_ = {s.item.epoch, s.item.offset + 1};
    if (!cases.empty() && s.item.epoch != out.epoch) {
      // Unreachable by construction (the tail check below ends batches at the epoch end); kept as a guard.
      throw Error("loader", "internal error: a batch crossed an epoch boundary");
    }
    if (cases.empty()) out.epoch = s.item.epoch;
    if (s.tensors) {
      cases.push_back(std::move(*s.tensors));
      out.indices.push_back(s.item.index);
      consecutive_failures = 0;
    } else {
      const std::string id = source_->case_id(s.item.index);
      spdlog::warn("loader: skipping {}: {}", id, s.error);
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++failures_;
        recent_.push_back({s.item.index, id, s.error});
        if (recent_.size() > kRecentFailures) recent_.erase(recent_.begin());
      }
      last_failure = id + ": " + s.error;
      if (++consecutive_failures >= opt_.max_consecutive_failures)
        throw Error("loader", std::to_string(consecutive_failures) + " cases in a row failed; last: " + id + ": " + s.error);
    }
    const bool epoch_end = s.item.offset + 1 >= epoch_size;
    if (epoch_end) {
      consumed_ = {s.item.epoch + 1, 0};
      if (static_cast<int>(cases.size()) < opt_.batch_size) {
        if (!opt_.drop_last && !cases.empty()) break;
        // A whole epoch went by (from its first item to its last) without filling one batch: so few of
        // its cases load that no batch ever will. Stop with the reason instead of cycling forever.
        if (++epoch_ends >= 2)
          throw Error("loader", "a whole epoch of " + std::to_string(epoch_size) + " cases gave only " +
                                    std::to_string(cases.size()) + " loadable, fewer than batch_size " +
                                    std::to_string(opt_.batch_size) + (last_failure.empty() ? "" : "; last failure: " + last_failure) +
                                    " (fix or drop the failing cases, or lower the batch size)");
        cases.clear();  // drop the incomplete tail, start the next epoch's first batch
        out.indices.clear();
      }
    }
  }
  out.batch = collate(cases);
  out.next_position = consumed_;
  return out;
}

void CaseLoader::seek(SamplerPosition p) {
  stop_workers();
  {
    std::lock_guard<std::mutex> lock(mu_);
    ready_.clear();
    cursor_.seek(p);
    consumed_ = p;
    dispatched_ = 0;
    consumed_seq_ = 0;
  }
  start_workers();
}

}  // namespace raddiag::data
