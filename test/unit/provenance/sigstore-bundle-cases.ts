/**
 * The rows of the shared data's index/sigstore-bundles.tsv, each turned into what the source
 * project verifies it with: the bundle, the trusted root (the data README's "Which root
 * verifies what"), the artifact, the identity and, for key-signed bundles, the key. Read only;
 * nothing is copied out of the data folder.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type {
  SigstoreArtifact,
  SigstoreVerifyOptions,
} from '../../../shared/provenance/sigstore.js';
import {
  parseTrustedRoot,
  type SigstoreTrustedRoot,
} from '../../../shared/provenance/trusted-root.js';
import { dataDir } from '../../support/fixtures.js';

export const provenanceDir = (): string => path.join(dataDir(), 'provenance');
export const dataFile = (relative: string): string => path.join(provenanceDir(), relative);
const text = (relative: string) => readFileSync(dataFile(relative), 'utf8');

export interface BundleRow {
  path: string;
  json_pointer: string;
  version: string;
  content: string;
  signer: string;
  san: string;
  oidc_issuer: string;
  expected_by_source: string;
  root_used_by_source: string;
  where_expectation_comes_from: string;
}

export function bundleRows(): BundleRow[] {
  const [header, ...lines] = text('index/sigstore-bundles.tsv').trimEnd().split('\n');
  const columns = (header ?? '').split('\t');
  return lines.map(
    (line) =>
      Object.fromEntries(line.split('\t').map((v, i) => [columns[i], v])) as unknown as BundleRow,
  );
}

export const rowId = (row: BundleRow): string =>
  row.json_pointer ? `${row.path} ${row.json_pointer}` : row.path;

/** The bundle a row names: the whole file, one JSONL line, or `/attestations[i]/bundle`. */
export function bundleText(row: BundleRow): string {
  const file = text(row.path);
  if (row.json_pointer === '') return file;
  const line = /^line(\d+)$/.exec(row.json_pointer);
  if (line) return file.split('\n').filter((l) => l.trim() !== '')[Number(line[1]) - 1] ?? '';
  const attestation = /^\/attestations\[(\d+)\]\/bundle$/.exec(row.json_pointer);
  if (attestation) {
    const parsed = JSON.parse(file) as { attestations: { bundle: unknown }[] };
    return JSON.stringify(parsed.attestations[Number(attestation[1])]?.bundle);
  }
  throw new Error(`unknown json_pointer ${row.json_pointer} in ${row.path}`);
}

const CONFORMANCE = 'sigstore-conformance/test/assets/bundle-verify';
const PROD = 'sigstore-root-signing/targets/trusted_root.json';
const STAGING = 'sigstore-root-signing-staging/targets/trusted_root.json';
/** sigstore-conformance's default identity (the data README, from bundle-verify/README.md). */
export const CONFORMANCE_IDENTITY = {
  subject:
    'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
  issuer: 'https://token.actions.githubusercontent.com',
};
const NPM_KEY_ID = 'SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA';

const roots = new Map<string, SigstoreTrustedRoot>();
export function root(relative: string): SigstoreTrustedRoot {
  let r = roots.get(relative);
  if (!r) {
    r = parseTrustedRoot(text(relative), relative);
    roots.set(relative, r);
  }
  return r;
}

/** How the artifact of a row is known. */
export type ArtifactSource =
  | 'staged' // the artifact file is in the data
  | 'stated-by-source' // the source's test names the bytes or the digest
  | 'digest-from-bundle'; // not staged: the digest the bundle itself states (binding not tested)

export interface BundleCase {
  row: BundleRow;
  id: string;
  bundle: string;
  /** Undefined: the trusted root cannot be built (the row expects that to fail). */
  options: () => SigstoreVerifyOptions;
  artifactSource: ArtifactSource;
}

