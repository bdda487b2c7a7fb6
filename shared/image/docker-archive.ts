/**
 * `docker save` archives: `manifest.json` lists, per image, its config file, tags and layer
 * files. Docker 25+ writes an OCI layout in the same archive, with layers under
 * `blobs/sha256/`; older versions write `<id>/layer.tar`.
 * https://github.com/moby/moby/blob/master/image/spec/v1.2.md
 */
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import * as z from 'zod';
import { VerifyingStream, verifyBytes } from '../registry/digest.js';
import { ManifestError } from '../registry/errors.js';
import { CONFIG_MAX_BYTES, MANIFEST_MAX_BYTES, parseImageConfig } from '../registry/manifest.js';
import { describeIssues } from '../zod-issues.js';
import { openTarArchive, type TarArchive } from './tar-archive.js';
import {
  type Image,
  type ImageSet,
  type ImageSource,
  platformMatches,
  platformString,
  type SelectOptions,
} from './types.js';

const manifestJson = z
  .array(
    z.object({
      Config: z.string().min(1),
      RepoTags: z.array(z.string()).nullish(),
      Layers: z.array(z.string().min(1)).max(1000),
    }),
  )
  .min(1);

const BLOB = /^blobs\/(sha256)\/([a-f0-9]{64})$/;

function blobDigest(file: string): string | undefined {
  const m = BLOB.exec(file);
  return m === null ? undefined : `${m[1]}:${m[2]}`;
}

export class DockerArchiveSource implements ImageSource {
  /** `opened`: the archive already opened (a path told apart by content), not read again. */
  constructor(
    private readonly file: string,
    private readonly opened?: TarArchive,
  ) {}

  async images(options: SelectOptions = {}): Promise<ImageSet> {
    const name = `docker-archive:${path.resolve(this.file)}`;
    const archive = this.opened ?? (await openTarArchive(path.resolve(this.file), name));
    let entries: z.infer<typeof manifestJson>;
    try {
      const parsed = manifestJson.safeParse(
        JSON.parse((await archive.read('manifest.json', MANIFEST_MAX_BYTES)).toString('utf8')),
      );
      if (!parsed.success)
        throw new ManifestError(
          `${name}: invalid manifest.json: ${describeIssues(parsed.error).join('; ')}`,
        );
      entries = parsed.data;
    } catch (error) {
      if (error instanceof ManifestError) throw error;
      throw new ManifestError(
        `${name}: manifest.json is missing or not JSON: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const set: ImageSet = { images: [], skipped: [] };
    for (const entry of entries) {
      const image = await this.image(archive, name, entry);
      if (platformMatches(image.platform, options.platforms)) set.images.push(image);
      else
        set.skipped.push({
          reason: `platform ${platformString(image.platform)} not selected`,
          platform: platformString(image.platform),
        });
    }
    return set;
  }

  private async image(
    archive: TarArchive,
    name: string,
    entry: z.infer<typeof manifestJson>[number],
  ): Promise<Image> {
    const configBytes = await archive.read(entry.Config, CONFIG_MAX_BYTES);
    const configDigest =
      blobDigest(entry.Config) ??
      (/^([a-f0-9]{64})\.json$/.test(entry.Config)
        ? `sha256:${entry.Config.slice(0, 64)}`
        : undefined);
    if (configDigest !== undefined)
      verifyBytes(configBytes, configDigest, `config ${entry.Config} of ${name}`);
    const config = parseImageConfig(configBytes, `config ${entry.Config} of ${name}`);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== entry.Layers.length) {
      throw new ManifestError(
        `${name}: ${entry.Layers.length} layers in manifest.json but ${diffIds.length} diff ids in the config`,
      );
    }
    const layers = entry.Layers.map((file, i) => {
      if (!archive.has(file))
        throw new ManifestError(
          `${name}: layer file ${JSON.stringify(file)} is not in the archive`,
        );
      const digest = blobDigest(file);
      const diffId = diffIds[i] as string;
      return {
        ...(digest === undefined ? {} : { digest }),
        diffId,
        size: archive.size(file) ?? 0,
        open: async (): Promise<Readable> => {
          const stream = await archive.open(file);
          // Legacy `<id>/layer.tar` files are uncompressed: their content must hash to the diff id.
          const verifying = new VerifyingStream(digest ?? diffId, `layer ${file} of ${name}`);
          stream.on('error', (error) => verifying.destroy(error));
          return stream.pipe(verifying);
        },
      };
    });
    return {
      source: name,
      platform: {
        os: config.os,
        architecture: config.architecture,
        ...(config.variant === undefined ? {} : { variant: config.variant }),
      },
      config,
      ...(configDigest === undefined ? {} : { configDigest }),
      layers,
      ...(entry.RepoTags === undefined || entry.RepoTags === null ? {} : { tags: entry.RepoTags }),
    };
  }
}
