#include "larsel/daq/sim/dataset.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include <H5Cpp.h>
#include <zlib.h>
#include <fmt/format.h>

#include "larsel/core/hdf5_attributes.hpp"

namespace larsel::daq::sim {
namespace {

using core::read_string_attribute;
using core::write_string_attribute;

constexpr const char* kKinds =
    "0 Ar39 beta, 1 neutron-capture gamma, 2 Ar42/K42 beta, 3 neutrino, 4 Kr85 beta, 5 Rn222 chain (alphas, betas), "
    "6 external gamma";
constexpr const char* kLayout =
    "frames[frame][wire][tick]: 14-bit ADC counts of the 480 collection wires of one APA face (rows) over "
    "64 ticks of 512 ns (columns); truth/* one entry per frame; radiological/* one entry per deposit (continuous "
    "streams: per decay and frame, with the energy visible in that frame); events/* one entry per neutrino event and "
    "event_frames/* one per event and frame it reaches (continuous streams only)";

/// Column-wise truth, appended frame by frame.
struct TruthColumns {
  std::vector<std::uint8_t> label;
  std::vector<float> nu_energy, electron_energy, visible_energy, vertex_wire, vertex_tick, vertex_drift;
  std::vector<std::int16_t> wire_min, wire_max, tick_min, tick_max;
  std::vector<std::uint64_t> timestamp;
  std::vector<std::int32_t> event;
  std::vector<std::uint16_t> radiological_count;
  std::vector<std::uint32_t> rad_frame;
  std::vector<std::uint8_t> rad_kind;
  std::vector<float> rad_wire, rad_tick, rad_drift, rad_energy;

  void append(const FrameTruth& t, std::uint32_t frame) {
    label.push_back(static_cast<std::uint8_t>(t.label));
    nu_energy.push_back(t.nu_energy_mev);
    electron_energy.push_back(t.electron_energy_mev);
    visible_energy.push_back(t.visible_energy_mev);
    wire_min.push_back(t.wire_min);
    wire_max.push_back(t.wire_max);
    tick_min.push_back(t.tick_min);
    tick_max.push_back(t.tick_max);
    vertex_wire.push_back(t.vertex_wire);
    vertex_tick.push_back(t.vertex_tick);
    vertex_drift.push_back(t.vertex_drift_cm);
    timestamp.push_back(t.timestamp);
    event.push_back(t.event);
    radiological_count.push_back(static_cast<std::uint16_t>(std::min<std::size_t>(t.radiological.size(), UINT16_MAX)));
    for (const auto& d : t.radiological) {
      rad_frame.push_back(frame);
      rad_kind.push_back(static_cast<std::uint8_t>(d.kind));
      rad_wire.push_back(d.wire);
      rad_tick.push_back(d.tick);
      rad_drift.push_back(d.drift_cm);
      rad_energy.push_back(d.energy_mev);
    }
  }
};

/// The neutrino events of a continuous stream, column-wise, with their per-frame visible energy.
struct EventColumns {
  std::vector<std::uint32_t> id;
  std::vector<float> nu_energy, electron_energy, visible_energy, vertex_wire, vertex_drift;
  std::vector<double> vertex_tick;
  std::vector<std::uint64_t> first_frame;
  std::vector<std::uint32_t> share_event;
  std::vector<std::uint64_t> share_frame;
  std::vector<float> share_visible;

