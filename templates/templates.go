// Package templates embeds codedesk's templates: email/ holds the reply
// (text/template for text/plain, html/template for text/html) and web/ the
// staff desk's pages. A Go file must live here because //go:embed patterns
// cannot reach into parent directories.
package templates

import "embed"

// FS holds every template file, parsed once at start-up by its user.
//
//go:embed email web
var FS embed.FS
