// Test workload: looks up each named environment variable through libc getenv (what the uprobes watch) and
// prints whether it was set, never its value.
#include <cstdio>
#include <cstdlib>

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) std::printf("%s=%s\n", argv[i], std::getenv(argv[i]) ? "set" : "unset");
  return 0;
}
