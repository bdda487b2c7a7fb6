/**
 * What a hardening check reports: one result per thing found, with a stable id (`BOSUN-IMG-001`)
 * that configuration, suppressions, SARIF rules and stored lifecycles key on, and the anchors
 * (Dockle, Trivy, AWS Config, Checkov, Docker Scout) that check the same thing, so a reader can
 * compare. A secret is identified by the SHA-256 of its value, never by the value itself.
 */

/** Ordered as the advisories' severities (shared/advisories/severity.ts), so gates share them. */
export const CHECK_SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'] as const;
export type CheckSeverity = (typeof CHECK_SEVERITIES)[number];

/** The public rule sets a check is compared with (docs/checks.md, side by side). */
export type AnchorTool = 'Dockle' | 'Trivy' | 'AWS Config' | 'Checkov' | 'Docker Scout';

export interface Anchor {
  readonly tool: AnchorTool;
  /** The tool's own id: `CIS-DI-0001`, `AVD-DS-0002`, `CKV_DOCKER_3`, a Scout policy name. */
  readonly id: string;
}

/**
 * Where a result was found: as many of these as apply. An image result names its layer, path or
 * config field; a task-definition result its task definition, container and field as the ECS
 * API names them (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskDefinition.html).
 */
export interface Evidence {
  /** The layer: its index (0 is the base) and the digest that names it (its diff id). */
  readonly layer?: { readonly index: number; readonly digest?: string };
  /** Image-root relative, without a leading slash: `usr/bin/sudo`. */
  readonly path?: string;
  /** The config field: `config.User`, `config.Env[2]`, `history[4].created_by`. */
  readonly configField?: string;
  /** The task definition: its ARN, else `family:revision`, else its family. */
  readonly taskDefinition?: string;
  /** The container definition's `name`, for container-level fields. */
  readonly container?: string;
  /** The task-definition field as the ECS API names it: `containerDefinitions[].privileged`. */
  readonly field?: string;
  /** The value seen, for fields that hold no secret (`"0:0"`, `host`, `SYS_ADMIN`). */
  readonly value?: string;
  /** Where a workload's effective user came from: its task definition's `user` or the image. */
  readonly userSource?: 'task-definition' | 'image';
  /** What was seen, in words; never a secret's value. */
  readonly detail: string;
}

/** Where a secret was found. */
export type SecretLocation =
  | {
      readonly kind: 'file';
      readonly layer: { readonly index: number; readonly digest?: string };
      readonly path: string;
      /** 1-based line of the match, where the rule matched text. */
      readonly line?: number;
      /** Set when a later layer deleted the file: it is still in the image's layers. */
      readonly deletedBy?: number;
    }
  | { readonly kind: 'config'; readonly field: string }
  | {
      readonly kind: 'task-definition';
      readonly taskDefinition: string;
      readonly container: string;
      /** `containerDefinitions[].environment.DB_PASSWORD`: the variable's name, not its value. */
      readonly field: string;
    };

export interface SecretEvidence {
  /**
   * The secret rule (shared/checks/secrets.ts): `aws-access-key-id`, `private-key`,
   * `docker-config-auth`; `secret-name` for a task definition's credential-named variable.
   */
  readonly rule: string;
  readonly location: SecretLocation;
  /** SHA-256 of the value, lower-case hex: what a suppression names. */
  readonly valueHash: string;
}

export interface CheckResult {
  /** Stable: `BOSUN-IMG-001`, `ecs/privileged`. Never reused for another meaning. */
  readonly id: string;
  readonly severity: CheckSeverity;
  readonly title: string;
  readonly evidence: Evidence;
  readonly remediation: string;
  readonly anchors: readonly Anchor[];
  /** Only on secret results. */
  readonly secret?: SecretEvidence;
}

/** What a check could not do (a layer not read, a budget spent): said, never a silent pass. */
export interface CheckIssue {
  readonly location: string;
  readonly message: string;
}

export interface CheckDefinition {
  readonly id: string;
  readonly severity: CheckSeverity;
  readonly title: string;
  readonly remediation: string;
  readonly anchors: readonly Anchor[];
}
