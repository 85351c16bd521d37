// Starting weights from another file (train::init_weights_from: run config `init_from`, `finetune --init`).
// The reference is Debian's python3-torchvision (tests/py/torchvision_resnet_reference.py): it saves a
// resnet18 and a resnet50 with random weights (BatchNorm statistics randomised) with torch.save, exactly
// as torchvision's ImageNet downloads are stored, and writes torchvision's own backbone features for a
// grey input repeated to 3 channels. Loaded into our slice encoder, fed the 1-channel input, the features
// must agree to 1e-5. Files of another kind or another architecture are refused with the reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "data/preprocess.h"
#include "io/png_writer.h"
#include "model/model_file.h"
#include "model/torchvision_resnet.h"
#include "test_support.h"
#include "train/model_setup.h"
#include "util/error.h"
#include "util/npy.h"
#include "weights/torch_checkpoint.h"

using namespace raddiag;
namespace fs = std::filesystem;

namespace init_weights_test {

struct TorchvisionFixture {
  std::string dir;
  nlohmann::json files;  // arch -> file name
  std::string file(const std::string& arch) const { return dir + "/" + files.at(arch).get<std::string>(); }
};

// Written once per test process (two checkpoints, ~150 MB, a few seconds).
const TorchvisionFixture* torchvision_fixture() {
  static const TorchvisionFixture* f = []() -> const TorchvisionFixture* {
    if (!test::python_has({"numpy", "torch", "torchvision"})) return nullptr;
    auto* fx = new TorchvisionFixture;
    fx->dir = test::scratch_dir("torchvision_resnet");
    test::run_python_script("torchvision_resnet_reference.py", {fx->dir});
    std::ifstream in(fx->dir + "/files.json");
    fx->files = nlohmann::json::parse(in);
    return fx;
  }();
  return f;
}

torch::Tensor iw_npy_tensor(const std::string& path) {
  auto a = npy::read(path);
  auto v = a.to_float32();
  std::vector<int64_t> shape(a.shape.begin(), a.shape.end());
  return torch::from_blob(v.data(), shape, torch::kFloat).clone();
}

// A late-fusion model with a torchvision ResNet slice encoder and a small rest.
model::ModelConfig resnet_model(const std::string& arch) {
  model::ModelConfig c;
  c.backbone = model::backbone_preset(arch);
  c.backbone.type = arch;
  c.hidden = arch == "resnet50" ? 2048 : 512;
  c.aggregator = {1, 1, 64};
  c.fusion.mode = model::FusionMode::kLate;
  c.n_image = 1;
  c.head.num_classes = 2;
  c.size = 64;
  c.depth = 2;
  c.validate();
  return c;
}

int64_t backbone_tensor_count(const model::RadDiagModel& m) {
  int64_t n = 0;
  for (const auto& kv : model::live_tensors(m)) n += kv.first.rfind("backbone.", 0) == 0;
  return n;
}

}  // namespace init_weights_test
using namespace init_weights_test;

TEST(InitWeights, TorchvisionResNetGivesTorchvisionFeatures) {
  const auto* fx = torchvision_fixture();
  if (!fx) GTEST_SKIP() << "Debian's python3-torchvision is not installed";
  const torch::Tensor grey = iw_npy_tensor(fx->dir + "/input.npy");  // [2, 1, 64, 64]
  for (const std::string arch : {"resnet18", "resnet50"}) {
    SCOPED_TRACE(arch);
    torch::manual_seed(3);
    model::RadDiagModel net = model::build_model(resnet_model(arch));
    const train::InitWeights w = train::init_weights_from(net, fx->file(arch));
    EXPECT_EQ(w.format, "torchvision-resnet");
    EXPECT_EQ(w.architecture, arch == "resnet18" ? "ResNet-18 (basic blocks 2-2-2-2, widths 64-128-256-512)"
                                                 : "ResNet-50 (bottleneck blocks 3-4-6-3, widths 64-128-256-512)");
    // Every encoder tensor (BatchNorm statistics included) comes from the file; the ImageNet classifier is dropped.
    EXPECT_EQ(static_cast<int64_t>(w.transfer.carried.size()), backbone_tensor_count(net));
    EXPECT_EQ(w.transfer.dropped, (std::vector<std::string>{"fc.bias", "fc.weight"}));
    for (const auto& n : w.transfer.fresh) EXPECT_NE(n.rfind("backbone.", 0), 0u) << n;
    const auto j = w.to_json(fx->file(arch));
    EXPECT_EQ(j.at("modules").at("backbone").at("carried"), backbone_tensor_count(net));
    EXPECT_EQ(j.at("format"), "torchvision-resnet");

    net->eval();
    torch::NoGradGuard ng;
    const torch::Tensor ours = net->slice_encoder()->forward(grey);  // 1 channel: the stem summed over RGB
    const torch::Tensor want = iw_npy_tensor(fx->dir + "/" + arch + "-features.npy");
    ASSERT_EQ(ours.sizes(), want.sizes());
    const double diff = (ours - want).abs().max().item<double>();
    EXPECT_LE(diff, 1e-5) << "max abs feature difference " << diff << " (features up to "
                          << want.abs().max().item<double>() << ")";
    std::cout << "[ measured ] " << arch << ": max |raddiag - torchvision| feature difference " << diff << " (features up to "
              << want.abs().max().item<double>() << ")\n";
    // The 3-channel input (the official repeat) gives the same features.
    EXPECT_LE((net->slice_encoder()->forward(grey.repeat({1, 3, 1, 1})) - want).abs().max().item<double>(), 1e-5);
  }
}

