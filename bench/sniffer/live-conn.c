// Load generator for bench/sniffer/live.ts, compiled at bench time with gcc (never committed as a
// binary). Node cannot open 20,000 TCP connections per second on a shared 2-core machine, and
// neither could the first version of this program: one blocking connect() at a time waits a full
// round trip through the bridge per connection and topped out at ~15,000/s for 4 clients on an
// idle machine. This one paces non-blocking connects on a 1 ms tick and completes them through
// epoll, with up to MAX_INFLIGHT handshakes in flight per client, so the round trip no longer
// bounds the rate. The clients close abortively (SO_LINGER 0 → RST), so neither side keeps a
// TIME_WAIT and no ephemeral port is exhausted.
//   live-conn server PORT [THREADS]
//       accept and close connections on [::]:PORT forever, THREADS (default 2) accept loops on
//       one listening socket
//   live-conn client SERVER_IPV4 PORT RATE SECONDS SRC_PORT_BASE SRC_PORT_COUNT
//       start RATE connections per second for SECONDS, each from an explicit source port
//       (SRC_PORT_BASE + i mod SRC_PORT_COUNT, so no 4-tuple repeats within the run), wait for
//       the handshakes to finish (at most 5 s after the last one started), then print on stdout
//       {"attempted":N,"ok":N,"failed":N,"no_syn":N,"send_s":X,"elapsed_s":X,"max_inflight":N}
//       - ok: the handshake completed; failed: a SYN was sent but the handshake failed or timed
//         out. SYNs sent = ok + failed.
//       - no_syn: socket(), bind() or connect() failed at once, or MAX_INFLIGHT was reached:
//         no SYN left.
//       - send_s: seconds from the first connect() to the last (the achieved rate is
//         (ok + failed) / send_s); elapsed_s also includes the wait for the last handshakes.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_INFLIGHT 4096
#define TICK_NS 1000000LL
#define DRAIN_NS 5000000000LL

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *accept_loop(void *arg) {
  int s = *(int *)arg;
  for (;;) {
    int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
    if (c >= 0) close(c);
  }
  return NULL;
}

static int run_server(int port, int threads) {
  int s = socket(AF_INET6, SOCK_STREAM, 0);
  int one = 1, zero = 0;
  // The server closes gracefully (FIN) and the client answers with RST, which ends the server's
  // FIN_WAIT without TIME_WAIT. An abortive close here would reset the client before it reads
  // the outcome of its connect(), and a completed handshake would read as ECONNRESET.
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
  if (threads < 1) threads = 1;
  for (int i = 1; i < threads; i++) {
    pthread_t t;
    pthread_create(&t, NULL, accept_loop, &s);
  }
  printf("{\"listening\":%d}\n", port);
  fflush(stdout);
  accept_loop(&s);
  return 0;
}

struct client {
  struct sockaddr_in dst;
  int ep, base, count;
  long long ok, failed, no_syn, inflight, max_inflight;
  struct linger lg;
};

// Starts connection number i: a non-blocking connect() from source port base + i % count, counted
// in no_syn when no SYN can have left, else watched in the epoll set until the handshake ends.
static void start_connect(struct client *c, long long i) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) {
    c->no_syn++;
    return;
  }
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(s, SOL_SOCKET, SO_LINGER, &c->lg, sizeof c->lg);
  struct sockaddr_in src;
  memset(&src, 0, sizeof src);
  src.sin_family = AF_INET;
  src.sin_port = htons(c->base + (int)(i % c->count));
  if (bind(s, (struct sockaddr *)&src, sizeof src) != 0) {
    c->no_syn++;
    close(s);
    return;
  }
  int r = connect(s, (struct sockaddr *)&c->dst, sizeof c->dst);
  if (r == 0) {
    c->ok++;
    close(s);
    return;
  }
  if (errno != EINPROGRESS) {
    c->no_syn++;
    close(s);
    return;
  }
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLERR | EPOLLHUP, .data.fd = s};
  if (epoll_ctl(c->ep, EPOLL_CTL_ADD, s, &ev) != 0) {
    // The SYN is out, but we cannot wait for the answer: count it as failed, not as missing.
    c->failed++;
    close(s);
    return;
  }
  c->inflight++;
  if (c->inflight > c->max_inflight) c->max_inflight = c->inflight;
}

// Completes every handshake that is ready, waiting at most timeout_ms.
static void reap(struct client *c, int timeout_ms) {
  struct epoll_event evs[512];
  int n = epoll_wait(c->ep, evs, 512, timeout_ms);
  for (int k = 0; k < n; k++) {
    int s = evs[k].data.fd, err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == 0)
      c->ok++;
    else
      c->failed++;
    // close() removes the fd from the epoll set; SO_LINGER 0 makes it send RST.
    close(s);
    c->inflight--;
  }
}

static int run_client(const char *ip, int port, int rate, int seconds, int base, int count) {
  struct client c;
  memset(&c, 0, sizeof c);
  c.dst.sin_family = AF_INET;
  c.dst.sin_port = htons(port);
  c.base = base;
  c.count = count;
  c.lg.l_onoff = 1;
  c.lg.l_linger = 0;
  if (inet_pton(AF_INET, ip, &c.dst.sin_addr) != 1 || rate <= 0 || count <= 0) {
    fprintf(stderr, "bad arguments\n");
    return 2;
  }
  c.ep = epoll_create1(EPOLL_CLOEXEC);
  long long total = (long long)rate * seconds, next = 0;
  long long start = now_ns(), last_send = start;
  while (next < total) {
    long long t = now_ns();
    // Connections due by now (pacing by elapsed time: a late tick catches up, never runs ahead).
    long long due = (t - start) * rate / 1000000000LL + 1;
    if (due > total) due = total;
    for (; next < due; next++) {
      if (c.inflight >= MAX_INFLIGHT) reap(&c, 1);
      if (c.inflight >= MAX_INFLIGHT) {
        c.no_syn++;
        continue;
      }
      start_connect(&c, next);
    }
    last_send = now_ns();
    // Complete handshakes until the next tick.
    long long wait_ns = start + (next * 1000000000LL) / rate - now_ns();
    int wait_ms = wait_ns > TICK_NS ? (int)(wait_ns / 1000000LL) : (wait_ns > 0 ? 1 : 0);
    reap(&c, wait_ms);
  }
  long long drain_until = now_ns() + DRAIN_NS;
  while (c.inflight > 0 && now_ns() < drain_until) reap(&c, 10);
  // Still in flight after the drain: their SYNs left, the handshakes never completed.
  c.failed += c.inflight;
  double send_s = (last_send - start) / 1e9, elapsed = (now_ns() - start) / 1e9;
  printf("{\"attempted\":%lld,\"ok\":%lld,\"failed\":%lld,\"no_syn\":%lld,\"send_s\":%.3f,\"elapsed_s\":%.3f,"
         "\"max_inflight\":%lld}\n",
         total, c.ok, c.failed, c.no_syn, send_s, elapsed, c.max_inflight);
  return 0;
}

int main(int argc, char **argv) {
  if ((argc == 3 || argc == 4) && strcmp(argv[1], "server") == 0)
    return run_server(atoi(argv[2]), argc == 4 ? atoi(argv[3]) : 2);
  if (argc == 8 && strcmp(argv[1], "client") == 0)
    return run_client(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7]));
  fprintf(stderr, "usage: live-conn server PORT [THREADS] | client IP PORT RATE SECONDS SRC_PORT_BASE SRC_PORT_COUNT\n");
  return 2;
}
