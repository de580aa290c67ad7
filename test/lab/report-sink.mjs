// A stand-in mapper ingest endpoint for lab tests, run inside a lab namespace: prints
// {"listening":PORT} once listening, then one {"batch":...} line per POST /api/v1/reports, and
// acknowledges each (reporter, sequence) once like the real mapper. The test validates the batches.
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { createServer } from 'node:http';

const host = process.argv[2] ?? '127.0.0.1';
const seen = new Set();
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      res.writeHead(400).end('{"code":"bad-json"}');
      return;
    }
    const key = `${body.reporter}/${body.sequence}`;
    const applied = !seen.has(key);
    seen.add(key);
    process.stdout.write(
      `${JSON.stringify({ batch: body, auth: req.headers.authorization ?? null, path: req.url })}\n`,
    );
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ reporter: body.reporter, sequence: body.sequence, applied }));
  });
});
server.listen(0, host, () =>
  process.stdout.write(`${JSON.stringify({ listening: server.address().port })}\n`),
);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
