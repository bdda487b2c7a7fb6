/**
 * Bosun's command line. For now: `inspect`, which reads an image from any source the scanner
 * reads (registry, docker-archive:, oci:, oci-archive:, dir:) and prints what the walker sees.
 * `scan` and `db` arrive with the pipeline.
 */
import { parseArgs } from 'node:util';
import { openImageSource } from '../shared/image/open-source.js';
import { platformString } from '../shared/image/types.js';
import { readerId, walkImage } from '../shared/layers/walk.js';
import { type CredentialProvider, StaticCredentials } from '../shared/registry/auth.js';
import { RegistryClient } from '../shared/registry/client.js';

const USAGE = `usage: bosun inspect <source> [--platform os/arch[/variant]]... [--insecure-registry host:port]... [--json]

sources: registry/repo:tag | registry/repo@sha256:... | docker-archive:FILE | oci:DIR[:REF]
         | oci-archive:FILE[:REF] | dir:ROOTFS
credentials: BOSUN_REGISTRY_USERNAME and BOSUN_REGISTRY_PASSWORD, for the source's registry`;

const OS_RELEASE = new Set(['etc/os-release', 'usr/lib/os-release']);

function osName(content: Buffer | undefined): string | undefined {
  return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(content?.toString('utf8') ?? '')?.[1];
}

async function inspect(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      platform: { type: 'string', multiple: true },
      'insecure-registry': { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
    },
  });
  const input = positionals[0];
  if (input === undefined || positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  const username = process.env.BOSUN_REGISTRY_USERNAME;
  const password = process.env.BOSUN_REGISTRY_PASSWORD;
  const client = () => {
    const registry = input.split('/')[0] ?? '';
    const credentials: CredentialProvider | undefined =
      username !== undefined && password !== undefined
        ? new StaticCredentials({ [registry]: { username, password } })
        : undefined;
    return new RegistryClient({
      ...(credentials === undefined ? {} : { credentials }),
      insecureRegistries: values['insecure-registry'] ?? [],
    });
  };
  const set = await openImageSource(input, client).images(
    values.platform === undefined ? {} : { platforms: values.platform },
  );
  const report = [];
  for (const image of set.images) {
    const walk = await walkImage(image, (e) => OS_RELEASE.has(e.path), {
      reader: readerId([{ id: 'cli/inspect', version: 1 }]),
    });
    report.push({
      source: image.source,
      platform: platformString(image.platform),
      manifestDigest: image.manifestDigest,
      indexDigest: image.indexDigest,
      tags: image.tags,
      os: osName(walk.tree.read('etc/os-release') ?? walk.tree.read('usr/lib/os-release')),
      files: walk.tree.size,
      layers: walk.layers.map((l) => ({
        diffId: l.diffId,
        digest: l.digest,
        compression: l.result?.stats.compression,
        compressedBytes: l.result?.stats.compressedBytes,
        entries: l.result?.stats.entries,
        error: l.error?.message,
        issues: l.result?.issues.map((i) => i.message),
      })),
      treeIssues: walk.tree.issues.map((i) => i.message),
      complete: walk.complete,
    });
  }
  if (values.json) {
    console.log(JSON.stringify({ images: report, skipped: set.skipped }, null, 2));
  } else {
    for (const r of report) {
      console.log(
        `${r.source}  ${r.platform}${r.manifestDigest === undefined ? '' : `  ${r.manifestDigest}`}`,
      );
      console.log(
        `  os: ${r.os ?? 'unknown'}; ${r.files} files in ${r.layers.length} layers${r.complete ? '' : ' (INCOMPLETE)'}`,
      );
      for (const [i, l] of r.layers.entries()) {
        const size =
          l.compressedBytes === undefined
            ? ''
            : ` ${(l.compressedBytes / 1e6).toFixed(1)} MB ${l.compression}`;
        console.log(
          `  layer ${i}: ${l.diffId ?? l.digest ?? '(no digest)'}${size}${l.entries === undefined ? '' : `, ${l.entries} entries`}`,
        );
        if (l.error !== undefined) console.log(`    error: ${l.error}`);
        for (const issue of l.issues ?? []) console.log(`    issue: ${issue}`);
      }
      for (const issue of r.treeIssues) console.log(`  issue: ${issue}`);
    }
    for (const s of set.skipped)
      console.log(`skipped ${s.digest ?? ''} ${s.reason}`.replace('  ', ' '));
  }
  return report.every((r) => r.complete) ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'inspect') return inspect(rest);
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bosun: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
