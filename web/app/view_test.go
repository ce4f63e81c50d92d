package app

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vugu/html"
	"github.com/vugu/html/atom"
	"github.com/vugu/vugu"
)

// node is one element or text of a rendered page, as the browser would
// build it: components are expanded and vg-content (escaped HTML) is parsed.
type node struct {
	tag      string // "" for text
	text     string
	attrs    map[string]string
	handlers map[string]func(vugu.DOMEvent)
	kids     []*node
}

// view builds the Page components for s, natively, as the runner does in the
// browser, with post receiving what their event handlers send.
func view(t *testing.T, s *State, post func(any)) *node {
	t.Helper()
	env, err := vugu.NewBuildEnv()
	if err != nil {
		t.Fatal(err)
	}
	if post == nil {
		post = func(msg any) { t.Errorf("an unexpected message %T %v", msg, msg) }
	}
	res := env.RunBuild(&Page{State: s, Post: post})
	return fromBuild(t, res, res.Out)[0]
}

func fromBuild(t *testing.T, res *vugu.BuildResults, out *vugu.BuildOut) []*node {
	t.Helper()
	if len(out.Out) != 1 {
		t.Fatalf("a component built %d top nodes, want 1", len(out.Out))
	}
	var visit func(*vugu.VGNode) []*node
	visit = func(vg *vugu.VGNode) []*node {
		switch {
		case vg.Component != nil:
			return fromBuild(t, res, res.ResultFor(vg.Component))
		case vg.IsTemplate():
			var ns []*node
			for c := vg.FirstChild; c != nil; c = c.NextSibling {
				ns = append(ns, visit(c)...)
			}
			return ns
		case vg.Type == vugu.TextNode:
			return []*node{{text: vg.Data}}
		case vg.Type != vugu.ElementNode:
			return nil
		}
		n := &node{tag: vg.Data, attrs: map[string]string{}, handlers: map[string]func(vugu.DOMEvent){}}
		for _, a := range vg.Attr {
			n.attrs[a.Key] = a.Val
		}
		for _, h := range vg.DOMEventHandlerSpecList {
			n.handlers[h.EventType] = h.Func
		}
		if vg.InnerHTML != nil {
			parent := &html.Node{Type: html.ElementNode, Data: vg.Data, DataAtom: atom.Lookup([]byte(vg.Data))}
			parts, err := html.ParseFragment(strings.NewReader(*vg.InnerHTML), parent)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range parts {
				n.kids = append(n.kids, fromHTML(p))
			}
			return []*node{n}
		}
		for c := vg.FirstChild; c != nil; c = c.NextSibling {
			n.kids = append(n.kids, visit(c)...)
		}
		return []*node{n}
	}
	return visit(out.Out[0])
}

func fromHTML(h *html.Node) *node {
	if h.Type == html.TextNode {
		return &node{text: h.Data}
	}
	n := &node{tag: h.Data, attrs: map[string]string{}}
	for _, a := range h.Attr {
		n.attrs[a.Key] = a.Val
	}
	for c := h.FirstChild; c != nil; c = c.NextSibling {
		n.kids = append(n.kids, fromHTML(c))
	}
	return n
}

// find returns the first node with the given id (depth first), or nil.
func (n *node) find(id string) *node {
	if n.tag != "" && n.attrs["id"] == id {
		return n
	}
	for _, k := range n.kids {
		if f := k.find(id); f != nil {
			return f
		}
	}
	return nil
}

func (n *node) textContent() string {
	if n.tag == "" {
		return n.text
	}
	var b strings.Builder
	for _, k := range n.kids {
		b.WriteString(k.textContent())
	}
	return b.String()
}

// path is the tags from the root to the node with id, with each one's index
// among its parent's children: what a positional DOM patcher matches on.
func (n *node) path(id string) []string {
	if n.tag != "" && n.attrs["id"] == id {
		return []string{n.tag}
	}
	for i, k := range n.kids {
		if p := k.path(id); p != nil {
			return append([]string{n.tag + "/" + string(rune('0'+i))}, p...)
		}
	}
	return nil
}

