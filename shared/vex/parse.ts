/**
 * One entry point for a VEX document of either format, told apart by their own markers: an
 * OpenVEX `@context` under https://openvex.dev/ns/, or CycloneDX's `bomFormat`.
 */
import { parseCycloneDxVex } from './cyclonedx.js';
import { parseOpenVex } from './openvex.js';
import { InvalidVexError, type VexDocument } from './types.js';

export interface ParsedVex extends VexDocument {
  /** Parts of the document left out, and why (a CycloneDX version range, an unknown ref). */
  readonly issues: readonly string[];
}

/** Reads a VEX document from its JSON text; throws InvalidVexError for anything else. */
export function parseVex(text: string): ParsedVex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new InvalidVexError(['not JSON'], { cause });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new InvalidVexError(['not a JSON object']);
  const record = json as Record<string, unknown>;
  const context = record['@context'];
  if (typeof context === 'string' && context.startsWith('https://openvex.dev/ns/'))
    return { ...parseOpenVex(json), issues: [] };
  if (record.bomFormat === 'CycloneDX') return parseCycloneDxVex(json);
  throw new InvalidVexError([
    'neither an OpenVEX document (@context https://openvex.dev/ns/v0.2.0) nor a CycloneDX BOM',
  ]);
}
