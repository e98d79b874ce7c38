package proxy

import (
	"context"
	"crypto/subtle"
	"encoding/json"

	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

// AddToxic implements the controller interface link faults use (see
// Remote): in process, ctx bounds nothing.
func (p *Proxy) AddToxic(_ context.Context, t Toxic) (string, error) { return p.Add(t) }

// RemoveToxic implements the controller interface link faults use.
func (p *Proxy) RemoveToxic(_ context.Context, id string) error { return p.Remove(id) }

// Listed is one active toxic as the admin API lists it.
type Listed struct {
	ID   string `json:"id"`
	Spec Spec   `json:"toxic"`
}

// AdminHandler serves a proxy's toxics over HTTP, for a proxy that runs in
// another process than the harness (a sidecar beside a caller):
//
//	GET    /toxics       the active toxics, [{"id", "toxic": Spec}]
//	POST   /toxics       add one (body: Spec) → 201 {"id"}; 400 names what is wrong
//	DELETE /toxics/{id}  remove one (an unknown id is not an error) → 204
//	DELETE /toxics       remove all → 204
//
// With a token, every request must carry "Authorization: Bearer TOKEN".
func AdminHandler(p *Proxy, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /toxics", func(w http.ResponseWriter, _ *http.Request) {
		out := []Listed{}
		for id, t := range p.Toxics() {
			s, err := Encode(t)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			out = append(out, Listed{ID: id, Spec: s})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /toxics", func(w http.ResponseWriter, r *http.Request) {
		var s Spec
		dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			http.Error(w, "toxic: "+err.Error(), http.StatusBadRequest)
			return
		}
		t, err := s.Toxic()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id, err := p.Add(t)
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"id": id})
	})
	mux.HandleFunc("DELETE /toxics/{id}", func(w http.ResponseWriter, r *http.Request) {
		_ = p.Remove(r.PathValue("id"))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /toxics", func(w http.ResponseWriter, _ *http.Request) {
		p.RemoveAll()
		w.WriteHeader(http.StatusNoContent)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Remote drives a proxy in another process through its AdminHandler: it
// is what a link fault holds for a sidecar proxy, as it holds a *Proxy for
// one in the harness.
type Remote struct {
	// URL is the admin API's base, such as http://127.0.0.1:9901.
	URL   string
	Token string
	// Client defaults to one with a 5s timeout; ctx bounds each call too.
	Client *http.Client
}

var defaultRemoteClient = &http.Client{Timeout: 5 * time.Second}

// AddToxic adds t on the remote proxy and returns its id there.
func (r *Remote) AddToxic(ctx context.Context, t Toxic) (string, error) {
	s, err := Encode(t)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := r.do(ctx, http.MethodPost, "/toxics", string(body), http.StatusCreated, &out); err != nil {
		return "", fmt.Errorf("add %s: %w", t.Type(), err)
	}
	if out.ID == "" {
		return "", fmt.Errorf("add %s at %s: no id in the answer", t.Type(), r.URL)
	}
	return out.ID, nil
}

// RemoveToxic removes the toxic with this id; an unknown id is not an error.
func (r *Remote) RemoveToxic(ctx context.Context, id string) error {
	if err := r.do(ctx, http.MethodDelete, "/toxics/"+id, "", http.StatusNoContent, nil); err != nil {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	return nil
}

// Toxics lists the remote proxy's active toxics.
func (r *Remote) Toxics(ctx context.Context) ([]Listed, error) {
	var out []Listed
	return out, r.do(ctx, http.MethodGet, "/toxics", "", http.StatusOK, &out)
}

func (r *Remote) do(ctx context.Context, method, path, body string, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(r.URL, "/")+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	c := r.Client
	if c == nil {
		c = defaultRemoteClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, req.URL, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, req.URL, resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, req.URL, err)
		}
	}
	return nil
}
