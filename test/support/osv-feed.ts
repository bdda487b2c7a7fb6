/**
 * A feed server on loopback that publishes OSV records in the layout of OSV's bucket:
 * `/<ecosystem>/all.zip`, `/<ecosystem>/modified_id.csv` (newest first) and
 * `/<ecosystem>/<id>.json`. Records are whatever the test publishes (taken from the shared
 * real advisories); faults can be injected per path.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ZipFile } from 'yazl';
import { advisoryFiles } from '../../shared/advisories/load.js';
import { dataDir } from './fixtures.js';

export interface RawRecord {
  readonly id: string;
  readonly modified: string;
  readonly [field: string]: unknown;
}

/** Every OSV document under `advisories/<relative>` as published (not validated). */
export function rawOsvRecords(relative: string): RawRecord[] {
  const root = path.join(dataDir(), 'advisories', relative);
  return advisoryFiles(root)
    .filter((f) => /\.(json|ya?ml)$/.test(f))
    .map((f) => {
      const text = readFileSync(f, 'utf8');
      return (f.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) as RawRecord;
    })
    .filter((d) => typeof d?.id === 'string' && typeof d.modified === 'string');
}

export type Fault = 'status-500' | 'hang' | { readonly body: Buffer | string };

export class OsvFeedServer {
  private readonly ecosystems = new Map<string, Map<string, RawRecord>>();
  private readonly zips = new Map<string, Buffer>();
  readonly faults = new Map<string, Fault>();
  readonly requests: string[] = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<OsvFeedServer> {
    const server = createServer();
    const feed = new OsvFeedServer(server);
    server.on('request', (req, res) => {
      feed.handle(req.url ?? '/').then(
        (out) => {
          if (out === 'hang') return; // never answers; the client's timeout must fire
          res.writeHead(out.status, { 'content-type': out.type });
          res.end(out.body);
        },
        (error: Error) => {
          res.writeHead(500);
          res.end(error.message);
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return feed;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Replaces or adds records of an ecosystem. */
  publish(ecosystem: string, records: readonly RawRecord[]): void {
    const map = this.ecosystems.get(ecosystem) ?? new Map<string, RawRecord>();
    for (const r of records) map.set(r.id, r);
    this.ecosystems.set(ecosystem, map);
    this.zips.delete(ecosystem);
  }

  /** The records an ecosystem publishes now. */
  records(ecosystem: string): RawRecord[] {
    return structuredClone([...(this.ecosystems.get(ecosystem)?.values() ?? [])]);
  }

  record(ecosystem: string, id: string): RawRecord {
    const r = this.ecosystems.get(ecosystem)?.get(id);
    if (r === undefined) throw new Error(`${ecosystem}/${id} is not published`);
    return structuredClone(r);
  }

  /** Requests for single records (`<id>.json`) since the server started or `clear`. */
  recordRequests(): string[] {
    return this.requests.filter((r) => r.endsWith('.json'));
  }

  private async zip(ecosystem: string): Promise<Buffer> {
    const cached = this.zips.get(ecosystem);
    if (cached !== undefined) return cached;
    const zip = new ZipFile();
    for (const r of this.ecosystems.get(ecosystem)?.values() ?? [])
      zip.addBuffer(Buffer.from(JSON.stringify(r)), `${r.id}.json`, { mtime: new Date(0) });
    zip.end();
    const chunks: Buffer[] = [];
    for await (const c of zip.outputStream) chunks.push(c as Buffer);
    const out = Buffer.concat(chunks);
    this.zips.set(ecosystem, out);
    return out;
  }

  private csv(ecosystem: string): string {
    const rows = [...(this.ecosystems.get(ecosystem)?.values() ?? [])].sort((a, b) =>
      a.modified === b.modified
        ? a.id < b.id
          ? -1
          : 1
        : Date.parse(b.modified) - Date.parse(a.modified),
    );
    return rows.map((r) => `${r.modified},${r.id}\n`).join('');
  }

  private async handle(
    url: string,
  ): Promise<'hang' | { status: number; type: string; body: Buffer | string }> {
    const pathname = decodeURIComponent(new URL(url, 'http://x').pathname);
    this.requests.push(pathname);
    const fault = this.faults.get(pathname);
    if (fault === 'hang') return 'hang';
    if (fault === 'status-500') return { status: 500, type: 'text/plain', body: 'backend error' };
    if (fault !== undefined)
      return { status: 200, type: 'application/octet-stream', body: fault.body };
    const [, ecosystem, file] = /^\/([^/]+)\/([^/]+)$/.exec(pathname) ?? [];
    const records = ecosystem === undefined ? undefined : this.ecosystems.get(ecosystem);
    if (ecosystem === undefined || file === undefined || records === undefined)
      return { status: 404, type: 'text/plain', body: 'not found' };
    if (file === 'all.zip')
      return { status: 200, type: 'application/zip', body: await this.zip(ecosystem) };
    if (file === 'modified_id.csv')
      return { status: 200, type: 'text/csv', body: this.csv(ecosystem) };
    const record = file.endsWith('.json') ? records.get(file.slice(0, -5)) : undefined;
    if (record === undefined) return { status: 404, type: 'text/plain', body: 'not found' };
    return { status: 200, type: 'application/json', body: JSON.stringify(record) };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
