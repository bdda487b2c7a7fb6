/**
 * `npm run local:up | local:down | local:status`: the local stack for development and tests.
 * BOSUN_LOCAL_DIR chooses the stack's folder (default .local/stack).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { API_URL_FILE } from './local/api-host.js';
import {
  checkHealth,
  DEFAULT_LOCAL_DIR,
  down,
  type LocalStackState,
  readState,
  up,
} from './local/stack.js';

// The SDK warns that Node 20 support ends in 2027; Lambda runs Node 24, so the warning is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const dir = process.env.BOSUN_LOCAL_DIR ?? DEFAULT_LOCAL_DIR;

function summary(state: LocalStackState): string {
  const lines = ['service          pid      endpoint'];
  for (const s of Object.values(state.services)) {
    lines.push(`${s.name.padEnd(16)} ${String(s.pid).padEnd(8)} ${s.endpoint}`);
  }
  // The read API runs in the functions host (scripts/local/functions-host.ts), which records it.
  const apiUrlFile = path.join(state.dir, API_URL_FILE);
  lines.push(
    `${'api'.padEnd(16)} ${'-'.padEnd(8)} ${existsSync(apiUrlFile) ? readFileSync(apiUrlFile, 'utf8').trim() : '(when the functions host runs: npx tsx scripts/local/functions-host.ts)'}`,
  );
  const counts = new Map<string, number>();
  for (const r of Object.values(state.local.resources))
    counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  lines.push('', `resources from ${state.templateFile}:`);
  for (const [type, n] of counts) lines.push(`  ${type.padEnd(24)} ${n}`);
  lines.push('', `functions configured: ${Object.keys(state.local.functions).join(', ')}`);
  lines.push(`state: ${state.dir}/state.json`);
  return lines.join('\n');
}

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'up': {
      const { state, reused } = await up({ dir });
      await checkHealth(state);
      console.log(
        reused
          ? 'local stack already running and healthy'
          : 'local stack started; all services healthy',
      );
      console.log(summary(state));
      return 0;
    }
    case 'down': {
      const stopped = await down(dir);
      console.log(
        stopped.length === 0
          ? 'no local stack recorded; nothing to stop'
          : `stopped ${stopped.map((s) => `${s.name} (pid ${s.pid})`).join(', ')}`,
      );
      return 0;
    }
    case 'status': {
      const state = readState(dir);
      if (state === undefined) {
        console.log('no local stack running (npm run local:up starts one)');
        return 1;
      }
      await checkHealth(state);
      console.log('local stack healthy');
      console.log(summary(state));
      return 0;
    }
    default:
      console.error('usage: local-stack.ts up|down|status');
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
