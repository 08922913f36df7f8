#pragma once
// `larsel recover`: turns the *.writing file a crashed (SIGKILL, power cut) or
// failed (disk full) recorder left behind into a normal, complete recording.
#include <cstdint>
#include <filesystem>

namespace larsel::pipeline {

struct RecoveryReport {
  std::filesystem::path source;          // NAME.h5.writing (removed once recovered)
  std::filesystem::path recovered;       // NAME.h5
  std::uint64_t rows_in_file = 0;        // frames the file's datasets announce
  std::uint64_t frames_recovered = 0;    // ... that were read back whole and copied
};

/// Opens `writing_file` read-only (HDF5 SWMR read: a crashed writer's file is consistent up to its
/// last flush), validates it as a LArSel recording, copies every readable frame with its metadata
/// and attributes into NAME.h5 (written as NAME.h5.recovering, fsynced, then renamed; the
/// `recovered` attribute says what happened; the stop time is the file's last modification), and
/// removes the *.writing. Throws std::runtime_error naming the file and the reason: not a
/// *.writing, NAME.h5 exists, unreadable, not a LArSel recording.
RecoveryReport recover_recording(const std::filesystem::path& writing_file);

}  // namespace larsel::pipeline
