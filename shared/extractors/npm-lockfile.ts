/**
 * An application's `package-lock.json` (lockfileVersion 2 and 3): the `packages` map from
 * install path (`node_modules/a/node_modules/b`) to what npm installs there. Links and the
 * root entry are not packages. https://docs.npmjs.com/cli/v10/configuring-npm/package-lock-json
 */
import type { ExtractedPackage, ExtractIssue, Extractor, ExtractResult } from './types.js';

const ID = 'npm/lockfile';

export const npmLockfile: Extractor = {
  id: ID,
  version: 1,
  required: (path, size) =>
    size < 64 * 1024 * 1024 &&
    (path === 'package-lock.json' || path.endsWith('/package-lock.json')) &&
    !path.includes('node_modules/'),
  extract(path: string, content: Buffer): ExtractResult {
    const packages: ExtractedPackage[] = [];
    const issues: ExtractIssue[] = [];
    let lock: {
      lockfileVersion?: unknown;
      packages?: Record<string, { name?: unknown; version?: unknown; link?: unknown }>;
    };
    try {
      lock = JSON.parse(content.toString('utf8'));
    } catch (error) {
      issues.push({
        extractor: ID,
        location: path,
        message: `${path}: not JSON: ${(error as Error).message}`,
      });
      return { packages, issues };
    }
    if (lock.lockfileVersion !== 2 && lock.lockfileVersion !== 3) {
      issues.push({
        extractor: ID,
        location: path,
        message: `${path}: lockfileVersion ${JSON.stringify(lock.lockfileVersion)} is not read (2 and 3 are)`,
      });
      return { packages, issues };
    }
    for (const [installPath, entry] of Object.entries(lock.packages ?? {})) {
      if (installPath === '' || entry.link === true) continue;
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
      });
    }
    return { packages, issues };
  },
};
