// Logging set-up: shared sinks, per-component loggers, a JSON formatter that escapes messages.
#include "common/log.h"

#include <unistd.h>

#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace credwatch {

namespace {

// %* in the JSON pattern: the message as a JSON string body (quotes, backslashes, controls escaped).
class JsonEscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg &msg, const std::tm &, spdlog::memory_buf_t &dest) override {
    for (char c : msg.payload) {
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\r': dest.append(std::string_view("\\r")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned char>(c));
            dest.append(std::string_view(buf));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonEscapedMessage>(); }
};

struct LogState {
  std::mutex mutex;
  spdlog::sink_ptr sink;
  spdlog::level::level_enum level = spdlog::level::info;
  bool json = false;
  std::unordered_map<std::string, std::shared_ptr<spdlog::logger>> loggers;
};

LogState &state() {
  static LogState s;
  return s;
}

std::unique_ptr<spdlog::formatter> make_formatter(bool json) {
  if (json) {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    f->add_flag<JsonEscapedMessage>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","component":"%n","message":"%*"})");
    return f;
  }
  auto f = std::make_unique<spdlog::pattern_formatter>();
  {
    f->set_pattern("%H:%M:%S.%e %^%-5l%$ [%n] %v");
  }
  return f;
}

void ensure_sink(LogState &s) {
  if (!s.sink) s.sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
}

}  // namespace

void setup_logging(spdlog::level::level_enum level, LogFormat format) {
  auto &s = state();
  std::lock_guard lock(s.mutex);
  ensure_sink(s);
  s.level = level;
  s.json = format == LogFormat::Json || (format == LogFormat::Auto && !isatty(STDERR_FILENO));
  s.sink->set_formatter(make_formatter(s.json));
  s.sink->set_level(spdlog::level::trace);
  for (auto &[name, logger] : s.loggers) logger->set_level(level);
}

std::shared_ptr<spdlog::logger> component_logger(const std::string &component) {
  auto &s = state();
  std::lock_guard lock(s.mutex);
  auto it = s.loggers.find(component);
  if (it != s.loggers.end()) return it->second;
  if (!s.sink) {
    ensure_sink(s);
    s.json = !isatty(STDERR_FILENO);
    s.sink->set_formatter(make_formatter(s.json));
  }
  auto logger = std::make_shared<spdlog::logger>(component, s.sink);
  logger->set_level(s.level);
  logger->flush_on(spdlog::level::warn);
  s.loggers.emplace(component, logger);
  return logger;
}

spdlog::level::level_enum parse_log_level(const std::string &text) {
  auto level = spdlog::level::from_str(text);
  if (level == spdlog::level::off && text != "off")
    throw std::invalid_argument("invalid log level '" + text + "' (use trace, debug, info, warn, error or off)");
  return level;
}

}  // namespace credwatch
