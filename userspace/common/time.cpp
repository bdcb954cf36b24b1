// Clocks and time formats.
#include "common/time.h"

#include <cstdint>
#include <ctime>
#include <stdexcept>
#include <string>

namespace credwatch {

namespace {

int64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

[[noreturn]] void bad_time(std::string_view text, const char *why) {
  throw std::invalid_argument("invalid time '" + std::string(text) + "': " + why);
}

}  // namespace

WallNs wall_now_ns() { return clock_ns(CLOCK_REALTIME); }
uint64_t boot_now_ns() { return static_cast<uint64_t>(clock_ns(CLOCK_BOOTTIME)); }

BootClock::BootClock() { refresh(); }

void BootClock::refresh() {
  // Sample boot, wall, boot and take the midpoint so the offset error stays within a few hundred ns.
  int64_t b1 = clock_ns(CLOCK_BOOTTIME);
  int64_t w = clock_ns(CLOCK_REALTIME);
  int64_t b2 = clock_ns(CLOCK_BOOTTIME);
  offset_ns_ = w - (b1 + (b2 - b1) / 2);
}

std::string format_rfc3339(WallNs ns) {
  time_t secs = static_cast<time_t>(ns / 1'000'000'000);
  long frac = static_cast<long>(ns % 1'000'000'000);
  if (frac < 0) {
    frac += 1'000'000'000;
    secs -= 1;
  }
  tm utc{};
  gmtime_r(&secs, &utc);
  char buf[64];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", frac);
  return buf;
}

std::string format_clock(WallNs ns) {
  time_t secs = static_cast<time_t>(ns / 1'000'000'000);
  tm local{};
  localtime_r(&secs, &local);
  char buf[32];
  size_t n = strftime(buf, sizeof(buf), "%H:%M:%S", &local);
  snprintf(buf + n, sizeof(buf) - n, ".%03d", static_cast<int>((ns / 1'000'000) % 1000));
  return buf;
}

int64_t parse_duration_ns(std::string_view text) {
  if (text.empty()) bad_time(text, "empty duration");
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!is_digit(text[i])) bad_time(text, "expected a number such as 10m, 2h or 7d");
    int64_t value = 0;
    while (i < text.size() && is_digit(text[i])) {
      value = value * 10 + (text[i] - '0');
      if (value > 1'000'000'000) bad_time(text, "number too large");
      ++i;
    }
    std::string_view unit;
    size_t start = i;
    while (i < text.size() && !is_digit(text[i])) ++i;
    unit = text.substr(start, i - start);
    int64_t scale;
    if (unit.empty()) bad_time(text, "missing unit (use ms, s, m, h, d or w)");
    if (unit == "ns") scale = 1;
    else if (unit == "us") scale = 1'000;
    else if (unit == "ms") scale = 1'000'000;
    else if (unit == "s") scale = 1'000'000'000;
    else if (unit == "m") scale = 60LL * 1'000'000'000;
    else if (unit == "h") scale = 3600LL * 1'000'000'000;
    else if (unit == "d") scale = 86400LL * 1'000'000'000;
    else if (unit == "w") scale = 7 * 86400LL * 1'000'000'000;
    else bad_time(text, "unknown unit (use ms, s, m, h, d or w)");
    // Durations past about 290 years do not fit in int64 nanoseconds.
    if (value > (INT64_MAX - total) / scale) bad_time(text, "duration too long");
    total += value * scale;
  }
  return total;
}

WallNs parse_time_arg(std::string_view text, WallNs now) {
  if (text.empty()) bad_time(text, "empty");
  // A bare duration means "that long ago".
  bool looks_like_date = text.size() >= 10 && text[4] == '-' && text[7] == '-';
  if (!looks_like_date) return now - parse_duration_ns(text);

  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t k = pos; k < pos + len; ++k) {
      if (k >= text.size() || !is_digit(text[k])) bad_time(text, "expected RFC 3339, e.g. 2026-11-28T19:00:00Z");
      v = v * 10 + (text[k] - '0');
    }
    return v;
  };
  tm t{};
  t.tm_year = num(0, 4) - 1900;
  t.tm_mon = num(5, 2) - 1;
  t.tm_mday = num(8, 2);
  size_t i = 10;
  int64_t frac_ns = 0;
  int64_t offset_s = 0;
  if (i < text.size()) {
    if (text[i] != 'T' && text[i] != 't' && text[i] != ' ') bad_time(text, "expected 'T' after the date");
    t.tm_hour = num(i + 1, 2);
    if (text.size() < i + 9 || text[i + 3] != ':' || text[i + 6] != ':') bad_time(text, "expected HH:MM:SS");
    t.tm_min = num(i + 4, 2);
    t.tm_sec = num(i + 7, 2);
    i += 9;
    if (i < text.size() && text[i] == '.') {
      ++i;
      int64_t scale = 100'000'000;
      while (i < text.size() && is_digit(text[i])) {
        frac_ns += (text[i] - '0') * scale;
        scale /= 10;
        ++i;
      }
    }
    if (i < text.size()) {
      if (text[i] == 'Z' || text[i] == 'z') {
        ++i;
      } else if (text[i] == '+' || text[i] == '-') {
        int sign = text[i] == '-' ? -1 : 1;
        if (text.size() < i + 6 || text[i + 3] != ':') bad_time(text, "expected a zone offset like +02:00");
        offset_s = sign * (num(i + 1, 2) * 3600 + num(i + 4, 2) * 60);
        i += 6;
      } else {
        bad_time(text, "expected Z or a zone offset");
      }
    } else {
      bad_time(text, "missing zone (add Z for UTC)");
    }
  }
  if (i != text.size()) bad_time(text, "trailing characters");
  if (t.tm_mon < 0 || t.tm_mon > 11 || t.tm_mday < 1 || t.tm_mday > 31 || t.tm_hour > 23 || t.tm_min > 59 ||
      t.tm_sec > 60)
    bad_time(text, "field out of range");
  time_t secs = timegm(&t);
  return (static_cast<int64_t>(secs) - offset_s) * 1'000'000'000 + frac_ns;
}

}  // namespace credwatch
