/**
 * seek-bzip (the bzip2 decoder of OVAL files) allocates with the deprecated `new Buffer(size)`.
 * Bundled into the CLI, Node printed a DeprecationWarning on every `bosun db sync` that read a
 * bzip2'd OVAL file, blaming our code. Reading one, bundled as we ship it, prints nothing, and a
 * the process's own setting is left as it was.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { afterAll, expect, it } from 'vitest';
import { dataDir } from '../../support/fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'bosun-oval-quiet-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('reads a real bzip2 OVAL file, bundled, with no deprecation warning of the decoder', async () => {
  const file = path.join(
    dataDir(),
    'advisories/vuln-list-update-fixtures/redhat/oval/testdata/happy/RHEL8/ansible-2-including-unpatched.oval.xml.bz2',
  );
  const entry = path.join(work, 'entry.ts');
  writeFileSync(
    entry,
    `import { readFileSync } from 'node:fs';
import { ovalText } from ${JSON.stringify(path.resolve('shared/advisories/importers/oval.ts'))};
const xml = ovalText(readFileSync(${JSON.stringify(file)}), 'test');
process.stdout.write(\`\${xml.includes('<oval_definitions')} \${process.noDeprecation}\`);
`,
  );
  const outfile = path.join(work, 'bundle.mjs');
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    logLevel: 'silent',
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  const run = spawnSync(process.execPath, [outfile], { encoding: 'utf8' });
  expect(run.status).toBe(0);
  expect(run.stdout).toBe('true undefined');
  expect(run.stderr).not.toContain('DeprecationWarning');
});
