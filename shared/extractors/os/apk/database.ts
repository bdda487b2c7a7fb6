/**
 * apk's installed database, `lib/apk/db/installed`: one block per package, blank-line
 * separated, one `X:value` field a line (P name, V version, A arch, o origin, L license,
 * F directory, R file in it). https://wiki.alpinelinux.org/wiki/Apk_spec#Installed_Database_V2
 * A block without a name or version is an issue; the other blocks are still read.
 */
export interface ApkPackage {
  readonly name: string;
  readonly version: string;
  readonly arch?: string;
  readonly origin?: string;
  readonly license?: string;
  readonly files: string[];
}

export interface ApkIssue {
  readonly line: number;
  readonly message: string;
}

export function parseApkInstalled(text: string): { packages: ApkPackage[]; issues: ApkIssue[] } {
  const packages: ApkPackage[] = [];
  const issues: ApkIssue[] = [];
  let fields: Record<string, string> = {};
  let files: string[] = [];
  let dir = '';
  let start = 1;
  const flush = (line: number) => {
    if (Object.keys(fields).length > 0 || files.length > 0) {
      const { P: name, V: version } = fields;
      if (name === undefined || version === undefined || name === '' || version === '') {
        issues.push({
          line: start,
          message: `package block at line ${start} has no ${name ? 'V: version' : 'P: name'}; skipped`,
        });
      } else {
        packages.push({
          name,
          version,
          ...(fields.A === undefined ? {} : { arch: fields.A }),
          ...(fields.o === undefined ? {} : { origin: fields.o }),
          ...(fields.L === undefined ? {} : { license: fields.L }),
          files,
        });
      }
    }
    fields = {};
    files = [];
    dir = '';
    start = line + 1;
  };
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '');
    if (line === '') {
      flush(i + 1);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon !== 1) {
      issues.push({
        line: i + 1,
        message: `line ${i + 1}: not a "X:value" field: ${JSON.stringify(line.slice(0, 60))}`,
      });
      continue;
    }
    const key = line[0] as string;
    const value = line.slice(2);
    if (key === 'F') dir = value;
    else if (key === 'R') files.push(dir === '' ? value : `${dir}/${value}`);
    else fields[key] ??= value;
  }
  flush(lines.length);
  return { packages, issues };
}
