package bridge

import (
	"context"
	"fmt"
	"sort"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
)

// CheckSearchAttributes asks Temporal (ops is a client's OperatorService())
// whether every attribute of required (name to type, as
// processing.SearchAttributeTypes gives them) is registered on namespace
// with that type. Without them every workflow start is refused,
// so the bridge checks once at start rather than dead-letter every task.
func CheckSearchAttributes(ctx context.Context, ops operatorservice.OperatorServiceClient, namespace string, required map[string]string) error {
	resp, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes of namespace %q: %w", namespace, err)
	}
	names := make([]string, 0, len(required))
	for name := range required {
		names = append(names, name)
	}
	sort.Strings(names)
	var problems []string
	for _, name := range names {
		want, err := enumspb.IndexedValueTypeFromString(required[name])
		if err != nil {
			return fmt.Errorf("search attribute %s: %w", name, err)
		}
		got, ok := resp.GetCustomAttributes()[name]
		if !ok {
			got, ok = resp.GetSystemAttributes()[name]
		}
		create := fmt.Sprintf("temporal operator search-attribute create --namespace %s --name %s --type %s", namespace, name, want)
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("search attribute %s (%s) is not registered in namespace %q; register it with: %s",
				name, want, namespace, create))
		case got != want:
			problems = append(problems, fmt.Sprintf("search attribute %s is registered in namespace %q as %s, not %s; remove it (temporal operator search-attribute remove --namespace %s --name %s) and register it with: %s",
				name, namespace, got, want, namespace, name, create))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("temporal is missing search attributes the bridge sets on every workflow: %s", strings.Join(problems, "; "))
	}
	return nil
}
