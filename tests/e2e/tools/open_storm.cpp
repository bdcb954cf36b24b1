// Test tool: many processes opening files as fast as they can (a secret-open storm hidden in plain opens).
// Usage: open_storm <secret path> <plain path> <secret opens per process> <plain opens per process> <processes>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s SECRET PLAIN N_SECRET N_PLAIN PROCESSES\n", argv[0]);
    return 2;
  }
  const char *secret = argv[1], *plain = argv[2];
  long n_secret = atol(argv[3]), n_plain = atol(argv[4]), procs = atol(argv[5]);
  for (long p = 0; p < procs; ++p) {
    if (fork() == 0) {
      long ratio = n_secret > 0 ? n_plain / n_secret : n_plain;
      long done_plain = 0, failures = 0;
      for (long s = 0; s < n_secret; ++s) {
        for (long k = 0; k < ratio; ++k, ++done_plain) close(open(plain, O_RDONLY));
        int fd = open(secret, O_RDONLY);
        if (fd < 0) ++failures;
        close(fd);
      }
      for (; done_plain < n_plain; ++done_plain) close(open(plain, O_RDONLY));
      _exit(failures ? 1 : 0);
    }
  }
  int status, rc = 0;
  while (wait(&status) > 0)
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) rc = 1;
  return rc;
}
