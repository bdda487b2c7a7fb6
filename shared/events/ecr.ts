/**
 * Amazon ECR's EventBridge "ECR Image Action" event, as AWS documents it:
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html
 * `manifest-media-type` and `artifact-media-type` are present on newer events only.
 */
import * as z from 'zod';

/** `sha256:` and 64 lowercase hex digits; the only algorithm ECR emits. */
export const imageDigest = z
  .string()
  .regex(/^sha256:[a-f0-9]{64}$/, 'an image digest of the form sha256:<64 hex digits>');

// Repository names: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
export const ecrRepositoryName = z
  .string()
  .min(2)
  .max(256)
  .regex(
    /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
    'an ECR repository name',
  );

export const ecrImageActionEvent = z.object({
  version: z.string(),
  id: z.string().min(1),
  'detail-type': z.literal('ECR Image Action'),
  source: z.literal('aws.ecr'),
  account: z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id'),
  time: z.iso.datetime({ offset: true }),
  region: z.string().min(1),
  resources: z.array(z.string()),
  detail: z.object({
    result: z.enum(['SUCCESS', 'FAILURE']),
    'repository-name': ecrRepositoryName,
    'image-digest': imageDigest,
    'action-type': z.enum(['PUSH', 'DELETE']),
    'image-tag': z.string().min(1).max(300).optional(),
    'manifest-media-type': z.string().min(1).optional(),
    'artifact-media-type': z.string().min(1).optional(),
  }),
});

export type EcrImageActionEvent = z.infer<typeof ecrImageActionEvent>;
