package lab

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/bodgit/ntlmssp"
)

// handshake runs NEGOTIATE and AUTHENTICATE on one connection (client) and
// returns the AUTHENTICATE token sent and the final status. change, when not
// nil, replaces the AUTHENTICATE token before it is sent.
func handshake(t *testing.T, client *http.Client, url, user, pass, domain string, change func([]byte) []byte) ([]byte, int) {
	t.Helper()
	nc, err := ntlmssp.NewClient(ntlmssp.SetUserInfo(user, pass), ntlmssp.SetDomain(domain), ntlmssp.SetVersion(ntlmssp.DefaultVersion()))
	if err != nil {
		t.Fatal(err)
	}
	post := func(token []byte) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, url, http.NoBody)
		req.Header.Set("Authorization", "Negotiate "+base64.StdEncoding.EncodeToString(token))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	neg, _ := nc.Authenticate(nil, nil)
	resp := post(neg)
	chal, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(resp.Header.Get("WWW-Authenticate"), "Negotiate "))
	auth, err := nc.Authenticate(chal, nil)
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		auth = change(auth)
	}
	return auth, post(auth).StatusCode
}

func TestNTLMVerifiesAndRefusesReplay(t *testing.T) {
	_, port := startWinRM(t, nil)
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/wsman"
	newClient := func() *http.Client { return &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}} }
	auth, code := handshake(t, newClient(), url, "lyncadmin", "Pa55w.rd-lab", "LAB", nil)
	if code != 200 {
		t.Fatalf("good password: HTTP %d", code)
	}
	// The same AUTHENTICATE on a new connection answers another challenge: refused.
	replay := func([]byte) []byte { return auth }
	if _, code := handshake(t, newClient(), url, "lyncadmin", "Pa55w.rd-lab", "LAB", replay); code != 401 {
		t.Errorf("replayed AUTHENTICATE: HTTP %d", code)
	}
	if _, code := handshake(t, newClient(), url, "lyncadmin", "wrong", "LAB", nil); code != 401 {
		t.Errorf("wrong password: HTTP %d", code)
	}
	if _, code := handshake(t, newClient(), url, "nobody", "Pa55w.rd-lab", "LAB", nil); code != 401 {
		t.Errorf("unknown user: HTTP %d", code)
	}
	if _, code := handshake(t, newClient(), url, "lyncadmin", "Pa55w.rd-lab", "OTHERDOMAIN", nil); code != 401 {
		t.Errorf("other domain: HTTP %d", code)
	}
}

func TestNTLMMICTampering(t *testing.T) {
	_, port := startWinRM(t, nil)
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/wsman"
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	tamper := func(auth []byte) []byte {
		auth[72] ^= 0xFF // inside the MIC
		return auth
	}
	if _, code := handshake(t, client, url, "lyncadmin", "Pa55w.rd-lab", "LAB", tamper); code != 401 {
		t.Errorf("tampered MIC: HTTP %d", code)
	}
}
