/**
 * The effective default user of an image: the config's `User` resolved through the image's own
 * final `/etc/passwd`, as the runtime resolves it (runc's libcontainer/user: a name is looked up
 * in passwd, the first matching line wins; a number is a uid, in passwd or not; `user:group`
 * with either part a name or a number). Dockle's CIS-DI-0001 only asks `User == "" || User ==
 * "root"` (goodwithtech/dockle pkg/assessor/user): `USER 0`, `0:0` and a second name with uid 0
 * (`useradd -o -u 0`) pass it. Here they do not.
 */

export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** passwd(5) lines: `name:password:uid:gid:gecos:home:shell`; malformed lines are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || f[0] === '' || line.startsWith('#')) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid) || f[2] === '') continue;
    out.push({ name: f[0] as string, uid, gid });
  }
  return out;
}

export type EffectiveUser =
  | { readonly kind: 'root'; readonly why: string }
  | { readonly kind: 'user'; readonly uid: number; readonly why: string }
  | { readonly kind: 'unresolved'; readonly why: string };

const NUMBER = /^\d+$/;

/**
 * Who the image runs as by default. `passwd` is the final filesystem's `/etc/passwd`, or
 * undefined when the image has none.
 */
export function effectiveUser(user: string | undefined, passwd: string | undefined): EffectiveUser {
  const raw = (user ?? '').trim();
  if (raw === '')
    return { kind: 'root', why: 'no USER is set: the runtime default is root (uid 0)' };
  const name = raw.split(':')[0] as string;
  if (name === '') return { kind: 'root', why: `USER ${JSON.stringify(raw)} names no user: root` };
  if (NUMBER.test(name)) {
    const uid = Number(name);
    return uid === 0
      ? { kind: 'root', why: `USER ${JSON.stringify(raw)} is uid 0` }
      : { kind: 'user', uid, why: `USER ${JSON.stringify(raw)} is uid ${uid}` };
  }
  if (passwd === undefined)
    return {
      kind: 'unresolved',
      why: `USER ${JSON.stringify(raw)} names ${JSON.stringify(name)} but the image has no /etc/passwd: the container cannot start`,
    };
  const entry = parsePasswd(passwd).find((e) => e.name === name);
  if (entry === undefined)
    return {
      kind: 'unresolved',
      why: `USER ${JSON.stringify(raw)}: ${JSON.stringify(name)} is not in the image's /etc/passwd: the container cannot start`,
    };
  return entry.uid === 0
    ? {
        kind: 'root',
        why: `USER ${JSON.stringify(raw)}: ${JSON.stringify(name)} has uid 0 in the image's /etc/passwd`,
      }
    : {
        kind: 'user',
        uid: entry.uid,
        why: `USER ${JSON.stringify(raw)}: ${JSON.stringify(name)} has uid ${entry.uid}`,
      };
}
