/**
 * Provenance on the command line (issue 19, item 7): `bosun verify <image> --policy FILE` decides
 * the verdict on the digest a registry reference names, and `bosun scan --policy FILE` adds it
 * to the scan's report. Both use the library's one entry (shared/provenance/check.ts): discovery
 * in the image's own registry, then offline verification against the policy and the trust
 * material given here as files. Nothing but the registry is contacted (for an ECR host, ECR's
 * ListImageReferrers too): no TUF, Rekor, Fulcio or OCSP request is ever made.
 *
 * Exit codes of `verify` (help.ts VERIFY_EXIT_CODES, docs/provenance.md):
 *   0  VERIFIED, or any verdict under a rule whose mode is `audit` (the output says so)
 *   1  a verdict other than VERIFIED under an `enforce` rule
 *   2  usage error, a policy or trust file that cannot be read included
 *   3  could not decide: the registry failed, or a signature was found and not read
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BosunError } from '../shared/errors.js';
import { ImageSourceError, openImageSource } from '../shared/image/open-source.js';
import { RegistryImageSource } from '../shared/image/registry-source.js';
import {
  type LoadedTrust,
  loadTrust,
  type ProvenanceChecker,
  provenanceChecker,
  type TrustSources,
} from '../shared/provenance/check.js';
import { ecrReferrers } from '../shared/provenance/discovery.js';
import {
  type Authority,
  type ProvenancePolicy,
  ProvenancePolicyError,
  parseProvenancePolicy,
  ruleAuthorities,
  selectRule,
} from '../shared/provenance/policy.js';
import type { Verdict } from '../shared/provenance/verdict.js';
import { ecrRegionOf } from '../shared/registry/auth.js';
import { RegistryClient } from '../shared/registry/client.js';
import { InvalidReferenceError } from '../shared/registry/errors.js';
import { type ImageReference, parseReference } from '../shared/registry/reference.js';
import {
  PROVENANCE_OPTIONS,
  type ProvenanceValues,
  prepare,
  SOURCE_OPTIONS,
  sourceInput,
  UsageError,
} from './options.js';
import { print } from './output.js';
import { registryClient } from './registry.js';

/** What `--policy` and the trust flags set up for one image reference. */
export interface ProvenanceSetup {
  readonly reference: ImageReference;
  /** `<registry>/<repository>`: what the policy's rules are chosen by. */
  readonly repository: string;
  readonly policy: ProvenancePolicy;
  readonly trust: LoadedTrust;
  readonly crls: readonly Uint8Array[];
}

/**
 * How a verdict ends a command: `pass` (VERIFIED), `audit` (another status under an audit
 * rule: reported, not enforced), `fail` (another status under an enforce rule), `undecided`
 * (not VERIFIED, and a signature or attestation was found but not read: it might have
 * verified, so the verdict is not the image's last word).
 */
export type ProvenanceOutcome = 'pass' | 'audit' | 'fail' | 'undecided';

/** One verdict as `verify --format json` prints it and `scan --format json` carries it. */
export interface ProvenanceReport {
  /** The reference as given. */
  readonly image: string;
  readonly repository: string;
  /** The digest the reference resolved to: what was verified. */
  readonly digest: string;
  readonly outcome: ProvenanceOutcome;
  readonly trustVersion: string;
  readonly checkedAt: string;
  readonly verdict: Verdict;
}

export function outcomeOf(verdict: Verdict): ProvenanceOutcome {
  if (verdict.status === 'VERIFIED') return 'pass';
  if ((verdict.unread ?? []).length > 0) return 'undecided';
  return verdict.mode === 'audit' ? 'audit' : 'fail';
}

/** `verify`'s exit code for an outcome. */
export const VERIFY_EXIT: Readonly<Record<ProvenanceOutcome, number>> = {
  pass: 0,
  audit: 0,
  fail: 1,
  undecided: 3,
};

