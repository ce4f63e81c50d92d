// Package ui is the demo's small component layer, in the spirit of Vugu:
// state, then render; DOM event, then channel, then state.
//
// A view is a plain Go tree of Nodes, built by functions of the application
// state (node.go, no syscall/js, so views are tested natively). Under
// GOOS=js, a Tree mounts a view into the page and patches the DOM in place
// when a new view is rendered, so focus, caret and scroll survive a render.
// Text always goes in as text nodes and attributes through setAttribute:
// nothing is ever parsed as HTML.
//
// Events: a DOM listener only copies the event's data and posts it to an
// Inbox, which never blocks; the goroutine that owns the state takes it from
// the Inbox, asks Tree.Message for the message that the current view's
// handler makes of it, updates the state and renders again.
package ui
