// The agent's live feed on a terminal: one compact, coloured line per recorded event.
#pragma once

#include <cstdio>
#include <string>

#include "model/alert.h"
#include "model/event.h"

namespace credwatch {

class LiveFeed {
 public:
  // Prints to out when enabled; colour only when out is a terminal.
  LiveFeed(FILE *out, bool enabled);
  void print(const Event &ev);
  // A new alert, on its own highlighted line.
  void print(const Alert &alert);
  bool enabled() const { return enabled_; }

  // The line without colour codes (for tests).
  static std::string format(const Event &ev, bool colour);

 private:
  FILE *out_;
  bool enabled_;
  bool colour_;
};

}  // namespace credwatch
