import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Arn, ArnFormat, Aws, Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV_VARS } from '../../shared/config/env.js';
import { TRUST_REFRESH_ENV_VARS, trustRefreshSchema } from '../../shared/config/trust-refresh.js';
import { loadTrust } from '../../shared/provenance/check.js';
import { parseProvenancePolicy } from '../../shared/provenance/policy.js';
import { shippedTufRoot } from '../../shared/provenance/tuf-seeds.js';
import { BosunFunction, type BosunFunctionDefaults } from './bosun-function.js';
import { acknowledgeOnRole, acknowledgePublishKey, arnLogicalId, renderForNag } from './nag.js';
import type { BosunTables } from './tables.js';

/** An S3 object: a bucket of this app, or the name of one elsewhere, and a key. */
export interface S3ObjectLocation {
  readonly bucket: s3.IBucket | string;
  readonly key: string;
}

/**
 * Provenance (issue 19, docs/provenance-policy.md): the policy pushed images are checked
 * against, the trust material it names, and the re-verification pass.
 */
export interface ProvenanceProps {
  /**
   * The policy: inline YAML (checked at synth), an S3 object, or a Parameter Store parameter
   * (a SecureString is decrypted; give its key when it is a customer managed one). A changed
   * object or parameter re-verifies every verdict; an S3 bucket must send its events to
   * EventBridge for that (a `s3.Bucket` of this app is switched on).
   */
  readonly policy:
    | { readonly inline: string }
    | { readonly s3: S3ObjectLocation }
    | { readonly ssmParameter: string; readonly encryptionKey?: kms.IKey };
  /**
   * Sigstore TrustedRoot JSON documents by the name policies give them (`trustedRoot:` of a
   * keyless authority): a local file, shipped as an asset, or an S3 object (the trusted-root
   * refresh writes those). @default none
   */
  readonly trustedRoots?: Readonly<
    Record<
      string,
      | { readonly file: string }
      | {
          readonly s3: S3ObjectLocation;
          /**
           * Keep the object fresh from a Sigstore TUF repository (docs/provenance-trust-refresh.md):
           * the trust-refresh function fetches `trusted_root.json` with TUF verification on
           * `trustRefreshSchedule` and writes it only when it changed, which re-verifies. The
           * public-good mirror's TUF root ships with Bosun; any other needs `tufRoot`.
           */
          readonly refresh?: { readonly mirror: string; readonly tufRoot?: S3ObjectLocation };
        }
    >
  >;
  /**
   * A Notation trust store (`x509/{ca,signingAuthority,tsa}/<name>/<certificates>`): a local
   * folder, shipped as an asset, or an S3 prefix. @default none
   */
  readonly notationTrustStore?:
    | { readonly directory: string }
    | { readonly s3: { readonly bucket: s3.IBucket | string; readonly prefix: string } };
  /** When every verdict is decided again (expiry, revocation). @default every day */
  readonly reverifySchedule?: events.Schedule;
  /** When trusted roots with `refresh` are fetched again. @default every day */
  readonly trustRefreshSchedule?: events.Schedule;
  /** Hours a verdict stands before a push decides it again. @default 24 */
  readonly maxAgeHours?: number;
  /** @default Duration.minutes(15) */
  readonly timeout?: Duration;
}

// Parameter Store names: https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-parameter-name-constraints.html
const SSM_NAME = /^(\/?[A-Za-z0-9_.-]+)+$/;
const STORE_TYPES = ['ca', 'signingAuthority', 'tsa'];
/** What an inline policy may take of the 4 KB the other variables share. */
const MAX_INLINE_POLICY_BYTES = 2_048;

/**
 * Checks the provenance props without creating anything: an inline policy is parsed (its
 * message fails the synth), the authorities it names must have their trust material, local
 * trusted roots and trust store folders must parse.
 */
