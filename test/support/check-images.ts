/**
 * An image for the hardening checks' end-to-end tests (CLI outputs, the scan function's
 * report), built at test time from real files: Alpine 3.10's real layer (its /etc/passwd, its
 * apk database), a layer with AWS's documented example credentials in `root/.aws/credentials`,
 * a layer that deletes that file (the secret stays in the layer below), and a config that runs
 * as root with no HEALTHCHECK, the documented access key id in `Env` and an `ADD` of a URL in
 * its history as the classic builder records it. The example credentials are the ones AWS
 * publishes for documentation (https://docs.aws.amazon.com/IAM/latest/UserGuide/security-creds.html):
 * never a real credential.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { dataDir } from './fixtures.js';
import { type Descriptor, LayoutWriter, sha256, tarOf } from './oci.js';

/** AWS's documented example access key id and secret access key. */
export const AWS_EXAMPLE_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
export const AWS_EXAMPLE_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
/** The planted values and pieces of them: none may appear in any output. */
export const PLANTED = [AWS_EXAMPLE_KEY_ID, AWS_EXAMPLE_SECRET, 'IOSFODNN7', 'bPxRfiCY'];

const ALPINE_310 = () =>
  path.join(dataDir(), 'pkgdbs/trivy/pkg/fanal/test/testdata/alpine-310.tar.gz');

/** Alpine 3.10's one real layer, as an uncompressed tar (from trivy's `docker save` archive). */
export function alpine310Layer(): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), 'bosun-alpine310-'));
  try {
    execFileSync('tar', ['-xzf', ALPINE_310(), '-C', dir]);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
      Layers: string[];
    }[];
    return readFileSync(path.join(dir, manifest[0]?.Layers[0] as string));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes the image as an OCI layout in `dir` (tag `latest`) and returns its manifest. */
export async function writeSecretsImage(dir: string): Promise<Descriptor> {
  mkdirSync(dir, { recursive: true });
  const layers = [
    alpine310Layer(),
    await tarOf([
      {
        path: 'root/.aws/credentials',
        content: `[default]\naws_access_key_id = ${AWS_EXAMPLE_KEY_ID}\naws_secret_access_key = ${AWS_EXAMPLE_SECRET}\n`,
      },
    ]),
    await tarOf([{ path: 'root/.aws/.wh.credentials' }]),
  ];
  const w = new LayoutWriter(dir);
  const blobs = layers.map((l) => w.blob(l, 'application/vnd.oci.image.layer.v1.tar'));
  const config = w.jsonBlob(
    {
      architecture: 'amd64',
      os: 'linux',
      config: {
        Env: ['PATH=/usr/bin:/bin', `AWS_ACCESS_KEY_ID=${AWS_EXAMPLE_KEY_ID}`],
        Cmd: ['/bin/sh'],
      },
      history: [
        { created_by: '/bin/sh -c #(nop) ADD file:a0c4a4bd3c8e5a8 in / ' },
        {
          created_by:
            '/bin/sh -c #(nop) ADD https://example.com/credentials /root/.aws/credentials ',
        },
        { created_by: '/bin/sh -c rm /root/.aws/credentials' },
      ],
      rootfs: { type: 'layers', diff_ids: layers.map(sha256) },
    },
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = {
    ...w.manifest(config, blobs),
    platform: { os: 'linux', architecture: 'amd64' },
  };
  w.finish(manifest, 'latest');
  return manifest;
}
