/**
 * The local docker-registry's real push notifications (recorded by the stack's sink) turned
 * into scan requests: a multi-platform push gives one request per manifest, the tag on the
 * index; blob pushes and a cosign signature tag give none.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, inject, it } from 'vitest';
import {
  registryNotification,
  scanRequestsFromNotification,
} from '../../shared/events/registry-notification.js';
import { derivedFiles, LayoutWriter, pushLayout, tarOf } from '../support/oci.js';

const state = inject('localStack');
const work = mkdtempSync(path.join(tmpdir(), 'bosun-ingest-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The sink's events for one repository, once `count` manifest events have arrived. */
async function eventsOf(repository: string, manifests: number): Promise<unknown[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const events = existsSync(state.registryEventsFile)
      ? readFileSync(state.registryEventsFile, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as { target?: { repository?: string; mediaType?: string } })
          .filter((e) => e.target?.repository === repository)
      : [];
    const count = events.filter((e) => /manifest|index/.test(e.target?.mediaType ?? '')).length;
    if (count >= manifests || Date.now() > deadline) return events;
    await sleep(200);
  }
}

it('turns a multi-platform push into one scan request per manifest, and skips the rest', async () => {
  const layout = path.join(work, 'multi');
  const w = new LayoutWriter(layout);
  const layer = await tarOf(derivedFiles('alpine-311'));
  const amd64 = w.image({ architecture: 'amd64', layers: [layer] });
  const arm64 = w.image({ architecture: 'arm64', variant: 'v8', layers: [layer] });
  const attestation = w.attestation(amd64);
  const index = w.index([amd64, arm64, attestation]);
  w.finish(index, 'multi');
  const repository = `ingest/app-${process.pid}`;
  const registry = `127.0.0.1:${state.services.registry.port}`;
  pushLayout(layout, 'multi', `${registry}/${repository}:1.0`, { all: true });
  // cosign keeps a signature as an image tagged after the digest it signs.
  const sigTag = `sha256-${amd64.digest.slice(7)}.sig`;
  const sig = new LayoutWriter(path.join(work, 'sig'));
  sig.finish(sig.image({ architecture: 'amd64', layers: [await tarOf([])] }), 'sig');
  pushLayout(path.join(work, 'sig'), 'sig', `${registry}/${repository}:${sigTag}`);

  const events = await eventsOf(repository, 5);
  const { requests, skipped } = scanRequestsFromNotification(
    registryNotification.parse({ events }),
    new Set([registry]),
  );
  expect(requests.map((r) => [r.action, r.digest, r.tag, r.registry, r.repository]).sort()).toEqual(
    [
      ['PUSH', amd64.digest, undefined, registry, repository],
      ['PUSH', arm64.digest, undefined, registry, repository],
      // The attestation manifest cannot be told from an image by its event; the scan skips it.
      ['PUSH', attestation.digest, undefined, registry, repository],
      ['PUSH', index.digest, '1.0', registry, repository],
    ].sort(),
  );
  expect(skipped.map((s) => s.reason)).toContain(`signature, attestation or SBOM tag ${sigTag}`);
  expect(skipped.some((s) => s.reason.startsWith('not an image manifest'))).toBe(true);
}, 60_000);
