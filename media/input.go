package media

import "strings"

// IsURL reports whether an input is read over HTTP (a presigned link to
// the original) rather than from a local file.
func IsURL(input string) bool {
	return strings.HasPrefix(input, "http://") || strings.HasPrefix(input, "https://")
}

// networkInputArgs are the input options of an HTTP input: a dropped
// connection is resumed at the offset it reached (S3 answers ranged GETs)
// instead of ending the read early, which ffmpeg would take for the end of
// the file. Local files get none.
func networkInputArgs(input string) []string {
	if !IsURL(input) {
		return nil
	}
	return []string{"-reconnect", "1", "-reconnect_on_network_error", "1", "-reconnect_delay_max", "4"}
}