  void append(const EventTruth& e) {
    id.push_back(e.id);
    nu_energy.push_back(e.nu_energy_mev);
    electron_energy.push_back(e.electron_energy_mev);
    visible_energy.push_back(e.visible_energy_mev);
    vertex_tick.push_back(e.vertex_tick);
    vertex_wire.push_back(e.vertex_wire);
    vertex_drift.push_back(e.vertex_drift_cm);
    first_frame.push_back(e.first_frame);
    for (std::size_t k = 0; k < e.frame_visible_mev.size(); ++k) {
      share_event.push_back(e.id);
      share_frame.push_back(e.first_frame + k);
      share_visible.push_back(e.frame_visible_mev[k]);
    }
  }
};

/// HDF5's shuffle filter: byte k of every element together, for element size 2.
void shuffle_bytes(std::span<const std::uint16_t> values, std::vector<std::uint8_t>& out) {
  out.resize(values.size() * 2);
  for (std::size_t i = 0; i < values.size(); ++i) {
    out[i] = static_cast<std::uint8_t>(values[i] & 0xFF);
    out[values.size() + i] = static_cast<std::uint8_t>(values[i] >> 8);
  }
}

template <typename T> const H5::PredType& h5_type();
template <> const H5::PredType& h5_type<std::uint8_t>() { return H5::PredType::NATIVE_UINT8; }
template <> const H5::PredType& h5_type<std::int16_t>() { return H5::PredType::NATIVE_INT16; }
template <> const H5::PredType& h5_type<std::uint16_t>() { return H5::PredType::NATIVE_UINT16; }
template <> const H5::PredType& h5_type<std::int32_t>() { return H5::PredType::NATIVE_INT32; }
template <> const H5::PredType& h5_type<std::uint32_t>() { return H5::PredType::NATIVE_UINT32; }
template <> const H5::PredType& h5_type<std::uint64_t>() { return H5::PredType::NATIVE_UINT64; }
template <> const H5::PredType& h5_type<float>() { return H5::PredType::NATIVE_FLOAT; }
template <> const H5::PredType& h5_type<double>() { return H5::PredType::NATIVE_DOUBLE; }

template <typename T>
void write_column(H5::Group& group, const char* name, const std::vector<T>& data) {
  const hsize_t dims[1] = {data.size()};
  H5::DataSet ds = group.createDataSet(name, h5_type<T>(), H5::DataSpace(1, dims));
  if (!data.empty()) ds.write(data.data(), h5_type<T>());
}

template <typename T>
std::vector<T> read_column(const H5::Group& group, const char* name, std::size_t expected, const std::string& where) {
  if (!group.nameExists(name)) throw std::runtime_error(fmt::format("{}: missing dataset {}", where, name));
  H5::DataSet ds = group.openDataSet(name);
  hsize_t n = 0;
  if (ds.getSpace().getSimpleExtentNdims() != 1) throw std::runtime_error(fmt::format("{}: {} is not 1-D", where, name));
  ds.getSpace().getSimpleExtentDims(&n);
  if (expected != SIZE_MAX && n != expected) {
    throw std::runtime_error(fmt::format("{}: {} has {} entries, expected {}", where, name, n, expected));
  }
  std::vector<T> out(n);
  if (n > 0) ds.read(out.data(), h5_type<T>());
  return out;
}

}  // namespace

const char* deposit_kind_name(DepositKind kind) noexcept {
  switch (kind) {
    case DepositKind::ar39_beta: return "Ar39";
    case DepositKind::neutron_capture: return "n-capture";
    case DepositKind::ar42_chain: return "Ar42/K42";
    case DepositKind::neutrino: return "neutrino";
    case DepositKind::kr85_beta: return "Kr85";
    case DepositKind::rn222_chain: return "Rn222 chain";
    case DepositKind::external_gamma: return "external gamma";
  }
  return "?";
}

std::optional<DepositKind> dominant_background_kind(const FrameTruth& truth) noexcept {
  std::array<double, kDepositKinds> energy{};
  for (const RadiologicalDeposit& d : truth.radiological) energy[static_cast<std::size_t>(d.kind)] += d.energy_mev;
  const auto top = std::max_element(energy.begin(), energy.end());
  if (*top <= 0) return std::nullopt;
  return static_cast<DepositKind>(top - energy.begin());
}

void encode_chunk(std::span<const std::uint16_t> frames, std::vector<std::byte>& out) {
  // A chunk is always kChunkFrames frames on disk; a short last chunk is zero-padded.
  std::vector<std::uint16_t> padded;
  if (frames.size() < kChunkFrames * Frame::kPixels) {
    padded.assign(kChunkFrames * Frame::kPixels, 0);
    std::copy(frames.begin(), frames.end(), padded.begin());
    frames = padded;
  }
  std::vector<std::uint8_t> shuffled;
  shuffle_bytes(frames, shuffled);
  z_stream z{};
  if (deflateInit2(&z, 1, Z_DEFLATED, 15, 8, Z_RLE) != Z_OK) throw std::runtime_error("zlib: deflateInit2 failed");
  out.resize(deflateBound(&z, shuffled.size()));
  z.next_in = shuffled.data();
  z.avail_in = static_cast<uInt>(shuffled.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("zlib: deflate did not finish a chunk");
}

struct DatasetWriter::Impl {
  std::filesystem::path path, tmp;
  H5::H5File file;
  H5::DataSet frames;
  std::vector<std::uint16_t> buffer;  // up to kChunkFrames frames
  std::size_t buffered = 0, written = 0;
  TruthColumns truth;
  EventColumns events;
  bool closed = false, continuous = false;
  std::uint64_t stream_frames = 0, stream_events = 0;

  void write_events() {
    H5::Group e = file.createGroup("events");
    write_column(e, "id", events.id);
    write_column(e, "nu_energy_mev", events.nu_energy);
    write_column(e, "electron_energy_mev", events.electron_energy);
    write_column(e, "visible_energy_mev", events.visible_energy);
    write_column(e, "vertex_tick", events.vertex_tick);
    write_column(e, "vertex_wire", events.vertex_wire);
    write_column(e, "vertex_drift_cm", events.vertex_drift);
    write_column(e, "first_frame", events.first_frame);
    H5::Group f = file.createGroup("event_frames");
    write_column(f, "event", events.share_event);
    write_column(f, "frame", events.share_frame);
    write_column(f, "visible_energy_mev", events.share_visible);
    core::write_u64_attribute(file, "stream_frames", stream_frames);
    core::write_u64_attribute(file, "stream_events", stream_events);
  }

  std::vector<std::byte> encoded;

  /// Write one encoded chunk of `frames` frames at the end of /frames.
  void write_chunk(std::span<const std::byte> chunk, std::size_t frames) {
    const hsize_t new_dims[3] = {written + frames, Frame::kWires, Frame::kTicks};
    this->frames.extend(new_dims);
    const hsize_t offset[3] = {written, 0, 0};
    if (H5Dwrite_chunk(this->frames.getId(), H5P_DEFAULT, 0, offset, chunk.size(), chunk.data()) < 0) {
      throw std::runtime_error(fmt::format("{}: writing a chunk of frames failed", path.string()));
    }
    written += frames;
  }
  void flush_buffer() {
    if (buffered == 0) return;
    encode_chunk(std::span<const std::uint16_t>(buffer.data(), buffered * Frame::kPixels), encoded);
    write_chunk(encoded, buffered);
    buffered = 0;
  }
};

DatasetWriter::DatasetWriter(const std::filesystem::path& path, const std::string& config_yaml, std::uint64_t seed)
    : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->tmp = path.string() + ".tmp";
  try {
    H5::Exception::dontPrint();
    impl_->file = H5::H5File(impl_->tmp.string(), H5F_ACC_TRUNC);
    const hsize_t dims[3] = {0, Frame::kWires, Frame::kTicks};
    const hsize_t max_dims[3] = {H5S_UNLIMITED, Frame::kWires, Frame::kTicks};
    const hsize_t chunk[3] = {kChunkFrames, Frame::kWires, Frame::kTicks};
    H5::DSetCreatPropList props;
    props.setChunk(3, chunk);
    props.setShuffle();
    props.setDeflate(1);  // fast; noise does not compress much further at higher levels
    impl_->frames = impl_->file.createDataSet("frames", H5::PredType::NATIVE_UINT16, H5::DataSpace(3, dims, max_dims), props);
    write_string_attribute(impl_->file, "config", config_yaml);
    write_string_attribute(impl_->file, "layout", kLayout);
    write_string_attribute(impl_->file, "software", "larsel");
    core::write_u64_attribute(impl_->file, "seed", seed);
    const std::uint32_t version = kDatasetFormatVersion;
    impl_->file.createAttribute("format_version", H5::PredType::NATIVE_UINT32, H5::DataSpace(H5S_SCALAR))
        .write(H5::PredType::NATIVE_UINT32, &version);
  } catch (const H5::Exception& e) {
    throw std::runtime_error(fmt::format("{}: cannot create HDF5 data set: {}", path.string(), e.getDetailMsg()));
  }
  impl_->buffer.resize(kChunkFrames * Frame::kPixels);
}

DatasetWriter::~DatasetWriter() {
  if (impl_ && !impl_->closed) {
    try {
      impl_->file.close();
    } catch (...) {
    }
    std::error_code ec;
    std::filesystem::remove(impl_->tmp, ec);
  }
}

void DatasetWriter::append(FramePixels pixels, const FrameTruth& truth) {
  std::copy(pixels.begin(), pixels.end(), impl_->buffer.begin() + static_cast<std::ptrdiff_t>(impl_->buffered * Frame::kPixels));
  impl_->truth.append(truth, static_cast<std::uint32_t>(size()));
  if (++impl_->buffered == kChunkFrames) {
    try {
      impl_->flush_buffer();
    } catch (const H5::Exception& e) {
      throw std::runtime_error(fmt::format("{}: writing frames failed: {}", impl_->path.string(), e.getDetailMsg()));
    }
  }
}

std::size_t DatasetWriter::size() const noexcept { return impl_->written + impl_->buffered; }

void DatasetWriter::set_stream(std::uint64_t frames, std::uint64_t events) {
  impl_->continuous = true;
  impl_->stream_frames = frames;
  impl_->stream_events = events;
}

void DatasetWriter::append_events(std::span<const EventTruth> events) {
  for (const EventTruth& e : events) impl_->events.append(e);
}

void DatasetWriter::append_encoded(std::span<const std::byte> chunk, std::span<const FrameTruth> truth) {
  if (impl_->buffered != 0 || impl_->written % kChunkFrames != 0) {
    throw std::logic_error("DatasetWriter::append_encoded: not at a chunk boundary");
  }
  if (truth.empty() || truth.size() > kChunkFrames) throw std::logic_error("DatasetWriter::append_encoded: 1-16 frames per chunk");
  for (std::size_t k = 0; k < truth.size(); ++k) impl_->truth.append(truth[k], static_cast<std::uint32_t>(size() + k));
  try {
    impl_->write_chunk(chunk, truth.size());
  } catch (const H5::Exception& e) {
    throw std::runtime_error(fmt::format("{}: writing frames failed: {}", impl_->path.string(), e.getDetailMsg()));
  }
}

void DatasetWriter::close() {
  try {
    impl_->flush_buffer();
    H5::Group t = impl_->file.createGroup("truth");
    const TruthColumns& c = impl_->truth;
    write_column(t, "label", c.label);
    write_column(t, "nu_energy_mev", c.nu_energy);
    write_column(t, "electron_energy_mev", c.electron_energy);
    write_column(t, "visible_energy_mev", c.visible_energy);
    write_column(t, "wire_min", c.wire_min);
    write_column(t, "wire_max", c.wire_max);
    write_column(t, "tick_min", c.tick_min);
    write_column(t, "tick_max", c.tick_max);
    write_column(t, "vertex_wire", c.vertex_wire);
    write_column(t, "vertex_tick", c.vertex_tick);
    write_column(t, "vertex_drift_cm", c.vertex_drift);
    write_column(t, "timestamp", c.timestamp);
    write_column(t, "event", c.event);
    write_column(t, "radiological_count", c.radiological_count);
    H5::Group r = impl_->file.createGroup("radiological");
    write_column(r, "frame", c.rad_frame);
    write_column(r, "kind", c.rad_kind);
    write_column(r, "wire", c.rad_wire);
    write_column(r, "tick", c.rad_tick);
    write_column(r, "drift_cm", c.rad_drift);
    write_column(r, "energy_mev", c.rad_energy);
    write_string_attribute(r, "kinds", kKinds);
    if (impl_->continuous) impl_->write_events();
    impl_->file.close();
    std::filesystem::rename(impl_->tmp, impl_->path);
    impl_->closed = true;
  } catch (const H5::Exception& e) {
    throw std::runtime_error(fmt::format("{}: closing data set failed: {}", impl_->path.string(), e.getDetailMsg()));
  } catch (const std::filesystem::filesystem_error& e) {
    throw std::runtime_error(fmt::format("{}: {}", impl_->path.string(), e.what()));
  }
}

struct DatasetReader::Impl {
  std::string where;
  H5::H5File file;
  H5::DataSet frames;
  std::size_t count = 0;
  std::vector<FrameTruth> truth;
  std::string config;
  std::uint64_t seed = 0;
  bool continuous = false;
  std::vector<EventTruth> events;

