/**
 * Where a command's report goes, written whole: standard output (drained before the process
 * exits, so a pipe or a slow reader gets every byte), or `-o FILE` (written to a temporary file
 * beside it and renamed once complete, so FILE is the whole report or absent). A reader that
 * closes the pipe early (`| head`) ends the writing quietly; the exit code still says how the
 * scan went.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import * as path from 'node:path';

let file:
  | { readonly path: string; readonly temporary: string | undefined; readonly fd: number }
  | undefined;
let pipeClosed = false;

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  // The reader is gone: nothing more can be delivered, and saying so would only add noise.
  if (error.code === 'EPIPE') pipeClosed = true;
  else throw error;
});

/** Sends what follows to `target` (a file), or to standard output when undefined. */
export function openOutput(target: string | undefined): void {
  if (target === undefined || target === '-') return;
  // Only a regular file is replaced whole: a device, a FIFO or a socket (`-o /dev/null`,
  // `-o /dev/stdout`, a named pipe) is written in place, never renamed over.
  const existing = statSync(target, { throwIfNoEntry: false });
  if (existing !== undefined && !existing.isFile()) {
    file = { path: target, temporary: undefined, fd: openSync(target, 'w') };
    return;
  }
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  file = { path: target, temporary, fd: openSync(temporary, 'w') };
}

/** Writes one line of the report. */
export function print(text: string): void {
  if (file !== undefined) writeSync(file.fd, `${text}\n`);
  else if (!pipeClosed) process.stdout.write(`${text}\n`);
}

/** Completes the report: the file renamed into place (or dropped if the command failed). */
export function closeOutput(complete: boolean): void {
  if (file === undefined) return;
  const { fd, temporary, path: target } = file;
  file = undefined;
  if (temporary === undefined) {
    closeSync(fd);
    return;
  }
  if (complete) fsyncSync(fd);
  closeSync(fd);
  if (complete) renameSync(temporary, target);
  else rmSync(temporary, { force: true });
}

/** Resolves once everything written to standard output and error has been handed over. */
export async function drained(): Promise<void> {
  for (const stream of [process.stdout, process.stderr])
    if (!(stream === process.stdout && pipeClosed))
      await new Promise<void>((resolve) => stream.write('', () => resolve()));
}

/** Prints rows under a header, each column padded to its widest cell (the CLI's tables). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  for (const row of [header, ...rows])
    print(
      row
        .map((c, i) => (c ?? '').padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
}
