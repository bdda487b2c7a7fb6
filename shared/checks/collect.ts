/**
 * What the checks need from each layer, collected in the inventory's own walk (no second pull):
 * secrets in the files a layer holds, whatever later layers do to them, and the account files
 * of the final filesystem. Which files are read is decided from the tar header alone (name,
 * extension, size), then from the first bytes (text, not a binary); each layer has a budget of
 * files and bytes, and what the budget left unread is counted and said.
 */
import type { LayerCollection, LayerCollector } from '../inventory/walk.js';
import type { LayerEntry } from '../layers/reader.js';
import { credentialFileKind, type SecretHit, scanFile } from './secrets.js';

/** Bumped whenever what is collected changes for the same layer: it is in the cache key. */
export const COLLECTOR_VERSION = 1;

/** A file larger than this is not a configuration file or a key: not read for secrets. */
export const MAX_SECRET_FILE_BYTES = 512 * 1024;

export interface SecretBudget {
  /** Files read for secrets in one layer. */
  readonly files: number;
  /** Bytes read for secrets in one layer. */
  readonly bytes: number;
}

export const DEFAULT_SECRET_BUDGET: SecretBudget = { files: 20_000, bytes: 64 * 1024 * 1024 };

/** Kept for the final filesystem: the account databases that resolve the image's `User`. */
const ACCOUNT_FILES = new Set(['etc/passwd', 'etc/group']);

/** Extensions of text that holds configuration and scripts, as secret scanners read them. */
const TEXT_EXTENSIONS = new Set([
  'env',
  'ini',
  'cfg',
  'conf',
  'config',
  'cnf',
  'json',
  'yaml',
  'yml',
  'toml',
  'properties',
  'xml',
  'txt',
  'sh',
  'bash',
  'zsh',
  'ps1',
  'py',
  'js',
  'mjs',
  'cjs',
  'ts',
  'rb',
  'php',
  'go',
  'java',
  'pem',
  'key',
  'p8',
  'tf',
  'tfvars',
  'hcl',
  'sql',
  'npmrc',
  'pypirc',
  'netrc',
  'pgpass',
  'cer',
  'crt',
  'asc',
  'ovpn',
  'kubeconfig',
]);

/**
 * Trees of what packages installed and of third-party code: read by the inventory for packages,
 * and full of test keys and documentation examples (Trivy's built-in allow rules skip the like:
 * pkg/fanal/secret/builtin-allow-rules.go). A credential file there is still read.
 */
const SKIPPED_TREES =
  /^(usr\/(share|include|lib|lib64|libexec)\/|lib\/|lib64\/|var\/lib\/|var\/cache\/|proc\/|sys\/|etc\/ssl\/certs\/)|\/(node_modules|site-packages|dist-packages|vendor|\.git)\//;

/** Home folders: files without an extension there (`credentials`, `.netrc`) are read too. */
const HOMES = /^(root|home\/[^/]+)\//;

/** Whether a file is read for secrets, from its header alone (it sees every file). */
export function secretCandidate(entry: LayerEntry): boolean {
  if (entry.type !== 'file' || entry.size === 0 || entry.size > MAX_SECRET_FILE_BYTES) return false;
  const path = entry.path;
  if (credentialFileKind(path) !== undefined) return true;
  if (SKIPPED_TREES.test(path)) return false;
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  if (dot >= 0) return TEXT_EXTENSIONS.has(base.slice(dot + 1).toLowerCase());
  return HOMES.test(path) || base === 'Dockerfile';
}

/** Text, not a binary: no NUL in the first bytes (what `grep -I` and Trivy's binary check do). */
const isText = (first: Buffer) => !first.subarray(0, 8192).includes(0);

/** What one layer's collection keeps (in the layer cache: plain JSON, hashes only). */
export interface CollectedLayer {
  readonly v: 1;
  readonly secrets: readonly (SecretHit & { readonly path: string })[];
  readonly filesRead: number;
  readonly bytesRead: number;
  /** Candidate files the layer's budget left unread. */
  readonly unread: number;
}

class SecretCollection implements LayerCollection {
  private readonly secrets: (SecretHit & { path: string })[] = [];
  private files = 0;
  private bytes = 0;
  private readonly unread = new Set<string>();

  constructor(private readonly budget: SecretBudget) {}

  wants(entry: LayerEntry): boolean {
    if (!secretCandidate(entry)) return false;
    if (this.files < this.budget.files && this.bytes + entry.size <= this.budget.bytes) return true;
    this.unread.add(entry.path);
    return false;
  }

  head(_entry: LayerEntry, first: Buffer): boolean {
    return isText(first);
  }

  async read(entry: LayerEntry, content: Buffer): Promise<undefined> {
    this.files++;
    this.bytes += content.length;
    for (const hit of scanFile(entry.path, content.toString('utf8')))
      this.secrets.push({ ...hit, path: entry.path });
    return undefined;
  }

  finish(): CollectedLayer {
    return {
      v: 1,
      secrets: this.secrets,
      filesRead: this.files,
      bytesRead: this.bytes,
      unread: this.unread.size,
    };
  }
}

/** The collector the inventory's walk runs for the checks (`inventoryAndWalk`'s `collect`). */
export function checksCollector(budget: SecretBudget = DEFAULT_SECRET_BUDGET): LayerCollector {
  return {
    id: `checks@${COLLECTOR_VERSION}:${budget.files}:${budget.bytes}`,
    keeps: (e) => e.type === 'file' && ACCOUNT_FILES.has(e.path) && e.size <= MAX_SECRET_FILE_BYTES,
    start: () => new SecretCollection(budget),
  };
}
