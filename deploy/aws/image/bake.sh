#!/bin/bash
# Bakes the ANB instance image once, on a fresh Debian 12 (bookworm)
# amd64 instance: everything a boot would otherwise fetch from package
# repositories and "latest" links. Boots then only fetch the release
# (one S3 GET, checked against its SHA-256). deploy/README.md, "The image",
# shows how to run it and turn the instance into the ImageId parameter.
#
# Every version is pinned here; bump one on purpose, bake, and roll the
# new image out like a release (it is health-gated the same way).
set -euo pipefail

REGION=${REGION:?set REGION, the region the image is for}
SSM_AGENT_VERSION=3.3.1802.0
CW_AGENT_VERSION=1.300053.0b1046
KAFKA_VERSION=3.6.2
KAFKA_SCALA=2.13
MSK_IAM_AUTH_VERSION=2.2.0
TEMPORAL_CLI_VERSION=1.5.1
TCLD_VERSION=0.41.0
# Optional checksums: when set, a download that differs stops the bake.
SSM_AGENT_SHA256=${SSM_AGENT_SHA256:-}
CW_AGENT_SHA256=${CW_AGENT_SHA256:-}
RDS_CA_SHA256=${RDS_CA_SHA256:-}

manifest=/etc/anb/image-manifest
mkdir -p /etc/anb
: > "$manifest"
work=$(mktemp -d)
cd "$work"

fetch() { # url file [sha256]
  curl -fsSL --retry 3 -o "$2" "$1"
  local sum
  sum=$(sha256sum "$2" | cut -d' ' -f1)
  if [ -n "${3:-}" ] && [ "$sum" != "$3" ]; then
    echo "checksum of $1: $sum, expected $3" >&2
    exit 1
  fi
  echo "$1 sha256=$sum" >> "$manifest"
}

export DEBIAN_FRONTEND=noninteractive
apt-get update
# ffmpeg 5.1 (the one the benchmarks used), the AWS CLI and the tools the
# boot scripts call; a JRE for the Kafka CLI the first boot creates topics with.
apt-get install -y --no-install-recommends ffmpeg awscli jq curl ca-certificates logrotate default-jre-headless
apt-get upgrade -y
dpkg-query -W -f '${Package} ${Version}\n' ffmpeg awscli default-jre-headless >> "$manifest"

# Agents: Systems Manager (Session Manager, Run Command) and CloudWatch,
# at pinned versions from the region's own buckets.
fetch "https://s3.${REGION}.amazonaws.com/amazon-ssm-${REGION}/${SSM_AGENT_VERSION}/debian_amd64/amazon-ssm-agent.deb" ssm-agent.deb "$SSM_AGENT_SHA256"
dpkg -i ssm-agent.deb
fetch "https://amazoncloudwatch-agent-${REGION}.s3.${REGION}.amazonaws.com/debian/amd64/${CW_AGENT_VERSION}/amazon-cloudwatch-agent.deb" cw-agent.deb "$CW_AGENT_SHA256"
dpkg -i -E cw-agent.deb

# Kafka CLI with the MSK IAM login module, checked against Apache's SHA-512.
kafka=kafka_${KAFKA_SCALA}-${KAFKA_VERSION}
fetch "https://archive.apache.org/dist/kafka/${KAFKA_VERSION}/${kafka}.tgz" kafka.tgz
fetch "https://archive.apache.org/dist/kafka/${KAFKA_VERSION}/${kafka}.tgz.sha512" kafka.tgz.sha512
want=$(tr -d ' \n' < kafka.tgz.sha512 | cut -d: -f2 | tr 'A-F' 'a-f')
[ "$(sha512sum kafka.tgz | cut -d' ' -f1)" = "$want" ] || { echo "kafka tarball checksum mismatch" >&2; exit 1; }
rm -rf /opt/kafka && mkdir -p /opt/kafka && tar -xzf kafka.tgz -C /opt/kafka --strip-components=1
fetch "https://github.com/aws/aws-msk-iam-auth/releases/download/v${MSK_IAM_AUTH_VERSION}/aws-msk-iam-auth-${MSK_IAM_AUTH_VERSION}-all.jar" /opt/kafka/libs/aws-msk-iam-auth.jar
cat > /opt/kafka/config/msk-iam.properties <<'PROPS'
security.protocol=SASL_SSL
sasl.mechanism=AWS_MSK_IAM
sasl.jaas.config=software.amazon.msk.auth.iam.IAMLoginModule required;
sasl.client.callback.handler.class=software.amazon.msk.auth.iam.IAMClientCallbackHandler
PROPS

# Temporal CLI (search attributes on a self-hosted server) and tcld
# (search attributes on Temporal Cloud).
fetch "https://github.com/temporalio/cli/releases/download/v${TEMPORAL_CLI_VERSION}/temporal_cli_${TEMPORAL_CLI_VERSION}_linux_amd64.tar.gz" temporal.tgz
tar -xzf temporal.tgz temporal && install -m 0755 temporal /usr/local/bin/temporal
fetch "https://github.com/temporalio/tcld/releases/download/v${TCLD_VERSION}/tcld_${TCLD_VERSION}_linux_amd64.tar.gz" tcld.tgz
tar -xzf tcld.tgz tcld && install -m 0755 tcld /usr/local/bin/tcld

# The RDS certificate authorities of the region: the services connect to
# the database with sslmode=verify-full against this bundle, so a host that
# answers for the database's name without its certificate is refused.
fetch "https://truststore.pki.rds.amazonaws.com/${REGION}/${REGION}-bundle.pem" rds-ca.pem "$RDS_CA_SHA256"
install -m 0644 rds-ca.pem /etc/anb/rds-ca.pem

# The agents start from the boot's configuration, not before.
systemctl disable amazon-cloudwatch-agent 2>/dev/null || true
apt-get clean
rm -rf "$work" /var/lib/apt/lists/*
# A clean first boot for every instance made from this image.
cloud-init clean --logs
echo "baked $(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$manifest"
cat "$manifest"
