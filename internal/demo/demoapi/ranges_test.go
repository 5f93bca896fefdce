package demoapi

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestCompress(t *testing.T) {
	tests := []struct {
		name string
		in   []int64
		want []Range
	}{
		{"empty", nil, []Range{}},
		{"one", []int64{7}, []Range{{7, 7}}},
		{"run", []int64{1, 2, 3, 4}, []Range{{1, 4}}},
		{"gaps", []int64{1, 2, 4, 6, 7, 8}, []Range{{1, 2}, {4, 4}, {6, 8}}},
		{"unsorted with duplicates", []int64{5, 3, 4, 3, 10, 9}, []Range{{3, 5}, {9, 10}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compress(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Compress(%v) = %v, want %v", tt.in, got, tt.want)
			}
			if err := Check(got); err != nil {
				t.Fatalf("Check(Compress) = %v", err)
			}
		})
	}
}

func TestExpandAndContains(t *testing.T) {
	rs := []Range{{1, 3}, {7, 7}, {10, 12}}
	got, err := Expand(rs, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{1, 2, 3, 7, 10, 11, 12}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Expand = %v, want %v", got, want)
	}
	for _, c := range []struct {
		seq  int64
		want bool
	}{{0, false}, {1, true}, {3, true}, {4, false}, {7, true}, {9, false}, {12, true}, {13, false}} {
		if g := Contains(rs, c.seq); g != c.want {
			t.Errorf("Contains(%d) = %v, want %v", c.seq, g, c.want)
		}
	}
	if _, err := Expand(rs, 6); err == nil {
		t.Error("Expand over the limit: want an error")
	}
	if _, err := Expand([]Range{{1, 9223372036854775807}, {9223372036854775807, 9223372036854775807}}, 100); err == nil {
		t.Error("Expand of a huge range: want an error")
	}
}

func TestCheckRejectsMalformed(t *testing.T) {
	for name, rs := range map[string][]Range{
		"reversed":    {{5, 3}},
		"overlapping": {{1, 5}, {5, 8}},
		"unsorted":    {{10, 12}, {1, 2}},
		"below one":   {{0, 2}},
		"whole int64": {{-9223372036854775808, 9223372036854775807}},
	} {
		if err := Check(rs); err == nil {
			t.Errorf("%s: Check(%v) = nil, want an error", name, rs)
		}
	}
}

func TestRangeJSON(t *testing.T) {
	b, err := json.Marshal(ReadResponse{Client: "c", Count: 3, Max: 5, Ranges: []Range{{1, 2}, {5, 5}}})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"client":"c","count":3,"max":5,"ranges":[[1,2],[5,5]],"site":"","db":""}`
	if string(b) != want {
		t.Fatalf("JSON = %s, want %s", b, want)
	}
}
