/**
 * Installed Ruby gems: RubyGems keeps each installed gem's specification as
 * `<gem home>/specifications/<name>-<version>.gemspec` (Debian's gems under
 * /usr/share/rubygems-integration/all/specifications). The file is Ruby, written by RubyGems in
 * a fixed shape (`s.name = "rack".freeze`); it is read with patterns, never evaluated.
 * https://guides.rubygems.org/specification-reference/
 */

import type { ExtractIssue, Extractor, ExtractResult } from '../../types.js';

const ID = 'language/ruby/gemspec';
// Default gems (shipped with Ruby itself) live in specifications/default.
const GEMSPEC = /(?:^|\/)specifications\/(?:default\/)?[^/]+\.gemspec$/;
// [ \t], not \s: a pattern that can cross lines backtracks quadratically over blank ones.
const quoted = (field: string) =>
  new RegExp(`^[ \\t]*s\\.${field}[ \\t]*=[ \\t]*["']([^"'\\n]+)["']`, 'm');
const NAME = quoted('name');
const VERSION = quoted('version');
const LICENSES = /^[ \t]*s\.licenses?[ \t]*=[ \t]*\[?([^\]\n]*)\]?/m;

export const rubyGemspec: Extractor = {
  id: ID,
  version: 1,
  packageTypes: ['gem'],
  required: (path, size) => size < 1024 * 1024 && GEMSPEC.test(path),
  extract(path: string, content: Buffer): ExtractResult {
    const text = content.toString('utf8');
    const name = NAME.exec(text)?.[1];
    const version = VERSION.exec(text)?.[1];
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
