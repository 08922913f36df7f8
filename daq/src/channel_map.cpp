#include "larsel/daq/channel_map.hpp"

#include <bit>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "larsel/core/errors.hpp"

namespace larsel::daq {
namespace {

ChannelInfo classify_offline(std::uint32_t offline, Plane plane) {
  const std::uint32_t apa = offline / kChannelsPerApa;
  const std::uint32_t in_apa = offline % kChannelsPerApa;
  ChannelInfo info{plane, offline, -1, 0};
  if (plane == Plane::X) {
    const std::uint32_t x = in_apa - kFirstXInApa;
    info.face = static_cast<std::int32_t>(2 * apa + x / kWiresPerFace);
    info.wire = static_cast<std::uint16_t>(x % kWiresPerFace);
  } else {
    info.wire = static_cast<std::uint16_t>(plane == Plane::U ? in_apa : in_apa - 800);
  }
  return info;
}

// Expected offline range of each plane within an APA (U 0-799, V 800-1599, X 1600-2559).
bool offline_matches_plane(std::uint32_t offline, Plane plane) {
  const std::uint32_t in_apa = offline % kChannelsPerApa;
  switch (plane) {
    case Plane::U: return in_apa < 800;
    case Plane::V: return in_apa >= 800 && in_apa < kFirstXInApa;
    case Plane::X: return in_apa >= kFirstXInApa;
  }
  return false;
}

}  // namespace

const char* plane_name(Plane plane) noexcept {
  switch (plane) {
    case Plane::U: return "U";
    case Plane::V: return "V";
    case Plane::X: return "X";
  }
  return "?";
}

void ChannelMap::insert(StreamKey key, unsigned channel, ChannelInfo info) {
  std::uint64_t& filled = filled_[key];
  if (filled & (std::uint64_t{1} << channel)) {
    throw core::FormatError(fmt::format("channel map: crate {} slot {} stream {} channel {} appears twice",
                                  key.crate, key.slot, key.stream, channel));
  }
  filled |= std::uint64_t{1} << channel;
  streams_[key][channel] = info;
}

ChannelMap ChannelMap::read_pd2hd(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw core::FormatError(fmt::format("channel map {}: cannot open file", path.string()));
  ChannelMap map;
  std::string line;
  for (unsigned line_no = 1; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos || line.front() == '#') continue;
    std::istringstream fields(line);
    long offl, crate, wib, link, femb_on_link, cebchan, plane, chan_in_plane, femb, asic, asicchan, wibframechan;
    std::string apa_name, extra;
    if (!(fields >> offl >> crate >> apa_name >> wib >> link >> femb_on_link >> cebchan >> plane >>
          chan_in_plane >> femb >> asic >> asicchan >> wibframechan) || (fields >> extra)) {
      throw core::FormatError(fmt::format("channel map {}:{}: expected 13 whitespace-separated columns",
                                    path.string(), line_no));
    }
    if (offl < 0 || crate < 0 || crate > 1023 || wib < 1 || wib > 16 || link < 0 || link > 1 ||
        plane < 0 || plane > 2 || wibframechan < 0 || wibframechan > 255) {
      throw core::FormatError(fmt::format("channel map {}:{}: value out of range (crate 0-1023, wib 1-16, "
                                    "link 0-1, plane 0-2, wibframechan 0-255)", path.string(), line_no));
    }
    const auto pl = static_cast<Plane>(plane);
    if (!offline_matches_plane(static_cast<std::uint32_t>(offl), pl)) {
      throw core::FormatError(fmt::format("channel map {}:{}: offline channel {} is outside plane {}'s range",
                                    path.string(), line_no, offl, plane_name(pl)));
    }
    // Online key from a WIBEth frame (PROVENANCE.md): wib = slot + 1,
    // link = stream bit 6, wibframechan = 64 * (stream & 3) + channel.
    const StreamKey key{static_cast<std::uint16_t>(crate), static_cast<std::uint8_t>(wib - 1),
                        static_cast<std::uint8_t>((link << 6) | (wibframechan / 64))};
    map.insert(key, static_cast<unsigned>(wibframechan % 64),
               classify_offline(static_cast<std::uint32_t>(offl), pl));
  }
  if (map.streams_.empty()) throw core::FormatError(fmt::format("channel map {}: no channels", path.string()));
  return map;
}

