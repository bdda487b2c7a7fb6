/**
 * For local-stack tests that play ECR: images of real files pushed to the local registry with
 * skopeo, their digests as the registry serves them, and ECR's documented push event for them
 * (test/fixtures/events/ecr-image-action/push.json) as the scan queue receives it.
 */
import * as path from 'node:path';
import { fixtureJson } from './fixtures.js';
import { derivedFiles, LayoutWriter, pushLayout, tarOf } from './oci.js';

/** The digest `registry` serves for `repository:tag` (what the push produced). */
export async function servedDigest(registry: string, repository: string, tag: string) {
  const head = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  return head.headers.get('docker-content-digest') as string;
}

/**
 * An image of a real Alpine base (os-release and apk database) and a layer of its own holding
 * `content`, written under `work` and pushed as `registry/repository:tag`; its digest.
 */
export async function pushAlpineApp(
  work: string,
  registry: string,
  repository: string,
  tag: string,
  content: string,
): Promise<string> {
  const dir = path.join(work, `${repository.replaceAll('/', '_')}-${tag}-${content.length}`);
  const w = new LayoutWriter(dir);
  const layers = [
    await tarOf(derivedFiles('alpine-310')),
    await tarOf([{ path: 'srv/app.txt', content }]),
  ];
  w.finish(w.image({ architecture: 'amd64', layers }), tag);
  pushLayout(dir, tag, `${registry}/${repository}:${tag}`);
  return servedDigest(registry, repository, tag);
}

/** ECR's documented push event for `repository@digest` with its tag, as a message body. */
export function ecrPushEvent(repository: string, digest: string, tag: string): string {
  const event = fixtureJson<{ id: string; detail: Record<string, string>; time: string }>(
    'events/ecr-image-action/push.json',
  );
  event.id = crypto.randomUUID();
  event.detail['repository-name'] = repository;
  event.detail['image-digest'] = digest;
  event.detail['image-tag'] = tag;
  event.time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return JSON.stringify(event);
}
