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
import { isObject, own, parseJsonFile } from '../../json.js';
import type { ExtractedPackage, ExtractIssue, Extractor, ExtractResult } from '../../types.js';

const ID = 'language/dotnet/deps';
const DEPS = /(?:^|\/)[^/]+\.deps\.json$/;

/** Whether the host loads anything of a library: runtime, native or runtime-specific assets. */
function loaded(entry: unknown): boolean {
  if (!isObject(entry)) return false;
  return ['runtime', 'native', 'runtimeTargets'].some((kind) => {
    const assets = own(entry, kind);
    return isObject(assets) && Object.keys(assets).length > 0;
  });
}

export const dotnetDeps: Extractor = {
  id: ID,
  version: 1,
  packageTypes: ['nuget'],
  required: (path, size) => size < 32 * 1024 * 1024 && DEPS.test(path),
  extract(path: string, content: Buffer): ExtractResult {
    const parsed = parseJsonFile(ID, path, content);
    if ('issue' in parsed) return { packages: [], issues: [parsed.issue] };
    const deps = isObject(parsed.value) ? parsed.value : {};
    const issues: ExtractIssue[] = [];
    const issue = (message: string) =>
      issues.push({ extractor: ID, location: path, message: `${path}: ${message}` });
    const libraries = own(deps, 'libraries');
    if (!isObject(libraries)) {
      issue('no libraries');
      return { packages: [], issues };
    }
    const runtimeTarget = own(deps, 'runtimeTarget');
    const targetName = isObject(runtimeTarget) ? own(runtimeTarget, 'name') : undefined;
    const targets = own(deps, 'targets');
    const target =
      typeof targetName === 'string' && isObject(targets) ? own(targets, targetName) : undefined;
    if (typeof targetName === 'string' && !isObject(target))
      issue(`no target "${targetName}" to tell which packages are loaded; all are reported`);
    const packages: ExtractedPackage[] = [];
    for (const [key, library] of Object.entries(libraries)) {
      if (!isObject(library) || library.type !== 'package') continue;
      const slash = key.lastIndexOf('/');
      if (slash <= 0 || slash === key.length - 1) {
        issue(`library "${key}" is not name/version; skipped`);
        continue;
      }
      if (isObject(target) && !loaded(own(target, key))) continue;
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
