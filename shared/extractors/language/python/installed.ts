/**
 * Installed Python distributions: the core metadata of a wheel install
 * (`<name>-<version>.dist-info/METADATA`) or of an egg / setuptools install
 * (`<name>-<version>.egg-info/PKG-INFO`, or an `<name>-<version>.egg-info` file), in
 * site-packages and dist-packages alike. The metadata is RFC 822 headers; the body (the long
 * description) is not read.
 * https://packaging.python.org/en/latest/specifications/core-metadata/
 * https://packaging.python.org/en/latest/specifications/recording-installed-packages/
 */
import type { ExtractIssue, Extractor, ExtractResult } from '../../types.js';

const ID = 'language/python/installed';
const METADATA = /(?:^|\/)[^/]+\.dist-info\/METADATA$|(?:^|\/)[^/]+\.egg-info(?:\/PKG-INFO)?$/;

/** PEP 503 normalization: how PyPI, OSV's PyPI ecosystem and PURLs name a project. */
export function normalizePythonName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** Header fields before the first blank line; continuation lines (leading space) folded in. */
function headers(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let last: { key: string; values: string[] } | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if (/^[ \t]/.test(line) && last !== undefined) {
      const i = last.values.length - 1;
      last.values[i] = `${last.values[i]}\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const values = out.get(key) ?? [];
    values.push(line.slice(colon + 1).trim());
    out.set(key, values);
    last = { key, values };
  }
  return out;
}

export const pythonInstalled: Extractor = {
  id: ID,
  version: 1,
  packageTypes: ['pypi'],
  // Metadata carries the long description: a few hundred KB at most for real projects.
  required: (path, size) => size < 4 * 1024 * 1024 && METADATA.test(path),
  extract(path: string, content: Buffer): ExtractResult {
    const issues: ExtractIssue[] = [];
    const fields = headers(content.toString('utf8'));
    const name = fields.get('name')?.[0];
    const version = fields.get('version')?.[0];
    if (name === undefined || version === undefined || name === '' || version === '') {
      issues.push({
        extractor: ID,
        location: path,
        message: `${path}: no Name or Version in the metadata headers`,
      });
      return { packages: [], issues };
    }
    // License-Expression (metadata 2.4) over License, which is free text and often the whole
    // license; then the trove classifiers.
    const expression = fields.get('license-expression')?.[0];
    const license = fields.get('license')?.[0];
    const classifiers = (fields.get('classifier') ?? [])
      .filter((c) => c.startsWith('License ::'))
      .map((c) => c.split('::').at(-1)?.trim() ?? c);
    const licenses =
      expression !== undefined
        ? [expression]
        : license !== undefined &&
            license !== '' &&
            license !== 'UNKNOWN' &&
            !license.includes('\n')
          ? [license]
          : classifiers;
    return {
      packages: [
        {
          type: 'pypi',
          name: normalizePythonName(name),
          version,
          ...(licenses.length === 0 ? {} : { licenses }),
          location: path,
        },
      ],
      issues,
    };
  },
};
