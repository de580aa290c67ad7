// Builds the optional packet-stats addon (packet-stats.c: kernel drop counters and the ring mode)
// beside the compiled capture module, where sniffer/capture/live.ts looks for it. Run by
// `npm run build` after tsc. The addon is optional: without gcc or Node's headers the sniffer
// still captures, with its kernel-drops metric "unavailable", so a failure here warns and exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url)); // dist/sniffer/capture/native
const repo = join(here, '..', '..', '..', '..');
const source = join(repo, 'sniffer', 'capture', 'native', 'packet-stats.c');
const out = join(here, 'packet-stats.node');
// Node's headers sit beside its binary's prefix: /usr/bin/node → /usr/include/node (Debian),
// /usr/local/bin/node → /usr/local/include/node (the official images).
const includeDir = join(dirname(dirname(process.execPath)), 'include', 'node');

if (!existsSync(join(includeDir, 'node_api.h'))) {
  console.warn(
    `packet-stats addon not built: Node's headers are not in ${includeDir} (install the nodejs headers, e.g. Debian's nodejs package); the sniffer's kernel-drops metric will read "unavailable".`,
  );
} else {
  mkdirSync(here, { recursive: true });
  // SONAME libpcap.so on purpose: see the top of packet-stats.c (cap's immediate-mode lookup).
  const args = ['-shared', '-fPIC', '-O2', '-Wl,-soname,libpcap.so', `-I${includeDir}`, '-o', out, source];
  const r = spawnSync('gcc', args, { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    console.warn(
      `packet-stats addon not built (${r.error?.message ?? r.stderr.trim()}); install gcc to build it. The sniffer works without it, with its kernel-drops metric "unavailable".`,
    );
  }
}
