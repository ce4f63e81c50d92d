package ui

import "testing"

func TestEl(t *testing.T) {
	var missing *Node
	n := El("form", ID("f"), Class("controls"), OnSubmit(func(Event) any { return "run" }),
		El("label", A("for", "steps"), Text("Steps")),
		El("input", ID("steps"), Value("25"), Bool("disabled", false), Bool("required", true)),
		missing,
		Children{Text(" and "), nil, El("b", Text("more"))},
	)
	if got := n.TextContent(); got != "Steps and more" {
		t.Errorf("TextContent = %q", got)
	}
	in := n.Find("steps")
	if in == nil {
		t.Fatal("Find(steps) = nil")
	}
	if _, ok := in.Attr("disabled"); ok {
		t.Error("Bool(false) added the attribute")
	}
	if v, ok := in.Attr("required"); !ok || v != "" {
		t.Error("Bool(true) did not add the attribute")
	}
	if in.Prop("value") != "25" {
		t.Errorf("value prop = %v", in.Prop("value"))
	}
	h := n.Handler("submit")
	if h == nil || !h.PreventDefault || h.Msg(Event{}) != "run" {
		t.Errorf("submit handler = %+v", h)
	}
	if len(n.Children) != 4 {
		t.Errorf("%d children, want 4 (nil ones skipped)", len(n.Children))
	}
	if n.Find("nothing") != nil || n.Handler("click") != nil {
		t.Error("found what is not there")
	}
}
