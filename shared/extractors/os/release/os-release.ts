/**
 * os-release(5): KEY=value lines, values optionally quoted.
 * https://www.freedesktop.org/software/systemd/man/latest/os-release.html
 */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m === null) continue;
    let value = (m[2] ?? '').trim();
    if (
      (value.startsWith('"') && value.endsWith('"')) ||
      (value.startsWith("'") && value.endsWith("'"))
    ) {
      value = value.slice(1, -1).replace(/\\(["'\\$`])/g, '$1');
    }
    out[m[1] as string] = value;
  }
  return out;
}

/** The OSV ecosystem of an Alpine release: VERSION_ID 3.10.4 → `Alpine:v3.10`. */
export function alpineEcosystem(osRelease: Record<string, string>): string | undefined {
  if (osRelease.ID !== 'alpine') return undefined;
  const m = /^(\d+)\.(\d+)/.exec(osRelease.VERSION_ID ?? '');
  return m === null ? undefined : `Alpine:v${m[1]}.${m[2]}`;
}
