/**
 * The extractor seam (see ../../docs and ../shared/STYLE.md): an extractor names the files it
 * needs with a cheap `required(path, size)`; the layer walker reads only those; `extract` turns
 * one file's content into packages and recoverable issues. Its `id@version` is part of the
 * per-layer cache key, so bumping `version` re-extracts only what that extractor reads.
 */
import type { FileParts } from '../layers/file-parts.js';

export interface ExtractedPackage {
  /** The PURL type: `deb`, `apk`, `rpm`, `npm`, `pypi`, ... */
  readonly type: string;
  readonly name: string;
  readonly version: string;
  readonly arch?: string;
  /** The OS source package and its version, where the format records them. */
  readonly sourceName?: string;
  readonly sourceVersion?: string;
  readonly licenses?: readonly string[];
  /** Files the package owns, image-root relative. */
  readonly files?: readonly string[];
  /** The file the package was found in. */
  readonly location: string;
  /**
   * Named by a lockfile, not found installed: a declaration, which an image's installed tree
   * overrides (the inventory drops it where the lockfile's project has one).
   */
  readonly declared?: true;
  /** A development dependency in a lockfile: not installed by a production install. */
  readonly dev?: true;
  /**
   * The packed symbol table of the binary the package was found in (Go: the pclntab's
   * functions, binary/go/symbols.ts), on one package per binary: what reachability reads.
   */
  readonly symbols?: string;
}

export interface ExtractIssue {
  readonly extractor: string;
  readonly location: string;
  readonly message: string;
}

export interface ExtractResult {
  readonly packages: ExtractedPackage[];
  readonly issues: ExtractIssue[];
  /** Files that an OS package owns, from databases that list them apart (dpkg's info/*.list). */
  readonly owners?: readonly { readonly owner: string; readonly files: readonly string[] }[];
}

/**
 * What the whole image may still spend, shared by every extractor call of one inventory
 * (shared/layers/budget.ts): an archive bomb is bounded across all the archives of an image,
 * not per file.
 */
export interface ExtractBudget {
  /**
   * Claims `bytes` of inflation (an archive entry about to be read): false when the image's
   * budget is spent, after which the caller reads no more and records why.
   */
  inflate(bytes: number): boolean;
}

export interface ExtractContext {
  readonly budget?: ExtractBudget;
}

export interface Extractor {
  /**
   * Stable id equal to its module path under shared/extractors, without the extension:
   * `os/dpkg/status`, `language/npm/installed`, `binary/go/buildinfo` (osv-scalibr names an
   * extractor by its folder the same way).
   */
  readonly id: string;
  /** An OS package database: a database that was not read makes the inventory incomplete. */
  readonly osDatabase?: boolean;
  /** Bumped whenever its output for the same input changes. */
  readonly version: number;
  /**
   * The package `type` values it reports: an OS family's `packageType` or a key of
   * `LANGUAGE_ECOSYSTEMS` (shared/ecosystems.ts), so a type no table knows cannot slip in
   * unmatched. [] for an extractor that reports only file ownership.
   */
  readonly packageTypes: readonly string[];
  /** A cheap check on the path, size and mode only: it sees every file of every layer. */
  required(path: string, size: number, mode?: number): boolean;
  /**
   * May throw on input it cannot handle: the inventory turns that into an issue naming the file
   * and the extractor, and goes on (a bad file never ends a scan).
   */
  extract(
    path: string,
    content: Buffer,
    context?: ExtractContext,
  ): ExtractResult | Promise<ExtractResult>;
  /**
   * Set for extractors of files that are many and large (executables): their files are read as
   * they stream and dropped once extracted, rather than kept for the inventory.
   */
  readonly streamed?: boolean;
  /** For a streamed extractor: whether the first bytes (a format's magic) are worth reading on. */
  head?(first: Buffer): boolean;
  /**
   * For a streamed extractor: whether the file, seen by ranges before it is copied into one
   * buffer, may hold anything for it; undefined when what has arrived cannot tell yet (it is
   * asked again with the whole file). Must say yes whenever `extract` could find a package or
   * an issue in the file (when unsure, yes).
   */
  needs?(file: FileParts): boolean | undefined;
}
