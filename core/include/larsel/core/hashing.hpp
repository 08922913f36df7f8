#pragma once
// The project's two hashes: a fast one for cache keys and configuration identity, and a
// cryptographic one for the files a recording names (its model).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace larsel::core {

/// 64-bit FNV-1a (Fowler, Noll, Vo; http://www.isthe.com/chongo/tech/comp/fnv/): a stable,
/// non-cryptographic hash of configuration text, for cache keys and the preprocess hash of a model file.
[[nodiscard]] constexpr std::uint64_t fnv1a_64(std::string_view text) noexcept {
  std::uint64_t hash = 14695981039346656037ULL;  // FNV offset basis
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;  // FNV prime
  }
  return hash;
}

/// 16 lowercase hex digits of fnv1a_64(text).
[[nodiscard]] std::string fnv1a_64_hex(std::string_view text);

/// SHA-256 (FIPS 180-4, by OpenSSL's libcrypto) of the file's bytes as 64 lowercase hex digits;
/// throws std::runtime_error naming the file when it cannot be read.
[[nodiscard]] std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace larsel::core