// The controls' handlers only post the message that Update takes.
func TestControlsPostMessages(t *testing.T) {
	s := start(t, "", 2)
	var got []any
	v := view(t, s, func(msg any) { got = append(got, msg) })
	change := func(value string) vugu.DOMEvent {
		return vugu.NewDOMEvent(nil, map[string]any{"target": map[string]any{"value": value}})
	}
	for _, tc := range []struct {
		id, event, value string
		want             any
	}{
		{"model", "change", "other", SetModel("other")},
		{"scheduler", "change", "euler", SetScheduler("euler")},
		{"steps", "change", "12", SetSteps("12")},
		{"batch", "change", "3", SetBatch("3")},
		{"eta", "change", "0.5", SetEta("0.5")},
		{"seed", "change", "<b>7</b>", SetSeed("<b>7</b>")},
		{"copy-embed", "click", "", CopyEmbed{}},
	} {
		got = nil
		h := v.find(tc.id).handlers[tc.event]
		if h == nil {
			t.Errorf("#%s has no %s handler", tc.id, tc.event)
			continue
		}
		h(change(tc.value))
		if !reflect.DeepEqual(got, []any{tc.want}) {
			t.Errorf("#%s %s: posted %v, want %v", tc.id, tc.event, got, tc.want)
		}
		if id := CommittedControl(tc.want); id != tc.id && tc.event == "change" {
			t.Errorf("CommittedControl(%T) = %q, want %q", tc.want, id, tc.id)
		}
	}
	got = nil
	v.find("random-seed").handlers["click"](change(""))
	if len(got) != 1 || uint64(got[0].(RandomSeed)) > maxSeed {
		t.Errorf("Random posted %v", got)
	}
	if v.find("controls").handlers["submit"] == nil {
		t.Error("the form has no submit handler")
	}
}

// The controls keep their place in the DOM whatever notices, errors, rate
// lines or embed code come and go, so a render never rebuilds (and takes
// the focus from) the field a person is in.
func TestControlsKeepTheirPlace(t *testing.T) {
	quiet := start(t, "", 2)
	busy := start(t, "steps=-5&seed=x", 2)
	Update(busy, ModelLoaded{Model: "butterflies-32", Err: errContent("bad file")}, t0)
	Update(busy, CopyEmbed{}, t0)
	for _, id := range []string{"model", "scheduler", "steps", "batch", "eta", "seed", "random-seed", "run", "copy-embed", "status"} {
		a, b := view(t, quiet, nil).path(id), view(t, busy, nil).path(id)
		if a == nil || !reflect.DeepEqual(a, b) {
			t.Errorf("#%s moves: %v without notices, %v with them", id, a, b)
		}
	}
}

type errContent string

func (e errContent) Error() string { return string(e) }

// Values are shown by attribute too, so that the page's first render (and
// this test) has them; the runner's Inputs keeps the properties in step.
func TestControlValues(t *testing.T) {
	s := start(t, "scheduler=euler&steps=12&seed=5&batch=3&eta=0.3", 2)
	v := view(t, s, nil)
	for id, want := range map[string]string{"steps": "12", "batch": "3", "seed": "5", "eta": "0"} {
		if got := v.find(id).attrs["value"]; got != want {
			t.Errorf("#%s value %q, want %q", id, got, want)
		}
	}
	var selected []string
	for _, id := range []string{"model", "scheduler"} {
		for _, o := range v.find(id).kids {
			if _, ok := o.attrs["selected"]; ok && o.tag == "option" {
				selected = append(selected, o.attrs["value"])
			}
		}
	}
	if want := []string{"butterflies-32", "euler"}; !reflect.DeepEqual(selected, want) {
		t.Errorf("selected options %v, want %v", selected, want)
	}
	if got := v.find("model-hint").textContent(); got != index.Models[0].Note {
		t.Errorf("model note %q", got)
	}
}