// The ResNet-ViT hybrid's CNN (ResNet-50's first three stages by default) takes the file's first stages,
// as ViT-R50 is initialised; layer4 and fc are reported as dropped.
TEST(InitWeights, ResNetVitHybridTakesTheFirstStages) {
  const auto* fx = torchvision_fixture();
  if (!fx) GTEST_SKIP() << "Debian's python3-torchvision is not installed";
  model::ModelConfig c = resnet_model("resnet18");
  c.backbone = model::backbone_preset("resnet_vit");
  c.backbone.type = "resnet_vit";
  c.backbone.vit.layers = 1;
  c.backbone.vit.heads = 2;
  c.backbone.vit.head_dim = 16;
  c.backbone.vit.mlp_dim = 32;
  c.hidden = 64;
  c.validate();
  torch::manual_seed(3);
  model::RadDiagModel net = model::build_model(c);
  const train::InitWeights w = train::init_weights_from(net, fx->file("resnet50"));
  int64_t cnn = 0;
  for (const auto& kv : model::live_tensors(net)) cnn += kv.first.rfind("backbone.cnn.", 0) == 0;
  EXPECT_EQ(static_cast<int64_t>(w.transfer.carried.size()), cnn);
  const auto file = weights::read_torch_checkpoint(fx->file("resnet50"));
  int64_t later = 0;
  for (const auto& n : file.names) later += n.rfind("layer4.", 0) == 0 || n.rfind("fc.", 0) == 0;
  EXPECT_EQ(static_cast<int64_t>(w.transfer.dropped.size()), later);
  const auto state = model::model_state(net);
  for (const char* k : {"conv1.weight", "layer1.0.downsample.1.running_mean", "layer3.5.bn3.running_var"})
    EXPECT_TRUE(torch::equal(state.at(std::string("backbone.cnn.") + k), file.at(k))) << k;
  for (const auto& n : w.transfer.fresh) EXPECT_NE(n.rfind("backbone.cnn.", 0), 0u) << n;
}

TEST(InitWeights, OtherArchitectureIsRefusedAndModelUntouched) {
  const auto* fx = torchvision_fixture();
  if (!fx) GTEST_SKIP() << "Debian's python3-torchvision is not installed";
  torch::manual_seed(3);
  model::RadDiagModel net = model::build_model(resnet_model("resnet50"));
  const torch::Tensor before = model::model_state(net).at("backbone.conv1.weight").clone();
  try {
    train::init_weights_from(net, fx->file("resnet18"));
    ADD_FAILURE() << "a ResNet-18 file was loaded into a ResNet-50 encoder";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(fx->files.at("resnet18").get<std::string>()), std::string::npos) << m;
    EXPECT_NE(m.find("ResNet-18 (basic blocks 2-2-2-2"), std::string::npos) << m;
    EXPECT_NE(m.find("backbone.type resnet50"), std::string::npos) << m;
    EXPECT_NE(m.find("layer1.0.conv3.weight"), std::string::npos) << m;  // listed as missing
  }
  EXPECT_TRUE(torch::equal(model::model_state(net).at("backbone.conv1.weight"), before));
}

