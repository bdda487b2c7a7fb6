/**
 * The registry client of the image commands (scan, sbom, inspect, verify), set up from their
 * registry flags.
 */
import { RegistryClient } from '../shared/registry/client.js';
import { cliCredentials } from '../shared/registry/docker-config.js';
import { AllowedHostSyntaxError, parseAllowedHosts } from '../shared/registry/hosts.js';
import { parseReference } from '../shared/registry/reference.js';
import { UsageError } from './options.js';

/**
 * The registry client of a reference, created only when the source is a registry: credentials
 * as Docker finds them (shared/registry/docker-config.ts), plain HTTP for loopback and the
 * --insecure-registry hosts only.
 */
export function registryClient(
  input: string,
  values: { readonly 'insecure-registry'?: string[]; readonly 'allow-host'?: string[] },
): () => RegistryClient {
  let allowedHosts: Record<string, string[]>;
  try {
    allowedHosts = parseAllowedHosts(values['allow-host'] ?? []);
  } catch (error) {
    if (error instanceof AllowedHostSyntaxError) throw new UsageError(error.message);
    throw error;
  }
  return () => {
    const reference = input.startsWith('docker://') ? input.slice('docker://'.length) : input;
    return new RegistryClient({
      credentials: cliCredentials({ registry: parseReference(reference).registry }),
      insecureRegistries: values['insecure-registry'] ?? [],
      allowedHosts,
    });
  };
}
