package proxy

import (
	"bufio"
	"errors"
	"log"
	"net"
	"sync"
	"time"
)

// splitByProtocol accepts the connections of ln and hands each to one of
// two listeners by its first byte: a TLS handshake (a record of type 22)
// to the first, anything else (plain HTTP) to the second. Closing either
// closes ln.
func splitByProtocol(ln net.Listener, errLog *log.Logger) (tlsLn, plainLn net.Listener) {
	done := make(chan struct{})
	var once sync.Once
	stop := func() error {
		var err error
		once.Do(func() {
			close(done)
			err = ln.Close()
		})
		return err
	}
	t := &chanListener{addr: ln.Addr(), conns: make(chan net.Conn), done: done, close: stop}
	p := &chanListener{addr: ln.Addr(), conns: make(chan net.Conn), done: done, close: stop}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					errLog.Printf("accept: %v", err)
				}
				_ = stop() // the listener is gone either way
				return
			}
			go sortConn(c, t, p, done)
		}
	}()
	return t, p
}

// sortConn reads the first byte of c (waiting at most a minute for it) and
// queues c on the listener its protocol belongs to.
func sortConn(c net.Conn, tlsLn, plainLn *chanListener, done <-chan struct{}) {
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(time.Minute)) // a conn without deadlines gives no error worth a log
	first, err := br.Peek(1)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		_ = c.Close() // a client that sent nothing
		return
	}
	to := plainLn
	if first[0] == 0x16 {
		to = tlsLn
	}
	select {
	case to.conns <- &peekedConn{Conn: c, r: br}:
	case <-done:
		_ = c.Close() // the proxy is closing
	}
}

// chanListener is a listener whose connections another goroutine accepted.
type chanListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  <-chan struct{}
	close func() error
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error   { return l.close() }
func (l *chanListener) Addr() net.Addr { return l.addr }

// peekedConn is a connection whose first bytes were read ahead into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