/**
 * The registry reference `input` names. Signatures live beside the image in its registry, so
 * a local archive, layout or folder cannot be verified: that is a usage error, as is a
 * reference that does not parse. The source is told apart as every image command tells it
 * (openImageSource), so `verify` and `scan` never disagree about what `input` is.
 */
export function registryReference(input: string, flag: string): ImageReference {
  let source: unknown;
  try {
    // The client is never used here: the source is only classified.
    source = openImageSource(input, () => new RegistryClient());
  } catch (error) {
    if (error instanceof ImageSourceError || error instanceof InvalidReferenceError)
      throw new UsageError(`${flag}: ${error.message}`);
    throw error;
  }
  if (!(source instanceof RegistryImageSource))
    throw new UsageError(
      `${flag}: ${input} names a local file or folder; signatures are read from the image's registry, so give a registry reference (registry/repository:tag or @sha256:…)`,
    );
  return parseReference(input.startsWith('docker://') ? input.slice('docker://'.length) : input);
}

/** Reads a file a flag names; a file that cannot be read is a usage error naming the flag. */
function readFlagFile(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UsageError(`${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

const ROOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `--trusted-root NAME=FILE`, each name once: Sigstore TrustedRoot JSON by the policy's name. */
function sigstoreRoots(values: readonly string[]): Record<string, string> {
  const roots: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const name = value.slice(0, eq);
    if (eq < 1 || !ROOT_NAME.test(name) || eq === value.length - 1)
      throw new UsageError(
        `--trusted-root ${JSON.stringify(value)}: NAME=FILE, NAME as the policy's trustedRoot names it`,
      );
    if (Object.hasOwn(roots, name)) throw new UsageError(`--trusted-root ${name} is given twice`);
    roots[name] = readFlagFile('--trusted-root', value.slice(eq + 1)).toString('utf8');
  }
  return roots;
}

/**
 * The named stores `wanted` (`<type>:<name>`, as the policy's Notation authorities name them) of
 * a trust store folder as `notation` keeps it, `<dir>/x509/<type>/<name>/<files>`
 * (notaryproject/specifications, trust-store-trust-policy.md, "Trust Store"), as the
 * `<type>:<name>` → file bytes map loadTrust takes. Only the stores the policy names are read,
 * as notation reads only those its trust policy names: another store of the folder, broken or
 * not, changes nothing. As notation-go does, symlinks are refused and folders inside a named
 * store are passed over; a store named and absent is left out (missingTrust says so when the
 * rule needs it).
 */
export function notationStoresOf(
  dir: string,
  wanted: readonly string[],
): Record<string, Uint8Array[]> {
  const flag = '--notation-trust-store';
  const kind = (p: string) => {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (st?.isSymbolicLink() === true)
      throw new UsageError(`${flag}: ${p} is a symlink (not followed in a trust store)`);
    return st === undefined ? 'absent' : st.isDirectory() ? 'folder' : 'file';
  };
  const x509 = path.join(dir, 'x509');
  if (kind(x509) !== 'folder')
    throw new UsageError(
      `${flag} ${dir}: no x509 folder (the layout is x509/{ca,signingAuthority,tsa}/<name>/<certificates>)`,
    );
  const stores: Record<string, Uint8Array[]> = {};
  for (const store of [...new Set(wanted)].sort()) {
    const storeDir = path.join(x509, ...store.split(':'));
    if (kind(storeDir) !== 'folder') continue;
    const files = readdirSync(storeDir)
      .sort()
      .map((entry) => path.join(storeDir, entry))
      .filter((file) => kind(file) === 'file')
      .map((file) => readFlagFile(flag, file));
    if (files.length === 0)
      throw new UsageError(`${flag}: the trust store ${storeDir} holds no certificate file`);
    stores[store] = files;
  }
  return stores;
}

/**
 * Reads `--policy` and the trust flags for the image `input` names; undefined without
 * `--policy` (and then no trust flag may be given). Every problem is a usage error: a policy the
 * parser refuses (with its own message), a trust file that cannot be read, and trust material
 * that the rule for this repository names and was not given (else each of its signatures would
 * read as UNTRUSTED for a reason that is the command line's).
 */
