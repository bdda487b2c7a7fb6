/**
 * An application's `package-lock.json`. Versions 2 and 3: the `packages` map from install path
 * (`node_modules/a/node_modules/b`) to what npm installs there; links and the root entry are not
 * packages. Version 1 (npm 5 and 6): the nested `dependencies` tree, each level installed under
 * its parent's `node_modules`; an alias is written `npm:<real name>@<version>`, and git, file
 * and URL dependencies have no registry version to match.
 * Every entry is a declaration (`declared`), `dev: true` marks a development dependency; the
 * inventory keeps them only for a project with no installed `node_modules` tree.
 * https://docs.npmjs.com/cli/v10/configuring-npm/package-lock-json
 */
import { isObject, parseJsonFile } from '../../json.js';
import type { ExtractedPackage, ExtractIssue, Extractor, ExtractResult } from '../../types.js';

const ID = 'language/npm/lockfile';

/**
 * The `dependencies` tree of a version 1 lockfile, as install paths. Walked with an explicit
 * stack: a hostile lockfile can nest deeper than the call stack goes.
 */
function readV1(
  path: string,
  tree: unknown,
  packages: ExtractedPackage[],
  issues: ExtractIssue[],
): void {
  const issue = (message: string) => issues.push({ extractor: ID, location: path, message });
  const stack: [unknown, string][] = [[tree, '']];
  while (stack.length > 0) {
    const [level, parent] = stack.pop() as [unknown, string];
    if (!isObject(level)) {
      issue(`${path}: ${parent || 'dependencies'} is not an object; skipped`);
      continue;
    }
    const children: [unknown, string][] = [];
    for (const [key, entry] of Object.entries(level)) {
      const installPath = `${parent}node_modules/${key}`;
      if (!isObject(entry)) {
        issue(`${path}: ${installPath} is not an object; skipped`);
        continue;
      }
      const raw = entry.version;
      if (typeof raw !== 'string' || raw === '') {
        issue(`${path}: ${installPath} has no version`);
      } else {
        const alias = /^npm:((?:@[^/@]+\/)?[^@]+)@(.+)$/.exec(raw);
        const name = alias?.[1] ?? key;
        const version = alias?.[2] ?? raw;
        if (/^[0-9]/.test(version))
          packages.push({
            type: 'npm',
            name,
            version,
            location: `${path}#${installPath}`,
            declared: true,
            ...(entry.dev === true ? { dev: true as const } : {}),
          });
        else issue(`${path}: ${installPath} is ${version}, not a registry version; not matched`);
      }
      if (entry.dependencies !== undefined) children.push([entry.dependencies, `${installPath}/`]);
    }
    // Reversed onto the stack, so that the tree is read in file order.
    stack.push(...children.reverse());
  }
}

export const npmLockfile: Extractor = {
  id: ID,
  version: 3,
  packageTypes: ['npm'],
  required: (path, size) =>
    size < 64 * 1024 * 1024 &&
    (path === 'package-lock.json' || path.endsWith('/package-lock.json')) &&
    !path.includes('node_modules/'),
  extract(path: string, content: Buffer): ExtractResult {
    const packages: ExtractedPackage[] = [];
    const issues: ExtractIssue[] = [];
    const parsed = parseJsonFile(ID, path, content);
    if ('issue' in parsed) return { packages, issues: [parsed.issue] };
    // `null` parses too; it is then an object without a lockfileVersion.
    const lock = (parsed.value ?? {}) as {
      lockfileVersion?: unknown;
      packages?: unknown;
      dependencies?: unknown;
    };
    if (lock.lockfileVersion === 1) {
      readV1(path, lock.dependencies ?? {}, packages, issues);
      return { packages, issues };
    }
    if (lock.lockfileVersion !== 2 && lock.lockfileVersion !== 3) {
      issues.push({
        extractor: ID,
        location: path,
        message: `${path}: lockfileVersion ${JSON.stringify(lock.lockfileVersion)} is not read (1, 2 and 3 are)`,
      });
      return { packages, issues };
    }
    for (const [installPath, entry] of Object.entries(
      isObject(lock.packages) ? lock.packages : {},
    )) {
      if (installPath === '') continue;
      if (!isObject(entry)) {
        issues.push({
          extractor: ID,
          location: path,
          message: `${path}: ${installPath} is not an object; skipped`,
        });
        continue;
      }
      if (entry.link === true) continue;
      const at = installPath.lastIndexOf('node_modules/');
      if (at < 0) continue;
      const name =
        typeof entry.name === 'string'
          ? entry.name
          : installPath.slice(at + 'node_modules/'.length);
      if (typeof entry.version !== 'string' || entry.version === '') {
        issues.push({
          extractor: ID,
          location: path,
          message: `${path}: ${installPath} has no version`,
        });
        continue;
      }
      packages.push({
        type: 'npm',
        name,
        version: entry.version,
        location: `${path}#${installPath}`,
        declared: true,
        ...(entry.dev === true ? { dev: true as const } : {}),
      });
    }
    return { packages, issues };
  },
};
