package fleet

import (
	"context"
	"testing"

	"github.com/gameday/gameday/faults/proxy"
)

type rosterInst struct {
	Member
	up        bool
	restarted []string
}

func (r *rosterInst) CurrentRef() (string, bool) { return "ref-" + r.ID, r.up }

func (r *rosterInst) Restart(_ context.Context, id string) error {
	r.restarted = append(r.restarted, id)
	return nil
}

func TestRosterFindsListsAndTargets(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctl, err := proxy.Listen(ctx, "127.0.0.1:0", "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	var r Roster[*rosterInst]
	a := &rosterInst{Member: Member{Service: "payment", Index: 0, ID: "payment-0", Ctl: ctl}, up: true}
	b := &rosterInst{Member: Member{Service: "payment", Index: 1, ID: "payment-1"}}
	c := &rosterInst{Member: Member{Service: "orders", Index: 0, ID: "orders-0", Ctl: ctl}, up: true}
	for _, in := range []*rosterInst{a, b, c} {
		r.Add(in)
	}
	if got, err := r.Get("payment-1"); err != nil || got != b {
		t.Errorf("Get(payment-1) = %v, %v", got, err)
	}
	if _, err := r.Get("payment-9"); err == nil || err.Error() != `no instance "payment-9"` {
		t.Errorf("Get(payment-9) error = %v", err)
	}
	if n := len(r.Of("payment")); n != 2 || len(r.All()) != 3 {
		t.Errorf("Of(payment) has %d, All %d; want 2 and 3", n, len(r.All()))
	}
	run := r.Running("payment")
	if len(run) != 1 || run[0].ID != "payment-0" || run[0].Ref != "ref-payment-0" || run[0].Service != "payment" {
		t.Errorf("Running(payment) = %+v, want payment-0 alone with its ref", run)
	}
	// An instance with no control address yet has no target and no admin URL.
	tg := r.Targets("test")
	if len(tg) != 2 || tg[0].URL != "http://"+ctl.Addr()+"/metrics" || tg[0].Labels["runtime"] != "test" || tg[1].Job != "orders" {
		t.Errorf("Targets = %+v", tg)
	}
	if u, err := r.AdminURL("payment-0"); err != nil || u != "http://"+ctl.Addr() {
		t.Errorf("AdminURL(payment-0) = %q, %v", u, err)
	}
	if _, err := r.AdminURL("payment-1"); err == nil {
		t.Error("AdminURL of an instance without a control address: no error")
	}
	if err := r.Restart(ctx, run[0]); err != nil || len(a.restarted) != 1 || a.restarted[0] != "payment-0" {
		t.Errorf("Restart: %v, restarted %v", err, a.restarted)
	}
}
