/**
 * Installed Ruby gems: RubyGems keeps each installed gem's specification as
 * `<gem home>/specifications/<name>-<version>.gemspec` (Debian's gems under
 * /usr/share/rubygems-integration/all/specifications). The file is Ruby, written by RubyGems in
 * a fixed shape (`s.name = "rack".freeze`); it is read with patterns, never evaluated.
 * https://guides.rubygems.org/specification-reference/
 */

import type { ExtractIssue, Extractor, ExtractResult } from './types.js';

const ID = 'ruby/gemspec';
const GEMSPEC = /(?:^|\/)specifications\/[^/]+\.gemspec$/;
const quoted = (field: string) => new RegExp(`^\\s*s\\.${field}\\s*=\\s*["']([^"']+)["']`, 'm');
const LICENSES = /^\s*s\.licenses?\s*=\s*\[?([^\]\n]*)\]?/m;

export const rubyGemspec: Extractor = {
  id: ID,
  version: 1,
  required: (path, size) => size < 1024 * 1024 && GEMSPEC.test(path),
  extract(path: string, content: Buffer): ExtractResult {
    const text = content.toString('utf8');
    const name = quoted('name').exec(text)?.[1];
    const version = quoted('version').exec(text)?.[1];
    const issues: ExtractIssue[] = [];
    if (name === undefined || version === undefined) {
      issues.push({ extractor: ID, location: path, message: `${path}: no s.name or s.version` });
      return { packages: [], issues };
    }
    const licenses = [...(LICENSES.exec(text)?.[1] ?? '').matchAll(/["']([^"']+)["']/g)].map(
      (m) => m[1] as string,
    );
    return {
      packages: [
        {
          type: 'gem',
          name,
          version,
          ...(licenses.length === 0 ? {} : { licenses }),
          location: path,
        },
      ],
      issues,
    };
  },
};
