#pragma once
// Scalar HDF5 attributes shared by the file writers of the daq and later modules.
#include <algorithm>
#include <cstdint>
#include <string>

#include <H5Cpp.h>

namespace larsel::core {

inline void write_string_attribute(H5::H5Object& object, const char* name, const std::string& value) {
  H5::StrType type(H5::PredType::C_S1, std::max<std::size_t>(value.size(), 1));
  object.createAttribute(name, type, H5::DataSpace(H5S_SCALAR)).write(type, value.c_str());
}

inline std::string read_string_attribute(const H5::H5Object& object, const char* name) {
  if (!object.attrExists(name)) return {};
  H5::Attribute attr = object.openAttribute(name);
  std::string value;
  attr.read(attr.getStrType(), value);
  return value;
}

inline void write_u64_attribute(H5::H5Object& object, const char* name, std::uint64_t value) {
  object.createAttribute(name, H5::PredType::NATIVE_UINT64, H5::DataSpace(H5S_SCALAR)).write(H5::PredType::NATIVE_UINT64, &value);
}

}  // namespace larsel::core