  void load_truth();
  void load_events();
};

void DatasetReader::Impl::load_truth() {
  H5::Group t = file.openGroup("truth");
  const auto label = read_column<std::uint8_t>(t, "label", count, where);
  const auto nu = read_column<float>(t, "nu_energy_mev", count, where);
  const auto electron = read_column<float>(t, "electron_energy_mev", count, where);
  const auto visible = read_column<float>(t, "visible_energy_mev", count, where);
  const auto wmin = read_column<std::int16_t>(t, "wire_min", count, where);
  const auto wmax = read_column<std::int16_t>(t, "wire_max", count, where);
  const auto tmin = read_column<std::int16_t>(t, "tick_min", count, where);
  const auto tmax = read_column<std::int16_t>(t, "tick_max", count, where);
  const auto vw = read_column<float>(t, "vertex_wire", count, where);
  const auto vt = read_column<float>(t, "vertex_tick", count, where);
  const auto vd = read_column<float>(t, "vertex_drift_cm", count, where);
  const auto ts = read_column<std::uint64_t>(t, "timestamp", count, where);
  // Data sets written before continuous streams have no event column.
  const auto event = t.nameExists("event") ? read_column<std::int32_t>(t, "event", count, where) : std::vector<std::int32_t>(count, -1);
  truth.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (label[i] > 2) throw std::runtime_error(fmt::format("{}: truth/label of frame {} is {}, not 0-2", where, i, label[i]));
    truth[i] = FrameTruth{static_cast<FrameLabel>(label[i]), nu[i], electron[i], visible[i], wmin[i], wmax[i], tmin[i],
                          tmax[i], vw[i], vt[i], vd[i], ts[i], event[i], {}};
  }
  H5::Group r = file.openGroup("radiological");
  const auto frame = read_column<std::uint32_t>(r, "frame", SIZE_MAX, where);
  const auto kind = read_column<std::uint8_t>(r, "kind", frame.size(), where);
  const auto wire = read_column<float>(r, "wire", frame.size(), where);
  const auto tick = read_column<float>(r, "tick", frame.size(), where);
  const auto drift = read_column<float>(r, "drift_cm", frame.size(), where);
  const auto energy = read_column<float>(r, "energy_mev", frame.size(), where);
  for (std::size_t i = 0; i < frame.size(); ++i) {
    if (frame[i] >= count || kind[i] >= kDepositKinds) throw std::runtime_error(fmt::format("{}: radiological entry {} is out of range", where, i));
    truth[frame[i]].radiological.push_back({static_cast<DepositKind>(kind[i]), wire[i], tick[i], drift[i], energy[i]});
  }
}

