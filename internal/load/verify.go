package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"hadron.dev/hadron/internal/demo/demoapi"
)

// Verification compares a run's acknowledged writes with what the service has now.
type Verification struct {
	Client string `json:"client"`
	// Present is how many of the client's seqs the service has.
	Present int64 `json:"present"`
	Acked   int   `json:"acked"`
	// Lost are acknowledged seqs that are missing (should be empty).
	Lost []int64 `json:"lost"`
	// Unacknowledged counts failed writes that were committed anyway (the
	// acknowledgement was lost on the way): not a loss, but worth knowing.
	Unacknowledged int `json:"unacknowledged"`
	// Site and DB answered the read.
	Site string `json:"site"`
	DB   string `json:"db"`
}

// ReadBack asks the service which seqs client has (GET /read).
func ReadBack(ctx context.Context, hc *http.Client, baseURL, client string) (*demoapi.ReadResponse, error) {
	u := strings.TrimRight(baseURL, "/") + "/read?client=" + url.QueryEscape(client)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("read back %s: %w", client, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read back %s: %w", client, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("read back %s: %w", client, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read back %s: HTTP %d: %s", client, resp.StatusCode, errorText(body))
	}
	var r demoapi.ReadResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("read back %s: %w", client, err)
	}
	if err := demoapi.Check(r.Ranges); err != nil {
		return nil, fmt.Errorf("read back %s: %w", client, err)
	}
	return &r, nil
}

// Verify reads the client's seqs back from the service, retrying every half second
// until a read succeeds or ctx ends (after a failover the service may still be coming
// back), and compares them with the run's acknowledged writes.
func Verify(ctx context.Context, hc *http.Client, res *Result) (*Verification, error) {
	if hc == nil {
		hc = NewHTTPClient(5*time.Second, false, nil)
	}
	var last error
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		r, err := ReadBack(rctx, hc, res.URL, res.Client)
		cancel()
		if err == nil {
			return Compare(res, r), nil
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("verify: %w (last error: %v)", ctx.Err(), last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Compare is Verify's pure part: the run's attempts against the seqs read back.
func Compare(res *Result, read *demoapi.ReadResponse) *Verification {
	v := &Verification{Client: res.Client, Site: read.Site, DB: read.DB}
	for _, rg := range read.Ranges {
		v.Present += rg.Len()
	}
	acked := res.AckedSeqs()
	v.Acked = len(acked)
	v.Lost = Lost(acked, read.Ranges)
	for _, s := range res.FailedSeqs() {
		if demoapi.Contains(read.Ranges, s) {
			v.Unacknowledged++
		}
	}
	return v
}
