package profiles

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

const schemaFile = "../docs/profile.schema.json"

// schemaChecker validates a JSON value against the subset of JSON Schema 2020-12 that
// docs/profile.schema.json uses. go.mod has no schema library and this package may not add
// one; the subset is small, and a keyword the checker does not know is an error rather than
// ignored, so the schema cannot grow past what is checked.
type schemaChecker struct {
	root map[string]any
}

// annotations are keywords that do not constrain a value.
var annotations = []string{"$schema", "$id", "$defs", "title", "description"}

func (c *schemaChecker) check(schema map[string]any, v any, at string) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	keys := make([]string, 0, len(schema))
	for k := range schema {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic messages
	obj, isObj := v.(map[string]any)
	arr, isArr := v.([]any)
	for _, k := range keys {
		kw := schema[k]
		switch k {
		case "$ref":
			ref := kw.(string)
			name, ok := strings.CutPrefix(ref, "#/$defs/")
			def, found := c.root["$defs"].(map[string]any)[name].(map[string]any)
			if !ok || !found {
				fail("unresolvable $ref %q", ref)
				continue
			}
			errs = append(errs, c.check(def, v, at)...)
		case "type":
			if !hasType(v, kw.(string)) {
				fail("%v is not of type %s", v, kw)
			}
		case "enum":
			if !slices.ContainsFunc(kw.([]any), func(e any) bool { return jsonEqual(e, v) }) {
				fail("%v is not one of %v", v, kw)
			}
		case "minimum", "maximum":
			n, ok := v.(json.Number)
			if !ok {
				continue
			}
			x, _ := n.Float64()
			lim, _ := kw.(json.Number).Float64()
			if (k == "minimum" && x < lim) || (k == "maximum" && x > lim) {
				fail("%v is beyond %s %v", v, k, lim)
			}
		case "minLength":
			lim, _ := kw.(json.Number).Int64()
			if s, ok := v.(string); ok && int64(utf8.RuneCountInString(s)) < lim {
				fail("%q is shorter than %d", s, lim)
			}
		case "pattern":
			if s, ok := v.(string); ok && !regexp.MustCompile(kw.(string)).MatchString(s) {
				fail("%q does not match %s", s, kw)
			}
		case "properties":
			props := kw.(map[string]any)
			for name, val := range obj {
				if sub, ok := props[name]; ok {
					errs = append(errs, c.check(sub.(map[string]any), val, at+"."+name)...)
				}
			}
		case "additionalProperties":
			if kw != false {
				fail("schema: only additionalProperties: false is supported")
				continue
			}
			props, _ := schema["properties"].(map[string]any)
			for name := range obj {
				if _, ok := props[name]; !ok {
					fail("unknown property %q", name)
				}
			}
		case "required":
			for _, r := range kw.([]any) {
				if _, ok := obj[r.(string)]; isObj && !ok {
					fail("missing required %q", r)
				}
			}
		case "dependentRequired":
			for key, needs := range kw.(map[string]any) {
				if _, ok := obj[key]; !ok {
					continue
				}
				for _, r := range needs.([]any) {
					if _, ok := obj[r.(string)]; !ok {
						fail("%q requires %q", key, r)
					}
				}
			}
		case "anyOf":
			matched := false
			for _, alt := range kw.([]any) {
				if len(c.check(alt.(map[string]any), v, at)) == 0 {
					matched = true
					break
				}
			}
			if !matched {
				fail("%v matches none of anyOf", v)
			}
		case "items", "prefixItems":
			for i, item := range arr {
				var sub any
				if k == "items" {
					sub = kw
				} else if p := kw.([]any); i < len(p) {
					sub = p[i]
				}
				if sub != nil {
					errs = append(errs, c.check(sub.(map[string]any), item, fmt.Sprintf("%s[%d]", at, i))...)
				}
			}
		case "minItems", "maxItems":
			lim, _ := kw.(json.Number).Int64()
			if isArr && ((k == "minItems" && int64(len(arr)) < lim) || (k == "maxItems" && int64(len(arr)) > lim)) {
				fail("%d items, %s %d", len(arr), k, lim)
			}
		default:
			if !slices.Contains(annotations, k) {
				fail("schema keyword %q is not supported by this checker", k)
			}
		}
	}
	return errs
}

func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		return ok && !strings.ContainsAny(n.String(), ".eE")
	case "boolean":
		_, ok := v.(bool)
		return ok
	}
	return false
}

// jsonEqual compares decoded JSON values; numbers compare by value (0 and 0.0 are equal).
func jsonEqual(a, b any) bool {
	if x, ok := a.(json.Number); ok {
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		fx, _ := x.Float64()
		fy, _ := y.Float64()
		return fx == fy
	}
	return reflect.DeepEqual(a, b)
}

func decodeJSON(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keeps integers (a seed up to 2^64-1) apart from floats
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode: %v\n%s", err, data)
	}
	return v
}

func loadSchema(t *testing.T) *schemaChecker {
	t.Helper()
	data, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	root, ok := decodeJSON(t, data).(map[string]any)
	if !ok || root["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("%s is not a draft 2020-12 schema", schemaFile)
	}
	return &schemaChecker{root: root}
}

func TestSchemaAcceptsProfiles(t *testing.T) {
	c := loadSchema(t)
	var profiles []*Profile
	for _, name := range BuiltinNames() {
		profiles = append(profiles, mustBuiltin(t, name))
	}
	kinds, err := Parse([]byte(kindsYAML), "kinds.yaml")
	if err != nil {
		t.Fatal(err)
	}
	profiles = append(profiles, kinds)
	for _, p := range profiles {
		js, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if errs := c.check(c.root, decodeJSON(t, js), p.Name); len(errs) > 0 {
			t.Errorf("%s does not match the schema:\n%s\n%s", p.Name, strings.Join(errs, "\n"), js)
		}
	}
}

