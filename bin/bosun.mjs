#!/usr/bin/env node
// `npx bosun …` from a checkout: runs the TypeScript CLI (cli/bosun.ts) with tsx, a dev
// dependency, exactly as `npm run bosun -- …` does; the exit code is the CLI's.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../cli/bosun.ts', import.meta.url));
const result = spawnSync(process.execPath, ['--import', 'tsx', cli, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env },
});
if (result.error !== undefined) {
  console.error(`bosun: ${result.error.message}`);
  process.exit(3);
}
process.exit(result.status ?? (result.signal === null ? 3 : 128));
