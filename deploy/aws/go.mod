// deploy/aws is TypeScript (AWS CDK). This file keeps the Go files that npm
// packages ship under node_modules (the CDK CLI's project templates) out of
// the service's module, so `go list ./...` and `go vet ./...` never see them.
module github.com/anb-showcase/anb/deploy/aws

go 1.26
