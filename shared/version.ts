/**
 * Bosun's release, read from package.json at build time (bundlers inline the JSON), so the
 * CLI, the Lambda functions and the analyzer version all name the one release.
 */
import pkg from '../package.json' with { type: 'json' };

export const BOSUN_VERSION: string = pkg.version;
