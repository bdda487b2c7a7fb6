/**
 * Signing images at test time and laying the signatures out in a real registry as cosign does
 * (cosign/specs/SIGNATURE_SPEC.md): a key made here, the simple-signing payload as a layer
 * with the signature annotation, under the tag `sha256-<hex>.sig`. Pushed through the
 * distribution API ("Pushing" in the OCI distribution spec), no network but the registry.
 */
import { createHash, type KeyObject, sign } from 'node:crypto';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';

export const sha256 = (bytes: Uint8Array) =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
export const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** Uploads a blob (monolithic POST then PUT); returns its digest. */
export async function putBlob(endpoint: string, repository: string, bytes: Buffer) {
  const digest = sha256(bytes);
  const start = await fetch(`${endpoint}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  await start.body?.cancel();
  if (start.status !== 202) throw new Error(`blob upload of ${digest}: HTTP ${start.status}`);
  const location = new URL(start.headers.get('location') as string, endpoint);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, {
    method: 'PUT',
    body: bytes,
    headers: { 'content-type': 'application/octet-stream' },
  });
  await put.body?.cancel();
  if (put.status !== 201) throw new Error(`blob ${digest}: HTTP ${put.status}`);
  return digest;
}

/** Puts a manifest under a tag or its digest; returns its digest. */
export async function putManifest(
  endpoint: string,
  repository: string,
  reference: string,
  bytes: Buffer,
) {
  const mediaType = (JSON.parse(bytes.toString('utf8')) as { mediaType: string }).mediaType;
  const put = await fetch(`${endpoint}/v2/${repository}/manifests/${reference}`, {
    method: 'PUT',
    body: bytes,
    headers: { 'content-type': mediaType },
  });
  const answer = await put.text();
  if (put.status !== 201) throw new Error(`manifest ${reference}: HTTP ${put.status} ${answer}`);
  return sha256(bytes);
}

/** cosign's simple-signing payload, signed as `cosign sign --key` signs it (ECDSA, SHA-256). */
export function simpleSigning(reference: string, digest: string, privateKey: KeyObject) {
  const payload = json({
    critical: {
      identity: { 'docker-reference': reference },
      image: { 'docker-manifest-digest': digest },
      type: 'cosign container image signature',
    },
    optional: null,
  });
  return { payload, signature: sign('sha256', payload, privateKey).toString('base64') };
}

/**
 * The image config cosign writes for a `.sig`/`.att` manifest (go-containerregistry's empty
 * image with the layers appended); 233 bytes for one layer, as in connaisseur's real ones.
 */
export function cosignConfig(layers: readonly string[]): Buffer {
  return json({
    architecture: '',
    created: '0001-01-01T00:00:00Z',
    history: layers.map(() => ({ created: '0001-01-01T00:00:00Z' })),
    os: '',
    rootfs: { type: 'layers', diff_ids: layers },
    config: {},
  });
}

/**
 * `cosign sign --key` of `digest` in `registry/repository`: the `.sig` manifest with one
 * simple-signing layer. Returns the signature manifest's digest and its tag.
 */
export async function pushCosignSignature(
  endpoint: string,
  registry: string,
  repository: string,
  digest: string,
  privateKey: KeyObject,
): Promise<{ digest: string; tag: string }> {
  const layer = simpleSigning(`${registry}/${repository}`, digest, privateKey);
  const payloadDigest = await putBlob(endpoint, repository, layer.payload);
  const config = cosignConfig([payloadDigest]);
  await putBlob(endpoint, repository, config);
  const tag = `${digest.replace(':', '-')}.sig`;
  const manifest = json({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      size: config.length,
      digest: sha256(config),
    },
    layers: [
      {
        mediaType: SIMPLE_SIGNING,
        size: layer.payload.length,
        digest: payloadDigest,
        annotations: { 'dev.cosignproject.cosign/signature': layer.signature },
      },
    ],
  });
  return { digest: await putManifest(endpoint, repository, tag, manifest), tag };
}
