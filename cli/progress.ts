/**
 * One status line on stderr while a command works, rewritten in place; nothing at all when
 * stderr is not a terminal (piped output and CI logs stay clean).
 */
export interface Progress {
  update(text: string): void;
  done(): void;
}

export function progress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, done() {} };
  let shown = false;
  return {
    update(text) {
      const width = Math.max(20, (stream.columns ?? 80) - 1);
      stream.write(`\r\u001b[2K${text.slice(0, width)}`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\u001b[2K');
      shown = false;
    },
  };
}
