// The error the sensor throws when a kernel object cannot be opened, loaded or attached.
#pragma once

#include <stdexcept>
#include <string>

namespace credwatch {

class SensorError : public std::runtime_error {
 public:
  // what: the step that failed; err: a negative errno from libbpf (0 when none).
  SensorError(const std::string &what, int err = 0);
  int error() const { return err_; }

 private:
  int err_;
};

}  // namespace credwatch
