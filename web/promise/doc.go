// Package promise waits for JavaScript promises from Go under GOOS=js.
package promise
