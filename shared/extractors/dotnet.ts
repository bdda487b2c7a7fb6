/**
 * NuGet packages of a .NET application, from the `<app>.deps.json` the SDK writes next to it:
 * `libraries` names every library (`"Azure.Core/1.47.1": { "type": "package" }`), and
 * `targets[runtimeTarget.name]` says which assets of each the host loads at run time.
 * https://github.com/dotnet/sdk/blob/main/documentation/specs/runtime-configuration-file.md
 *
 * A package is reported only when the host loads something of it (runtime, native or
 * runtime-specific assets). Build-time packages (analyzers, source link) and those the shared
 * framework supersedes (the SDK drops them from the target: `System.Text.Json/8.0.5` on .NET 9)
 * are listed but never loaded; reporting them is the best-known false positive of scanners
 * that read only `libraries`. Without a runtime target to tell, every package is reported.
 */
import { parseJsonFile } from './json.js';
import type { ExtractedPackage, ExtractIssue, Extractor, ExtractResult } from './types.js';

const ID = 'dotnet/deps';
const DEPS = /(?:^|\/)[^/]+\.deps\.json$/;

type Assets = Record<string, unknown> | undefined;
interface TargetEntry {
  readonly runtime?: Assets;
  readonly native?: Assets;
  readonly runtimeTargets?: Assets;
}

const nonEmpty = (a: Assets) => a !== undefined && a !== null && Object.keys(a).length > 0;

export const dotnetDeps: Extractor = {
  id: ID,
  version: 1,
  required: (path, size) => size < 32 * 1024 * 1024 && DEPS.test(path),
  extract(path: string, content: Buffer): ExtractResult {
    const parsed = parseJsonFile(ID, path, content);
    if ('issue' in parsed) return { packages: [], issues: [parsed.issue] };
    const deps = (parsed.value ?? {}) as {
      runtimeTarget?: { name?: unknown };
      targets?: Record<string, Record<string, TargetEntry> | undefined>;
      libraries?: unknown;
    };
    const issues: ExtractIssue[] = [];
    const issue = (message: string) =>
      issues.push({ extractor: ID, location: path, message: `${path}: ${message}` });
    if (typeof deps.libraries !== 'object' || deps.libraries === null) {
      issue('no libraries');
      return { packages: [], issues };
    }
    const targetName = deps.runtimeTarget?.name;
    const target = typeof targetName === 'string' ? deps.targets?.[targetName] : undefined;
    const packages: ExtractedPackage[] = [];
    for (const [key, library] of Object.entries(deps.libraries as Record<string, unknown>)) {
      if ((library as { type?: unknown } | null)?.type !== 'package') continue;
      const slash = key.lastIndexOf('/');
      if (slash <= 0 || slash === key.length - 1) {
        issue(`library "${key}" is not name/version; skipped`);
        continue;
      }
      if (target !== undefined) {
        const loaded = target[key];
        if (
          loaded === undefined ||
          !(nonEmpty(loaded.runtime) || nonEmpty(loaded.native) || nonEmpty(loaded.runtimeTargets))
        )
          continue;
      }
      packages.push({
        type: 'nuget',
        name: key.slice(0, slash),
        version: key.slice(slash + 1),
        location: path,
      });
    }
    return { packages, issues };
  },
};
