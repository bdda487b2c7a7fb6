/**
 * VEX (Vulnerability Exploitability eXchange) statements, read from OpenVEX 0.2 or CycloneDX
 * VEX documents into one form: a vulnerability, the products it is about, a status and why.
 * The statuses are VEX's minimum set (CISA, "Minimum Requirements for VEX", April 2023), which
 * OpenVEX names directly and CycloneDX's `analysis.state` maps onto.
 */
import { BosunError } from '../errors.js';

export const VEX_STATUSES = ['not_affected', 'affected', 'fixed', 'under_investigation'] as const;
export type VexStatus = (typeof VEX_STATUSES)[number];

/**
 * What a statement is about. `ids` are the product's identifiers (purls, `@id` IRIs, CycloneDX
 * refs resolved to purls); `sha256` its hashes (an image digest's hex); `subcomponents` the
 * purls inside it the statement is really about (OpenVEX `subcomponents`).
 */
export interface VexProduct {
  readonly ids: readonly string[];
  readonly sha256: readonly string[];
  readonly subcomponents: readonly string[];
}

export interface VexStatement {
  /** The vulnerability's main name (`CVE-2023-12345`) and its aliases. */
  readonly vulnerability: string;
  readonly aliases: readonly string[];
  readonly products: readonly VexProduct[];
  readonly status: VexStatus;
  /** The machine-readable reason for `not_affected`, as the document's format names it. */
  readonly justification?: string;
  /** Free text: why not affected (impact), or what to do (action), or the CycloneDX detail. */
  readonly impact?: string;
  readonly action?: string;
  /** When the statement was known true (ISO 8601): the latest statement on a subject wins. */
  readonly timestamp: string;
  /** The document it came from (`@id`, or CycloneDX's serial number), for the finding's reason. */
  readonly document?: string;
}

export type VexFormat = 'openvex' | 'cyclonedx';

export interface VexDocument {
  readonly format: VexFormat;
  readonly id?: string;
  readonly author?: string;
  readonly statements: readonly VexStatement[];
}

/** A document that is not valid OpenVEX 0.2 or CycloneDX VEX; the message names what is wrong. */
export class InvalidVexError extends BosunError {
  readonly fatal = false;
  constructor(
    readonly problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(`invalid VEX document: ${problems.slice(0, 5).join('; ')}`, options);
  }
}
