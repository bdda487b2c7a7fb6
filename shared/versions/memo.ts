/**
 * A bounded cache of parsed versions. Matching compares the same few versions (the installed
 * one, each advisory's events) thousands of times; parsing each once is most of the speed.
 */
export function memoize<T>(parse: (v: string) => T, capacity = 50_000): (v: string) => T {
  const cache = new Map<string, T>();
  return (v: string) => {
    let parsed = cache.get(v);
    if (parsed === undefined) {
      parsed = parse(v);
      // Dropping the whole cache when full keeps this O(1) and bounded; it refills at once.
      if (cache.size >= capacity) cache.clear();
      cache.set(v, parsed);
    }
    return parsed;
  };
}
