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