void DatasetReader::Impl::load_events() {
  continuous = true;
  H5::Group e = file.openGroup("events");
  const auto id = read_column<std::uint32_t>(e, "id", SIZE_MAX, where);
  const auto nu = read_column<float>(e, "nu_energy_mev", id.size(), where);
  const auto electron = read_column<float>(e, "electron_energy_mev", id.size(), where);
  const auto visible = read_column<float>(e, "visible_energy_mev", id.size(), where);
  const auto tick = read_column<double>(e, "vertex_tick", id.size(), where);
  const auto wire = read_column<float>(e, "vertex_wire", id.size(), where);
  const auto drift = read_column<float>(e, "vertex_drift_cm", id.size(), where);
  const auto first = read_column<std::uint64_t>(e, "first_frame", id.size(), where);
  events.resize(id.size());
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (id[i] != i) throw std::runtime_error(fmt::format("{}: events/id {} is {}, expected the row number", where, i, id[i]));
    events[i] = EventTruth{id[i], nu[i], electron[i], visible[i], tick[i], wire[i], drift[i], first[i], {}};
  }
  H5::Group f = file.openGroup("event_frames");
  const auto event = read_column<std::uint32_t>(f, "event", SIZE_MAX, where);
  const auto frame = read_column<std::uint64_t>(f, "frame", event.size(), where);
  const auto share = read_column<float>(f, "visible_energy_mev", event.size(), where);
  for (std::size_t i = 0; i < event.size(); ++i) {
    if (event[i] >= events.size() || frame[i] >= count || frame[i] != events[event[i]].first_frame + events[event[i]].frame_visible_mev.size()) {
      throw std::runtime_error(fmt::format("{}: event_frames entry {} is out of range or out of order", where, i));
    }
    events[event[i]].frame_visible_mev.push_back(share[i]);
  }
}

