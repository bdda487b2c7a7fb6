/**
 * NuGet packages of a real .NET application: AutoRest's C# generator as its npm package ships
 * it (fetched by `npm run setup`), its deps.json beside the assemblies the host loads. The
 * assemblies on disk are the ground truth: a package is reported exactly when its runtime
 * assets were deployed.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dotnetDeps } from '../../../../../shared/extractors/language/dotnet/deps.js';
import { RootfsDirSource } from '../../../../../shared/image/rootfs-dir.js';
import type { Image } from '../../../../../shared/image/types.js';
import { buildInventory } from '../../../../../shared/inventory/inventory.js';
import { setupFile } from '../../../../support/fixtures.js';

const APP = () => path.dirname(setupFile(`dotnet/autorest-csharp/${DEPS}`));
const DEPS = 'AutoRest.CSharp.deps.json';
const work = mkdtempSync(path.join(tmpdir(), 'bosun-dotnet-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface DepsJson {
  runtimeTarget: { name: string };
  targets: Record<string, Record<string, Record<string, Record<string, unknown> | undefined>>>;
  libraries: Record<string, { type: string }>;
}

function deps(): { content: Buffer; json: DepsJson } {
  const content = readFileSync(path.join(APP(), DEPS));
  return { content, json: JSON.parse(content.toString('utf8')) as DepsJson };
}

describe('language/dotnet/deps', () => {
  it('reports exactly the packages whose assemblies the application deployed', async () => {
    const { content, json } = deps();
    const at = `app/${DEPS}`;
    expect(dotnetDeps.required(at, content.length)).toBe(true);
    const result = await dotnetDeps.extract(at, content);
    expect(result.issues).toEqual([]);
    const target = json.targets[json.runtimeTarget.name] ?? {};
    const reported = new Set(result.packages.map((p) => `${p.name}/${p.version}`));
    // Every asset of a reported package is a file of the application...
    const assets = [...reported].flatMap((key) =>
      ['runtime', 'native', 'runtimeTargets'].flatMap((kind) =>
        Object.keys(target[key]?.[kind] ?? {}).map((asset) =>
          kind === 'runtimeTargets' ? asset : path.basename(asset),
        ),
      ),
    );
    for (const asset of assets) expect(existsSync(path.join(APP(), asset)), asset).toBe(true);
    // ...and every assembly at its top is the application's own or a reported package's.
    const project = Object.keys(json.libraries).find((k) => json.libraries[k]?.type === 'project');
    const own = Object.keys(target[project ?? '']?.runtime ?? {});
    expect(own).toEqual(['AutoRest.CSharp.dll']);
    const deployed = readdirSync(APP()).filter((f) => f.endsWith('.dll'));
    expect(deployed.filter((dll) => !assets.includes(dll) && !own.includes(dll))).toEqual([]);
    // Packages listed but not loaded: build-time analyzers, and those the framework supersedes.
    expect(reported.has('Azure.Core/1.47.1')).toBe(true);
    expect(reported.has('StyleCop.Analyzers/1.2.0-beta.354')).toBe(false);
    expect(reported.has('System.Text.Json/8.0.5')).toBe(false);
    expect(json.libraries['System.Text.Json/8.0.5']?.type).toBe('package');
    expect(existsSync(path.join(APP(), 'System.Text.Json.dll'))).toBe(false);
    // The application itself (a project, not a package) is not a NuGet package.
    expect([...reported].some((k) => k.startsWith('AutoRest.CSharp/'))).toBe(false);
    expect(result.packages.every((p) => p.type === 'nuget' && p.location === at)).toBe(true);
  });

  it('reports every package when there is no runtime target to tell which are loaded', async () => {
    const { json } = deps();
    const { runtimeTarget: _, ...withoutTarget } = json;
    const result = await dotnetDeps.extract(DEPS, Buffer.from(JSON.stringify(withoutTarget)));
    expect(result.packages.length).toBe(
      Object.values(json.libraries).filter((l) => l.type === 'package').length,
    );
  });

  it('records a broken file or library and keeps the rest', async () => {
    const notJson = await dotnetDeps.extract(DEPS, Buffer.from('{"libraries":'));
    expect(notJson.issues[0]?.message).toMatch(/^AutoRest\.CSharp\.deps\.json: not JSON/);
    const none = await dotnetDeps.extract(DEPS, Buffer.from('null'));
    expect(none.issues[0]?.message).toBe(`${DEPS}: no libraries`);
    const broken = await dotnetDeps.extract(
      DEPS,
      Buffer.from(
        JSON.stringify({
          libraries: {
            'NoVersion/': { type: 'package' },
            'Azure.Core/1.47.1': { type: 'package' },
          },
        }),
      ),
    );
    expect(broken.packages.map((p) => p.name)).toEqual(['Azure.Core']);
    expect(broken.issues.map((i) => i.message)).toEqual([
      `${DEPS}: library "NoVersion/" is not name/version; skipped`,
    ]);
    // Hostile shapes: a null target, a null target entry, a target named after a property
    // every object has. None throws; a missing target reports every package.
    const libraries = { 'Azure.Core/1.47.1': { type: 'package' }, 'x/1': null };
    const shapes = [
      { runtimeTarget: { name: 'net' }, targets: { net: null }, libraries },
      {
        runtimeTarget: { name: 'net' },
        targets: { net: { 'Azure.Core/1.47.1': null } },
        libraries,
      },
      { runtimeTarget: { name: '__proto__' }, targets: {}, libraries },
      { runtimeTarget: 'net', targets: [], libraries: [] },
    ];
    const results = await Promise.all(
      shapes.map((shape) => dotnetDeps.extract(DEPS, Buffer.from(JSON.stringify(shape)))),
    );
    expect(results.map((r) => r.packages.map((p) => p.name))).toEqual([
      ['Azure.Core'],
      [],
      ['Azure.Core'],
      [],
    ]);
    expect(results[0]?.issues[0]?.message).toBe(
      `${DEPS}: no target "net" to tell which packages are loaded; all are reported`,
    );
  });

  it('puts the packages in an image inventory with NuGet PURLs', async () => {
    const root = path.join(work, 'rootfs');
    cpSync(APP(), path.join(root, 'opt/autorest'), { recursive: true });
    const inventory = await buildInventory(
      (await new RootfsDirSource(root).images()).images[0] as Image,
    );
    const azureCore = inventory.packages.find((p) => p.name === 'Azure.Core');
    expect(azureCore).toMatchObject({
      type: 'nuget',
      purl: 'pkg:nuget/Azure.Core@1.47.1',
      ecosystem: 'NuGet',
      location: `opt/autorest/${DEPS}`,
    });
  });
});
