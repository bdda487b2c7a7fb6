/**
 * The real Go vulnerability database (../shared/data/advisories/golang-vulndb) laid out as the
 * govulncheck that Debian 12 packages (0.0~git20230201) reads it from `GOVULNDB=file:///dir`:
 * golang.org/x/vuln's client package at that commit (client/client.go, localSource) wants
 * `index.json` (module path -> time of its newest change) and one `<module>.json` per module
 * holding the array of its OSV entries, the module path escaped as Go module paths are on
 * disk (an upper-case letter as `!` + its lower case; golang.org/x/mod module.EscapePath). The
 * standard library is the module `stdlib`. Later versions read the v1 layout (index/db.json,
 * index/modules.json, ID/<id>.json) instead; this one predates it.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { dataDir } from './fixtures.js';

interface Entry {
  readonly id: string;
  readonly modified: string;
  readonly affected?: readonly { readonly package: { readonly name: string } }[];
}

const escapeModule = (m: string) => m.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);

/** Writes the layout under `dir`; returns how many modules it names. */
export function layOutGoVulnDb(dir: string): number {
  const src = path.join(dataDir(), 'advisories', 'golang-vulndb', 'data', 'osv');
  const byModule = new Map<string, Entry[]>();
  const index: Record<string, string> = {};
  for (const name of readdirSync(src).sort()) {
    if (!name.endsWith('.json')) continue;
    const entry = JSON.parse(readFileSync(path.join(src, name), 'utf8')) as Entry;
    for (const module of new Set((entry.affected ?? []).map((a) => a.package.name))) {
      byModule.set(module, [...(byModule.get(module) ?? []), entry]);
      if ((index[module] ?? '') < entry.modified) index[module] = entry.modified;
    }
  }
  for (const [module, entries] of byModule) {
    const file = path.join(dir, `${escapeModule(module)}.json`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(entries));
  }
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index));
  return byModule.size;
}