DatasetReader::DatasetReader(const std::filesystem::path& path) : impl_(std::make_unique<Impl>()) {
  impl_->where = path.string();
  try {
    H5::Exception::dontPrint();
    if (!std::filesystem::is_regular_file(path)) throw std::runtime_error(fmt::format("{}: no such file", impl_->where));
    impl_->file = H5::H5File(path.string(), H5F_ACC_RDONLY);
    if (!impl_->file.nameExists("frames")) throw std::runtime_error(fmt::format("{}: not a LArSel data set (no /frames)", impl_->where));
    impl_->frames = impl_->file.openDataSet("frames");
    H5::DataSpace space = impl_->frames.getSpace();
    hsize_t dims[3] = {0, 0, 0};
    if (space.getSimpleExtentNdims() != 3) throw std::runtime_error(fmt::format("{}: /frames must be 3-D", impl_->where));
    space.getSimpleExtentDims(dims);
    if (dims[1] != Frame::kWires || dims[2] != Frame::kTicks) {
      throw std::runtime_error(fmt::format("{}: /frames is [{}][{}][{}], expected [N][480][64]", impl_->where, dims[0], dims[1], dims[2]));
    }
    impl_->count = dims[0];
    impl_->config = read_string_attribute(impl_->file, "config");
    if (impl_->file.attrExists("seed")) impl_->file.openAttribute("seed").read(H5::PredType::NATIVE_UINT64, &impl_->seed);
    impl_->load_truth();
    if (impl_->file.nameExists("events")) impl_->load_events();
  } catch (const H5::Exception& e) {
    throw std::runtime_error(fmt::format("{}: cannot read data set: {}", impl_->where, e.getDetailMsg()));
  }
}

