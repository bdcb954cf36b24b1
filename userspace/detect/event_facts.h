// What an event says in the terms the detectors share: credential uses, secret reads, destinations, executables.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/event.h"

namespace credwatch {

// "cw_a,cw_b" -> {"cw_a", "cw_b"}; empty parts are dropped.
std::vector<std::string> split_credential_ids(std::string_view joined);

// A credential was used: a secret file opened for reading, a secret variable read (getenv), or a program started
// with a secret variable in its environment. A failed open is not a use.
bool is_credential_use(const Event &event);

// The process itself read a secret (a file or getenv); being handed one at exec is not a read.
bool is_secret_read(const Event &event);

// Where a credential use found its credential: "file:<path>" or "env:<name>"; nullopt for other events.
std::optional<std::string> credential_source(const Event &event);

// Where a connect event went ("10.0.0.1:443", "[::1]:80", "/run/x.sock"); nullopt for other events.
std::optional<std::string> connect_destination(const Event &event);

// The program an exec event started (the resolved exe when known, else the name passed to execve).
std::optional<std::string> executed_program(const Event &event);

}  // namespace credwatch
