#include "hdf5_handle.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>

#include <fmt/format.h>

namespace larsel::pipeline::hdf5 {

void silence_errors_on_this_thread() noexcept { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

namespace {
/// Process-wide, as the HDF5 library's own state is: set once, never cleared.
std::atomic<bool>& unclosable_file_flag() {
  static std::atomic<bool> seen{false};
  return seen;
}
}  // namespace

void note_unclosable_file() noexcept { unclosable_file_flag().store(true); }

bool unclosable_file_seen() noexcept { return unclosable_file_flag().load(); }

std::string innermost_error() {
  std::string message;
  const auto take_first = [](unsigned depth, const H5E_error2_t* error, void* out) -> herr_t {
    if (depth == 0 && error->desc != nullptr) *static_cast<std::string*>(out) = error->desc;
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_first, &message);
  // A failed system call is described over several lines ("file write failed: time = ..., errno = 28,
  // error message = 'No space left on device', ..."): keep the system's message, on one line.
  constexpr std::string_view kSystemMessage = "error message = '";
  if (const auto at = message.find(kSystemMessage); at != std::string::npos) {
    const auto begin = at + kSystemMessage.size();
    const auto end = message.find('\'', begin);
    const auto first_line = message.substr(0, message.find(':'));
    message = first_line + ": " + message.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  }
  std::replace(message.begin(), message.end(), '\n', ' ');
  return message;
}

hid_t check(hid_t status, std::string_view where, std::string_view what) {
  if (status >= 0) return status;
  const std::string detail = innermost_error();
  throw std::runtime_error(fmt::format("{}: {} failed{}{}", where, what, detail.empty() ? "" : ": ", detail));
}

void replace_string_attribute(hid_t object, const char* name, const std::string& value, std::string_view where) {
  const std::string what = fmt::format("writing attribute '{}'", name);
  if (check(H5Aexists(object, name), where, what) > 0) check(H5Adelete(object, name), where, what);
  const Handle type(check(H5Tcopy(H5T_C_S1), where, what), H5Tclose);
  check(H5Tset_size(type.get(), H5T_VARIABLE), where, what);
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), where, what);
  const Handle space(check(H5Screate(H5S_SCALAR), where, what), H5Sclose);
  const Handle attribute(check(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), where, what), H5Aclose);
  const char* text = value.c_str();
  check(H5Awrite(attribute.get(), type.get(), &text), where, what);
}

void replace_scalar_attribute(hid_t object, const char* name, hid_t type, const void* value, std::string_view where) {
  const std::string what = fmt::format("writing attribute '{}'", name);
  if (check(H5Aexists(object, name), where, what) > 0) check(H5Adelete(object, name), where, what);
  const Handle space(check(H5Screate(H5S_SCALAR), where, what), H5Sclose);
  const Handle attribute(check(H5Acreate2(object, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT), where, what), H5Aclose);
  check(H5Awrite(attribute.get(), type, value), where, what);
}

std::optional<std::string> read_string_attribute(hid_t object, const char* name) {
  if (H5Aexists(object, name) <= 0) return std::nullopt;
  const Handle attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  if (!attribute.valid()) return std::nullopt;
  const Handle stored(H5Aget_type(attribute.get()), H5Tclose);
  if (!stored.valid() || H5Tget_class(stored.get()) != H5T_STRING || H5Tis_variable_str(stored.get()) <= 0) return std::nullopt;
  const Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5Tget_cset(stored.get()));
  char* text = nullptr;
  if (H5Aread(attribute.get(), type.get(), &text) < 0 || text == nullptr) return std::nullopt;
  std::string value(text);
  H5free_memory(text);
  return value;
}

bool read_scalar_attribute(hid_t object, const char* name, hid_t memory_type, void* value) {
  if (H5Aexists(object, name) <= 0) return false;
  const Handle attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  return attribute.valid() && H5Aread(attribute.get(), memory_type, value) >= 0;
}

}  // namespace larsel::pipeline::hdf5
