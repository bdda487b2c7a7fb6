import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progress } from '../../../cli/progress.js';

function stream(isTTY: boolean) {
  const s = new PassThrough() as PassThrough & { isTTY: boolean; columns: number };
  s.isTTY = isTTY;
  s.columns = 30;
  const written: string[] = [];
  s.on('data', (c: Buffer) => written.push(c.toString()));
  return { s: s as unknown as NodeJS.WriteStream, written };
}

describe('CLI progress line', () => {
  it('rewrites one line on a terminal, cut to its width, and clears it when done', async () => {
    const { s, written } = stream(true);
    const p = progress(s);
    p.update('osv:PyPI: 200 read, 200 written and some more words');
    p.update('osv:PyPI: 400 read');
    p.done();
    await new Promise((r) => setImmediate(r));
    expect(written).toEqual([
      '\r\u001b[2Kosv:PyPI: 200 read, 200 writt',
      '\r\u001b[2Kosv:PyPI: 400 read',
      '\r\u001b[2K',
    ]);
  });

  it('writes nothing when the output is not a terminal', async () => {
    const { s, written } = stream(false);
    const p = progress(s);
    p.update('anything');
    p.done();
    await new Promise((r) => setImmediate(r));
    expect(written).toEqual([]);
  });
});
