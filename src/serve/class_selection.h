#pragma once
// `--classes FILE_OR_LIST` of predict / diagnose / evaluate: score a chosen list of classes instead of
// the model's own vocabulary (reference 6.5, zero-shot on an external dataset).
//
// Each entry is NAME, or LABEL=TEXT to map an external dataset's label onto a model class or onto a new
// class text (e.g. `glioma=Ganglioglioma`, `no tumor=Normal`). The LABEL is what the cases' labels are
// matched against and what outputs show; the TEXT is looked up among the model's classes, and when it
// is not one of them a knowledge-head model embeds it with the text encoder stored in its model file,
// so any name can be scored without retraining. An MLP-head model can only select its own classes.
#include <cstdint>
#include <string>
#include <vector>

#include "model/model_file.h"

namespace raddiag::serve {

struct ClassSpec {
  std::string label;  // matched against case labels, shown in outputs
  std::string text;   // a model class name, or a new class text (knowledge head)
};

// An existing file: one entry per line (blank lines and lines starting with '#' are skipped);
// otherwise a comma-separated list. Entries are trimmed. Throws raddiag::Error for an empty list,
// empty names or a repeated label.
std::vector<ClassSpec> parse_class_list(const std::string& file_or_list);

struct ClassSelectionReport {
  int64_t from_model = 0;               // columns taken from the model's own classes (exactly)
  std::vector<std::string> embedded;    // texts embedded by the stored text encoder (zero-shot)
  std::string summary() const;          // "4 classes: 3 model classes, 1 new name embedded (...)"
};

// The bundle with its head reduced/extended to exactly `classes`, in that order: classes, thresholds
// (new names: 0.5), training class counts in the card (new names: 0) and head weights follow. Columns
// of model classes are the model's own rows (their scores do not depend on what else is selected).
// Throws raddiag::Error("--classes", ...) for a new name on an MLP-head model or on a knowledge-head
// model file without a stored text encoder.
model::ModelBundle select_classes(model::ModelBundle bundle, const std::vector<ClassSpec>& classes,
                                  ClassSelectionReport* report = nullptr);

}  // namespace raddiag::serve