export function checkProvenanceProps(props: ProvenanceProps): void {
  const roots = props.trustedRoots ?? {};
  const policy = props.policy;
  if ('inline' in policy) {
    // Lambda holds at most 4 KB of environment variables per function, all of them together:
    // https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
    if (Buffer.byteLength(policy.inline) > MAX_INLINE_POLICY_BYTES)
      throw new Error(
        `provenance.policy.inline is ${Buffer.byteLength(policy.inline)} bytes; Lambda's environment holds 4 KB in all, so keep a policy over ${MAX_INLINE_POLICY_BYTES} bytes in S3 or Parameter Store`,
      );
    const parsed = parseProvenancePolicy(policy.inline, 'provenance.policy.inline');
    for (const [name, authority] of Object.entries(parsed.authorities)) {
      const root =
        'keyless' in authority
          ? authority.keyless.trustedRoot
          : 'key' in authority
            ? authority.trustedRoot
            : undefined;
      if (root !== undefined && !(root in roots))
        throw new Error(
          `provenance.policy.inline: authority ${name} names the trusted root ${JSON.stringify(root)}, which provenance.trustedRoots does not give (${Object.keys(roots).join(', ') || 'none'})`,
        );
      if ('notation' in authority && props.notationTrustStore === undefined)
        throw new Error(
          `provenance.policy.inline: authority ${name} is a Notation authority but provenance.notationTrustStore is not given`,
        );
    }
  } else if ('s3' in policy) {
    if (policy.s3.key === '' || policy.s3.key.endsWith('/'))
      throw new Error(
        `provenance.policy.s3.key must name an object, got ${JSON.stringify(policy.s3.key)}`,
      );
  } else if (!SSM_NAME.test(policy.ssmParameter))
    throw new Error(
      `provenance.policy.ssmParameter must be a Parameter Store name (/bosun/provenance-policy), got ${JSON.stringify(policy.ssmParameter)}`,
    );
  const sigstoreRoots: Record<string, string> = {};
  for (const [name, root] of Object.entries(roots)) {
    if (name === '') throw new Error('provenance.trustedRoots: a root needs a name');
    if ('file' in root) {
      if (!existsSync(root.file))
        throw new Error(`provenance.trustedRoots.${name}: ${root.file} does not exist`);
      sigstoreRoots[name] = readFileSync(root.file, 'utf8');
    } else {
      if (root.s3.key === '' || root.s3.key.endsWith('/'))
        throw new Error(`provenance.trustedRoots.${name}: the S3 key must name an object`);
      if (root.refresh !== undefined) checkRefresh(name, root.refresh);
    }
  }
  const store = props.notationTrustStore;
  const notationStores =
    store !== undefined && 'directory' in store ? readTrustStoreDir(store.directory) : undefined;
  try {
    loadTrust({ sigstoreRoots, ...(notationStores === undefined ? {} : { notationStores }) });
  } catch (error) {
    throw new Error(`provenance: ${(error as Error).message}`);
  }
  if (
    store !== undefined &&
    's3' in store &&
    !(store.s3.prefix === '' || store.s3.prefix.endsWith('/'))
  )
    throw new Error(
      `provenance.notationTrustStore.s3.prefix must end in "/", got ${JSON.stringify(store.s3.prefix)}`,
    );
  const hours = props.maxAgeHours;
  if (hours !== undefined && (!Number.isInteger(hours) || hours < 1 || hours > 8760))
    throw new Error(`provenance.maxAgeHours must be an integer from 1 to 8760, got ${hours}`);
}

/** A local trust store folder's files by `<type>:<name>`, as the function reads them from S3. */
function readTrustStoreDir(dir: string): Record<string, Uint8Array[]> {
  const x509 = path.join(dir, 'x509');
  if (!existsSync(x509) || !statSync(x509).isDirectory())
    throw new Error(`provenance.notationTrustStore.directory: ${dir} has no x509 folder`);
  const stores: Record<string, Uint8Array[]> = {};
  for (const type of readdirSync(x509)) {
    if (!STORE_TYPES.includes(type))
      throw new Error(
        `provenance.notationTrustStore.directory: ${path.join(x509, type)} is not x509/ca, x509/signingAuthority or x509/tsa`,
      );
    for (const name of readdirSync(path.join(x509, type))) {
      const folder = path.join(x509, type, name);
      stores[`${type}:${name}`] = readdirSync(folder)
        .sort()
        .map((f) => path.join(folder, f))
        .filter((f) => statSync(f).isFile())
        .map((f) => readFileSync(f));
    }
  }
  return stores;
}

