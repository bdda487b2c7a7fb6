// Receives the local registry's push notifications and appends each event, one JSON object a
// line, to SINK_FILE. When the local functions host runs (scripts/local/functions-host.ts), it
// writes its webhook URL to SINK_FORWARD_FILE and the sink forwards each envelope there as
// received, as the registry would post it to the webhook's function URL in AWS.
// Envelope format: https://distribution.github.io/distribution/about/notifications/
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const port = Number(process.env.SINK_PORT);
const file = process.env.SINK_FILE;
const secret = process.env.SINK_SECRET;
const forwardFile = process.env.SINK_FORWARD_FILE;

function forwardTarget() {
  if (!forwardFile) return undefined;
  try {
    return readFileSync(forwardFile, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
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
      const body = Buffer.concat(chunks);
      const envelope = JSON.parse(body.toString('utf8'));
      const events = Array.isArray(envelope.events) ? envelope.events : [];
      for (const event of events) appendFileSync(file, `${JSON.stringify(event)}\n`);
      const target = forwardTarget();
      if (target === undefined) {
        res.writeHead(200).end();
        return;
      }
      // The registry retries an envelope the endpoint did not accept; so does this forward.
      fetch(target, {
        method: 'POST',
        headers: {
          authorization: req.headers.authorization,
          'content-type': req.headers['content-type'] ?? 'application/json',
        },
        body,
      }).then(
        (r) => res.writeHead(r.ok ? 200 : 502).end(),
        (error) => {
          // The host is gone (a stale forward file): the events are recorded; nothing to retry.
          console.error(JSON.stringify({ message: 'forward failed', error: String(error) }));
          res.writeHead(200).end();
        },
      );
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
