/**
 * The image checks, one row each: the one table docs/checks.md and its test are held to.
 * Anchors name the check of the same intent in each public rule set (docs/checks.md cites
 * them): Dockle's CHECKPOINT.md, Trivy's Dockerfile checks (AVD-DS-*) and secret rules,
 * Checkov's Dockerfile checks (CKV_DOCKER_*), Docker Scout's policies.
 */
import type { CheckDefinition } from './types.js';

export const IMAGE_CHECKS = {
  rootUser: {
    id: 'BOSUN-IMG-001',
    severity: 'MEDIUM',
    title: 'Image runs as root by default',
    remediation:
      "Add a non-root user and end the Dockerfile with USER <name or uid other than 0>; a task definition's user can override it.",
    anchors: [
      { tool: 'Dockle', id: 'CIS-DI-0001' },
      { tool: 'Trivy', id: 'AVD-DS-0002' },
      { tool: 'Checkov', id: 'CKV_DOCKER_3' },
      { tool: 'Docker Scout', id: 'Default non-root user' },
    ],
  },
  unresolvedUser: {
    id: 'BOSUN-IMG-002',
    severity: 'MEDIUM',
    title: "Default user is not in the image's /etc/passwd",
    remediation:
      'Create the user in the image (useradd/adduser) or name it by uid (USER 10001): a name the runtime cannot resolve fails the container at start.',
    anchors: [],
  },
  configSecret: {
    id: 'BOSUN-IMG-010',
    severity: 'HIGH',
    title: 'Secret in the image config (Env, Labels or history)',
    remediation:
      'Revoke the credential, then pass it at run time (ECS task secrets from Secrets Manager or SSM) or with a BuildKit secret mount; ENV, LABEL and build arguments stay in the config.',
    anchors: [
      { tool: 'Dockle', id: 'CIS-DI-0010' },
      { tool: 'Trivy', id: 'secret scanning (image config)' },
    ],
  },
  fileSecret: {
    id: 'BOSUN-IMG-011',
    severity: 'HIGH',
    title: 'Secret in a file of a layer',
    remediation:
      'Revoke the credential and rebuild without it: deleting it in a later layer leaves it in the earlier one; use a BuildKit secret mount or a multi-stage build.',
    anchors: [
      { tool: 'Dockle', id: 'CIS-DI-0010' },
      { tool: 'Trivy', id: 'secret scanning (built-in rules)' },
    ],
  },
  setuid: {
    id: 'BOSUN-IMG-020',
    severity: 'MEDIUM',
    title: 'setuid or setgid executable',
    remediation:
      'Remove the bit (RUN chmod u-s,g-s <file>) or the package, unless the container needs it; run with no-new-privileges.',
    anchors: [{ tool: 'Dockle', id: 'CIS-DI-0008' }],
  },
  worldWritable: {
    id: 'BOSUN-IMG-021',
    severity: 'MEDIUM',
    title: 'World-writable directory without the sticky bit',
    remediation:
      'chmod o-w the directory, or chmod +t it when it is a shared scratch folder like /tmp.',
    anchors: [],
  },
  sudo: {
    id: 'BOSUN-IMG-022',
    severity: 'LOW',
    title: 'sudo is installed',
    remediation:
      'Remove sudo: a container needs no privilege escalation; use USER and gosu/su-exec at build time.',
    anchors: [
      { tool: 'Dockle', id: 'DKL-DI-0001' },
      { tool: 'Trivy', id: 'AVD-DS-0010' },
    ],
  },
  packageCache: {
    id: 'BOSUN-IMG-023',
    severity: 'LOW',
    title: 'Package manager cache left in the image',
    remediation:
      'Clean in the same RUN (rm -rf /var/lib/apt/lists/*, apk add --no-cache, pip --no-cache-dir, npm cache clean --force) or use a cache mount.',
    anchors: [
      { tool: 'Dockle', id: 'DKL-DI-0005' },
      { tool: 'Dockle', id: 'DKL-DI-0004' },
      { tool: 'Trivy', id: 'AVD-DS-0025' },
    ],
  },
  addUrl: {
    id: 'BOSUN-IMG-030',
    severity: 'MEDIUM',
    title: 'ADD of a remote URL',
    remediation:
      'Download with a pinned checksum (ADD --checksum=sha256:…, or curl then sha256sum -c) and prefer COPY for local files.',
    anchors: [
      { tool: 'Dockle', id: 'CIS-DI-0009' },
      { tool: 'Trivy', id: 'AVD-DS-0005' },
      { tool: 'Checkov', id: 'CKV_DOCKER_4' },
    ],
  },
  pipeToShell: {
    id: 'BOSUN-IMG-031',
    severity: 'MEDIUM',
    title: 'Remote script piped to a shell',
    remediation:
      'Download the script, verify its checksum or signature, then run it; or install from a package.',
    anchors: [],
  },
  healthcheck: {
    id: 'BOSUN-IMG-032',
    severity: 'LOW',
    title: 'No HEALTHCHECK',
    remediation:
      'Add a HEALTHCHECK to the image, or a healthCheck to the ECS container definition (which takes precedence).',
    anchors: [
      { tool: 'Dockle', id: 'CIS-DI-0006' },
      { tool: 'Trivy', id: 'AVD-DS-0026' },
      { tool: 'Checkov', id: 'CKV_DOCKER_2' },
    ],
  },
  sensitiveVolume: {
    id: 'BOSUN-IMG-033',
    severity: 'MEDIUM',
    title: 'VOLUME on a sensitive path',
    remediation:
      'Remove the VOLUME: mounting the Docker socket or a host system folder into a container hands it the host.',
    anchors: [{ tool: 'Dockle', id: 'DKL-DI-0002' }],
  },
  licence: {
    id: 'BOSUN-IMG-040',
    severity: 'MEDIUM',
    title: 'Package under a restricted licence (AGPL, SSPL)',
    remediation:
      'Check the licence terms with your legal team, or replace the package; the list of restricted licences is configurable.',
    anchors: [{ tool: 'Docker Scout', id: 'No AGPL v3 licenses' }],
  },
} as const satisfies Record<string, CheckDefinition>;

export type ImageCheckName = keyof typeof IMAGE_CHECKS;
