/**
 * The publishers' feeds by name (shared/feeds/registry.ts): every id VENDOR_SOURCES lists makes a
 * source of that id, and the ecosystem table says which of them fill an ecosystem by default.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_VENDOR_SOURCES,
  syncedByDefault,
  VENDOR_SOURCES,
  vendorSourcesFor,
} from '../../../shared/ecosystems.js';
import { sourceFor, vendorSource } from '../../../shared/feeds/registry.js';
import { FeedFormatError } from '../../../shared/feeds/types.js';

// Constructing a source reads nothing: the store is only asked during a sync.
const store = { get: async () => undefined };

describe('vendor feed registry', () => {
  it.each(VENDOR_SOURCES)('makes the source %s', (id) => {
    expect(vendorSource(id, { store }).id).toBe(id);
    expect(sourceFor(id, { store }).id).toBe(id);
  });

  it('refuses a feed it does not know, naming the ones it does', () => {
    expect(() => vendorSource('alas:2018.03', { store })).toThrow(FeedFormatError);
    expect(() => vendorSource('alas:2018.03', { store })).toThrow(/known: alas:2, alas:2023, /);
  });

  it('syncs by default only feeds it knows', () => {
    for (const id of DEFAULT_VENDOR_SOURCES) expect(VENDOR_SOURCES).toContain(id);
  });

  it.each([
    ['Amazon Linux:2023', ['alas:2023'], true],
    ['Amazon Linux:1', ['alas:1'], false],
    ['Azure Linux:3', ['azurelinux-oval:3'], true],
    ['Azure Linux:1', ['azurelinux-oval:1'], false],
    ['Oracle Linux:9', ['oracle-oval:9'], true],
    ['Oracle Linux:6', ['oracle-oval:6'], false],
    ['Photon OS:5.0', ['photon'], true],
    ['Wolfi', ['secdb:wolfi'], true],
    ['Chainguard', ['secdb:chainguard'], true],
    ['Red Hat:enterprise_linux:9::baseos', ['redhat-vex'], true],
    ['SUSE:Linux Enterprise Server 15 SP5', [], true],
    ['npm', [], true],
  ] as const)('fills %s from %j (synced by default: %s)', (ecosystem, ids, synced) => {
    expect(vendorSourcesFor(ecosystem)).toEqual(ids);
    expect(syncedByDefault(ecosystem)).toBe(synced);
  });
});