// The checker must refuse what the schema forbids, or the test above proves nothing.
func TestSchemaRefuses(t *testing.T) {
	c := loadSchema(t)
	base := `{"name":"x","phases":[%s],"client":{"timeout":"1s","retry":{"policy":"none"}}}`
	tests := []struct {
		phase, want string
	}{
		{`{"name":"a","duration":"1s","rate":1,"rat":2}`, `unknown property "rat"`},
		{`{"name":"a","duration":"1 sec","rate":1}`, "does not match"},
		{`{"name":"a","duration":"1s","rate":-1}`, "beyond minimum"},
		{`{"name":"a","duration":"1s","rate":"1"}`, "not of type number"},
		{`{"name":"a","duration":"1s","from":1,"to":2,"growth":"quadratic"}`, "not one of"},
		{`{"name":"a","duration":"1s","from":1,"to":2,"steps":1.5}`, "not of type integer"},
		{`{"name":"a","duration":"1s","from":1,"to":2,"steps":0}`, "beyond minimum"},
		{`{"name":"a","duration":"1s","from":1}`, `"from" requires "to"`},
		{`{"name":"a","duration":"1s","rate":1,"amplitude":1}`, `"amplitude" requires "period"`},
		{`{"name":"a","duration":"1s","rate":1,"spike":5,"spike_for":"1s"}`, `"spike" requires "spike_at"`},
		{`{"name":"a","points":[["0s",1],["1s",2,3]]}`, "3 items"},
		{`{"name":"a","points":[["0s",1]]}`, "1 items"},
		{`{"name":"a","rate":1}`, "none of anyOf"},
		{`{"name":"a","duration":"1s","rate":1,"repeat":0}`, "beyond minimum"},
		// The bounds of TestBounds, as the schema states them.
		{`{"name":"a","duration":"1s","rate":1000001}`, "beyond maximum"},
		{`{"name":"a","duration":"1s","users":100001}`, "beyond maximum"},
	}
	for _, tt := range tests {
		doc := fmt.Sprintf(base, tt.phase)
		errs := strings.Join(c.check(c.root, decodeJSON(t, []byte(doc)), "p"), "\n")
		if !strings.Contains(errs, tt.want) {
			t.Errorf("%s: errors %q, want %q", tt.phase, errs, tt.want)
		}
	}
	for _, doc := range []string{
		`{"phases":[{"duration":"1s","rate":1}],"client":{"retry":{"policy":"sometimes"}}}`,
		`{"phases":[{"duration":"1s","rate":1}],"seed":-1}`,
		`{"phases":[{"duration":"1s","rate":1}],"request":{"path":"api"}}`,
		`{"name":"no phases"}`,
		`{"phases":[{"duration":"1s","rate":1}],"client":{"retry":{"policy":"immediate","max_attempts":101}}}`,
		`{"phases":[` + strings.Repeat(`{"duration":"1s","rate":1},`, MaxPhases) + `{"duration":"1s","rate":1}]}`,
	} {
		if errs := c.check(c.root, decodeJSON(t, []byte(doc)), "p"); len(errs) == 0 {
			t.Errorf("%s: accepted", doc)
		}
	}
}

// Every field of the profile's JSON form must be in the schema, where it belongs, so that
// a field added to the Go types without the schema fails here.
func TestSchemaCoversEveryField(t *testing.T) {
	c := loadSchema(t)
	var walk func(typ reflect.Type, schema map[string]any, at string)
	walk = func(typ reflect.Type, schema map[string]any, at string) {
		for ref, ok := schema["$ref"].(string); ok; ref, ok = schema["$ref"].(string) {
			schema = c.root["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		}
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
			if items, ok := schema["items"].(map[string]any); ok {
				schema = items
				for ref, ok := schema["$ref"].(string); ok; ref, ok = schema["$ref"].(string) {
					schema = c.root["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
				}
			}
		}
		if typ.Kind() != reflect.Struct || typ == reflect.TypeOf(Point{}) {
			return
		}
		props, _ := schema["properties"].(map[string]any)
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			sub, ok := props[name].(map[string]any)
			if !ok && (at+"."+name == "profile.client.name" || at+"."+name == "profile.client.share") {
				continue // only groups of clients have a name and share; Parse refuses them on client
			}
			if !ok {
				t.Errorf("%s.%s (%s) is not in the schema", at, name, typ.Field(i).Name)
				continue
			}
			walk(typ.Field(i).Type, sub, at+"."+name)
		}
	}
	walk(reflect.TypeOf(Profile{}), c.root, "profile")
}

// The examples in docs/profiles.md must parse, or the documentation teaches errors.
func TestDocExamplesParse(t *testing.T) {
	data, err := os.ReadFile("../docs/profiles.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(data), -1)
	if len(blocks) < 8 {
		t.Fatalf("%d yaml examples, want one per phase kind", len(blocks))
	}
	for _, b := range blocks {
		// A block that is a list item is a phase; any other is a whole profile.
		doc := b[1]
		if strings.HasPrefix(doc, "- ") {
			doc = "phases:\n" + regexp.MustCompile("(?m)^").ReplaceAllString(doc, "  ")
		}
		if _, err := Parse([]byte(doc), "docs/profiles.md"); err != nil {
			t.Errorf("%v\n%s", err, doc)
		}
	}
}
