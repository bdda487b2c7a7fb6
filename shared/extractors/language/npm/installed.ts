/**
 * npm packages installed in `node_modules` (nested and hoisted alike): each
 * `node_modules/<name>/package.json` or `node_modules/@scope/<name>/package.json` is one
 * installed package. Manifests elsewhere (an app's own package.json, test fixtures inside a
 * package) are not installed packages and are not reported.
 * https://docs.npmjs.com/cli/v10/configuring-npm/package-json
 */
import { parseJsonFile } from '../../json.js';
import type { ExtractIssue, Extractor, ExtractResult } from '../../types.js';

const ID = 'language/npm/installed';
const INSTALLED = /(?:^|\/)node_modules\/(?:@[^/]+\/)?[^/@][^/]*\/package\.json$/;

export const npmInstalled: Extractor = {
  id: ID,
  version: 1,
  packageTypes: ['npm'],
  // package.json files are small; a huge one is not a manifest worth reading.
  required: (path, size) => size < 1024 * 1024 && INSTALLED.test(path),
  extract(path: string, content: Buffer): ExtractResult {
    const issues: ExtractIssue[] = [];
    const parsed = parseJsonFile(ID, path, content);
    if ('issue' in parsed) return { packages: [], issues: [parsed.issue] };
    const m = (parsed.value ?? {}) as { name?: unknown; version?: unknown; license?: unknown };
    if (
      typeof m.name !== 'string' ||
      typeof m.version !== 'string' ||
      m.name === '' ||
      m.version === ''
    ) {
      issues.push({ extractor: ID, location: path, message: `${path}: no name or version` });
      return { packages: [], issues };
    }
    return {
      packages: [
        {
          type: 'npm',
          name: m.name,
          version: m.version,
          ...(typeof m.license === 'string' ? { licenses: [m.license] } : {}),
          location: path,
        },
      ],
      issues,
    };
  },
};
