// A DNS-over-TCP server for lab tests that sends each response in several TCP segments: the
// framed response (RFC 1035 §4.2.2 length prefix) is written in PIECES writes of about equal size,
// with Nagle off and PACE_MS between writes, so the kernel sends each write as its own segment.
// Every query for NAME is answered with COUNT A records (10.99.x.y); prints "listening" when ready.
//   node dns-tcp-paced-server.mjs NAME COUNT PIECES PACE_MS
import { Buffer } from 'node:buffer';
import { createServer } from 'node:net';
import process from 'node:process';
import { setTimeout } from 'node:timers';
import dnsPacket from 'dns-packet';

const [name, count, pieces, paceMs] = process.argv.slice(2);
const answers = Array.from({ length: Number(count) }, (_, i) => ({
  type: 'A',
  name,
  ttl: 60,
  data: `10.99.${i >> 8}.${i & 0xff}`,
}));

/** Writes `bytes` in `n` pieces, one per PACE_MS. */
function writePaced(socket, bytes, n) {
  const size = Math.ceil(bytes.length / n);
  let at = 0;
  const next = () => {
    if (at >= bytes.length || socket.destroyed) return;
    socket.write(bytes.subarray(at, at + size));
    at += size;
    setTimeout(next, Number(paceMs));
  };
  next();
}

const server = createServer((socket) => {
  socket.setNoDelay(true);
  let buf = Buffer.alloc(0);
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const query = dnsPacket.streamDecode(buf);
      buf = buf.subarray(2 + buf.readUInt16BE(0));
      const response = dnsPacket.streamEncode({
        type: 'response',
        id: query.id,
        flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED,
        questions: query.questions,
        answers: query.questions[0]?.name === name ? answers : [],
      });
      writePaced(socket, response, Number(pieces));
    }
  });
  socket.on('error', () => socket.destroy());
});
server.listen(53, '::', () => process.stdout.write('listening\n'));
