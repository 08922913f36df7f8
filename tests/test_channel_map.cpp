// Channel maps: DUNE's PD2HD v6 file and the built-in emulated detector.
#include <catch2/catch.hpp>

#include <set>

#include "larsel/daq/channel_map.hpp"
#include "larsel/core/errors.hpp"
#include "support.hpp"

using namespace larsel::daq;

TEST_CASE("PD2HD v6 map: crate 1, slot 0, stream 0 holds X at channels 10-21, 32-37, 58-63", "[channel_map][fixture]") {
  const auto dir = larsel::test::fixture_dir();
  if (!dir) return;
  const ChannelMap map = ChannelMap::read_pd2hd(*dir / "PD2HDChannelMap_v6.txt");
  const StreamKey key{1, 0, 0};
  std::vector<unsigned> x, u, v;
  std::set<std::uint32_t> x_offline;
  for (unsigned c = 0; c < 64; ++c) {
    const ChannelInfo* info = map.find(key, c);
    REQUIRE(info != nullptr);
    if (info->plane == Plane::X) {
      x.push_back(c);
      x_offline.insert(info->offline_channel);
      CHECK(info->face == 0);
    }
    if (info->plane == Plane::U) u.push_back(c);
    if (info->plane == Plane::V) v.push_back(c);
  }
  CHECK(x == std::vector<unsigned>(kXPositions.begin(), kXPositions.end()));
  CHECK(u == std::vector<unsigned>(kUPositions.begin(), kUPositions.end()));
  CHECK(v == std::vector<unsigned>(kVPositions.begin(), kVPositions.end()));
  // The stream's 24 X channels are the contiguous offline block 1840-1863.
  CHECK(*x_offline.begin() == 1840);
  CHECK(*x_offline.rbegin() == 1863);
  CHECK(x_offline.size() == 24);
  // Within the block the order is permuted (detector-and-formats.md section 4):
  // channels 10-21, 32-37, 58-63 -> offsets 10,8,...,0,1,...,11, 13,...,23, 22,...,12 or 23 minus those.
  const std::vector<unsigned> permutation = {10, 8, 6, 4, 2, 0, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 22, 20, 18, 16, 14, 12};
  std::vector<unsigned> offsets, mirrored;
  for (std::size_t j = 0; j < kXPositions.size(); ++j) {
    offsets.push_back(map.find(key, kXPositions[j])->offline_channel - 1840);
    mirrored.push_back(23 - permutation[j]);
  }
  CHECK((offsets == permutation || offsets == mirrored));
  CHECK(map.find(key, kXPositions[0])->wire == map.find(key, kXPositions[0])->offline_channel - 1600);

  SECTION("4 APAs x 2 faces, each a valid 480-wire, 20-stream layout") {
    CHECK(map.streams().size() == 160);
    const auto faces = map.faces();
    CHECK(faces == std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5, 6, 7});
    for (const auto face : faces) CHECK(map.face_layout(face).streams.size() == 20);
  }
  SECTION("face 0 of crate 1 is WIB1, WIB2 and WIB3 link 1") {
    std::set<std::pair<int, int>> slot_links;
    for (const auto& s : map.face_layout(0).streams) slot_links.emplace(s.key.slot, s.key.stream >> 6);
    CHECK(slot_links == std::set<std::pair<int, int>>{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {2, 1}});
  }
  CHECK(map.find(StreamKey{1, 0, 4}, 0) == nullptr);
  CHECK(map.find(StreamKey{9, 0, 0}, 0) == nullptr);
}

TEST_CASE("malformed map files name the line", "[channel_map]") {
  larsel::test::TempDir dir;
  auto write = [&](const std::string& text) {
    std::ofstream(dir / "map.txt") << text;
    return dir / "map.txt";
  };
  const std::string good = "1840 1 APA_P02SU 1 0 0 0 2 0 1 0 0 10\n";
  CHECK_NOTHROW(ChannelMap::read_pd2hd(write(good)));
  CHECK_THROWS_WITH(ChannelMap::read_pd2hd(write(good + "1841 1 APA 1 0 0 0 2 0 1 0 0\n")),
                    Catch::Contains("map.txt:2: expected 13 whitespace-separated columns"));
  CHECK_THROWS_WITH(ChannelMap::read_pd2hd(write(good + "1841 1 APA 1 3 0 0 2 0 1 0 0 11\n")),
                    Catch::Contains(":2: value out of range"));
  CHECK_THROWS_WITH(ChannelMap::read_pd2hd(write(good + "5 1 APA 1 0 0 0 2 0 1 0 0 11\n")),
                    Catch::Contains("offline channel 5 is outside plane X's range"));
  CHECK_THROWS_WITH(ChannelMap::read_pd2hd(write(good + good)), Catch::Contains("appears twice"));
  CHECK_THROWS_WITH(ChannelMap::read_pd2hd(dir / "missing.txt"), Catch::Contains("cannot open"));
  CHECK_THROWS_AS(ChannelMap::read_pd2hd(write(good)).face_layout(0), larsel::core::FormatError);  // 1 of 480 wires
}

TEST_CASE("emulated map follows the PD2HD stream layout, 480 wires per face", "[channel_map]") {
  const ChannelMap map = ChannelMap::emulated(2);
  CHECK(map.faces() == std::vector<std::uint32_t>{0, 1, 2, 3});
  for (const auto face : map.faces()) {
    const FaceLayout layout = map.face_layout(face);
    REQUIRE(layout.streams.size() == 20);
    for (const auto& s : layout.streams) {
      CHECK(std::vector<unsigned>(s.channel.begin(), s.channel.end()) ==
            std::vector<unsigned>(kXPositions.begin(), kXPositions.end()));
    }
  }
  const FaceLayout face0 = map.face_layout(0);
  CHECK(face0.streams.front().key == StreamKey{1, 0, 0});
  CHECK(face0.streams.back().key == StreamKey{1, 2, 3});
  CHECK(map.face_layout(3).streams.front().key == StreamKey{2, 2, 64});
  CHECK_THROWS_AS(ChannelMap::emulated(0), larsel::core::ConfigError);
}
