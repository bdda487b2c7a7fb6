/**
 * Images and advisories for the pipeline's tests, built at test time from real files: trivy's
 * derived Alpine 3.10 and 3.11 (os-release and apk database) as base layers, and osv-scanner's
 * real npm package-lock.json (concat-stream 1.5.0 among its 106 packages) as an application
 * layer; the Node.js security WG's npm advisories, in which NSWG-ECO-392 names concat-stream
 * below 1.5.2.
 */
import { readFileSync } from 'node:fs';
import { DEMO_LOCKFILE, NPM_ADVISORIES } from '../../scripts/demo-data.js';
import type { CveFacts } from '../../shared/advisories/cve-facts.js';
import { loadAdvisories } from '../../shared/advisories/load.js';
import type { OsvRecord } from '../../shared/advisories/osv.js';
import type { AdvisoryQuery, Candidate } from '../../shared/matcher/types.js';
import type {
  Notification,
  Notifier,
  OutgoingMessage,
} from '../../shared/notifications/message.js';
import { notificationErrors } from './notification-schema.js';
import { type Descriptor, derivedFiles, LayoutWriter, tarOf } from './oci.js';

/** The advisory that names a package of the demo lockfile at its installed version. */
export { DEMO_ADVISORY as CONCAT_STREAM_ADVISORY } from '../../scripts/demo-data.js';

export type TestImageKind = 'app-310' | 'app-311' | 'base-310';

/** Writes one image into an OCI layout folder under `ref` and returns its manifest. */
/**
 * Writes a corrupt image into an OCI layout folder under `ref`: its one layer blob, stored
 * under its own digest, is not a tar stream in any compression. Returns its manifest.
 */
export function writeCorruptImage(dir: string, ref = 'latest'): Descriptor {
  const layout = new LayoutWriter(dir);
  const garbage = layout.blob(
    Buffer.from('\x1f\x8b\x08 this is not gzip'),
    'application/vnd.oci.image.layer.v1.tar+gzip',
  );
  const config = layout.jsonBlob(
    { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [garbage.digest] } },
    'application/vnd.oci.image.config.v1+json',
  );
  const manifest = layout.manifest(config, [garbage]);
  layout.finish(manifest, ref);
  return manifest;
}

export async function writeTestImage(
  dir: string,
  kind: TestImageKind,
  ref = 'latest',
): Promise<Descriptor> {
  const layout = new LayoutWriter(dir);
  const base = await tarOf(derivedFiles(kind.endsWith('311') ? 'alpine-311' : 'alpine-310'));
  const layers = [base];
  if (kind.startsWith('app'))
    layers.push(
      await tarOf([
        { path: 'srv/', type: 'directory' },
        { path: 'srv/app/', type: 'directory' },
        {
          path: 'srv/app/package-lock.json',
          content: readFileSync(DEMO_LOCKFILE),
        },
      ]),
    );
  const manifest = layout.image({ architecture: 'amd64', layers });
  layout.finish(manifest, ref);
  return manifest;
}

/** The npm advisories as OSV records (through Bosun's importer). */
export function npmAdvisories(): OsvRecord[] {
  return loadAdvisories(NPM_ADVISORIES).records;
}

/** An advisory query over a set of records that a test can change between runs. */
export class MutableAdvisories implements AdvisoryQuery {
  private records = new Map<string, OsvRecord>();
  constructor(records: readonly OsvRecord[]) {
    for (const r of records) this.records.set(r.id, r);
  }
  remove(id: string): OsvRecord {
    const r = this.records.get(id);
    if (r === undefined) throw new Error(`${id} is not loaded`);
    this.records.delete(id);
    return r;
  }
  put(record: OsvRecord): void {
    this.records.set(record.id, record);
  }
  async candidates(ecosystem: string, name: string): Promise<readonly Candidate[]> {
    const out: Candidate[] = [];
    for (const record of this.records.values())
      for (const affected of record.affected ?? [])
        if (affected.package?.ecosystem === ecosystem && affected.package.name === name)
          out.push({ record, affected });
    return out;
  }
  async hasEcosystem(ecosystem: string): Promise<boolean> {
    for (const record of this.records.values())
      if (record.affected?.some((a) => a.package?.ecosystem === ecosystem)) return true;
    return false;
  }
  /** What the CVE feeds say, set by a test (none by default). */
  readonly facts = new Map<string, CveFacts>();
  async hasCveFacts(kind: keyof CveFacts): Promise<boolean> {
    return [...this.facts.values()].some((f) => f[kind] !== undefined);
  }
  async cveFacts(cves: readonly string[]): Promise<Map<string, CveFacts>> {
    return new Map(
      cves.flatMap((c) => (this.facts.has(c) ? [[c, this.facts.get(c) as CveFacts]] : [])),
    );
  }
}

/**
 * Keeps what is published, in order, each checked against docs/notification.schema.json; can be
 * told to fail the next publishes.
 */
export class RecordingNotifier implements Notifier {
  readonly sent: OutgoingMessage[] = [];
  failNext = 0;
  async publish(message: OutgoingMessage): Promise<string> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('SNS unavailable (test)');
    }
    const errors = notificationErrors(message.body);
    if (errors.length > 0) throw new Error(`invalid notification: ${errors.join('; ')}`);
    this.sent.push(message);
    return `msg-${this.sent.length}`;
  }
  bodies(): Notification[] {
    return this.sent.map((m) => JSON.parse(m.body) as Notification);
  }
  of(eventType: string, digest?: string): Notification[] {
    return this.bodies().filter(
      (b) => b.eventType === eventType && (digest === undefined || b.image.digest === digest),
    );
  }
}
