/**
 * `--allow-host REGISTRY=HOST`: a private registry whose blobs are served from another host (its
 * storage, as Harbor with S3 does) is refused until that host is allowed for it, and a flag that
 * is not REGISTRY=HOST is a usage error.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../support/fixtures.js';
import { derivedFiles, LayoutWriter, tarOf } from '../../support/oci.js';
import { type LayoutRegistry, startLayoutRegistry } from '../../support/registry.js';

/**
 * The CLI in a child process, awaited without blocking this process: the registries it talks to
 * are served from here.
 */
function bosun(
  ...args: string[]
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/bosun.ts', ...args], {
      cwd: PROJECT_ROOT,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const work = mkdtempSync(path.join(tmpdir(), 'bosun-cli-allow-host-'));
let storage: LayoutRegistry;
let registry: LayoutRegistry;

beforeAll(async () => {
  const layout = path.join(work, 'layout');
  const w = new LayoutWriter(layout);
  w.finish(
    w.image({ architecture: 'amd64', layers: [await tarOf(derivedFiles('alpine-310'))] }),
    'app',
  );
  storage = await startLayoutRegistry(layout);
  // Blobs are redirected to the storage host, pre-signed, as object stores serve them.
  registry = await startLayoutRegistry(layout, (req, res) => {
    if (!req.url?.includes('/blobs/')) return false;
    res.writeHead(307, { location: `http://${storage.host}${req.url}?X-Amz-Signature=abc` }).end();
    return true;
  });
});
afterAll(async () => {
  await Promise.all([storage?.stop(), registry?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

it('follows a blob redirect only to a host allowed for the registry', async () => {
  const image = `${registry.host}/team/app:app`;
  const refused = await bosun('sbom', image, '--format', 'spdx-json', '--no-cache');
  expect(refused.status).toBe(3);
  expect(refused.stderr).toContain(
    `refused a redirect to http://${storage.host}: not an allowed host for ${registry.host} (allow it: bosun --allow-host REGISTRY=HOST`,
  );
  expect(storage.requests).toEqual([]);

  const allowed = await bosun(
    'sbom',
    image,
    '--format',
    'spdx-json',
    '--no-cache',
    '--allow-host',
    `${registry.host}=${storage.host}`,
  );
  expect(allowed.status, allowed.stderr).toBe(0);
  const doc = JSON.parse(allowed.stdout) as { packages: { name: string }[] };
  expect(doc.packages.map((p) => p.name)).toContain('musl');
  // The storage host got the blobs, and never the registry's credentials.
  expect(storage.requests.length).toBeGreaterThan(0);
  expect(storage.requests.every((q) => q.authorization === undefined)).toBe(true);
}, 60_000);

it('refuses an --allow-host that is not REGISTRY=HOST as a usage error', async () => {
  const out = await bosun(
    'sbom',
    `${registry.host}/team/app:app`,
    '--allow-host',
    'https://blobs.example.com',
  );
  expect(out.status).toBe(2);
  expect(out.stderr).toMatch(/^bosun: invalid allowed host "https:\/\/blobs\.example\.com"/);
});