const nameOf = (bucket: s3.IBucket | string) =>
  typeof bucket === 'string' ? bucket : bucket.bucketName;
const objectArn = (bucket: s3.IBucket | string, key: string) =>
  typeof bucket === 'string'
    ? `arn:${Aws.PARTITION}:s3:::${bucket}/${key}`
    : bucket.arnForObjects(key);
const bucketArn = (bucket: s3.IBucket | string) =>
  typeof bucket === 'string' ? `arn:${Aws.PARTITION}:s3:::${bucket}` : bucket.bucketArn;

/** What the functions are given: variables, and the reads to grant. */
export interface ProvenanceWiring {
  /** BOSUN_PROVENANCE_* for the scan and provenance functions. */
  readonly environment: Readonly<Record<string, string>>;
  /** Grants one function exactly the reads the variables need. */
  grantRead(fn: BosunFunction): void;
}

/**
 * The provenance variables and their grants: each S3 object read (s3:GetObject on that object),
 * a trust store prefix (listed under that prefix only), the policy parameter (ssm:GetParameter
 * on it, kms:Decrypt on its key when given). Local files and folders become assets.
 */
export function provenanceWiring(scope: Construct, props: ProvenanceProps): ProvenanceWiring {
  const stack = Stack.of(scope);
  const objects: { bucket: s3.IBucket | string; key: string }[] = [];
  const keys: kms.IKey[] = [];
  const prefixes: { bucket: s3.IBucket | string; prefix: string }[] = [];
  const env: Record<string, string> = {};
  const policy = props.policy;
  let parameterArn: string | undefined;
  if ('inline' in policy) env[ENV_VARS.provenancePolicy] = policy.inline;
  else if ('s3' in policy) {
    env[ENV_VARS.provenancePolicyS3] = `s3://${nameOf(policy.s3.bucket)}/${policy.s3.key}`;
    objects.push(policy.s3);
  } else {
    env[ENV_VARS.provenancePolicySsm] = policy.ssmParameter;
    parameterArn = Arn.format(
      {
        service: 'ssm',
        resource: 'parameter',
        // A hierarchical name's leading "/" is part of the ARN's path already.
        resourceName: policy.ssmParameter.replace(/^\//, ''),
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      },
      stack,
    );
    if (policy.encryptionKey !== undefined) keys.push(policy.encryptionKey);
  }
  const roots: Record<string, string> = {};
  Object.entries(props.trustedRoots ?? {}).forEach(([name, root], i) => {
    const location =
      's3' in root
        ? root.s3
        : (() => {
            const asset = new s3assets.Asset(scope, `ProvenanceTrustedRoot${i}`, {
              path: root.file,
            });
            return { bucket: asset.bucket, key: asset.s3ObjectKey };
          })();
    objects.push(location);
    roots[name] = `s3://${nameOf(location.bucket)}/${location.key}`;
  });
  if (Object.keys(roots).length > 0)
    env[ENV_VARS.provenanceTrustedRoots] = stack.toJsonString(roots);
  const store = props.notationTrustStore;
  if (store !== undefined) {
    if ('directory' in store) {
      // A folder asset is one zip object; the function reads the layout from inside it.
      const asset = new s3assets.Asset(scope, 'ProvenanceTrustStore', { path: store.directory });
      objects.push({ bucket: asset.bucket, key: asset.s3ObjectKey });
      env[ENV_VARS.provenanceNotationTrustStore] =
        `s3://${asset.s3BucketName}/${asset.s3ObjectKey}`;
    } else {
      prefixes.push(store.s3);
      env[ENV_VARS.provenanceNotationTrustStore] =
        `s3://${nameOf(store.s3.bucket)}/${store.s3.prefix}`;
    }
  }
  if (props.maxAgeHours !== undefined)
    env[ENV_VARS.provenanceMaxAgeHours] = String(props.maxAgeHours);
  for (const o of [...objects, ...prefixes])
    if (typeof o.bucket !== 'string' && o.bucket.encryptionKey !== undefined)
      keys.push(o.bucket.encryptionKey);

  return {
    environment: env,
    grantRead(fn) {
      const role = fn.function;
      if (objects.length > 0)
        role.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['s3:GetObject'],
            resources: objects.map((o) => objectArn(o.bucket, o.key)),
          }),
        );
      for (const p of prefixes) {
        role.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['s3:GetObject'],
            resources: [objectArn(p.bucket, `${p.prefix}*`)],
          }),
        );
        role.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['s3:ListBucket'],
            resources: [bucketArn(p.bucket)],
            conditions: { StringLike: { 's3:prefix': [`${p.prefix}*`] } },
          }),
        );
      }
      if (prefixes.length > 0)
        acknowledgeOnRole(
          fn,
          prefixes.map(
            (p) =>
              `AwsSolutions-IAM5[Resource::${renderForNag(stack, objectArn(p.bucket, `${p.prefix}*`))}]`,
          ),
          'The Notation trust store is every certificate file under the configured prefix (x509/<type>/<name>/), read and nothing else.',
        );
      if (parameterArn !== undefined)
        role.addToRolePolicy(
          new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [parameterArn] }),
        );
      // kms:Decrypt on exactly the keys given (a grant on an imported key may widen to "*").
      if (keys.length > 0)
        role.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['kms:Decrypt'],
            resources: keys.map((k) => k.keyArn),
          }),
        );
    },
  };
}

