package psremote

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// httpConn is one HTTP/1.1 connection to the server, which carries one
// request at a time: NTLM and Kerberos sign in a connection, not a request,
// so lynctrust never has two on one. The request is written and the reply
// read by the caller's goroutine, with net/http's own writer
// (Request.Write) and reader (ReadResponse); http.Transport adds two
// goroutines and a pool to every connection, and in a fleet audit, 49
// connections taking each step at the same moment, handing each request and
// reply between three goroutines was a measurable part of the time
// (docs/performance.md). Two things the Transport's reader, always
// reading, sees that this does not: bytes a server sends after a reply
// and before the next request (within idleCheck) are taken as the start
// of the next reply (sealed NTLM replies then fail to decrypt; over HTTPS
// they are read), and a reply sent before the request is fully written is
// read only once the write ends (lynctrust's requests are under 150 KB,
// which the sockets' buffers take whole).
type httpConn struct {
	dial DialFunc
	tls  *tls.Config // nil for HTTP
	addr string      // host:port

	nc   net.Conn
	bw   *bufio.Writer
	br   *bufio.Reader    // reads from lr, which limits what a reply may send
	lr   io.LimitedReader // reads from nc
	used bool             // a reply has come on nc: it may have been closed since
	idle time.Time        // when the last reply ended
}

// Limits on a reply's head; the body's is MaxReply (transport.do).
const (
	maxHeaderBytes = 1 << 20 // net/http's server allows as much; its Transport, 10 MB
	maxInterim     = 5       // 1xx replies before the real one, as net/http allows
)

// A connection idle for idleCheck or longer is checked before it is used
// again, with a read that waits at most aliveWait: HTTP.sys, which serves
// WinRM, closes a connection idle for two minutes by default
// (https://learn.microsoft.com/en-us/dotnet/api/microsoft.aspnetcore.server.httpsys.timeoutmanager.idleconnection),
// which a change waiting for its confirmation can outlast; the next
// request then goes on a new connection, signed in again. Requests sent
// back to back, as a command's are, are not checked: a server that closes
// the connection within idleCheck of a reply without saying so
// (Connection: close) fails that request, which is not sent twice.
// A connection idle for maxIdle is not used again at all, as
// http.Transport's IdleConnTimeout lynctrust set did: a firewall that
// drops idle connections without a word would swallow the next request.
const (
	idleCheck = 250 * time.Millisecond
	aliveWait = time.Millisecond
	maxIdle   = 90 * time.Second
)

// aLongTimeAgo is a deadline that has passed: setting it ends a blocked
// read or write at once.
var aLongTimeAgo = time.Unix(1, 0)

// roundTrip sends req and returns the reply with its whole body, at most
// max bytes of it (ErrReplyTooLarge beyond). A connection the server has
// closed while it was idle is dialled again before anything is written, as
// net/http's Transport does; a request that may have reached the server is
// never sent twice.
func (h *httpConn) roundTrip(req *http.Request, max int64) (*http.Response, []byte, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, nil, err // nothing is sent once the context has ended
	}
	if h.nc != nil && h.used {
		if idle := time.Since(h.idle); idle >= maxIdle || idle >= idleCheck && !h.alive() {
			h.close()
		}
	}
	if h.nc == nil {
		if err := h.connect(ctx); err != nil {
			return nil, nil, err
		}
	}
	// The context's end (its deadline included) ends a blocked write or
	// read at once, and the exchange fails with the context's error.
	nc := h.nc
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(aLongTimeAgo) })
	resp, body, err := h.exchange(req, max)
	if !stop() {
		err = ctx.Err()
	}
	if err != nil {
		h.close()
		return nil, nil, err
	}
	h.used, h.idle = true, time.Now()
	if resp.Close {
		h.close()
	}
	return resp, body, nil
}

func (h *httpConn) exchange(req *http.Request, max int64) (*http.Response, []byte, error) {
	bw, br, lr := h.bw, h.br, &h.lr
	if err := req.Write(bw); err != nil {
		return nil, nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, nil, err
	}
	// The head is limited; the body's own limit applies once it is known.
	lr.N = maxHeaderBytes
	var resp *http.Response
	for i := 0; ; i++ {
		r, err := http.ReadResponse(br, req)
		if err != nil {
			if lr.N <= 0 {
				return nil, nil, fmt.Errorf("the server's reply headers are over %d bytes", maxHeaderBytes)
			}
			return nil, nil, err
		}
		if r.StatusCode == http.StatusSwitchingProtocols {
			return nil, nil, errors.New("the server switched protocols (HTTP 101), which WinRM never does")
		}
		if r.StatusCode >= 200 {
			resp = r
			break
		}
		if i == maxInterim {
			return nil, nil, fmt.Errorf("the server sent more than %d interim (1xx) replies", maxInterim)
		}
	}
	if resp.ContentLength > max {
		return nil, nil, fmt.Errorf("%w (the server announced %d bytes)", ErrReplyTooLarge, resp.ContentLength)
	}
	lr.N = max + 1
	var body []byte
	var err error
	if n := resp.ContentLength; n >= 0 {
		body = make([]byte, n)
		_, err = io.ReadFull(resp.Body, body)
	} else {
		body, err = io.ReadAll(io.LimitReader(resp.Body, max+1))
	}
	switch {
	case int64(len(body)) > max, err != nil && lr.N <= 0:
		// Over the limit, counted with a chunked body's framing.
		return nil, nil, ErrReplyTooLarge
	case err != nil:
		// Not Close: it would read on to the end of a chunk the server
		// may never finish. The connection is dropped.
		return nil, nil, err
	}
	resp.Body.Close()
	if br.Buffered() > 0 {
		// More than the reply: the connection is out of step.
		resp.Close = true
	}
	return resp, body, nil
}

// alive reports whether the server has kept the connection open while it
// was idle: a read that waits out its short deadline says so; an end, an
// error or bytes nobody asked for say it is not to be used.
func (h *httpConn) alive() bool {
	h.nc.SetReadDeadline(time.Now().Add(aliveWait))
	var b [1]byte
	_, err := h.nc.Read(b[:])
	h.nc.SetReadDeadline(time.Time{})
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (h *httpConn) connect(ctx context.Context) error {
	nc, err := h.dial(ctx, "tcp", h.addr)
	if err != nil {
		return err
	}
	if h.tls != nil {
		tc := tls.Client(nc, h.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return err
		}
		nc = tc
	}
	h.nc, h.used = nc, false
	h.lr = io.LimitedReader{R: nc}
	h.bw, h.br = bufio.NewWriterSize(nc, 4096), bufio.NewReaderSize(&h.lr, 4096)
	return nil
}

// close drops the connection; the next request dials again.
func (h *httpConn) close() {
	if h.nc != nil {
		h.nc.Close()
		h.nc = nil
	}
}
