package settings

import (
	"fmt"
	"html"
)

// The embedded demo's frame size: the compact layout (embed=1) is designed
// for this width, and this height shows the controls and the viewer without
// an inner scrollbar.
const (
	EmbedWidth  = 480
	EmbedHeight = 600
)

// EmbedCode returns the <iframe> snippet that embeds pageURL (the demo page,
// without a query) with these settings in the compact layout. Attribute
// values are HTML-escaped, so the snippet is safe to paste into a page.
func EmbedCode(pageURL string, s Settings) string {
	s.Embed = true
	src := pageURL + "?" + s.Encode()
	return fmt.Sprintf(`<iframe src="%s" width="%d" height="%d" style="border:0;max-width:100%%" title="Chrysalis: a diffusion model turning noise into butterflies" loading="lazy"></iframe>`,
		html.EscapeString(src), EmbedWidth, EmbedHeight)
}
