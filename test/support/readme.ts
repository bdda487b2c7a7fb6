/**
 * The README's command blocks that a test runs as written: the ```sh block after an HTML comment
 * naming that test file.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from './fixtures.js';

/** The shell block the README marks as run by `testFile` (a project path). */
export function readmeBlock(testFile: string): string {
  const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(`<!-- ${testFile} runs this block as written -->`);
  if (at < 0) throw new Error(`README.md marks no block for ${testFile}`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  if (block?.[1] === undefined)
    throw new Error(`README.md: no sh block after the mark for ${testFile}`);
  return block[1];
}

/** The block as one bash script that stops at the first failing command. */
export const asScript = (block: string) => `set -euo pipefail\n${block}`;
