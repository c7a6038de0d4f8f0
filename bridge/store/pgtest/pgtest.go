// Package pgtest runs a real, throw-away PostgreSQL server for tests: initdb into a temporary directory, the
// server on a free loopback port with its socket in that directory, one fresh database per test.
//
// PostgreSQL refuses to run as root, so when the tests do (CI does) the server runs as the "postgres" user
// that Debian's postgresql package creates; the process is started with that user's credentials directly
// (no su or runuser). Otherwise it runs as the current user.
//
// A missing PostgreSQL fails the test: Debian's postgresql package provides it (scripts/test installs it). Set
// FUYUN_BRIDGE_SKIP_POSTGRES=1 to skip PostgreSQL tests on a machine that cannot have one.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// SkipEnv names the variable that lets PostgreSQL tests skip where no PostgreSQL can be installed.
const SkipEnv = "FUYUN_BRIDGE_SKIP_POSTGRES"

// BinEnv names the variable that points at a directory holding initdb and postgres, ahead of the search.
const BinEnv = "FUYUN_BRIDGE_PG_BIN"

// Server is one running PostgreSQL.
type Server struct {
	Port int

	base, bin string
	cred      *syscall.Credential // nil: run as the current user
	cmd       *exec.Cmd
	exited    chan struct{}
	dbs       atomic.Int64
}

// Start launches a server for one test and stops it when the test ends. It skips the test if SkipEnv is 1 and
// fails it if PostgreSQL cannot be found or started.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if Skipped() {
		tb.Skip(SkipEnv + "=1: PostgreSQL tests skipped")
	}
	s, err := Launch()
	if err != nil {
		tb.Fatalf("PostgreSQL is required (Debian's postgresql package, or set %s=1): %v", SkipEnv, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return s
}

// Skipped reports whether SkipEnv asks to skip PostgreSQL tests.
func Skipped() bool { return os.Getenv(SkipEnv) == "1" }

// Launch starts a server for a whole test binary (from TestMain); the caller must Close it.
func Launch() (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	base, err := os.MkdirTemp("", "fuyun-bridge-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{base: base, bin: bin}
	if os.Geteuid() == 0 {
		if s.cred, err = postgresUser(); err != nil {
			os.RemoveAll(base)
			return nil, err
		}
		if err := os.Chown(base, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			os.RemoveAll(base)
			return nil, err
		}
	}
	initdb := s.command("initdb", "-D", s.dataDir(), "-U", "postgres", "--auth=trust", "--no-locale",
		"-E", "UTF8", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(base)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if s.Port, err = freePort(); err != nil {
		os.RemoveAll(base)
		return nil, err
	}
	if err := s.Restart(); err != nil {
		os.RemoveAll(base)
		return nil, err
	}
	return s, nil
}

// Restart starts the server again after Stop, on the same port with the same data.
func (s *Server) Restart() error {
	if s.cmd != nil {
		return errors.New("pgtest: server is running")
	}
	logFile, err := os.Create(filepath.Join(s.base, "postgres.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	// fsync off and no durability: a test database is thrown away with its directory.
	cmd := s.command("postgres", "-D", s.dataDir(), "-k", s.base, "-p", strconv.Itoa(s.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// If the test binary dies without cleaning up, the server dies with it (SIGQUIT: immediate shutdown).
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-s.exited:
			s.cmd = nil
			log, _ := os.ReadFile(filepath.Join(s.base, "postgres.log"))
			return fmt.Errorf("postgres exited at start-up: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("postgres did not accept connections within 30s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts the server down (fast shutdown: open sessions are ended) and waits for it to exit. Tests use it to
// take the database away; Restart brings it back.
func (s *Server) Stop() error {
	if s.cmd == nil {
		return nil
	}
	defer func() { s.cmd = nil }()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		return err
	}
	select {
	case <-s.exited:
		return nil
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		return errors.New("pgtest: postgres did not stop within 30s; killed")
	}
}

// Close stops the server and removes its data.
func (s *Server) Close() error {
	return errors.Join(s.Stop(), os.RemoveAll(s.base))
}

// DSN is the connection string for database db on this server, as the superuser "postgres" over TCP.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// NewDatabase creates an empty database for one test and returns its DSN; it is dropped when the test ends.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("test_%d", s.dbs.Add(1))
	if err := s.exec("CREATE DATABASE " + name); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		if s.cmd != nil {
			s.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		}
	})
	return s.DSN(name)
}

func (s *Server) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func (s *Server) dataDir() string { return filepath.Join(s.base, "data") }

func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.base // the postgres user may not be able to enter the test's working directory
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	return cmd
}

// findBin finds the directory of initdb and postgres: BinEnv, then PATH, then Debian's
// /usr/lib/postgresql/<major>/bin, newest major first.
func findBin() (string, error) {
	if dir := os.Getenv(BinEnv); dir != "" {
		return dir, nil
	}
	if path, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(path), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return majorOf(b) - majorOf(a) })
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	return "", errors.New("no initdb on PATH or under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and there is no postgres user to run PostgreSQL as: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