/**
 * The S3 objects and the parameter whose change re-verifies: the policy's, S3 trusted roots and
 * the trust store prefix (assets never change in place: a new one is a new deployment).
 */
function changePatterns(props: ProvenanceProps): events.EventPattern[] {
  const byBucket = new Map<string, { bucket: s3.IBucket | string; keys: unknown[] }>();
  const watch = (bucket: s3.IBucket | string, key: unknown) => {
    const id = typeof bucket === 'string' ? bucket : bucket.node.path;
    const entry = byBucket.get(id) ?? { bucket, keys: [] };
    entry.keys.push(key);
    byBucket.set(id, entry);
  };
  const policy = props.policy;
  if ('s3' in policy) watch(policy.s3.bucket, policy.s3.key);
  for (const root of Object.values(props.trustedRoots ?? {}))
    if ('s3' in root) watch(root.s3.bucket, root.s3.key);
  const store = props.notationTrustStore;
  if (store !== undefined && 's3' in store) watch(store.s3.bucket, { prefix: store.s3.prefix });
  const patterns: events.EventPattern[] = [];
  for (const { bucket, keys } of byBucket.values()) {
    // Object events reach EventBridge only from a bucket that sends them:
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html
    if (bucket instanceof s3.Bucket) bucket.enableEventBridgeNotification();
    patterns.push({
      source: ['aws.s3'],
      detailType: ['Object Created'],
      detail: { bucket: { name: [nameOf(bucket)] }, object: { key: keys } },
    });
  }
  if ('ssmParameter' in policy)
    // https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html#SSM-Parameter-Store-event-types
    patterns.push({
      source: ['aws.ssm'],
      detailType: ['Parameter Store Change'],
      detail: { name: [policy.ssmParameter] },
    });
  return patterns;
}

export interface ProvenancePassProps {
  readonly provenance: ProvenanceProps;
  readonly wiring: ProvenanceWiring;
  readonly functionDefaults: BosunFunctionDefaults;
  /** Variables every data function gets: tables, topic, bucket, rescan window. */
  readonly environment: Readonly<Record<string, string>>;
  readonly registryAllowedHosts?: string;
  readonly tables: BosunTables;
  readonly findingsTopic: sns.ITopic;
  /** Receives the events EventBridge could not deliver. */
  readonly eventsDlq: sqs.IQueue;
}

