# `cmake -DWORK=<dir> -P LayerCheckTest.cmake`: runs the layer check of LayerCheck.cmake on a small tree
# written under WORK: `model` including its declared `util` passes, then `model` including `serve` must
# stop with the "layer rule broken" message naming the file (the CTest test matches that output).
include(${CMAKE_CURRENT_LIST_DIR}/LayerCheck.cmake)
set(RADDIAG_LAYER_ROOT ${WORK}/src)
file(REMOVE_RECURSE ${WORK})
file(WRITE ${WORK}/src/util/error.h "#pragma once\n")
file(WRITE ${WORK}/src/serve/use_case.h "#pragma once\n#include \"model/net.h\"\n")
file(WRITE ${WORK}/src/model/net.h "#pragma once\n#include <vector>\n#include \"util/error.h\"\n#include \"model/other.h\"\n")
raddiag_check_layer_includes(model "util")
raddiag_check_layer_includes(serve "util;model")
message(STATUS "clean tree accepted")
file(WRITE ${WORK}/src/model/bad.cpp "#include \"model/net.h\"\n#include \"serve/use_case.h\"\n")
raddiag_check_layer_includes(model "util")
message(STATUS "wrong include accepted")
