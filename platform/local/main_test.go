package local

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gameday/gameday/sut/server"
)

// The test binary doubles as a stand-in shop instance when re-executed with
// LOCAL_TEST_CHILD=1: it follows the start-up contract (`listening ADDR`,
// /readyz, /metrics, SIGTERM drains), and /call calls every upstream.
func TestMain(m *testing.M) {
	switch os.Getenv("LOCAL_TEST_CHILD") {
	case "1":
		os.Exit(serveStandIn(os.Args[1:]))
	case "shop":
		// The real shop, exactly as `gameday sut serve` runs it.
		cmd := server.NewServeCommand(os.Stdout, os.Stderr, os.Getenv)
		cmd.SetArgs(os.Args[3:]) // argv: test binary, "sut", "serve", flags…
		if err := cmd.Execute(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func serveStandIn(args []string) int {
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprintln(os.Stderr, "stand-in: want serve")
		return 2
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	service := fs.String("service", "", "")
	listen := fs.String("listen", "127.0.0.1:0", "")
	instance := fs.String("instance", "", "")
	fs.String("variant", "", "")
	fs.String("policy", "", "")
	fs.String("data", "", "")
	fs.Int("replicas", 0, "")
	var ups multiFlag
	fs.Var(&ups, "upstream", "")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }
	mux.HandleFunc("/readyz", ok)
	mux.HandleFunc("/healthz", ok)
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "standin_up{service=%q,instance=%q} 1\n", *service, *instance)
	})
	c := &http.Client{Timeout: 2 * time.Second}
	mux.HandleFunc("/call", func(w http.ResponseWriter, r *http.Request) {
		for _, u := range ups {
			_, urls, _ := strings.Cut(u, "=")
			for _, url := range strings.Split(urls, ",") {
				resp, err := c.Get(url + "/call")
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadGateway)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					http.Error(w, url+": "+resp.Status, http.StatusBadGateway)
					return
				}
			}
		}
		fmt.Fprintln(w, *service)
	})
	srv := &http.Server{Handler: mux}
	fmt.Printf("listening %s\n", ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	go func() {
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return 1
	}
	return 0
}
