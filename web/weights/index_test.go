package weights

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestVerify(t *testing.T) {
	data := []byte("weights")
	sum := sha256.Sum256(data)
	f := File{Name: "w.safetensors", Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	if err := f.Verify(data); err != nil {
		t.Fatalf("good data: %v", err)
	}
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{[]byte("weight"), "got 6 bytes, models/index.json says 7"},
		{[]byte("Weights"), "does not match models/index.json"},
	} {
		err := f.Verify(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "w.safetensors: ") {
			t.Errorf("Verify(%q) = %v, want an error with %q", tc.data, err, tc.want)
		}
	}
}

const goodHash = "0000000000000000000000000000000000000000000000000000000000000000"

func TestParseIndexErrors(t *testing.T) {
	file := func(name string) string { return `{"name":"` + name + `","size":1,"sha256":"` + goodHash + `"}` }
	files := file(ConfigFile) + "," + file(SchedulerConfigFile) + "," + file(WeightsFile)
	good := `{"models":[{"name":"m","title":"M","note":"n","files":[` + files + `]}]}`
	if idx, err := ParseIndex([]byte(good)); err != nil || idx.Names()[0] != "m" {
		t.Fatalf("good index: %v", err)
	}
	for _, tc := range []struct{ json, want string }{
		{`{"models":[]}`, "no models"},
		{`{"models":[{"name":"../x","title":"M","files":[` + files + `]}]}`, "plain folder name"},
		{`{"models":[{"name":"m","files":[` + files + `]}]}`, "no title"},
		{`{"models":[{"name":"m","title":"M","files":[` + file(ConfigFile) + `]}]}`, `no file "scheduler_config.json"`},
		{`{"models":[{"name":"m","title":"M","files":[` + files + `,{"name":"x","size":0,"sha256":"` + goodHash + `"}]}]}`, `file "x": size 0`},
		{`{"models":[{"name":"m","title":"M","files":[` + files + `,{"name":"x","size":1,"sha256":"ABC"}]}]}`, "64 lower-case hex"},
		{`{"models":[{"name":"m","title":"M","files":[` + files + `]},{"name":"m","title":"M","files":[` + files + `]}]}`, "appears twice"},
		{`{"models":[{"name":"m","title":"M","size":3}]}`, `unknown field "size"`},
		{`[`, "models/index.json: "},
	} {
		_, err := ParseIndex([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseIndex(%s) = %v, want an error with %q", tc.json, err, tc.want)
		}
	}
}
