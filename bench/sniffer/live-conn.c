// Load generator for bench/sniffer/live.ts, compiled at bench time with gcc (never committed as a
// binary). Node cannot open 20,000 TCP connections per second on a shared 2-core machine; this
// does it with blocking connect() and an abortive close (SO_LINGER 0 → RST, so no TIME_WAIT and
// no ephemeral port exhaustion).
//   live-conn server PORT
//       accept and close connections on [::]:PORT forever
//   live-conn client SERVER_IPV4 PORT RATE SECONDS SRC_PORT_BASE SRC_PORT_COUNT
//       open RATE connections per second for SECONDS, each from an explicit source port
//       (SRC_PORT_BASE + i mod SRC_PORT_COUNT) so that no 4-tuple repeats within the run, then
//       print {"attempted":N,"ok":N,"failed":N,"bind_failed":N,"elapsed_s":X} on stdout; every
//       connect() that was called sent a SYN, so SYNs sent = ok + failed
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int run_server(int port) {
  int s = socket(AF_INET6, SOCK_STREAM, 0);
  int one = 1, zero = 0;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  struct sockaddr_in6 a;
  memset(&a, 0, sizeof a);
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  a.sin6_addr = in6addr_any;
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 65535) != 0) {
    perror("bind/listen");
    return 1;
  }
  printf("{\"listening\":%d}\n", port);
  fflush(stdout);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c >= 0) close(c);
  }
}

static int run_client(const char *ip, int port, int rate, int seconds, int base, int count) {
  struct sockaddr_in dst;
  memset(&dst, 0, sizeof dst);
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  if (inet_pton(AF_INET, ip, &dst.sin_addr) != 1) {
    fprintf(stderr, "bad address %s\n", ip);
    return 2;
  }
  long long total = (long long)rate * seconds, ok = 0, failed = 0, bind_failed = 0;
  long long interval = 1000000000LL / rate;
  long long start = now_ns();
  struct linger lg = {1, 0};
  int one = 1;
  for (long long i = 0; i < total; i++) {
    long long target = start + i * interval;
    long long t = now_ns();
    if (t < target) {
      struct timespec d = {(target - t) / 1000000000LL, (target - t) % 1000000000LL};
      nanosleep(&d, NULL);
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) {
      failed++;
      continue;
    }
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    struct sockaddr_in src;
    memset(&src, 0, sizeof src);
    src.sin_family = AF_INET;
    src.sin_port = htons(base + (int)(i % count));
    if (bind(s, (struct sockaddr *)&src, sizeof src) != 0) {
      bind_failed++;
    } else if (connect(s, (struct sockaddr *)&dst, sizeof dst) != 0) {
      failed++;
    } else {
      ok++;
    }
    close(s);
  }
  double elapsed = (now_ns() - start) / 1e9;
  printf("{\"attempted\":%lld,\"ok\":%lld,\"failed\":%lld,\"bind_failed\":%lld,\"elapsed_s\":%.3f}\n", total, ok, failed,
         bind_failed, elapsed);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "server") == 0) return run_server(atoi(argv[2]));
  if (argc == 8 && strcmp(argv[1], "client") == 0)
    return run_client(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7]));
  fprintf(stderr, "usage: live-conn server PORT | client IP PORT RATE SECONDS SRC_PORT_BASE SRC_PORT_COUNT\n");
  return 2;
}
