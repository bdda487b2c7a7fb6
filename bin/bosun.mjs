#!/usr/bin/env node
// `bosun`: the installed package runs its bundled CLI (dist/cli, built by `npm run build`);
// a checkout, which has the TypeScript source and no package build to go stale, runs
// cli/bosun.ts with tsx (a dev dependency), as `npm run bosun -- …` does. Either way the
// arguments, output and exit code are the CLI's.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The AWS SDK warns on every run under Node 20; the CLI supports Node 20 on purpose.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const source = fileURLToPath(new URL('../cli/bosun.ts', import.meta.url));
if (!existsSync(source)) {
  await import('../dist/cli/bosun.mjs');
} else {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', source, ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  );
  if (result.error !== undefined) {
    console.error(`bosun: ${result.error.message}`);
    process.exit(3);
  }
  process.exit(result.status ?? (result.signal === null ? 3 : 128));
}
