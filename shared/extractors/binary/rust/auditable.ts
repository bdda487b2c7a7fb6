/**
 * Rust binaries built with cargo-auditable: it embeds the crate dependency tree as
 * zlib-compressed JSON in a `.dep-v0` section (`{"packages": [{"name", "version", "source",
 * "kind", "dependencies", "root"}]}`). Build dependencies (`kind: "build"`) ran at compile time
 * and are not in the binary, so they are not reported.
 * https://github.com/rust-secure-code/cargo-auditable/blob/master/PARSING.md
 */
import { inflateSync } from 'node:zlib';
import type { ExtractedPackage, ExtractIssue, Extractor, ExtractResult } from '../../types.js';
import { ELF_EXECUTABLES, elfNamesSection, sectionBytes } from '../elf.js';

const ID = 'binary/rust/auditable';
const SECTION = '.dep-v0';
// PARSING.md's advice: cap the decompressed size; real trees are tens of KB.
const MAX_JSON = 8 * 1024 * 1024;

interface AuditPackage {
  readonly name?: unknown;
  readonly version?: unknown;
  readonly kind?: unknown;
}

export const rustAuditable: Extractor = {
  id: ID,
  version: 1,
  packageTypes: ['cargo'],
  ...ELF_EXECUTABLES,
  needs: elfNamesSection(SECTION),
  extract(path: string, content: Buffer): ExtractResult {
    const issues: ExtractIssue[] = [];
    const issue = (message: string): ExtractResult => ({
      packages: [],
      issues: [{ extractor: ID, location: path, message: `${path}: ${message}` }],
    });
    let compressed: Buffer | undefined;
    try {
      compressed = sectionBytes(content, SECTION);
    } catch (error) {
      // Not a readable ELF file: only worth an issue when the section's name is in it.
      return content.includes(SECTION)
        ? issue(`unreadable ELF section table: ${(error as Error).message}`)
        : { packages: [], issues };
    }
    if (compressed === undefined) return { packages: [], issues };
    let tree: { packages?: unknown };
    try {
      const json = inflateSync(compressed, { maxOutputLength: MAX_JSON });
      tree = JSON.parse(json.toString('utf8')) ?? {};
    } catch (error) {
      return issue(`unreadable ${SECTION} dependency data: ${(error as Error).message}`);
    }
    if (!Array.isArray(tree.packages)) return issue(`${SECTION} has no package list`);
    const packages: ExtractedPackage[] = [];
    for (const entry of tree.packages as (AuditPackage | null)[]) {
      const p = entry ?? {};
      if (p.kind === 'build') continue;
      if (typeof p.name !== 'string' || typeof p.version !== 'string' || p.version === '') {
        issues.push({
          extractor: ID,
          location: path,
          message: `${path}: a ${SECTION} package without name or version; skipped`,
        });
        continue;
      }
      packages.push({ type: 'cargo', name: p.name, version: p.version, location: path });
    }
    return { packages, issues };
  },
};
