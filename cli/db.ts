/**
 * `bosun db …`: the local advisory database (the embedded store) that `bosun scan` reads.
 *   sync [--from <dir|zip|url|export>]... [--ecosystem E]... [--osv-base-url URL]
 *   status [--json]
 *   export <file>      import <file>
 * Every subcommand takes --db DIR (default $BOSUN_DB_DIR, else ~/.cache/bosun/db).
 */
import { parseArgs } from 'node:util';
// The feed sources, their parsers and schemas load only for the subcommands that read feeds:
// `db status` needs the store alone (they were most of its time).
import type { SyncResult } from '../shared/feeds/sync.js';
import type { FeedSource } from '../shared/feeds/types.js';
import { EmbeddedAdvisoryStore } from '../shared/stores/embedded/advisory-store.js';
import { DB_USAGE } from './help.js';
import { defaultDbDir } from './options.js';
import { progress } from './progress.js';

function summary(r: SyncResult, ms: number): string {
  const time = `${(ms / 1000).toFixed(1)} s`;
  if (r.status === 'unchanged') return `${r.source}: unchanged (${time})`;
  return `${r.source}: ${r.status}${r.mode === undefined ? '' : ` (${r.mode})`}, ${r.position} read, ${r.written} written, ${r.unchanged} unchanged, ${r.invalid} issues, ${r.changes.length} package changes (${time})`;
}

async function runSync(
  store: EmbeddedAdvisoryStore,
  sources: readonly FeedSource[],
): Promise<number> {
  const { syncFeed } = await import('../shared/feeds/sync.js');
  let failed = 0;
  for (const source of sources) {
    const started = Date.now();
    const status = progress();
    try {
      const result = await syncFeed({
        source,
        store,
        onBatch: (p) => status.update(`${source.id}: ${p.position} read, ${p.written} written`),
      });
      status.done();
      console.log(summary(result, Date.now() - started));
      for (const issue of result.issues.slice(0, 5)) console.log(`  issue: ${issue.message}`);
      if (result.issues.length > 5) console.log(`  … and ${result.issues.length - 5} more issues`);
    } catch (error) {
      status.done();
      console.error(`${source.id}: failed: ${(error as Error).message}`);
      failed++;
    }
  }
  return failed === 0 ? 0 : 3;
}

export async function db(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      from: { type: 'string', multiple: true },
      ecosystem: { type: 'string', multiple: true },
      'osv-base-url': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const dir = values.db ?? defaultDbDir();
  const needsFile = sub === 'export' || sub === 'import';
  if (
    !['sync', 'status', 'export', 'import'].includes(sub ?? '') ||
    positionals.length !== (needsFile ? 1 : 0)
  ) {
    console.error(DB_USAGE);
    return 2;
  }
  const file = positionals[0] as string;
  if (sub === 'status') {
    const store = EmbeddedAdvisoryStore.open(dir, 'read');
    const stats = await store.stats();
    const { segments } = store.files();
    await store.close();
    const storage = {
      segments: segments.length,
      segmentBytes: segments.reduce((n, s) => n + s.bytes, 0),
    };
    if (values.json) console.log(JSON.stringify({ db: dir, ...stats, storage }, null, 2));
    else {
      console.log(
        `${dir}: ${stats.advisories} advisories (${stats.withdrawn} withdrawn), ${storage.segments} segments of ${(storage.segmentBytes / 1e6).toFixed(1)} MB`,
      );
      for (const s of stats.sources)
        console.log(
          `  ${s.source}: ${s.completedAt === undefined ? 'never completed' : `synced ${s.completedAt}, ${s.records ?? 0} entries read`}${s.cursor === undefined ? '' : `; unfinished at entry ${s.cursor.position}`}${s.issues?.length ? `; ${s.issues.length} issues` : ''}`,
        );
    }
    return 0;
  }
  if (sub === 'export') {
    const { exportAdvisories } = await import('../shared/feeds/export.js');
    const store = EmbeddedAdvisoryStore.open(dir, 'read');
    const count = await exportAdvisories(store, file);
    await store.close();
    console.log(`${count} advisories exported to ${file}`);
    return 0;
  }
  const store = EmbeddedAdvisoryStore.open(dir);
  try {
    if (sub === 'import') {
      const { ExportFileSource } = await import('../shared/feeds/export.js');
      return await runSync(store, [new ExportFileSource(file)]);
    }
    const [
      { DEFAULT_OSV_ECOSYSTEMS, DEFAULT_VENDOR_SOURCES },
      { osvSources, sourceFor, vendorSources },
    ] = await Promise.all([
      import('../shared/ecosystems.js'),
      import('../shared/feeds/registry.js'),
    ]);
    const opts = values['osv-base-url'] === undefined ? {} : { baseUrl: values['osv-base-url'] };
    // NVD's API key raises its rate limit tenfold; it is read from the environment, never a flag
    // (a flag would show in the process list and shell history).
    const apiKey = process.env.NVD_API_KEY;
    const vendor = {
      store,
      ...(apiKey === undefined || apiKey === '' ? {} : { nvdApiKey: apiKey }),
    };
    const sources =
      values.from !== undefined
        ? values.from.map((f) => sourceFor(f, { ...opts, ...vendor }))
        : values.ecosystem !== undefined
          ? osvSources(values.ecosystem, opts)
          : [
              ...osvSources(DEFAULT_OSV_ECOSYSTEMS, opts),
              // Reading OSV from a mirror means no public internet: no publisher's feed either.
              ...(opts.baseUrl === undefined ? vendorSources(DEFAULT_VENDOR_SOURCES, vendor) : []),
            ];
    return await runSync(store, sources);
  } finally {
    await store.close();
  }
}
