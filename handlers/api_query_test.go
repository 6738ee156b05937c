package handlers

import (
	"encoding/json"
	"net/url"
	"testing"
)

func TestBracketFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query   string
		want    string // JSON; "" = no filter
		wantErr bool
	}{
		{"limit=1", "", false},
		{"filter[title][_eq]=Hi", `{"title":{"_eq":"Hi"}}`, false},
		{"filter[user_created][id][_eq]=u1&filter[title][_contains]=x", `{"title":{"_contains":"x"},"user_created":{"id":{"_eq":"u1"}}}`, false},
		{"filter[_or][1][id][_eq]=2&filter[_or][0][id][_eq]=1", `{"_or":[{"id":{"_eq":"1"}},{"id":{"_eq":"2"}}]}`, false},
		{"filter[_and][0][_or][0][id][_eq]=1", `{"_and":[{"_or":[{"id":{"_eq":"1"}}]}]}`, false},
		{"filter[_or][0][id][_eq]=1&filter[_or][2][id][_eq]=2", `{"_or":{"0":{"id":{"_eq":"1"}},"2":{"id":{"_eq":"2"}}}}`, false},
		{"filter[id][_in][]=1&filter[id][_in][]=2", `{"id":{"_in":["1","2"]}}`, false},
		{"filter[id][_in]=1&filter[id][_in]=2", `{"id":{"_in":["1","2"]}}`, false},
		{"filter[id][_in]=1,2", `{"id":{"_in":"1,2"}}`, false},
		{"filter[id]=1&filter[id][_eq]=2", "", true},
		{"filter[id", "", true},
		{"filter[]=1", "", true},
		{"filter[id][][_eq]=1", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := bracketFilter(q)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if tt.want == "" {
				if got != nil {
					t.Fatalf("filter %v, want none", got)
				}
				return
			}
			raw, _ := json.Marshal(got)
			if string(raw) != tt.want {
				t.Fatalf("filter %s, want %s", raw, tt.want)
			}
		})
	}
}

func TestReplaceVars(t *testing.T) {
	t.Parallel()
	in := map[string]any{"_or": []any{map[string]any{"user_created": map[string]any{"_eq": "$CURRENT_USER"}},
		map[string]any{"title": map[string]any{"_in": []any{"$CURRENT_USER.id", "$NOT_A_VAR"}}}}}
	out := replaceVars(in, map[string]any{"$CURRENT_USER": "u1", "$CURRENT_USER.id": "u1"})
	raw, _ := json.Marshal(out)
	if want := `{"_or":[{"user_created":{"_eq":"u1"}},{"title":{"_in":["u1","$NOT_A_VAR"]}}]}`; string(raw) != want {
		t.Fatalf("got %s, want %s", raw, want)
	}
	if raw, _ := json.Marshal(in); string(raw) == `{"_or":[{"user_created":{"_eq":"u1"}},{"title":{"_in":["u1","$NOT_A_VAR"]}}]}` {
		t.Fatal("the input was modified")
	}
}
