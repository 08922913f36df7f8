#pragma once
// Reading a whole file, with the one-line error every command prints.
#include <filesystem>
#include <string>
#include <string_view>

namespace larsel::core {

/// The bytes of `path`; throws std::runtime_error "<path>: cannot read <what> (<reason>)".
std::string read_file(const std::filesystem::path& path, std::string_view what);

}  // namespace larsel::core
