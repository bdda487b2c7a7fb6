/**
 * The package's construct library: what a CDK app imports from `bosun` (package.json
 * `exports`). `ImageScanner` is the service; `BosunStack` deploys one with the outputs an
 * operator needs.
 */
export { BosunStack, type BosunStackProps } from './bosun-stack.js';
export type { AuditProps } from './constructs/audit.js';
export type { BackfillProps } from './constructs/backfill.js';
export { ImageScanner, type ImageScannerProps } from './constructs/image-scanner.js';
export type { ProvenanceProps, S3ObjectLocation } from './constructs/provenance.js';