export function provenanceSetup(
  values: ProvenanceValues,
  input: string,
): ProvenanceSetup | undefined {
  if (values.policy === undefined) {
    const stray = (['trusted-root', 'notation-trust-store', 'crl'] as const).find(
      (f) => values[f] !== undefined,
    );
    if (stray !== undefined) throw new UsageError(`--${stray} is trust material for --policy FILE`);
    return undefined;
  }
  const reference = registryReference(input, '--policy');
  const repository = `${reference.registry}/${reference.repository}`;
  let policy: ProvenancePolicy;
  try {
    policy = parseProvenancePolicy(
      readFlagFile('--policy', values.policy).toString('utf8'),
      values.policy,
    );
  } catch (error) {
    if (error instanceof ProvenancePolicyError) throw new UsageError(error.message);
    throw error;
  }
  const sources: TrustSources = {
    sigstoreRoots: sigstoreRoots(values['trusted-root'] ?? []),
    ...(values['notation-trust-store'] === undefined
      ? {}
      : {
          notationStores: notationStoresOf(
            values['notation-trust-store'],
            Object.values(policy.authorities).flatMap((a) =>
              'notation' in a ? a.notation.trustStores : [],
            ),
          ),
        }),
  };
  let trust: LoadedTrust;
  try {
    trust = loadTrust(sources);
  } catch (error) {
    if (error instanceof BosunError) throw new UsageError(error.message);
    throw error;
  }
  const missing = missingTrust(policy, repository, sources);
  if (missing.length > 0) throw new UsageError(missing.join('; '));
  return {
    reference,
    repository,
    policy,
    trust,
    crls: (values.crl ?? []).map((file) => readFlagFile('--crl', file)),
  };
}

/** The trust material the rule for `repository` names and that was not given, as messages. */
function missingTrust(
  policy: ProvenancePolicy,
  repository: string,
  sources: TrustSources,
): string[] {
  const rule = selectRule(policy, repository);
  const out: string[] = [];
  for (const name of ruleAuthorities(rule)) {
    const a = policy.authorities[name] as Authority;
    const root = 'key' in a ? a.trustedRoot : 'keyless' in a ? a.keyless.trustedRoot : undefined;
    if (root !== undefined && !Object.hasOwn(sources.sigstoreRoots ?? {}, root))
      out.push(
        `authority ${name} of rule ${rule.name} names trusted root ${root}: give it with --trusted-root ${root}=FILE`,
      );
    if ('notation' in a)
      for (const store of a.notation.trustStores)
        if (!Object.hasOwn(sources.notationStores ?? {}, store))
          out.push(
            `authority ${name} of rule ${rule.name} names trust store ${store}: give a folder holding x509/${store.replace(':', '/')}/ with --notation-trust-store DIR`,
          );
  }
  return out;
}

/** The checker of a setup, reading signatures with `client` (ECR hosts: ListImageReferrers). */
async function checkerOf(
  setup: ProvenanceSetup,
  client: RegistryClient,
): Promise<ProvenanceChecker> {
  const region = ecrRegionOf(setup.reference.registry);
  // The SDK is loaded for ECR hosts only; it asks ECR's API for the referrers, with the same
  // AWS credentials the pull's authorization token comes from.
  const ecr =
    region === undefined
      ? undefined
      : ecrReferrers(new (await import('@aws-sdk/client-ecr')).ECRClient({ region }));
  return provenanceChecker({
    policy: setup.policy,
    trust: setup.trust,
    registry: client,
    crls: setup.crls,
    ...(ecr === undefined ? {} : { ecrReferrers: () => ecr }),
  });
}

