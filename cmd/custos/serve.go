package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/custos-cim/custos/internal/app"
	"github.com/custos-cim/custos/internal/demo"
	"github.com/custos-cim/custos/internal/httpapi"
	"github.com/custos-cim/custos/internal/httpx"
	"github.com/custos-cim/custos/internal/jobs"
	"github.com/custos-cim/custos/internal/portal"
	"github.com/custos-cim/custos/internal/web"
)

func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	listen := fs.String("listen", envOr("CUSTOS_LISTEN", "127.0.0.1:8080"), "address to listen on")
	withDemo := fs.Bool("demo", false, "on an empty store, create demo organisations, users and customers")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file (PEM)")
	tlsKey := fs.String("tls-key", "", "TLS private key file (PEM)")
	sb := backupScheduleFlags(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := sb.check(); err != nil {
		return err
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usageError{"--tls-cert and --tls-key go together"}
	}
	useTLS := *tlsCert != ""
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	if err := e.open(ctx, true, log); err != nil {
		return err
	}
	log.Info("custos starting", "config", e.cfg.String())
	if *withDemo {
		res, err := demo.Seed(ctx, e.app, e.stdout)
		switch {
		case errors.Is(err, demo.ErrNotEmpty):
			log.Info("store not empty; demo data not added")
		case err != nil:
			return fmt.Errorf("demo data: %w", err)
		default:
			log.Info("demo data created", "customers", res.Customers, "users", len(res.Users))
		}
	}
	if !useTLS && !httpx.IsLoopback(*listen) {
		log.Warn("!!! SERVING PLAIN HTTP ON A NON-LOOPBACK ADDRESS: passwords and customer data cross the network unencrypted. Use --tls-cert/--tls-key or a TLS-terminating proxy. !!!", "listen", *listen)
	}
	mux := http.NewServeMux()
	api := httpapi.New(e.app, log)
	mux.Handle("/api/", api)
	mux.Handle("/healthz", api)
	mux.Handle("/", web.New(e.app, web.Options{Secure: useTLS, Log: log}))
	mux.Handle(portal.Prefix, portal.New(e.app, portal.Options{Secure: useTLS, Log: log})) // customer self-service (R-B5, R-E3)
	if e.cfg.SMTP != "" {
		if s, err := app.NewSMTPOTPSender(e.cfg.SMTP); err == nil {
			e.app.SetOTPSender(s) // one-time portal login codes by e-mail
		}
	}
	srv := &http.Server{
		Addr:              *listen,
		Handler:           httpx.Wrap(mux, httpx.Options{TLS: useTLS, Log: log}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	bg, cancel := context.WithCancel(ctx)
	defer cancel()
	var extra []jobs.Job
	if j, ok := sb.job(e); ok {
		extra = append(extra, j)
		log.Info("scheduled backups", "dir", sb.dir, "every", sb.every, "keep", sb.keep, "keep_days", sb.keepDays, "include_keys", sb.includeKeys)
	}
	bgDone := make(chan struct{})
	go func() {
		defer close(bgDone)
		e.app.RunBackground(bg, extra...)
	}()
	// Jobs in progress record their outcome before the store closes.
	defer func() {
		cancel()
		select {
		case <-bgDone:
		case <-time.After(30 * time.Second):
		}
	}()
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	fmt.Fprintf(e.stdout, "Custos is listening on %s://%s\n", scheme, ln.Addr())
	errc := make(chan error, 1)
	go func() {
		if useTLS {
			errc <- srv.ServeTLS(ln, *tlsCert, *tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer scancel()
	return srv.Shutdown(sctx)
}

func cmdMigrate(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := e.open(ctx, true, nil); err != nil {
		return err
	}
	applied, known, err := e.db.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "schema at version %d of %d\n", applied, known)
	return nil
}
