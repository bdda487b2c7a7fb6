/**
 * YAML as the advisory feeds use it (RubySec, Alpine secdb), with a bound on nesting. The
 * `yaml` parser's time grows far faster than the input with flow nesting: 65,536 levels of
 * `{"a":` (a 300 KB file) took 13 s. No real advisory nests more than a few levels, so a
 * document nested deeper than MAX_YAML_DEPTH is refused before it is parsed.
 */
import { parse } from 'yaml';
import { BosunError } from '../errors.js';

/** Far above any real feed (RubySec and secdb files nest four or five levels). */
export const MAX_YAML_DEPTH = 256;

export class YamlTooDeepError extends BosunError {
  readonly fatal = false;
}

const OPEN_SQUARE = 0x5b;
const OPEN_CURLY = 0x7b;
const CLOSE_SQUARE = 0x5d;
const CLOSE_CURLY = 0x7d;

/**
 * The deepest flow nesting (`[` and `{` not yet closed) in `text`, counted over every byte:
 * brackets inside quoted strings count too, which can only overstate the depth of a document
 * that would need hundreds of unclosed brackets in its strings to be refused.
 */
function flowDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === OPEN_SQUARE || c === OPEN_CURLY) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if ((c === CLOSE_SQUARE || c === CLOSE_CURLY) && depth > 0) depth--;
  }
  return deepest;
}

/** Parses one YAML document; throws YamlTooDeepError past MAX_YAML_DEPTH, else as `yaml` does. */
export function parseYaml(text: string): unknown {
  if (flowDepth(text, MAX_YAML_DEPTH) > MAX_YAML_DEPTH)
    throw new YamlTooDeepError(`nested more than ${MAX_YAML_DEPTH} levels deep`);
  return parse(text);
}
