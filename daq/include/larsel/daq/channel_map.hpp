#pragma once
// Online -> offline channel mapping: (crate, slot, stream, channel-in-frame) ->
// (plane, offline channel, face, wire). Reads DUNE's 13-column PD2HD maps
// (detchannelmaps PD2HDChannelMapSP) and provides a built-in map for the
// emulated detector with the same per-stream layout.
#include <array>
#include <compare>
#include <cstdint>
#include <filesystem>
#include <map>
#include <vector>

namespace larsel::daq {

enum class Plane : std::uint8_t { U = 0, V = 1, X = 2 };  // PD2HD convention: 2 = collection
const char* plane_name(Plane plane) noexcept;

inline constexpr unsigned kChannelsPerApa = 2560;   // 800 U + 800 V + 960 X
inline constexpr unsigned kFirstXInApa = 1600;       // offline offset of X within an APA
inline constexpr unsigned kWiresPerFace = 480;       // collection wires of one APA face
inline constexpr unsigned kStreamsPerFace = 20;      // 20 x 24 X channels = 480
inline constexpr unsigned kXChannelsPerStream = 24;  // each stream: 20 U + 20 V + 24 X

/// Identifies one WIBEth stream (one 64-channel UDP flow).
struct StreamKey {
  std::uint16_t crate = 0;
  std::uint8_t slot = 0;
  std::uint8_t stream = 0;
  auto operator<=>(const StreamKey&) const = default;
  /// Packed 22-bit key for hashing (crate 10 bits, slot 4, stream 8).
  [[nodiscard]] std::uint32_t packed() const noexcept {
    return (std::uint32_t{crate} << 12) | (std::uint32_t{slot} << 8) | stream;
  }
};

struct ChannelInfo {
  Plane plane = Plane::U;
  std::uint32_t offline_channel = 0;
  /// Global collection face id = 2 * APA + face-in-APA (X only; -1 for U/V).
  std::int32_t face = -1;
  /// X: wire (image row) within its face, 0-479. U/V: channel within the plane of its APA.
  std::uint16_t wire = 0;
};

/// The 20 streams of one face and where each of their 24 X channels lands.
struct FaceLayout {
  std::uint32_t face = 0;
  struct Stream {
    StreamKey key;
    std::array<std::uint8_t, kXChannelsPerStream> channel{};  // channel within the frame
    std::array<std::uint16_t, kXChannelsPerStream> wire{};    // image row
  };
  std::vector<Stream> streams;  // exactly kStreamsPerFace, ordered by StreamKey
};

class ChannelMap {
 public:
  /// Read a 13-column PD2HD map. Throws core::FormatError with the line number.
  static ChannelMap read_pd2hd(const std::filesystem::path& path);
  /// Built-in map of an emulated detector with `apas` APAs (crate = APA + 1,
  /// slots 0-4, links 0-1, quarters 0-3); see docs/readout.md.
  static ChannelMap emulated(unsigned apas);

  /// nullptr if the stream or channel is not in the map.
  [[nodiscard]] const ChannelInfo* find(StreamKey key, unsigned channel) const noexcept;
  [[nodiscard]] std::vector<StreamKey> streams() const;
  [[nodiscard]] std::vector<std::uint32_t> faces() const;
  /// Layout of one face. Throws core::FormatError unless each of its 480 wires is
  /// fed by exactly one (stream, channel) and it has exactly 20 streams.
  [[nodiscard]] FaceLayout face_layout(std::uint32_t face) const;

 private:
  void insert(StreamKey key, unsigned channel, ChannelInfo info);
  std::map<StreamKey, std::array<ChannelInfo, 64>> streams_;
  std::map<StreamKey, std::uint64_t> filled_;  // channels present per stream
};

/// Frame positions of each plane inside every 64-channel stream (counted from
/// PD2HDChannelMap_v6: the same in all 160 streams).
inline constexpr std::array<std::uint8_t, 24> kXPositions = {10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                                             32, 33, 34, 35, 36, 37, 58, 59, 60, 61, 62, 63};
inline constexpr std::array<std::uint8_t, 20> kUPositions = {0,  1,  2,  3,  4,  27, 28, 29, 30, 31,
                                                             43, 44, 45, 46, 47, 48, 49, 50, 51, 52};
inline constexpr std::array<std::uint8_t, 20> kVPositions = {5,  6,  7,  8,  9,  22, 23, 24, 25, 26,
                                                             38, 39, 40, 41, 42, 53, 54, 55, 56, 57};

}  // namespace larsel::daq
