import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DanglingHardlinkError, SymlinkLoopError } from '../../../shared/layers/errors.js';
import { type LayerReadResult, readLayer } from '../../../shared/layers/reader.js';
import { FileTree } from '../../../shared/layers/tree.js';
import { type TarFile, tarOf } from '../../support/oci.js';

async function layer(files: TarFile[]): Promise<LayerReadResult> {
  return readLayer(Readable.from([await tarOf(files)]), () => true, { what: 'test layer' });
}

async function tree(...layers: TarFile[][]): Promise<FileTree> {
  const results = await Promise.all(layers.map(layer));
  return FileTree.coalesce(
    results.map((result, i) => ({ digest: `sha256:${String(i).repeat(64)}`, result })),
  );
}

const paths = (t: FileTree) => [...t.entries()].map((e) => e.path);

describe('FileTree.coalesce', () => {
  it('lays upper layers over lower ones and remembers which layer each file came from', async () => {
    const t = await tree(
      [
        { path: 'etc/os-release', content: 'ID=debian\n' },
        { path: 'etc/motd', content: 'hi' },
      ],
      [{ path: 'etc/os-release', content: 'ID=ubuntu\n' }],
    );
    expect(t.read('etc/os-release')?.toString()).toBe('ID=ubuntu\n');
    expect(t.get('etc/os-release')?.layer).toBe(1);
    expect(t.get('etc/motd')?.layer).toBe(0);
    expect(t.get('etc/motd')?.layerDigest).toBe(`sha256:${'0'.repeat(64)}`);
    expect(t.size).toBe(2);
  });

  it('applies whiteouts to lower layers, and the layer may add the name back', async () => {
    const t = await tree(
      [
        { path: 'var/lib/dpkg/status', content: 'old' },
        { path: 'var/lib/dpkg/info/a.list', content: 'x' },
        { path: 'tmp/x', content: 'x' },
      ],
      [{ path: 'var/lib/dpkg/.wh.info' }, { path: '.wh.tmp' }, { path: 'tmp/y', content: 'new' }],
    );
    expect(paths(t)).toEqual(['tmp/y', 'var/lib/dpkg/status']);
  });

  it("hides a lower directory behind an opaque marker but keeps the same layer's files", async () => {
    const t = await tree(
      [{ path: 'usr/lib/python3/dist-packages/old/METADATA', content: 'x' }],
      [
        { path: 'usr/lib/python3/dist-packages/.wh..wh..opq' },
        { path: 'usr/lib/python3/dist-packages/new/METADATA', content: 'y' },
      ],
    );
    expect(paths(t)).toEqual(['usr/lib/python3/dist-packages/new/METADATA']);
  });

  it('replaces a directory by a file, dropping what was below it', async () => {
    const t = await tree(
      [
        { path: 'opt/app/a', content: '1' },
        { path: 'opt/app/b', content: '2' },
      ],
      [{ path: 'opt/app', content: 'now a file' }],
    );
    expect(paths(t)).toEqual(['opt/app']);
    expect(t.size).toBe(1);
  });

  it('gives a hard link the content of its target, in the same or a lower layer', async () => {
    const t = await tree(
      [{ path: 'usr/lib/os-release', content: 'ID=alpine\n' }],
      [
        { path: 'etc/os-release', type: 'link', linkname: 'usr/lib/os-release' },
        { path: 'x', content: 'x' },
        { path: 'y', type: 'link', linkname: 'x' },
      ],
    );
    expect(t.read('etc/os-release')?.toString()).toBe('ID=alpine\n');
    expect(t.get('etc/os-release')).toMatchObject({
      type: 'file',
      size: 10,
      layer: 1,
      linkname: 'usr/lib/os-release',
    });
    expect(t.read('y')?.toString()).toBe('x');
  });

  it('records a hard link to nothing and leaves it out', async () => {
    const t = await tree([{ path: 'a', type: 'link', linkname: 'missing' }]);
    expect(t.get('a')).toBeUndefined();
    expect(t.issues[0]).toBeInstanceOf(DanglingHardlinkError);
  });
});

describe('FileTree on hostile depth', () => {
  it('lists, counts and hides a file 10,000 directories deep without exhausting the stack', async () => {
    // Issue 17 #1: ~4,000 path components crashed the recursive walk ("Maximum call stack size
    // exceeded") and with it the whole scan. A PAX header carries the long name, as a real tar would.
    const deep = `${'d/'.repeat(10_000)}file`;
    const t = await tree(
      [
        { path: 'etc/os-release', content: 'ID=alpine\n' },
        { path: deep, content: 'x' },
      ],
      [{ path: 'd', content: 'a file replacing the deep directory' }],
    );
    expect(t.size).toBe(2);
    expect(paths(t)).toEqual(['d', 'etc/os-release']);
    const only = await tree([{ path: deep, content: 'x' }]);
    expect([...only.entries()].map((e) => e.path.length)).toEqual([deep.length]);
    expect(only.get(deep)?.content?.toString()).toBe('x');
  });
});

describe('FileTree.resolve', () => {
  it('follows absolute and relative links inside the image root, never above it', async () => {
    const t = await tree([
      { path: 'usr/lib/os-release', content: 'ID=debian\n' },
      { path: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
      { path: 'lib', type: 'symlink', linkname: '/usr/lib' },
      { path: 'escape', type: 'symlink', linkname: '../../../../usr/lib/os-release' },
      { path: 'host-etc', type: 'symlink', linkname: '/etc/../../../etc' },
    ]);
    expect(t.read('etc/os-release')?.toString()).toBe('ID=debian\n');
    expect(t.read('lib/os-release')?.toString()).toBe('ID=debian\n');
    expect(t.read('escape')?.toString()).toBe('ID=debian\n');
    expect(t.resolve('host-etc/os-release')?.path).toBe('usr/lib/os-release');
    expect(t.get('etc/os-release')?.type).toBe('symlink');
  });

  it('throws SymlinkLoopError on a loop, naming the path', async () => {
    const t = await tree([
      { path: 'a', type: 'symlink', linkname: 'b' },
      { path: 'b', type: 'symlink', linkname: '/a' },
    ]);
    expect(() => t.resolve('a/file')).toThrow(SymlinkLoopError);
    expect(() => t.resolve('a')).toThrow('too many levels of symbolic links resolving "a"');
  });
});
