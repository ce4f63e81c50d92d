//go:build js && wasm

package ui

import "syscall/js"

// Tree is a view mounted in the page. Only the goroutine that owns the
// application state may call Render and Message.
type Tree struct {
	parent js.Value
	top    *mounted
	inbox  *Inbox
	// committed is the element whose change event was just handled: the
	// next render sets its properties even though it has the focus, so a
	// clamped or refused value shows at once.
	committed *mounted
}

// mounted mirrors one DOM node and the view node it shows now.
type mounted struct {
	el        js.Value
	node      *Node
	kids      []*mounted
	listeners map[listenerKey]js.Func
}

type listenerKey struct {
	event   string
	prevent bool
}

// Raw is a DOM event as a listener saw it, posted to the inbox for the state
// goroutine, which passes it to Tree.Message.
type Raw struct {
	target *mounted
	event  string
	data   Event
}

// Mount prepares a tree that renders into parent (whose children it owns)
// and posts its DOM events, as Raw values, to inbox.
func Mount(parent js.Value, inbox *Inbox) *Tree {
	return &Tree{parent: parent, inbox: inbox}
}

// Message returns what the handler of the current view makes of r; ok is
// false when the element or its handler has gone since the event fired.
func (t *Tree) Message(r Raw) (msg any, ok bool) {
	h := r.target.node.Handler(r.event)
	if h == nil || h.Msg == nil || !r.target.el.Get("isConnected").Truthy() {
		return nil, false
	}
	if r.event == "change" {
		t.committed = r.target
	}
	return h.Msg(r.data), true
}

// Render shows view, patching the DOM of the previous render in place.
func (t *Tree) Render(view *Node) {
	defer func() { t.committed = nil }()
	if t.top == nil {
		t.top = t.create(view)
		t.parent.Call("replaceChildren", t.top.el)
		return
	}
	t.top = t.patch(t.top, view)
}

var document = js.Global().Get("document")

func (t *Tree) create(n *Node) *mounted {
	m := &mounted{node: n}
	if n.Tag == "" {
		m.el = document.Call("createTextNode", n.Text)
		return m
	}
	m.el = document.Call("createElement", n.Tag)
	for _, a := range n.Attrs {
		m.el.Call("setAttribute", a.Name, a.Value)
	}
	for _, p := range n.Props {
		m.el.Set(p.Name, p.Value)
	}
	t.listen(m, n)
	for _, c := range n.Children {
		k := t.create(c)
		m.kids = append(m.kids, k)
		m.el.Call("appendChild", k.el)
	}
	return m
}

// patch makes m show n and returns the mounted node that does (m itself, or
// a replacement when the tag changed).
func (t *Tree) patch(m *mounted, n *Node) *mounted {
	old := m.node
	if old.Tag != n.Tag {
		fresh := t.create(n)
		m.el.Get("parentNode").Call("replaceChild", fresh.el, m.el)
		release(m)
		return fresh
	}
	m.node = n
	if n.Tag == "" {
		if old.Text != n.Text {
			m.el.Set("nodeValue", n.Text)
		}
		return m
	}
	for _, a := range old.Attrs {
		if _, ok := n.Attr(a.Name); !ok {
			m.el.Call("removeAttribute", a.Name)
		}
	}
	for _, a := range n.Attrs {
		if v, ok := old.Attr(a.Name); !ok || v != a.Value {
			m.el.Call("setAttribute", a.Name, a.Value)
		}
	}
	t.setProps(m, old, n)
	t.listen(m, n)
	for i, c := range n.Children {
		if i < len(m.kids) {
			m.kids[i] = t.patch(m.kids[i], c)
			continue
		}
		k := t.create(c)
		m.kids = append(m.kids, k)
		m.el.Call("appendChild", k.el)
	}
	for _, k := range m.kids[len(n.Children):] {
		m.el.Call("removeChild", k.el)
		release(k)
	}
	m.kids = m.kids[:len(n.Children)]
	return m
}

// setProps brings the element's properties to n's. A focused element keeps
// what the person is typing unless the view's value itself changed or the
// person has just committed it.
func (t *Tree) setProps(m *mounted, old, n *Node) {
	focused := m.el.Equal(document.Get("activeElement"))
	for _, p := range n.Props {
		if sameProp(m.el.Get(p.Name), p.Value) {
			continue
		}
		if focused && m != t.committed && old.Prop(p.Name) == p.Value {
			continue
		}
		m.el.Set(p.Name, p.Value)
	}
}

func sameProp(cur js.Value, want any) bool {
	switch w := want.(type) {
	case string:
		return cur.Type() == js.TypeString && cur.String() == w
	case bool:
		return cur.Type() == js.TypeBoolean && cur.Bool() == w
	}
	return false
}

// listen makes m's listeners match n's handlers. A listener only copies the
// event's data and queues it; it never blocks the browser.
func (t *Tree) listen(m *mounted, n *Node) {
	want := map[listenerKey]bool{}
	for _, h := range n.Handlers {
		want[listenerKey{h.Event, h.PreventDefault}] = true
	}
	for k, f := range m.listeners {
		if !want[k] {
			m.el.Call("removeEventListener", k.event, f)
			f.Release()
			delete(m.listeners, k)
		}
	}
	for k := range want {
		if _, ok := m.listeners[k]; ok {
			continue
		}
		if m.listeners == nil {
			m.listeners = map[listenerKey]js.Func{}
		}
		f := js.FuncOf(func(this js.Value, args []js.Value) any {
			e := args[0]
			if k.prevent {
				e.Call("preventDefault")
			}
			t.inbox.Post(Raw{target: m, event: k.event, data: eventData(e)})
			return nil
		})
		m.listeners[k] = f
		m.el.Call("addEventListener", k.event, f)
	}
}

func eventData(e js.Value) Event {
	var d Event
	tgt := e.Get("currentTarget")
	if v := tgt.Get("value"); v.Type() == js.TypeString {
		d.Value = v.String()
	}
	if c := tgt.Get("checked"); c.Type() == js.TypeBoolean {
		d.Checked = c.Bool()
	}
	if k := e.Get("key"); k.Type() == js.TypeString {
		d.Key = k.String()
	}
	return d
}

// release frees the listeners of a removed subtree.
func release(m *mounted) {
	for k, f := range m.listeners {
		m.el.Call("removeEventListener", k.event, f)
		f.Release()
	}
	m.listeners = nil
	for _, k := range m.kids {
		release(k)
	}
}
