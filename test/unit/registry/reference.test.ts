import { describe, expect, it } from 'vitest';
import { InvalidReferenceError } from '../../../shared/registry/errors.js';
import { apiHost, formatReference, parseReference } from '../../../shared/registry/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it.each([
    ['alpine', { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' }],
    ['alpine:3.19', { registry: 'docker.io', repository: 'library/alpine', tag: '3.19' }],
    ['bitnami/redis:7', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7' }],
    [
      '127.0.0.1:5000/team/app:v1.2.3',
      { registry: '127.0.0.1:5000', repository: 'team/app', tag: 'v1.2.3' },
    ],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
    [
      `123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@${D}`,
      { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', repository: 'web', digest: D },
    ],
    [`ghcr.io/o/r:t@${D}`, { registry: 'ghcr.io', repository: 'o/r', tag: 't', digest: D }],
  ])('%s', (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });

  it.each([
    ['', /empty/],
    ['App', /repository must be lowercase/],
    ['bad_host!:5000/app', /registry "bad_host!:5000" is not a host/],
    ['app:bad tag', /tag "bad tag" is not valid/],
    ['app@sha256:123', /digest "sha256:123"/],
    ['a//b', /repository must be lowercase/],
  ])('refuses %j', (input, message) => {
    expect(() => parseReference(input)).toThrow(InvalidReferenceError);
    expect(() => parseReference(input)).toThrow(message);
  });

  it('formats back and maps Docker Hub to its API host', () => {
    expect(formatReference(parseReference('alpine'))).toBe('docker.io/library/alpine:latest');
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('127.0.0.1:5000')).toBe('127.0.0.1:5000');
  });
});
