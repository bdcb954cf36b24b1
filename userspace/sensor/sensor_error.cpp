// SensorError: the failed step plus libbpf's errno, as text.
#include "sensor/sensor_error.h"

#include <cstring>

namespace credwatch {

namespace {
std::string describe(const std::string &what, int err) {
  if (err == 0) return what;
  int e = err < 0 ? -err : err;
  return what + ": " + strerror(e) + " (errno " + std::to_string(e) + ")";
}
}  // namespace

SensorError::SensorError(const std::string &what, int err) : std::runtime_error(describe(what, err)), err_(err) {}

}  // namespace credwatch
