/**
 * A package as the inventory stores it and the matcher looks it up: defined here, below the
 * matcher, so the inventory never imports upward.
 */

/** What the matcher needs of an inventoried package. */
export interface InventoryPackage {
  readonly name: string;
  readonly version: string;
  /** OSV ecosystem, with the distro release for OS packages: `Alpine:v3.10`, `Debian:12`, `PyPI`. */
  readonly ecosystem: string;
  /**
   * Further advisory ecosystems that may name the package (Red Hat publishes per repository);
   * `ecosystem` alone keys it (findings, reverse index by primary key).
   */
  readonly extraEcosystems?: readonly string[];
  /** The OS source package (dpkg `Source:`, apk origin, source RPM), which distro advisories name. */
  readonly sourceName?: string;
  readonly sourceVersion?: string;
  readonly purl?: string;
  readonly location?: string;
  readonly layer?: string;
  /** Set on a language package whose files belong to this OS package. */
  readonly osOwnedBy?: string;
  /** The packed symbol table of the binary at `location` (matcher/reachability.ts reads it). */
  readonly symbols?: string;
}
