// TCP server and client for lab tests, run inside lab namespaces.
//   node tcp-peer.mjs server PORT            listen on [::]:PORT (dual stack), close each connection at once
//   node tcp-peer.mjs hold-server PORT       listen and keep connections open
//   node tcp-peer.mjs connect HOST PORT N    open and close N connections one after the other
//   node tcp-peer.mjs hold HOST PORT         open one connection and keep it until killed
// Prints one JSON line when ready ({"listening":PORT} / {"connected":N} / {"held":{...}}).
import process from 'node:process';
import { connect, createServer } from 'node:net';

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'server' || mode === 'hold-server') {
  const held = [];
  const server = createServer((socket) => {
    socket.on('error', () => {});
    if (mode === 'server') socket.end();
    else held.push(socket);
  });
  server.listen(Number(a), '::', () => process.stdout.write(`${JSON.stringify({ listening: Number(a) })}\n`));
} else if (mode === 'connect') {
  const n = Number(c);
  let done = 0;
  const next = () => {
    if (done === n) {
      process.stdout.write(`${JSON.stringify({ connected: n })}\n`);
      return;
    }
    const s = connect({ host: a, port: Number(b) }, () => {
      done++;
      s.destroy();
      next();
    });
    s.on('error', (err) => {
      process.stderr.write(`connect failed: ${err.message}\n`);
      process.exit(1);
    });
  };
  next();
} else if (mode === 'hold') {
  const s = connect({ host: a, port: Number(b) }, () => {
    process.stdout.write(`${JSON.stringify({ held: { local: s.localAddress, localPort: s.localPort } })}\n`);
  });
  s.on('error', (err) => {
    process.stderr.write(`connect failed: ${err.message}\n`);
    process.exit(1);
  });
} else {
  process.stderr.write(
    'usage: tcp-peer.mjs server|hold-server PORT | connect HOST PORT N | hold HOST PORT\n',
  );
  process.exit(2);
}
