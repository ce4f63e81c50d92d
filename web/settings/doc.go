// Package settings is the demo's embed API: the sampling settings a person
// picks (model, scheduler, steps, seed, batch, DDIM eta) plus the page flags
// (autorun, embed), their validation from URL parameters, their encoding back
// into a URL so that a copied link reproduces a run, and the <iframe> snippet
// that embeds the demo in course notes.
//
// Every value is validated and clamped; each parameter that was changed or
// refused yields a Notice, which the page shows as plain text. The package has
// no syscall/js, so its rules are tested natively.
package settings