TEST(InitWeights, ForeignFilesAreRefusedClearly) {
  const std::string dir = test::scratch_dir("init_foreign");
  torch::manual_seed(3);
  model::RadDiagModel net = model::build_model(resnet_model("resnet18"));
  auto expect_error = [&](const std::string& path, const std::string& needle) {
    try {
      train::init_weights_from(net, path);
      ADD_FAILURE() << path << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  };
  // An official RadDiag checkpoint is a torch.save file too, but not a torchvision ResNet.
  const std::string official = test::shared_data() + "/official-parity/state_dict.bin";
  if (fs::exists(official)) expect_error(official, "raddiag import-official");
  expect_error(dir + "/absent.pth", "cannot open");
  std::ofstream(dir + "/text.pth") << "not weights at all";
  expect_error(dir + "/text.pth", dir + "/text.pth");
}

TEST(InitWeights, TorchvisionWeightsNeedAResNetEncoder) {
  const auto* fx = torchvision_fixture();
  if (!fx) GTEST_SKIP() << "Debian's python3-torchvision is not installed";
  model::ModelConfig c = resnet_model("resnet18");
  c.backbone = model::backbone_preset("vit");
  c.backbone.type = "vit";
  c.backbone.vit.layers = 1;
  c.backbone.vit.mlp_dim = 32;
  c.backbone.vit.patch_size = 16;
  c.hidden = 64;
  c.validate();
  model::RadDiagModel net = model::build_model(c);
  try {
    train::init_weights_from(net, fx->file("resnet18"));
    ADD_FAILURE() << "ResNet weights loaded into a ViT";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("backbone.type is 'vit'"), std::string::npos) << e.what();
  }
}

namespace init_weights_test {

// DATA/<class>/<k>.png: light and dark 16x16 images.
std::string make_two_class_folder(const std::string& dir) {
  for (int c = 0; c < 2; ++c)
    for (int k = 0; k < 3; ++k) {
      std::vector<uint8_t> px(16 * 16);
      for (int i = 0; i < 16 * 16; ++i) px[static_cast<std::size_t>(i)] = static_cast<uint8_t>((c ? 200 : 30) + (i * 7 + k) % 20);
      const std::string path = dir + (c ? "/light/" : "/dark/") + std::to_string(k) + ".png";
      fs::create_directories(fs::path(path).parent_path());
      io::write_png(path, px, 16, 16, 1);
    }
  return dir;
}

}  // namespace init_weights_test

TEST(InitWeights, FinetuneScratchStartsFromTorchvisionWeights) {
  const auto* fx = torchvision_fixture();
  if (!fx) GTEST_SKIP() << "Debian's python3-torchvision is not installed";
  const std::string dir = test::scratch_dir("init_finetune");
  const std::string data = make_two_class_folder(dir + "/data");
  // A small source model whose slice encoder is a torchvision ResNet-18.
  torch::manual_seed(5);
  model::ModelBundle b;
  b.config = train::resolve_model_config(
      nlohmann::json{{"preset", "tiny"}, {"hidden", 512}, {"size", 16},
                     {"backbone", {{"type", "resnet18"}, {"layers", {2, 2, 2, 2}}, {"widths", {64, 128, 256, 512}}}}},
      3);
  b.model = model::build_model(b.config);
  b.classes = {"a", "b", "c"};
  data::PreprocessOptions pre;
  pre.size = 16;
  pre.depth = b.config.depth;
  pre.n_image = b.config.n_image;
  b.preprocess = pre.to_json();
  const std::string source = dir + "/source.raddiag";
  model::save_model_file(source, b);

  const std::string cli = test::shell_quote(test::cli_path()) + " finetune --quiet --from " + test::shell_quote(source) +
                          " --train " + test::shell_quote(data) + " --val " + test::shell_quote(data) +
                          " --init " + test::shell_quote(fx->file("resnet18"));
  std::string log;
  // Frozen mode trains the head only, so the final encoder is still exactly the file's.
  ASSERT_EQ(test::run_command(cli + " --scratch --mode frozen --steps 2 --batch 2 --workers 1 --bootstrap 0 --out " +
                                  test::shell_quote(dir + "/run"),
                              &log),
            0)
      << log;
  std::ifstream in(dir + "/run/init_weights.json");
  ASSERT_TRUE(in) << "no init_weights.json";
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j.at("format"), "torchvision-resnet");
  EXPECT_EQ(j.at("dropped"), nlohmann::json({"fc.bias", "fc.weight"}));
  EXPECT_EQ(j.at("modules").at("backbone").at("fresh"), 0);
  EXPECT_EQ(j.at("modules").at("backbone").at("carried"), 120);  // every non-fc entry of torchvision's resnet18 state dict
  const auto tuned = model::load_model_file(dir + "/run/model.raddiag");
  const auto file = weights::read_torch_checkpoint(fx->file("resnet18"));
  const auto state = model::model_state(tuned.model);
  for (const char* k : {"conv1.weight", "layer4.1.bn2.running_var", "layer3.0.downsample.0.weight"})
    EXPECT_TRUE(torch::equal(state.at(std::string("backbone.") + k), file.at(k))) << k;

  // Without --scratch every weight comes from --from: an init file would be silently overwritten.
  EXPECT_NE(test::run_command(cli + " --steps 1 --out " + test::shell_quote(dir + "/bad"), &log), 0);
  EXPECT_NE(log.find("needs scratch"), std::string::npos) << log;
}
