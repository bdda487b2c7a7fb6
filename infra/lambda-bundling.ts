/**
 * How every Bosun Lambda handler is bundled, in one place: by NodejsFunction when the stack is
 * synthesized from a checkout (infra/constructs/bosun-function.ts), and ahead of time when the
 * package is built (scripts/build-package.ts), so both deploy the same code.
 */
export const LAMBDA_BUNDLING = {
  target: 'node24',
  minify: true,
  sourceMap: true,
  // The map keeps the mappings (stack traces name the TypeScript file and line) but not the
  // sources themselves: with --enable-source-maps, Node reads and parses the whole map at
  // import, and the sources were two thirds of it (bench/cold-start.ts).
  sourcesContent: false,
  // ESM bundles of CommonJS dependencies need a `require`.
  banner:
    "import { createRequire as __bosunCreateRequire } from 'node:module';const require = __bosunCreateRequire(import.meta.url);",
  mainFields: ['module', 'main'],
  // Optional plugins of the CycloneDX library (XML output, schema validation) that Bosun does
  // not use: the library loads them only if present.
  externalModules: ['xmlbuilder2', 'libxmljs2', 'ajv', 'ajv-formats', 'ajv-formats-draft2019'],
} as const;

/** The handler folders under functions/, each with an index.ts exporting `handler`. */
export const HANDLER_DIRS = [
  'scan',
  'rescan',
  'feed-sync',
  'registry-webhook',
  'provenance',
  'trust-refresh',
  'backfill',
  'audit',
  'api',
] as const;
export type HandlerDir = (typeof HANDLER_DIRS)[number];
