package cli

import "strings"

// WithoutName is an error message about name without name in front: lower layers name
// what failed, and a report that prints the name beside the message would say it twice
// ("east-0: east-0: connection refused").
func WithoutName(name, msg string) string {
	return strings.TrimPrefix(msg, name+": ")
}
