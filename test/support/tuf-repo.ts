/**
 * A real TUF repository made at test time: root, targets, snapshot and timestamp metadata,
 * signed with Ed25519 keys generated here by node:crypto over canonical JSON, written without
 * the TUF library under test (so a signature it accepts was made by an independent writer), and
 * served from loopback as Sigstore's mirror serves its own: consistent snapshots, so
 * `N.root.json`, `timestamp.json`, `N.snapshot.json`, `N.targets.json` and
 * `targets/<sha256>.<name>`.
 *
 * Spec: https://theupdateframework.github.io/specification/latest/ (4.2 file formats, 4.3-4.6
 * roles, 5 the detailed client workflow); canonical JSON as securesystemslib writes it
 * (https://wiki.laptop.org/go/Canonical_JSON: sorted keys, no whitespace, integers only, strings
 * with only `\` and `"` escaped).
 */
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';

const SPEC_VERSION = '1.0.31';
export const ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type Role = (typeof ROLES)[number];

/** Canonical JSON of a JSON value (TUF's signing format). */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return String(value);
    case 'number':
      if (!Number.isSafeInteger(value)) throw new Error(`canonical JSON has no number ${value}`);
      return String(value);
    case 'string':
      return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      const record = value as Record<string, unknown>;
      // Sorted by code point, as Python sorts the str keys in securesystemslib.
      const keys = Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${keys.map((k) => `${canonicalJson(k)}:${canonicalJson(record[k])}`).join(',')}}`;
    }
    default:
      throw new Error(`canonical JSON has no ${typeof value}`);
  }
}

/** An Ed25519 signing key as TUF's metadata names it. */
export interface TufKey {
  readonly keyid: string;
  readonly privateKey: KeyObject;
  /** The key object of `keys` in root metadata. */
  readonly json: { keytype: 'ed25519'; scheme: 'ed25519'; keyval: { public: string } };
}

export function newTufKey(): TufKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x as string;
  const json = {
    keytype: 'ed25519' as const,
    scheme: 'ed25519' as const,
    keyval: { public: Buffer.from(x, 'base64url').toString('hex') },
  };
  // Key ids are the SHA-256 of the key's canonical JSON (spec 4.2, KEYID).
  const keyid = createHash('sha256').update(canonicalJson(json)).digest('hex');
  return { keyid, privateKey, json };
}

/** Signs `signed` with each key: the metadata file's bytes. */
export function signMetadata(signed: object, keys: readonly TufKey[]): Buffer {
  const payload = Buffer.from(canonicalJson(signed));
  const signatures = keys.map((k) => ({
    keyid: k.keyid,
    sig: sign(null, payload, k.privateKey).toString('hex'),
  }));
  return Buffer.from(`${JSON.stringify({ signed, signatures }, null, 2)}\n`);
}

/** TUF's expiry format: RFC 3339 in UTC, whole seconds. */
export function tufTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const inDays = (days: number) => tufTime(new Date(Date.now() + days * 86_400_000));
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export interface PublishOptions {
  /** Keys that sign the role instead of its own (a wrong key). */
  readonly signers?: Partial<Record<Role, readonly TufKey[]>>;
  /** Expiry of each role, in days from now (negative: expired). */
  readonly expiresInDays?: Partial<Record<Role, number>>;
  /** Bytes served for a target in place of the ones its metadata describes (tampering). */
  readonly served?: Readonly<Record<string, Uint8Array>>;
}

/**
 * A TUF repository of one set of role keys (threshold 1 each), its files by URL path. Each
 * `publish` writes a new targets, snapshot and timestamp version for the given targets.
 */
export class TufRepository {
  readonly keys: Record<Role, TufKey> = {
    root: newTufKey(),
    targets: newTufKey(),
    snapshot: newTufKey(),
    timestamp: newTufKey(),
  };
  readonly files = new Map<string, Uint8Array>();
  private readonly versions: Record<Role, number> = {
    root: 0,
    targets: 0,
    snapshot: 0,
    timestamp: 0,
  };

  constructor() {
    this.rotateRoot({});
  }

  /** The root metadata of a version, as a client would be shipped it. */
  root(version = 1): Uint8Array {
    const bytes = this.files.get(`/${version}.root.json`);
    if (bytes === undefined) throw new Error(`no root version ${version}`);
    return bytes;
  }

  /**
   * A new root version with the given roles' keys replaced, signed by the old and the new root
   * keys (spec 5.3.4-5.3.5: a new root is trusted when both thresholds are met).
   */
  rotateRoot(newKeys: Partial<Record<Role, TufKey>>, options: PublishOptions = {}): void {
    const old = this.keys.root;
    Object.assign(this.keys, newKeys);
    const version = ++this.versions.root;
    const signed = {
      _type: 'root',
      spec_version: SPEC_VERSION,
      version,
      expires: inDays(options.expiresInDays?.root ?? 365),
      consistent_snapshot: true,
      keys: Object.fromEntries(ROLES.map((r) => [this.keys[r].keyid, this.keys[r].json])),
      roles: Object.fromEntries(
        ROLES.map((r) => [r, { keyids: [this.keys[r].keyid], threshold: 1 }]),
      ),
    };
    const signers =
      options.signers?.root ?? (old === this.keys.root ? [old] : [old, this.keys.root]);
    const bytes = signMetadata(signed, signers);
    this.files.set(`/${version}.root.json`, bytes);
    this.files.set('/root.json', bytes);
  }

  publish(targets: Readonly<Record<string, Uint8Array>>, options: PublishOptions = {}): void {
    const signers = (role: Role) => options.signers?.[role] ?? [this.keys[role]];
    const expires = (role: Role, days: number) => inDays(options.expiresInDays?.[role] ?? days);

    const targetsVersion = ++this.versions.targets;
    const targetsSigned = {
      _type: 'targets',
      spec_version: SPEC_VERSION,
      version: targetsVersion,
      expires: expires('targets', 180),
      targets: Object.fromEntries(
        Object.entries(targets).map(([name, bytes]) => [
          name,
          { length: bytes.length, hashes: { sha256: sha256(bytes) } },
        ]),
      ),
    };
    for (const [name, bytes] of Object.entries(targets))
      this.files.set(`/targets/${sha256(bytes)}.${name}`, options.served?.[name] ?? bytes);
    this.files.set(
      `/${targetsVersion}.targets.json`,
      signMetadata(targetsSigned, signers('targets')),
    );

    const snapshotVersion = ++this.versions.snapshot;
    const snapshotSigned = {
      _type: 'snapshot',
      spec_version: SPEC_VERSION,
      version: snapshotVersion,
      expires: expires('snapshot', 30),
      meta: { 'targets.json': { version: targetsVersion } },
    };
    this.files.set(
      `/${snapshotVersion}.snapshot.json`,
      signMetadata(snapshotSigned, signers('snapshot')),
    );

    const timestampSigned = {
      _type: 'timestamp',
      spec_version: SPEC_VERSION,
      version: ++this.versions.timestamp,
      expires: expires('timestamp', 1),
      meta: { 'snapshot.json': { version: snapshotVersion } },
    };
    this.files.set('/timestamp.json', signMetadata(timestampSigned, signers('timestamp')));
  }
}

/** A loopback HTTP server of a map of URL paths to bytes, recording every request. */
export interface FileServer {
  readonly url: string;
  /** Every request path, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function serveFiles(files: ReadonlyMap<string, Uint8Array>): Promise<FileServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://loopback').pathname;
    requests.push(path);
    const body = req.method === 'GET' ? files.get(path) : undefined;
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    // Idempotent: a test may stop the server to make the mirror unreachable.
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (!server.listening) return resolve();
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/**
 * Records the host of every TCP connection this process opens until `stop` (every HTTP client
 * of Node, fetch included, connects through net.Socket), to show that nothing left loopback.
 */
export function recordConnections(): { readonly hosts: string[]; stop(): void } {
  const hosts: string[] = [];
  const original = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    // net.connect passes its normalized [options, listener] as the first argument.
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const options = typeof first === 'object' && first !== null ? first : {};
    const { host, path } = options as { host?: string; path?: string };
    hosts.push(typeof path === 'string' ? `unix:${path}` : (host ?? 'localhost'));
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof original;
  return {
    hosts,
    stop: () => {
      net.Socket.prototype.connect = original;
    },
  };
}
