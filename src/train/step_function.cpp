#include "train/step_function.h"

#include "infer/model_input.h"
#include "model/losses.h"
#include "train/finetune.h"

namespace raddiag::train {

StepFn make_step_function(model::RadDiagModel net, const LossConfig& lc, const std::vector<int64_t>& class_counts,
                          int64_t n_items, const torch::Device& device, bool frozen_encoder) {
  torch::Tensor pos_weight;
  if (lc.kind == "bce_pos_weight") pos_weight = model::positive_class_weights(class_counts, n_items, lc.pos_weight_max).to(device);
  const model::ClassificationLoss classification = model::make_classification_loss(lc, pos_weight);
  // The model's forward already computed the official BCE when labels were given: reuse it.
  const bool forward_computes_loss = lc.kind == "bce";
  return [net, classification, forward_computes_loss, frozen_encoder](const data::CaseBatch& b) mutable -> LossDict {
    if (frozen_encoder) set_encoder_eval(net);
    model::ModelOutput out = net->forward(infer::model_input(b));
    torch::Tensor cls = forward_computes_loss && out.loss_cls.defined() ? out.loss_cls : classification(out.logits, b.labels, b.known);
    LossDict d{{"cls", cls.detach()}};
    torch::Tensor loss = cls;
    if (out.loss_attn.defined()) {
      loss = loss + out.loss_attn;
      d["attn"] = out.loss_attn.detach();
    }
    d["loss"] = loss;
    return d;
  };
}

}  // namespace raddiag::train