DatasetReader::~DatasetReader() = default;

std::size_t DatasetReader::size() const noexcept { return impl_->count; }

void DatasetReader::read_frames(std::size_t first, std::size_t count, std::span<std::uint16_t> out) const {
  if (first + count > impl_->count || out.size() != count * Frame::kPixels) {
    throw std::out_of_range(fmt::format("{}: frames {}-{} requested, {} present", impl_->where, first, first + count, impl_->count));
  }
  try {
    H5::DataSpace file_space = impl_->frames.getSpace();
    const hsize_t start[3] = {first, 0, 0}, n[3] = {count, Frame::kWires, Frame::kTicks};
    file_space.selectHyperslab(H5S_SELECT_SET, n, start);
    impl_->frames.read(out.data(), H5::PredType::NATIVE_UINT16, H5::DataSpace(3, n), file_space);
  } catch (const H5::Exception& e) {
    throw std::runtime_error(fmt::format("{}: reading frames {}-{} failed: {}", impl_->where, first, first + count, e.getDetailMsg()));
  }
}

void DatasetReader::read_frame(std::size_t index, std::span<std::uint16_t, Frame::kPixels> out) const {
  read_frames(index, 1, out);
}

const FrameTruth& DatasetReader::truth(std::size_t index) const { return impl_->truth.at(index); }
const std::string& DatasetReader::config_yaml() const noexcept { return impl_->config; }
std::uint64_t DatasetReader::seed() const noexcept { return impl_->seed; }
bool DatasetReader::continuous() const noexcept { return impl_->continuous; }
const std::vector<EventTruth>& DatasetReader::events() const noexcept { return impl_->events; }

}  // namespace larsel::daq::sim
