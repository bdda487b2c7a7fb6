/**
 * `bosun <command> --help`: what each command does, its flags with their defaults, examples,
 * and the exit codes (README, "Scanning an image locally", says the same).
 */
import {
  DEFAULT_OSV_ECOSYSTEMS,
  DEFAULT_VENDOR_SOURCES,
  VENDOR_SOURCES,
} from '../shared/ecosystems.js';

export const DB_USAGE = `usage: bosun db sync [--from <dir|zip|url|file.bosun.gz>]... [--ecosystem NAME]... [--osv-base-url URL]
       bosun db status [--json]
       bosun db export <file.bosun.gz>
       bosun db import <file.bosun.gz>
  every db command takes --db DIR (default $BOSUN_DB_DIR, else ~/.cache/bosun/db)
  sync without --from reads OSV's public export for each --ecosystem (default: ${DEFAULT_OSV_ECOSYSTEMS.join(', ')};
  and, with no --ecosystem, the publishers' own feeds: ${DEFAULT_VENDOR_SOURCES.join(', ')})
  --from also takes a publisher's feed by name (${VENDOR_SOURCES.join(', ')}),
  and folders or files of its format (updateinfo, OVAL, CSAF VEX, secdb JSON, Photon CVE JSON)`;

const SOURCES = `sources:
  registry/repo:tag, registry/repo@sha256:...   an image in a registry; credentials as Docker has them
                                                ($DOCKER_CONFIG or ~/.docker/config.json: auths,
                                                credsStore, credHelpers), ECR through your AWS
                                                credentials, or BOSUN_REGISTRY_USERNAME/_PASSWORD
  FILE.tar                                      a \`docker save\` or OCI archive (told apart by content)
  DIR                                           an OCI image layout, else a root filesystem or checkout
  prefixes for the ambiguous cases: docker-archive:FILE, oci-archive:FILE[:REF], oci:DIR[:REF],
  dir:ROOTFS, docker://REF (a registry reference that is also a path here)`;

const COMMON = `  --input FILE                   the source, as a flag (as Trivy's --input)
  --platform os/arch[/variant]   the images of an index to read (repeatable; default: all)
  --insecure-registry host:port  talk plain HTTP to that registry (repeatable; loopback always is)
  --allow-host REGISTRY=HOST     let REGISTRY send token realms and blob redirects to HOST (host,
                                 host:port or *.suffix; repeatable): a private registry's storage.
                                 Known registries' own token and storage hosts are always allowed
  --cache-dir DIR                the layer cache (default: $BOSUN_CACHE_DIR, else ~/.cache/bosun)
  --no-cache                     neither read nor write the layer cache
  --timeout DURATION             give up after DURATION (90s, 5m, 1h30m; default: none), exit 3
  -o, --output FILE              write the report to FILE (complete, or not at all)
  -q, --quiet                    no progress line and no notes on stderr; errors still show
  --no-progress                  no progress line
  -h, --help                     this help`;

export const EXIT_CODES = `exit codes:
  0  done, no finding fails --fail-on
  1  a finding fails --fail-on, a check fails --fail-on-check, an image could not be read
     whole, or (with --policy) a provenance verdict other than VERIFIED under an enforce rule
  2  usage error (an unknown flag or value, a missing source)
  3  any other failure (registry, network, database, --timeout)
  4  results incomplete: some packages could not be checked (coverage gaps are listed), a
     signature under an audit rule was found and not read, or (with --fail-on-check) a layer's
     files were not all read for secrets`;

export const VERIFY_EXIT_CODES = `exit codes:
  0  VERIFIED, or any verdict under a rule whose mode is audit (the output says so)
  1  a verdict other than VERIFIED (UNSIGNED, INVALID, UNTRUSTED, POLICY_FAILED) under an enforce rule
  2  usage error: an unknown flag or value, a local image, a policy or trust file that cannot be read
  3  could not decide: the registry failed, or a signature was found and could not be read`;

const TRUST = `  --policy FILE                  the provenance policy (YAML or JSON; docs/provenance-policy.md)
  --trusted-root NAME=FILE       a Sigstore trusted_root.json under the name the policy's
                                 authorities give it (repeatable)
  --notation-trust-store DIR     Notation trust stores, laid out as notation keeps them:
                                 DIR/x509/{ca,signingAuthority,tsa}/<name>/<certificates>
  --crl FILE                     a CRL (DER or PEM) for Notation certificates (repeatable)`;

