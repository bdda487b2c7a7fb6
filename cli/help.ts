/**
 * `bosun <command> --help`: what each command does, its flags with their defaults, examples,
 * and the exit codes (README, "Scanning an image locally", says the same).
 */
import { DB_USAGE } from './db.js';

const SOURCES = `sources:
  registry/repo:tag, registry/repo@sha256:...   an image in a registry (BOSUN_REGISTRY_USERNAME and
                                                BOSUN_REGISTRY_PASSWORD for its credentials)
  docker-archive:FILE                           a \`docker save\` archive
  oci:DIR[:REF], oci-archive:FILE[:REF]         an OCI image layout, as a folder or a tar
  dir:ROOTFS                                    a root filesystem or a source checkout`;

const COMMON = `  --platform os/arch[/variant]   the images of an index to read (repeatable; default: all)
  --insecure-registry host:port  talk plain HTTP to that registry (repeatable)
  -o, --output FILE              write the report to FILE (complete, or not at all)
  -h, --help                     this help`;

export const EXIT_CODES = `exit codes:
  0  done, no finding fails --fail-on
  1  a finding fails --fail-on, or an image could not be read whole
  2  usage error (an unknown flag or value, a missing source)
  3  any other failure (registry, network, database)
  4  results incomplete: some packages could not be checked (coverage gaps are listed)`;

export const HELP = {
  inspect: `bosun inspect <source> [flags]: what an image is made of (platforms, layers, OS, package counts)

${SOURCES}

flags:
  --json                         JSON instead of text
${COMMON}

example:
  bosun inspect oci-archive:alpine.tar --json`,

  sbom: `bosun sbom <source> [flags]: the image's software bill of materials

${SOURCES}

flags:
  --format cyclonedx|spdx-json|spdx   CycloneDX 1.6 JSON (default), SPDX 2.3 JSON, or SPDX 3.0.1 JSON-LD
${COMMON}

example:
  bosun sbom docker-archive:app.tar --format spdx-json -o app.spdx.json`,

  scan: `bosun scan <source> [flags]: the image's vulnerabilities, with what could not be checked

${SOURCES}

flags:
  --db DIR                       the advisory database (default: $BOSUN_DB_DIR, else ~/.cache/bosun/db;
                                 fill it with \`bosun db sync\`)
  --advisories DIR|FILE          read advisories from files instead (any format \`db sync --from\` reads)
  --format table|json|sarif|cyclonedx|spdx-json|spdx
                                 table (default); SARIF 2.1.0; CycloneDX or SPDX with the findings
  --severity LOW,MEDIUM,...      only findings of these effective severities
  --ignore-unfixed               only findings with a fixed version
  --fail-on SEVERITY[,kev][,unknown]
                                 exit 1 when a finding is that severity or worse, known exploited (kev),
                                 or rated by no source (unknown)
  --fail-on-epss 0..1            exit 1 when a finding's EPSS score reaches it
${COMMON}

examples:
  bosun db sync && bosun scan registry.example.com/team/app:1.4
  bosun scan docker-archive:app.tar --fail-on HIGH,kev --format sarif -o bosun.sarif

${EXIT_CODES}`,

  db: `${DB_USAGE}

examples:
  bosun db sync                              OSV and every publisher's feed (network)
  bosun db sync --from ./mirror/alas         a folder of any advisory format, offline
  bosun db export advisories.bosun.gz        one file for an air-gapped site`,
} as const;
