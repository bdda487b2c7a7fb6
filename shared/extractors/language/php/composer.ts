/**
 * PHP packages that Composer installed: `vendor/composer/installed.json` lists every package
 * in the vendor directory. Composer 1 wrote a JSON array of package objects; Composer 2 writes
 * an object whose `packages` holds the same objects (plus `dev` and `dev-package-names`).
 * Each object is the package's composer.json as installed: `name` (`vendor/project`),
 * `version` as released (`v5.0.0`), `license` (an array or a string).
 * https://getcomposer.org/doc/04-schema.md (the package fields); the file itself is written by
 * Composer's FilesystemRepository (src/Composer/Repository/FilesystemRepository.php).
 */
import { isObject, own, parseJsonFile } from '../../json.js';
import type { ExtractedPackage, ExtractIssue, Extractor, ExtractResult } from '../../types.js';

const ID = 'language/php/composer';
const INSTALLED = /(?:^|\/)vendor\/composer\/installed\.json$/;

function licensesOf(license: unknown): string[] {
  if (typeof license === 'string' && license !== '') return [license];
  if (Array.isArray(license))
    return license.filter((l): l is string => typeof l === 'string' && l !== '');
  return [];
}

export const composerInstalled: Extractor = {
  id: ID,
  version: 1,
  packageTypes: ['composer'],
  // Large applications list a few hundred packages: a few MB at most.
  required: (path, size) => size < 32 * 1024 * 1024 && INSTALLED.test(path),
  extract(path: string, content: Buffer): ExtractResult {
    const parsed = parseJsonFile(ID, path, content);
    if ('issue' in parsed) return { packages: [], issues: [parsed.issue] };
    const issue = (message: string): ExtractIssue => ({
      extractor: ID,
      location: path,
      message: `${path}: ${message}`,
    });
    const file = parsed.value;
    const entries: unknown = Array.isArray(file)
      ? file
      : isObject(file)
        ? own(file, 'packages')
        : undefined;
    if (!Array.isArray(entries))
      return { packages: [], issues: [issue('neither a package list nor { "packages": [...] }')] };
    const packages: ExtractedPackage[] = [];
    const issues: ExtractIssue[] = [];
    entries.forEach((entry: unknown, i) => {
      const p = isObject(entry) ? entry : {};
      // Packagist names are `vendor/project`; anything else cannot be looked up.
      if (typeof p.name !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(p.name)) {
        issues.push(issue(`package ${i} has no vendor/project name; skipped`));
        return;
      }
      if (typeof p.version !== 'string' || p.version === '') {
        issues.push(issue(`${p.name} has no version; skipped`));
        return;
      }
      // A branch checkout (`dev-main`, `2.x-dev`) is not a release: Packagist orders it below
      // every release, so every advisory with a fixed version would match it.
      if (/^dev-|-dev$/.test(p.version)) {
        issues.push(issue(`${p.name} is installed from a branch (${p.version}); not reported`));
        return;
      }
      const licenses = licensesOf(p.license);
      packages.push({
        type: 'composer',
        // Composer treats names case-insensitively and Packagist lists them in lower case.
        name: p.name.toLowerCase(),
        version: p.version,
        ...(licenses.length === 0 ? {} : { licenses }),
        location: path,
      });
    });
    return { packages, issues };
  },
};