export interface ProvenancePass {
  readonly function: BosunFunction;
  readonly schedule: events.Rule;
  /** On a change of the policy or trust objects, or of the policy parameter. */
  readonly changeRules: events.Rule[];
}

/**
 * Schedule and change events -> provenance function, which decides again every verdict that is
 * stale (shared/pipeline/provenance.ts reverifyProvenance). Its registry reads are granted by
 * the caller, like the scan's.
 */
export function buildProvenancePass(scope: Construct, props: ProvenancePassProps): ProvenancePass {
  const fn = new BosunFunction(scope, 'Provenance', {
    ...props.functionDefaults,
    handlerDir: 'provenance',
    timeout: props.provenance.timeout ?? Duration.minutes(15),
    memorySize: 1024,
    environment: {
      ...props.environment,
      ...props.wiring.environment,
      ...(props.registryAllowedHosts === undefined
        ? {}
        : { [ENV_VARS.registryAllowedHosts]: props.registryAllowedHosts }),
    },
  });
  props.wiring.grantRead(fn);
  grantPassStores(fn, props.tables, props.findingsTopic);

  const target = () =>
    new targets.LambdaFunction(fn.function, {
      deadLetterQueue: props.eventsDlq,
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
    });
  const schedule = new events.Rule(scope, 'ProvenanceSchedule', {
    description: 'Provenance re-verification (expiry, revocation)',
    schedule: props.provenance.reverifySchedule ?? events.Schedule.rate(Duration.days(1)),
    targets: [target()],
  });
  const rules = changePatterns(props.provenance).map(
    (eventPattern, i) =>
      new events.Rule(scope, `ProvenanceChangeRule${i}`, {
        description: 'Provenance policy or trust material changed: re-verify',
        eventPattern,
        targets: [target()],
      }),
  );
  return { function: fn, schedule, changeRules: rules };
}

/**
 * DynamoDB actions of the pass: verdicts and leases in the images table (the verdicts' index
 * lists them oldest first), the findings table's sent-message markers, and the topic.
 */
export const PROVENANCE_TABLE_ACTIONS = {
  // checkedBefore queries the index; get/ofDigest/repositoriesOf read; put, delete and the
  // lease are single conditional writes or transactions (PutItem/DeleteItem).
  images: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
  // sendOnce: notified (GetItem) and markNotified (a conditional put).
  findings: ['dynamodb:GetItem', 'dynamodb:PutItem'],
} as const;

function grantPassStores(fn: BosunFunction, tables: BosunTables, topic: sns.ITopic): void {
  const role = fn.function;
  role.addToRolePolicy(
    new iam.PolicyStatement({
      actions: [...PROVENANCE_TABLE_ACTIONS.images],
      resources: [tables.images.tableArn, `${tables.images.tableArn}/index/*`],
    }),
  );
  role.addToRolePolicy(
    new iam.PolicyStatement({
      actions: [...PROVENANCE_TABLE_ACTIONS.findings],
      resources: [tables.findings.tableArn],
    }),
  );
  topic.grantPublish(role);
  acknowledgeOnRole(
    fn,
    [`AwsSolutions-IAM5[Resource::<${arnLogicalId(tables.images)}.Arn>/index/*]`],
    "The pass lists stored verdicts, oldest first, through the images table's index (docs/data-model.md).",
  );
  acknowledgePublishKey(fn, topic);
}

/**
 * AWS Signer's revocation check for Notation signatures. GetRevocationStatus has no resource
 * type, so it is granted on "*" (Service Authorization Reference, AWS Signer:
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssigner.html).
 */
export function grantSignerRevocation(fn: BosunFunction): void {
  fn.function.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['signer:GetRevocationStatus'], resources: ['*'] }),
  );
  acknowledgeOnRole(
    fn,
    ['AwsSolutions-IAM5[Resource::*]'],
    'signer:GetRevocationStatus supports no resource-level permission (AWS Signer in the Service Authorization Reference); it only reads whether a signing profile, job or certificate was revoked.',
  );
}

