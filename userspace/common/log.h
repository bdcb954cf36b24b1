// Logging: one spdlog sink set shared by named component loggers; JSON lines off a TTY, colour on a TTY.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace credwatch {

enum class LogFormat { Auto, Human, Json };

// Configures where and how every component logs (stderr). Safe to call again (e.g. after parsing config).
void setup_logging(spdlog::level::level_enum level, LogFormat format = LogFormat::Auto);

// The logger of one component ("sensor", "store", "agent", ...): named so that JSON logs carry it.
std::shared_ptr<spdlog::logger> component_logger(const std::string &component);

// Parses "trace|debug|info|warn|error|critical|off"; throws std::invalid_argument naming the input.
spdlog::level::level_enum parse_log_level(const std::string &text);

}  // namespace credwatch
