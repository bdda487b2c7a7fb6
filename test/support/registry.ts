/**
 * Registries for tests: another Debian docker-registry with htpasswd auth, and a small proxy in
 * front of a registry that can demand tokens, redirect blobs, fail, or corrupt what it relays.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import bcrypt from 'bcryptjs';
import { freePort } from '../../scripts/local/services.js';

export interface TestRegistry {
  readonly host: string;
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** A docker-registry that asks for basic credentials (htpasswd, bcrypt). */
export async function startPasswordRegistry(
  dir: string,
  username: string,
  password: string,
): Promise<TestRegistry> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  writeFileSync(path.join(dir, 'htpasswd'), `${username}:${bcrypt.hashSync(password, 6)}\n`);
  const config = path.join(dir, 'registry.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: ${JSON.stringify(path.join(dir, 'data'))} } }`,
      `http: { addr: 127.0.0.1:${port} }`,
      `auth: { htpasswd: { realm: bosun-test, path: ${JSON.stringify(path.join(dir, 'htpasswd'))} } }`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const response = await fetch(`${endpoint}/v2/`);
      await response.body?.cancel();
      if (response.status === 401) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error('password registry did not start');
    await sleep(100);
  }
  return {
    host: `127.0.0.1:${port}`,
    endpoint,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** What a test server notes of a request it received. */
function recorded(req: IncomingMessage): RecordedRequest {
  return {
    method: req.method ?? '',
    host: req.headers.host ?? '',
    url: req.url ?? '',
    ...(req.headers.authorization === undefined
      ? {}
      : { authorization: req.headers.authorization }),
  };
}

export interface RecordedRequest {
  readonly method: string;
  readonly host: string;
  readonly url: string;
  readonly authorization?: string;
}

/** Returns true when it answered the request itself; false lets the proxy relay it. */
export type Intercept = (
  req: IncomingMessage,
  res: ServerResponse,
  proxy: TestProxy,
) => boolean | Promise<boolean>;

export interface TestProxy {
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Relays a request to the upstream registry; `transform` may rewrite the response body. */
  relay(
    req: IncomingMessage,
    res: ServerResponse,
    path?: string,
    transform?: (body: Buffer) => Buffer,
  ): void;
  stop(): Promise<void>;
}

export async function startProxy(upstream: string, intercept: Intercept): Promise<TestProxy> {
  const target = new URL(upstream);
  const requests: RecordedRequest[] = [];
  const proxy: TestProxy = {
    port: 0,
    requests,
    relay(req, res, pathOverride, transform) {
      const headers = { ...req.headers, host: target.host };
      delete headers.authorization;
      const upstreamReq = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: pathOverride ?? req.url,
          headers,
        },
        (upstreamRes) => {
          const responseHeaders = { ...upstreamRes.headers };
          if (transform === undefined) {
            res.writeHead(upstreamRes.statusCode ?? 502, responseHeaders);
            upstreamRes.pipe(res);
            return;
          }
          const chunks: Buffer[] = [];
          upstreamRes.on('data', (c: Buffer) => chunks.push(c));
          upstreamRes.on('end', () => {
            const body = transform(Buffer.concat(chunks));
            res.writeHead(upstreamRes.statusCode ?? 502, {
              ...responseHeaders,
              'content-length': String(body.length),
            });
            res.end(body);
          });
        },
      );
      upstreamReq.on('error', () => res.destroy());
      req.pipe(upstreamReq);
    },
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    requests.push(recorded(req));
    Promise.resolve(intercept(req, res, proxy)).then(
      (handled) => {
        if (!handled) proxy.relay(req, res);
      },
      () => res.destroy(),
    );
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (proxy as { port: number }).port = (server.address() as AddressInfo).port;
  return proxy;
}

/**
 * Answers a request itself (returns true), or leaves it to the layout registry (false). `serve`
 * answers with the layout's own content at another path, for hooks that alter only some answers.
 */
export type LayoutHook = (
  req: IncomingMessage,
  res: ServerResponse,
  registry: LayoutRegistry,
) => boolean | Promise<boolean>;

export interface LayoutRegistry {
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly host: string;
  readonly requests: RecordedRequest[];
  /** The bytes and media type the layout serves for a tag or a blob digest, or undefined. */
  content(reference: string): { bytes: Buffer; mediaType: string } | undefined;
  stop(): Promise<void>;
}

/**
 * A registry in this process serving an OCI layout directory read-only through the distribution
 * API (`/v2/<any repository>/manifests/<tag|digest>`, `/blobs/<digest>`), anonymously. Its tags
 * are the layout's ref names. `hook` sees every request first: the hostile registries of the
 * tests are this one with one answer changed.
 */
export async function startLayoutRegistry(
  dir: string,
  hook: LayoutHook = () => false,
): Promise<LayoutRegistry> {
  const blob = (digest: string): Buffer | undefined => {
    const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
    if (m === null) return undefined;
    try {
      return readFileSync(path.join(dir, 'blobs', 'sha256', m[1] as string));
    } catch {
      return undefined;
    }
  };
  const content = (reference: string) => {
    const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as {
      manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[];
    };
    const byTag = index.manifests.find(
      (m) => m.annotations?.['org.opencontainers.image.ref.name'] === reference,
    );
    const digest = byTag?.digest ?? reference;
    const bytes = blob(digest);
    if (bytes === undefined) return undefined;
    let declared: string | undefined;
    try {
      declared = (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType;
    } catch {
      // A layer or other binary blob.
    }
    return { bytes, mediaType: declared ?? byTag?.mediaType ?? 'application/octet-stream' };
  };
  const requests: RecordedRequest[] = [];
  const registry: LayoutRegistry = {
    port: 0,
    host: '',
    requests,
    content,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const manifest = /^\/v2\/.+\/manifests\/([^/]+)$/.exec(url.pathname);
    const blobPath = /^\/v2\/.+\/blobs\/([^/]+)$/.exec(url.pathname);
    if (url.pathname === '/v2/') {
      res.writeHead(200).end('{}');
    } else if (manifest !== null) {
      const found = content(decodeURIComponent(manifest[1] as string));
      if (found === undefined) res.writeHead(404).end();
      else {
        res.writeHead(200, {
          'content-type': found.mediaType,
          'content-length': String(found.bytes.length),
          'docker-content-digest': `sha256:${createHash('sha256').update(found.bytes).digest('hex')}`,
        });
        res.end(req.method === 'HEAD' ? undefined : found.bytes);
      }
    } else if (blobPath !== null) {
      const bytes = blob(decodeURIComponent(blobPath[1] as string));
      if (bytes === undefined) res.writeHead(404).end();
      else
        res
          .writeHead(200, {
            'content-type': 'application/octet-stream',
            'content-length': String(bytes.length),
          })
          .end(req.method === 'HEAD' ? undefined : bytes);
    } else {
      res.writeHead(404).end();
    }
  };
  const server: Server = createServer((req, res) => {
    requests.push(recorded(req));
    Promise.resolve(hook(req, res, registry)).then(
      (handled) => {
        if (!handled) answer(req, res);
      },
      () => res.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  Object.assign(registry, { port, host: `127.0.0.1:${port}` });
  return registry;
}

/** Sends `bytes` one byte every `everyMs`: a body never silent for long, and slow to end. */
export function trickle(res: ServerResponse, bytes: Buffer, everyMs: number): void {
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': String(bytes.length),
  });
  void (async () => {
    for (const byte of bytes) {
      if (res.destroyed) return;
      res.write(Buffer.from([byte]));
      await sleep(everyMs);
    }
    res.end();
  })();
}