export function bundleCase(row: BundleRow): BundleCase {
  const bundle = bundleText(row);
  const dir = path.dirname(row.path);
  const conformance = row.path.startsWith(CONFORMANCE);
  const artifact = artifactOf(row, bundle);
  return {
    row,
    id: rowId(row),
    bundle,
    artifactSource: artifact.source,
    options: () => ({
      trustedRoot: trustedRootOf(row),
      artifact: artifact.artifact,
      ...identityOf(row, conformance, dir),
      ...keyOf(row, dir),
      // GitHub's instance logs nothing in Rekor; its bundles carry only RFC 3161 timestamps.
      ...(row.root_used_by_source.startsWith('GitHub instance') ||
      row.path.includes('public-key-validity')
        ? { tlogThreshold: 0 }
        : {}),
    }),
  };
}

function trustedRootOf(row: BundleRow): SigstoreTrustedRoot {
  const dir = path.dirname(row.path);
  const used = row.root_used_by_source;
  if (used.startsWith('local trusted_root_pgi.json'))
    return root(path.join(dir, 'trusted_root_pgi.json'));
  if (used.startsWith('local trusted_root.json')) return root(path.join(dir, 'trusted_root.json'));
  if (used === 'public-good.json')
    return root('sigstore-go/pkg/testing/data/trusted-roots/public-good.json');
  if (used === 'scaffolding.json')
    return root('sigstore-go/pkg/testing/data/trusted-roots/scaffolding.json');
  if (used.startsWith('public-key-validity.json'))
    return root('sigstore-go/pkg/testing/data/trusted-roots/public-key-validity.json');
  // sigstore-python's TSA tests use the ClientTrustConfig beside the bundles: the staging root
  // with the test TSA of tsa/ca.json as its timestamp authority.
  if (used.includes('tsa/ca.json')) {
    const config = JSON.parse(text('sigstore-python/test/assets/tsa/trust_config.json')) as {
      trustedRoot: object;
    };
    return parseTrustedRoot(
      config.trustedRoot,
      'sigstore-python/test/assets/tsa/trust_config.json',
    );
  }
  if (used.startsWith('staging')) return root(STAGING);
  // "prod", "prod (public-good TUF)", "prod (+ npm registry key ...)", "-" (parse failures) and
  // the GitHub-instance bundle, whose own root is not obtainable.
  return root(PROD);
}

function identityOf(row: BundleRow, conformance: boolean, dir: string) {
  if (!row.signer.startsWith('keyless')) return {};
  if (conformance) {
    const read = (name: string) => {
      try {
        return text(path.join(dir, name)).trim();
      } catch {
        return undefined;
      }
    };
    return {
      identity: {
        subject: read('identity') ?? CONFORMANCE_IDENTITY.subject,
        issuer: read('issuer') ?? CONFORMANCE_IDENTITY.issuer,
      },
    };
  }
  // Outside the conformance suite each source checks the identity recorded in the index
  // (the certificate's SAN and issuer, which the source's test names, e.g. gh-cli's custom
  // issuer); slsa-verifier's builder-identity checks are policy, tested separately.
  return { identity: { subject: row.san, issuer: row.oidc_issuer } };
}

function keyOf(row: BundleRow, dir: string) {
  if (!row.signer.startsWith('key hint=')) return {};
  if (row.path.startsWith(CONFORMANCE)) {
    try {
      return { publicKey: { key: text(path.join(dir, 'key.pub')) } };
    } catch {
      return {}; // managed-key-no-key_fail: the case gives no key
    }
  }
  if (row.signer.includes(NPM_KEY_ID)) return { publicKey: npmRegistryKey() };
  if (row.path === 'sigstore-go/examples/bundle-publish.json')
    return { publicKey: { key: text('sigstore-go/examples/publish_key.pub') } };
  if (row.path.includes('public-key-validity'))
    return {
      publicKey: {
        key: text('sigstore-go/pkg/testing/data/public-keys/public-key-validity.pem'),
        // sigstore-go's TestPublicKeyValidityCheckedAgainstSignedTimestamp forces the key's
        // validity window to 1970, long before the bundle's timestamp.
        validFor: {
          start: new Date('1970-01-01T00:00:00Z'),
          end: new Date('1970-01-02T00:00:00Z'),
        },
      },
    };
  return {};
}

