// Kernel counters of a Linux AF_PACKET socket: getsockopt(SOL_PACKET, PACKET_STATISTICS), the call
// libpcap's pcap_stats() makes on Linux. The `cap` binding does not expose pcap_stats(), so the
// sniffer finds the capture socket's fd itself and reads the counters through this small N-API
// addon. The kernel resets the counters on every read (net/packet/af_packet.c packet_getsockopt);
// libpcap only reads them inside pcap_stats(), which `cap` never calls, so the caller owns them
// and accumulates.
//
// It is built with SONAME "libpcap.so" on purpose, and loaded before `cap`: cap looks up
// pcap_set_immediate_mode with dlopen("libpcap.so") when it loads, glibc returns the already
// loaded object with that soname (this one), the symbol is absent, and libpcap keeps its
// TPACKET_V3 ring, which holds hundreds of times more small packets than the immediate-mode ring
// (see sniffer/capture/live.ts). Build (gcc and the Node headers, /usr/include/node on Debian,
// $(dirname $(which node))/../include/node in the official Node images):
//   gcc -shared -fPIC -O2 -Wl,-soname,libpcap.so -I/usr/include/node \
//       -o sniffer/capture/native/packet-stats.node sniffer/capture/native/packet-stats.c
#include <errno.h>
#include <linux/if_packet.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SOL_PACKET
#define SOL_PACKET 263
#endif

// readPacketStats(fd) -> [packets, drops] since the previous read; throws on error.
static napi_value ReadPacketStats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "readPacketStats(fd): fd must be an integer");
    return NULL;
  }
  // tpacket_stats_v3 is a superset of tpacket_stats (v1/v2): the kernel writes what fits.
  struct tpacket_stats_v3 st;
  memset(&st, 0, sizeof st);
  socklen_t len = sizeof st;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  napi_value result, packets, drops;
  napi_create_array_with_length(env, 2, &result);
  napi_create_uint32(env, st.tp_packets, &packets);
  napi_create_uint32(env, st.tp_drops, &drops);
  napi_set_element(env, result, 0, packets);
  napi_set_element(env, result, 1, drops);
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "readPacketStats", NAPI_AUTO_LENGTH, ReadPacketStats, NULL, &fn);
  napi_set_named_property(env, exports, "readPacketStats", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
