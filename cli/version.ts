/**
 * `bosun --version`: the release and the analyzer version (release and extractor set,
 * shared/pipeline/scan/run.ts). The packaged CLI has both fixed when it is built
 * (scripts/build-package.ts defines __BOSUN_BUILD__), so it answers without loading every
 * extractor; from a checkout the analyzer version is computed as the scanner computes it.
 */
declare const __BOSUN_BUILD__: { readonly version: string; readonly analyzer: string } | undefined;

export async function versionLine(): Promise<string> {
  const build =
    typeof __BOSUN_BUILD__ === 'undefined'
      ? {
          version: (await import('../shared/version.js')).BOSUN_VERSION,
          analyzer: (await import('../shared/pipeline/scan/run.js')).ANALYZER_VERSION,
        }
      : __BOSUN_BUILD__;
  return `bosun ${build.version} (analyzer ${build.analyzer})`;
}
