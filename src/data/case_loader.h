#pragma once
// The threaded case loader. Worker threads take the next items of the sampler stream, build their
// tensors (decode, preprocess, augment) and park them in a bounded reorder buffer; the training loop
// takes them back in sampler order and collates batches. Memory is bounded by
// (prefetch_batches * batch_size + workers) cases, whatever the dataset size.
//
// Determinism: item k of the stream is built with a generator seeded from (seed, epoch, offset, case
// index) and batches are formed in sampler order, so the batches are identical for any worker count
// (0 = build on the caller's thread) and after a resume from position().
//
// Errors: a case whose source throws is logged with its case id, counted in failures() and skipped;
// the batch is filled with the following cases. Batches never straddle epochs; with drop_last the
// incomplete tail of an epoch is dropped (as the reference's dataloader_drop_last).
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "data/case_rng.h"
#include "data/case_tensor_source.h"
#include "data/case_tensors.h"
#include "data/samplers.h"

namespace raddiag::data {

struct LoaderOptions {
  int workers = 2;            // 0 = no threads: cases are built inside next()
  int batch_size = 1;
  int prefetch_batches = 2;   // how many batches may be prepared ahead of the consumer
  bool drop_last = true;
  uint64_t seed = 42;
  int max_consecutive_failures = 1000;  // a stream that only fails is a configuration error: stop
};

// Applied by the workers to each case after CaseTensorSource::get (augmentation), with the case's generator.
using CaseTransform = std::function<void(CaseTensors&, CaseRng&)>;

struct LoadedBatch {
  CaseBatch batch;
  std::vector<int64_t> indices;      // case indices, in batch order
  int64_t epoch = 0;
  SamplerPosition next_position;     // resume here to continue right after this batch
};

struct LoadFailure {
  int64_t index = 0;
  std::string case_id;
  std::string message;
};

class CaseLoader {
 public:
  CaseLoader(std::shared_ptr<const CaseTensorSource> source, std::shared_ptr<const Sampler> sampler, LoaderOptions options,
             CaseTransform transform = nullptr, SamplerPosition start = {});
  ~CaseLoader();
  CaseLoader(const CaseLoader&) = delete;
  CaseLoader& operator=(const CaseLoader&) = delete;

  // The next batch (blocks until it is ready). Throws raddiag::Error when too many cases in a row fail.
  LoadedBatch next();
  // Position just after the last batch returned by next() (what a checkpoint stores).
  SamplerPosition position() const { return consumed_; }
  // Discards prepared work and restarts the stream at `p`.
  void seek(SamplerPosition p);
  // Batches per epoch for this loader (drop_last aware; assumes no failures).
  int64_t batches_per_epoch() const;
  int64_t failures() const;
  std::vector<LoadFailure> recent_failures() const;  // the last few, for reports
  const LoaderOptions& options() const { return opt_; }

 private:
  struct Slot {
    SampledItem item;
    std::optional<CaseTensors> tensors;
    std::string error;
  };
  Slot build(const SampledItem& item) const;
  void start_workers();
  void stop_workers();
  void worker_loop();
  Slot take_next();  // the next stream item, in order

  std::shared_ptr<const CaseTensorSource> source_;
  std::shared_ptr<const Sampler> sampler_;
  LoaderOptions opt_;
  CaseTransform transform_;

  mutable std::mutex mu_;
  std::condition_variable cv_work_;   // workers wait for room
  std::condition_variable cv_ready_;  // consumer waits for its item
  SamplerCursor cursor_;              // dispatch position (ahead of the consumer)
  int64_t dispatched_ = 0;            // stream sequence number of the next item to hand out
  int64_t consumed_seq_ = 0;          // sequence number the consumer needs next
  std::map<int64_t, Slot> ready_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  SamplerPosition consumed_;
  int64_t failures_ = 0;
  std::vector<LoadFailure> recent_;
};

}  // namespace raddiag::data
