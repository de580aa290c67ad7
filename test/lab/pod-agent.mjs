// The process of one lab pod: it serves TCP ports and makes calls when told to. Run inside the
// pod's network namespace:
//   node pod-agent.mjs '{"listen":[7070,9464],"dns":"10.96.0.10"}'
// It prints {"ready":true} when listening, then reads one JSON command per line on stdin:
//   {"id":1,"call":{"name":"cartservice.shop.svc.cluster.local","port":7070}}   resolve, then connect
//   {"id":2,"call":{"ip":"10.244.0.7","port":9464}}                              connect to an address
//   {"id":3,"hold":{"name":"...","port":7070}}                                   connect and keep it open
// and answers each with {"id":1,"ok":true,"ip":"10.96.0.11"} or {"id":1,"ok":false,"error":"..."}.
import dgram from 'node:dgram';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import dnsPacket from 'dns-packet';

const config = JSON.parse(process.argv[2] ?? '{}');
const held = [];
const reply = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function listenAll(ports) {
  await Promise.all(
    ports.map(
      (port) =>
        new Promise((resolve, reject) => {
          const server = createServer((socket) => {
            socket.on('error', () => {});
            // Answer one line and keep the connection as long as the client does.
            socket.write('ok\n');
            socket.on('end', () => socket.end());
          });
          server.once('error', reject);
          server.listen(port, '0.0.0.0', () => resolve());
        }),
    ),
  );
}

let nextQueryId = 1;
function resolveName(name) {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const id = nextQueryId++ & 0xffff;
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no DNS answer for ${name}`));
    }, 5000);
    sock.on('message', (m) => {
      const msg = dnsPacket.decode(m);
      if (msg.id !== id) return;
      clearTimeout(timer);
      sock.close();
      const a = msg.answers.find((x) => x.type === 'A');
      if (a) resolve(a.data);
      else reject(new Error(`no A record for ${name} (rcode ${msg.rcode})`));
    });
    sock.send(
      dnsPacket.encode({
        type: 'query',
        id,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ type: 'A', name }],
      }),
      53,
      config.dns,
    );
  });
}

function open(ip, port, keep) {
  return new Promise((resolve, reject) => {
    const s = connect({ host: ip, port });
    s.setTimeout(5000, () => s.destroy(new Error(`connect to ${ip}:${port} timed out`)));
    s.once('error', reject);
    s.once('data', () => {
      s.setTimeout(0);
      if (keep) held.push(s);
      else s.end();
      resolve();
    });
  });
}

async function handle(cmd) {
  const spec = cmd.call ?? cmd.hold;
  const ip = spec.ip ?? (await resolveName(spec.name));
  await open(ip, spec.port, cmd.hold !== undefined);
  return ip;
}

await listenAll(config.listen ?? []);
reply({ ready: true });
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() === '') return;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch {
    reply({ ok: false, error: `not JSON: ${line}` });
    return;
  }
  handle(cmd).then(
    (ip) => reply({ id: cmd.id, ok: true, ip }),
    (err) => reply({ id: cmd.id, ok: false, error: err.message }),
  );
});
rl.on('close', () => process.exit(0));