/** A refresh the function could not run: refused at synth rather than failing every day. */
function checkRefresh(name: string, refresh: { mirror: string; tufRoot?: S3ObjectLocation }): void {
  const parsed = trustRefreshSchema.safeParse({ [name]: { mirror: refresh.mirror } });
  if (!parsed.success)
    throw new Error(
      `provenance.trustedRoots.${name}.refresh.mirror must be an http(s) URL, got ${JSON.stringify(refresh.mirror)}`,
    );
  if (refresh.tufRoot === undefined && shippedTufRoot(refresh.mirror) === undefined)
    throw new Error(
      `provenance.trustedRoots.${name}.refresh: no TUF root ships for ${refresh.mirror}; give its root.json as tufRoot`,
    );
}

/** Trusted roots the props ask to keep fresh, by name. */
function refreshedRoots(props: ProvenanceProps) {
  return Object.entries(props.trustedRoots ?? {}).flatMap(([name, root]) =>
    's3' in root && root.refresh !== undefined
      ? [{ name, object: root.s3, refresh: root.refresh }]
      : [],
  );
}

export interface TrustRefreshProps {
  readonly provenance: ProvenanceProps;
  readonly wiring: ProvenanceWiring;
  readonly functionDefaults: BosunFunctionDefaults;
  readonly eventsDlq: sqs.IQueue;
}

/**
 * The trust-refresh function (functions/trust-refresh) for the trusted roots with `refresh`, on
 * its schedule: it reads and writes exactly those objects (and reads their TUF roots), and
 * reaches the mirrors over HTTPS. Undefined when no root asks for a refresh. Writing a root is
 * an S3 change the re-verification rules already watch.
 */
export function buildTrustRefresh(
  scope: Construct,
  props: TrustRefreshProps,
): { function: BosunFunction; schedule: events.Rule } | undefined {
  const roots = refreshedRoots(props.provenance);
  if (roots.length === 0) return undefined;
  const stack = Stack.of(scope);
  const refresh = Object.fromEntries(
    roots.map((r) => [
      r.name,
      {
        mirror: r.refresh.mirror,
        ...(r.refresh.tufRoot === undefined
          ? {}
          : { tufRoot: `s3://${nameOf(r.refresh.tufRoot.bucket)}/${r.refresh.tufRoot.key}` }),
      },
    ]),
  );
  const fn = new BosunFunction(scope, 'TrustRefresh', {
    ...props.functionDefaults,
    handlerDir: 'trust-refresh',
    timeout: Duration.minutes(2),
    memorySize: 512,
    environment: {
      [ENV_VARS.provenanceTrustedRoots]: props.wiring.environment[
        ENV_VARS.provenanceTrustedRoots
      ] as string,
      [TRUST_REFRESH_ENV_VARS.trustRefresh]: stack.toJsonString(refresh),
    },
  });
  const role = fn.function;
  role.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObject', 's3:PutObject'],
      resources: roots.map((r) => objectArn(r.object.bucket, r.object.key)),
    }),
  );
  const tufRoots = roots.flatMap((r) =>
    r.refresh.tufRoot === undefined ? [] : [r.refresh.tufRoot],
  );
  if (tufRoots.length > 0)
    role.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: tufRoots.map((o) => objectArn(o.bucket, o.key)),
      }),
    );
  // A bucket of this app with its own key: writing needs the key too.
  const keys = [...roots.map((r) => r.object), ...tufRoots].flatMap((o) =>
    typeof o.bucket !== 'string' && o.bucket.encryptionKey !== undefined
      ? [o.bucket.encryptionKey]
      : [],
  );
  if (keys.length > 0)
    role.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: keys.map((k) => k.keyArn),
      }),
    );
  const schedule = new events.Rule(scope, 'TrustRefreshSchedule', {
    description: 'Sigstore trusted roots fetched again through TUF',
    schedule: props.provenance.trustRefreshSchedule ?? events.Schedule.rate(Duration.days(1)),
    targets: [
      new targets.LambdaFunction(fn.function, {
        deadLetterQueue: props.eventsDlq,
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      }),
    ],
  });
  return { function: fn, schedule };
}
