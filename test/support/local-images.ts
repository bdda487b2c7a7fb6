/**
 * For local-stack tests of OS families: an isolated deployment with the functions running in
 * this process, images of real files pushed to the local registry (an os-release, files such as
 * a content manifest, and an rpm database rpm writes at test time), and the messages the
 * findings topic delivers to the deployment's subscription, checked against the schema.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { type FunctionsHost, startFunctionsHost } from '../../scripts/local/functions-host.js';
import { createIsolatedDeployment, type IsolatedDeployment } from '../../scripts/local/isolated.js';
import { receiveNotifications } from '../../scripts/local/notifications.js';
import type { LocalStackState } from '../../scripts/local/stack.js';
import type { Notification } from '../../shared/notifications/message.js';
import { localClients } from './aws.js';
import { notificationErrors } from './notification-schema.js';
import { filesUnder, LayoutWriter, pushLayout, tarOf } from './oci.js';
import { type RpmNevra, rpmRoot } from './rpmdb.js';

export interface Received {
  readonly body: Notification;
  readonly attributes: Record<string, string>;
}

export class LocalFamilyStack {
  readonly received: Received[] = [];
  private readonly clients;
  private constructor(
    readonly state: LocalStackState,
    readonly deployment: IsolatedDeployment,
    private readonly host: FunctionsHost,
    private readonly work: string,
  ) {
    this.clients = localClients(state);
  }

  static async start(state: LocalStackState, name: string, work: string) {
    const deployment = await createIsolatedDeployment(state, name);
    const host = await startFunctionsHost(state, {
      log: () => undefined,
      env: {
        ...deployment.env,
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        BOSUN_WEBHOOK_REGISTRIES: registryHost(state),
      },
    });
    return new LocalFamilyStack(state, deployment, host, work);
  }

  async stop(): Promise<void> {
    await this.host.stop();
    this.clients.destroy();
  }

  /**
   * Pushes `repository:tag`: a base layer with `os-release`, `files` and an rpm database of
   * `packages`, and a second layer with `extra` (so each push is a new digest). Returns it.
   */
  async pushRpmImage(opts: {
    readonly repository: string;
    readonly tag: string;
    readonly osRelease: string;
    readonly packages: readonly RpmNevra[];
    readonly files?: readonly { readonly path: string; readonly from: string }[];
    readonly extra: string;
  }): Promise<string> {
    const root = path.join(this.work, `root-${opts.repository}-${opts.tag}`.replace(/\//g, '_'));
    mkdirSync(root, { recursive: true });
    rpmRoot(root, `${root}-rpm`, opts.packages);
    const base = await tarOf([
      { path: 'etc/', type: 'directory' },
      { path: 'etc/os-release', content: readFileSync(opts.osRelease) },
      ...(opts.files ?? []).map((f) => ({ path: f.path, content: readFileSync(f.from) })),
      ...filesUnder(path.join(root, 'var')).map((f) => ({ ...f, path: `var/${f.path}` })),
    ]);
    const dir = `${root}-layout`;
    const w = new LayoutWriter(dir);
    w.finish(
      w.image({
        architecture: 'amd64',
        layers: [base, await tarOf([{ path: 'etc/motd', content: opts.extra }])],
      }),
      'latest',
    );
    const host = registryHost(this.state);
    pushLayout(dir, 'latest', `${host}/${opts.repository}:${opts.tag}`, { format: 'oci' });
    const head = await fetch(`http://${host}/v2/${opts.repository}/manifests/${opts.tag}`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    return head.headers.get('docker-content-digest') as string;
  }

  /** Receives what the subscription holds now, each message checked against the schema. */
  async poll(): Promise<void> {
    for (const r of await receiveNotifications(this.clients.sqs, this.deployment.subscription)) {
      expect(notificationErrors(r.message)).toEqual([]);
      this.received.push({ body: r.body, attributes: r.attributes });
    }
  }

  /** The first message of a type about a digest, waiting up to a minute for it. */
  async eventOf(eventType: Notification['eventType'], digest: string): Promise<Received> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const found = this.of(eventType, digest)[0];
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no ${eventType} for ${digest}`);
      await this.poll();
    }
  }

  /** The messages of a type about a digest received so far. */
  of(eventType: Notification['eventType'], digest: string): Received[] {
    return this.received.filter(
      (r) => r.body.eventType === eventType && r.body.image.digest === digest,
    );
  }
}

export const registryHost = (state: LocalStackState) => `127.0.0.1:${state.services.registry.port}`;
