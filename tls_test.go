package replikv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/replikv/replikv/transport"
)

// TestReplicationOverTLS: a replica syncs and streams over TLS on loopback,
// and is refused by a primary whose certificate it does not trust.
func TestReplicationOverTLS(t *testing.T) {
	serverCfg, pool := selfSignedTLS(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	p := newStore(t, fastConfig())
	done := make(chan struct{})
	go func() { defer close(done); p.Serve(transport.TLSListener(l, serverCfg)) }()
	t.Cleanup(func() { p.Close(); <-done })
	for i := 0; i < 1000; i++ {
		must(t, p.Set(fmt.Sprint("k", i), []byte("over tls")))
	}

	r := newStore(t, fastConfig())
	must(t, r.ReplicaOf(transport.TLS(l.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})))
	waitSynced(t, r)
	must(t, p.Set("live", []byte("1")))
	waitConverged(t, p, r)
	if h, port := r.Info().Master.Host, r.Info().Master.Port; h != "127.0.0.1" || port != l.Addr().(*net.TCPAddr).Port {
		t.Fatalf("master host/port %s:%d", h, port)
	}

	untrusting := newStore(t, fastConfig())
	must(t, untrusting.ReplicaOf(transport.TLS(l.Addr().String(), &tls.Config{ServerName: "localhost"})))
	poll(t, 5*time.Second, "the untrusted handshake to fail", func() bool { return untrusting.Info().Master.LastErr != "" })
	if untrusting.Len() != 0 || untrusting.LinkStatus() == LinkUp {
		t.Fatal("a replica that does not trust the primary got data")
	}
}

func selfSignedTLS(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}
