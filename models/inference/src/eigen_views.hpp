#pragma once
// Row-major Eigen views over the layers' float buffers (NCHW, row-major like the weights), and the
// double matrices of the quantization-aware sums (quantization_aware.hpp).
#include <Eigen/Core>

namespace larsel::models {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using DoubleMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixView = Eigen::Map<RowMatrix>;
using ConstMatrixView = Eigen::Map<const RowMatrix>;

}  // namespace larsel::models
