import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Reads `test/fixtures/<relative>` as text. */
export function fixtureText(relative: string): string {
  return readFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', relative), 'utf8');
}

export function fixtureJson<T = unknown>(relative: string): T {
  return JSON.parse(fixtureText(relative)) as T;
}

/** The shared real-data folder: BOSUN_DATA_DIR, or ../shared/data beside the project. */
export function dataDir(): string {
  return path.resolve(
    process.env.BOSUN_DATA_DIR ?? path.join(PROJECT_ROOT, '..', 'shared', 'data'),
  );
}