/** Decides the verdict on `digest` as pushed to the setup's repository. */
export async function checkProvenance(
  setup: ProvenanceSetup,
  client: RegistryClient,
  image: string,
  digest: string,
): Promise<ProvenanceReport> {
  const checker = await checkerOf(setup, client);
  const now = new Date();
  const verdict = await checker.check(
    setup.reference.registry,
    setup.reference.repository,
    digest,
    { now },
  );
  return {
    image,
    repository: setup.repository,
    digest,
    outcome: outcomeOf(verdict),
    trustVersion: checker.trustVersion,
    checkedAt: now.toISOString(),
    verdict,
  };
}

const OUTCOME_NOTE: Readonly<Record<ProvenanceOutcome, string>> = {
  pass: '',
  audit: 'rule mode audit: reported, not enforced',
  fail: 'rule mode enforce: this fails',
  undecided: 'NOT DECIDED: a signature or attestation was found and could not be read',
};

/** The verdict as the table formats print it, indented by `indent`. */
export function provenanceLines(report: ProvenanceReport, indent = ''): string[] {
  const v = report.verdict;
  const note = OUTCOME_NOTE[report.outcome];
  const lines = [
    `provenance: ${v.status}${note === '' ? '' : ` (${note})`}`,
    `  image:    ${report.repository}@${report.digest}`,
    `  rule:     ${v.rule} (mode ${v.mode}), policy ${v.policyVersion}`,
    `  trust:    ${report.trustVersion}`,
  ];
  if (v.requirements.length > 0) lines.push('  requirements:');
  for (const r of v.requirements) {
    lines.push(`    ${r.met ? 'MET  ' : 'UNMET'} ${r.requirement}`);
    for (const s of r.satisfiedBy)
      lines.push(`          by ${s.source} (${s.authority}, trust root ${s.trustRoot})`);
    if (r.reason !== undefined) lines.push(`          ${r.reason}`);
  }
  if (v.reasons.length > 0) lines.push('  reasons:');
  for (const reason of v.reasons) lines.push(`    - ${reason}`);
  if (v.failures.length > 0) lines.push('  failures:');
  for (const f of v.failures) lines.push(`    - ${f.source} (${f.authority}): ${f.message}`);
  if ((v.unread ?? []).length > 0) lines.push('  not read:');
  for (const u of v.unread ?? []) lines.push(`    - ${u.where}: ${u.message}`);
  return lines.map((l) => `${indent}${l}`);
}

const VERIFY_OPTIONS = {
  input: SOURCE_OPTIONS.input,
  'insecure-registry': SOURCE_OPTIONS['insecure-registry'],
  'allow-host': SOURCE_OPTIONS['allow-host'],
  output: SOURCE_OPTIONS.output,
  timeout: SOURCE_OPTIONS.timeout,
  quiet: SOURCE_OPTIONS.quiet,
  'no-progress': SOURCE_OPTIONS['no-progress'],
  ...PROVENANCE_OPTIONS,
  format: { type: 'string', default: 'table' },
} as const;

export async function verify(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: VERIFY_OPTIONS,
  });
  if (!['table', 'json'].includes(values.format))
    throw new UsageError(`unknown format ${JSON.stringify(values.format)}; one of table, json`);
  if (values.policy === undefined)
    throw new UsageError('--policy FILE is required: the provenance policy to verify against');
  // Everything the command line says is checked before anything is written or fetched.
  const input = sourceInput(values, positionals);
  const setup = provenanceSetup(values, input) as ProvenanceSetup;
  const client = registryClient(input, values)();
  const { status } = prepare({ ...values, 'no-cache': true }, positionals);
  status.update(`${input}: resolving`);
  // The manifest itself, not a HEAD: a digest reference is checked to exist, and the digest
  // verified is the one the bytes hash to.
  const { digest } = await client.getManifest(setup.reference);
  status.update(`${input}: verifying ${digest}`);
  const report = await checkProvenance(setup, client, input, digest);
  status.done();
  if (values.format === 'json') print(JSON.stringify(report, null, 2));
  else for (const line of [input, ...provenanceLines(report)]) print(line);
  return VERIFY_EXIT[report.outcome];
}
