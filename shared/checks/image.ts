/**
 * The image checks: `checkImage` runs every check of IMAGE_CHECKS over an image's config, its
 * inventory and the facts of its layers (facts.ts), all from the walk the inventory already
 * made. Pure: no I/O, so a scan, a rescan from stored facts and the CLI run the same code.
 */
import type { Image } from '../image/types.js';
import type { Inventory } from '../inventory/inventory.js';
import type { TreeEntry } from '../layers/tree.js';
import { IMAGE_CHECKS, type ImageCheckName } from './definitions.js';
import { hiddenBy, type LayerFacts, layerIndexOf } from './facts.js';
import { ruleInfo, scanText, secretAssignment, sha256Hex } from './secrets.js';
import type { CheckIssue, CheckResult, Evidence, SecretEvidence } from './types.js';
import { effectiveUser } from './user.js';

/**
 * setuid/setgid files a container may keep: setgid-`shadow` helpers that only read
 * /etc/shadow to check a password (PAM's unix_chkpwd, shadow's chage and expiry). Every setuid
 * root binary is reported: a container has no user to switch from (CIS Docker Benchmark 4.8).
 */
export const DEFAULT_SETUID_ALLOW_LIST: readonly string[] = [
  'sbin/unix_chkpwd',
  'usr/sbin/unix_chkpwd',
  'usr/bin/chage',
  'usr/bin/expiry',
];

/** Licence families reported by BOSUN-IMG-040, matched against each SPDX id or name's start. */
export const DEFAULT_RESTRICTED_LICENCES: readonly string[] = ['AGPL', 'SSPL'];

/**
 * VOLUMEs that hand a container its host when something is mounted there: the Docker socket,
 * the root, system folders, credentials folders (Dockle's DKL-DI-0002 "sensitive directory").
 */
const SENSITIVE_VOLUMES = [
  /^\/$/,
  /^\/(var\/)?run\/docker\.sock$/,
  /^\/(var\/)?run(\/docker)?$/,
  /^\/(etc|proc|sys|dev|boot|root|var\/lib\/docker|var\/lib\/kubelet|etc\/kubernetes)(\/.*)?$/,
  /^\/home\/[^/]+\/\.(ssh|aws|docker|kube)(\/.*)?$/,
];

/** Package managers' caches: the folder and what in it counts as cached. */
const PACKAGE_CACHES: readonly { name: string; at: RegExp }[] = [
  { name: 'apt lists', at: /^var\/lib\/apt\/lists\/(?!lock$|partial\/|auxfiles\/)[^/]+$/ },
  { name: 'apt archives', at: /^var\/cache\/apt\/(archives\/[^/]+\.deb|[^/]+\.bin)$/ },
  { name: 'apk cache', at: /^(var\/cache\/apk|etc\/apk\/cache)\/[^/]+$/ },
  { name: 'yum/dnf cache', at: /^var\/cache\/(yum|dnf)\/.+\.(rpm|sqlite|solv|xml(\.gz)?)$/ },
  { name: 'pip cache', at: /^(root|home\/[^/]+)\/\.cache\/pip\/.+$/ },
  { name: 'npm cache', at: /^(root|home\/[^/]+)\/\.npm\/_cacache\/.+$/ },
];

const SUDO = new Set(['usr/bin/sudo', 'bin/sudo', 'usr/sbin/sudo', 'usr/local/bin/sudo']);

