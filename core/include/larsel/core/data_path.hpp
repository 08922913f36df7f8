#pragma once
// The data files LArSel ships (the default models): found the same way in the build tree and in an
// installed tree, with no build-time path compiled into the binary.
#include <filesystem>
#include <string>

namespace larsel::core {

/// Where `path` is: as given when it exists (or is absolute); else under $LARSEL_DATA_DIR; else under
/// share/larsel beside the running executable's bin/ directory (<prefix>/bin/larsel ->
/// <prefix>/share/larsel; the build tree stages the same layout); else as given, so that the caller's
/// error names the path the user wrote.
[[nodiscard]] std::filesystem::path find_data_file(const std::filesystem::path& path);

}  // namespace larsel::core
