import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { defineConfig } from 'vitest/config';

// The CLI's layer cache (cli/options.ts) of this run only: tests never read results a run with
// other code left in ~/.cache/bosun, and leave nothing behind.
const layerCache = path.join(tmpdir(), `bosun-test-cache-${process.pid}`);
process.on('exit', () => rmSync(layerCache, { recursive: true, force: true }));

export default defineConfig({
  test: {
    env: {
      BOSUN_CACHE_DIR: layerCache,
      // The SDK warns that Node 20 support ends in 2027; Lambda runs Node 24.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      // Handlers' embedded-metric lines would fill the output; test/unit/observability.test.ts
      // checks what they hold.
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'infra', include: ['test/infra/**/*.test.ts'], testTimeout: 60_000 },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
