#pragma once
// The body of each fuzz harness (tests/fuzz/fuzz_<target>.cpp): what LLVMFuzzerTestOneInput runs in
// the fuzz build, and what the regression test replays the corpora and crash inputs through.
#include <cstddef>
#include <cstdint>

namespace larsel::fuzz {

/// WIBEth frames and Fragments: locate_wibeth_frames, header decode/encode, ADC unpack kernels.
void fuzz_wibeth(const std::uint8_t* data, std::size_t size);
/// The frame builder fed a sequence of datagrams as the UDP receive loop feeds it.
void fuzz_frame_builder(const std::uint8_t* data, std::size_t size);
/// The ZeroMQ wire format as `larsel record` and `larsel listen` parse it.
void fuzz_wire_format(const std::uint8_t* data, std::size_t size);
/// The YAML configurations: pipeline, preprocess, simulation, training and compression recipes.
void fuzz_yaml_config(const std::uint8_t* data, std::size_t size);
/// Model files: valid HDF5 written from the input's decisions, read by models::load_model.
void fuzz_model_file(const std::uint8_t* data, std::size_t size);

}  // namespace larsel::fuzz
