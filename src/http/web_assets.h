#pragma once
// The files of web/ compiled into the binary (cmake/EmbedWeb.cmake), served at / by `raddiag serve`.
#include <string>
#include <string_view>
#include <vector>

namespace raddiag::http {

struct WebAsset {
  std::string name;        // file name in web/
  std::string_view bytes;
};
const std::vector<WebAsset>& web_assets();

}  // namespace raddiag::http
