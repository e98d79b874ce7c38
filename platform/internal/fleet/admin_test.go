package fleet

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday/gameday/faults"
	"github.com/gameday/gameday/sut/client"
)

// fakeAdmin is the shop's admin fault API as far as these calls use it.
type fakeAdmin struct {
	mu      sync.Mutex
	set     []client.AdminFault
	cleared []string
	token   string
	status  int // answer this instead, if set
}

func (a *fakeAdmin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.status != 0 {
		http.Error(w, "broken", a.status)
		return
	}
	a.token = r.Header.Get(client.TokenHeader)
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/admin/faults":
		var f client.AdminFault
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.set = append(a.set, f)
		f.ID = "f1"
		_ = json.NewEncoder(w).Encode(f)
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/admin/faults/"):
		a.cleared = append(a.cleared, strings.TrimPrefix(r.URL.Path, "/admin/faults/"))
	default:
		http.NotFound(w, r)
	}
}

func TestHTTPFaultsGoThroughTheAdminAPI(t *testing.T) {
	admin := &fakeAdmin{}
	srv := httptest.NewServer(admin)
	defer srv.Close()
	ctx := context.Background()
	id, err := SetHTTPFault(ctx, srv.URL, "tok", "payment-0", faults.HTTPFault{Operation: "charge", Percent: 0.5, Status: 502})
	if err != nil || id != "f1" {
		t.Fatalf("set: %q %v", id, err)
	}
	if _, err := SetHTTPFault(ctx, srv.URL, "tok", "orders-1", faults.HTTPFault{Edge: "payment", Delay: 800 * time.Millisecond, Jitter: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := ClearHTTPFault(ctx, srv.URL, "tok", "payment-0", "f1"); err != nil {
		t.Fatal(err)
	}
	admin.mu.Lock()
	defer admin.mu.Unlock()
	want := []client.AdminFault{
		{Kind: client.KindAbort, Operation: "charge", Percent: 50, Status: 502},
		{Kind: client.KindDelay, Edge: "payment", Delay: 800 * time.Millisecond, Jitter: 100 * time.Millisecond},
	}
	if len(admin.set) != 2 || admin.set[0] != want[0] || admin.set[1] != want[1] {
		t.Errorf("set %+v, want %+v", admin.set, want)
	}
	if len(admin.cleared) != 1 || admin.cleared[0] != "f1" {
		t.Errorf("cleared %v", admin.cleared)
	}
	if !strings.HasSuffix(admin.token, "tok") {
		t.Errorf("token header %q", admin.token)
	}
}

func TestHTTPFaultErrorsNameTheInstance(t *testing.T) {
	admin := &fakeAdmin{}
	srv := httptest.NewServer(admin)
	defer srv.Close()
	ctx := context.Background()
	_, err := SetHTTPFault(ctx, srv.URL, "tok", "payment-0", faults.HTTPFault{Operation: "charge"})
	if err == nil || err.Error() != "http fault on payment-0: neither a status nor a delay" {
		t.Errorf("neither: %v", err)
	}
	admin.mu.Lock()
	admin.status = http.StatusUnauthorized
	admin.mu.Unlock()
	if _, err := SetHTTPFault(ctx, srv.URL, "tok", "payment-0", faults.HTTPFault{Status: 503}); err == nil || !strings.HasPrefix(err.Error(), "payment-0: ") {
		t.Errorf("set refused: %v", err)
	}
	if err := ClearHTTPFault(ctx, srv.URL, "tok", "payment-0", "f1"); err == nil || !strings.HasPrefix(err.Error(), "payment-0: ") {
		t.Errorf("clear refused: %v", err)
	}
}
