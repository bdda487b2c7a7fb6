/**
 * Registries for tests: another Debian docker-registry with htpasswd auth, and a small proxy in
 * front of a registry that can demand tokens, redirect blobs, fail, or corrupt what it relays.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
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
    requests.push({
      method: req.method ?? '',
      host: req.headers.host ?? '',
      url: req.url ?? '',
      ...(req.headers.authorization === undefined
        ? {}
        : { authorization: req.headers.authorization }),
    });
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
