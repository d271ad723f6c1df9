import { aws_wafv2 as wafv2 } from 'aws-cdk-lib';
import { Construct } from 'constructs';

export interface AuthRateLimitProps {
  readonly albArn: string;
  /** Requests per 5 minutes per client IP to login and signup. */
  readonly limit: number;
}

function pathStartsWith(path: string): wafv2.CfnWebACL.StatementProperty {
  return {
    byteMatchStatement: {
      fieldToMatch: { uriPath: {} },
      positionalConstraint: 'STARTS_WITH',
      searchString: path,
      // Decoded first: Gin routes /api/auth/%6cogin to the login handler,
      // so the raw path must not slip past the rule.
      textTransformations: [
        { priority: 0, type: 'URL_DECODE' },
        { priority: 1, type: 'LOWERCASE' },
      ],
    },
  };
}

function managed(name: string, priority: number): wafv2.CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    overrideAction: { none: {} },
    statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
    visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: name, sampledRequestsEnabled: true },
  };
}

/**
 * WAFv2 WebACL on the ALB: a per-IP rate limit on /api/auth/login and
 * /api/auth/signup (credential stuffing, signup floods), before the
 * application's own per-account limits; plus two AWS managed groups that
 * do not inspect request bodies, so 100 MB uploads pass.
 */
export class AuthRateLimit extends Construct {
  readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: AuthRateLimitProps) {
    super(scope, id);
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'anb-web-acl', sampledRequestsEnabled: true },
      rules: [
        {
          name: 'auth-rate-limit',
          priority: 0,
          action: { block: { customResponse: { responseCode: 429 } } },
          statement: {
            rateBasedStatement: {
              limit: props.limit,
              evaluationWindowSec: 300,
              aggregateKeyType: 'IP',
              scopeDownStatement: {
                orStatement: { statements: [pathStartsWith('/api/auth/login'), pathStartsWith('/api/auth/signup')] },
              },
            },
          },
          visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'auth-rate-limit', sampledRequestsEnabled: true },
        },
        managed('AWSManagedRulesAmazonIpReputationList', 1),
        managed('AWSManagedRulesKnownBadInputsRuleSet', 2),
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.albArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}
