// The ZeroMQ wire format: headers round-trip through JSON, bad headers are named errors,
// and the decision record has the documented byte layout.
#include <cstddef>

#include <catch2/catch.hpp>

#include "larsel/pipeline/wire_format.hpp"

using namespace larsel::pipeline::wire;

TEST_CASE("frame.selected headers round-trip through JSON, with and without truth", "[wire]") {
  FrameHeader h;
  h.message = 41;
  h.run = 7;
  h.face = 3;
  h.timestamp = 0x1234'5678'9abcULL;
  h.sequence = 99;
  h.score = 13.3359375;
  h.threshold = -0.25;
  h.decision = Decision::prescaled;
  h.missing_streams = 0b101;
  h.flags = flag::incomplete;
  h.arrival_to_decision_us = 12.5;
  FrameHeader back = parse_frame_header(to_json(h));
  CHECK(back.message == 41);
  CHECK(back.run == 7);
  CHECK(back.face == 3);
  CHECK(back.timestamp == h.timestamp);
  CHECK(back.sequence == 99);
  CHECK(back.score == h.score);
  CHECK(back.threshold == h.threshold);
  CHECK(back.decision == Decision::prescaled);
  CHECK(back.missing_streams == 0b101);
  CHECK(back.flags == flag::incomplete);
  CHECK(std::isnan(back.truth_visible_energy_mev));
  h.flags = flag::truth_known | flag::truth_signal;
  h.truth_visible_energy_mev = 8.5f;
  h.truth_nu_energy_mev = 17.25f;
  back = parse_frame_header(to_json(h));
  CHECK(back.truth_visible_energy_mev == 8.5f);
  CHECK(back.truth_nu_energy_mev == 17.25f);
}

TEST_CASE("malformed headers are errors that name the problem", "[wire]") {
  CHECK_THROWS_WITH(parse_frame_header("{not json"), Catch::Contains("not valid JSON"));
  CHECK_THROWS_WITH(parse_frame_header(R"({"format":"larsel.frame.v1"})"), Catch::Contains("no field 'message'"));
  CHECK_THROWS_WITH(parse_frame_header(R"({"format":"other"})"), Catch::Contains("format 'other'"));
  FrameHeader h;
  std::string json = to_json(h);
  json.replace(json.find("\"face\":0"), 8, "\"face\":\"x\"");
  CHECK_THROWS_WITH(parse_frame_header(json), Catch::Contains("'face' has the wrong type"));
  CHECK_THROWS_WITH(parse_decision_header(R"({"format":"larsel.decision.v1","message":0,"run":1,"count":2,"record_bytes":16})"),
                    Catch::Contains("record_bytes"));
}

TEST_CASE("decision batch headers and run info round-trip", "[wire]") {
  const DecisionBatchHeader d = parse_decision_header(to_json(DecisionBatchHeader{5, 2, 1024}));
  CHECK(d.message == 5);
  CHECK(d.run == 2);
  CHECK(d.count == 1024);
  RunInfo r{12, 1'700'000'000'000'000'000ULL, "run:\n  number: 12\n", "m.h5", std::string(40, 'a'), 13.5, 100, "0.1.0"};
  const RunInfo back = parse_run_info(to_json(r));
  CHECK(back.run == 12);
  CHECK(back.start_time_unix_ns == r.start_time_unix_ns);
  CHECK(back.config_yaml == r.config_yaml);
  CHECK(back.model_hash == r.model_hash);
  CHECK(back.threshold == 13.5);
  CHECK(back.prescale == 100);
}

TEST_CASE("the decision record has the documented 32-byte layout", "[wire]") {
  CHECK(offsetof(DecisionRecord, timestamp) == 0);
  CHECK(offsetof(DecisionRecord, sequence) == 8);
  CHECK(offsetof(DecisionRecord, score) == 16);
  CHECK(offsetof(DecisionRecord, arrival_to_decision_us) == 20);
  CHECK(offsetof(DecisionRecord, face) == 24);
  CHECK(offsetof(DecisionRecord, decision) == 28);
  CHECK(offsetof(DecisionRecord, flags) == 29);
  CHECK(sizeof(DecisionRecord) == 32);
}

TEST_CASE("integer header fields must be JSON integers in range: out-of-range numbers are malformed, never cast", "[wire]") {
  const std::string frame = to_json(FrameHeader{});
  const auto with = [](std::string json, const std::string& field, const std::string& value) {
    const std::string key = "\"" + field + "\":";
    const auto at = json.find(key) + key.size();
    json.replace(at, json.find_first_of(",}", at) - at, value);
    return json;
  };
  for (const char* value : {"-1", "1e300", "1.5", "18446744073709551616", "-9223372036854775809"}) {
    INFO(value);
    CHECK_THROWS_WITH(parse_frame_header(with(frame, "message", value)),
                      Catch::Contains("field 'message' is not an integer in [0, 18446744073709551615]"));
    CHECK_THROWS_WITH(parse_frame_header(with(frame, "timestamp", value)), Catch::Contains("field 'timestamp'"));
  }
  CHECK_THROWS_WITH(parse_frame_header(with(frame, "face", "4294967296")), Catch::Contains("field 'face' is not an integer in [0, 4294967295]"));
  CHECK_THROWS_WITH(parse_frame_header(with(frame, "flags", "256")), Catch::Contains("field 'flags' is not an integer in [0, 255]"));
  CHECK_THROWS_WITH(parse_frame_header(with(frame, "missing_streams", "-3")), Catch::Contains("field 'missing_streams'"));
  CHECK(parse_frame_header(with(frame, "message", "18446744073709551615")).message == 18446744073709551615ULL);
  CHECK(parse_frame_header(with(frame, "flags", "255")).flags == 255);

  FrameHeader truth;
  truth.flags = flag::truth_known;
  truth.truth_visible_energy_mev = 5.0f;
  const std::string json = to_json(truth);
  std::string huge = json;
  huge.replace(huge.find("\"visible_energy_mev\":5.0"), 24, "\"visible_energy_mev\":1e300");
  CHECK_THROWS_WITH(parse_frame_header(huge), Catch::Contains("field 'visible_energy_mev' is not a finite number that fits a float"));

  const std::string decisions = to_json(DecisionBatchHeader{1, 2, 3});
  CHECK_THROWS_WITH(parse_decision_header(with(decisions, "count", "-1")), Catch::Contains("field 'count'"));
  CHECK_THROWS_WITH(parse_decision_header(with(decisions, "message", "2.5")), Catch::Contains("field 'message'"));
  const std::string info = to_json(RunInfo{});
  CHECK_THROWS_WITH(parse_run_info(with(info, "prescale", "-1")), Catch::Contains("field 'prescale'"));
  CHECK_THROWS_WITH(parse_run_info(with(info, "start_time_unix_ns", "1e300")), Catch::Contains("field 'start_time_unix_ns'"));
}
