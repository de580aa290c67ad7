// Kernel counters of a Linux AF_PACKET socket: getsockopt(SOL_PACKET, PACKET_STATISTICS), the call
// libpcap's pcap_stats() makes on Linux. The `cap` binding does not expose pcap_stats(), so the
// sniffer finds the capture socket's fd itself and reads the counters through this small N-API
// addon. The kernel resets the counters on every read (net/packet/af_packet.c packet_getsockopt);
// libpcap only reads them inside pcap_stats(), which `cap` never calls, so the caller owns them
// and accumulates.
//
// It is built with SONAME "libpcap.so" on purpose, and loaded before `cap`: cap looks up
// pcap_set_immediate_mode with dlopen("libpcap.so") when it loads, and glibc returns the already
// loaded object with that soname: this one. So the pcap_set_immediate_mode below is what cap calls
// on every open, before pcap_activate, and the sniffer decides, per capture, whether libpcap's
// immediate mode (TPACKET_V2 ring, one fixed-size frame per packet) or its default TPACKET_V3
// ring (blocks of packets packed back to back) is used (see sniffer/capture/live.ts), whether or
// not libpcap-dev is installed. `npm run build` builds it (build-addon.ts, into
// dist/sniffer/capture/native/) with gcc and the Node headers (/usr/include/node on Debian,
// $(dirname $(which node))/../include/node in the official Node images), equivalent to:
//   gcc -shared -fPIC -O2 -Wl,-soname,libpcap.so -I/usr/include/node \
//       -o dist/sniffer/capture/native/packet-stats.node sniffer/capture/native/packet-stats.c
#include <dlfcn.h>
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

// What the next open asks for (setImmediateMode, setBlockTimeout) and what the last open got
// (immediateModeState).
static int immediate_wanted = 0;
static int block_timeout_ms = 100;
static const char *immediate_state = "off";

// A function of the libpcap cap's binding already loaded, found under the sonames Debian (0.8)
// and others (1) give it; RTLD_NOLOAD never loads a second copy. NULL when neither is loaded.
static void *real_pcap_fn(const char *name) {
  static const char *const sonames[] = {"libpcap.so.0.8", "libpcap.so.1"};
  for (size_t i = 0; i < sizeof sonames / sizeof sonames[0]; i++) {
    void *lib = dlopen(sonames[i], RTLD_LAZY | RTLD_NOLOAD);
    if (lib == NULL) continue;
    void *fn = dlsym(lib, name);
    dlclose(lib); // the binding keeps it loaded: the pointer stays valid
    if (fn != NULL) return fn;
  }
  return NULL;
}

// Called by cap (see the top of this file) with immediate = 1 before pcap_activate, after cap's
// pcap_set_timeout(p, 1000). It forwards to libpcap's own function only when the sniffer asked for
// immediate mode. In the buffered (TPACKET_V3) mode it lowers the read timeout, which libpcap
// passes to the kernel as the ring block's retire timeout (tp_retire_blk_tov): a block is handed
// over when full or after that long. cap gives no packet timestamps, so observations carry the
// time they are handled; cap's 1000 ms would let a flow be stamped up to a second late, long enough
// to be attributed to the next pod holding its IP. Blocks fill long before 100 ms at high rates.
__attribute__((visibility("default"))) int pcap_set_immediate_mode(void *p, int immediate) {
  if (!immediate_wanted || !immediate) {
    int (*set_timeout)(void *, int) = (int (*)(void *, int))real_pcap_fn("pcap_set_timeout");
    if (set_timeout != NULL) set_timeout(p, block_timeout_ms);
    immediate_state = "off";
    return 0;
  }
  int (*real)(void *, int) = (int (*)(void *, int))real_pcap_fn("pcap_set_immediate_mode");
  if (real == NULL) {
    immediate_state = "unavailable";
    return -1;
  }
  int r = real(p, 1);
  immediate_state = r == 0 ? "on" : "failed";
  return r;
}

// setBlockTimeout(ms): the ring block retire timeout of the next buffered capture (1..1000).
static napi_value SetBlockTimeout(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t ms = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &ms) != napi_ok || ms < 1 || ms > 1000) {
    napi_throw_range_error(env, NULL, "setBlockTimeout(ms): ms must be an integer from 1 to 1000");
    return NULL;
  }
  block_timeout_ms = ms;
  return NULL;
}

// setImmediateMode(on): what the next capture opened through cap gets.
static napi_value SetImmediateMode(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool on = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_bool(env, argv[0], &on) != napi_ok) {
    napi_throw_type_error(env, NULL, "setImmediateMode(on): on must be a boolean");
    return NULL;
  }
  immediate_wanted = on ? 1 : 0;
  return NULL;
}

// immediateModeState() -> "on" | "off" | "failed" | "unavailable", for the last capture opened.
static napi_value ImmediateModeState(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_string_utf8(env, immediate_state, NAPI_AUTO_LENGTH, &result);
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "readPacketStats", NAPI_AUTO_LENGTH, ReadPacketStats, NULL, &fn);
  napi_set_named_property(env, exports, "readPacketStats", fn);
  napi_create_function(env, "setImmediateMode", NAPI_AUTO_LENGTH, SetImmediateMode, NULL, &fn);
  napi_set_named_property(env, exports, "setImmediateMode", fn);
  napi_create_function(env, "immediateModeState", NAPI_AUTO_LENGTH, ImmediateModeState, NULL, &fn);
  napi_set_named_property(env, exports, "immediateModeState", fn);
  napi_create_function(env, "setBlockTimeout", NAPI_AUTO_LENGTH, SetBlockTimeout, NULL, &fn);
  napi_set_named_property(env, exports, "setBlockTimeout", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
