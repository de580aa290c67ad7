// A DNS stub for lab tests: sends one query over UDP or TCP (RFC 1035 §4.2.2 length prefix) and
// prints the decoded answers as one JSON line.
//   node dns-client.mjs SERVER NAME TYPE udp|tcp
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { setTimeout } from 'node:timers';
import dgram from 'node:dgram';
import { isIPv6, connect } from 'node:net';
import dnsPacket from 'dns-packet';

const [server, name, type, transport] = process.argv.slice(2);
const query = {
  type: 'query',
  id: Math.floor(Math.random() * 65535),
  flags: dnsPacket.RECURSION_DESIRED,
  questions: [{ type, name }],
};
const done = (msg) => {
  process.stdout.write(
    `${JSON.stringify({ rcode: msg.rcode, answers: msg.answers.map((x) => ({ type: x.type, name: x.name, data: x.data, ttl: x.ttl })) })}\n`,
  );
  process.exit(0);
};
const fail = (err) => {
  process.stderr.write(`query failed: ${err.message}\n`);
  process.exit(1);
};
setTimeout(() => fail(new Error('no answer in 10 s')), 10_000).unref();
if (transport === 'tcp') {
  const s = connect({ host: server, port: 53 }, () => s.write(dnsPacket.streamEncode(query)));
  let buf = Buffer.alloc(0);
  s.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      s.destroy();
      done(dnsPacket.streamDecode(buf));
    }
  });
  s.on('error', fail);
} else {
  const sock = dgram.createSocket(isIPv6(server) ? 'udp6' : 'udp4');
  sock.on('message', (m) => {
    sock.close();
    done(dnsPacket.decode(m));
  });
  sock.on('error', fail);
  sock.send(dnsPacket.encode(query), 53, server);
}