/** npm's attestation key from the production TUF repository, with its validity window. */
export function npmRegistryKey() {
  // npm publishes its keys.json in the one target folder of the TUF repository (named after
  // its registry's host).
  const targets = dataFile('sigstore-root-signing/targets');
  const folder = readdirSync(targets, { withFileTypes: true }).find(
    (d) => d.isDirectory() && existsSync(path.join(targets, d.name, 'keys.json')),
  );
  if (folder === undefined) throw new Error(`no keys.json in a folder of ${targets}`);
  const keys = JSON.parse(text(`sigstore-root-signing/targets/${folder.name}/keys.json`)) as {
    keys: {
      keyId: string;
      publicKey: { rawBytes: string; validFor: { start: string; end?: string } };
    }[];
  };
  const key = keys.keys.find((k) => k.keyId === NPM_KEY_ID);
  if (!key) throw new Error(`${NPM_KEY_ID} is not in keys.json`);
  return {
    key: Buffer.from(key.publicKey.rawBytes, 'base64'),
    validFor: {
      start: new Date(key.publicKey.validFor.start),
      ...(key.publicKey.validFor.end ? { end: new Date(key.publicKey.validFor.end) } : {}),
    },
  };
}

function artifactOf(
  row: BundleRow,
  bundle: string,
): { artifact: SigstoreArtifact; source: ArtifactSource } {
  const dir = path.dirname(row.path);
  const staged = (relative: string) => ({
    artifact: { bytes: readFileSync(dataFile(relative)) },
    source: 'staged' as const,
  });
  if (row.path.startsWith(CONFORMANCE)) {
    try {
      return staged(path.join(dir, 'artifact'));
    } catch {
      return staged(path.join(CONFORMANCE, 'a.txt'));
    }
  }
  if (row.path.startsWith('sigstore-python/test/assets/tsa/'))
    return staged('sigstore-python/test/assets/tsa/bundle.txt');
  // sigstore-python verifies its DSSE bundle without an artifact (the statement's subject is
  // sigstore-conformance's a.txt, not the .txt beside the bundle).
  if (row.path === 'sigstore-python/test/assets/a.dsse.staging-rekor-v2.txt.sigstore.json')
    return { artifact: { digest: digestStatedIn(bundle) }, source: 'digest-from-bundle' };
  if (row.path.startsWith('sigstore-python/') || row.path.startsWith('sigstore-protobuf-specs/')) {
    const artifact = row.path.replace(/\.sigstore(\.json)?$/, '');
    try {
      return staged(artifact);
    } catch {
      // .whl and .tgz artifacts were left out of the data
    }
  }
  if (row.path.endsWith('public-key-validity.sigstore.json'))
    // The bytes sigstore-go's test signs (TestPublicKeyValidityCheckedAgainstSignedTimestamp).
    return { artifact: { bytes: Buffer.from('test content') }, source: 'stated-by-source' };
  return { artifact: { digest: digestStatedIn(bundle) }, source: 'digest-from-bundle' };
}

/** The digest a bundle states: its message digest, or its statement's first subject digest. */
export function digestStatedIn(bundle: string): string {
  let parsed: {
    messageSignature?: { messageDigest?: { algorithm?: string; digest: string } };
    dsseEnvelope?: { payload: string };
  };
  try {
    parsed = JSON.parse(bundle);
  } catch {
    return 'sha256:0000000000000000000000000000000000000000000000000000000000000000';
  }
  const message = parsed?.messageSignature?.messageDigest;
  if (message) {
    const algorithm = (message.algorithm ?? 'SHA2_256').replace('SHA2_', 'sha');
    return `${algorithm}:${Buffer.from(message.digest, 'base64').toString('hex')}`;
  }
  const payload = parsed?.dsseEnvelope?.payload;
  if (payload) {
    try {
      const statement = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as {
        subject?: { digest?: Record<string, string> }[];
      };
      const [algorithm, hex] = Object.entries(statement.subject?.[0]?.digest ?? {})[0] ?? [];
      if (algorithm && hex && /^sha(256|384|512)$/.test(algorithm)) return `${algorithm}:${hex}`;
    } catch {
      // not an in-toto statement: the verifier says so
    }
  }
  return 'sha256:0000000000000000000000000000000000000000000000000000000000000000';
}
