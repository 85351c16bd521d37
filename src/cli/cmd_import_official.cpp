// raddiag import-official: an official RadDiag checkpoint (HF Trainer pytorch_model.bin or
// model.safetensors) + label dictionary -> a raddiag model file.
#include <iostream>

#include "cli/command.h"
#include "serve/run_import.h"
#include "util/error.h"
#include "util/atomic_file.h"

namespace raddiag::cli {
namespace {
Registrar register_import_official({"import-official", "convert an official RadDiag checkpoint into a raddiag model file", [](CLI::App& sub) {
  auto a = std::make_shared<serve::OfficialImportRequest>();
  sub.add_option("checkpoint", a->checkpoint, "pytorch_model.bin (torch.save zip) or model.safetensors")->required();
  sub.add_option("--config", a->config,
                 "architecture: a raddiag model config JSON or an official-parity config.json "
                 "(format raddiag-official-parity/1); default: the released ResNet-50/2048/5569 early-fusion model");
  sub.add_option("--preset", a->preset,
                 "kind of checkpoint: early (demo/Eval/Finetune model), late (Zeroshot model: one scan), knowledge "
                 "(knowledge-enhanced head; needs --class-embeddings); sets fusion/head on top of --config's sizes");
  sub.add_option("--class-embeddings", a->class_embeddings,
                 "knowledge head: .npy [classes, dim] float32, the class texts embedded by the text encoder (e.g. BioLORD)");
  sub.add_option("--level", a->level, "label level of --labels: articles (disorders, default) or icd10s (ICD-10-CM)");
  sub.add_option("--labels", a->labels, "label dictionary JSON {name: index} (disorder_label_dict.json, or icd10_label_dict.json with --level icd10s)")->required();
  sub.add_option("--out", a->out, "model file to write")->required();
  sub.add_option("--name", a->name, "model name recorded in the model card");
  return std::function<int()>([a] {
    refuse_to_overwrite_inputs(a->out, {a->checkpoint, a->config, a->labels, a->class_embeddings});
    auto report = serve::run_import(*a);
    std::cout << "imported " << a->checkpoint << " -> " << a->out << "\n" << report << "\n";
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
