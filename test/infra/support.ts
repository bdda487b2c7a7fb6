import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../infra/build-app.js';
import type { ImageScannerProps } from '../../infra/constructs/image-scanner.js';

/** Lambda bundling is skipped: these tests are about resources, and bundling is slow. */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

export function synthScanner(scanner: ImageScannerProps = {}, region = 'eu-west-1') {
  const { app, stack } = buildApp(
    { context: SKIP_BUNDLING },
    { scanner, env: { account: '123456789012', region } },
  );
  return { app, stack, template: Template.fromStack(stack) };
}
