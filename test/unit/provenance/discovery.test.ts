/**
 * The pure parts of discovery (shared/provenance/discovery.ts): tag names, the artifact-type
 * rule, the choice of referrers to read, Link paging, and ECR's ListImageReferrers paging. The
 * registry round trips are in test/integration/provenance-discovery.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ListImageReferrersCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import {
  ArtifactType,
  artifactTypeOf,
  COSIGN_TAG_SUFFIXES,
  cosignTag,
  DiscoveryError,
  discoverArtifacts,
  ecrReferrers,
  referrersTag,
  selectReferrers,
} from '../../../shared/provenance/discovery.js';
import { nextPage, RegistryClient } from '../../../shared/registry/client.js';
import { digestOf } from '../../../shared/registry/digest.js';
import { ManifestError } from '../../../shared/registry/errors.js';
import { type Descriptor, parseManifest } from '../../../shared/registry/manifest.js';
import { dataDir } from '../../support/fixtures.js';

const connaisseur = path.join(dataDir(), 'provenance', 'connaisseur', 'test', 'testdata');
const cosignImage = path.join(connaisseur, 'cosign', 'securesystemsengineering', 'testimage');
const notationImage = path.join(connaisseur, 'notation', 'sse-secure-systems', 'testimage');
const SHA512 = `sha512:${'ab'.repeat(64)}`;

describe('tag names', () => {
  // The real .sig manifests of connaisseur's mock registry are named by cosign's tag of the
  // digest of the image manifest beside them.
  const sigFiles = readdirSync(path.join(cosignImage, 'manifests')).filter((f) =>
    f.endsWith('.sig.json'),
  );

  it('names cosign tags as cosign does, for each real signed image', () => {
    expect(sigFiles).toHaveLength(3);
    const images = ['multi-cosigned-alice', 'multi-cosigned-alice-bob-charlie', 'keyless'];
    const tags = images.map((name) =>
      cosignTag(digestOf(readFileSync(path.join(cosignImage, 'manifests', `${name}.json`))), 'sig'),
    );
    expect(tags.map((t) => `${t}.json`).sort()).toEqual([...sigFiles].sort());
    expect(COSIGN_TAG_SUFFIXES.map((s) => cosignTag(`sha256:${'0'.repeat(64)}`, s))).toEqual([
      `sha256-${'0'.repeat(64)}.sig`,
      `sha256-${'0'.repeat(64)}.att`,
      `sha256-${'0'.repeat(64)}.sbom`,
    ]);
  });

  it('names the referrers tag of the real Notation-signed image as its fallback index is named', () => {
    const subject = digestOf(
      readFileSync(path.join(notationImage, 'manifests', 'notation-sign.json')),
    );
    expect(readdirSync(path.join(notationImage, 'manifests'))).toContain(
      `${referrersTag(subject)}.json`,
    );
  });

  it('cuts a sha512 digest to 64 hex characters in the referrers tag, and has no cosign tag for it', () => {
    expect(referrersTag(SHA512)).toBe(`sha512-${'ab'.repeat(32)}`);
    expect(cosignTag(SHA512, 'sig')).toBeUndefined();
    expect(() => referrersTag('sha256:abc')).toThrow(/not a supported digest/);
  });
});

describe('artifact types', () => {
  it('is config.mediaType for the real Notation signature, as its referrers index entry says', () => {
    const index = parseManifest(
      readFileSync(
        path.join(
          notationImage,
          'manifests',
          'sha256-a136cc4e785798e5e8483047cf621cf0a0300a93d47703a3f066c340c070f5cf.json',
        ),
      ),
      undefined,
    );
    if (index.kind !== 'index') throw new Error('the referrers tag holds an index');
    const entry = index.manifests[0] as Descriptor;
    const signature = parseManifest(
      readFileSync(path.join(notationImage, 'manifests', `${entry.digest}.json`)),
      undefined,
    );
    if (signature.kind !== 'image') throw new Error('a Notation signature is an image manifest');
    expect(signature.artifactType).toBeUndefined();
    expect(artifactTypeOf(signature)).toBe(ArtifactType.notationSignature);
    expect(entry.artifactType).toBe(artifactTypeOf(signature));
  });

  it('is the image config type for the real cosign .sig manifests, and artifactType wins when set', () => {
    for (const file of readdirSync(path.join(cosignImage, 'manifests')).filter((f) =>
      f.endsWith('.sig.json'),
    )) {
      const sig = parseManifest(readFileSync(path.join(cosignImage, 'manifests', file)), undefined);
      if (sig.kind !== 'image') throw new Error(`${file} is an image manifest`);
      expect(artifactTypeOf(sig)).toBe(ArtifactType.cosignLegacy);
      expect(artifactTypeOf({ ...sig, artifactType: ArtifactType.sigstoreBundleV03 })).toBe(
        ArtifactType.sigstoreBundleV03,
      );
    }
  });
});

describe('selectReferrers', () => {
  const subject = `sha256:${'5'.repeat(64)}`;
  const entry = (n: number, artifactType: string = ArtifactType.notationSignature): Descriptor => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${n.toString(16).padStart(64, '0')}`,
    size: 700,
    artifactType,
  });

  it('keeps the wanted types, each digest once, refuses the subject itself, and cuts at the limit', () => {
    const listed = [
      entry(1),
      entry(2, ArtifactType.sigstoreBundleV03),
      entry(1),
      { ...entry(3), digest: subject },
      entry(4),
      entry(5, 'application/spdx+json'),
    ];
    expect(selectReferrers(listed, subject, { limit: 64 })).toEqual({
      selected: [
        entry(1),
        entry(2, ArtifactType.sigstoreBundleV03),
        entry(4),
        entry(5, 'application/spdx+json'),
      ],
      loops: 1,
      dropped: 0,
    });
    const signatures = selectReferrers(listed, subject, {
      artifactTypes: [ArtifactType.notationSignature, ArtifactType.sigstoreBundleV03],
      limit: 2,
      seen: new Set([entry(4).digest]),
    });
    expect(signatures).toEqual({
      selected: [entry(1), entry(2, ArtifactType.sigstoreBundleV03)],
      loops: 1,
      dropped: 0,
    });
  });

  it('reads 64 of a 10,000-entry list and counts the rest as dropped', () => {
    const listed = Array.from({ length: 10_000 }, (_, n) => entry(n + 1));
    const { selected, dropped } = selectReferrers(listed, subject, { limit: 64 });
    expect(selected).toEqual(listed.slice(0, 64));
    expect(dropped).toBe(10_000 - 64);
  });
});

describe('nextPage', () => {
  const request = 'http://127.0.0.1:5000/v2/team/app/referrers/sha256:ab';

  it('follows a relative or same-origin Link with rel="next", and nothing else', () => {
    expect(nextPage('</v2/team/app/referrers/sha256:ab?n=10&last=x>; rel="next"', request)).toBe(
      '/v2/team/app/referrers/sha256:ab?n=10&last=x',
    );
    expect(
      nextPage(
        '<http://127.0.0.1:5000/v2/team/app/referrers/sha256:ab?last=y>; rel="prev", <http://127.0.0.1:5000/v2/team/app/referrers/sha256:ab?last=z>; rel=next',
        request,
      ),
    ).toBe('/v2/team/app/referrers/sha256:ab?last=z');
    expect(nextPage('<http://elsewhere.example/v2/x>; rel="next"', request)).toBeUndefined();
    expect(nextPage('</v2/team/app/referrers/sha256:ab?n=1>; rel="prev"', request)).toBeUndefined();
    expect(nextPage(null, request)).toBeUndefined();
  });
});

describe('ecrReferrers', () => {
  // No ECR runs locally: a recording stand-in for the ECRClient answers ListImageReferrers with
  // the response shape of the SDK's own example (ListImageReferrersCommand.d.ts).
  function ecr(pages: { referrers: unknown[]; nextToken?: string }[]) {
    const sent: ListImageReferrersCommand['input'][] = [];
    return {
      sent,
      client: {
        async send(command: ListImageReferrersCommand) {
          sent.push(command.input);
          const page = pages[sent.length - 1];
          if (page === undefined) throw new Error('no more pages');
          return { $metadata: {}, ...page } as never;
        },
      },
    };
  }
  const bundle = {
    digest: `sha256:${'c'.repeat(64)}`,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: ArtifactType.sigstoreBundleV03,
    size: 789,
    annotations: { 'dev.sigstore.bundle.content': 'dsse-envelope' },
    artifactStatus: 'ACTIVE',
  };
  const scope = {
    registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    repository: 'team/app',
  };
  const subject = `sha256:${'d'.repeat(64)}`;

  it('pages with nextToken, asks for the account of the ECR host and passes the type filter', async () => {
    const { sent, client } = ecr([
      { referrers: [bundle], nextToken: 't1' },
      { referrers: [{ ...bundle, digest: `sha256:${'e'.repeat(64)}`, annotations: undefined }] },
    ]);
    const listed = await ecrReferrers(client).list(scope, subject, {
      artifactTypes: [ArtifactType.sigstoreBundleV03],
      limit: 64,
    });
    expect(listed.map((d) => d.digest)).toEqual([bundle.digest, `sha256:${'e'.repeat(64)}`]);
    expect(listed[0]).toEqual({
      mediaType: bundle.mediaType,
      digest: bundle.digest,
      size: 789,
      artifactType: ArtifactType.sigstoreBundleV03,
      annotations: bundle.annotations,
    });
    expect(sent).toEqual([
      {
        registryId: '123456789012',
        repositoryName: 'team/app',
        subjectId: { imageDigest: subject },
        filter: { artifactTypes: [ArtifactType.sigstoreBundleV03] },
      },
      {
        registryId: '123456789012',
        repositoryName: 'team/app',
        subjectId: { imageDigest: subject },
        filter: { artifactTypes: [ArtifactType.sigstoreBundleV03] },
        nextToken: 't1',
      },
    ]);
  });

  it('stops paging once the list is over the limit, and refuses an entry without a digest', async () => {
    const many = ecr([
      { referrers: [bundle, { ...bundle, digest: `sha256:${'f'.repeat(64)}` }], nextToken: 'more' },
    ]);
    expect(await ecrReferrers(many.client).list(scope, subject, { limit: 1 })).toHaveLength(2);
    expect(many.sent).toHaveLength(1);
    const broken = ecr([{ referrers: [{ ...bundle, digest: 'latest' }] }]);
    await expect(ecrReferrers(broken.client).list(scope, subject, { limit: 64 })).rejects.toThrow(
      ManifestError,
    );
  });
});

describe('discoverArtifacts', () => {
  it('refuses a subject that is not a digest, before any request', async () => {
    const requests: string[] = [];
    const client = new RegistryClient({
      fetch: async (url) => {
        requests.push(String(url));
        return new Response(null, { status: 500 });
      },
    });
    await expect(
      discoverArtifacts(client, { registry: '127.0.0.1:1', repository: 'team/app' }, 'latest'),
    ).rejects.toThrow(DiscoveryError);
    expect(requests).toEqual([]);
  });
});
