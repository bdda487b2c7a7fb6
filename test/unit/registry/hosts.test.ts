import { describe, expect, it } from 'vitest';
import {
  AllowedHostSyntaxError,
  HostPolicy,
  parseAllowedHosts,
} from '../../../shared/registry/hosts.js';

const policy = (registry: string, api = `https://${registry}`, extra: string[] = []) =>
  new HostPolicy(registry, new URL(api), extra);
const allows = (p: HostPolicy, url: string) => p.allows(new URL(url));

describe('hosts a registry may send us to', () => {
  it('keeps the blob storage and token hosts the big registries document working', () => {
    const cases: [string, string][] = [
      // ECR redirects layer GETs to its S3 bucket, pre-signed.
      [
        '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
        'https://prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com/a/b?X-Amz-Signature=1',
      ],
      [
        '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
        'https://prod-eu-west-1-starport-layer-bucket.s3.amazonaws.com/a',
      ],
      ['docker.io', 'https://auth.docker.io/token?service=registry.docker.io'],
      [
        'docker.io',
        'https://production.cloudflare.docker.com/registry-v2/docker/registry/v2/blobs',
      ],
      [
        'docker.io',
        'https://docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com/x',
      ],
      ['ghcr.io', 'https://ghcr.io/token?scope=repository:a/b:pull'],
      ['ghcr.io', 'https://pkg-containers.githubusercontent.com/ghcr1/blobs/sha256:0'],
      ['quay.io', 'https://cdn01.quay.io/sha256/00/0'],
      ['mcr.microsoft.com', 'https://westus2.data.mcr.microsoft.com/x'],
      ['europe-docker.pkg.dev', 'https://storage.googleapis.com/x'],
      ['public.ecr.aws', 'https://d2glxqk2uabbnd.cloudfront.net/x'],
      ['contoso.azurecr.io', 'https://contoso.azurecr.io/oauth2/token?service=contoso.azurecr.io'],
      ['contoso.azurecr.io', 'https://weu1prodreg.blob.core.windows.net/x'],
      ['registry.gitlab.com', 'https://gitlab.com/jwt/auth?service=container_registry'],
    ];
    for (const [registry, url] of cases)
      expect(allows(policy(registry), url), `${registry} -> ${url}`).toBe(true);
  });

  it('refuses other hosts, plain HTTP from an HTTPS registry, and credentials in the URL', () => {
    const ecr = policy('123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    for (const url of [
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/a',
      'https://attacker.s3.eu-west-1.amazonaws.com/a',
      'http://prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com/a',
      'http://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/',
      'https://123456789012.dkr.ecr.eu-west-1.amazonaws.com:8443/v2/',
      'https://u:p@123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/',
      'file:///etc/shadow',
    ])
      expect(allows(ecr, url), url).toBe(false);
    // A suffix pattern names hosts under it, not the suffix itself.
    expect(allows(policy('quay.io'), 'https://evilquay.io/x')).toBe(false);
  });

  it('allows configured hosts per registry, and one loopback server under its other names', () => {
    const local = policy('127.0.0.1:5000', 'http://127.0.0.1:5000', ['127.0.0.1:9000']);
    expect(allows(local, 'http://127.0.0.1:9000/token')).toBe(true);
    expect(allows(local, 'http://localhost:5000/storage/x')).toBe(true);
    expect(allows(local, 'http://127.0.0.1:9001/token')).toBe(false);
    expect(allows(local, 'http://10.0.0.1:5000/token')).toBe(false);
    // A registry stood in for by a local endpoint: the endpoint's host is its own.
    const mapped = policy('123456789012.dkr.ecr.us-east-1.amazonaws.com', 'http://127.0.0.1:5001');
    expect(allows(mapped, 'http://127.0.0.1:5001/v2/')).toBe(true);
  });
});

describe('allowed hosts as users write them (--allow-host, BOSUN_REGISTRY_ALLOWED_HOSTS)', () => {
  it('groups REGISTRY=HOST pairs by registry, in lower case', () => {
    expect(
      parseAllowedHosts([
        'Harbor.example.com=harbor-blobs.s3.eu-west-1.amazonaws.com',
        'harbor.example.com=*.cloudfront.net',
        'registry.internal:5000=blobs.internal:9000',
      ]),
    ).toEqual({
      'harbor.example.com': ['harbor-blobs.s3.eu-west-1.amazonaws.com', '*.cloudfront.net'],
      'registry.internal:5000': ['blobs.internal:9000'],
    });
  });

  it('refuses what is not REGISTRY=HOST, naming it', () => {
    for (const bad of [
      'harbor.example.com',
      '=blobs.example.com',
      'harbor.example.com=',
      'harbor.example.com=https://blobs.example.com',
      'harbor.example.com=blobs.example.com/path',
      '*.example.com=blobs.example.com',
      'harbor.example.com=user@blobs.example.com',
    ])
      expect(() => parseAllowedHosts([bad]), bad).toThrow(AllowedHostSyntaxError);
  });
});
