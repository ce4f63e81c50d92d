package ui

import "strings"

// Node is an element (Tag set) or a text node (Tag empty) of a view.
type Node struct {
	Tag      string
	Text     string // a text node's content
	Attrs    []Attr
	Props    []Prop
	Handlers []Handler
	Children []*Node
}

// Attr is an HTML attribute, set with setAttribute.
type Attr struct{ Name, Value string }

// Prop is a DOM property that an attribute does not control once a person
// has interacted, such as an input's value or a checkbox's checked state. A
// render sets it only when the element's current property differs.
type Prop struct {
	Name  string
	Value any // string or bool
}

// Event is the data a listener copies from a DOM event: the target's value
// and checked state, and the key of a keyboard event.
type Event struct {
	Value   string
	Checked bool
	Key     string
}

// Handler turns a DOM event on an element into an application message. With
// PreventDefault the browser's own action (a form submit, say) is cancelled.
type Handler struct {
	Event          string
	PreventDefault bool
	Msg            func(Event) any
}

// Part is anything that can go into El: an Attr, a Prop, a Handler, a child
// *Node, or Children. A nil *Node is skipped, so a child can be conditional.
type Part interface{ apply(*Node) }

func (a Attr) apply(n *Node)    { n.Attrs = append(n.Attrs, a) }
func (p Prop) apply(n *Node)    { n.Props = append(n.Props, p) }
func (h Handler) apply(n *Node) { n.Handlers = append(n.Handlers, h) }
func (c *Node) apply(n *Node) {
	if c != nil {
		n.Children = append(n.Children, c)
	}
}

// Children adds several children (nil ones are skipped).
type Children []*Node

func (cs Children) apply(n *Node) {
	for _, c := range cs {
		c.apply(n)
	}
}

// El builds an element.
func El(tag string, parts ...Part) *Node {
	n := &Node{Tag: tag}
	for _, p := range parts {
		if p != nil {
			p.apply(n)
		}
	}
	return n
}

// Text builds a text node.
func Text(s string) *Node { return &Node{Text: s} }

// A returns an attribute part.
func A(name, value string) Attr { return Attr{name, value} }

// ID, Class and the boolean attributes are shorthands for A.
func ID(id string) Attr { return Attr{"id", id} }

// Class sets the class attribute.
func Class(c string) Attr { return Attr{"class", c} }

// Bool returns the boolean attribute name (present, empty) when on, and
// nothing when off.
func Bool(name string, on bool) Part {
	if !on {
		return nil
	}
	return Attr{name, ""}
}

// Value sets an input's or select's value property.
func Value(v string) Prop { return Prop{"value", v} }

// Checked sets a checkbox's checked property.
func Checked(b bool) Prop { return Prop{"checked", b} }

// On handles a DOM event.
func On(event string, msg func(Event) any) Handler { return Handler{Event: event, Msg: msg} }

// OnSubmit handles a form's submit event and stops the page from navigating.
func OnSubmit(msg func(Event) any) Handler {
	return Handler{Event: "submit", PreventDefault: true, Msg: msg}
}

// Attr returns the value of attribute name.
func (n *Node) Attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// Prop returns the value of property name, or nil.
func (n *Node) Prop(name string) any {
	for _, p := range n.Props {
		if p.Name == name {
			return p.Value
		}
	}
	return nil
}

// Handler returns the handler of event, or nil.
func (n *Node) Handler(event string) *Handler {
	for i := range n.Handlers {
		if n.Handlers[i].Event == event {
			return &n.Handlers[i]
		}
	}
	return nil
}

// Find returns the first node in n's subtree (n included, depth first) with
// the given id, or nil.
func (n *Node) Find(id string) *Node {
	if v, ok := n.Attr("id"); ok && v == id {
		return n
	}
	for _, c := range n.Children {
		if f := c.Find(id); f != nil {
			return f
		}
	}
	return nil
}

// TextContent is the concatenated text of n's subtree, like the DOM's.
func (n *Node) TextContent() string {
	if n.Tag == "" {
		return n.Text
	}
	var b strings.Builder
	for _, c := range n.Children {
		b.WriteString(c.TextContent())
	}
	return b.String()
}
