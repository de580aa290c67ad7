// DNS message decoding: our decoder (sniffer/decode/dns.ts) beside dns-packet, the library STYLE.md
// names, on the same responses (A + CNAME chain, AAAA + CNAME) from the synthetic capture. Our
// decoder exists because the output contract needs tshark's name text and a non-throwing typed
// result; this shows it is also faster. Usage: node dist/bench/sniffer/decode-dns.js
import dnsPacket from 'dns-packet';
import { decodeDnsMessage } from '../../sniffer/decode/dns.js';
import { cyclePackets } from './synthetic-capture.js';

const ROUNDS = 300;

function cpuMs(f: () => void): number {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

// UDP DNS payloads of the synthetic frames: IPv4 headers take 14+20+8 bytes, IPv6 14+40+8.
const messages: Buffer[] = [];
for (let i = 0; i < 200; i++) {
  const [v4, v6] = cyclePackets(i);
  messages.push(Buffer.from(v4!.slice(42)), Buffer.from(v6!.slice(62)));
}
const total = messages.length * ROUNDS;
for (let run = 0; run < 3; run++) {
  let decoded = 0;
  const ours = cpuMs(() => {
    for (let k = 0; k < ROUNDS; k++)
      for (const m of messages) if (decodeDnsMessage(m, 0, m.length).ok) decoded++;
  });
  let theirs = 0;
  const lib = cpuMs(() => {
    for (let k = 0; k < ROUNDS; k++) {
      for (const m of messages) {
        try {
          if (dnsPacket.decode(m).answers !== undefined) theirs++;
        } catch {
          // dns-packet throws on malformed input; none here
        }
      }
    }
  });
  console.log(
    `run ${run + 1}: sniffer/decode/dns ${Math.round(total / ours)}k msg/s, dns-packet ${Math.round(total / lib)}k msg/s ` +
      `(${(lib / ours).toFixed(1)}×; decoded ${decoded} / ${theirs})`,
  );
}