/** `ADD <url>` as the classic builder (`#(nop) ADD`) and BuildKit record it. */
const ADD_URL = /(?:^|#\(nop\)\s*|\s)ADD\s+(?:--\S+\s+)*(?:\S+\s+)*?(?:https?:\/\/|git@|git:\/\/)/i;

/** `curl … | sh`, `sh -c "$(curl …)"`, `bash <(curl …)`. */
const PIPE_TO_SHELL = [
  /\b(?:curl|wget)\b[^|;&\n]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+\S+\s+)?(?:\/(?:usr\/)?bin\/)?(?:ba|z|da|k|fi)?sh\b/,
  /\b(?:ba|z|da)?sh\s+(?:-\S+\s+)*["']?\$\(\s*(?:curl|wget)\b/,
  /\b(?:ba|z)?sh\s+<\(\s*(?:curl|wget)\b/,
];

export interface CheckOptions {
  /** Paths (image-root relative) whose setuid/setgid bit is accepted. */
  readonly setuidAllowList?: readonly string[];
  /** Licence families to report (an SPDX id or name starts with one): AGPL, SSPL by default. */
  readonly restrictedLicences?: readonly string[];
}

export interface ImageChecks {
  readonly results: CheckResult[];
  readonly issues: CheckIssue[];
}

function result(
  name: ImageCheckName,
  evidence: Evidence,
  extra: { severity?: CheckResult['severity']; title?: string; secret?: SecretEvidence } = {},
): CheckResult {
  const d = IMAGE_CHECKS[name];
  return {
    id: d.id,
    severity: extra.severity ?? d.severity,
    title: extra.title ?? d.title,
    evidence,
    remediation: d.remediation,
    anchors: d.anchors,
    ...(extra.secret === undefined ? {} : { secret: extra.secret }),
  };
}

const layerOf = (facts: LayerFacts, index: number) => ({
  index,
  ...(facts.layers[index]?.digest === undefined ? {} : { digest: facts.layers[index]?.digest }),
});

function checkUser(image: Image, facts: LayerFacts): CheckResult[] {
  const user = image.config.config?.User;
  const passwd = facts.tree.read('etc/passwd')?.toString('utf8');
  const effective = effectiveUser(user, passwd);
  const evidence = {
    configField: 'config.User',
    ...(effective.why.includes('/etc/passwd') && passwd !== undefined
      ? { path: 'etc/passwd' }
      : {}),
    detail: effective.why,
  };
  if (effective.kind === 'root') return [result('rootUser', evidence)];
  if (effective.kind === 'unresolved') return [result('unresolvedUser', evidence)];
  return [];
}

function configSecret(field: string, rule: string, valueHash: string): CheckResult {
  const info = ruleInfo(rule);
  return result(
    'configSecret',
    { configField: field, detail: `${info.title} (${rule}) in ${field}` },
    {
      severity: info.severity,
      title: `${info.title} in the image config`,
      secret: { rule, location: { kind: 'config', field }, valueHash },
    },
  );
}

/** Env entries, labels and history commands: text rules, and credential-named variables. */
function checkConfigSecrets(image: Image): CheckResult[] {
  const out: CheckResult[] = [];
  const seen = new Set<string>();
  const add = (field: string, rule: string, valueHash: string) => {
    if (seen.has(`${field}\u0000${valueHash}`)) return;
    seen.add(`${field}\u0000${valueHash}`);
    out.push(configSecret(field, rule, valueHash));
  };
  const named = (field: string, name: string, value: string) => {
    for (const hit of scanText(value)) add(field, hit.rule, hit.valueHash);
    if (secretAssignment(name, value)) add(field, 'env-secret', sha256Hex(value.trim()));
  };
  for (const [i, entry] of (image.config.config?.Env ?? []).entries()) {
    const eq = entry.indexOf('=');
    named(
      `config.Env[${i}]`,
      eq < 0 ? entry : entry.slice(0, eq),
      eq < 0 ? '' : entry.slice(eq + 1),
    );
  }
  for (const [key, value] of Object.entries(image.config.config?.Labels ?? {}))
    named(`config.Labels[${JSON.stringify(key)}]`, key, value);
  for (const [i, h] of (image.config.history ?? []).entries())
    for (const hit of scanText(h.created_by ?? ''))
      add(`history[${i}].created_by`, hit.rule, hit.valueHash);
  return out;
}

/** Secrets in files of every layer, present or since deleted: each layer's bytes ship. */
function checkFileSecrets(facts: LayerFacts): CheckResult[] {
  const out: CheckResult[] = [];
  for (const layer of facts.layers) {
    for (const hit of layer.collected?.secrets ?? []) {
      const info = ruleInfo(hit.rule);
      const hidden = hiddenBy(facts, layer.index, hit.path);
      const where = `${hit.path} in layer ${layer.index}`;
      const detail =
        hidden === undefined
          ? `${info.title} (${hit.rule}) in ${where}`
          : `${info.title} (${hit.rule}) in ${where}, ${hidden.how} by layer ${hidden.layer}: still in the image`;
      out.push(
        result(
          'fileSecret',
          { layer: layerOf(facts, layer.index), path: hit.path, detail },
          {
            severity: info.severity,
            title: `${info.title} in a file`,
            secret: {
              rule: hit.rule,
              location: {
                kind: 'file',
                layer: layerOf(facts, layer.index),
                path: hit.path,
                ...(hit.line === undefined ? {} : { line: hit.line }),
                ...(hidden?.how === 'deleted' ? { deletedBy: hidden.layer } : {}),
              },
              valueHash: hit.valueHash,
            },
          },
        ),
      );
    }
  }
  return out;
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/** Modes of the final filesystem, each attributed to the layer that wrote the entry. */
function checkFiles(facts: LayerFacts, options: CheckOptions): CheckResult[] {
  const allowed = new Set(options.setuidAllowList ?? DEFAULT_SETUID_ALLOW_LIST);
  const out: CheckResult[] = [];
  const caches = new Map<string, { files: number; bytes: number; first: TreeEntry }>();
  for (const e of facts.tree.entries()) {
    const at = { layer: layerOf(facts, e.layer), path: e.path };
    if (
      e.type === 'file' &&
      (e.mode & 0o6000) !== 0 &&
      (e.mode & 0o111) !== 0 &&
      !allowed.has(e.path)
    ) {
      const bits = [
        (e.mode & 0o4000) !== 0 ? 'setuid' : '',
        (e.mode & 0o2000) !== 0 ? 'setgid' : '',
      ]
        .filter((b) => b !== '')
        .join(' and ');
      out.push(result('setuid', { ...at, detail: `${e.path} is ${bits} (mode ${octal(e.mode)})` }));
    }
    if (e.type === 'dir' && (e.mode & 0o002) !== 0 && (e.mode & 0o1000) === 0)
      out.push(
        result('worldWritable', {
          ...at,
          detail: `${e.path}/ is world-writable without the sticky bit (mode ${octal(e.mode)})`,
        }),
      );
    if (e.type === 'file' && SUDO.has(e.path))
      out.push(result('sudo', { ...at, detail: `${e.path} is installed` }));
    if (e.type === 'file')
      for (const cache of PACKAGE_CACHES)
        if (cache.at.test(e.path)) {
          const c = caches.get(cache.name) ?? { files: 0, bytes: 0, first: e };
          c.files++;
          c.bytes += e.size;
          caches.set(cache.name, c);
        }
  }
  for (const [name, c] of caches)
    out.push(
      result('packageCache', {
        layer: layerOf(facts, c.first.layer),
        path: c.first.path.slice(0, c.first.path.lastIndexOf('/')),
        detail: `${name}: ${c.files} files, ${c.bytes} bytes`,
      }),
    );
  return out;
}

function checkHistory(image: Image): CheckResult[] {
  const out: CheckResult[] = [];
  for (const [i, h] of (image.config.history ?? []).entries()) {
    const command = h.created_by ?? '';
    const field = `history[${i}].created_by`;
    // The command is shown only when it holds no secret (the secret checks report those).
    const shown = scanText(command).length === 0 ? `: ${command.slice(0, 200)}` : '';
    if (ADD_URL.test(command))
      out.push(result('addUrl', { configField: field, detail: `ADD of a remote URL${shown}` }));
    if (PIPE_TO_SHELL.some((p) => p.test(command)))
      out.push(
        result('pipeToShell', { configField: field, detail: `a download run by a shell${shown}` }),
      );
  }
  return out;
}

interface RuntimeConfig {
  readonly Healthcheck?: { readonly Test?: readonly string[] } | null;
  readonly Volumes?: Record<string, unknown> | null;
}

function checkRuntimeConfig(image: Image): CheckResult[] {
  const out: CheckResult[] = [];
  const config = (image.config.config ?? {}) as RuntimeConfig;
  const test = config.Healthcheck?.Test;
  if (test === undefined || test.length === 0 || test[0] === 'NONE')
    out.push(
      result('healthcheck', {
        configField: 'config.Healthcheck',
        detail:
          test?.[0] === 'NONE'
            ? 'HEALTHCHECK NONE disables the check'
            : 'the image has no HEALTHCHECK',
      }),
    );
  for (const volume of Object.keys(config.Volumes ?? {})) {
    const path = volume.length > 1 ? volume.replace(/\/+$/, '') : volume;
    if (SENSITIVE_VOLUMES.some((p) => p.test(path)))
      out.push(
        result('sensitiveVolume', { configField: 'config.Volumes', detail: `VOLUME ${volume}` }),
      );
  }
  return out;
}

/** The licence ids and names of an expression: `MIT OR AGPL-3.0-only` → MIT, AGPL-3.0-only. */
const licenceTerms = (licence: string) =>
  licence
    .split(/\s+(?:AND|OR|WITH)\s+|[(),;/]|\s+and\s+|\s+or\s+/)
    .map((t) => t.trim())
    .filter((t) => t !== '');

function checkLicences(
  inventory: Inventory,
  facts: LayerFacts,
  options: CheckOptions,
): CheckResult[] {
  const families = (options.restrictedLicences ?? DEFAULT_RESTRICTED_LICENCES).map((f) =>
    f.toUpperCase(),
  );
  const out: CheckResult[] = [];
  for (const p of inventory.packages) {
    const hit = (p.licenses ?? []).flatMap(licenceTerms).find((t) => {
      const term = t.toUpperCase().replace(/^GNU\s+AFFERO\b.*/, 'AGPL');
      return families.some((f) => term.startsWith(f));
    });
    const index = p.layer === undefined ? undefined : layerIndexOf(facts, p.layer);
    if (hit !== undefined)
      out.push(
        result('licence', {
          ...(index === undefined ? {} : { layer: layerOf(facts, index) }),
          path: p.location,
          detail: `${p.type} package ${p.name} ${p.version} is licensed ${hit}`,
        }),
      );
  }
  return out;
}

/** What the layers' facts could not cover: layers not read, secret budgets spent. */
function coverage(facts: LayerFacts): CheckIssue[] {
  const issues: CheckIssue[] = [];
  for (const l of facts.layers) {
    if (l.error !== undefined)
      issues.push({
        location: `layer ${l.index}`,
        message: `checks saw this layer only in part or not at all: ${l.error}`,
      });
    if (l.collected === undefined && l.error === undefined)
      issues.push({
        location: `layer ${l.index}`,
        message: 'no secret scan for this layer: it was read without the checks collector',
      });
    if ((l.collected?.unread ?? 0) > 0)
      issues.push({
        location: `layer ${l.index}`,
        message: `${l.collected?.unread} files were not read for secrets: the layer's secret budget was spent`,
      });
  }
  return issues;
}

export function checkImage(
  image: Image,
  inventory: Inventory,
  facts: LayerFacts,
  options: CheckOptions = {},
): ImageChecks {
  return {
    results: [
      ...checkUser(image, facts),
      ...checkConfigSecrets(image),
      ...checkFileSecrets(facts),
      ...checkFiles(facts, options),
      ...checkHistory(image),
      ...checkRuntimeConfig(image),
      ...checkLicences(inventory, facts, options),
    ],
    issues: coverage(facts),
  };
}
