#pragma once
// Reading a whole file, with the one-line error every command prints.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace larsel::core {

/// The bytes of `path` (a file, or a pipe such as a config given as <(...)) as text; throws
/// std::runtime_error "<path>: cannot read <what> (<reason>)", for a directory too.
std::string read_file(const std::filesystem::path& path, std::string_view what);

/// The same as bytes (binary formats: WIBEth captures).
std::vector<std::byte> read_file_bytes(const std::filesystem::path& path, std::string_view what);

}  // namespace larsel::core
