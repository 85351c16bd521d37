// raddiag model show: what a model file holds (card, architecture, vocabulary, thresholds).
// raddiag model set-icd: store a disorder -> ICD-10-CM mapping in a model file (serve/model_icd_mapping.h).
#include <iostream>

#include "cli/command.h"
#include "model/model_file.h"
#include "serve/model_icd_mapping.h"
#include "util/error.h"

namespace raddiag::cli {
namespace {
Registrar register_model({"model", "inspect model files (model show MODEL) and store an ICD mapping (model set-icd MODEL MAPPING)",
                          [](CLI::App& sub) {
  auto path = std::make_shared<std::string>();
  auto json_out = std::make_shared<bool>(false);
  auto* show = sub.add_subcommand("show", "print the model card, architecture and vocabulary of a model file");
  show->add_option("model", *path, "raddiag model file")->required();
  show->add_flag("--json", *json_out, "print the whole metadata as JSON");
  struct SetIcd {
    std::string model, mapping, out;
    bool clear = false;
  };
  auto icd = std::make_shared<SetIcd>();
  auto* set_icd = sub.add_subcommand("set-icd", "store a disorder -> ICD-10-CM mapping (raddiag icd-map output) in a model "
                                                "file, so that diagnose reports codes; rewrites the file atomically");
  set_icd->add_option("model", icd->model, "raddiag model file")->required();
  set_icd->add_option("mapping", icd->mapping, "mapping JSON written by `raddiag icd-map`");
  set_icd->add_option("--out", icd->out, "write the result here instead of rewriting MODEL");
  set_icd->add_flag("--clear", icd->clear, "remove the stored mapping instead");
  sub.require_subcommand(1);
  return std::function<int()>([=] {
    if (set_icd->parsed()) {
      if (icd->clear == !icd->mapping.empty())
        throw Error("model set-icd", "give a MAPPING file, or --clear to remove the stored mapping");
      const auto r = serve::set_model_icd_mapping(icd->model, icd->mapping, icd->out);
      const std::string target = icd->out.empty() ? icd->model : icd->out;
      if (icd->clear) std::cout << "ICD-10-CM mapping removed: " << target << "\n";
      else
        std::cout << "ICD-10-CM mapping stored in " << target << ": " << r.mapped_classes << " of " << r.classes
                  << " classes mapped to " << r.codes << " codes; " << r.dropped_disorders
                  << " disorders of the mapping are not classes of this model\n";
      return 0;
    }
    auto info = model::read_model_file_info(*path);
    if (*json_out) {
      std::cout << info.dump(2) << "\n";
      return 0;
    }
    const auto& card = info.value("card", nlohmann::json::object());
    std::cout << "model file: " << *path << " (" << info["format"].get<std::string>() << " v"
              << info["format_version"].get<std::string>() << ")\n";
    for (auto& [k, v] : card.items()) std::cout << "  " << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
    const auto& cfg = info["config"];
    std::cout << "architecture: backbone " << cfg["backbone"]["type"].get<std::string>() << ", hidden "
              << cfg["hidden"] << ", fusion " << cfg["fusion"]["mode"].get<std::string>() << ", head "
              << cfg["head"]["type"].get<std::string>() << ", size " << cfg["size"] << ", depth " << cfg["depth"]
              << ", slots " << cfg["n_image"] << "\n";
    const auto& classes = info["classes"];
    std::cout << "classes: " << classes.size();
    for (std::size_t i = 0; i < std::min<std::size_t>(5, classes.size()); ++i) std::cout << (i ? ", " : " (") << classes[i].get<std::string>();
    std::cout << (classes.size() > 5 ? ", ...)" : classes.empty() ? "" : ")") << "\n";
    std::cout << "thresholds: " << (info.contains("thresholds") ? "per class" : "none (0.5 used)") << "\n";
    std::cout << "ICD-10-CM mapping: " << (info.contains("icd_mapping") ? "yes" : "none") << "\n";
    if (info.contains("text_encoder")) {
      const auto& t = info["text_encoder"];
      std::cout << "text encoder (zero-shot --classes): " << t["config"].value("model_type", std::string("?")) << ", "
                << t["config"].value("hidden_size", 0) << "-d, " << t["config"].value("num_hidden_layers", 0)
                << " layers, " << t.value("tokenizer_vocab_size", 0) << " tokens, pooling "
                << t.value("pooling", std::string("mean")) << "\n";
    } else if (cfg["head"]["type"] == "knowledge") {
      std::cout << "text encoder: none stored (only the trained class names can be scored)\n";
    }
    return 0;
  });
}});
}  // namespace
}  // namespace raddiag::cli
