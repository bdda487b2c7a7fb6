/**
 * The TUF roots Bosun ships, by mirror: @sigstore/tuf's `seeds.json` (the public-good
 * instance's root.json). Apart from the TUF client (tuf-client.ts) so that what only asks
 * "is a root shipped for this mirror?" (configuration, the construct's synth checks) does not
 * load the client.
 */
import seeds from '@sigstore/tuf/seeds.json' with { type: 'json' };

/** The public-good Sigstore instance's TUF repository. */
export const SIGSTORE_PUBLIC_GOOD_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';

/**
 * The TUF root.json that @sigstore/tuf ships for a mirror it knows (only the public-good one),
 * or undefined. It is where trust starts: every later root must be signed by a threshold of
 * the keys of the one before it (spec 5.3.4), so an old shipped root is walked forward, never
 * trusted blindly.
 */
export function shippedTufRoot(mirrorUrl: string): Uint8Array | undefined {
  const seed = (seeds as Record<string, { 'root.json'?: string } | undefined>)[
    mirrorUrl.replace(/\/+$/, '')
  ];
  const root = seed?.['root.json'];
  return root === undefined ? undefined : Buffer.from(root, 'base64');
}
