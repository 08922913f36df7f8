#pragma once
// Thin RAII over the HDF5 C API for the recording files. The C API rather than
// H5Cpp because a close that fails (a full disk while the file's metadata is
// flushed) must never be retried: H5Cpp's objects close again in their
// destructors, and a second H5Fclose of a half-closed file crashes inside the
// library (issue 19: SEGV in H5F__close).
#include <optional>
#include <string>
#include <string_view>

#include <hdf5.h>

namespace larsel::pipeline::hdf5 {

/// One HDF5 identifier and the function that releases it. Released at most once,
/// whatever the result: release() reports a failure, the destructor ignores it.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) noexcept : id_(id), closer_(closer) {}
  ~Handle() { release(); }
  Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      release();
      id_ = other.id_;
      closer_ = other.closer_;
      other.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  [[nodiscard]] hid_t get() const noexcept { return id_; }
  [[nodiscard]] bool valid() const noexcept { return id_ >= 0; }
  /// Closes now; true on success. The handle is empty afterwards even when closing failed.
  bool release() noexcept {
    if (id_ < 0) return true;
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return closer_(id) >= 0;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

/// Turns HDF5's automatic error-stack printing off for the calling thread (the
/// library is built thread-safe: the setting is per thread). Failures are
/// reported as one-line exceptions instead.
void silence_errors_on_this_thread() noexcept;

/// Records that a file's close failed: HDF5 1.10 keeps it half-closed, and closing it again (at the
/// latest when the library shuts down at exit) crashes in H5F__close_cb. See hdf5_shutdown_would_crash().
void note_unclosable_file() noexcept;
[[nodiscard]] bool unclosable_file_seen() noexcept;

/// The innermost message of the calling thread's HDF5 error stack (often the system error), or "".
std::string innermost_error();

/// Throws std::runtime_error "<where>: <what> failed: <innermost HDF5 error>" when `status` < 0.
/// Returns `status` (an id or a non-negative status) otherwise.
hid_t check(hid_t status, std::string_view where, std::string_view what);

/// Attributes of an object (file, dataset). Variable-length UTF-8 strings: no size limit and h5py reads str.
void replace_string_attribute(hid_t object, const char* name, const std::string& value, std::string_view where);
void replace_scalar_attribute(hid_t object, const char* name, hid_t type, const void* value, std::string_view where);
/// Reading them back (recovery): nullopt / false when absent or unreadable.
std::optional<std::string> read_string_attribute(hid_t object, const char* name);
bool read_scalar_attribute(hid_t object, const char* name, hid_t memory_type, void* value);

}  // namespace larsel::pipeline::hdf5