export const HELP = {
  inspect: `bosun inspect <source> [flags]: what an image is made of (platforms, layers, OS, package counts)

${SOURCES}

flags:
  --json                         JSON instead of text
${COMMON}

example:
  bosun inspect alpine.tar --json`,

  sbom: `bosun sbom <source> [flags]: the image's software bill of materials

${SOURCES}

flags:
  --format FORMAT                cyclonedx (CycloneDX 1.6 JSON, the default), spdx (SPDX 2.3
                                 tag-value), spdx-json (SPDX 2.3 JSON), spdx3-json (SPDX 3.0.1 JSON-LD)
${COMMON}

example:
  bosun sbom app.tar --format spdx-json -o app.spdx.json`,

  scan: `bosun scan <source> [flags]: the image's vulnerabilities and hardening checks, with what
  could not be checked

${SOURCES}

flags:
  --db DIR                       the advisory database (default: $BOSUN_DB_DIR, else ~/.cache/bosun/db;
                                 fill it with \`bosun db sync\`)
  --advisories DIR|FILE          read advisories from files instead (any format \`db sync --from\` reads)
  --format FORMAT                table (default), json, sarif (SARIF 2.1.0), or an SBOM format
                                 (cyclonedx with the findings as vulnerabilities, spdx, spdx-json,
                                 spdx3-json)
  --severity LOW,MEDIUM,...      only findings of these effective severities
  --ignore-unfixed               only findings with a fixed version
  --reachable-only               leave out findings whose vulnerable code is known not to be in the
                                 binary (Go: no vulnerable symbol linked; docs/reachability.md);
                                 findings not known unreachable stay
  --vex FILE                     apply a VEX document (OpenVEX 0.2 or CycloneDX; repeatable): what
                                 it says is not affected or fixed is listed as suppressed, with why
  --ignore-file FILE             ignore entries (id [purl] [exp:YYYY-MM-DD] [# reason]); default
                                 .bosunignore in the current folder when there is one (docs/vex.md)
  --fail-on SEVERITY[,kev][,unknown]
                                 exit 1 when a finding is that severity or worse, known exploited (kev),
                                 or rated by no source (unknown)
  --fail-on-epss 0..1            exit 1 when a finding's EPSS score reaches it
  --checks, --no-checks          run the hardening checks (docs/checks.md: root user, secrets in
                                 the config and in every layer, setuid files, ...) in the same
                                 read of the layers (default: --checks)
  --fail-on-check SEVERITY       exit 1 when a check result is that severity or worse
                                 (CRITICAL, HIGH, MEDIUM, LOW)
  --checks-config FILE           per-repository checks disabled or re-rated, secrets suppressed by
                                 value hash until an expiry (docs/checks.md, Configuration)
  with a registry reference, its provenance verdict too (as bosun verify; exit 1 when an
  enforce rule's verdict is not VERIFIED):
${TRUST}
${COMMON}

examples:
  bosun db sync && bosun scan registry.example.com/team/app:1.4
  bosun scan app.tar --fail-on HIGH,kev --format sarif -o bosun.sarif
  bosun scan app.tar --fail-on-check HIGH
  bosun scan 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.4 --severity HIGH,CRITICAL
  bosun scan registry.example.com/team/app:1.4 --policy provenance.yaml --format json

${EXIT_CODES}`,

  verify: `bosun verify <image> --policy FILE [flags]: who signed the image, checked against a policy

  The image is a registry reference (registry/repository:tag or @sha256:...; a tag is resolved
  and the digest reported). Its signatures and attestations are found in its registry (cosign
  .sig/.att tags, OCI referrers and their tag fallback, ECR's referrers for ECR hosts) and
  verified offline: no request is made to anything but the registry. The verdict: VERIFIED,
  UNSIGNED, INVALID, UNTRUSTED or POLICY_FAILED, with the rule, its mode, each requirement and
  what satisfied it, the failures, and what was found but not read (docs/provenance.md).

flags:
${TRUST}
  --format FORMAT                table (default) or json
  --insecure-registry host:port  talk plain HTTP to that registry (repeatable; loopback always is)
  --allow-host REGISTRY=HOST     let REGISTRY send token realms and redirects to HOST (repeatable)
  --timeout DURATION             give up after DURATION (90s, 5m, 1h30m; default: none), exit 3
  -o, --output FILE              write the verdict to FILE (complete, or not at all)
  -q, --quiet                    no progress line; errors still show
  --no-progress                  no progress line
  -h, --help                     this help

  credentials as for scan: $DOCKER_CONFIG or ~/.docker/config.json, ECR through your AWS
  credentials, or BOSUN_REGISTRY_USERNAME/_PASSWORD

examples:
  bosun verify registry.example.com/team/app:1.4 --policy provenance.yaml
  bosun verify ghcr.io/org/app@sha256:... --policy provenance.yaml \\
      --trusted-root public-good=trusted_root.json --format json

${VERIFY_EXIT_CODES}`,

  db: `${DB_USAGE}

examples:
  bosun db sync                              OSV and every publisher's feed (network)
  bosun db sync --from ./mirror/alas         a folder of any advisory format, offline
  bosun db export advisories.bosun.gz        one file for an air-gapped site`,

  cache: `usage: bosun cache clean [--cache-dir DIR]: what the layer cache holds, removed

  The layer cache keeps what Bosun read from each layer (by the layer's digest and the reader's
  version), so a second scan of an image that shares base layers reads only its new layers. It
  is keyed as the deployed service's S3 layer cache is.

flags:
  --cache-dir DIR                the cache (default: $BOSUN_CACHE_DIR, else ~/.cache/bosun)
  -h, --help                     this help`,

  remote: `bosun remote <subcommand> [flags]: a deployment's read API (docs/api.md), signed with SigV4
with the AWS SDK's default credentials; IAM decides what you may read or suppress

subcommands:
  images <repository>            images pushed to the repository (<registry host>/<repository>)
  image <digest>                 scan record, repositories and tags, findings summary, report links
                                 (--repository R: through that repository's route)
  findings <repository>          findings of the repository's images (--digest D: of one image)
  vuln <id>                      images with an open finding of the CVE or advisory id
  tags <repository>              tags and the digest each names
  suppressions [<repository>]    suppressions of the repository, of --digest D, else global ones
  suppress <repository|--global|--digest D> <vulnerability id> --reason TEXT
                                 [--package KEY] [--expires DATE]: the next scan or rescan of the
                                 package writes the finding SUPPRESSED; you are its author
  unsuppress <repository|--global|--digest D> <vulnerability id> [--package KEY]
  vex put <file> [--repository R] [--expires DATE]
                                 upload an OpenVEX 0.2 or CycloneDX VEX document (docs/vex.md),
                                 global or for repository R; its findings are rescanned at once
  vex list [--repository R]      the VEX documents of the scope
  vex delete <id> [--repository R]

flags:
  --api-url URL                  the API (the stack output ApiUrl; default: $BOSUN_API_URL)
  --stack NAME                   read ApiUrl from the CloudFormation stack NAME instead
  --region REGION                the region to sign for (default: the URL's, else $AWS_REGION)
  --format table|json            (default: table)
  --all                          follow every page (default: one page, its cursor printed)
  --limit N, --cursor C          page size (1-500, default 100) and where to resume
  --severity CRITICAL,HIGH       findings of these severities
  --status ACTIVE,SUPPRESSED     findings in these states (ACTIVE, SUPPRESSED, CLOSED)
  --fixable                      findings with a fixed version
  --kev                          findings CISA lists as known exploited
  --package KEY                  the package key (<ecosystem>#<name>) a suppression covers
                                 (default: *, any package)
  --expires DATE                 the suppression or VEX document ends then (2027-01-31 or an
                                 ISO 8601 instant)
  -h, --help                     this help

examples:
  bosun remote findings 111122223333.dkr.ecr.eu-west-1.amazonaws.com/team-a/app \\
      --stack Bosun --severity CRITICAL,HIGH --status ACTIVE --all
  bosun remote vuln CVE-2024-3094 --format json
  bosun remote suppress 111122223333.dkr.ecr.eu-west-1.amazonaws.com/team-a/app \\
      CVE-2023-45853 --package 'Debian:12#zlib' --reason 'minizip not shipped' --expires 2027-01-31
  bosun remote vex put app.openvex.json --repository 111122223333.dkr.ecr.eu-west-1.amazonaws.com/team-a/app

exit codes:
  0  done
  1  the API refused or failed the request (its error printed: 400, 403, 404, 5xx)
  2  usage error
  3  any other failure (network, credentials, the stack or its ApiUrl output not found)`,
} as const;

export const USAGE = `usage: bosun <command> [flags]

commands:
  scan <source>     the image's vulnerabilities, with what could not be checked
  sbom <source>     the image's software bill of materials (CycloneDX, SPDX)
  inspect <source>  what the image is made of
  verify <image>    who signed the image, against a provenance policy
  db <subcommand>   the local advisory database: sync, status, export, import
  cache clean       empty the layer cache
  remote <sub>      a deployment's API: images, findings, vuln, suppress, vex (signed with SigV4)

bosun <command> --help (or bosun help <command>) for its flags and examples; bosun --version

${EXIT_CODES}
(bosun verify's own: bosun verify --help)`;