ChannelMap ChannelMap::emulated(unsigned apas) {
  if (apas == 0 || apas > 1023) throw core::ConfigError("emulated channel map: APA count must be 1-1023");
  ChannelMap map;
  for (unsigned apa = 0; apa < apas; ++apa) {
    // 40 streams per APA in (slot, link, quarter) order; the first 20 feed face 0.
    for (unsigned index = 0; index < 2 * kStreamsPerFace; ++index) {
      const unsigned slot = index / 8, link = (index / 4) % 2, quarter = index % 4;
      const StreamKey key{static_cast<std::uint16_t>(apa + 1), static_cast<std::uint8_t>(slot),
                          static_cast<std::uint8_t>((link << 6) | quarter)};
      const std::uint32_t base = apa * kChannelsPerApa;
      for (unsigned k = 0; k < kXPositions.size(); ++k) {
        const std::uint32_t offline = base + kFirstXInApa + index * kXChannelsPerStream + k;
        map.insert(key, kXPositions[k], classify_offline(offline, Plane::X));
      }
      for (unsigned k = 0; k < kUPositions.size(); ++k) {
        map.insert(key, kUPositions[k], classify_offline(base + index * 20 + k, Plane::U));
        map.insert(key, kVPositions[k], classify_offline(base + 800 + index * 20 + k, Plane::V));
      }
    }
  }
  return map;
}

const ChannelInfo* ChannelMap::find(StreamKey key, unsigned channel) const noexcept {
  const auto it = streams_.find(key);
  if (it == streams_.end() || channel >= 64) return nullptr;
  const auto filled = filled_.find(key);
  if (!(filled->second & (std::uint64_t{1} << channel))) return nullptr;
  return &it->second[channel];
}

std::vector<StreamKey> ChannelMap::streams() const {
  std::vector<StreamKey> keys;
  for (const auto& [key, channels] : streams_) keys.push_back(key);
  return keys;
}

std::vector<std::uint32_t> ChannelMap::faces() const {
  std::set<std::uint32_t> faces;
  for (const auto& [key, channels] : streams_) {
    const std::uint64_t filled = filled_.at(key);
    for (unsigned c = 0; c < 64; ++c) {
      if ((filled >> c & 1) && channels[c].plane == Plane::X) faces.insert(static_cast<std::uint32_t>(channels[c].face));
    }
  }
  return {faces.begin(), faces.end()};
}

FaceLayout ChannelMap::face_layout(std::uint32_t face) const {
  FaceLayout layout{face, {}};
  std::vector<int> hits(kWiresPerFace, 0);
  for (const auto& [key, channels] : streams_) {
    FaceLayout::Stream stream{key, {}, {}};
    unsigned n = 0;
    for (unsigned c = 0; c < 64; ++c) {
      const ChannelInfo& info = channels[c];
      if (!(filled_.at(key) >> c & 1) || info.plane != Plane::X || info.face != static_cast<std::int32_t>(face)) continue;
      if (n == kXChannelsPerStream) {
        throw core::FormatError(fmt::format("channel map: crate {} slot {} stream {} has more than 24 X channels in face {}",
                                      key.crate, key.slot, key.stream, face));
      }
      stream.channel[n] = static_cast<std::uint8_t>(c);
      stream.wire[n++] = info.wire;
      ++hits[info.wire];
    }
    if (n == 0) continue;
    if (n != kXChannelsPerStream) {
      throw core::FormatError(fmt::format("channel map: crate {} slot {} stream {} has {} X channels in face {}, expected 24",
                                    key.crate, key.slot, key.stream, n, face));
    }
    layout.streams.push_back(stream);
  }
  for (unsigned wire = 0; wire < kWiresPerFace; ++wire) {
    if (hits[wire] != 1) {
      throw core::FormatError(fmt::format("channel map: face {} wire {} is fed by {} channels, expected exactly 1",
                                    face, wire, hits[wire]));
    }
  }
  if (layout.streams.size() != kStreamsPerFace) {
    throw core::FormatError(fmt::format("channel map: face {} has {} streams, expected 20", face, layout.streams.size()));
  }
  return layout;
}

}  // namespace larsel::daq
