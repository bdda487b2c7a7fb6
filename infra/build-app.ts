import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { BosunStack, type BosunStackProps } from './bosun-stack.js';

export const STACK_NAME = 'Bosun';

/**
 * Builds the CDK app with cdk-nag's AWS Solutions checks attached, so every synth, the CLI's
 * and the tests', fails on an unacknowledged finding.
 */
export function buildApp(
  appProps: AppProps = {},
  stackProps: BosunStackProps = {},
): { app: App; stack: BosunStack } {
  const app = new App(appProps);
  const stack = new BosunStack(app, STACK_NAME, {
    description: 'Bosun: container image vulnerability scanning',
    ...stackProps,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
