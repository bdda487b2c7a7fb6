import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { dataDir } from './fixtures.js';

export interface Vector {
  readonly a: string;
  readonly op: string;
  readonly b: string;
  /** Where the row is in the data: `file:line`. */
  readonly at: string;
  /** The remaining columns, by header name. */
  readonly extra: Readonly<Record<string, string>>;
}

/** Rows of a `normalized*.tsv` file under versions/ (header: a, op, b, ...). */
export function tsvVectors(relative: string): Vector[] {
  const file = path.join(dataDir(), 'versions', relative);
  const [header, ...lines] = readFileSync(file, 'utf8').split('\n');
  const names = (header ?? '').split('\t');
  return lines.flatMap((line, i) => {
    if (line.trim() === '') return [];
    const cols = line.split('\t');
    const extra = Object.fromEntries(names.slice(3).map((n, k) => [n, cols[k + 3] ?? '']));
    return [
      { a: cols[0] ?? '', op: cols[1] ?? '', b: cols[2] ?? '', at: `${relative}:${i + 2}`, extra },
    ];
  });
}

/** `a op b` lines of osv-scalibr's semantic/testdata files; `#` and `//` lines are comments. */
export function scalibrVectors(name: string): Vector[] {
  const relative = `multi/google__osv-scalibr/semantic/testdata/${name}`;
  const lines = readFileSync(path.join(dataDir(), 'versions', relative), 'utf8').split('\n');
  return lines.flatMap((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith('//')) return [];
    const m = /^(\S+) (<|=|>) (\S+)$/.exec(t);
    if (m === null)
      throw new Error(`${relative}:${i + 1}: unreadable line ${JSON.stringify(line)}`);
    return [
      {
        a: m[1] as string,
        op: m[2] as string,
        b: m[3] as string,
        at: `${relative}:${i + 1}`,
        extra: {},
      },
    ];
  });
}

export const OP: Record<string, -1 | 0 | 1> = { '<': -1, '=': 0, '==': 0, '>': 1 };
