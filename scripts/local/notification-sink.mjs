// Receives the local registry's push notifications and appends each event, one JSON object a
// line, to SINK_FILE. It stands where Bosun's registry webhook will stand in AWS.
// Envelope format: https://distribution.github.io/distribution/about/notifications/
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

const port = Number(process.env.SINK_PORT);
const file = process.env.SINK_FILE;
const secret = process.env.SINK_SECRET;
if (!Number.isInteger(port) || !file || !secret) {
  console.error('notification sink: SINK_PORT, SINK_FILE and SINK_SECRET are required');
  process.exit(2);
}
const MAX_BODY = 4 * 1024 * 1024;

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200).end('ok');
    return;
  }
  if (req.method !== 'POST' || req.url !== '/registry-events') {
    res.writeHead(404).end();
    return;
  }
  if (req.headers.authorization !== `Bearer ${secret}`) {
    res.writeHead(401).end();
    return;
  }
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) {
      res.writeHead(413).end();
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (res.writableEnded) return;
    try {
      const envelope = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const events = Array.isArray(envelope.events) ? envelope.events : [];
      for (const event of events) appendFileSync(file, `${JSON.stringify(event)}\n`);
      res.writeHead(200).end();
    } catch (error) {
      console.error(JSON.stringify({ message: 'notification rejected', error: String(error) }));
      res.writeHead(400).end();
    }
  });
});
server.listen(port, '127.0.0.1', () =>
  console.log(JSON.stringify({ message: 'notification sink listening', port })),
);
for (const signal of ['SIGTERM', 'SIGINT'])
  process.on(signal, () => server.close(() => process.exit(0)));
