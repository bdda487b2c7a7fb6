import type { Extractor, ExtractResult } from '../../types.js';
import { parseApkInstalled } from './database.js';

const ID = 'os/apk/installed';

export const apkInstalled: Extractor = {
  id: ID,
  osDatabase: true,
  version: 1,
  packageTypes: ['apk'],
  required: (path) => path === 'lib/apk/db/installed',
  extract(path: string, content: Buffer): ExtractResult {
    const { packages, issues } = parseApkInstalled(content.toString('utf8'));
    return {
      packages: packages.map((p) => ({
        type: 'apk',
        name: p.name,
        version: p.version,
        ...(p.arch === undefined ? {} : { arch: p.arch }),
        sourceName: p.origin ?? p.name,
        sourceVersion: p.version,
        ...(p.license === undefined
          ? {}
          : { licenses: p.license.split(/\s+(?:AND|OR)\s+|\s+/).filter((l) => l !== '') }),
        files: p.files,
        location: path,
      })),
      issues: issues.map((i) => ({
        extractor: ID,
        location: path,
        message: `${path}:${i.line}: ${i.message}`,
      })),
    };
  },
};
