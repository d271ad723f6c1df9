#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AnbStack } from '../lib/anb-stack';
import { settingsFromContext } from '../lib/settings';

// Environment-agnostic: no account or region is looked up, so the
// templates synthesize offline; `cdk deploy` fills both in.
const app = new App({ outdir: process.env.CDK_OUTDIR ?? 'cdk.out' });
const stackName = (app.node.tryGetContext('anb:stackName') as string | undefined) ?? 'Anb';
new AnbStack(app, stackName, {
  settings: settingsFromContext(app.node),
  description: 'ANB Rising Stars Showcase: API, worker, PostgreSQL, S3, MSK, monitoring',
});
// cdk-nag's AwsSolutions pack: an unacknowledged finding stops the synthesis.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
